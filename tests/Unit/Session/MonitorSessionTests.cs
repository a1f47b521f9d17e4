using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Tracking;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Session
{
    /// <summary>The session monitor on a scripted platform: exact rows, rates, events and sampler behaviour.</summary>
    [Collection(SamplerThreads.Name)]
    public class MonitorSessionTests
    {
        // Replayed watches: a step a stalled consumer lets the 4-sample queue drop would leave a Count unreached (the last
        // sample repeats, nothing changes), so the interval gives a loaded machine room and a deadline turns a loss into a failure.
        private static readonly TimeSpan ReplayInterval = TimeSpan.FromMilliseconds(100);
        private static CancellationToken Deadline() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

        private static MonitorSession Replay(string script = ReplayScripts.Traffic) =>
            new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => ReplayPlatform.Parse(script) });

        private static ConnectionRecord Client(ConnectionSnapshot s, int port) =>
            Assert.Single(s.Connections, c => c.RemotePort == port);

        /// <summary>The feed's next sample (failing after 10 s without one).</summary>
        private static ConnectionSnapshot Sample(SessionFeed f)
        {
            Assert.True(f.TryNext(TimeSpan.FromSeconds(10), Deadline(), out var sample), "no sample");
            return sample.Snapshot;
        }

        [Fact]
        public void AFeedWithoutChangeTrackingGivesTheSameRowsAndNoEvents()
        {
            const string script = @"
processes:
  - { pid: 100, name: web, path: /usr/sbin/web, user: www }
samples:
  - { t: 0, rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 0, received: 0 } ] }
  - { t: 1, rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: CloseWait, pid: 100, inode: 11, sent: 1000, received: 100 },
                    { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50002, state: Established, pid: 100, inode: 12, sent: 10, received: 0 } ] }
