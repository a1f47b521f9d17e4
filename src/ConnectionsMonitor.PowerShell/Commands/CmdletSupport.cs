using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

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
        public string ConfigPath;
    }

    /// <summary>What cmdlets share: request → engine query, configuration, warnings, object mapping.</summary>
    internal static class CmdletSupport
    {
        private static readonly HashSet<string> WarnedThisSession = new HashSet<string>(StringComparer.Ordinal);

        internal static List<MonitoredConnection> Snapshot(PSCmdlet cmdlet, ConnectionRequest request)
        {
            var configFilters = ConfigurationSupport.LoadFilters(cmdlet, request.ConfigPath);
            var query = ToQuery(request);
            var filters = new List<ConnectionQuery> { query };
            filters.AddRange(configFilters);

            var snapshot = EngineBridge.Engine.TakeSnapshot(filters.ToArray());
            foreach (var warning in snapshot.Warnings) WarnOncePerSession(cmdlet, warning);
            return snapshot.Connections.Select(c => EngineBridge.ToPowerShell(c, snapshot.TimeStampUtc)).ToList();
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
