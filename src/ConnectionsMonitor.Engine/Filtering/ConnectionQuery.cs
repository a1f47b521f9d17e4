using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Filtering
{
    /// <summary>
    /// The one question every consumer asks of the engine, from a cmdlet's parameters down to the
    /// platform's table read: which connections (filters), how to enrich them (<see cref="ResolveDns"/>)
    /// and under which configuration (<see cref="ConfigPath"/>). Every criterion that is set must hold
    /// (AND); the values inside one criterion are alternatives (OR). Empty or null criteria match
    /// everything. Consumers never change a query they were given; <see cref="Copy"/> makes a variant.
    /// </summary>
    public sealed class ConnectionQuery
    {
        /// <summary>True or false to turn reverse DNS on or off for this query; null to follow the configuration's resolveDNS.</summary>
        public bool? ResolveDns { get; set; }

        /// <summary>
        /// The configuration file this query runs under (a full path); null for the usual lookup
        /// (environment variable, the user's config folder, the module's default).
        /// </summary>
        public string ConfigPath { get; set; }

        /// <summary>
        /// The caller's current directory (a full path; PowerShell's location), against which a
        /// relative $env:CONNECTIONSMONITOR_CONFIG is taken; null for the process's working directory.
        /// </summary>
        public string CurrentDirectory { get; set; }

        /// <summary>A shallow copy: the criteria collections are shared, so replace (never mutate) a collection on the copy.</summary>
        public ConnectionQuery Copy() => (ConnectionQuery)MemberwiseClone();

        /// <summary>
        /// True when a finished record (owner and enrichment attached) satisfies every criterion:
        /// the row criteria, the process criteria and the enriched ones. Subscribers of the session's
        /// sampler use it to cut their view out of a full sample.
        /// </summary>
        public bool Matches(ConnectionRecord r)
        {
            if (!MatchesEndpoints(r.Protocol, r.State, r.LocalAddress, r.LocalPort, r.RemoteAddress, r.RemotePort, r.ProcessId)) return false;
            return MatchesProcess(r.ProcessName) && MatchesEnriched(r);
        }

        public ICollection<TransportProtocol> Protocols { get; set; }
        public ICollection<TcpState> States { get; set; }

        /// <summary>Matches when either the local or the remote port is in the set.</summary>
        public ICollection<PortRange> Ports { get; set; }
        public ICollection<PortRange> LocalPorts { get; set; }
        public ICollection<PortRange> RemotePorts { get; set; }
        public ICollection<AddressPattern> RemoteAddresses { get; set; }

        /// <summary>Rows whose remote address matches one of these are left out.</summary>
        public ICollection<AddressPattern> ExcludedRemoteAddresses { get; set; }

        /// <summary>
        /// When true, RemoteAddresses applies only to rows that have a remote peer: listeners and
        /// unconnected UDP endpoints pass (the seed's ipFiltering allowlist is about peers).
        /// </summary>
        public bool RemoteAddressesApplyToPeersOnly { get; set; }
        public ICollection<Wildcard> ProcessNames { get; set; }
        public ICollection<int> ProcessIds { get; set; }
        public bool ExcludeLoopback { get; set; }

        /// <summary>ISO 3166 alpha-2 codes (any case) of the remote end's country; rows with no known country do not match.</summary>
        public ICollection<string> Countries { get; set; }

        /// <summary>Checks the criteria that need only the OS row (cheap; applied before process lookup).</summary>
        public bool MatchesRow(SocketEntry e) =>
            MatchesEndpoints(e.Protocol, e.State, e.LocalAddress, e.LocalPort, e.RemoteAddress, e.RemotePort, e.ProcessId);

        private bool MatchesEndpoints(TransportProtocol protocol, TcpState? state, IPAddress localAddress, int localPort,
            IPAddress remoteAddress, int? remotePort, int? processId)
        {
            if (!IsEmpty(Protocols) && !Protocols.Contains(protocol)) return false;
            if (!IsEmpty(States) && (state == null || !States.Contains(state.Value))) return false;
            if (!IsEmpty(LocalPorts) && !AnyContains(LocalPorts, localPort)) return false;
            if (!IsEmpty(RemotePorts) && (remotePort == null || !AnyContains(RemotePorts, remotePort.Value))) return false;
            if (!IsEmpty(Ports) && !AnyContains(Ports, localPort) && !(remotePort != null && AnyContains(Ports, remotePort.Value))) return false;
            if (!IsEmpty(RemoteAddresses) && !AnyMatches(RemoteAddresses, remoteAddress)
                && !(RemoteAddressesApplyToPeersOnly && !HasPeer(remoteAddress))) return false;
            if (!IsEmpty(ExcludedRemoteAddresses) && AnyMatches(ExcludedRemoteAddresses, remoteAddress)) return false;
            if (!IsEmpty(ProcessIds) && (processId == null || !ProcessIds.Contains(processId.Value))) return false;
            if (ExcludeLoopback && IsLoopbackConnection(localAddress, remoteAddress)) return false;
            return true;
        }

        /// <summary>Checks the criteria that need the owning process (applied after lookup).</summary>
        public bool MatchesProcess(string processName)
        {
            if (IsEmpty(ProcessNames)) return true;
            return MatchesAnyProcessName(ProcessNames, processName);
        }

        /// <summary>Checks the criteria that need enrichment (country; applied after GeoIP).</summary>
        public bool MatchesEnriched(ConnectionRecord r)
        {
            if (IsEmpty(Countries)) return true;
            if (r.Country == null) return false;
            foreach (var c in Countries) if (string.Equals(c, r.Country, System.StringComparison.OrdinalIgnoreCase)) return true;
            return false;
        }

        /// <summary>
        /// A process-name match that accepts the seed's Windows-style names: "chrome.exe" matches a
        /// process Get-Process calls "chrome".
        /// </summary>
        public static bool MatchesAnyProcessName(IEnumerable<Wildcard> patterns, string processName)
        {
            if (processName == null) return false;
            foreach (var p in patterns)
            {
                if (p.IsMatch(processName)) return true;
                if (p.Pattern.EndsWith(".exe", System.StringComparison.OrdinalIgnoreCase) && p.IsMatch(processName + ".exe")) return true;
            }
            return false;
        }

        /// <summary>
        /// A loopback connection: the remote end is a loopback address, or (for listeners and
        /// unconnected UDP) the socket is bound to a loopback address.
        /// </summary>
        public static bool IsLoopbackConnection(IPAddress local, IPAddress remote)
        {
            var r = AddressPattern.Normalize(remote);
            if (r != null && !IsUnspecified(r)) return IPAddress.IsLoopback(r);
            var l = AddressPattern.Normalize(local);
            return l != null && IPAddress.IsLoopback(l);
        }

        internal static bool IsUnspecified(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

        private static bool HasPeer(IPAddress remote) => remote != null && !IsUnspecified(AddressPattern.Normalize(remote));

        // A loop, not Any(lambda): a lambda capturing the address allocated a closure for every row read.
        private static bool AnyMatches(IEnumerable<AddressPattern> patterns, IPAddress address)
        {
            foreach (var p in patterns) if (p.IsMatch(address)) return true;
            return false;
        }

        private static bool AnyContains(IEnumerable<PortRange> ranges, int port)
        {
            foreach (var r in ranges) if (r.Contains(port)) return true;
            return false;
        }

        private static bool IsEmpty<T>(ICollection<T> c) => c == null || c.Count == 0;
    }
}
