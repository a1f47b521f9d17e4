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
            : this(change, timeStampUtc, connection, previousState, false, false) { }

        /// <summary>An event that may come from the OS's report of a closing (see <see cref="BetweenSamples"/>, <see cref="FinalCounters"/>).</summary>
        public ConnectionEvent(ConnectionChange change, DateTime timeStampUtc, ConnectionRecord connection, TcpState? previousState, bool betweenSamples, bool finalCounters)
        {
            Change = change;
            TimeStampUtc = timeStampUtc;
            Connection = connection;
            PreviousState = previousState;
            BetweenSamples = betweenSamples;
            FinalCounters = finalCounters;
        }

        /// <summary>
        /// True for the Opened and the Closed of a connection that opened and closed between two samples: no table
        /// read saw it, the OS reported its closing (Linux sock_diag destroy events, Windows ETW). Both events come
        /// with the same sample and the same record: its state as reported at close (Closed), its final byte counts,
        /// and no first sighting (null); its opening time is unknown unless the OS gives a creation time.
        /// </summary>
        public bool BetweenSamples { get; }

        /// <summary>
        /// True for a Closed event whose byte counts are the OS's final counters at close (payload bytes since the
        /// connection opened); false when they are the counters of the last sample that saw it.
        /// </summary>
        public bool FinalCounters { get; }

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
    /// <remarks>
    /// With the OS's closing reports (<see cref="Update(ConnectionSnapshot, IReadOnlyList{ConnectionRecord}, bool, Func{ConnectionRecord, bool})"/>),
    /// a connection the previous snapshot had gets one Closed event carrying its final counters, and a connection
    /// no snapshot had gets an Opened and a Closed marked <see cref="ConnectionEvent.BetweenSamples"/>. A report of a
    /// socket still in the current snapshot (it closed after the read) waits for the next update; a report that comes
    /// after the snapshots already showed the connection gone (the OS's report was late) is dropped, so no connection
    /// closes twice. Reports are matched by key, by kernel cookie when the owner changed (an exited owner leaves its
    /// socket ownerless), and otherwise by endpoints.
    /// </remarks>
    public sealed class ConnectionTracker
    {
        private Dictionary<ConnectionKey, ConnectionRecord> _current;
        // The previous sample's dictionary, cleared and refilled as the next one: a sampler feeding a
        // live view at 10,000 rows a second otherwise allocated a large-object-heap table per sample.
        private Dictionary<ConnectionKey, ConnectionRecord> _spare;
        // Closing reports of sockets the latest snapshot still had (closed just after its read).
        private List<ConnectionRecord> _deferred;
        // Connections the latest update closed without a report: a report arriving later is about them.
        private Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord> _closedUnreported;
        // The last owned record of each connection that went on as an ownerless remnant (the active closer's TIME_WAIT, a
        // FIN_WAIT2 its exited owner left): its Closed event names that owner, as the connection's while it moved bytes.
        private Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord> _formerOwners;

        /// <summary>Connections currently tracked.</summary>
        public int Count => _current?.Count ?? 0;

        /// <summary>Closing reports held for the next update (their socket was still in the latest snapshot).</summary>
        public int Deferred => _deferred?.Count ?? 0;

        /// <summary>
        /// Feeds the next snapshot. The first one establishes the baseline and yields no events unless
        /// <paramref name="reportExistingAsOpened"/> is set.
        /// </summary>
        public IReadOnlyList<ConnectionEvent> Update(ConnectionSnapshot snapshot, bool reportExistingAsOpened = false) =>
            Update(snapshot, null, reportExistingAsOpened, null);

        /// <summary>
        /// Feeds the next snapshot with the OS's reports of connections that closed since the previous one
        /// (<paramref name="closed"/>: records of sockets the platform saw destroyed, reported after the snapshot's
        /// read; null or empty when there are none or the platform has no such reports). Reports of connections the
        /// tracker never saw become Opened + Closed pairs only when <paramref name="admitUnseen"/> (null: all) accepts
        /// them; the first update (the baseline) turns none into events.
        /// </summary>
        public IReadOnlyList<ConnectionEvent> Update(ConnectionSnapshot snapshot, IReadOnlyList<ConnectionRecord> closed, bool reportExistingAsOpened,
            Func<ConnectionRecord, bool> admitUnseen)
        {
            var events = new List<ConnectionEvent>();
            var next = _spare ?? new Dictionary<ConnectionKey, ConnectionRecord>(snapshot.Connections.Count, ConnectionKey.Comparer);
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
            var reports = TakeReports(closed);
            Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord> gone = null;
            // Every earlier key seen again and nothing new: nothing opened or closed (the steady case).
            if (!baseline && (continued != _current.Count || fresh != null))
            {
                // Rows whose exact key is gone. One of them and a fresh row with the same endpoints are
                // the same connection whose owner or socket identity changed (a process that exits
                // leaves its FIN_WAIT2 socket ownerless; a worker takes over a listener): a state
                // change at most, never a Closed and an Opened for one connection.
                foreach (var pair in _current)
                    if (!next.ContainsKey(pair.Key))
                        (gone ?? (gone = new Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord>()))[pair.Key.Endpoints] = pair.Value;
                if (fresh != null)
                    foreach (var r in fresh)
                    {
                        if (gone != null && gone.TryGetValue(r.Key.Endpoints, out var before))
                        {
                            gone.Remove(r.Key.Endpoints);
                            Continue(events, snapshot.TimeStampUtc, r, before);
                            if (IsRemnant(r) && before.ProcessId != null)
                                (_formerOwners ?? (_formerOwners = new Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord>()))[r.Key.Endpoints] = before;
                            else if (!IsRemnant(r)) _formerOwners?.Remove(r.Key.Endpoints); // the endpoints' next connection
                            continue;
                        }
                        if (r.FirstSeenUtc == null) r.FirstSeenUtc = snapshot.TimeStampUtc;
                        events.Add(new ConnectionEvent(ConnectionChange.Opened, snapshot.TimeStampUtc, r, null));
                    }
            }

            Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord> finals = null;
            List<ConnectionRecord> unseen = null;
            Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord> remnants = null;
            if (reports != null)
                foreach (var c in reports)
                {
                    if (InSnapshot(next, c.Key, ref remnants))
                    {
                        (_deferred ?? (_deferred = new List<ConnectionRecord>())).Add(c); // closed after the read: the next update's
                        continue;
                    }
                    if (baseline) continue; // closed before the baseline: not a change this tracker saw
                    var ends = c.Key.Endpoints;
                    if (gone != null && gone.TryGetValue(ends, out var was) && SameSocket(was, c.Key))
                        (finals ?? (finals = new Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord>()))[ends] = c;
                    else if (_closedUnreported != null && _closedUnreported.TryGetValue(ends, out was) && SameSocket(was, c.Key))
                        _closedUnreported.Remove(ends); // its Closed went out with the last sample's counters
                    else if (admitUnseen == null || admitUnseen(c))
                        (unseen ?? (unseen = new List<ConnectionRecord>())).Add(c);
                }

            _closedUnreported = null;
            if (gone != null)
                foreach (var pair in gone)
                {
                    ConnectionRecord owner = null;
                    if (_formerOwners != null && _formerOwners.TryGetValue(pair.Key, out owner)) _formerOwners.Remove(pair.Key);
                    var last = owner == null || pair.Value.ProcessId != null ? pair.Value : WithOwner(pair.Value, owner);
                    if (finals != null && finals.TryGetValue(pair.Key, out var report))
                    {
                        bool counted = report.BytesSent != null || report.BytesReceived != null;
                        events.Add(new ConnectionEvent(ConnectionChange.Closed, snapshot.TimeStampUtc, counted ? WithFinalCounters(last, report) : last, null, false, counted));
                        continue;
                    }
                    events.Add(new ConnectionEvent(ConnectionChange.Closed, snapshot.TimeStampUtc, last, null));
                    if (pair.Value.Protocol == TransportProtocol.Tcp)
                        (_closedUnreported ?? (_closedUnreported = new Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord>()))[pair.Key] = pair.Value;
                }
            if (unseen != null)
                foreach (var c in unseen)
                {
                    events.Add(new ConnectionEvent(ConnectionChange.Opened, snapshot.TimeStampUtc, c, null, true, false));
                    events.Add(new ConnectionEvent(ConnectionChange.Closed, snapshot.TimeStampUtc, c, null, true, c.BytesSent != null || c.BytesReceived != null));
                }
            if (_current != null && _current.Count <= 4 * Math.Max(next.Count, 1024)) _spare = _current; // a huge old table is let go
            _current = next;
            return events;
        }

        private List<ConnectionRecord> TakeReports(IReadOnlyList<ConnectionRecord> closed)
        {
            var held = _deferred;
            _deferred = null;
            if (closed == null || closed.Count == 0) return held;
            if (held == null) return new List<ConnectionRecord>(closed);
            held.AddRange(closed);
            return held;
        }

        /// <summary>
        /// The reported socket is still in the snapshot: under its key; under its cookie with no owner (the owner
        /// exited); or as the TIME_WAIT / FIN_WAIT2 remnant of the same endpoints that the kernel leaves when an active
        /// closer's socket is destroyed (measured on 6.x: the remnant keeps the socket's cookie only when a dump had
        /// already asked for it, so a connection no read saw has a remnant under another cookie).
        /// </summary>
        private static bool InSnapshot(Dictionary<ConnectionKey, ConnectionRecord> next, ConnectionKey k,
            ref Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord> remnants)
        {
            if (next.ContainsKey(k)) return true;
            if (k.Cookie != 0 && k.ProcessId != null &&
                next.ContainsKey(new ConnectionKey(k.Protocol, k.LocalAddress, k.LocalPort, k.RemoteAddress, k.RemotePort, null, k.Inode, k.Cookie)))
                return true;
            if (k.Protocol != TransportProtocol.Tcp) return false;
            if (remnants == null)
            {
                // Once per update with reports to place, and only the remnants are kept.
                remnants = new Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord>();
                foreach (var r in next.Values)
                    if (IsRemnant(r)) remnants[r.Key.Endpoints] = r;
            }
            return remnants.ContainsKey(k.Endpoints);
        }

        /// <summary>What an active closer leaves in the table after its socket is destroyed: no owner, TIME_WAIT or FIN_WAIT2 (a connection already closed).</summary>
        internal static bool IsRemnant(ConnectionRecord r) =>
            r.Protocol == TransportProtocol.Tcp && r.ProcessId == null && (r.State == TcpState.TimeWait || r.State == TcpState.FinWait2);

        /// <summary>
        /// A report and a tracked row with the same endpoints (checked by the caller) are one socket unless both have a
        /// kernel cookie and the cookies differ (a reused 4-tuple is another socket); a remnant's cookie says nothing.
        /// </summary>
        private static bool SameSocket(ConnectionRecord was, ConnectionKey report) =>
            was.Key.Cookie == 0 || report.Cookie == 0 || was.Key.Cookie == report.Cookie || IsRemnant(was);

        /// <summary>
        /// An ownerless remnant as its connection's last record: the owner (process id, name, path, user) of the last owned
        /// record before it (a copy: other subscribers hold the remnant's record).
        /// </summary>
        private static ConnectionRecord WithOwner(ConnectionRecord remnant, ConnectionRecord owned)
        {
            var r = remnant.Copy();
            r.ProcessId = owned.ProcessId;
            r.ProcessName = owned.ProcessName;
            r.ProcessPath = owned.ProcessPath;
            r.UserName = owned.UserName;
            return r;
        }

        /// <summary>The connection as last seen, with the counters of its closing report (a copy: other subscribers hold the record).</summary>
        private static ConnectionRecord WithFinalCounters(ConnectionRecord last, ConnectionRecord report)
        {
            var r = last.Copy();
            if (report.BytesSent != null) r.BytesSent = report.BytesSent;
            if (report.BytesReceived != null) r.BytesReceived = report.BytesReceived;
            return r;
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

    }
}
