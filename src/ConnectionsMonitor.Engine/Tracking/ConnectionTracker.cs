using System;
using System.Collections.Generic;
using System.Net;
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
        // The previous sample's dictionary, cleared and refilled as the next one: a sampler feeding a
        // live view at 10,000 rows a second otherwise allocated a large-object-heap table per sample.
        private Dictionary<ConnectionKey, ConnectionRecord> _spare;

        /// <summary>Connections currently tracked.</summary>
        public int Count => _current?.Count ?? 0;

        /// <summary>
        /// Feeds the next snapshot. The first one establishes the baseline and yields no events unless
        /// <paramref name="reportExistingAsOpened"/> is set.
        /// </summary>
        public IReadOnlyList<ConnectionEvent> Update(ConnectionSnapshot snapshot, bool reportExistingAsOpened = false)
        {
            var events = new List<ConnectionEvent>();
            var next = _spare ?? new Dictionary<ConnectionKey, ConnectionRecord>(snapshot.Connections.Count);
            _spare = null;
            next.Clear();
            bool baseline = _current == null;
            List<ConnectionRecord> fresh = null;
            int continued = 0;
            foreach (var r in snapshot.Connections)
            {
                if (next.ContainsKey(r.Key)) continue; // a duplicate row in one read is the same connection
                next.Add(r.Key, r);
                if (!baseline && _current.TryGetValue(r.Key, out var before))
                {
                    continued++;
                    Continue(events, snapshot.TimeStampUtc, r, before);
                }
                else if (baseline)
                {
                    if (reportExistingAsOpened) events.Add(new ConnectionEvent(ConnectionChange.Opened, snapshot.TimeStampUtc, r, null));
                }
                else
                    (fresh ?? (fresh = new List<ConnectionRecord>())).Add(r);
            }
            // Every earlier key seen again and nothing new: nothing opened or closed (the steady case).
            if (!baseline && (continued != _current.Count || fresh != null))
            {
                // Rows whose exact key is gone. One of them and a fresh row with the same endpoints are
                // the same connection whose owner or socket identity changed (a process that exits
                // leaves its FIN_WAIT2 socket ownerless; a worker takes over a listener): a state
                // change at most, never a Closed and an Opened for one connection.
                Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord> gone = null;
                foreach (var pair in _current)
                    if (!next.ContainsKey(pair.Key))
                        (gone ?? (gone = new Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord>()))[Endpoints(pair.Key)] = pair.Value;
                if (fresh != null)
                    foreach (var r in fresh)
                    {
                        if (gone != null && gone.TryGetValue(Endpoints(r.Key), out var before))
                        {
                            gone.Remove(Endpoints(r.Key));
                            Continue(events, snapshot.TimeStampUtc, r, before);
                            continue;
                        }
                        if (r.FirstSeenUtc == null) r.FirstSeenUtc = snapshot.TimeStampUtc;
                        events.Add(new ConnectionEvent(ConnectionChange.Opened, snapshot.TimeStampUtc, r, null));
                    }
                if (gone != null)
                    foreach (var r in gone.Values)
                        events.Add(new ConnectionEvent(ConnectionChange.Closed, snapshot.TimeStampUtc, r, null));
            }
            if (_current != null && _current.Count <= 4 * Math.Max(next.Count, 1024)) _spare = _current; // a huge old table is let go
            _current = next;
            return events;
        }

        /// <summary>The same connection seen again: keep its first sighting, report a state change.</summary>
        private static void Continue(List<ConnectionEvent> events, DateTime timeStampUtc, ConnectionRecord r, ConnectionRecord before)
        {
            if (r.FirstSeenUtc == null || before.FirstSeenUtc < r.FirstSeenUtc)
            {
                r.FirstSeenUtc = before.FirstSeenUtc;
                r.FirstSeenIsLowerBound = before.FirstSeenIsLowerBound;
            }
            if (r.State != before.State)
                events.Add(new ConnectionEvent(ConnectionChange.StateChanged, timeStampUtc, r, before.State));
        }

        private static (TransportProtocol, IPAddress, int, IPAddress, int?) Endpoints(ConnectionKey k) =>
            (k.Protocol, k.LocalAddress, k.LocalPort, k.RemoteAddress, k.RemotePort);
    }
}
