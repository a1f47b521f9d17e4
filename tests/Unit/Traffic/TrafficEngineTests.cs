using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Traffic;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Traffic
{
    /// <summary>Window arithmetic, ranking and statistics on constructed connections (no kernel needed).</summary>
    public class TrafficEngineTests
    {
        private static readonly IPAddress Lo = IPAddress.Loopback;

        private static ConnectionRecord Conn(int localPort, int remotePort, int? pid, string name, long? sent, long? received,
            TcpState state = TcpState.Established, string remote = "10.0.0.1", ulong? inode = 1)
        {
            var remoteAddress = remote == null ? null : IPAddress.Parse(remote);
            var e = new SocketEntry
            {
                Protocol = TransportProtocol.Tcp, LocalAddress = Lo, LocalPort = localPort, RemoteAddress = remoteAddress,
                RemotePort = remotePort, State = state, ProcessId = pid, Inode = inode, BytesSent = sent, BytesReceived = received,
            };
            return new ConnectionRecord
            {
                Key = ConnectionKey.Of(e), Protocol = e.Protocol, LocalAddress = e.LocalAddress, LocalPort = localPort,
                RemoteAddress = remoteAddress, RemotePort = remotePort, State = state, ProcessId = pid, ProcessName = name,
                BytesSent = sent, BytesReceived = received,
            };
        }

        private static ConnectionSnapshot Snap(params ConnectionRecord[] rows) => new ConnectionSnapshot(DateTime.UtcNow, rows, new string[0]);

        [Fact]
        public void WindowCountsDeltasOpeningsAndReportedClosings()
        {
            var kept0 = Conn(1000, 80, 10, "a", 100, 1000, inode: 1);
            var kept1 = Conn(1000, 80, 10, "a", 150, 4000, inode: 1);
            var opened = Conn(1001, 80, 11, "b", 70, 7, inode: 2);
            var closing0 = Conn(1002, 80, 12, "c", 500, 50, inode: 3);
            var closedReport = Conn(1002, 80, 12, "c", 800, 90, inode: null); // destroy report without inode
            var unreported0 = Conn(1003, 80, 13, "d", 9, 9, inode: 4);
            var flash = Conn(1004, 80, 14, "e", 33, 44, inode: null); // opened and closed inside the window

            var w = TrafficWindow.FromParts(Snap(kept0, closing0, unreported0), Snap(kept1, opened), TimeSpan.FromSeconds(2),
                new[] { closedReport, flash }, true);
            var byPort = w.Connections.ToDictionary(c => c.Connection.LocalPort);
            Assert.Equal((50L, 3000L), (byPort[1000].Sent.Value, byPort[1000].Received.Value));
            Assert.Equal((70L, 7L), (byPort[1001].Sent.Value, byPort[1001].Received.Value));
            Assert.True(byPort[1001].OpenedDuringWindow);
            Assert.Equal((300L, 40L), (byPort[1002].Sent.Value, byPort[1002].Received.Value));
            Assert.True(byPort[1002].ClosedDuringWindow);
            Assert.Null(byPort[1003].Sent); // closed, no report: unknown, not zero
            Assert.Equal((33L, 44L), (byPort[1004].Sent.Value, byPort[1004].Received.Value));
            Assert.Equal(5, w.Connections.Count);
        }

        [Fact]
        public void CounterThatWentBackwardsIsANewSocket()
        {
            var w = TrafficWindow.FromParts(Snap(Conn(1, 2, 5, "x", 1000, 1000)), Snap(Conn(1, 2, 5, "x", 10, 20)), TimeSpan.FromSeconds(1), new ConnectionRecord[0], false);
            Assert.Equal(10, w.Connections.Single().Sent);
            Assert.Equal(20, w.Connections.Single().Received);
        }

        [Fact]
        public void ClosingOfAConnectionStillInTheLastSnapshotIsNotCountedTwice()
        {
            var r0 = Conn(1, 2, 5, "x", 0, 0);
            var r1 = Conn(1, 2, 5, "x", 100, 0);
            var report = Conn(1, 2, 5, "x", 150, 0);
            var w = TrafficWindow.FromParts(Snap(r0), Snap(r1), TimeSpan.FromSeconds(1), new[] { report }, true);
            Assert.Equal(100, Assert.Single(w.Connections).Sent);
        }

        /// <summary>
        /// Bytes of connections with no known owner (a client that connected, sent, closed and exited between two reads) are
        /// ranked as their own group, named null, and count in the shares; a newcomer's trial saw them vanish from
        /// Get-TopTalker while Get-ConnectionStatistic counted them.
        /// </summary>
        [Fact]
        public void BytesWithNoKnownOwnerAreRankedAsTheirOwnGroupAndShared()
        {
            var first = Snap(Conn(1, 80, 1, "app", 0, 0, inode: 1));
            var last = Snap(Conn(1, 80, 1, "app", 100, 0, inode: 1), Conn(2, 80, null, null, 300, 0, inode: 2), Conn(3, 80, null, null, 0, 100, TcpState.TimeWait, inode: null));
            var w = TrafficWindow.FromParts(first, last, TimeSpan.FromSeconds(1), new ConnectionRecord[0], false);
            var ranked = TopTalkers.Rank(w, TalkerGrouping.Process, TalkerMetric.Bytes, 5);
            Assert.Equal(new[] { null, "app" }, ranked.Select(t => t.Name));
            Assert.Equal(2, ranked[0].Connections);
            Assert.Equal(300, ranked[0].BytesSent);
            Assert.Equal(100, ranked[0].BytesReceived);
            Assert.Empty(ranked[0].ProcessIds);
            Assert.Equal(80.0, ranked[0].Share);
            Assert.Equal(20.0, ranked[1].Share);
            // By remote address the same bytes group by peer as before.
            Assert.Equal(500, TopTalkers.Rank(w, TalkerGrouping.RemoteAddress, TalkerMetric.Bytes, 5).Sum(t => (t.BytesSent ?? 0) + (t.BytesReceived ?? 0)));
        }

        [Fact]
        public void RanksProcessesByBytesWithSharesAndRates()
        {
            var first = Snap(Conn(1, 80, 1, "small", 0, 0, inode: 1), Conn(2, 80, 2, "big", 0, 0, inode: 2), Conn(3, 80, 3, "big", 0, 0, inode: 3),
                Conn(9, 0, 9, "server", null, null, TcpState.Listen, "0.0.0.0", 9));
            var last = Snap(Conn(1, 80, 1, "small", 100, 100, inode: 1), Conn(2, 80, 2, "big", 300, 0, inode: 2), Conn(3, 80, 3, "big", 0, 1300, inode: 3),
                Conn(9, 0, 9, "server", null, null, TcpState.Listen, "0.0.0.0", 9), Conn(7, 80, null, null, null, null, TcpState.TimeWait, inode: null));
            var w = TrafficWindow.FromParts(first, last, TimeSpan.FromSeconds(2), new ConnectionRecord[0], false);
            var ranked = TopTalkers.Rank(w, TalkerGrouping.Process, TalkerMetric.Bytes, 5);
            Assert.Equal(new[] { "big", "small", null }, ranked.Select(t => t.Name)); // the listener is not ranked; the ownerless TIME_WAIT is the no-owner group
            Assert.Equal(1, ranked[2].Connections);
            Assert.Null(ranked[2].BytesSent);
            Assert.Equal(1, ranked[0].Rank);
            Assert.Equal(new[] { 2, 3 }, ranked[0].ProcessIds);
            Assert.Equal(2, ranked[0].Connections);
            Assert.Equal(300, ranked[0].BytesSent);
            Assert.Equal(1300, ranked[0].BytesReceived);
            Assert.Equal(150.0, ranked[0].SendRate);
            Assert.Equal(650.0, ranked[0].ReceiveRate);
            Assert.Equal(88.89, ranked[0].Share); // 1600 of 1800
            Assert.Equal(11.11, ranked[1].Share);
            Assert.Single(TopTalkers.Rank(w, TalkerGrouping.Process, TalkerMetric.Bytes, 1));
            // Nothing moved: no share of nothing ($null, not 0), while shares of the connections are still known.
            var idle = TrafficWindow.FromParts(first, first, TimeSpan.FromSeconds(2), new ConnectionRecord[0], false);
            Assert.All(TopTalkers.Rank(idle, TalkerGrouping.Process, TalkerMetric.Bytes, 5), t => Assert.Null(t.Share));
            Assert.Equal(new double?[] { 66.67, 33.33 }, TopTalkers.Rank(idle, TalkerGrouping.Process, TalkerMetric.Connections, 5).Select(t => t.Share));
        }

        [Fact]
        public void RanksRemoteAddressesAndConnectionsFromOneSnapshotWithoutBytes()
        {
            // (a dual-stack socket's peer, ::ffff:10.0.0.2, is the same peer as 10.0.0.2: one group, named as IPv4)
            var snap = Snap(Conn(1, 80, 1, "a", 5, 5, remote: "10.0.0.1", inode: 1), Conn(2, 80, 1, "a", 5, 5, remote: "10.0.0.2", inode: 2),
                Conn(3, 443, 2, "b", 5, 5, remote: "10.0.0.2", inode: 3), Conn(4, 8443, 2, "b", 5, 5, remote: "::ffff:10.0.0.2", inode: 4));
            var w = TrafficWindow.Single(snap);
            Assert.False(w.HasByteCounters);
            var ranked = TopTalkers.Rank(w, TalkerGrouping.RemoteAddress, TalkerMetric.Connections, 10);
            Assert.Equal(new[] { "10.0.0.2", "10.0.0.1" }, ranked.Select(t => t.Name));
            Assert.Equal(3, ranked[0].Connections);
            Assert.Null(ranked[0].BytesSent); // not measured, so not zero
            Assert.Null(ranked[0].SendRate);
            Assert.Empty(TopTalkers.Rank(w, TalkerGrouping.Country, TalkerMetric.Connections, 10)); // no geo data: nothing to group
        }

        [Fact]
        public void StatisticsCountStatesPortsAndRates()
        {
            var first = Snap(Conn(1, 80, 1, "a", 0, 0, inode: 1));
            var udp = new ConnectionRecord { Protocol = TransportProtocol.Udp, LocalAddress = Lo, LocalPort = 53, Key = new ConnectionKey(TransportProtocol.Udp, Lo, 53, null, null, 1, 5) };
            var last = Snap(Conn(1, 80, 1, "a", 1000, 3000, inode: 1), Conn(22, 0, 2, "sshd", null, null, TcpState.Listen, "0.0.0.0", 2),
                Conn(80, 0, 3, "web", null, null, TcpState.Listen, "0.0.0.0", 3), Conn(5, 80, null, null, null, null, TcpState.TimeWait, "10.0.0.9", null), udp);
            var s = ConnectionStatistics.Compute(TrafficWindow.FromParts(first, last, TimeSpan.FromSeconds(4), new ConnectionRecord[0], false));
            Assert.Equal(4, s.Tcp);
            Assert.Equal(1, s.Udp);
            Assert.Equal(5, s.Total);
            Assert.Equal(2, s.ByState[TcpState.Listen]);
            Assert.Equal(1, s.ByState[TcpState.TimeWait]);
            Assert.Equal(new[] { 22, 80 }, s.ListeningTcpPorts);
            Assert.Equal(new[] { 53 }, s.ListeningUdpPorts);
            Assert.Equal(2, s.DistinctRemoteAddresses);
            Assert.Equal(0, s.DistinctCountries); // no public peer: none to locate (a newcomer's trial read $null, unknown)
            var outside = Snap(Conn(7, 443, 4, "b", null, null, remote: "8.8.8.8"), Conn(8, 443, 4, "b", null, null, remote: "1.1.1.1"));
            Assert.Null(ConnectionStatistics.Compute(outside).DistinctCountries); // public peers that no database located: unknown
            outside.Connections[0].Country = "US";
            outside.Connections[1].Country = "AU";
            Assert.Equal(2, ConnectionStatistics.Compute(outside).DistinctCountries);
            Assert.Equal(1000, s.BytesSent);
            Assert.Equal(250.0, s.SendRate);
            Assert.Equal(750.0, s.ReceiveRate);
            Assert.Null(ConnectionStatistics.Compute(last).SendRate);
        }

        [Fact]
        public void RateTrackerComputesRatesAndForgetsClosedConnections()
        {
            var t = new RateTracker();
            var k1 = new ConnectionKey(TransportProtocol.Tcp, Lo, 1, Lo, 2, 7, 11);
            var k2 = new ConnectionKey(TransportProtocol.Tcp, Lo, 3, Lo, 4, 7, 12);
            var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            t.BeginRead();
            Assert.Equal((null, null), t.Observe(k1, 0, 0, t0));
            Assert.Equal((null, null), t.Observe(k2, 0, 0, t0));
            t.EndRead();
            t.BeginRead();
            Assert.Equal((500.0, 250.0), t.Observe(k1, 1000, 500, t0.AddSeconds(2)));
            t.EndRead();
            Assert.Equal(1, t.Count); // k2 closed and was forgotten
            t.BeginRead();
            Assert.Equal((null, null), t.Observe(k1, null, null, t0.AddSeconds(3))); // no counters: no rate, no fake 0
            t.EndRead();
        }

        /// <summary>
        /// A socket whose owner exits stays in the table ownerless (an orphaned FIN_WAIT2) under the same kernel cookie: the
        /// same connection, so its first sighting (exact or a bound) and its counters go on (a newcomer's trial: such a row
        /// showed an age of 47 s, as exact, for a connection open for minutes). Another socket of the same endpoints (another
        /// cookie) is a new connection.
        /// </summary>
        [Fact]
        public void ASocketThatLostItsOwnerKeepsItsFirstSightingAndRates()
        {
            var t = new RateTracker();
            var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            var owned = new ConnectionKey(TransportProtocol.Tcp, Lo, 40000, Lo, 41999, 4242, 11, cookie: 77);
            var orphan = new ConnectionKey(TransportProtocol.Tcp, Lo, 40000, Lo, 41999, null, 11, cookie: 77);
            t.MarkBaseline(TransportProtocol.Tcp, t0.AddSeconds(-1));
            t.BeginRead();
            t.StartObserving();
            t.Observe(owned, 100, 50, t0, out var first, out bool bound);
            Assert.Equal(t0, first);
            Assert.False(bound);
            t.EndRead();
            t.MarkBaseline(TransportProtocol.Tcp, t0);
            t.BeginRead();
            t.StartObserving();
            Assert.Equal((200.0, 25.0), t.Observe(orphan, 500, 100, t0.AddSeconds(2), out first, out bound));
            Assert.Equal(t0, first);
            Assert.False(bound);
            t.EndRead();
            Assert.Equal(1, t.Count); // taken over, not kept twice
            // Gone and back under another cookie on the same endpoints: a new socket, first seen now.
            var next = new ConnectionKey(TransportProtocol.Tcp, Lo, 40000, Lo, 41999, null, 12, cookie: 78);
            t.MarkBaseline(TransportProtocol.Tcp, t0.AddSeconds(2));
            t.BeginRead();
            t.StartObserving();
            Assert.Equal((null, null), t.Observe(next, 0, 0, t0.AddSeconds(3), out first, out _));
            Assert.Equal(t0.AddSeconds(3), first);
            t.EndRead();
            // The same cookie seen under two keys in one read: neither takes the other's sample.
            var a = new ConnectionKey(TransportProtocol.Tcp, Lo, 1, Lo, 2, 1, 13, cookie: 90);
            var b = new ConnectionKey(TransportProtocol.Tcp, Lo, 1, Lo, 2, 2, 13, cookie: 90);
            t.BeginRead();
            t.StartObserving();
            t.Observe(a, 0, 0, t0.AddSeconds(4));
            Assert.Equal((null, null), t.Observe(b, 10, 10, t0.AddSeconds(4)));
            t.EndRead();
            Assert.Equal(2, t.Count); // a and b; `next` was not seen in this read
        }

        /// <summary>
        /// The takeover also happens on a read of part of the table (TCP only: `Get-MonitoredConnection -State FinWait2`),
        /// which does not start a whole-table generation (a review's finding: the orphan got a new first sighting there).
        /// </summary>
        [Fact]
        public void AnOwnerChangeSeenByAPartialReadIsTakenOverToo()
        {
            var t = new RateTracker();
            var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            var owned = new ConnectionKey(TransportProtocol.Tcp, Lo, 40000, Lo, 41999, 4242, 11, cookie: 77);
            var orphan = new ConnectionKey(TransportProtocol.Tcp, Lo, 40000, Lo, 41999, null, 11, cookie: 77);
            t.BeginRead();
            t.StartObserving();
            t.Observe(owned, 100, 50, t0, out _, out bool bound);
            Assert.True(bound); // the session's first read: a lower bound
            t.EndRead();
            t.MarkBaseline(TransportProtocol.Tcp, t0);
            t.StartObserving(); // a TCP-only read: no BeginRead / EndRead
            t.Observe(orphan, 500, 100, t0.AddSeconds(2), out var first, out bound);
            Assert.Equal(t0, first);
            Assert.True(bound);
            t.BeginRead();
            t.StartObserving();
            t.Observe(orphan, 600, 100, t0.AddSeconds(3), out first, out _);
            t.EndRead();
            Assert.Equal(t0, first);
            Assert.Equal(1, t.Count);
        }

        /// <summary>Making room for a large read (the first of 10,000 connections) keeps what the tracker knew: rates and first sightings go on.</summary>
        [Fact]
        public void MakingRoomForALargeReadKeepsEverySample()
        {
            var t = new RateTracker();
            var k = new ConnectionKey(TransportProtocol.Tcp, Lo, 1, Lo, 2, 7, 11);
            var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            t.BeginRead();
            t.Observe(k, 0, 0, t0);
            t.EndRead();
            t.MarkBaseline(TransportProtocol.Tcp, t0);
            t.BeginRead();
            t.Expect(10_000);
            Assert.Equal((1000.0, 0.0), t.Observe(k, 1000, 0, t0.AddSeconds(1), out var firstSeen, out bool lowerBound));
            Assert.Equal(t0, firstSeen);
            Assert.True(lowerBound); // seen in the first read, before the baseline
            t.EndRead();
            Assert.Equal(1, t.Count);
        }

        /// <summary>
        /// A connection that appears in a read a second after the previous one opened within that second: its first sighting
        /// is its age. One that appears in a read minutes after the previous one (calls minutes apart, nothing sampling between)
        /// may have opened any time then: its age is a lower bound (a newcomer's trial: a 15-second-old connection showed age 0,
        /// not marked as a bound). UDP keeps its own time.
        /// </summary>
        [Fact]
        public void AConnectionFirstSeenAfterALongGapBetweenReadsHasALowerBoundAge()
        {
            var t = new RateTracker();
            var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            bool LowerBound(int port, DateTime at)
            {
                t.Observe(new ConnectionKey(TransportProtocol.Tcp, Lo, port, Lo, 2, 7, 11), 0, 0, at, out var seen, out bool bound);
                Assert.Equal(at, seen);
                return bound;
            }
            Assert.True(LowerBound(1, t0));                        // the first read: open before the session looked
            t.MarkBaseline(TransportProtocol.Tcp, t0);
            Assert.False(LowerBound(2, t0.AddSeconds(1)));          // a second later: opened in that second
            t.MarkBaseline(TransportProtocol.Tcp, t0.AddSeconds(1));
            Assert.False(LowerBound(3, t0.AddSeconds(3)));          // two seconds later: still within the gap
            t.MarkBaseline(TransportProtocol.Tcp, t0.AddSeconds(3));
            Assert.False(LowerBound(30, t0.AddSeconds(5.03)));      // the shipped config's 2 s refresh and a read's 30 ms: exact
            Assert.False(LowerBound(31, t0.AddSeconds(8)));         // five seconds: the widest gap still taken as exact
            t.MarkBaseline(TransportProtocol.Tcp, t0.AddSeconds(8.01));
            Assert.True(LowerBound(32, t0.AddSeconds(13.02)));      // just over five seconds: a bound
            t.MarkBaseline(TransportProtocol.Tcp, t0.AddSeconds(3));
            Assert.True(LowerBound(4, t0.AddSeconds(18)));          // fifteen seconds later: any time in those fifteen
            var udp = new ConnectionKey(TransportProtocol.Udp, Lo, 5, null, null, 7, 11);
            t.Observe(udp, null, null, t0.AddSeconds(19), out _, out bool udpBound);
            Assert.True(udpBound);                                  // UDP's table was never read whole
        }

        /// <summary>
        /// Two reads of one tick a few milliseconds apart (the sampler reads once per enrichment: a dashboard and a recording)
        /// give the same rates, over the last real window, not a rate over milliseconds (found by a newcomer: the dashboard
        /// showed 0 B/s and then 754 KB/s for a steady 100 KB/s while a recording ran in the same session).
        /// </summary>
        [Fact]
        public void ReadsCloserThanTheMinimumWindowKeepThePreviousWindowsRates()
        {
            var t = new RateTracker();
            var k = new ConnectionKey(TransportProtocol.Tcp, Lo, 1, Lo, 2, 7, 11);
            var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            (double?, double?) Same(long sent, DateTime at) => t.Observe(k, sent, 0, at, true, out _, out _);
            Assert.Equal((null, null), t.Observe(k, 0, 0, t0));
            Assert.Equal((null, null), Same(5, t0.AddMilliseconds(3)));                   // no window yet, and none started
            Assert.Equal((100000.0, 0.0), t.Observe(k, 100000, 0, t0.AddSeconds(1)));   // the window t0 .. t0+1 s
            Assert.Equal((100000.0, 0.0), Same(100004, t0.AddMilliseconds(1004)));      // 4 ms later, same tick: the same rates
            Assert.Equal((50000.0, 0.0), t.Observe(k, 150000, 0, t0.AddSeconds(2)));    // the next window starts at t0+1 s
            Assert.Equal((null, 0.0), Same(10, t0.AddMilliseconds(2010)));              // sent went back (a new socket): no send rate
        }

        /// <summary>A window shorter than the minimum asked for is not cut: the previous window's rates, and the window goes on.</summary>
        [Fact]
        public void ReadsWithinTheMinimumWindowCarryThePreviousRates()
        {
            var t = new RateTracker();
            var k = new ConnectionKey(TransportProtocol.Tcp, Lo, 1, Lo, 2, 7, 11);
            var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            var min = TimeSpan.FromMilliseconds(500);
            (double?, double?) At(long sent, double seconds) => t.Observe(k, sent, 0, t0.AddSeconds(seconds), false, min, out _, out _);
            Assert.Equal((null, null), At(0, 0));
            Assert.Equal((null, null), At(100, 0.2));           // too soon, and no window yet
            Assert.Equal((1000.0, 0.0), At(1000, 1));           // the window 0 .. 1 s
            Assert.Equal((1000.0, 0.0), At(1050, 1.05));        // 50 ms later: that window's rates, not 50 bytes over 50 ms
            Assert.Equal((1000.0, 0.0), At(1400, 1.4));
            Assert.Equal((500.0, 0.0), At(1500, 2));            // the window 1 .. 2 s, whole
            Assert.Equal((null, 0.0), At(10, 2.1));             // sent went back (a new socket): a window of its own at once
        }

        [Fact]
        public void RateTrackerMemoryStaysFlatOverManyConnections()
        {
            var t = new RateTracker();
            var now = DateTime.UtcNow;
            for (int round = 0; round < 200; round++)
            {
                t.BeginRead();
                for (int i = 0; i < 5000; i++)
                    t.Observe(new ConnectionKey(TransportProtocol.Tcp, Lo, i, Lo, 80, 1, (ulong)(round * 5000 + i)), 1, 1, now);
                t.EndRead();
                Assert.Equal(5000, t.Count);
            }
        }

        private sealed class FakeTable : ConnectionsMonitor.Engine.Platform.IConnectionTable
        {
            public int Reads;
            public ConnectionsMonitor.Engine.Platform.ConnectionTableResult Read(ConnectionQuery request)
            {
                Reads++;
                return new ConnectionsMonitor.Engine.Platform.ConnectionTableResult(new SocketEntry[0], new string[0]);
            }
        }

        private sealed class FakeProcesses : ConnectionsMonitor.Engine.Platform.IProcessCatalog
        {
            public IReadOnlyDictionary<int, ProcessInfo> Lookup(IReadOnlyCollection<int> processIds) => new Dictionary<int, ProcessInfo>();
        }

        /// <summary>A feed that loses reports while the window is open (after the window's first table read).</summary>
        private sealed class LossyFeed : ConnectionsMonitor.Engine.Platform.IClosedConnectionFeed
        {
            private readonly FakeTable _table;
            public LossyFeed(FakeTable table) => _table = table;
            public string Start() => null;
            public IReadOnlyList<SocketEntry> DrainClosed() => new SocketEntry[0];
            public void Stop() { }
            public long LostReports => _table.Reads >= 1 ? 7 : 2; // 5 lost between the first snapshot and the drain after the second
        }

        private sealed class FakePlatform : ConnectionsMonitor.Engine.Platform.IPlatform
        {
            public FakePlatform()
            {
                var table = new FakeTable();
                Connections = table;
                ClosedConnections = new LossyFeed(table);
            }

            public string Name => "fake";
            public ConnectionsMonitor.Engine.Platform.IConnectionTable Connections { get; }
            public ConnectionsMonitor.Engine.Platform.IProcessCatalog Processes { get; } = new FakeProcesses();
            public ConnectionsMonitor.Engine.Platform.IClosedConnectionFeed ClosedConnections { get; }
            public ConnectionsMonitor.Engine.Platform.INetworkInterfaceCatalog Interfaces => null;
        }

        [Fact]
        public void LostClosingReportsDuringTheWindowAreSaid()
        {
            using var engine = new MonitorEngine(new FakePlatform());
            var w = TrafficWindow.Measure(engine, TimeSpan.FromMilliseconds(50), System.Threading.CancellationToken.None);
            Assert.Contains(w.Warnings, x => x.Contains("5 or more connections that closed"));
        }
    }
}
