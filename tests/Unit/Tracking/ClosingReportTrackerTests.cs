using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Tracking;
using Xunit;

namespace ConnectionsMonitor.Tests.Tracking
{
    /// <summary>
    /// The tracker with the OS's closing reports, on hand-made rows shaped as Linux gives them (cookie per socket,
    /// a destroyed socket reported in state Closed, a TIME_WAIT remnant with the cookie and no owner). The real
    /// sockets' side is in Session/BetweenSamplesTests.
    /// </summary>
    public class ClosingReportTrackerTests
    {
        private static readonly DateTime T0 = new DateTime(2026, 12, 1, 5, 0, 0, DateTimeKind.Utc);

        private static ConnectionRecord Row(int localPort, ulong cookie, int? pid, TcpState state, long? sent, long? received)
        {
            var local = IPAddress.Loopback;
            var remote = IPAddress.Loopback;
            return new ConnectionRecord
            {
                Key = new ConnectionKey(TransportProtocol.Tcp, local, localPort, remote, 443, pid, null, cookie),
                Protocol = TransportProtocol.Tcp, LocalAddress = local, LocalPort = localPort, RemoteAddress = remote, RemotePort = 443,
                State = state, ProcessId = pid, ProcessName = pid == null ? null : "p" + pid, BytesSent = sent, BytesReceived = received,
            };
        }

        private static ConnectionSnapshot At(int second, params ConnectionRecord[] rows) => new ConnectionSnapshot(T0.AddSeconds(second), rows, new string[0]);

        [Fact]
        public void AConnectionNoSampleSawComesAsOpenedAndClosedWithItsFinalBytes()
        {
            var t = new ConnectionTracker();
            Assert.Empty(t.Update(At(0), null, false, null));
            var report = Row(50000, 77, null, TcpState.Closed, 1000, 2000);
            var events = t.Update(At(2), new[] { report }, false, null);
            Assert.Equal(new[] { ConnectionChange.Opened, ConnectionChange.Closed }, events.Select(e => e.Change));
            Assert.All(events, e => Assert.True(e.BetweenSamples));
            Assert.All(events, e => Assert.Same(report, e.Connection));
            Assert.All(events, e => Assert.Equal(T0.AddSeconds(2), e.TimeStampUtc));
            Assert.False(events[0].FinalCounters);
            Assert.True(events[1].FinalCounters);
            Assert.Null(report.FirstSeenUtc); // never seen: its age is unknown, not the sample's time
            Assert.Equal(0, t.Count);
            Assert.Empty(t.Update(At(4), null, false, null)); // and it is not closed again
        }

        [Fact]
        public void AConnectionOfThePreviousSampleClosesOnceWithTheReportsBytes()
        {
            var t = new ConnectionTracker();
            var seen = Row(50001, 78, 42, TcpState.Established, 100, 200);
            seen.ProcessName = "curl";
            t.Update(At(0, seen), null, false, null);
            var events = t.Update(At(2), new[] { Row(50001, 78, 42, TcpState.Closed, 150, 900) }, false, null);
            var closed = Assert.Single(events);
            Assert.Equal(ConnectionChange.Closed, closed.Change);
            Assert.True(closed.FinalCounters);
            Assert.False(closed.BetweenSamples);
            Assert.Equal((150L, 900L), (closed.Connection.BytesSent.Value, closed.Connection.BytesReceived.Value));
            Assert.Equal("curl", closed.Connection.ProcessName); // the rest as last seen
            Assert.Equal(TcpState.Established, closed.Connection.State);
            Assert.Equal(100L, seen.BytesSent); // a copy: other subscribers hold the sampled record
        }

        [Fact]
        public void WithoutAReportAClosedCarriesTheLastSamplesBytesAndALateReportIsDropped()
        {
            var t = new ConnectionTracker();
            t.Update(At(0, Row(50002, 79, 42, TcpState.Established, 10, 20)), null, false, null);
            var closed = Assert.Single(t.Update(At(2), null, false, null));
            Assert.False(closed.FinalCounters);
            Assert.Equal(10L, closed.Connection.BytesSent);
            // The OS's report arrives with the next sample (it closed just before the read that missed it).
            Assert.Empty(t.Update(At(4), new[] { Row(50002, 79, 42, TcpState.Closed, 12, 20) }, false, null));
        }

        [Fact]
        public void AReportOfASocketTheSnapshotStillHasWaitsForTheNextSample()
        {
            // Closed after the read: the read has it, the drain after the read reports it.
            var t = new ConnectionTracker();
            t.Update(At(0), null, false, null);
            var row = Row(50003, 80, 42, TcpState.Established, 5, 6);
            var opened = Assert.Single(t.Update(At(2, row), new[] { Row(50003, 80, 42, TcpState.Closed, 7, 8) }, false, null));
            Assert.Equal(ConnectionChange.Opened, opened.Change);
            Assert.False(opened.BetweenSamples);
            Assert.Equal(1, t.Deferred);
            var closed = Assert.Single(t.Update(At(4), null, false, null));
            Assert.Equal(ConnectionChange.Closed, closed.Change);
            Assert.True(closed.FinalCounters);
            Assert.Equal((7L, 8L), (closed.Connection.BytesSent.Value, closed.Connection.BytesReceived.Value));
            Assert.Equal(0, t.Deferred);
        }

