using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.History;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Tracking;
using ConnectionsMonitor.Engine.Traffic;
using ConnectionsMonitor.Tests.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Session
{
    /// <summary>
    /// Connections that open and close between two samples of the session's sampler, on real loopback sockets with the
    /// real platform (sock_diag destroy events as root): every subscriber gets them, with the kernel's final byte counts.
    /// Each connection ends as an HTTP/1.0 request does: the client closes first, the server reads the end and closes.
    /// So the server's end (the passive closer) is destroyed at once and is what the closing reports carry; the client's
    /// end stays a minute as a TIME_WAIT remnant under the same kernel cookie, which the table shows (no owner, no
    /// counters) and which closes when it goes. Sent counts are exact (bytes_acked less the FIN); a destroyed socket's
    /// received count includes the peer's FIN unless a read saw it in CLOSE_WAIT (tcp_info cannot tell), so received
    /// counts are the bytes or one more. (An abortive close, SO_LINGER 0, is not reported at all: measured, the kernel
    /// reports such a socket with remote port 0, as one that never connected.)
    /// </summary>
    [Collection(SamplerThreads.Name)]
    public sealed class BetweenSamplesTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-between-" + Guid.NewGuid().ToString("N"));
        private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        /// <summary>Moves exactly <paramref name="clientSends"/> and <paramref name="serverSends"/> bytes; the client closes, the server reads the end and closes.</summary>
        private static async Task ExchangeAndClose(TcpPair pair, int clientSends, int serverSends)
        {
            await pair.ExchangeAsync(clientSends, serverSends);
            pair.Client.Close();
            Assert.Equal(0, pair.Server.Receive(new byte[1])); // the client's FIN
            pair.Dispose();
        }

        /// <summary>Events of samples taken until <paramref name="done"/> holds for what was collected (at most <paramref name="samples"/> samples).</summary>
        private static List<ConnectionEvent> Collect(SessionFeed feed, Func<List<ConnectionEvent>, bool> done, int samples = 3)
        {
            var all = new List<ConnectionEvent>();
            for (int i = 0; i < samples && !done(all); i++)
            {
                Assert.True(feed.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out var s), "no sample within 10 s");
                all.AddRange(s.Events);
            }
            return all;
        }

        private static List<ConnectionEvent> Of(List<ConnectionEvent> events, int localPort, int remotePort) =>
            events.Where(e => e.Connection.LocalPort == localPort && e.Connection.RemotePort == remotePort).ToList();

        [LinuxFact]
        public async Task ASubscriberGetsAConnectionThatOpenedAndClosedBetweenTwoSamplesWithExactBytes()
        {
            using var session = new MonitorSession(new MonitorSessionOptions());
            Assert.Null(session.ClosingsLimitation()); // root here: the destroy subscription works
            using var feed = session.Subscribe(new ConnectionQuery(), Interval);
            Assert.True(feed.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out _)); // the baseline

            var pair = new TcpPair();
            int clientPort = pair.ClientPort, listenPort = pair.ListenPort;
            await ExchangeAndClose(pair, 123_457, 7_001);

            var events = Collect(feed, e => Of(e, listenPort, clientPort).Count >= 2 && Of(e, clientPort, listenPort).Count >= 1);
            var server = Of(events, listenPort, clientPort);
            Assert.Equal(new[] { ConnectionChange.Opened, ConnectionChange.Closed }, server.Select(e => e.Change));
            Assert.All(server, e => Assert.True(e.BetweenSamples));
            Assert.True(server[1].FinalCounters);
            Assert.Equal(7_001L, server[1].Connection.BytesSent);
            Assert.InRange(server[1].Connection.BytesReceived.Value, 123_457L, 123_457L + 1); // + the client's FIN
            Assert.Equal(TcpState.Closed, server[1].Connection.State);
            Assert.Null(server[0].Connection.FirstSeenUtc); // no sample saw it open: unknown, not the sample's time
            Assert.Null(server[0].Connection.CreationTime);
            Assert.Equal(server[0].TimeStampUtc, server[1].TimeStampUtc);
            // The client's end is in the table as a TIME_WAIT remnant: seen, so an ordinary Opened, and its closing
            // report waits for the remnant to go rather than making a second connection of it.
            var client = Assert.Single(Of(events, clientPort, listenPort));
            Assert.Equal(ConnectionChange.Opened, client.Change);
            Assert.False(client.BetweenSamples);
            Assert.Equal(TcpState.TimeWait, client.Connection.State);
            // The remnant has no counters of its own (no tcp_info for a timewait socket): it carries its socket's final
            // ones from the closing report, so what the active closer moved is known now, not when the remnant goes.
            Assert.Equal(123_457L, client.Connection.BytesSent);
            Assert.InRange(client.Connection.BytesReceived.Value, 7_001L, 7_001L + 1); // + the server's FIN
            Assert.Null(client.Connection.ProcessId);

            // Nothing more about either end in the next sample.
            Assert.True(feed.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out var after));
            Assert.DoesNotContain(after.Events, e => e.Connection.LocalPort == clientPort || e.Connection.RemotePort == clientPort);
        }

        [LinuxFact]
        public async Task TheClosingsListenerStopsWithTheLastSubscriberAndHearsAgainWithTheNext()
        {
            using var session = new MonitorSession(new MonitorSessionOptions());
            var listener = (ConnectionsMonitor.Engine.Platform.Linux.LinuxClosedConnectionFeed)session.Engine.Platform.ClosedConnections;
            var table = (ConnectionsMonitor.Engine.Platform.Linux.LinuxConnectionTable)session.Engine.Platform.Connections;
            Assert.False(listener.IsRunning); // nothing asked yet
            using (var pair = new TcpPair())
            {
                var first = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(200));
                Assert.True(first.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out _));
                Assert.True(listener.IsRunning);
                Assert.True(SpinWait.SpinUntil(() => table.Recent.Count > 0, TimeSpan.FromSeconds(10)), "the reads remember no TCP row");
                first.Dispose();
                // No subscriber: the sampler ends, and with its reader of closings the listener's thread and socket, and the
                // reads' memory of rows that served it.
                // (The thread ends first and the memory is dropped just after: wait for both.)
                Assert.True(SpinWait.SpinUntil(() => !listener.IsRunning, TimeSpan.FromSeconds(5)), "the closings listener still runs without a subscriber");
                Assert.True(SpinWait.SpinUntil(() => table.Recent.Count == 0, TimeSpan.FromSeconds(5)), "the reads still remember " + table.Recent.Count + " rows after the listener stopped");
                session.Snapshot(new ConnectionQuery()); // a snapshot neither starts it nor makes the reads remember
                Assert.False(listener.IsRunning);
                Assert.Equal(0, table.Recent.Count);
            }

            // The next subscriber starts it afresh: a connection that opens and closes between its samples still reaches it.
            using var feed = session.Subscribe(new ConnectionQuery(), Interval);
            Assert.True(feed.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out _));
            Assert.True(listener.IsRunning);
            var again = new TcpPair();
            int clientPort = again.ClientPort, listenPort = again.ListenPort;
            await ExchangeAndClose(again, 4_321, 8_765);
            var events = Collect(feed, e => Of(e, listenPort, clientPort).Count >= 2);
            var server = Of(events, listenPort, clientPort);
            Assert.Equal(new[] { ConnectionChange.Opened, ConnectionChange.Closed }, server.Select(e => e.Change));
            Assert.True(server[1].FinalCounters);
            Assert.Equal(8_765L, server[1].Connection.BytesSent);
        }

        [LinuxFact]
        public async Task AWatchStartedAgainWithinTheMinuteStillGivesATimeWaitRemnantItsFinalCounts()
        {
            using var session = new MonitorSession(new MonitorSessionOptions());
            var listener = (ConnectionsMonitor.Engine.Platform.Linux.LinuxClosedConnectionFeed)session.Engine.Platform.ClosedConnections;
            int clientPort, listenPort;
            using (var first = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(500)))
            {
                Assert.True(first.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out _));
                var pair = new TcpPair();
                clientPort = pair.ClientPort;
                listenPort = pair.ListenPort;
                await ExchangeAndClose(pair, 2_345, 678);
                var seen = Collect(first, e => Of(e, clientPort, listenPort).Any(x => x.Connection.BytesSent != null), samples: 20);
                Assert.Equal(2_345L, Of(seen, clientPort, listenPort).Last().Connection.BytesSent);
            }
            // The sampler ends with its last subscriber (and the closings listener with it); the remnant stays a minute.
            Assert.True(SpinWait.SpinUntil(() => !session.IsSampling && !listener.IsRunning, TimeSpan.FromSeconds(5)), "the sampler did not stop");

            using var again = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(500));
            Assert.True(again.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out var baseline));
            var remnant = baseline.Snapshot.Connections.Single(r => r.LocalPort == clientPort && r.RemotePort == listenPort);
            Assert.Equal(TcpState.TimeWait, remnant.State);
            Assert.Equal(2_345L, remnant.BytesSent);                        // what the report said, kept across the restart
            Assert.InRange(remnant.BytesReceived.Value, 678L, 678L + 1);    // + the server's FIN
        }

        [LinuxFact]
        public async Task AConnectionSeenBySamplesClosesOnceWithTheBytesItMovedAfterTheLastSample()
        {
            using var session = new MonitorSession(new MonitorSessionOptions());
            using var feed = session.Subscribe(new ConnectionQuery(), Interval);
            Assert.True(feed.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out _));

            var pair = new TcpPair();
            int clientPort = pair.ClientPort, listenPort = pair.ListenPort;
            await pair.ExchangeAsync(1_000, 2_000);
            var opened = Collect(feed, e => Of(e, clientPort, listenPort).Any() && Of(e, listenPort, clientPort).Any());
            var seen = Assert.Single(Of(opened, clientPort, listenPort));
            Assert.Equal(ConnectionChange.Opened, seen.Change);
            Assert.False(seen.BetweenSamples);
            Assert.InRange(seen.Connection.BytesSent.Value, 0L, 1_000L); // what the sample saw (an ACK may have been on its way)
            // More traffic, then the end, before the next sample.
            await ExchangeAndClose(pair, 40_000, 50_000);

            var events = Collect(feed, e => Of(e, clientPort, listenPort).Any() && Of(e, listenPort, clientPort).Any());
            events.AddRange(Collect(feed, _ => false, samples: 1)); // and one sample more: no second Closed
            var server = Assert.Single(Of(events, listenPort, clientPort));
            Assert.Equal(ConnectionChange.Closed, server.Change);
            Assert.True(server.FinalCounters);
            Assert.False(server.BetweenSamples);
            Assert.Equal(52_000L, server.Connection.BytesSent); // the last sample saw 2,000 at most
            Assert.InRange(server.Connection.BytesReceived.Value, 41_000L, 41_000L + 1);
            Assert.Equal(TcpState.Established, server.Connection.State); // the state last sampled
            Assert.Equal(Environment.ProcessId, server.Connection.ProcessId); // its owner, as sampled
            Assert.NotNull(server.Connection.FirstSeenUtc);
            // The client's end became a TIME_WAIT remnant (no owner): the same connection, not a close and an open.
            var client = Assert.Single(Of(events, clientPort, listenPort));
            Assert.Equal(ConnectionChange.StateChanged, client.Change);
            Assert.Equal(TcpState.TimeWait, client.Connection.State);
            Assert.Equal(41_000L, client.Connection.BytesSent); // its final counts, from its socket's closing report
            Assert.InRange(client.Connection.BytesReceived.Value, 52_000L, 52_000L + 1);
        }

        [LinuxFact]
        public async Task TheHistoryRecordsTheLifeAndItsBytes()
        {
            string db = Path.Combine(_dir, "between.db");
            using var session = new MonitorSession(new MonitorSessionOptions());
            session.History.Start(db, new HistoryOptions(), Interval, null);
            Assert.True(SpinWait.SpinUntil(() => session.History.State.SamplesWritten >= 1, TimeSpan.FromSeconds(10)));
            long written = session.History.State.SamplesWritten;

            var pair = new TcpPair();
            int clientPort = pair.ClientPort, listenPort = pair.ListenPort;
            await ExchangeAndClose(pair, 300_001, 4_321);
            Assert.True(SpinWait.SpinUntil(() => session.History.State.SamplesWritten >= written + 2, TimeSpan.FromSeconds(15)));
            session.History.Stop();

            using var read = HistoryStore.OpenReader(db);
            var lives = read.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection, RemoteAddresses = new[] { AddressPattern.Parse("127.0.0.1") } });
            var server = Assert.Single(lives, c => c.LocalPort == listenPort && c.RemotePort == clientPort);
            Assert.Equal(4_321L, server.BytesSent);
            Assert.InRange(server.BytesReceived.Value, 300_001L, 300_001L + 1);
            Assert.NotNull(server.ClosedUtc);
            Assert.False(server.ClosedByRecorderStop);
            Assert.False(server.OpenedBeforeRecording);
            Assert.Equal("Closed", server.State);
            // The client's end, an active closer whose TIME_WAIT remnant outlived the recording: its bytes are its
            // socket's final counts, though the recording stopped before the remnant went, and its life ended with the
            // sample that showed it closed, not with the recording.
            var client = Assert.Single(lives, c => c.LocalPort == clientPort && c.RemotePort == listenPort);
            Assert.Equal(300_001L, client.BytesSent);
            Assert.InRange(client.BytesReceived.Value, 4_321L, 4_321L + 1);
            Assert.False(client.ClosedByRecorderStop);
            Assert.NotNull(client.ClosedUtc);
            Assert.Equal("TimeWait", client.State);
            // Its bytes count in the totals and the per-process minutes (owner unknown or this process).
            var totals = read.QueryTotals(new HistoryQuery());
            Assert.True(totals.Sum(t => t.BytesReceived ?? 0) >= 300_001, "the totals count the short connection's bytes");
            Assert.True(totals.Sum(t => t.BytesSent ?? 0) >= 300_001, "the totals count what the active closer sent");
            string me = System.Diagnostics.Process.GetCurrentProcess().ProcessName;
            var processes = read.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process }).Where(p => p.ProcessName == null || p.ProcessName == me).ToList();
            Assert.True(processes.Sum(p => p.BytesReceived ?? 0) >= 300_001, "the process minutes count the short connection's bytes");
        }

        [LinuxFact]
        public async Task ATrafficWindowStillGetsItsClosingsWhileTheSamplerDrainsThem()
        {
            using var session = new MonitorSession(new MonitorSessionOptions());
            using var feed = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(100)); // drains every 100 ms
            Assert.True(feed.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out _));

            var windowOpen = new ManualResetEventSlim();
            var measuring = Task.Run(() => TrafficWindow.Measure(session.Engine, TimeSpan.FromSeconds(2), CancellationToken.None,
                new SynchronousProgress(p => { if (p == TimeSpan.Zero) windowOpen.Set(); }), EnrichmentOptions.None));
            Assert.True(windowOpen.Wait(TimeSpan.FromSeconds(10)));
            var pair = new TcpPair();
            int clientPort = pair.ClientPort, listenPort = pair.ListenPort;
            await ExchangeAndClose(pair, 9_999, 8_888);
            // The sampler's subscriber heard of it ...
            var events = Collect(feed, e => Of(e, listenPort, clientPort).Any(x => x.Change == ConnectionChange.Closed), samples: 40);
            var closed = Assert.Single(Of(events, listenPort, clientPort), e => e.Change == ConnectionChange.Closed);
            Assert.True(closed.FinalCounters);
            Assert.Equal(8_888L, closed.Connection.BytesSent);
            // ... and so did the window.
            var window = await measuring;
            Assert.True(window.ClosedConnectionsSeen);
            var traffic = Assert.Single(window.Connections, c => c.Connection.LocalPort == listenPort && c.Connection.RemotePort == clientPort);
            Assert.True(traffic.OpenedDuringWindow && traffic.ClosedDuringWindow);
            Assert.Equal(8_888L, traffic.Sent);
            Assert.InRange(traffic.Received.Value, 9_999L, 9_999L + 1);
        }

        /// <summary>
        /// A closing report is in state Closed; a window filtered by state counts it by the state its connection was seen in
        /// (a newcomer's trial: -State Established lost an established connection's last bytes when it closed in the
        /// window, and -State Closed counted every closed connection's).
        /// </summary>
        [LinuxFact]
        public async Task AWindowFilteredByStateCountsAClosingByTheStateItsConnectionWasSeenIn()
        {
            using var session = new MonitorSession(new MonitorSessionOptions());
            TrafficWindow Window(TcpState state, TcpPair pair, Func<Task> during)
            {
                var open = new ManualResetEventSlim();
                var query = new ConnectionQuery { Ports = new[] { new PortRange(pair.ListenPort, pair.ListenPort) }, States = new[] { state } };
                var measuring = Task.Run(() => TrafficWindow.Measure(session.Engine, TimeSpan.FromSeconds(2), CancellationToken.None,
                    new SynchronousProgress(p => { if (p == TimeSpan.Zero) open.Set(); }), EnrichmentOptions.None, query));
                Assert.True(open.Wait(TimeSpan.FromSeconds(10)));
                during().GetAwaiter().GetResult();
                return measuring.GetAwaiter().GetResult();
            }

            // Established when the window opens, then 7,777 bytes back and the close.
            var pair = new TcpPair();
            await pair.ExchangeAsync(10, 10);
            int clientPort = pair.ClientPort, listenPort = pair.ListenPort;
            var established = Window(TcpState.Established, pair, () => ExchangeAndClose(pair, 5_555, 7_777));
            Assert.True(established.ClosedConnectionsSeen);
            var server = Assert.Single(established.Connections, c => c.Connection.LocalPort == listenPort && c.Connection.RemotePort == clientPort);
            Assert.True(server.ClosedDuringWindow);
            Assert.Equal(7_777L, server.Sent);

            // Nothing of ours was in state Closed: a window on Closed counts no closed connection.
            var other = new TcpPair();
            int otherClient = other.ClientPort, otherListen = other.ListenPort;
            var closed = Window(TcpState.Closed, other, () => ExchangeAndClose(other, 3_333, 4_444));
            Assert.DoesNotContain(closed.Connections, c => c.Connection.LocalPort == otherListen && c.Connection.RemotePort == otherClient);
            Assert.DoesNotContain(closed.Connections, c => c.Connection.LocalPort == otherClient && c.Connection.RemotePort == otherListen);
        }

        /// <summary>Reports on the measuring thread itself (Progress&lt;T&gt; would post them to the thread pool).</summary>
        private sealed class SynchronousProgress : IProgress<TimeSpan>
        {
            private readonly Action<TimeSpan> _report;
            public SynchronousProgress(Action<TimeSpan> report) => _report = report;
            public void Report(TimeSpan value) => _report(value);
        }
    }
}
