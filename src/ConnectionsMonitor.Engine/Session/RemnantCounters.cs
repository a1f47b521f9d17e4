using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Session
{
    /// <summary>
    /// Gives the TIME_WAIT / FIN_WAIT2 remnant that an actively closed TCP socket leaves in the table the final byte
    /// counts of that socket, from the OS's closing report (Linux sock_diag destroy events). The kernel keeps no
    /// tcp_info for a timewait socket, so the remnant's row has neither owner nor counters; without this, what the
    /// active closer moved would be known only when the remnant goes (a minute later on Linux), and not at all by a
    /// watcher or a recording that stops before that. Reports are kept by endpoints (protocol TCP, local and remote
    /// address and port) until two reads in a row show no remnant of them: the report of a socket closed after a read
    /// finds its remnant in the next one. A row is given counts only when it is such a remnant (no owner, TIME_WAIT or
    /// FIN_WAIT2) and has none of its own. Runs on the sampler's thread before the samples are offered, so no
    /// subscriber sees a row change. Not thread-safe. Memory: one entry per reported TCP socket still in TIME_WAIT.
    /// </summary>
    internal sealed class RemnantCounters
    {
        private sealed class Counts
        {
            internal long? Sent;
            internal long? Received;
            internal int Misses; // reads in a row without its remnant
        }

        private readonly Dictionary<(IPAddress, int, IPAddress, int), Counts> _byEndpoints = new Dictionary<(IPAddress, int, IPAddress, int), Counts>();

        /// <summary>Entries kept (for tests).</summary>
        internal int Count => _byEndpoints.Count;

        /// <summary>Keeps the final counts of the reported TCP sockets that have any (an abortive close is reported with remote port 0: no endpoints to match).</summary>
        internal void Add(IReadOnlyList<SocketEntry> reported)
        {
            foreach (var e in reported)
            {
                if (e.Protocol != TransportProtocol.Tcp || e.LocalAddress == null || e.RemoteAddress == null || e.RemotePort == null || e.RemotePort == 0) continue;
                if (e.BytesSent == null && e.BytesReceived == null) continue;
                _byEndpoints[(e.LocalAddress, e.LocalPort, e.RemoteAddress, e.RemotePort.Value)] = new Counts { Sent = e.BytesSent, Received = e.BytesReceived };
            }
        }

        /// <summary>
        /// Sets the kept counts on the remnant rows of this tick's snapshots (one per enrichment, all of the same read
        /// moment), then forgets the reports whose remnant two reads in a row did not show.
        /// </summary>
        internal void Fill(IEnumerable<ConnectionSnapshot> snapshots)
        {
            if (_byEndpoints.Count == 0) return;
            HashSet<(IPAddress, int, IPAddress, int)> found = null;
            foreach (var snapshot in snapshots)
            {
                if (snapshot == null) continue;
                foreach (var r in snapshot.Connections)
                {
                    if (!Tracking.ConnectionTracker.IsRemnant(r)) continue;
                    if (r.BytesSent != null || r.BytesReceived != null || r.RemoteAddress == null || r.RemotePort == null) continue;
                    var key = (r.LocalAddress, r.LocalPort, r.RemoteAddress, r.RemotePort.Value);
                    if (!_byEndpoints.TryGetValue(key, out var counts)) continue;
                    r.BytesSent = counts.Sent;
                    r.BytesReceived = counts.Received;
                    (found ?? (found = new HashSet<(IPAddress, int, IPAddress, int)>())).Add(key);
                }
            }
            List<(IPAddress, int, IPAddress, int)> stale = null;
            foreach (var pair in _byEndpoints)
            {
                if (found != null && found.Contains(pair.Key)) pair.Value.Misses = 0;
                else if (++pair.Value.Misses >= 2) (stale ?? (stale = new List<(IPAddress, int, IPAddress, int)>())).Add(pair.Key);
            }
            if (stale != null)
                foreach (var k in stale) _byEndpoints.Remove(k);
        }
    }
}
