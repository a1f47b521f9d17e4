using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Traffic;

namespace ConnectionsMonitor.Commands
{
    /// <summary>The filter parameters cmdlets share, in plain types (no engine types in cmdlet classes).</summary>
    internal sealed class ConnectionRequest
    {
        public string[] Protocols;
        public int[] States;
        public int[] Ports;
        public int[] LocalPorts;
        public int[] RemotePorts;
        public string[] RemoteAddresses;
        public string[] ProcessNames;
        public int[] ProcessIds;
        public bool ExcludeLoopback;
        public string[] Countries;
        /// <summary>-ResolveDns: true/false when given, null to follow the config's resolveDNS.</summary>
        public bool? ResolveDns;
        public string ConfigPath;
    }

    /// <summary>What one command asks of every snapshot it takes: its filters (own and config's), the enrichment, the config.</summary>
    internal sealed class SnapshotPlan
    {
        public SnapshotPlan(ConnectionQuery[] filters, EnrichmentOptions enrichment, MonitorConfig config)
        {
            Filters = filters;
            Enrichment = enrichment;
            Config = config;
        }

        public ConnectionQuery[] Filters { get; }
        public EnrichmentOptions Enrichment { get; }
        public MonitorConfig Config { get; }

        public Engine.ConnectionSnapshot Take(Engine.MonitorEngine engine) => engine.TakeSnapshot(Enrichment, Filters);
    }

    /// <summary>What cmdlets share: request → engine query, configuration, warnings, object mapping.</summary>
    internal static class CmdletSupport
    {
        private static readonly HashSet<string> WarnedThisSession = new HashSet<string>(StringComparer.Ordinal);

        internal static List<MonitoredConnection> Snapshot(PSCmdlet cmdlet, ConnectionRequest request)
        {
            var snapshot = Plan(cmdlet, request).Take(EngineBridge.Engine);
            foreach (var warning in snapshot.Warnings) WarnOncePerSession(cmdlet, warning);
            return snapshot.Connections.Select(c => EngineBridge.ToPowerShell(c, snapshot.TimeStampUtc)).ToList();
        }

        /// <summary>The request's own filters, the configuration's enabled filtering sections, and the enrichment the configuration and switches ask for.</summary>
        internal static SnapshotPlan Plan(PSCmdlet cmdlet, ConnectionRequest request)
        {
            var config = ConfigurationSupport.Load(cmdlet, request.ConfigPath);
            var filters = new List<ConnectionQuery> { ToQuery(request) };
            filters.AddRange(ConfigFilters.ToQueries(config));
            return new SnapshotPlan(filters.ToArray(), EnrichmentOptions.From(config, request.ResolveDns), config);
        }

        /// <summary>Stops the command with a clear error unless the sample window is from 0 to one day.</summary>
        internal static void CheckWindow(PSCmdlet cmdlet, TimeSpan duration, string zeroMeans)
        {
            if (duration >= TimeSpan.Zero && duration <= TimeSpan.FromDays(1)) return;
            cmdlet.ThrowTerminatingError(new ErrorRecord(
                new ArgumentOutOfRangeException("Duration", duration, "The sample window must be between 0 (" + zeroMeans + ") and one day; for example -Duration 00:00:05."),
                "InvalidDuration", ErrorCategory.InvalidArgument, duration));
        }

        /// <summary>
        /// Measures a traffic window on the pipeline thread; Ctrl+C (StopProcessing) cancels the
        /// wait through <paramref name="cancel"/>. A window of zero is a single snapshot.
        /// </summary>
        internal static TrafficWindow Measure(PSCmdlet cmdlet, SnapshotPlan plan, TimeSpan duration, CancellationToken cancel)
        {
            var engine = EngineBridge.Engine;
            TrafficWindow window;
            try
            {
                window = duration > TimeSpan.Zero
                    ? TrafficWindow.Measure(engine, duration, cancel, plan.Enrichment, plan.Filters)
                    : TrafficWindow.Single(plan.Take(engine));
            }
            catch (OperationCanceledException)
            {
                throw new PipelineStoppedException();
            }
            foreach (var warning in window.Warnings) WarnOncePerSession(cmdlet, warning);
            return window;
        }

        internal static ConnectionQuery ToQuery(ConnectionRequest r)
        {
            return new ConnectionQuery
            {
                Protocols = r.Protocols?.Select(p => string.Equals(p, "UDP", StringComparison.OrdinalIgnoreCase) ? TransportProtocol.Udp : TransportProtocol.Tcp).Distinct().ToList(),
                States = r.States?.Select(s => (TcpState)s).ToList(),
                Ports = Ranges(r.Ports),
                LocalPorts = Ranges(r.LocalPorts),
                RemotePorts = Ranges(r.RemotePorts),
                RemoteAddresses = r.RemoteAddresses?.Select(AddressPattern.Parse).ToList(),
                ProcessNames = r.ProcessNames?.Select(n => new Wildcard(n)).ToList(),
                ProcessIds = r.ProcessIds?.ToList(),
                ExcludeLoopback = r.ExcludeLoopback,
                Countries = r.Countries?.Select(c => c.Trim().ToUpperInvariant()).Distinct().ToList(),
            };
        }

        private static List<PortRange> Ranges(int[] ports) => ports?.Select(p => new PortRange(p, p)).ToList();

        /// <summary>
        /// Partial-data warnings (privilege, fallbacks, config keys) are said once per session, not on
        /// every call. Warnings that differ only in their numbers ("owners of 12 sockets…" then "of 13")
        /// count as the same warning.
        /// </summary>
        internal static void WarnOncePerSession(Cmdlet cmdlet, string warning)
        {
            string key = System.Text.RegularExpressions.Regex.Replace(warning, "[0-9]+", "#");
            bool first;
            lock (WarnedThisSession) first = WarnedThisSession.Add(key);
            if (first) cmdlet.WriteWarning(warning);
        }
    }
}
