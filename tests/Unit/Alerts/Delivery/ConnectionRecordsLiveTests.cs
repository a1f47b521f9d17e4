using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Metrics;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Tests.Session;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Alerts.Delivery
{
    /// <summary>
    /// Connection records in a real session: a watcher switches them on, a real loopback TCP connection made here opens,
    /// moves bytes and closes, and a real UDP syslog listener receives CONN_OPEN and CONN_CLOSE for it, parsed back.
    /// </summary>
    [Collection(SamplerThreads.Name)]
    public class ConnectionRecordsLiveTests
    {
        private static string Config(string dir, string yaml)
        {
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "config.yml");
            File.WriteAllText(path, yaml);
            return path;
        }

        /// <summary>Reads datagrams until one matches (others, of other connections on this machine, are skipped).</summary>
        private static SyslogTests.Parsed Receive(UdpClient udp, Func<SyslogTests.Parsed, bool> match, string what, List<int> sizes)
        {
            var until = DateTime.UtcNow.AddSeconds(30);
            var seen = new List<string>();
            while (DateTime.UtcNow < until)
            {
                IPEndPoint from = null;
                byte[] bytes;
                try { bytes = udp.Receive(ref from); }
                catch (SocketException) { break; }
                sizes.Add(bytes.Length);
                var m = SyslogTests.Parse(Encoding.UTF8.GetString(bytes));
                if (match(m)) return m;
                if (m.Params.ContainsKey("localPort")) seen.Add(m.MsgId + " " + string.Join(" ", m.Params.Select(kv => kv.Key + "=" + kv.Value)));
            }
            Assert.Fail("no syslog record of " + what + " arrived within 30 s; records seen: " + string.Join(" | ", seen.Where(x => x.Contains("127.0.0.1")).Take(20)));
            return null;
        }

        [LinuxFact]
        public void OpenedAndClosedOfARealLoopbackConnectionArriveWithPortsPidAndBytes()
        {
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            udp.Client.ReceiveTimeout = 30000;
            int udpPort = ((IPEndPoint)udp.Client.LocalEndPoint).Port;
            string dir = Path.Combine(Path.GetTempPath(), "cm-connlog-" + Guid.NewGuid().ToString("N"));
            string config = Config(dir, "refreshInterval: 200\nalerts:\n  syslog:\n    enabled: true\n    target: 'udp://127.0.0.1:" + udpPort +
                "'\n    facility: local2\n    appName: cmon-conn\n    connectionEvents: [opened, closed]\n");
            try
            {
                TestEnvironment.Isolate();
                using var session = new MonitorSession(new MonitorSessionOptions { DefaultConfigPath = config });
                session.Alerts.Interval = TimeSpan.FromMilliseconds(200);
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                int serverPort = ((IPEndPoint)listener.LocalEndpoint).Port;
                // A watcher (as Watch-Connection or the service is): it switches the connection records on.
                using var watcher = session.Subscribe(new ConnectionQuery { ProcessIds = new[] { Environment.ProcessId } }, TimeSpan.FromMilliseconds(200));
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.ConnectionRecordSamples >= 1, TimeSpan.FromSeconds(20)), "the connection records took no baseline sample");

                var client = new TcpClient(AddressFamily.InterNetwork); // a default TcpClient is dual-mode: its addresses would be ::ffff:127.0.0.1
                client.Connect(IPAddress.Loopback, serverPort);
                int clientPort = ((IPEndPoint)client.Client.LocalEndPoint).Port;
                var server = listener.AcceptTcpClient();
                client.GetStream().Write(new byte[1000]);
                var got = new byte[1000];
                int n = 0;
                while (n < 1000) n += server.GetStream().Read(got, n, 1000 - n);
                server.GetStream().Write(new byte[500]);
                n = 0;
                while (n < 500) n += client.GetStream().Read(got, n, 500 - n);

                var sizes = new List<int>();
                string pid = Environment.ProcessId.ToString();
                bool Ours(SyslogTests.Parsed m) => m.SdId == "connection@32473" && m.Params.GetValueOrDefault("localPort") == clientPort.ToString() &&
                                                   m.Params.GetValueOrDefault("remotePort") == serverPort.ToString();
                var open = Receive(udp, m => m.MsgId == "CONN_OPEN" && Ours(m), "the client side opening", sizes);
                Assert.Equal(pid, open.Params["pid"]);
                Assert.Equal((18 * 8 + 6).ToString(), open.Pri);
                Assert.Equal("cmon-conn", open.App);
                Assert.Equal(pid, open.ProcId);
                Assert.Equal(("opened", "TCP", "127.0.0.1", "127.0.0.1", "Established"),
                    (open.Params["change"], open.Params["protocol"], open.Params["localAddress"], open.Params["remoteAddress"], open.Params["state"]));
                Assert.False(open.Params.ContainsKey("finalCounters"));
                Assert.StartsWith("Opened TCP 127.0.0.1:" + clientPort + " -> 127.0.0.1:" + serverPort + " by ", open.Msg);

                // An abortive close (RST): the client's socket goes at once, with no TIME_WAIT row to outlive it, and no
                // FIN, whose sequence number Linux's tcp_info counters count as one more byte (measured: a peer's FIN
                // made bytes_received 1001 for 1000 bytes of payload).
                client.Client.LingerState = new LingerOption(true, 0);
                client.Close();
                server.Close();
                var close = Receive(udp, m => m.MsgId == "CONN_CLOSE" && Ours(m), "the client side closing", sizes);
                Assert.Equal("closed", close.Params["change"]);
                // The connection as last seen: ours, or ownerless when a sample fell between the close of its descriptor
                // and the socket's end (the tracker keeps such a row as the same connection).
                if (close.Params.TryGetValue("pid", out var closedPid)) Assert.Equal(pid, closedPid);
                Assert.Equal("1000", close.Params["bytesSent"]);
                Assert.Equal("500", close.Params["bytesReceived"]);
                // True when the kernel's closing report (root: sock_diag destroy events) reached the tracker before a sample
                // showed the socket gone; false otherwise (then the counts are those of the last sample: the same here,
                // as every byte moved before the Opened record's sample).
                Assert.Contains(close.Params["finalCounters"], new[] { "true", "false" });
                Assert.EndsWith("(sent 1000 B, received 500 B)", close.Msg);
                Assert.All(sizes, s => Assert.InRange(s, 1, SyslogSender.DefaultMaxMessageSize));

                var syslog = session.Alerts.Syslog;
                Assert.True(syslog.Flush(TimeSpan.FromSeconds(5)));
                Assert.True(syslog.Counts(SystemLogRecordKind.Connection).Sent >= 2);
                Assert.Equal(0, syslog.Counts(SystemLogRecordKind.Alert).Sent);
                Assert.Equal(0, syslog.Failed);

                // The counters where a user looks: the metrics exposition.
                var collector = new MetricsCollector(3);
                collector.SetSystemLogs(syslog, null);
                // The records keep coming (this process's other connections open and close), so the rendered count lies
                // between the counts read just before and just after the rendering (a count read after it flaked in CI).
                long sentBefore = syslog.Counts(SystemLogRecordKind.Connection).Sent;
                string text = collector.Render(ExpositionFormat.PrometheusText);
                long sentAfter = syslog.Counts(SystemLogRecordKind.Connection).Sent;
                var rendered = System.Text.RegularExpressions.Regex.Match(text,
                    "\nconnectionsmonitor_system_log_records_total\\{log=\"syslog\",kind=\"connection\",outcome=\"sent\"\\} ([0-9]+)\n");
                Assert.True(rendered.Success, "no syslog connection 'sent' sample in:\n" + text);
                Assert.InRange(long.Parse(rendered.Groups[1].Value), sentBefore, sentAfter);
                Assert.Contains("connectionsmonitor_system_log_records_total{log=\"syslog\",kind=\"alert\",outcome=\"failed\"} 0\n", text);
                Assert.Contains("connectionsmonitor_system_log_records_total{log=\"syslog\",kind=\"connection\",outcome=\"dropped\"} 0\n", text);
            }
            finally { Directory.Delete(dir, true); }
        }

        [LinuxFact]
        public void WithoutAWatcherThereAreNoConnectionRecordsAndTheyStopWithTheLastWatcher()
        {
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            int udpPort = ((IPEndPoint)udp.Client.LocalEndPoint).Port;
            string dir = Path.Combine(Path.GetTempPath(), "cm-connlog-" + Guid.NewGuid().ToString("N"));
            string config = Config(dir, "refreshInterval: 200\nalerts:\n  syslog:\n    enabled: true\n    target: 'udp://127.0.0.1:" + udpPort + "'\n    connectionEvents: all\n");
            try
            {
                TestEnvironment.Isolate();
                using var session = new MonitorSession(new MonitorSessionOptions { DefaultConfigPath = config });
                session.Snapshot(new ConnectionQuery()); // a one-off look starts nothing
                Assert.Null(session.Alerts.ConnectionRecordsMade);
                Assert.False(session.IsSampling);
                Assert.Equal(0, SamplerThreads.Count("cmon-connlog"));
                var watcher = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(200));
                Assert.NotNull(session.Alerts.ConnectionRecordsMade);
                // The OS names a thread a moment after it starts, and lists it a moment after it ends.
                Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count("cmon-connlog") == 1, 5000), "no cmon-connlog thread while watching");
                watcher.Dispose();
                Assert.Null(session.Alerts.ConnectionRecordsMade);
                Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count("cmon-connlog") == 0, 5000), "the cmon-connlog thread outlived the last watcher");
            }
            finally { Directory.Delete(dir, true); }
        }

        [LinuxFact]
        public void AnEventLogConfigurationOnLinuxIsSaidOnceAndWritesNothing()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-connlog-" + Guid.NewGuid().ToString("N"));
            string config = Config(dir, "refreshInterval: 200\nalerts:\n  eventLog:\n    enabled: true\n    connectionEvents: all\n");
            try
            {
                TestEnvironment.Isolate();
                using var session = new MonitorSession(new MonitorSessionOptions { DefaultConfigPath = config });
                using (session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(200)))
                {
                    Assert.Null(session.Alerts.EventLog);
                    Assert.Null(session.Alerts.ConnectionRecordsMade);
                    Assert.Equal(new[]
                    {
                        "alerts.eventLog.enabled is true, but the Windows Event Log exists only on Windows: nothing is written to it on this system (alerts.syslog is the system log here).",
                    }, session.Alerts.TakeWarnings().Where(w => w.Contains("eventLog")).ToArray());
                }
                using (session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(200)))
                    Assert.DoesNotContain(session.Alerts.TakeWarnings(), w => w.Contains("eventLog"));
            }
            finally { Directory.Delete(dir, true); }
        }
    }
}
