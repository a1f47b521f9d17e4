using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
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

        /// <summary>
        /// IP versions to read: <see cref="AddressFamily.InterNetwork"/> (IPv4) and/or
        /// <see cref="AddressFamily.InterNetworkV6"/> (IPv6), taken from the local address of a row;
        /// null or empty for both. A socket bound to an IPv4-mapped address (::ffff:a.b.c.d) is an IPv6
        /// socket: the kernel keeps it in its AF_INET6 table (Windows: the IPv6 table of IP Helper).
        /// </summary>
        public ICollection<AddressFamily> AddressFamilies { get; set; }

        /// <summary>
        /// Whether the platform attributes each socket to its owning process (Linux: the walk of
        /// /proc/PID/fd; Windows: the owner columns of GetExtendedTcpTable / GetExtendedUdpTable).
        /// True unless a read only needs the sockets; rows read without it have a null ProcessId.
        /// </summary>
        public bool ResolveOwners { get; set; } = true;

        /// <summary>
        /// Whether the read wants BytesSent / BytesReceived. Where counters cost a system resource
        /// (Windows: an ETW session, see <see cref="Platform.IByteCounterUsers"/>) a read without it
        /// starts nothing; its rows still carry counts while counters run for someone else, and null
        /// otherwise. Linux reads tcp_info either way (it is free there).
        /// </summary>
        public bool IncludeByteCounts { get; set; } = true;

        /// <summary>
        /// Whether the read includes TCP sockets bound to a local port but neither listening nor connected (Linux 6.7+:
        /// the kernel's bound-inactive sockets, which sock_diag reports in state TCP_CLOSE, so
        /// <see cref="TcpState.Closed"/>). Off unless asked for, as <c>ss -ta</c> does not list them either: finding them
        /// makes the kernel walk its bind hash table, every bound socket of the namespace, besides the established table
        /// (measured on 6.18 with 10,000 loopback connections, the two reads alternated: 2.5 to 3.4 ms, 15 to 20 % of a
        /// read's kernel time). <see cref="ReadScope"/> turns it on for a query whose <see cref="States"/> names Closed. Windows' tables
        /// and the /proc/net fallback are read the same either way.
        /// </summary>
        public bool IncludeBoundSockets { get; set; }

        /// <summary>
        /// Whether rows of this protocol can match, so whether the platform has to read its table:
        /// false when <see cref="Protocols"/> leaves it out, and for UDP when a TCP state is asked for
        /// (UDP rows have no state).
        /// </summary>
        public bool Reads(TransportProtocol protocol)
        {
            if (!IsEmpty(Protocols) && !Protocols.Contains(protocol)) return false;
            return protocol != TransportProtocol.Udp || IsEmpty(States);
        }

        /// <summary>Whether rows of this IP version can match (see <see cref="AddressFamilies"/>), so whether the platform has to read its tables.</summary>
        public bool Reads(AddressFamily family) => IsEmpty(AddressFamilies) || AddressFamilies.Contains(family);

        /// <summary>
        /// The one query a platform is asked to read for several queries that must all hold (a
        /// caller's and the configuration's filters): the protocols and IP versions every one of them
        /// can match, owners, byte counts and bound sockets when any of them needs them. Only what a table read uses is carried over.
        /// </summary>
        public static ConnectionQuery ReadScope(IEnumerable<ConnectionQuery> queries)
        {
            var protocols = new List<TransportProtocol>();
            foreach (var p in new[] { TransportProtocol.Tcp, TransportProtocol.Udp })
                if (queries.All(q => q.Reads(p))) protocols.Add(p);
            var families = new List<AddressFamily>();
            foreach (var f in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
                if (queries.All(q => q.Reads(f))) families.Add(f);
            bool none = !queries.Any();
            return new ConnectionQuery
            {
                // Nothing readable is said with a family no table has, since an empty set means "all".
                Protocols = protocols.Count == 0 ? new[] { TransportProtocol.Tcp } : protocols,
                AddressFamilies = families.Count == 0 || protocols.Count == 0 ? new[] { AddressFamily.Unspecified } : families,
                ResolveOwners = none || queries.Any(q => q.ResolveOwners),
                IncludeByteCounts = none || queries.Any(q => q.IncludeByteCounts),
                IncludeBoundSockets = queries.Any(q => q.IncludeBoundSockets || (q.States != null && q.States.Contains(TcpState.Closed))),
            };
        }

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
            if (!IsEmpty(AddressFamilies) && (localAddress == null || !AddressFamilies.Contains(localAddress.AddressFamily))) return false;
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

        /// <summary>0.0.0.0 or :: (normalize an IPv4-mapped address first: <see cref="AddressPattern.Normalize"/>): what a socket without a peer reports as its remote end.</summary>
        public static bool IsUnspecified(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

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
