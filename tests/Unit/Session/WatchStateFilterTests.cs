using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Tracking;
using ConnectionsMonitor.Tests.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Session
{
    /// <summary>
    /// A watch's -State filter applies to events: a connection in one of the states, or in one before the change; under
    /// Established, also a connection no sample saw established that got past it (a newcomer's trial: an audit log of
    /// `Watch-Connection -State Established` lost every connection shorter than the interval).
    /// </summary>
    [Collection(SamplerThreads.Name)]
    public sealed class WatchStateFilterTests
    {
        private static readonly TcpState[] Established = { TcpState.Established };

        private static ConnectionEvent Event(ConnectionChange change, TcpState? state, TcpState? previous = null, long? sent = null, long? received = null,
            TransportProtocol protocol = TransportProtocol.Tcp, bool betweenSamples = false)
        {
            var r = new ConnectionRecord
            {
                Protocol = protocol, LocalAddress = IPAddress.Loopback, LocalPort = 8080, RemoteAddress = IPAddress.Loopback, RemotePort = 50000,
                State = state, BytesSent = sent, BytesReceived = received,
            };
            return new ConnectionEvent(change, DateTime.UtcNow, r, previous, betweenSamples, betweenSamples && change == ConnectionChange.Closed);
        }

        [Theory]
        [InlineData(TcpState.FinWait1)]
        [InlineData(TcpState.FinWait2)]
        [InlineData(TcpState.CloseWait)]
        [InlineData(TcpState.Closing)]
        [InlineData(TcpState.LastAck)]
        [InlineData(TcpState.TimeWait)]
        public void UnderEstablishedAConnectionFirstSeenPastItIsWritten(TcpState state)
        {
            Assert.True(MonitorSession.MatchesStates(Established, Event(ConnectionChange.Opened, state)));
            Assert.True(MonitorSession.MatchesStates(Established, Event(ConnectionChange.Closed, state)));
            // Only Established implies the states before it were passed: -State SynSent does not take a TimeWait row.
            Assert.False(MonitorSession.MatchesStates(new[] { TcpState.SynSent }, Event(ConnectionChange.Opened, state)));
        }

        [Fact]
        public void AConnectionClosedBetweenSamplesCountsAsEstablishedOnlyWhenItMovedBytes()
        {
            Assert.True(MonitorSession.MatchesStates(Established, Event(ConnectionChange.Closed, TcpState.Closed, sent: 7001, received: 0, betweenSamples: true)));
            Assert.True(MonitorSession.MatchesStates(Established, Event(ConnectionChange.Opened, TcpState.Closed, sent: 0, received: 1, betweenSamples: true)));
            // A refused or timed-out attempt moved nothing: it never was established.
            Assert.False(MonitorSession.MatchesStates(Established, Event(ConnectionChange.Closed, TcpState.Closed, sent: 0, received: 0, betweenSamples: true)));
            Assert.False(MonitorSession.MatchesStates(Established, Event(ConnectionChange.Closed, TcpState.Closed, betweenSamples: true)));
            // A connection that listened, or is still opening, or is UDP, is not one.
            Assert.False(MonitorSession.MatchesStates(Established, Event(ConnectionChange.Opened, TcpState.Listen)));
            Assert.False(MonitorSession.MatchesStates(Established, Event(ConnectionChange.Opened, TcpState.SynSent)));
            Assert.False(MonitorSession.MatchesStates(Established, Event(ConnectionChange.Opened, null, sent: 5, received: 5, protocol: TransportProtocol.Udp)));
            // What was there before: the state now or the one before the change.
            Assert.True(MonitorSession.MatchesStates(new[] { TcpState.Listen }, Event(ConnectionChange.Opened, TcpState.Listen)));
            Assert.True(MonitorSession.MatchesStates(new[] { TcpState.SynSent }, Event(ConnectionChange.StateChanged, TcpState.Established, previous: TcpState.SynSent)));
            Assert.True(MonitorSession.MatchesStates(null, Event(ConnectionChange.Opened, TcpState.Listen)));
        }

        [LinuxFact]
        public async Task AWatchOfEstablishedConnectionsWritesOneThatOpenedAndClosedBetweenTwoSamples()
        {
            using var session = new MonitorSession(new MonitorSessionOptions());
            Assert.Null(session.ClosingsLimitation()); // root here: the kernel's closing reports are heard
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            int listenPort = ((IPEndPoint)listener.LocalEndPoint).Port;
            using var baseline = new ManualResetEventSlim();
            var options = new WatchOptions { Interval = TimeSpan.FromSeconds(2), Duration = TimeSpan.FromSeconds(20), Count = 3, BaselineTaken = (_, _) => baseline.Set() };
            var query = new ConnectionQuery { Ports = new[] { new PortRange(listenPort, listenPort) }, States = Established };
            var watch = Task.Run(() => session.Watch(query, options, CancellationToken.None, null).ToList());
            Assert.True(baseline.Wait(TimeSpan.FromSeconds(15)), "no baseline within 15 s");

            // Connected, moved bytes and closed well within one interval: no sample sees it established.
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(listener.LocalEndPoint);
            int clientPort = ((IPEndPoint)client.LocalEndPoint).Port;
            using var server = listener.Accept();
            await TcpPair.ExchangeAsync(client, server, 1_234, 567);
            client.Close();
            Assert.Equal(0, server.Receive(new byte[1])); // the client's FIN
            server.Close();

            var events = await watch;
            var serverEnd = events.Where(e => e.Connection.LocalPort == listenPort && e.Connection.RemotePort == clientPort).ToList();
            Assert.Equal(new[] { ConnectionChange.Opened, ConnectionChange.Closed }, serverEnd.Select(e => e.Change));
            Assert.All(serverEnd, e => Assert.True(e.BetweenSamples));
            Assert.Equal(567L, serverEnd[1].Connection.BytesSent);
            var clientEnd = Assert.Single(events, e => e.Connection.LocalPort == clientPort);
            Assert.Equal(ConnectionChange.Opened, clientEnd.Change);
            Assert.Equal(TcpState.TimeWait, clientEnd.Connection.State);
        }
    }
}
