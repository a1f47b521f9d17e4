using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Tests.Linux;
using ConnectionsMonitor.Tests.Session;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;
using Response = ConnectionsMonitor.Tests.TestSupport.LocalHttpServer.Response;

namespace ConnectionsMonitor.Tests.Alerts
{
    /// <summary>
    /// Alerts from end to end on real parts: this machine's sockets, a scanner in a network namespace the
    /// test makes, the session's sampler and alert thread, and a real HTTP endpoint on 127.0.0.1 playing the
    /// webhook (generic schema, so each POST names its rule).
    /// </summary>
    [Collection(SamplerThreads.Name)]
    public class AlertEndToEndTests : IDisposable
    {
        private readonly LocalHttpServer _hook = new LocalHttpServer();
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-alert-e2e-" + Guid.NewGuid().ToString("N"));

        public AlertEndToEndTests()
        {
            TestEnvironment.Isolate();
            Directory.CreateDirectory(_dir);
            _hook.Script("/hook", Response.Answer(204));
        }

        public void Dispose()
        {
            _hook.Dispose();
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private AlertTarget Hook() => new AlertTarget(_hook.Url("/hook"), AlertTargetKind.Generic);

        private MonitorSession Session(string configText = "refreshInterval: 500\n")
        {
            string config = Path.Combine(_dir, "config.yml");
            File.WriteAllText(config, configText);
            return new MonitorSession(new MonitorSessionOptions { DefaultConfigPath = config });
        }

        /// <summary>The alerts in the POSTs so far (each POST is a batch), with the POST's arrival time.</summary>
        private List<(JsonElement Alert, TimeSpan At)> Posted() =>
            _hook.Requests.SelectMany(r =>
                JsonDocument.Parse(r.Body).RootElement.GetProperty("alerts").EnumerateArray().Select(a => (a.Clone(), r.ReceivedAt))).ToList();

        private const string Prober =
            "import socket,sys\n" +
            "held=[]\n" +
            "for p in sys.argv[2].split(','):\n" +
            "    s=socket.socket(); s.settimeout(2)\n" +
            "    try:\n" +
            "        s.connect((sys.argv[1],int(p))); held.append(s)\n" +
            "    except OSError as e:\n" +
            "        pass\n" +
            "print('done',flush=True)\n" +
            "sys.stdin.read()\n";

        [LinuxFact]
        public void AScannerInANamespaceProbingSixPortsRaisesOneAlertNamingItsAddressAndThePorts()
        {
            using var ns = new VethNamespace();
            var open = Enumerable.Range(0, 3).Select(_ => new TcpListener(ns.HostAddress, 0)).ToList();
            open.ForEach(l => l.Start());
            var closed = Enumerable.Range(0, 3).Select(_ =>
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(ns.HostAddress, 0));
                return ((IPEndPoint)s.LocalEndPoint).Port;
            }).ToList();
            var ports = open.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).Concat(closed).OrderBy(p => p).ToList();
            Process prober = null;
            try
            {
                using var session = Session();
                var raised = new ConcurrentQueue<AlertEvent>();
                session.Alerts.Raised += (r, a) => raised.Enqueue(a);
                session.Alerts.Register(new AlertRule("scan", new[] { new AlertCondition(AlertKind.PortScan) }) { Targets = new[] { Hook() } });
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 1, TimeSpan.FromSeconds(20)));
                Assert.Empty(session.Alerts.TakeWarnings()); // as root the capture runs: nothing it cannot see to report

                var clock = Stopwatch.StartNew();
                prober = ns.StartPython(Prober, ns.HostAddress.ToString(), string.Join(",", ports));
                Assert.Equal("done", prober.StandardOutput.ReadLine());
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(9), "the probe took " + clock.Elapsed); // within the 10 s scan window, interpreter start included

                _hook.WaitForRequests(1, TimeSpan.FromSeconds(15));
                // Later samples (the scan's episode is still open) must not say it again.
                long seen = session.Alerts.SamplesEvaluated;
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= seen + 4, TimeSpan.FromSeconds(20)));
                var mine = Posted().Where(p => p.Alert.GetProperty("subject").GetString() == ns.PeerAddress.ToString()).ToList();
                var alert = Assert.Single(mine).Alert;
                Assert.Equal("PortScan", alert.GetProperty("kind").GetString());
                Assert.Equal("firing", alert.GetProperty("status").GetString());
                Assert.Equal("Port scan from " + ns.PeerAddress + ": 6 local ports within 10 s (" + string.Join(", ", ports) + ")", alert.GetProperty("summary").GetString());
                Assert.Single(raised, a => a.Subject == ns.PeerAddress.ToString());
            }
            finally
            {
                VethNamespace.Stop(prober);
                open.ForEach(l => l.Stop());
            }
        }

        private const string SixPortServer =
            "import socket,sys,threading\n" +
            "ls=[]\n" +
            "for i in range(6):\n" +
            "    s=socket.socket(); s.bind((sys.argv[1],0)); s.listen(16); ls.append(s)\n" +
            "held=[]\n" +
            "def serve(s):\n" +
            "    while True: held.append(s.accept()[0])\n" +
            "for s in ls: threading.Thread(target=serve,args=(s,),daemon=True).start()\n" +
            "print(','.join(str(s.getsockname()[1]) for s in ls),flush=True)\n" +
            "sys.stdin.read()\n";

        [LinuxFact]
        public void SixOutboundConnectionsOfOursToOneRemoteAreNoScan()
        {
            using var ns = new VethNamespace();
            Process server = null;
            var clients = new List<TcpClient>();
            try
            {
                server = ns.StartPython(SixPortServer, ns.PeerAddress.ToString());
                var ports = server.StandardOutput.ReadLine().Split(',').Select(int.Parse).ToList();
                using var session = Session();
                session.Alerts.Register(new AlertRule("scan", new[] { new AlertCondition(AlertKind.PortScan) }) { Targets = new[] { Hook() } });
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 1, TimeSpan.FromSeconds(20)));
                foreach (var p in ports)
                {
                    var c = new TcpClient();
                    c.Connect(ns.PeerAddress, p);
                    clients.Add(c);
                }
                long seen = session.Alerts.SamplesEvaluated;
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= seen + 6, TimeSpan.FromSeconds(20)));
                Assert.DoesNotContain(Posted(), p => p.Alert.GetProperty("subject").GetString() == ns.PeerAddress.ToString());
                Assert.Equal(0, session.Alerts.Find("scan").Fired - Posted().Count); // whatever fired (other hosts' traffic) was posted; none of it ours
            }
            finally
            {
                clients.ForEach(c => c.Dispose());
                VethNamespace.Stop(server);
            }
        }

        [LinuxFact]
        public void TheSeedConfigOnAHostListeningOn135And139And445SendsNoStormIn30Seconds()
        {
            // The seed alerted on the LOCAL port: a Windows host (always listening on 135/139/445) sent one webhook per
            // connection every 2 s. Here: the seed's file, alerts switched on with this webhook, its 2 s refresh.
            string seed = File.ReadAllText(Path.Combine(Repo.Root, "tests", "Unit", "TestData", "seed-config.yml"));
            Assert.Contains("  enabled: false\n  webhooks: []\n", seed);
            seed = seed.Replace("  enabled: false\n  webhooks: []\n", "  enabled: true\n  webhooks:\n    - url: '" + _hook.Url("/hook") + "'\n");
            var listeners = new[] { 135, 139, 445 }.Select(p => new TcpListener(IPAddress.Loopback, p)).ToList();
            listeners.ForEach(l => l.Start());
            TcpClient smbClient = null;
            Socket smbServer = null;
            try
            {
                // One SMB-like session open before watching starts: a connection that uses 445, on both ends.
                smbClient = new TcpClient();
                smbClient.Connect(IPAddress.Loopback, 445);
                smbServer = listeners[2].AcceptSocket();
                using var session = Session(seed);
                using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var watch = Task.Run(() => session.Watch(new ConnectionQuery { ProcessIds = new[] { Environment.ProcessId } }, new WatchOptions(), cancel.Token, null).ToList());
                Assert.ThrowsAny<OperationCanceledException>(() => watch.GetAwaiter().GetResult());
                var rules = session.Alerts;
                Assert.True(SpinWait.SpinUntil(() => !rules.IsWatching, TimeSpan.FromSeconds(10)));

                var posted = Posted();
                var suspicious = posted.Where(p => p.Alert.GetProperty("rule").GetString() == "config.suspiciousPorts").Select(p => p.Alert).ToList();
                // Once per connection: our client's connection out to 445 and the server side of it, nothing for the
                // three listeners (there when watching started) and nothing again in the 14 samples after.
                Assert.Equal(2, suspicious.Count);
                Assert.Equal(new[] { "InboundPort", "RemotePort" }, suspicious.Select(a => a.GetProperty("kind").GetString()).OrderBy(k => k, StringComparer.Ordinal));
                Assert.All(suspicious, a => Assert.Equal(Environment.ProcessId, a.GetProperty("items")[0].GetProperty("processId").GetInt32()));
                // And the rest of the file stays quiet. The levels count the whole machine, where other tests open and
                // close sockets meanwhile: they may fire and resolve, but only ever alternately (edge-triggered), never
                // "firing" twice in a row as the seed's maxConnections did every cycle.
                foreach (var g in posted.GroupBy(p => p.Alert.GetProperty("rule").GetString()))
                {
                    var statuses = g.Select(p => p.Alert.GetProperty("status").GetString()).ToList();
                    if (g.Key == "config.maxConnections" || g.Key == "config.maxBandwidth")
                    {
                        for (int i = 1; i < statuses.Count; i++)
                            Assert.True(statuses[i] != statuses[i - 1] || statuses[i] == "repeating", g.Key + " posted " + string.Join(", ", statuses));
                    }
                    else Assert.True(g.Count() <= 2, g.Key + " posted " + g.Count() + " alerts in 30 s");
                }
            }
            finally
            {
                smbClient?.Dispose();
                smbServer?.Dispose();
                listeners.ForEach(l => l.Stop());
            }
        }

        [LinuxFact]
        public void AnInboundConnectionThatOpensAndClosesBetweenTwoSamplesStillFiresItsRule()
        {
            using var session = Session("refreshInterval: 2000\n");
            var raised = new ConcurrentQueue<AlertEvent>();
            session.Alerts.Raised += (r, a) => raised.Enqueue(a);
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            try
            {
                session.Alerts.Register(new AlertRule("inbound", new[] { new AlertCondition(AlertKind.InboundPort) { Ports = new[] { port } } }));
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 1, TimeSpan.FromSeconds(20)));
                // A request-sized connection, over within milliseconds: the next sample is up to 2 s away. Its server
                // end (local port = the listener's) is the inbound one; it is gone before any sample (no TIME_WAIT: the
                // client closed first).
                int clientPort;
                using (var client = new TcpClient(AddressFamily.InterNetwork))
                {
                    client.Connect(IPAddress.Loopback, port);
                    clientPort = ((IPEndPoint)client.Client.LocalEndPoint).Port;
                    using var server = listener.AcceptSocket();
                    client.GetStream().Write(new byte[10], 0, 10);
                    client.Close();
                    var buffer = new byte[16];
                    int got = 0, n;
                    while ((n = server.Receive(buffer, got, buffer.Length - got, SocketFlags.None)) > 0) got += n;
                    Assert.Equal(10, got);
                }
                Assert.True(SpinWait.SpinUntil(() => raised.Any(a => a.Kind == AlertKind.InboundPort), TimeSpan.FromSeconds(15)), "no alert");
                var alert = Assert.Single(raised, a => a.Kind == AlertKind.InboundPort);
                var item = Assert.Single(alert.Items);
                Assert.Equal((port, clientPort), (item.LocalPort, item.RemotePort));
                Assert.Equal(TcpState.Closed, item.State); // known from its closing report, not from a sample
            }
            finally
            {
                listener.Stop();
            }
        }

        [LinuxFact]
        public void ANewListenerReachesTheWebhookWithinAFewHundredMillisecondsOfTheSampleThatShowsIt()
        {
            using var session = Session();
            var raised = new ConcurrentQueue<AlertEvent>();
            session.Alerts.Raised += (r, a) => raised.Enqueue(a);
            int port = AlertMonitorTests.FreePort(); // one port: other tests in this process open listeners meanwhile
            session.Alerts.Register(new AlertRule("listen", new[] { new AlertCondition(AlertKind.NewListeningPort) { Ports = new[] { port } } })
            {
                Filter = new ConnectionQuery { ProcessIds = new[] { Environment.ProcessId } },
                Targets = new[] { Hook() },
            });
            Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 1, TimeSpan.FromSeconds(20)));
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            try
            {
                var request = _hook.WaitForRequests(1, TimeSpan.FromSeconds(15))[0];
                var arrived = DateTime.UtcNow - (_hook.Clock - request.ReceivedAt);
                var alert = Assert.Single(raised);
                var latency = arrived - alert.TimeUtc;
                Assert.Equal(((IPEndPoint)listener.LocalEndpoint).Port, Posted()[0].Alert.GetProperty("items")[0].GetProperty("localPort").GetInt32());
                // The sample's time is when the table was read; the POST arrives after evaluation and the HTTP send.
                Assert.True(latency < TimeSpan.FromSeconds(1), "from the sample to the POST: " + latency.TotalMilliseconds + " ms");
            }
            finally
            {
                listener.Stop();
            }
        }
    }
}