";
            // The same replay twice: one feed as Watch-Connection takes it, one as the dashboard and the live view do.
            List<(ConnectionSnapshot Rows, IReadOnlyList<ConnectionsMonitor.Engine.Tracking.ConnectionEvent> Events)> Run(bool trackChanges)
            {
                using var session = Replay(script);
                using var feed = session.Subscribe(session.Plan(new ConnectionQuery()), TimeSpan.FromHours(1), reportExistingAsOpened: true, trackChanges: trackChanges);
                var samples = new List<(ConnectionSnapshot, IReadOnlyList<ConnectionsMonitor.Engine.Tracking.ConnectionEvent>)>();
                for (int i = 0; i < 2; i++)
                {
                    if (i > 0) feed.RequestNow();
                    Assert.True(feed.TryNext(TimeSpan.FromSeconds(10), Deadline(), out var sample), "no sample");
                    samples.Add((sample.Snapshot, sample.Events));
                }
                return samples;
            }
            var tracked = Run(trackChanges: true);
            var rowsOnly = Run(trackChanges: false);
            Assert.Equal(new[] { "Opened 50001" }, tracked[0].Events.Select(e => e.Change + " " + e.Connection.RemotePort));
            Assert.Equal(new[] { "StateChanged 50001", "Opened 50002" }, tracked[1].Events.Select(e => e.Change + " " + e.Connection.RemotePort));
            for (int i = 0; i < 2; i++)
            {
                Assert.Empty(rowsOnly[i].Events);
                Assert.Equal(tracked[i].Rows.Connections.Select(c => c.RemotePort + " " + c.State + " " + c.BytesSent + " " + c.SendRate),
                    rowsOnly[i].Rows.Connections.Select(c => c.RemotePort + " " + c.State + " " + c.BytesSent + " " + c.SendRate));
            }
        }

        [Fact]
        public void SnapshotsGiveExactOwnersCountersAndRatesFromTheSessionsMemory()
        {
            using var session = Replay();
            var q = new ConnectionQuery();
            var s0 = session.Snapshot(q);
            Assert.Equal(ReplayPlatform.Epoch, s0.TimeStampUtc);
            Assert.Equal(3, s0.Connections.Count);
            var c0 = Client(s0, 50001);
            Assert.Equal("web", c0.ProcessName);
            Assert.Equal("/usr/sbin/web", c0.ProcessPath);
            Assert.Equal(100, c0.ProcessId);
            Assert.Equal(1000L, c0.BytesSent);
            Assert.Null(c0.SendRate); // no earlier sample: unknown, not 0
            Assert.True(c0.AgeIsLowerBound); // there before the session's first look
            Assert.Equal(ReplayPlatform.Epoch, c0.FirstSeenUtc);

            var c1 = Client(session.Snapshot(q), 50001);
            Assert.Equal(5000L, c1.BytesSent);
            Assert.Equal(2000.0, c1.SendRate);   // 4,000 bytes over 2 s
            Assert.Equal(500.0, c1.ReceiveRate); // 1,000 bytes over 2 s
            Assert.Equal(TimeSpan.FromSeconds(2), c1.GetAge(ReplayPlatform.Epoch.AddSeconds(2)));

            var s2 = session.Snapshot(q);
            var opened = Client(s2, 50002);
            Assert.False(opened.AgeIsLowerBound); // appeared between two reads: its age is measured
            Assert.Equal(ReplayPlatform.Epoch.AddSeconds(4), opened.FirstSeenUtc);
            Assert.Null(opened.SendRate);
            Assert.Equal(2000.0, Client(s2, 50001).SendRate);
            Assert.Null(Assert.Single(s2.Connections, c => c.Protocol == TransportProtocol.Udp).SendRate); // UDP has no counters here
        }

        [Fact]
        public void FiltersOfOneCallDoNotResetAnotherCallsRates()
        {
            using var session = Replay(ReplayScripts.Burst);
            session.Snapshot(new ConnectionQuery());                                                   // t=0
            // A read narrowed to another process still moves every connection's memory forward.
            var udpOnly = session.Snapshot(new ConnectionQuery { ProcessNames = new[] { new Wildcard("resolver") } }); // t=2
            Assert.Equal("resolver", Assert.Single(udpOnly.Connections).ProcessName);
            var c = Client(session.Snapshot(new ConnectionQuery { Ports = new[] { new PortRange(8080, 8080) } }), 50001); // t=4
            Assert.Equal(0.0, c.SendRate); // since t=2 (nothing moved), not since t=0 (2,500/s)
        }

        /// <summary>
        /// While the sampler runs, rates are its own: a snapshot taken 10 ms after a sample carries that sample's window
        /// (not 500 bytes over 10 ms), a traffic window's reads leave its windows alone, and the sample after them counts from
        /// the previous sample (found by a newcomer: Get-MonitoredConnection beside a dashboard in one session showed 0 or
        /// several times the real rate, and the dashboard's next rates were off by as much). Once the sampler stops, a
        /// snapshot's rate counts from the sampler's last read.
        /// </summary>
        [Fact]
        public void WhileTheSamplerRunsSnapshotsCarryItsWindowsAndLeaveThemWhole()
        {
            const string script = @"
processes:
  - { pid: 100, name: web, path: /usr/sbin/web, user: www }
samples:
  - { t: 0,    rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 0, received: 0 } ] }
  - { t: 1,    rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 1000, received: 100 } ] }
  - { t: 1.01, rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 1500, received: 100 },
                       { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50002, state: Established, pid: 100, inode: 12, sent: 10, received: 0 } ] }
  - { t: 1.5,  rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 2000, received: 100 },
                       { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50002, state: Established, pid: 100, inode: 12, sent: 20, received: 0 } ] }
  - { t: 1.6,  rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 2100, received: 100 },
                       { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50002, state: Established, pid: 100, inode: 12, sent: 30, received: 0 } ] }
  - { t: 2,    rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 3000, received: 300 },
                       { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50002, state: Established, pid: 100, inode: 12, sent: 109, received: 0 } ] }
  - { t: 3,    rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 4000, received: 300 },
                       { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50002, state: Established, pid: 100, inode: 12, sent: 109, received: 0 } ] }
