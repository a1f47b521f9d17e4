using System;
using System.Net;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;
using Xunit;

namespace ConnectionsMonitor.Tests.Session
{
    /// <summary>The final counts of an actively closed socket reach its TIME_WAIT remnant, and only that row.</summary>
    public sealed class RemnantCountersTests
    {
        private static readonly IPAddress Lo = IPAddress.Loopback;

        private static SocketEntry Report(int localPort, int remotePort, long? sent, long? received) =>
            new SocketEntry { Protocol = TransportProtocol.Tcp, LocalAddress = Lo, LocalPort = localPort, RemoteAddress = Lo, RemotePort = remotePort, State = TcpState.Closed, BytesSent = sent, BytesReceived = received };

        private static ConnectionRecord Row(int localPort, int remotePort, TcpState state, int? pid = null) =>
            new ConnectionRecord { Protocol = TransportProtocol.Tcp, LocalAddress = Lo, LocalPort = localPort, RemoteAddress = Lo, RemotePort = remotePort, State = state, ProcessId = pid };

        private static ConnectionSnapshot Snap(params ConnectionRecord[] rows) => new ConnectionSnapshot(DateTime.UtcNow, rows, new string[0]);

        [Fact]
        public void ARemnantGetsItsSocketsFinalCountsAndOtherRowsAreLeftAlone()
        {
            var remnants = new RemnantCounters();
            remnants.Add(new[] { Report(40000, 80, 1234, 5678), Report(40001, 80, 1, 2), Report(40002, 0, 9, 9) /* abortive: no remote port */ });
            Assert.Equal(2, remnants.Count);
            var remnant = Row(40000, 80, TcpState.TimeWait);
            var owned = Row(40001, 80, TcpState.TimeWait, pid: 42);        // has an owner: a live socket, not a remnant
            var other = Row(40003, 80, TcpState.TimeWait);                 // no report for it
            remnants.Fill(new[] { Snap(remnant, owned, other) });
            Assert.Equal((1234L, 5678L), (remnant.BytesSent.Value, remnant.BytesReceived.Value));
            Assert.Null(owned.BytesSent);
            Assert.Null(other.BytesSent);
        }

        [Fact]
        public void CountsOfItsOwnAreKept()
        {
            var remnants = new RemnantCounters();
            remnants.Add(new[] { Report(40000, 80, 1234, 5678) });
            var finWait = Row(40000, 80, TcpState.FinWait2);
            finWait.BytesSent = 99;
            remnants.Fill(new[] { Snap(finWait) });
            Assert.Equal(99L, finWait.BytesSent);
            Assert.Null(finWait.BytesReceived);
        }

        [Fact]
        public void AReportWaitsOneReadForItsRemnantAndIsForgottenAfterTwoWithout()
        {
            var remnants = new RemnantCounters();
            remnants.Add(new[] { Report(40000, 80, 10, 20) });
            remnants.Fill(new[] { Snap(Row(40000, 80, TcpState.Established, pid: 7)) }); // closed after this read
            Assert.Equal(1, remnants.Count);
            var later = Row(40000, 80, TcpState.TimeWait);
            remnants.Fill(new[] { Snap(later) });
            Assert.Equal(10L, later.BytesSent);
            var again = Row(40000, 80, TcpState.TimeWait); // every read makes new rows: each gets the counts
            remnants.Fill(new[] { Snap(again) });
            Assert.Equal(20L, again.BytesReceived);
            remnants.Fill(new[] { Snap() });
            Assert.Equal(1, remnants.Count);
            remnants.Fill(new[] { Snap() });
            Assert.Equal(0, remnants.Count); // the remnant went: memory follows the table
        }
    }
}
