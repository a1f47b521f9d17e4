using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Tracking;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Tracking
{
    public class ConnectionTrackerTests
    {
        /// <summary>A real connection's life, seen from its accepting end: opened, peer closes (CLOSE_WAIT), closed.</summary>
        [LinuxFact]
        public void RealSocketYieldsOpenedStateChangedClosed()
        {
            using var engine = new MonitorEngine(PlatformServices.CreateForCurrentOS());
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(4);
            int port = ((IPEndPoint)listener.LocalEndPoint).Port;
            // Only the accepted end: local port = the listener's, a peer, this process.
            var filter = new ConnectionQuery
            {
                LocalPorts = new[] { new PortRange(port, port) },
                ProcessIds = new[] { Environment.ProcessId },
                States = Enum.GetValues(typeof(TcpState)).Cast<TcpState>().Where(s => s != TcpState.Listen).ToList(),
            };
            var tracker = new ConnectionTracker();
            var events = new List<ConnectionEvent>();
            void Step() => events.AddRange(tracker.Update(engine.TakeSnapshot(filter)));

            Step(); // baseline: nothing yet
            Assert.Empty(events);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(new IPEndPoint(IPAddress.Loopback, port));
            var server = listener.Accept();
            int clientPort = ((IPEndPoint)client.LocalEndPoint).Port;
            Step();
            client.Dispose(); // the peer closes: our end goes to CLOSE_WAIT
            LoopbackSockets.WaitUntil(() => engine.TakeSnapshot(filter).Connections.Any(c => c.State == TcpState.CloseWait));
            Step();
            server.Dispose();
            LoopbackSockets.WaitUntil(() => engine.TakeSnapshot(filter).Connections.Count == 0);
            Step();

            Assert.Equal(new[] { ConnectionChange.Opened, ConnectionChange.StateChanged, ConnectionChange.Closed }, events.Select(e => e.Change));
            Assert.All(events, e => Assert.Equal(port, e.Connection.LocalPort));
            Assert.All(events, e => Assert.Equal(clientPort, e.Connection.RemotePort));
            Assert.All(events, e => Assert.Equal(Environment.ProcessId, e.Connection.ProcessId));
            Assert.Equal(TcpState.Established, events[0].Connection.State);
            Assert.Equal(TcpState.Established, events[1].PreviousState);
            Assert.Equal(TcpState.CloseWait, events[1].Connection.State);
            Assert.NotNull(events[0].Connection.FirstSeenUtc); // appeared while watched: it has an age
            Assert.Equal(events[0].Connection.FirstSeenUtc, events[1].Connection.FirstSeenUtc);
        }

        private static ConnectionSnapshot Snap(params ConnectionRecord[] rows) => new ConnectionSnapshot(DateTime.UtcNow, rows, new string[0]);

        private static ConnectionRecord Row(int port, TcpState state)
        {
            var e = new SocketEntry { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, LocalPort = port, RemoteAddress = IPAddress.Loopback, RemotePort = 1, State = state, ProcessId = 1, Inode = (ulong)port };
            return new ConnectionRecord { Key = ConnectionKey.Of(e), LocalPort = port, State = state, ProcessId = 1 };
        }

        [Fact]
        public void BaselineIsSilentUnlessExistingAreReportedAndHasNoAge()
        {
            var quiet = new ConnectionTracker();
            Assert.Empty(quiet.Update(Snap(Row(1, TcpState.Established))));
            var loud = new ConnectionTracker();
            var events = loud.Update(Snap(Row(1, TcpState.Established), Row(2, TcpState.Listen)), reportExistingAsOpened: true);
            Assert.Equal(2, events.Count(e => e.Change == ConnectionChange.Opened));
            Assert.All(events, e => Assert.Null(e.Connection.FirstSeenUtc)); // existed before: age unknown
        }

        [Fact]
        public void SteadySamplesThenOneCloseAndOneOpenGiveExactlyThoseEvents()
        {
            // Steady samples reuse the tracker's tables (and skip the search for closed rows): the
            // change after them must still be seen exactly, and a same-size swap is not "steady".
            var tracker = new ConnectionTracker();
            Assert.Empty(tracker.Update(Snap(Row(1, TcpState.Established), Row(2, TcpState.Established))));
            Assert.Empty(tracker.Update(Snap(Row(1, TcpState.Established), Row(2, TcpState.Established))));
            Assert.Empty(tracker.Update(Snap(Row(2, TcpState.Established), Row(1, TcpState.Established), Row(1, TcpState.Established))));
            var events = tracker.Update(Snap(Row(1, TcpState.Established), Row(3, TcpState.Established)));
            Assert.Equal(new[] { "Opened 3", "Closed 2" }, events.Select(e => e.Change + " " + e.Connection.LocalPort).ToArray());
            var state = Assert.Single(tracker.Update(Snap(Row(1, TcpState.CloseWait), Row(3, TcpState.Established))));
            Assert.Equal(ConnectionChange.StateChanged, state.Change);
            Assert.Equal(TcpState.Established, state.PreviousState);
            Assert.Equal(2, tracker.Count);
        }

        [Fact]
        public void MemoryFollowsTheTableOverAMillionConnections()
        {
            var tracker = new ConnectionTracker();
            int opened = 0, closed = 0;
            for (int round = 0; round < 1000; round++)
            {
                var rows = Enumerable.Range(round * 1000, 1000).Select(p => Row(p, TcpState.Established)).ToArray();
                foreach (var e in tracker.Update(Snap(rows)))
                {
                    if (e.Change == ConnectionChange.Opened) opened++;
                    if (e.Change == ConnectionChange.Closed) closed++;
                }
                Assert.Equal(1000, tracker.Count);
            }
            Assert.Equal(999_000, opened);
            Assert.Equal(999_000, closed);
        }
    }
}