";
            using var session = Replay(script);
            var q = new ConnectionQuery();
            using (var feed = session.Subscribe(q, TimeSpan.FromHours(1)))  // samples only when asked
            {
                Assert.Null(Client(Sample(feed), 50001).SendRate);            // t=0, the first sample at once
                feed.RequestNow();
                var first = Client(Sample(feed), 50001);                      // t=1
                Assert.Equal(1000.0, first.SendRate);
                Assert.Equal(100.0, first.ReceiveRate);

                var between = session.Snapshot(q);                            // t=1.01: this read's counters, the sample's rates
                Assert.Equal(1500L, Client(between, 50001).BytesSent);
                Assert.Equal(1000.0, Client(between, 50001).SendRate);        // not 500 bytes over 10 ms (50,000/s)
                Assert.Equal(100.0, Client(between, 50001).ReceiveRate);
                var opened = Client(between, 50002);
                Assert.Null(opened.SendRate);                                 // new since the sample: no window of its own yet
                Assert.Equal(ReplayPlatform.Epoch.AddSeconds(1.01), opened.FirstSeenUtc);
                Assert.False(opened.AgeIsLowerBound);

                var traffic = session.Measure(q, TimeSpan.FromMilliseconds(1), CancellationToken.None); // reads t=1.5 and t=1.6
                var moved = Assert.Single(traffic.Connections, c => c.Connection.RemotePort == 50001);
                Assert.Equal(100L, moved.Sent);                               // the window's own counts
                Assert.Equal(1000.0, moved.Connection.SendRate);              // and the sampler's rate on its rows

                feed.RequestNow();
                var next = Sample(feed);                                      // t=2: the window since t=1, whole
                Assert.Equal(2000.0, Client(next, 50001).SendRate);           // 2,000 bytes over 1 s (not 900 over 0.4 s)
                Assert.Equal(200.0, Client(next, 50001).ReceiveRate);
                Assert.Equal(100.0, Client(next, 50002).SendRate);            // 99 bytes since it was first seen at t=1.01, over 0.99 s
            }
            Assert.False(session.IsSampling);
            var after = Client(session.Snapshot(q), 50001);                   // t=3: the sampler stopped; since its last read
            Assert.Equal(1000.0, after.SendRate);
        }

        /// <summary>
        /// A subscriber that joins a running sampler gets its first sample at once, a few milliseconds after the latest tick:
        /// that read starts no window of its own (the joiner sees the latest window's rates, not 500 bytes over 10 ms) and the
        /// next tick's window runs from the tick before it, whole. A sample asked for (RequestNow) starts a window however
        /// soon it comes.
        /// </summary>
        [Fact]
        public void ATickTooSoonAfterTheLatestWindowCarriesItsRatesAndLetsItGoOn()
        {
            const string script = @"
processes:
  - { pid: 100, name: web, path: /usr/sbin/web, user: www }
samples:
  - { t: 0,    rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 0, received: 0 } ] }
  - { t: 1,    rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 1000, received: 0 } ] }
  - { t: 1.01, rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 1500, received: 0 } ] }
  - { t: 2,    rows: [ { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 3000, received: 0 } ] }
