using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Traffic
{
    /// <summary>
    /// Send and receive rates from two samples of the same connection. Keeps one previous sample per
    /// connection and forgets connections absent from the latest read, so memory follows the size
    /// of the table, not the history of the machine. Not thread-safe: the engine serialises reads.
    /// </summary>
    internal sealed class RateTracker
    {
        // A class so an existing sample is updated in place: one dictionary lookup per connection.
        private sealed class Sample
        {
            public long Sent;
            public long Received;
            public DateTime TimeUtc;
            public int Generation;
        }

        private Dictionary<ConnectionKey, Sample> _previous = new Dictionary<ConnectionKey, Sample>();
        private int _generation;

        internal int Count => _previous.Count;

        /// <summary>Starts a read: connections not observed before <see cref="EndRead"/> are forgotten.</summary>
        internal void BeginRead() => _generation++;

        /// <summary>
        /// Records the connection's counters and returns its rates since the previous sample, or nulls
        /// when there is no earlier sample, no counters, or the counters went backwards (a new
        /// socket on a reused key).
        /// </summary>
        internal (double? Send, double? Receive) Observe(ConnectionKey key, long? sent, long? received, DateTime nowUtc)
        {
            if (sent == null && received == null) return (null, null);
            double? sendRate = null, receiveRate = null;
            if (_previous.TryGetValue(key, out var last))
            {
                double seconds = (nowUtc - last.TimeUtc).TotalSeconds;
                if (seconds > 0)
                {
                    if (sent != null && sent.Value >= last.Sent) sendRate = (sent.Value - last.Sent) / seconds;
                    if (received != null && received.Value >= last.Received) receiveRate = (received.Value - last.Received) / seconds;
                }
            }
            else
            {
                _previous.Add(key, last = new Sample());
            }
            last.Sent = sent ?? 0;
            last.Received = received ?? 0;
            last.TimeUtc = nowUtc;
            last.Generation = _generation;
            return (sendRate, receiveRate);
        }

        /// <summary>Forgets every connection the read did not observe (closed ones).</summary>
        internal void EndRead()
        {
            List<ConnectionKey> stale = null;
            foreach (var pair in _previous)
                if (pair.Value.Generation != _generation) (stale ?? (stale = new List<ConnectionKey>())).Add(pair.Key);
            if (stale == null) return;
            foreach (var k in stale) _previous.Remove(k);
            // A dictionary never shrinks its buckets; rebuild after a large drop so memory stays flat.
            if (stale.Count > 1024 && _previous.Count < stale.Count)
                _previous = new Dictionary<ConnectionKey, Sample>(_previous);
        }
    }
}
