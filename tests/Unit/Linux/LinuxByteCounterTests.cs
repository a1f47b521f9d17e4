using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>Byte counters on real loopback sockets: exact to the byte, both ends, both directions.</summary>
    [Collection(LinuxSocketsCollection.Name)]
    public class LinuxByteCounterTests
    {
        private static readonly int Me = Environment.ProcessId;
        private static readonly ConnectionQuery TcpOnly = new ConnectionQuery { Protocols = new[] { TransportProtocol.Tcp }, ResolveOwners = false };

        private static SocketEntry Row(IEnumerable<SocketEntry> rows, int localPort, int remotePort) =>
            rows.Single(e => e.Protocol == TransportProtocol.Tcp && e.LocalPort == localPort && e.RemotePort == remotePort);

        [LinuxTheory]
        [InlineData(1, 7, false)]
        [InlineData(65_536, 1, false)]
        [InlineData(10_000_000, 65_536, false)]
        [InlineData(33_554_432, 10_000_000, false)]
        public Task BothEndsCountExactlyWhatMoved(int clientSends, int serverSends, bool ipv6) => CountExactly(clientSends, serverSends, ipv6);

        // Its own fact: on a machine without IPv6 it is skipped, saying so, rather than passing without a look.
        [IPv6Fact]
        public Task BothEndsCountExactlyWhatMovedOverIPv6() => CountExactly(33_554_432, 1, ipv6: true);

        private async Task CountExactly(int clientSends, int serverSends, bool ipv6)
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            using var pair = new TcpPair(ipv6);
            var fresh = table.Read(TcpOnly).Entries;
            Assert.Equal(0L, Row(fresh, pair.ClientPort, pair.ListenPort).BytesSent);   // the SYN is not payload
            Assert.Equal(0L, Row(fresh, pair.ListenPort, pair.ClientPort).BytesReceived);

            await pair.ExchangeAsync(clientSends, serverSends);

            // Reading is done once the last ACKs are in: poll until the counters reach the amounts.
            SocketEntry client = null, server = null;
            LoopbackSockets.WaitUntil(() =>
            {
                var rows = table.Read(TcpOnly).Entries;
                client = Row(rows, pair.ClientPort, pair.ListenPort);
                server = Row(rows, pair.ListenPort, pair.ClientPort);
                return client.BytesSent == clientSends && server.BytesSent == serverSends;
            }, 20_000);
            Assert.Equal(clientSends, client.BytesSent);
            Assert.Equal(serverSends, client.BytesReceived);
            Assert.Equal(serverSends, server.BytesSent);
            Assert.Equal(clientSends, server.BytesReceived);
            Assert.Null(Row(table.Read(TcpOnly).Entries.Where(e => e.State == TcpState.Listen), pair.ListenPort, 0).BytesSent);
        }

        [LinuxFact]
        public async Task HalfClosedConnectionDoesNotCountTheFinAsPayload()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            using var pair = new TcpPair();
            await pair.ExchangeAsync(1000, 7);
            pair.Client.Shutdown(SocketShutdown.Send);
            SocketEntry client = null, server = null;
            LoopbackSockets.WaitUntil(() =>
            {
                var rows = table.Read(TcpOnly).Entries;
                client = Row(rows, pair.ClientPort, pair.ListenPort);
                server = Row(rows, pair.ListenPort, pair.ClientPort);
                return client.State == TcpState.FinWait2 && server.State == TcpState.CloseWait;
            });
            Assert.Equal(1000L, client.BytesSent);     // kernel: bytes_acked 1002 (SYN and FIN)
            Assert.Equal(7L, client.BytesReceived);
            Assert.Equal(7L, server.BytesSent);
            Assert.Equal(1000L, server.BytesReceived); // kernel: bytes_received 1001 (FIN)
        }

        [LinuxFact]
        public async Task UdpListenersAndProcNetHaveNoCounters()
        {
            using var sockets = new LoopbackSockets();
            sockets.UdpConnected.Send(new byte[100]);
            await TcpPair.ExchangeAsync(sockets.Client, sockets.Server, 10, 20);
            using var diag = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            using var proc = new LinuxConnectionTable(LinuxTableMode.ProcNet);
            LoopbackSockets.WaitUntil(() => diag.Read(new ConnectionQuery()).Entries
                .Any(e => sockets.IsOurs(e) && e.LocalPort == sockets.ClientPort && e.BytesSent == 10));

            var ours = diag.Read(new ConnectionQuery()).Entries.Where(sockets.IsOurs).ToList();
            Assert.All(ours.Where(e => e.Protocol == TransportProtocol.Udp), e => { Assert.Null(e.BytesSent); Assert.Null(e.BytesReceived); });
            Assert.All(ours.Where(e => e.State == TcpState.Listen), e => { Assert.Null(e.BytesSent); Assert.Null(e.BytesReceived); });
            Assert.Equal(2, ours.Count(e => e.State == TcpState.Established && e.BytesSent != null && e.BytesReceived != null));

            Assert.All(proc.Read(new ConnectionQuery()).Entries, e => { Assert.Null(e.BytesSent); Assert.Null(e.BytesReceived); });
        }

        [LinuxFact]
        public void TimeWaitHasNoCounters()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            var pair = new TcpPair();
            int clientPort = pair.ClientPort, listenPort = pair.ListenPort;
            pair.Client.Dispose(); // active close: the client's half ends in TIME_WAIT
            pair.Dispose();
            SocketEntry tw = null;
            LoopbackSockets.WaitUntil(() => (tw = table.Read(TcpOnly).Entries.FirstOrDefault(e =>
                e.LocalPort == clientPort && e.RemotePort == listenPort && e.State == TcpState.TimeWait)) != null);
            Assert.Null(tw.BytesSent);
            Assert.Null(tw.BytesReceived);
        }

        [LinuxFact]
        public void CountersCanBeSwitchedOff()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag) { ReadByteCounters = false };
            using var pair = new TcpPair();
            Assert.All(table.Read(TcpOnly).Entries, e => Assert.Null(e.BytesSent));
        }

        // ---- closed-connection feed ----

        private static (SocketEntry client, SocketEntry server) WaitForClosed(LinuxClosedConnectionFeed feed, TcpPair pair, List<SocketEntry> all)
        {
            SocketEntry client = null, server = null;
            LoopbackSockets.WaitUntil(() =>
            {
                all.AddRange(feed.DrainClosed());
                client = all.SingleOrDefault(e => e.LocalPort == pair.ClientPort && e.RemotePort == pair.ListenPort);
                server = all.SingleOrDefault(e => e.LocalPort == pair.ListenPort && e.RemotePort == pair.ClientPort);
                return client != null && server != null;
            });
            return (client, server);
        }

        [LinuxFact]
        public async Task ClosedConnectionsArriveWithFinalCountersAndOwner()
        {
            using var platform = new LinuxPlatform(LinuxTableMode.SockDiag);
            var table = (LinuxConnectionTable)platform.Connections;
            var feed = (LinuxClosedConnectionFeed)platform.ClosedConnections;
            Assert.Null(feed.Start());
            Assert.Null(feed.Start()); // idempotent
            feed.DrainClosed();

            var pair = new TcpPair();
            table.Read(new ConnectionQuery()); // attributes both ends to this process
            await pair.ExchangeAsync(250_000, 3_000_001);
            pair.Client.Dispose();
            // A read while the server holds the client's FIN (CLOSE_WAIT) is what lets its final count leave
            // the FIN out. The server closes only once the client's socket is gone (its FIN acknowledged, the
            // rest left to a TIME_WAIT minisocket), so the server's FIN cannot reach the full client socket.
            var all = new List<SocketEntry>();
            LoopbackSockets.WaitUntil(() => table.Read(new ConnectionQuery()).Entries
                .Any(e => e.LocalPort == pair.ListenPort && e.RemotePort == pair.ClientPort && e.State == TcpState.CloseWait));
            LoopbackSockets.WaitUntil(() =>
            {
                all.AddRange(feed.DrainClosed());
                return all.Any(e => e.LocalPort == pair.ClientPort && e.RemotePort == pair.ListenPort);
            });
            pair.Dispose();

            var (client, server) = WaitForClosed(feed, pair, all);
            Assert.Equal(250_000L, client.BytesSent);
            Assert.Equal(3_000_001L, client.BytesReceived);
            Assert.Equal(3_000_001L, server.BytesSent);
            Assert.Equal(250_000L, server.BytesReceived);
            Assert.Equal(Me, client.ProcessId);
            Assert.Equal(Me, server.ProcessId);
            Assert.Equal(TcpState.Closed, client.State);
            Assert.Equal(IPAddress.Loopback, client.LocalAddress);
            Assert.Null(client.Inode); // the kernel reports inode 0 for a destroyed socket
            Assert.DoesNotContain(all, e => e.LocalPort == pair.ListenPort && e.RemotePort == 0); // the listener moved nothing
            Assert.DoesNotContain(feed.DrainClosed(), e => e.LocalPort == pair.ListenPort || e.LocalPort == pair.ClientPort);
            Assert.Equal(0, feed.Dropped);
        }

        [LinuxFact]
        public async Task ConnectionClosedEntirelyBetweenTwoReads()
        {
            // Both ends close between reads. Sent counts stay exact; received counts hold the peer's FIN
            // when it arrived after the last read (a destroyed socket's state is CLOSE whatever happened):
            // the passive closer always got one, the active closer did when the peer's FIN came with the
            // ACK of its own.
            using var platform = new LinuxPlatform(LinuxTableMode.SockDiag);
            var table = (LinuxConnectionTable)platform.Connections;
            var feed = (LinuxClosedConnectionFeed)platform.ClosedConnections;
            Assert.Null(feed.Start());
            var pair = new TcpPair(Socket.OSSupportsIPv6);
            table.Read(new ConnectionQuery());
            await pair.ExchangeAsync(65_536, 1);
            pair.Dispose();

            var (client, server) = WaitForClosed(feed, pair, new List<SocketEntry>());
            Assert.Equal(65_536L, client.BytesSent);
            Assert.InRange(client.BytesReceived.Value, 1L, 2L);
            Assert.Equal(1L, server.BytesSent);
            Assert.Equal(65_536L + 1, server.BytesReceived);
            Assert.Equal(Me, client.ProcessId);
            Assert.Equal(Me, server.ProcessId);
            Assert.DoesNotContain(feed.DrainClosed(), e => e.LocalPort == pair.ClientPort || e.LocalPort == pair.ListenPort);
        }

        [LinuxFact]
        public async Task ConnectionNeverSeenByAReadComesWithoutOwner()
        {
            using var platform = new LinuxPlatform(LinuxTableMode.SockDiag);
            var feed = (LinuxClosedConnectionFeed)platform.ClosedConnections;
            Assert.Null(feed.Start());
            var pair = new TcpPair();
            await pair.ExchangeAsync(10, 10);
            pair.Dispose();
            var (client, server) = WaitForClosed(feed, pair, new List<SocketEntry>());
            Assert.Null(client.ProcessId);
            Assert.Equal(10L, client.BytesSent);
            Assert.Equal(10L, server.BytesSent);
        }

        [LinuxFact]
        public void WithoutPrivilegeStartGivesOneClearReason()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            int opens = 0;
            using var feed = new LinuxClosedConnectionFeed(table.Recent)
            {
                OpenSubscription = () => { opens++; throw new NetlinkException("Cannot subscribe to sock_diag destroy events: Operation not permitted (errno 1)", 1); },
            };
            string reason = feed.Start();
            Assert.NotNull(reason);
            Assert.StartsWith("Traffic of connections that close between samples is counted only when running as root (CAP_NET_ADMIN)", reason);
            Assert.DoesNotContain("\n", reason);
            Assert.Equal(reason, feed.Start());
            Assert.Equal(1, opens);
            feed.Stop(); // its last reader went: a refusal is not retried when the next comes
            Assert.Equal(reason, feed.Start());
            Assert.Equal(1, opens);
            Assert.False(feed.IsRunning);
            Assert.Empty(feed.DrainClosed());
        }

        [LinuxFact]
        public void OtherFailuresSayWhatFailed()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            using var feed = new LinuxClosedConnectionFeed(table.Recent)
            {
                OpenSubscription = () => throw new NetlinkException("Cannot open a netlink sock_diag socket: Address family not supported by protocol (errno 97)", 97),
            };
            Assert.Equal("Traffic of connections that close between samples is not counted: Cannot open a netlink sock_diag socket: Address family not supported by protocol (errno 97)", feed.Start());
        }

        [LinuxFact]
        public void AnIdleListenerSleepsUntilAReportComesOrAStopWakesIt()
        {
            using var platform = new LinuxPlatform(LinuxTableMode.SockDiag);
            var feed = (LinuxClosedConnectionFeed)platform.ClosedConnections;
            Assert.Null(feed.Start());
            Assert.True(System.Threading.SpinWait.SpinUntil(() => feed.ThreadId != 0, 5000));
            // A thread that polled on a timer to see a stop woke five times a second for nothing.
            System.Threading.Thread.Sleep(2000);
            Assert.Equal(0, feed.PollTimeouts);
            Assert.True(Directory.Exists("/proc/self/task/" + feed.ThreadId));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            feed.Stop();
            Assert.InRange(clock.ElapsedMilliseconds, 0, 8000); // the wake is at once; without it the 10 s safety poll
            Assert.False(feed.IsRunning);
            Assert.Equal(0, feed.ThreadId);
        }

        [LinuxFact]
        public void DisposeStopsTheListener()
        {
            var platform = new LinuxPlatform();
            var feed = (LinuxClosedConnectionFeed)platform.ClosedConnections;
            Assert.Null(feed.Start());
            Assert.True(feed.IsRunning);
            feed.Stop();
            Assert.False(feed.IsRunning);
            Assert.Null(feed.Start()); // stopped, not disposed: it starts again
            Assert.True(feed.IsRunning);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            platform.Dispose();
            Assert.InRange(sw.ElapsedMilliseconds, 0, 2000);
            Assert.Throws<ObjectDisposedException>(() => feed.Start());
            feed.Stop(); // after Dispose: nothing to do
            Assert.Empty(feed.DrainClosed());
        }
    }
}
