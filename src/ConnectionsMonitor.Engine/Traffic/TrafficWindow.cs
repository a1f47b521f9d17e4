using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Traffic
{
    /// <summary>One connection's traffic inside a sample window.</summary>
    public sealed class ConnectionTraffic
    {
        public ConnectionTraffic(ConnectionRecord connection, long? sent, long? received, bool opened, bool closed)
        {
            Connection = connection;
            Sent = sent;
            Received = received;
            OpenedDuringWindow = opened;
            ClosedDuringWindow = closed;
        }

        /// <summary>The connection as last seen (the closing sample for connections that closed).</summary>
        public ConnectionRecord Connection { get; }

        /// <summary>Bytes sent inside the window; null when the platform gave no counter for it.</summary>
        public long? Sent { get; }

        public long? Received { get; }
        public bool OpenedDuringWindow { get; }
        public bool ClosedDuringWindow { get; }
    }

    /// <summary>
    /// Traffic between two snapshots: connections present in both count their counter difference,
    /// connections that opened count everything they moved, and connections that closed count up to
    /// their final counters where the platform reports closings (otherwise what they moved after the
    /// first snapshot is unknown and they count nothing; see <see cref="ClosedConnectionsSeen"/>).
    /// </summary>
    public sealed class TrafficWindow
    {
        private TrafficWindow(ConnectionSnapshot first, ConnectionSnapshot last, TimeSpan duration,
            IReadOnlyList<ConnectionTraffic> connections, IReadOnlyList<string> warnings, bool closedSeen)
        {
            First = first;
            Last = last;
            Duration = duration;
            Connections = connections;
            Warnings = warnings;
            ClosedConnectionsSeen = closedSeen;
        }

        public ConnectionSnapshot First { get; }
        public ConnectionSnapshot Last { get; }

        /// <summary>Time between the two snapshots, measured.</summary>
        public TimeSpan Duration { get; }

        /// <summary>Every connection seen during the window, including ones that opened or closed in it.</summary>
        public IReadOnlyList<ConnectionTraffic> Connections { get; }

        public IReadOnlyList<string> Warnings { get; }

        /// <summary>True when the platform reported the final counters of connections that closed.</summary>
        public bool ClosedConnectionsSeen { get; }

        /// <summary>True when any connection carries byte counters (Linux TCP; Windows when elevated).</summary>
        public bool HasByteCounters
        {
            get
            {
                foreach (var c in Connections) if (c.Sent != null || c.Received != null) return true;
                return false;
            }
        }

        /// <summary>
        /// Takes a snapshot, waits <paramref name="duration"/> (cancellable, without spinning), takes
        /// another and works out what each connection moved in between.
        /// </summary>
        public static TrafficWindow Measure(MonitorEngine engine, TimeSpan duration, CancellationToken cancel, params ConnectionQuery[] filters) =>
            Measure(engine, duration, cancel, Enrichment.EnrichmentOptions.Default, filters);

        /// <summary>As above, with the snapshots enriched as asked.</summary>
        public static TrafficWindow Measure(MonitorEngine engine, TimeSpan duration, CancellationToken cancel, Enrichment.EnrichmentOptions enrichment, params ConnectionQuery[] filters) =>
            Measure(engine, duration, cancel, null, enrichment, filters);

        /// <summary>
        /// As above, telling <paramref name="progress"/> how much of the window has passed: once with
        /// <see cref="TimeSpan.Zero"/> right after the first snapshot (the moment the window opens:
        /// traffic from then on is counted), about once a second while it waits, and once with the
        /// whole duration before the second snapshot. Reports come from the measuring thread.
        /// </summary>
        public static TrafficWindow Measure(MonitorEngine engine, TimeSpan duration, CancellationToken cancel, IProgress<TimeSpan> progress,
            Enrichment.EnrichmentOptions enrichment, params ConnectionQuery[] filters)
        {
            if (duration <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(duration), "The sample window must be longer than zero.");
            var warnings = new List<string>();
            // Where counters run only while claimed (Windows ETW), hold them for the whole window: a
            // window longer than their idle time must not see them stop and restart from zero.
            using ((engine.Platform as Platform.IByteCounterUsers)?.AcquireByteCounters(out _))
                return MeasureHoldingCounters(engine, duration, cancel, progress, enrichment, filters, warnings);
        }

        private static TrafficWindow MeasureHoldingCounters(MonitorEngine engine, TimeSpan duration, CancellationToken cancel,
            IProgress<TimeSpan> progress, Enrichment.EnrichmentOptions enrichment, ConnectionQuery[] filters, List<string> warnings)
        {
            // A reader of its own: the session's sampler drains the same platform feed every tick.
            using (var feed = engine.OpenClosedConnections())
                return MeasureReading(engine, feed, duration, cancel, progress, enrichment, filters, warnings);
        }

        private static TrafficWindow MeasureReading(MonitorEngine engine, Platform.IClosedConnectionFeed feed, TimeSpan duration, CancellationToken cancel,
            IProgress<TimeSpan> progress, Enrichment.EnrichmentOptions enrichment, ConnectionQuery[] filters, List<string> warnings)
        {
            string feedProblem = feed?.Start();
            bool closedSeen = feed != null && feedProblem == null;
            if (feedProblem != null) warnings.Add(feedProblem);
            if (closedSeen) feed.DrainClosed(); // closings from before the window are not part of it
            long lostBefore = closedSeen ? feed.LostReports : 0;

            var clock = Stopwatch.StartNew();
            var first = engine.TakeSnapshot(enrichment, filters);
            var opened = clock.Elapsed;
            // Who owned each connection while the window ran: a closing report names the owner only when a read had seen
            // the socket, and the process may have exited before its name is looked up (a client that sends and quits).
            var owners = new Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord>();
            NoteOwners(owners, first.Connections);
            // With a state filter, the connections a read in the window saw in one of its states: a closing report is in
            // state Closed, so the filter would keep or drop it for that; it counts when the connection was seen so.
            var seenInState = FiltersByState(filters) ? new HashSet<(TransportProtocol, IPAddress, int, IPAddress, int?)>() : null;
            NoteSeen(seenInState, first.Connections);
            var peekEnrichment = new Enrichment.EnrichmentOptions { Geo = enrichment?.Geo, Vpn = enrichment?.Vpn };
            progress?.Report(TimeSpan.Zero);
            while (true)
            {
                var left = duration - (clock.Elapsed - opened);
                if (left <= TimeSpan.Zero) break;
                // A read a second (which leaves rates alone) notes the owners of connections that open during the window.
                var step = left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1);
                // Whole milliseconds, rounded up: a timeout under 1 ms rounds down to 0 and the loop would spin.
                if (cancel.WaitHandle.WaitOne((int)Math.Ceiling(step.TotalMilliseconds))) cancel.ThrowIfCancellationRequested();
                var passed = clock.Elapsed - opened;
                if (passed < duration)
                {
                    progress?.Report(passed);
                    var peek = engine.Peek(peekEnrichment, filters).Connections;
                    NoteOwners(owners, peek);
                    NoteSeen(seenInState, peek);
                }
            }
            progress?.Report(duration);
            var last = engine.TakeSnapshot(enrichment, filters);
            var elapsed = clock.Elapsed;
            // Drained after the second snapshot: a connection that closed after it is still in it and
            // its later bytes are outside the window (Compute ignores closings of connections in Last).
            NoteOwners(owners, last.Connections);
            NoteSeen(seenInState, last.Connections);
            var closed = closedSeen ? Closings(engine, feed.DrainClosed(), enrichment, filters, seenInState) : new ConnectionRecord[0];
            if (closedSeen && feed.LostReports > lostBefore)
                warnings.Add("Reports of " + (feed.LostReports - lostBefore) + " or more connections that closed during the sample were lost " +
                             "(the system dropped them under load), so their traffic is not counted; a shorter sample window loses fewer.");

            foreach (var w in first.Warnings) if (!warnings.Contains(w)) warnings.Add(w);
            foreach (var w in last.Warnings) if (!warnings.Contains(w)) warnings.Add(w);
            return new TrafficWindow(first, last, elapsed, Compute(first.Connections, last.Connections, WithOwners(closed, owners)), warnings, closedSeen);
        }

        private static bool FiltersByState(ConnectionQuery[] filters)
        {
            if (filters != null)
                foreach (var f in filters) if (f?.States != null && f.States.Count > 0) return true;
            return false;
        }

        private static void NoteSeen(HashSet<(TransportProtocol, IPAddress, int, IPAddress, int?)> seen, IReadOnlyList<ConnectionRecord> rows)
        {
            if (seen == null) return;
            foreach (var r in rows) seen.Add(r.Endpoints);
        }

        /// <summary>
        /// The closing reports that belong to the window's filters. Without a state filter, those the filters match. With
        /// one, a report (in state Closed) is matched on everything but the state, and counts when a read in the window saw
        /// its connection in one of the filter's states: a filter on Established counts the last bytes of an established
        /// connection that closed during the window, and one on Closed no closed connection's.
        /// </summary>
        private static IReadOnlyList<ConnectionRecord> Closings(MonitorEngine engine, IReadOnlyList<SocketEntry> reports, Enrichment.EnrichmentOptions enrichment,
            ConnectionQuery[] filters, HashSet<(TransportProtocol, IPAddress, int, IPAddress, int?)> seenInState)
        {
            if (seenInState == null) return engine.Describe(reports, enrichment, filters);
            var stateless = new ConnectionQuery[filters.Length];
            for (int i = 0; i < filters.Length; i++)
            {
                if (filters[i] == null) continue;
                stateless[i] = filters[i].Copy();
                stateless[i].States = null;
            }
            var kept = new List<ConnectionRecord>();
            foreach (var r in engine.Describe(reports, enrichment, stateless))
                if (r.Protocol == TransportProtocol.Tcp && seenInState.Contains(r.Endpoints)) kept.Add(r);
            return kept;
        }

        private static void NoteOwners(Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord> owners, IReadOnlyList<ConnectionRecord> rows)
        {
            foreach (var r in rows)
                if (r.ProcessId != null && r.ProcessName != null && r.RemoteAddress != null)
                    owners[r.Endpoints] = r;
        }

        /// <summary>
        /// Closing reports without an owner's name (the socket was never read, or its process exited before the lookup)
        /// named after the process a read in the window saw holding the same endpoints; copies, the reports stay as they are.
        /// </summary>
        private static IReadOnlyList<ConnectionRecord> WithOwners(IReadOnlyList<ConnectionRecord> closed,
            Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionRecord> owners)
        {
            List<ConnectionRecord> named = null;
            for (int i = 0; i < closed.Count; i++)
            {
                var c = closed[i];
                if (c.ProcessName != null || c.RemoteAddress == null
                    || !owners.TryGetValue(c.Endpoints, out var owner)
                    || (c.ProcessId != null && c.ProcessId != owner.ProcessId)) continue;
                if (named == null) named = new List<ConnectionRecord>(closed);
                var copy = c.Copy();
                copy.ProcessId = owner.ProcessId;
                copy.ProcessName = owner.ProcessName;
                copy.ProcessPath = owner.ProcessPath;
                copy.UserName = owner.UserName;
                named[i] = copy;
            }
            return (IReadOnlyList<ConnectionRecord>)named ?? closed;
        }

        /// <summary>
        /// A window of one snapshot, for rankings by connection count that need no traffic: byte
        /// fields are null (not measured), never zero.
        /// </summary>
        public static TrafficWindow Single(ConnectionSnapshot snapshot)
        {
            var connections = new List<ConnectionTraffic>(snapshot.Connections.Count);
            foreach (var r in snapshot.Connections) connections.Add(new ConnectionTraffic(r, null, null, false, false));
            return new TrafficWindow(snapshot, snapshot, TimeSpan.Zero, connections, snapshot.Warnings, false);
        }

        /// <summary>The same window with its warnings replaced (the session keeps only those not yet said).</summary>
        public static TrafficWindow WithWarnings(TrafficWindow w, IReadOnlyList<string> warnings) =>
            new TrafficWindow(w.First, w.Last, w.Duration, w.Connections, warnings ?? new string[0], w.ClosedConnectionsSeen);

        internal static TrafficWindow FromParts(ConnectionSnapshot first, ConnectionSnapshot last, TimeSpan duration,
            IReadOnlyList<ConnectionRecord> closed, bool closedSeen) =>
            new TrafficWindow(first, last, duration, Compute(first.Connections, last.Connections, closed), new string[0], closedSeen);

        internal static List<ConnectionTraffic> Compute(IReadOnlyList<ConnectionRecord> first, IReadOnlyList<ConnectionRecord> last, IReadOnlyList<ConnectionRecord> closed)
        {
            var before = new Dictionary<ConnectionKey, ConnectionRecord>(first.Count, ConnectionKey.Comparer);
            foreach (var r in first) before[r.Key] = r;
            var after = new HashSet<ConnectionKey>(ConnectionKey.Comparer);
            var result = new List<ConnectionTraffic>(last.Count + closed.Count);

            foreach (var r in last)
            {
                after.Add(r.Key);
                if (before.TryGetValue(r.Key, out var r0))
                    result.Add(new ConnectionTraffic(r, Delta(r0.BytesSent, r.BytesSent), Delta(r0.BytesReceived, r.BytesReceived), false, false));
                else
                    result.Add(new ConnectionTraffic(r, r.BytesSent, r.BytesReceived, true, false));
            }

            // Closing reports may lack the inode the table had (the socket is gone): match those on
            // the rest of the key.
            var beforeWithoutInode = new Dictionary<ConnectionKey, ConnectionRecord>(ConnectionKey.Comparer);
            foreach (var r in first)
                if (!after.Contains(r.Key)) beforeWithoutInode[WithoutInode(r.Key)] = r;

            var closedMatched = new HashSet<ConnectionKey>(ConnectionKey.Comparer);
            foreach (var c in closed)
            {
                if (after.Contains(c.Key)) continue;
                // c.Key is not in the last snapshot (checked above), so an exact match is a closing.
                bool known = before.TryGetValue(c.Key, out var r0)
                             || (c.Key.Inode == null && beforeWithoutInode.TryGetValue(c.Key, out r0));
                if (known)
                {
                    closedMatched.Add(r0.Key);
                    result.Add(new ConnectionTraffic(c, Delta(r0.BytesSent, c.BytesSent), Delta(r0.BytesReceived, c.BytesReceived), false, true));
                }
                else
                {
                    result.Add(new ConnectionTraffic(c, c.BytesSent, c.BytesReceived, true, true));
                }
            }

            // Closed without a closing report: it existed, but what it moved after the first
            // snapshot is unknown.
            foreach (var r in first)
                if (!after.Contains(r.Key) && !closedMatched.Contains(r.Key))
                    result.Add(new ConnectionTraffic(r, null, null, false, true));
            return result;
        }

        private static ConnectionKey WithoutInode(ConnectionKey k) =>
            new ConnectionKey(k.Protocol, k.LocalAddress, k.LocalPort, k.RemoteAddress, k.RemotePort, k.ProcessId, null, k.Cookie);

        /// <summary>Counter difference; a counter that went backwards belongs to a new socket, so all of it counts.</summary>
        private static long? Delta(long? before, long? after)
        {
            if (after == null) return null;
            if (before == null || after.Value < before.Value) return after;
            return after.Value - before.Value;
        }
    }
}