";
            using var session = Replay(script);
            var q = new ConnectionQuery();
            using var first = session.Subscribe(q, TimeSpan.FromHours(1));
            Assert.Null(Client(Sample(first), 50001).SendRate);               // t=0
            first.RequestNow();
            Assert.Equal(1000.0, Client(Sample(first), 50001).SendRate);      // t=1: asked for, a window of its own
            using var joiner = session.Subscribe(q, TimeSpan.FromHours(1));
            var joined = Client(Sample(joiner), 50001);                       // t=1.01: at once, too soon for a window
            Assert.Equal(1500L, joined.BytesSent);
            Assert.Equal(1000.0, joined.SendRate);                            // not 500 bytes over 10 ms (50,000/s)
            first.RequestNow();
            Assert.Equal(2000.0, Client(Sample(first), 50001).SendRate);      // t=2: since t=1, not 1,500 over 0.99 s
            Assert.Equal(4, session.SamplerReads);
        }

        [Fact]
        public void CompletionPeeksWithoutTouchingRatesOrAges()
        {
            using var session = Replay(ReplayScripts.Burst);
            session.Snapshot(new ConnectionQuery());                       // t=0
            Assert.Equal(new[] { "resolver", "web" }, session.CurrentProcessNames()); // peeks at t=2
            var c = Client(session.Snapshot(new ConnectionQuery()), 50001);  // t=4
            // Rate since the previous snapshot (t=0), not since the peek: 10,000 bytes over 4 s.
            Assert.Equal(2500.0, c.SendRate);
            Assert.Equal(0.0, c.ReceiveRate);
        }

        [Fact]
        public void WatchYieldsOpenedClosedAndStateChangedInOrderAndHonoursTheStateFilter()
        {
            using var session = Replay();
            var events = session.Watch(new ConnectionQuery(), new WatchOptions { Interval = ReplayInterval, Count = 3 }, Deadline(), null).ToList();
            Assert.Equal(new[] { ConnectionChange.Opened, ConnectionChange.StateChanged, ConnectionChange.Closed }, events.Select(e => e.Change));
            Assert.Equal(50002, events[0].Connection.RemotePort);
            Assert.Equal(ReplayPlatform.Epoch.AddSeconds(4), events[0].TimeStampUtc);
            Assert.Equal(TcpState.Established, events[1].PreviousState);
            Assert.Equal(TcpState.CloseWait, events[1].Connection.State);
            Assert.Equal(50002, events[2].Connection.RemotePort);

            using var second = Replay();
            var query = new ConnectionQuery { States = new[] { TcpState.CloseWait } };
            var filtered = second.Watch(query, new WatchOptions { Interval = ReplayInterval, Count = 1 }, Deadline(), null).ToList();
            // Established -> CloseWait is a change for a CloseWait filter; the query itself is left as given.
            Assert.Equal(ConnectionChange.StateChanged, Assert.Single(filtered).Change);
            Assert.Equal(new[] { TcpState.CloseWait }, query.States);
        }

        [Fact]
        public void WatchSaysOnceWhenItsBaselineIsTakenAndHowManyConnectionsMatch()
        {
            using var session = Replay();
            var said = new List<(DateTime At, int Count)>();
            var options = new WatchOptions { Interval = ReplayInterval, Count = 1, BaselineTaken = (at, n) => said.Add((at, n)) };
            var e = Assert.Single(session.Watch(new ConnectionQuery { States = new[] { TcpState.Established } }, options, Deadline(), null).ToList());
            Assert.Equal(ConnectionChange.Opened, e.Change); // the t=4 client, after a baseline of the t=0 sample
            // At t=0 three rows are tracked; one of them (the first client) is Established.
            Assert.Equal(new[] { (ReplayPlatform.Epoch, 1) }, said);
        }

        [Fact]
        public void AConnectionThatLosesItsOwnerIsOneStateChangeNotACloseAndAnOpen()
        {
            // The client process exits after closing: its end lingers in FIN_WAIT2 with no owner and
            // no inode (what Linux shows for an orphaned socket).
            const string script = @"
processes:
  - { pid: 300, name: client, path: /usr/bin/client, user: me }
samples:
  - t: 0
    rows:
      - { protocol: TCP, local: 127.0.0.1, localPort: 36170, remote: 127.0.0.1, remotePort: 46000, state: Established, pid: 300, inode: 31 }
  - t: 1
    rows:
      - { protocol: TCP, local: 127.0.0.1, localPort: 36170, remote: 127.0.0.1, remotePort: 46000, state: FinWait2 }
  - t: 2
    rows: []
";
            using var session = Replay(script);
            var events = session.Watch(new ConnectionQuery(), new WatchOptions { Interval = ReplayInterval, Count = 2 }, Deadline(), null).ToList();
            Assert.Equal(new[] { ConnectionChange.StateChanged, ConnectionChange.Closed }, events.Select(e => e.Change));
            Assert.Equal(TcpState.Established, events[0].PreviousState);
            Assert.Equal(TcpState.FinWait2, events[0].Connection.State);
            Assert.Null(events[0].Connection.ProcessId);
            Assert.Equal(ReplayPlatform.Epoch, events[0].Connection.FirstSeenUtc); // still the same connection's first sighting
        }

        [Fact]
        public void IncludeExistingReportsTheFirstSampleAsOpenedWithLowerBoundAges()
        {
            using var session = Replay();
            var events = session.Watch(new ConnectionQuery { LocalPorts = new[] { new PortRange(53, 53) } },
                new WatchOptions { Interval = ReplayInterval, Count = 1, IncludeExisting = true }, Deadline(), null).ToList();
            var e = Assert.Single(events);
            Assert.Equal(ConnectionChange.Opened, e.Change);
            Assert.Equal("resolver", e.Connection.ProcessName);
            Assert.True(e.Connection.AgeIsLowerBound);
        }

        [Fact]
        public void OneSamplerServesSubscribersWithDifferentIntervals()
        {
            using var session = Replay();
            var clock = Stopwatch.StartNew(); // before the subscriptions: the fast cadence starts at its Subscribe
            using var fast = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(50));
            using var slow = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(400));
            int fastSamples = 0;
            while (clock.Elapsed < TimeSpan.FromSeconds(1.2))
                if (fast.TryNext(TimeSpan.FromMilliseconds(200), CancellationToken.None, out _)) fastSamples++;
            long slowDelivered = slow.Subscription.Delivered;
            // Reads are shared: every read served the fast subscriber, and the slow one's came with them (its due times
            // are the fast one's every 8th). A stall of the sampler over half the fast interval starts the fast cadence
            // afresh, after which a slow sample may need a read of its own: at least one of its reads is shared all the same.
            long reads = session.SamplerReads, delivered = fast.Subscription.Delivered;
            Assert.InRange(reads - delivered, 0, Math.Max(1, slowDelivered - 1)); // (and a read may be under way as we look)
            Assert.InRange(fastSamples, 8, 26);
            Assert.InRange(slowDelivered, 2, 5);
        }

        /// <summary>
        /// Two subscribers with different enrichments (two reads in one tick, milliseconds apart) both see the real rate of a
        /// steady 100 KB/s flow, not 0 or a rate over milliseconds (a dashboard beside a recording showed 0 B/s, then
        /// 754 KB/s, for a steady 100 KB/s before the second read kept the first read's window).
        /// </summary>
        [LinuxFact]
        public void SubscribersWithDifferentEnrichmentsSeeTheSameRealRates()
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            using var talker = new ChildTalker("cm-paced", port);
            using var accepted = listener.AcceptTcpClient();
            var drain = System.Threading.Tasks.Task.Run(() => { var buf = new byte[65536]; try { while (accepted.GetStream().Read(buf, 0, buf.Length) > 0) { } } catch (System.IO.IOException) { } catch (ObjectDisposedException) { } });
            using var session = new MonitorSession(new MonitorSessionOptions());
            using var plain = session.Subscribe(new ConnectionQuery { LocalPorts = new[] { new PortRange(talker.LocalPort, talker.LocalPort) }, ResolveDns = false }, TimeSpan.FromMilliseconds(500));
            using var dns = session.Subscribe(new ConnectionQuery { LocalPorts = new[] { new PortRange(talker.LocalPort, talker.LocalPort) }, ResolveDns = true }, TimeSpan.FromMilliseconds(500));
            var pace = System.Threading.Tasks.Task.Run(() => talker.Do("pace 100000 12")); // outlasting the two feeds' 4 samples each, with room
            Thread.Sleep(1500); // a window or two into the flow
            var rates = new List<(string Feed, double? Rate)>();
            foreach (var (name, feed) in new[] { ("plain", plain), ("dns", dns) })
            {
                while (feed.TryNext(TimeSpan.Zero, CancellationToken.None, out _)) { } // what queued up before
                for (int i = 0; i < 4; i++)
                {
                    Assert.True(feed.TryNext(TimeSpan.FromSeconds(5), CancellationToken.None, out var sample), name + ": no sample");
                    var row = sample.Snapshot.Connections.SingleOrDefault(c => c.Protocol == TransportProtocol.Tcp && c.LocalPort == talker.LocalPort);
                    if (i > 0) rates.Add((name, row?.SendRate)); // the first may be a sample taken while the queue was drained
                }
            }
            pace.Wait(TimeSpan.FromSeconds(20));
            listener.Stop();
            Assert.Equal(2, session.SamplerReads > 0 ? rates.Select(r => r.Feed).Distinct().Count() : 0);
            string seen = "a flow paced at 100 KB/s; " + string.Join(", ", rates.Select(x => x.Feed + " " + (x.Rate?.ToString("F0") ?? "null")));
            // Each window's own rate (a loaded machine makes the pacer catch up in bursts), never 0 or a rate over milliseconds;
            // the middle of each feed's windows near the pace.
            Assert.All(rates, r => Assert.True(r.Rate != null && r.Rate > 5000 && r.Rate < 1000000, seen));
            foreach (var feed in new[] { "plain", "dns" })
            {
                var sorted = rates.Where(r => r.Feed == feed).Select(r => r.Rate.Value).OrderBy(x => x).ToList();
                // (60–160 KB/s on an idle machine; a loaded run's pacer caught up at 212 KB/s. A rate over milliseconds was 754 KB/s.)
                Assert.InRange(sorted[sorted.Count / 2], 50000, 300000);
            }
        }

        [Fact]
        public void ASubscriberThatNeverReadsDoesNotSlowTheSamplerAndItsDropsAreCounted()
        {
            using var session = Replay();
            using var stuck = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(20), capacity: 2);
            using var reader = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(20));
            int read = 0;
            var clock = Stopwatch.StartNew();
            for (; read < 30; read++) Assert.True(reader.TryNext(TimeSpan.FromSeconds(5), CancellationToken.None, out _), "the sampler stalled");
            // 30 samples at 20 ms take ~0.6 s whatever the other subscriber does.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), "took " + clock.Elapsed); // (room for a loaded machine; a sampler held up 200 ms a sample by the stuck one would take twice that)
            Assert.True(stuck.Subscription.Dropped >= 27, "dropped " + stuck.Subscription.Dropped);
            long dropped = stuck.Subscription.Dropped;
            // Its next sample says how many it missed, once; the newest samples are the ones kept.
            Assert.True(stuck.TryNext(TimeSpan.Zero, CancellationToken.None, out var sample));
            Assert.Equal(dropped, sample.DroppedBefore);
            Assert.True(stuck.TryNext(TimeSpan.Zero, CancellationToken.None, out var next));
            Assert.True(next.DroppedBefore <= 1);
        }

        [LinuxFact]
        public void DisposingTheSessionLeavesNoSamplerThread()
        {
            // A sampler whose last subscriber left ends by itself, after the read it may be in: let
            // the previous tests' threads go first, so the count below is this session's.
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count() == 0, TimeSpan.FromSeconds(10)), "an earlier sampler thread did not end");
            var session = Replay();
            var feed = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(30));
            Assert.True(feed.TryNext(TimeSpan.FromSeconds(5), CancellationToken.None, out _));
            Assert.True(session.IsSampling);
            Assert.Equal(1, SamplerThreads.Count());
            session.Dispose(); // without unsubscribing first; it waits for the thread's managed code to end
            Assert.False(session.IsSampling);
            // The OS thread leaves /proc a moment after its managed code returns.
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count() == 0, TimeSpan.FromSeconds(2)), "a sampler thread is left");
            feed.Dispose(); // harmless afterwards
        }

        [Fact]
        public void TheSamplerStopsWithItsLastSubscriber()
        {
            using var session = Replay();
            var a = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(30));
            var b = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(30));
            a.Dispose();
            Assert.True(session.IsSampling);
            b.Dispose();
            Assert.False(session.IsSampling);
            long reads = session.SamplerReads;
            Thread.Sleep(150);
            Assert.True(session.SamplerReads <= reads + 1); // at most a read that was under way
        }

        [Fact]
        public void CancellingAWatchEndsItPromptly()
        {
            using var session = Replay();
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var clock = Stopwatch.StartNew();
            Assert.ThrowsAny<OperationCanceledException>(() =>
                session.Watch(new ConnectionQuery(), new WatchOptions { Interval = TimeSpan.FromSeconds(10) }, cancel.Token, null).ToList());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), "took " + clock.Elapsed);
        }

        [Fact]
        public void PreparingReadsOnceAndLeavesRatesAgesAndConfigWarningsToTheFirstCall()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-prepare-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string config = Path.Combine(dir, "config.yml");
            File.WriteAllText(config, "monitoring:\n  refreshIntervall: 1000\n");
            try
            {
                var platform = ReplayPlatform.Parse(ReplayScripts.Burst);
                using var session = new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => platform, DefaultConfigPath = config });
                session.Prepare(new ConnectionQuery { CurrentDirectory = dir });    // peeks at t=0
                var first = session.Snapshot(new ConnectionQuery { CurrentDirectory = dir }); // t=2
                Assert.Equal(ReplayPlatform.Epoch.AddSeconds(2), first.TimeStampUtc);
                var c = Client(first, 50001);
                Assert.Null(c.SendRate);              // the peek left no sample behind: unknown, not a rate since t=0
                Assert.True(c.AgeIsLowerBound);       // and no first sighting: still "there before the first look"
                Assert.Equal(first.TimeStampUtc, c.FirstSeenUtc);
                // The file's warning was loaded ahead but not said: the first call says it, once.
                Assert.Contains(first.Warnings, w => w.Contains("refreshIntervall") && w.Contains("unknown key"));
                var second = session.Snapshot(new ConnectionQuery { CurrentDirectory = dir }); // t=4
                Assert.DoesNotContain(second.Warnings, w => w.Contains("refreshIntervall"));
                Assert.Equal(0.0, Client(second, 50001).SendRate); // since t=2: nothing moved after the burst
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void PreparingADisposedSessionIsQuiet()
        {
            var session = Replay();
            session.Dispose();
            session.Prepare(null); // the import's background preparation may lose the race with Remove-Module
            Assert.Throws<ObjectDisposedException>(() => session.Snapshot(new ConnectionQuery()));
        }

        [Fact]
        public void WarningsThatDifferOnlyInACountAreSaidOnceOthersEachOnce()
        {
            using var session = Replay();
            Assert.Equal(new[] { "owners of 12 sockets could not be read" }, session.Unsaid(new[] { "owners of 12 sockets could not be read" }));
            Assert.Empty(session.Unsaid(new[] { "owners of 13 sockets could not be read" }));
            // A digit inside a word or a name is not a count: these are different warnings.
            Assert.Equal(new[] { "TCP IPv6 table not read" }, session.Unsaid(new[] { "TCP IPv4 table not read", "TCP IPv6 table not read" }).Skip(1));
            Assert.Equal(new[] { "interface tun7 is down" }, session.Unsaid(new[] { "interface tun7 is down" }));
            Assert.Equal(new[] { "interface tun8 is down" }, session.Unsaid(new[] { "interface tun8 is down" }));
        }

        [Fact]
        public void TheLiveViewRunsOnTheSamplerWithATerminalDouble()
        {
            using var session = Replay();
            var terminal = new FakeTerminal { Interactive = false };
            session.RunLiveView(terminal, new ConnectionQuery { Protocols = new[] { TransportProtocol.Tcp } },
                new LiveViewOptions { Interval = TimeSpan.FromMilliseconds(20), Count = 3 }, CancellationToken.None);
            Assert.Equal(3, terminal.Frames.Count);
            Assert.StartsWith("ConnectionsMonitor  ", terminal.Frames[0]);
            Assert.Contains("TCP: 2  UDP: 0  Total: 2  Bandwidth: measuring...", terminal.Frames[0]);
            // 4,000 + 0 bytes out, 1,000 in over 2 s on the second frame.
            Assert.Contains("TCP: 2  UDP: 0  Total: 2  Bandwidth: sent 2.0KB/s, received 500B/s", terminal.Frames[1]);
            Assert.Contains("Top talkers: web 2.4KB/s (1)", terminal.Frames[1]);
            Assert.Contains(terminal.Frames[2].Split('\n'), l => l.Contains("127.0.0.1:50002")); // the client that opened at t=4
        }

        [Fact]
        public void TheInteractiveLiveViewQuitsOnQAndRestoresTheScreen()
        {
            using var session = Replay();
            var terminal = new FakeTerminal { Interactive = true };
            terminal.Keys.Enqueue(new LiveKey(ConsoleKey.S, 's', false));
            terminal.Keys.Enqueue(new LiveKey(ConsoleKey.Q, 'q', false));
            terminal.HoldKeysUntilFrames = 1;
            session.RunLiveView(terminal, new ConnectionQuery(), new LiveViewOptions { Interval = TimeSpan.FromMilliseconds(20) }, CancellationToken.None);
            Assert.StartsWith(Ansi.Enter, terminal.Screen.ToString());
            Assert.EndsWith(Ansi.Restore, terminal.Screen.ToString());
            Assert.Contains("sort: Process", terminal.Screen.ToString()); // 's' moved the sort from Port to Process
        }

        /// <summary>README: "the screen, cursor and colours come back when it ends, also after Ctrl+C or an error".</summary>
        [Fact]
        public void AnErrorInTheLiveViewStillRestoresTheScreen()
        {
            using var session = Replay();
            var failure = new IOException("the terminal went away");
            var terminal = new FakeTerminal { Interactive = true, ReadKeyFails = failure, HoldKeysUntilFrames = 2 }; // the first write enters the screen, the second draws a frame
            terminal.Keys.Enqueue(new LiveKey(ConsoleKey.S, 's', false)); // a key is waiting once the first frame is drawn: reading it fails
            var thrown = Assert.Throws<IOException>(() =>
                session.RunLiveView(terminal, new ConnectionQuery(), new LiveViewOptions { Interval = TimeSpan.FromMilliseconds(20) }, CancellationToken.None));
            Assert.Same(failure, thrown);
            string screen = terminal.Screen.ToString();
            Assert.StartsWith(Ansi.Enter, screen);
            Assert.Contains("ConnectionsMonitor", screen); // a frame was drawn before the error
            Assert.EndsWith(Ansi.Restore, screen);
            Assert.Equal(1, CountOf(screen, Ansi.Restore));
        }

        /// <summary>Cancelling (what Ctrl+C does) restores the screen too.</summary>
        [Fact]
        public async System.Threading.Tasks.Task CancellingTheLiveViewRestoresTheScreen()
        {
            using var session = Replay();
            var terminal = new FakeTerminal { Interactive = true };
            using var cancel = new CancellationTokenSource();
            var run = System.Threading.Tasks.Task.Run(() =>
                session.RunLiveView(terminal, new ConnectionQuery(), new LiveViewOptions { Interval = TimeSpan.FromMilliseconds(20) }, cancel.Token));
            Assert.True(SpinWait.SpinUntil(() => { lock (terminal.Screen) return terminal.Screen.ToString().Contains("ConnectionsMonitor"); }, TimeSpan.FromSeconds(15)), "no frame drawn within 15 s");
            cancel.Cancel();
            Assert.True(await System.Threading.Tasks.Task.WhenAny(run, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(15))) == run, "the live view did not end within 15 s of the cancel");
            try { await run; }
            catch (OperationCanceledException) { }
            lock (terminal.Screen) Assert.EndsWith(Ansi.Restore, terminal.Screen.ToString());
        }

        private static int CountOf(string text, string part)
        {
            int n = 0;
            for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal)) n++;
            return n;
        }

        /// <summary>A terminal double: records what the view writes and hands it scripted keys.</summary>
        internal sealed class FakeTerminal : ILiveTerminal
        {
            public bool Interactive;
            public readonly List<string> Frames = new List<string>();
            public readonly List<string> Warnings = new List<string>();
            public readonly System.Text.StringBuilder Screen = new System.Text.StringBuilder();
            public readonly Queue<LiveKey> Keys = new Queue<LiveKey>();
            public int HoldKeysUntilFrames;
            private int _draws;

            public bool IsInteractive => Interactive;
            public ColorDepth ColorDepth => ColorDepth.Standard16;
            public int Width => 120;
            public int Height => 20;
            public bool KeyAvailable => _draws >= HoldKeysUntilFrames && Keys.Count > 0;
            /// <summary>When set, reading a key throws this: a terminal that fails in the middle of a run.</summary>
            public Exception ReadKeyFails;
            public LiveKey ReadKey() => ReadKeyFails != null ? throw ReadKeyFails : Keys.Dequeue();

            public void Write(string text)
            {
                lock (Screen) Screen.Append(text);
                _draws++;
            }

            public void WriteFrame(string frame) => Frames.Add(frame);
            public void Warn(string message) => Warnings.Add(message);
        }
    }

    /// <summary>
    /// Tests that count the sampler threads of this process run alone, after the parallel ones, so
    /// no other test's sampler is counted.
    /// </summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class SamplerThreads
    {
        public const string Name = "Sampler threads";

        /// <summary>Threads of this process named as the sampler names its thread (Linux: /proc/self/task/*/comm).</summary>
        public static int Count() => Count(MonitorSession.SamplerThreadName);

        /// <summary>Threads of this process with this OS name.</summary>
        public static int Count(string threadName)
        {
            int n = 0;
            foreach (var task in Directory.GetDirectories("/proc/self/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == threadName) n++;
                }
                catch (IOException)
                {
                    // the thread ended while we looked
                }
            }
            return n;
        }
    }
}
