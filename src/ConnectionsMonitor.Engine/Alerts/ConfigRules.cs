using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Configuration;

namespace ConnectionsMonitor.Engine.Alerts
{
    /// <summary>
    /// config.yml's alerts.conditions as rules (named config.*, Origin "config", every webhook of
    /// alerts.webhooks as a target), with meanings that hold up on a real machine:
    /// <list type="bullet">
    /// <item>suspiciousPorts → config.suspiciousPorts: a connection that uses one of the ports — outbound to it
    /// (RemotePort) or inbound to it (InboundPort) — once per connection, not per sample; a new listener on
    /// one (NewListeningPort). Listeners that were there when watching started (135/139/445 on every
    /// Windows machine) are the baseline and fire nothing.</item>
    /// <item>newForeignConnections → config.newForeignConnections: a remote country not seen before in this
    /// session (NewRemoteCountry; needs GeoIP).</item>
    /// <item>maxConnections → config.maxConnections: more than N connections (listeners not counted), edge-triggered.</item>
    /// <item>maxBandwidth → config.maxBandwidth: more than N bytes/s sent + received over all connections, from real counters, edge-triggered.</item>
    /// <item>portScan: true (this module's key) → config.portScan with alerts.portScan.ports / window.</item>
    /// </list>
    /// </summary>
    internal static class ConfigRules
    {
        public static IEnumerable<AlertRule> From(AlertsConfig alerts)
        {
            var targets = alerts.Webhooks.Select(w => new AlertTarget(w.Url)).ToList().AsReadOnly();
            var c = alerts.Conditions;
            var repeat = System.TimeSpan.FromMilliseconds(alerts.RepeatInterval);
            if (c.SuspiciousPorts.Count > 0)
            {
                var ports = c.SuspiciousPorts.ToArray();
                yield return Rule("suspiciousPorts", targets,
                    new AlertCondition(AlertKind.RemotePort) { Ports = ports },
                    new AlertCondition(AlertKind.InboundPort) { Ports = ports },
                    new AlertCondition(AlertKind.NewListeningPort) { Ports = ports });
            }
            if (c.NewForeignConnections)
                yield return Rule("newForeignConnections", targets, new AlertCondition(AlertKind.NewRemoteCountry));
            if (c.MaxConnections > 0)
                yield return Rule("maxConnections", targets, new AlertCondition(AlertKind.MaxConnections) { Threshold = c.MaxConnections });
            if (c.MaxBandwidth > 0)
                yield return Rule("maxBandwidth", targets, new AlertCondition(AlertKind.MaxBandwidth) { Threshold = c.MaxBandwidth });
            if (c.PortScan)
                yield return Rule("portScan", targets, new AlertCondition(AlertKind.PortScan)
                {
                    ScanPorts = alerts.PortScanPorts,
                    ScanWindow = System.TimeSpan.FromMilliseconds(alerts.PortScanWindow),
                });
            AlertRule Rule(string key, IReadOnlyList<AlertTarget> to, params AlertCondition[] conditions) =>
                new AlertRule(AlertMonitor.ConfigRulePrefix + key, conditions) { Targets = to, Origin = "config", RepeatInterval = repeat };
        }
    }
}
