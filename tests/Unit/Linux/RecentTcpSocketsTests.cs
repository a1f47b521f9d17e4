using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>The reads' memory of TCP rows by cookie, for the destroy listener: kept only while something listens.</summary>
    public class RecentTcpSocketsTests
    {
        private static List<SocketEntry> Rows() => new List<SocketEntry>
        {
            new SocketEntry { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, LocalPort = 80, State = TcpState.Established, ProcessId = 42, SockDiagCookie = 7 },
            new SocketEntry { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, LocalPort = 81, State = TcpState.Listen, ProcessId = 43, SockDiagCookie = 8 },
        };

        [Fact]
        public void ReadsRememberRowsOnlyWhileTheListenerRuns()
        {
            bool listening = false;
            var recent = new RecentTcpSockets();
            recent.Remember(Rows()); // nobody asked: nothing kept
            Assert.Equal(0, recent.Count);

            recent.Wanted = () => listening;
            recent.Remember(Rows());
            Assert.Equal(0, recent.Count);

            listening = true;
            recent.Remember(Rows());
            Assert.True(recent.TryGet(7, out var known));
            Assert.Equal(42, known.ProcessId);
            Assert.True(recent.TryGet(8, out known));
            Assert.True(known.Listening);

            listening = false; // the listener stopped: the next read forgets it all
            recent.Remember(Rows());
            Assert.Equal(0, recent.Count);
            Assert.False(recent.TryGet(7, out _));
        }
    }
}