        [Fact]
        public void ATimeWaitRemnantKeepsTheReportUntilItGoes()
        {
            // The active closer's socket is destroyed (reported with its owner) while a TIME_WAIT remnant with the same
            // cookie and no owner stays in the table for a minute: one connection, closed when the remnant goes.
            var t = new ConnectionTracker();
            t.Update(At(0, Row(50004, 81, 42, TcpState.Established, 1, 1)), null, false, null);
            var report = Row(50004, 81, 42, TcpState.Closed, 300, 400);
            var changed = Assert.Single(t.Update(At(2, Row(50004, 81, null, TcpState.TimeWait, null, null)), new[] { report }, false, null));
            Assert.Equal(ConnectionChange.StateChanged, changed.Change);
            Assert.Empty(t.Update(At(4, Row(50004, 81, null, TcpState.TimeWait, null, null)), null, false, null));
            var closed = Assert.Single(t.Update(At(62), null, false, null));
            Assert.Equal(ConnectionChange.Closed, closed.Change);
            Assert.True(closed.FinalCounters);
            Assert.Equal(300L, closed.Connection.BytesSent);
            // Closed names the process that owned the connection while it moved those bytes, not the remnant's nobody.
            Assert.Equal(42, closed.Connection.ProcessId);
            Assert.Equal("p42", closed.Connection.ProcessName);
        }

        [Fact]
        public void AnOwnerlessRowThatIsNoRemnantGetsNoFormerOwner()
        {
            // A remnant, then the endpoints reused by a connection nobody can be named for (another user's, unprivileged):
            // its Closed must not borrow the first connection's owner.
            var t = new ConnectionTracker();
            t.Update(At(0, Row(50005, 82, 42, TcpState.Established, 1, 1)), null, false, null);
            t.Update(At(2, Row(50005, 82, null, TcpState.TimeWait, null, null)), null, false, null);
            t.Update(At(4, Row(50005, 83, null, TcpState.Established, 5, 5)), null, false, null);
            var closed = Assert.Single(t.Update(At(6), null, false, null), e => e.Change == ConnectionChange.Closed);
            Assert.Null(closed.Connection.ProcessId);
            Assert.Null(closed.Connection.ProcessName);
        }

        [Fact]
        public void ARemnantUnderAnotherCookieIsTheReportedConnection()
        {
            // A connection no read saw: its socket got a cookie only when destroyed, after its TIME_WAIT remnant was made.
            var t = new ConnectionTracker();
            t.Update(At(0), null, false, null);
            var remnant = Row(50010, 90, null, TcpState.TimeWait, null, null);
            var opened = Assert.Single(t.Update(At(2, remnant), new[] { Row(50010, 89, null, TcpState.Closed, 70, 80) }, false, null));
            Assert.Equal(ConnectionChange.Opened, opened.Change);
            Assert.Same(remnant, opened.Connection);
            var closed = Assert.Single(t.Update(At(62), null, false, null));
            Assert.True(closed.FinalCounters);
            Assert.Equal((70L, 80L), (closed.Connection.BytesSent.Value, closed.Connection.BytesReceived.Value));
        }

        [Fact]
        public void TheBaselineTurnsNoReportIntoEventsAndTheFilterDecidesForUnseenOnes()
        {
            var t = new ConnectionTracker();
            Assert.Empty(t.Update(At(0), new[] { Row(50005, 82, null, TcpState.Closed, 1, 1) }, true, null));
            var unwanted = Row(50006, 83, null, TcpState.Closed, 1, 1);
            var wanted = Row(50007, 84, null, TcpState.Closed, 1, 1);
            var events = t.Update(At(2), new[] { unwanted, wanted }, false, r => r.LocalPort == 50007);
            Assert.Equal(2, events.Count);
            Assert.All(events, e => Assert.Same(wanted, e.Connection));
        }

        [Fact]
        public void AReusedFourTupleIsAnotherSocket()
        {
            // Same endpoints, another cookie: the old connection closes (no report of its own), the report is a new one.
            var t = new ConnectionTracker();
            t.Update(At(0, Row(50008, 85, 42, TcpState.Established, 1, 1)), null, false, null);
            var events = t.Update(At(2), new[] { Row(50008, 86, null, TcpState.Closed, 9, 9) }, false, null);
            Assert.Equal(3, events.Count);
            var old = Assert.Single(events, e => !e.BetweenSamples);
            Assert.Equal(ConnectionChange.Closed, old.Change);
            Assert.False(old.FinalCounters);
            Assert.Equal(2, events.Count(e => e.BetweenSamples));
        }

        [Fact]
        public void WithoutReportsTheTrackerIsAsBefore()
        {
            var t = new ConnectionTracker();
            var a = Row(50009, 0, 1, TcpState.Established, null, null);
            t.Update(At(0, a));
            var closed = Assert.Single(t.Update(At(2)));
            Assert.Equal(ConnectionChange.Closed, closed.Change);
            Assert.False(closed.FinalCounters);
            Assert.False(closed.BetweenSamples);
            Assert.Same(a, closed.Connection);
        }
    }
}
