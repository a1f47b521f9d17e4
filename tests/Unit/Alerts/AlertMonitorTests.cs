using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Tests.Session;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Alerts
{
    /// <summary>The session's alert rules on this machine's real connection table: the thread, real listeners, config rules while watching.</summary>
    [Collection(SamplerThreads.Name)]
    public class AlertMonitorTests
    {
        private static MonitorSession RealSession(string configPath = null)
        {
            TestEnvironment.Isolate();
            return new MonitorSession(new MonitorSessionOptions { DefaultConfigPath = configPath });
        }

        /// <summary>
        /// Waits for the alert threads of earlier tests to end: a hosted runspace closes its session from its
        /// StateChanged event, which PowerShell may raise a moment after Close returns. A thread that never ends fails.
        /// </summary>
        private static void NoAlertThreadLeft() =>
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count(AlertMonitor.ThreadName) == 0, TimeSpan.FromSeconds(10)), "an alert thread is left running");

        /// <summary>After the thread was joined: the OS may list an ended thread in /proc/self/task for a moment longer.</summary>
        private static void ThreadGone() =>
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count(AlertMonitor.ThreadName) == 0, TimeSpan.FromSeconds(2)), "the alert thread did not end");

        /// <summary>A loopback TCP port that was free a moment ago.</summary>
        internal static int FreePort()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return port;
        }

        private static ConnectionQuery Mine() => new ConnectionQuery { ProcessIds = new[] { Environment.ProcessId } };

        [Fact]
        public void ANewListenerRaisesOneAlertWithItsPortAndProcess()
        {
            NoAlertThreadLeft();
            using var session = RealSession();
            var got = new BlockingCollection<AlertEvent>();
            session.Alerts.Raised += (rule, a) => got.Add(a);
            session.Alerts.Interval = TimeSpan.FromMilliseconds(200);
            // Limited to one port: other tests in this process open listeners of their own meanwhile.
            int port = FreePort();
            session.Alerts.Register(new AlertRule("listen", new[] { new AlertCondition(AlertKind.NewListeningPort) { Ports = new[] { port } } }) { Filter = Mine() });
            Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 1, TimeSpan.FromSeconds(20)), "no sample was evaluated");
            Assert.Equal(1, SamplerThreads.Count(AlertMonitor.ThreadName));

            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            try
            {
                Assert.True(got.TryTake(out var a, TimeSpan.FromSeconds(20)), "no alert for the new listener");
                Assert.Equal(AlertKind.NewListeningPort, a.Kind);
                Assert.Equal(AlertStatus.Firing, a.Status);
                var item = Assert.Single(a.Items);
                Assert.Equal(port, item.LocalPort);
                Assert.Equal(Environment.ProcessId, item.ProcessId);
                Assert.Contains("New listening port " + port + "/TCP by ", a.Summary);
                // Once: three more samples bring nothing.
                long seen = session.Alerts.SamplesEvaluated;
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= seen + 3, TimeSpan.FromSeconds(20)));
                Assert.Empty(got);
                var state = session.Alerts.Find("LISTEN");
                Assert.Equal(1, state.Fired);
                Assert.Equal(a.TimeUtc, state.LastFiredUtc);
                // Get-MonitoredConnection's rows carry the flag.
                var row = Assert.Single(session.Snapshot(new ConnectionQuery { ProcessIds = new[] { Environment.ProcessId }, LocalPorts = new[] { new PortRange(port, port) } }).Connections);
                Assert.Equal("listen", row.Flags);
            }
            finally
            {
                listener.Stop();
            }
            Assert.True(session.Alerts.Unregister("listen"));
            Assert.False(session.Alerts.IsWatching);
            ThreadGone();
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count() == 0, TimeSpan.FromSeconds(10)), "the sampler kept running without rules");
        }

        /// <summary>
        /// A fault in evaluating a sample (a bug of the module's own) costs that sample only: left unhandled on the alert thread
        /// it would end the test host here, and PowerShell or the service for a user. It is said once, and the rules go on.
        /// </summary>
        [Fact]
        public void AFaultInEvaluatingASampleIsSaidAndTheNextSamplesAreEvaluated()
        {
            using var session = RealSession();
            session.Alerts.Interval = TimeSpan.FromMilliseconds(200);
            int faults = 0;
            session.Alerts.BeforeEvaluate = _ => { if (Interlocked.Increment(ref faults) <= 2) throw new InvalidOperationException("a test's fault"); };
            session.Alerts.Register(new AlertRule("t1", new[] { new AlertCondition(AlertKind.MaxConnections) { Threshold = 1000000 } }));
            Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 2, TimeSpan.FromSeconds(30)), "the samples after the faults were not evaluated");
            Assert.True(Volatile.Read(ref faults) >= 4);
            var warnings = session.Alerts.TakeWarnings();
            Assert.Single(warnings, w => w.StartsWith("Alert rules: evaluating a sample failed", StringComparison.Ordinal)); // the same fault twice, said once
            Assert.Contains("Alert rules: evaluating a sample failed (InvalidOperationException: a test's fault); the next samples are evaluated as usual.", warnings);
            Assert.True(session.Alerts.IsWatching);
        }

        [Fact]
        public async Task RuleNamesAreUniqueAndAHandlerThatThrowsIsCountedNotLost()
        {
            using var session = RealSession();
            session.Alerts.Raised += (rule, a) => throw new InvalidOperationException("handler broke");
            var rule = new AlertRule("t1", new[] { new AlertCondition(AlertKind.MaxConnections) { Threshold = 1000000 } });
            session.Alerts.Register(rule);
            var dup = Assert.Throws<ArgumentException>(() => session.Alerts.Register(new AlertRule("T1", new[] { new AlertCondition(AlertKind.PortScan) })));
            Assert.StartsWith("An alert rule named 'T1' exists already.", dup.Message);
            var results = await session.Alerts.TestAsync("t1", CancellationToken.None);
            Assert.Empty(results); // no webhooks
            var state = session.Alerts.Find("t1");
            Assert.Equal(1, state.ActionErrors);
            Assert.Equal("handler broke", state.LastActionError);
            Assert.Equal(0, state.Fired); // a test is not a firing
            Assert.Throws<ArgumentException>(() => session.Alerts.TestAsync("nope", CancellationToken.None).GetAwaiter().GetResult());
        }

        [Fact]
        public void ConfigRulesRunWhileSomethingWatchesAndAOneOffSnapshotStartsNothing()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-alert-config-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string config = Path.Combine(dir, "config.yml");
            File.WriteAllText(config, "refreshInterval: 200\nalerts:\n  enabled: true\n  conditions:\n    suspiciousPorts: [23]\n    maxConnections: 100000\n");
            try
            {
                NoAlertThreadLeft();
                using var session = RealSession(config);
                session.Snapshot(Mine());
                Assert.False(session.Alerts.IsWatching);
                Assert.Empty(session.Alerts.Rules);
                NoAlertThreadLeft();

                using (var cancel = new CancellationTokenSource())
                {
                    var watch = Task.Run(() => session.Watch(Mine(), new WatchOptions { Duration = TimeSpan.FromSeconds(30) }, cancel.Token, null).ToList());
                    Assert.True(SpinWait.SpinUntil(() => session.Alerts.Rules.Count == 4, TimeSpan.FromSeconds(20)), "config rules did not start with the watch");
                    Assert.Equal(new[] { "config.maxBandwidth", "config.maxConnections", "config.newForeignConnections", "config.suspiciousPorts" },
                        session.Alerts.Rules.Select(r => r.Rule.Name).ToArray());
                    Assert.True(session.Alerts.IsWatching);
                    Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 2, TimeSpan.FromSeconds(20)));
                    cancel.Cancel();
                    Assert.ThrowsAny<OperationCanceledException>(() => watch.GetAwaiter().GetResult());
                }
                Assert.True(SpinWait.SpinUntil(() => !session.Alerts.IsWatching, TimeSpan.FromSeconds(10)));
                Assert.Empty(session.Alerts.Rules);
                ThreadGone();
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void DisposingTheSessionStopsTheAlertThread()
        {
            NoAlertThreadLeft();
            var session = RealSession();
            session.Alerts.Interval = TimeSpan.FromMilliseconds(200);
            session.Alerts.Register(new AlertRule("x", new[] { new AlertCondition(AlertKind.NewPublicAddress) }));
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count(AlertMonitor.ThreadName) == 1, TimeSpan.FromSeconds(10)));
            session.Dispose();
            ThreadGone();
            Assert.False(session.IsSampling); // this session's sampler (other tests' samplers may run meanwhile)
        }
    
        [Fact]
        public void ARuleWhoseConfigurationFileIsMissingIsRefusedSayingWhichFile()
        {
            using var session = RealSession();
            string missing = Path.Combine(Path.GetTempPath(), "cm-no-such-" + Guid.NewGuid().ToString("N") + ".yml");
            var e = Assert.ThrowsAny<Exception>(() => session.Alerts.Register(new AlertRule("cfg", new[] { new AlertCondition(AlertKind.RemotePort) { Ports = new[] { 23 } } })
            {
                Filter = new ConnectionQuery { ConfigPath = missing },
            }));
            Assert.Contains(missing, e.Message);
            Assert.Empty(session.Alerts.Rules);
            Assert.False(session.Alerts.IsWatching);
        }

        [Fact]
        public void ConfigRulesLookAtEveryConnectionWhateverTheWatchersFilter()
        {
            // Seen for real: Watch-Connection -RemoteAddress … made config rules blind to inbound connections
            // (the listener was filtered out, so the connection looked outbound) and to new listeners.
            NoAlertThreadLeft();
            int port = FreePort();
            string dir = Path.Combine(Path.GetTempPath(), "cm-alert-config-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string config = Path.Combine(dir, "config.yml");
            File.WriteAllText(config, "refreshInterval: 200\nalerts:\n  enabled: true\n  conditions:\n    suspiciousPorts: [" + port + "]\n" +
                                      "    newForeignConnections: false\n    maxConnections: 0\n    maxBandwidth: 0\n");
            TcpListener listener = null;
            TcpClient client = null;
            Socket accepted = null;
            try
            {
                using var session = RealSession(config);
                var got = new BlockingCollection<AlertEvent>();
                session.Alerts.Raised += (rule, a) => got.Add(a);
                using var cancel = new CancellationTokenSource();
                var nothing = new ConnectionQuery { RemoteAddresses = new[] { AddressPattern.Parse("203.0.113.0/24") } }; // matches none of this test's rows
                var watch = Task.Run(() => session.Watch(nothing, new WatchOptions { Duration = TimeSpan.FromSeconds(60) }, cancel.Token, null).ToList());
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 2, TimeSpan.FromSeconds(20)), "the config rules did not start");

                listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                accepted = listener.AcceptSocket();
                var kinds = new System.Collections.Generic.HashSet<AlertKind>();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (kinds.Count < 3 && clock.Elapsed < TimeSpan.FromSeconds(20))
                    if (got.TryTake(out var a, TimeSpan.FromMilliseconds(500)) && a.RuleName == "config.suspiciousPorts") kinds.Add(a.Kind);
                Assert.Equal(new[] { AlertKind.RemotePort, AlertKind.InboundPort, AlertKind.NewListeningPort }.OrderBy(k => k), kinds.OrderBy(k => k));
                cancel.Cancel();
                Assert.ThrowsAny<OperationCanceledException>(() => watch.GetAwaiter().GetResult());
            }
            finally
            {
                accepted?.Dispose();
                client?.Dispose();
                listener?.Stop();
                Directory.Delete(dir, true);
            }
        }
}
}
