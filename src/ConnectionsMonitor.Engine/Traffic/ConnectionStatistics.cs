using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Traffic
{
    /// <summary>Counts and totals over one snapshot, with rates when a sample window is given.</summary>
    public sealed class ConnectionStatistics
    {
        public DateTime TimeStampUtc { get; private set; }
        public int Tcp { get; private set; }
        public int Udp { get; private set; }
        public int Total => Tcp + Udp;
        public IReadOnlyDictionary<TcpState, int> ByState { get; private set; }

        /// <summary>Local ports with a TCP listener or a bound, unconnected UDP endpoint, ascending.</summary>
        public IReadOnlyList<int> ListeningTcpPorts { get; private set; }
        public IReadOnlyList<int> ListeningUdpPorts { get; private set; }
        public int DistinctRemoteAddresses { get; private set; }

        /// <summary>Distinct remote countries of the public peers (from the GeoIP databases); 0 when there is no public peer; null when there are public peers and none was located (no database).</summary>
        public int? DistinctCountries { get; private set; }

        /// <summary>Sum of the cumulative counters of the connections open now; null when none has counters.</summary>
        public long? BytesSent { get; private set; }
        public long? BytesReceived { get; private set; }

        /// <summary>Bytes per second over the sample window; null without a window or counters.</summary>
        public double? SendRate { get; private set; }
        public double? ReceiveRate { get; private set; }
        public TimeSpan? SampleDuration { get; private set; }

        public static ConnectionStatistics Compute(ConnectionSnapshot snapshot) => Compute(snapshot, null);

        public static ConnectionStatistics Compute(TrafficWindow window) => Compute(window.Last, window);

        private static ConnectionStatistics Compute(ConnectionSnapshot snapshot, TrafficWindow window)
        {
            var s = new ConnectionStatistics { TimeStampUtc = snapshot.TimeStampUtc };
            var byState = new Dictionary<TcpState, int>();
            var tcpPorts = new SortedSet<int>();
            var udpPorts = new SortedSet<int>();
            // Addresses, not their text: formatting 10,000 of them per refresh is the live view's cost.
            var remotes = new HashSet<System.Net.IPAddress>();
            var countries = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            bool publicWithoutCountry = false; // a public peer that no database located: the count is then not known
            foreach (var c in snapshot.Connections)
            {
                if (c.Protocol == TransportProtocol.Tcp)
                {
                    s.Tcp++;
                    if (c.State != null) byState[c.State.Value] = byState.TryGetValue(c.State.Value, out int n) ? n + 1 : 1;
                    if (c.State == TcpState.Listen) tcpPorts.Add(c.LocalPort);
                }
                else
                {
                    s.Udp++;
                    if (c.RemoteAddress == null) udpPorts.Add(c.LocalPort);
                }
                var remote = AddressPattern.Normalize(c.RemoteAddress);
                if (remote != null && !ConnectionQuery.IsUnspecified(remote))
                    remotes.Add(remote.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && remote.ScopeId != 0 ? new System.Net.IPAddress(remote.GetAddressBytes()) : remote);
                if (c.Country != null) countries.Add(c.Country);
                else if (!publicWithoutCountry && c.RemoteAddress != null &&
                         (c.AddressScope != null ? c.AddressScope == nameof(AddressScope.Public) : AddressScopes.Classify(c.RemoteAddress) == AddressScope.Public))
                    publicWithoutCountry = true; // the enricher's scope when it ran
                if (c.BytesSent != null) s.BytesSent = (s.BytesSent ?? 0) + c.BytesSent.Value;
                if (c.BytesReceived != null) s.BytesReceived = (s.BytesReceived ?? 0) + c.BytesReceived.Value;
            }
            s.ByState = byState;
            s.ListeningTcpPorts = tcpPorts.ToList();
            s.ListeningUdpPorts = udpPorts.ToList();
            s.DistinctRemoteAddresses = remotes.Count;
            // No public peer at all: none to locate, so 0 (a newcomer's trial read $null, "unknown", on a machine with only
            // loopback and private connections). Public peers of which none was located: unknown.
            s.DistinctCountries = countries.Count > 0 || !publicWithoutCountry ? countries.Count : (int?)null;

            if (window != null && window.Duration.TotalSeconds > 0)
            {
                s.SampleDuration = window.Duration;
                long? sent = null, received = null;
                foreach (var t in window.Connections)
                {
                    if (t.Sent != null) sent = (sent ?? 0) + t.Sent.Value;
                    if (t.Received != null) received = (received ?? 0) + t.Received.Value;
                }
                s.SendRate = TrafficRate.PerSecond(sent, window.Duration);
                s.ReceiveRate = TrafficRate.PerSecond(received, window.Duration);
            }
            return s;
        }
    }
}
