using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Session
{
    internal static partial class OutputMapper
    {
        /// <summary>A rule and its counters as one flat row; webhooks redacted.</summary>
        internal static ConnectionAlertInfo ToAlertInfo(AlertRuleState s)
        {
            var info = ToAlertInfo(s.Rule);
            var d = s.Delivery ?? new AlertDeliveryStats();
            info.Fired = s.Fired;
            info.LastFired = s.LastFiredUtc?.ToLocalTime();
            info.Active = s.ActiveConditions;
            info.Delivered = d.Delivered;
            info.Failed = d.Failed;
            info.Dropped = d.Dropped;
            info.Pending = d.Pending;
            info.LastError = d.LastError;
            info.ActionErrors = s.ActionErrors;
            info.LastActionError = s.LastActionError;
            return info;
        }

        /// <summary>A rule as registered, counters zero.</summary>
        internal static ConnectionAlertInfo ToAlertInfo(AlertRule rule)
        {
            return new ConnectionAlertInfo
            {
                Name = rule.Name,
                Kind = rule.Kind,
                Conditions = string.Join("; ", rule.Conditions.Select(c => c.ToString())),
                // None is $null, as for SourceIdentifier: "" in one column and null in the next read as two meanings in JSON.
                Filter = FilterText(rule.Filter) is var filter && filter.Length > 0 ? filter : null,
                Targets = rule.Targets.Count > 0 ? string.Join(", ", rule.Targets.Select(t => t.Redacted)) : null,
                SourceIdentifier = rule.SourceIdentifier,
                HasAction = rule.HasAction,
                Origin = rule.Origin ?? "cmdlet",
            };
        }

        /// <summary>The filter as the parameters that make it ("-ProcessName nginx -Protocol TCP"); empty for none.</summary>
        internal static string FilterText(ConnectionQuery q)
        {
            if (q == null) return "";
            var parts = new List<string>();
            void Add<T>(string name, IEnumerable<T> values)
            {
                if (values == null) return;
                var list = values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)).ToList();
                if (list.Count > 0) parts.Add("-" + name + " " + string.Join(",", list));
            }
            Add("Protocol", q.Protocols?.Select(p => p == TransportProtocol.Tcp ? "TCP" : "UDP"));
            Add("State", q.States);
            Add("Port", q.Ports);
            Add("LocalPort", q.LocalPorts);
            Add("RemotePort", q.RemotePorts);
            Add("RemoteAddress", q.RemoteAddresses);
            Add("ProcessName", q.ProcessNames);
            Add("ProcessId", q.ProcessIds);
            Add("Country", q.Countries);
            if (q.ExcludeLoopback) parts.Add("-ExcludeLoopback");
            return UntrustedText.Clean(string.Join(" ", parts));
        }

        /// <summary>An alert as the flat object PowerShell events carry; outside text cleaned of control characters.</summary>
        internal static ConnectionAlertEvent ToAlertEvent(AlertEvent a)
        {
            var items = a.Items.Select(ToAlertItem).ToArray();
            var first = items.FirstOrDefault();
            return new ConnectionAlertEvent
            {
                Id = a.Id.ToString(),
                RuleName = a.RuleName,
                Kind = a.Kind.ToString(),
                Status = a.Status.ToString(),
                TimeStamp = a.TimeUtc.ToLocalTime(),
                Message = UntrustedText.Clean(a.Summary),
                Subject = Outside(a.Subject),
                Value = a.Value,
                Threshold = a.Threshold,
                ItemCount = items.Length,
                Items = items,
                RemoteAddress = first?.RemoteAddress,
                RemotePort = first?.RemotePort,
                LocalPort = first?.LocalPort,
                ProcessId = first?.ProcessId,
                ProcessName = first?.ProcessName, // the first item's, made safe there
                HostName = a.HostName,
            };
        }

        private static ConnectionAlertItem ToAlertItem(AlertItem i) => new ConnectionAlertItem
        {
            Protocol = i.Protocol == null ? null : i.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP",
            LocalAddress = i.LocalAddress,
            LocalPort = i.LocalPort,
            RemoteAddress = i.RemoteAddress,
            RemotePort = i.RemotePort,
            State = i.State?.ToString(),
            ProcessId = i.ProcessId,
            ProcessName = Outside(i.ProcessName),
            ProcessPath = Outside(i.ProcessPath),
            RemoteHostName = Outside(i.RemoteHostName),
            Country = i.Country,
            Asn = i.Asn,
            AsnOrganization = Outside(i.AsnOrganization),
            Detail = Outside(i.Detail),
        };

        internal static ConnectionAlertTestResult ToTestResult(string rule, AlertDeliveryResult r) => new ConnectionAlertTestResult
        {
            Rule = rule,
            Target = r.Target,
            Delivered = r.Delivered,
            StatusCode = r.StatusCode,
            Attempts = r.Attempts,
            Error = r.Error,
        };
    }
}
