using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Traffic
{
    /// <summary>
    /// The session's memory of each connection across table reads: its previous byte counters (for
    /// send and receive rates, via <see cref="TrafficRate"/>) and when the session first saw it (for
    /// ages where the OS records no creation time). Keeps one entry per connection and forgets
    /// connections absent from the latest full read, so memory follows the size of the table, not
    /// the history of the machine. Not thread-safe: the engine serialises reads.
    /// </summary>
    internal sealed class RateTracker
    {
        // A class so an existing sample is updated in place: one dictionary lookup per connection.
        private sealed class Sample
        {
            public long? Sent;
            public long? Received;
            public DateTime TimeUtc;
            public double? SendRate;
            public double? ReceiveRate;
            public DateTime FirstSeenUtc;
            public bool FirstSeenIsLowerBound;
            public int Generation;
            // The observing read that last saw it (StartObserving): a read of part of the table (one protocol or family)
            // does not move Generation on, and the owner-change takeover must still tell this read's rows from older ones.
            public int Stamp;
            // A TCP socket bound but neither listening nor connected, as last seen (state Closed): reads that leave such
            // sockets out (Linux, unless asked for) do not see it, so they do not make it gone.
            public bool Bound;
        }

        private Dictionary<ConnectionKey, Sample> _previous = new Dictionary<ConnectionKey, Sample>(ConnectionKey.Comparer);
        // The key each kernel socket cookie was last seen under (Linux; 0, no cookie, is not kept): a socket whose owner
        // changed (its process exited and left a FIN_WAIT2 socket ownerless, a worker took a listener over) comes back
        // under a new key, and is the same connection — its first sighting and counters go on (a newcomer's trial: an
        // ownerless FIN_WAIT2 showed an age of 47 s, as exact, for a connection open for minutes).
        private Dictionary<ulong, ConnectionKey> _byCookie = new Dictionary<ulong, ConnectionKey>();
        private int _generation;
        private int _stamp;
        // When each protocol's whole table was last read (null: never yet), and when a read last included bound sockets.
        private DateTime? _tcpReadUtc, _udpReadUtc, _boundReadUtc;

        /// <summary>
        /// A connection first seen by a read this long or less after the previous whole read of its protocol opened between
        /// the two: its first sighting is its age to within that gap (the sampler reads every refreshInterval, 2 s in the
        /// shipped config.yml, a little more with the read's own time). After a longer gap (calls minutes apart, with nothing
        /// sampling between) it may have opened any time in it, so its age is a lower bound.
        /// </summary>
        internal static readonly TimeSpan ExactGap = TimeSpan.FromSeconds(5);

        internal int Count => _previous.Count;

        /// <summary>Starts a full read: connections not observed before <see cref="EndRead"/> are forgotten.</summary>
        internal void BeginRead() => _generation++;

        /// <summary>Starts a read that observes rows, of the whole table or part of it (one protocol or address family).</summary>
        internal void StartObserving() => _stamp++;

        /// <summary>
        /// Makes room for a read of <paramref name="rows"/> connections before it is observed: a first read of 10,000
        /// connections would otherwise grow the memory through a dozen rehashes of 88-byte entries, the largest on the
        /// large-object heap (measured: 28 ms of a 160 ms first Get-MonitoredConnection). Grows only when the read would
        /// more than double what is kept; netstandard2.0 has no Dictionary.EnsureCapacity, so the entries are copied.
        /// </summary>
        internal void Expect(int rows)
        {
            if (rows <= 2 * _previous.Count || rows < 256) return;
            var grown = new Dictionary<ConnectionKey, Sample>(rows + rows / 4, ConnectionKey.Comparer);
            foreach (var pair in _previous) grown.Add(pair.Key, pair.Value);
            _previous = grown;
            var cookies = new Dictionary<ulong, ConnectionKey>(rows + rows / 4);
            foreach (var pair in _byCookie) cookies.Add(pair.Key, pair.Value);
            _byCookie = cookies;
        }

        /// <summary>
        /// Records the connection's counters and returns its rates since the previous sample, or nulls
        /// when there is no earlier sample, no counters, or the counters went backwards (a new
        /// socket on a reused key).
        /// </summary>
        internal (double? Send, double? Receive) Observe(ConnectionKey key, long? sent, long? received, DateTime nowUtc) =>
            Observe(key, sent, received, nowUtc, out _, out _);

        /// <summary>
        /// As <see cref="Observe(ConnectionKey, long?, long?, DateTime)"/>, and gives when the session
        /// first saw the connection. <paramref name="firstSeenIsLowerBound"/> is true when the
        /// connection was already there the first time the session read its protocol's table (it
        /// is older than that; how much older is unknown), or appeared after a gap of more than
        /// <see cref="ExactGap"/> since the previous read of that table; false when it appeared between two reads at most
        /// that far apart.
        /// </summary>
        internal (double? Send, double? Receive) Observe(ConnectionKey key, long? sent, long? received, DateTime nowUtc,
            out DateTime firstSeenUtc, out bool firstSeenIsLowerBound) =>
            Observe(key, sent, received, nowUtc, false, out firstSeenUtc, out firstSeenIsLowerBound);

        /// <summary>
        /// As above; with <paramref name="sameWindow"/> a connection seen before keeps the rates of the window that ended
        /// at its previous sample and no new window starts (the session's sampler reads the table once per enrichment in
        /// one tick — a dashboard and a recording with different enrichments: reads milliseconds apart, over which a rate
        /// would be 0 or wildly high).
        /// </summary>
        internal (double? Send, double? Receive) Observe(ConnectionKey key, long? sent, long? received, DateTime nowUtc, bool sameWindow,
            out DateTime firstSeenUtc, out bool firstSeenIsLowerBound) =>
            Observe(key, sent, received, nowUtc, sameWindow, TimeSpan.Zero, out firstSeenUtc, out firstSeenIsLowerBound);

        /// <summary>
        /// As above; a connection whose window began less than <paramref name="minWindow"/> before <paramref name="nowUtc"/>
        /// is treated as <paramref name="sameWindow"/>: its previous window's rates, and the window goes on (calls made
        /// back to back, `Get-MonitoredConnection | ft; Get-MonitoredConnection | sort SendRate`, would otherwise rank
        /// rates over tens of milliseconds: 0, or several times the real one).
        /// </summary>
        internal (double? Send, double? Receive) Observe(ConnectionKey key, long? sent, long? received, DateTime nowUtc, bool sameWindow, TimeSpan minWindow,
            out DateTime firstSeenUtc, out bool firstSeenIsLowerBound) =>
            Observe(key, sent, received, nowUtc, sameWindow, minWindow, false, out firstSeenUtc, out firstSeenIsLowerBound);

        /// <summary>
        /// As above; <paramref name="bound"/> says the row is a TCP socket bound but neither listening nor connected (state
        /// Closed), whose first sighting is exact only within <see cref="ExactGap"/> of a read that included such sockets
        /// (<see cref="MarkBoundBaseline"/>), and which <see cref="EndRead(bool)"/> can be told to keep.
        /// </summary>
        internal (double? Send, double? Receive) Observe(ConnectionKey key, long? sent, long? received, DateTime nowUtc, bool sameWindow, TimeSpan minWindow,
            bool bound, out DateTime firstSeenUtc, out bool firstSeenIsLowerBound)
        {
            double? sendRate = null, receiveRate = null;
            if (_previous.TryGetValue(key, out var last) || TakeOver(key, out last))
            {
                var elapsed = nowUtc - last.TimeUtc;
                bool backwards = (sent != null && last.Sent != null && sent.Value < last.Sent.Value) || (received != null && last.Received != null && received.Value < last.Received.Value);
                if ((sameWindow || elapsed < minWindow) && !backwards)
                {
                    // Too soon for a window of its own: the previous window's rates, and the window goes on.
                    last.Generation = _generation;
                    last.Stamp = _stamp;
                    last.Bound = bound;
                    firstSeenUtc = last.FirstSeenUtc;
                    firstSeenIsLowerBound = last.FirstSeenIsLowerBound;
                    return (last.SendRate, last.ReceiveRate);
                }
                if (sent != null && last.Sent != null && sent.Value >= last.Sent.Value) sendRate = TrafficRate.PerSecond(sent.Value - last.Sent.Value, elapsed);
                if (received != null && last.Received != null && received.Value >= last.Received.Value) receiveRate = TrafficRate.PerSecond(received.Value - last.Received.Value, elapsed);
            }
            else
            {
                var read = bound ? _boundReadUtc : key.Protocol == TransportProtocol.Tcp ? _tcpReadUtc : _udpReadUtc;
                _previous.Add(key, last = new Sample { FirstSeenUtc = nowUtc, FirstSeenIsLowerBound = read == null || nowUtc - read.Value > ExactGap });
                if (key.Cookie != 0) _byCookie[key.Cookie] = key;
            }
            last.Sent = sent;
            last.Received = received;
            last.TimeUtc = nowUtc;
            last.SendRate = sendRate;
            last.ReceiveRate = receiveRate;
            last.Generation = _generation;
            last.Stamp = _stamp;
            last.Bound = bound;
            firstSeenUtc = last.FirstSeenUtc;
            firstSeenIsLowerBound = last.FirstSeenIsLowerBound;
            return (sendRate, receiveRate);
        }

        /// <summary>
        /// A key not seen before whose socket cookie was seen under another key (same socket, another owner) takes that
        /// key's sample over, unless this read (<see cref="StartObserving"/>) saw the other key too; false otherwise.
        /// </summary>
        private bool TakeOver(ConnectionKey key, out Sample last)
        {
            last = null;
            if (key.Cookie == 0 || !_byCookie.TryGetValue(key.Cookie, out var was) || !_previous.TryGetValue(was, out var sample) || sample.Stamp == _stamp)
                return false;
            _previous.Remove(was);
            _previous.Add(key, sample);
            _byCookie[key.Cookie] = key;
            last = sample;
            return true;
        }

        /// <summary>
        /// Says a read of this protocol's whole table, made at <paramref name="readUtc"/>, is done: connections of it that show
        /// up in a read soon after (<see cref="ExactGap"/>) appeared between the two.
        /// </summary>
        internal void MarkBaseline(TransportProtocol protocol, DateTime readUtc)
        {
            if (protocol == TransportProtocol.Tcp) _tcpReadUtc = readUtc;
            else _udpReadUtc = readUtc;
        }

        /// <summary>Forgets every connection the read did not observe (closed ones).</summary>
        /// <summary>Marks a read that included bound-but-inactive TCP sockets (see <see cref="Observe(ConnectionKey, long?, long?, DateTime, bool, TimeSpan, bool, out DateTime, out bool)"/>).</summary>
        internal void MarkBoundBaseline(DateTime readUtc) => _boundReadUtc = readUtc;

        internal void EndRead() => EndRead(false);

        /// <summary>
        /// Forgets the connections this read did not see; with <paramref name="keepUnseenBound"/> (a read that left bound
        /// sockets out) those last seen bound stay, until a read that includes bound sockets misses them.
        /// </summary>
        internal void EndRead(bool keepUnseenBound)
        {
            List<ConnectionKey> stale = null;
            foreach (var pair in _previous)
                if (pair.Value.Generation != _generation && !(keepUnseenBound && pair.Value.Bound)) (stale ?? (stale = new List<ConnectionKey>())).Add(pair.Key);
            if (stale == null) return;
            foreach (var k in stale)
            {
                _previous.Remove(k);
                if (k.Cookie != 0 && _byCookie.TryGetValue(k.Cookie, out var under) && under.Equals(k)) _byCookie.Remove(k.Cookie);
            }
            if (stale.Count > 1024 && _byCookie.Count < stale.Count) _byCookie = new Dictionary<ulong, ConnectionKey>(_byCookie);
            // A dictionary never shrinks its buckets; rebuild after a large drop so memory stays flat.
            if (stale.Count > 1024 && _previous.Count < stale.Count)
                _previous = new Dictionary<ConnectionKey, Sample>(_previous, ConnectionKey.Comparer);
        }
    }

    /// <summary>
    /// Bytes per second: the one place the engine turns a byte count over a span of time into a
    /// rate (per-connection rates, sample windows, statistics, top talkers, the live view).
    /// </summary>
    public static class TrafficRate
    {
        /// <summary>Bytes moved over <paramref name="elapsed"/>, per second; null when the bytes are unknown or no time passed.</summary>
        public static double? PerSecond(long? bytes, TimeSpan elapsed)
        {
            if (bytes == null || elapsed <= TimeSpan.Zero) return null;
            return bytes.Value / elapsed.TotalSeconds;
        }
    }
}
