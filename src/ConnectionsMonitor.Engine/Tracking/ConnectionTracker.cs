using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Tracking
{
    public enum ConnectionChange
    {
        Opened,
        Closed,
        StateChanged,
    }

    /// <summary>One change between two snapshots.</summary>
    public sealed class ConnectionEvent
    {
        public ConnectionEvent(ConnectionChange change, DateTime timeStampUtc, ConnectionRecord connection, TcpState? previousState)
        {
            Change = change;
            TimeStampUtc = timeStampUtc;
            Connection = connection;
            PreviousState = previousState;
        }

        public ConnectionChange Change { get; }

        /// <summary>The snapshot in which the change was seen.</summary>
        public DateTime TimeStampUtc { get; }

        /// <summary>The connection as last seen (for Closed: its last sighting).</summary>
        public ConnectionRecord Connection { get; }

        /// <summary>The state before a StateChanged event; null otherwise.</summary>
        public TcpState? PreviousState { get; }
    }

    /// <summary>
    /// Diffs successive snapshots into Opened, Closed and StateChanged events. A connection is its
    /// protocol, endpoints and owning process (and inode where there is one); a state change keeps
    /// that identity. Stamps <see cref="ConnectionRecord.FirstSeenUtc"/> on connections that appear
    /// while it watches. Holds only the latest snapshot's connections: memory follows the table, and
    /// closed connections are forgotten as soon as their Closed event is produced. Not thread-safe.
    /// </summary>
    public sealed class ConnectionTracker
    {
        private Dictionary<ConnectionKey, ConnectionRecord> _current;

        /// <summary>Connections currently tracked.</summary>
        public int Count => _current?.Count ?? 0;

        /// <summary>
        /// Feeds the next snapshot. The first one establishes the baseline and yields no events unless
        /// <paramref name="reportExistingAsOpened"/> is set.
        /// </summary>
        public IReadOnlyList<ConnectionEvent> Update(ConnectionSnapshot snapshot, bool reportExistingAsOpened = false)
        {
            var events = new List<ConnectionEvent>();
            var next = new Dictionary<ConnectionKey, ConnectionRecord>(snapshot.Connections.Count);
            bool baseline = _current == null;
            foreach (var r in snapshot.Connections)
            {
                if (next.ContainsKey(r.Key)) continue; // a duplicate row in one read is the same connection
                if (!baseline && _current.TryGetValue(r.Key, out var before))
                {
                    if (r.FirstSeenUtc == null || before.FirstSeenUtc < r.FirstSeenUtc)
                    {
                        r.FirstSeenUtc = before.FirstSeenUtc;
                        r.FirstSeenIsLowerBound = before.FirstSeenIsLowerBound;
                    }
                    if (r.State != before.State)
                        events.Add(new ConnectionEvent(ConnectionChange.StateChanged, snapshot.TimeStampUtc, r, before.State));
                }
                else if (baseline)
                {
                    if (reportExistingAsOpened) events.Add(new ConnectionEvent(ConnectionChange.Opened, snapshot.TimeStampUtc, r, null));
                }
                else
                {
                    if (r.FirstSeenUtc == null) r.FirstSeenUtc = snapshot.TimeStampUtc;
                    events.Add(new ConnectionEvent(ConnectionChange.Opened, snapshot.TimeStampUtc, r, null));
                }
                next[r.Key] = r;
            }
            if (!baseline)
            {
                foreach (var pair in _current)
                    if (!next.ContainsKey(pair.Key))
                        events.Add(new ConnectionEvent(ConnectionChange.Closed, snapshot.TimeStampUtc, pair.Value, null));
            }
            _current = next;
            return events;
        }
    }
}
