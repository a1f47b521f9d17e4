using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Engine.History;
using ConnectionsMonitor.Host;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Service
{
    /// <summary>cmon --service: its command line, and the built executable run as a child process, stopped with SIGTERM.</summary>
    public class ServiceModeTests
    {
        private const int SIGTERM = 15;

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int sig);

        private static string Cmon => Path.Combine(Repo.Root, "src", "ConnectionsMonitor.Host", "bin", Repo.Configuration, "net10.0", "cmon");

        [Fact]
        public void ArgumentsAreParsedAndMistakesSayWhatIsExpected()
        {
            var ok = ServiceMode.Parse(new[] { "--service", "--config", "c.yml", "--history", "/var/h.db" }, "/tmp/here");
            Assert.Null(ok.Error);
            Assert.Equal("/tmp/here/c.yml", ok.ConfigPath);
            Assert.Equal("/var/h.db", ok.HistoryPath);
            var none = ServiceMode.Parse(new[] { "--service" }, "/tmp");
            Assert.Null(none.Error);
            Assert.Null(none.ConfigPath);
            Assert.Null(none.HistoryPath);
            Assert.Contains("--config needs a path after it", ServiceMode.Parse(new[] { "--service", "--config" }, "/tmp").Error);
            Assert.Contains("--history needs a path", ServiceMode.Parse(new[] { "--service", "--history", "--config", "x" }, "/tmp").Error);
            Assert.Contains("given twice", ServiceMode.Parse(new[] { "--service", "--config", "a", "--config", "b" }, "/tmp").Error);
            Assert.Contains("expected --config PATH and/or --history PATH", ServiceMode.Parse(new[] { "--service", "-Command" }, "/tmp").Error);
            Assert.True(ServiceMode.IsRequested(new[] { "--service" }));
            Assert.False(ServiceMode.IsRequested(new[] { "Get-MonitoredConnection", "--service" }));
        }

        [Fact]
        public void TheJournalGetsSdDaemonPrefixesOnEveryLine()
        {
            var w = new StringWriter();
            new StderrLog(w, journal: true).Write(Engine.Service.ServiceLogLevel.Warning, "one\ntwo");
            new StderrLog(w, journal: true).Write(Engine.Service.ServiceLogLevel.Error, "three");
            Assert.Equal("<4>one\n<4>two\n<3>three\n", w.ToString());
            var plain = new StringWriter();
            new StderrLog(plain, journal: false).Write(Engine.Service.ServiceLogLevel.Info, "hello");
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ info: hello\n$", plain.ToString());
        }

        private sealed class Child : IDisposable
        {
            public Process Process;
            public readonly System.Text.StringBuilder Err = new System.Text.StringBuilder();
            public void Dispose()
            {
                try { if (!Process.HasExited) Process.Kill(); } catch (InvalidOperationException) { }
                Process.Dispose();
            }
            public string Stderr { get { lock (Err) return Err.ToString(); } }
        }

        private static Child Start(string dir, params string[] args)
        {
            Assert.True(File.Exists(Cmon), "cmon not built: " + Cmon);
            var psi = new ProcessStartInfo(Cmon) { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = dir };
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["JOURNAL_STREAM"] = "8:12345"; // as systemd sets it when stderr is the journal
            psi.Environment.Remove("CONNECTIONSMONITOR_CONFIG");
            var child = new Child { Process = new Process { StartInfo = psi } };
            child.Process.ErrorDataReceived += (s, e) => { if (e.Data != null) lock (child.Err) child.Err.Append(e.Data).Append('\n'); };
            child.Process.Start();
            child.Process.BeginErrorReadLine();
            return child;
        }

        private static void WaitFor(Func<bool> condition, TimeSpan timeout, Func<string> what)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                Assert.True(clock.Elapsed < timeout, "timed out waiting: " + what());
                Thread.Sleep(50);
            }
        }

        private static void ReadExactly(Socket s, int count)
        {
            var buffer = new byte[65536];
            int got = 0;
            while (got < count) got += s.Receive(buffer, Math.Min(buffer.Length, count - got), SocketFlags.None);
        }

        /// <summary>
        /// The real thing: the built cmon --service with a temporary config and history, a loopback TCP connection that
        /// moves known bytes each way while it records, SIGTERM; it exits 0, logged its start and stop with journald
        /// priorities, and the history holds the connection with exactly those bytes and the machine totals.
        /// </summary>
        [LinuxFact]
        public void TheServiceRecordsALoopbackConnectionAndStopsCleanlyOnSigterm()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svc-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                File.WriteAllText(Path.Combine(dir, "config.yml"), "refreshInterval: 200\n");
                string history = Path.Combine(dir, "state", "history.db");
                const int Sent = 123_457, Received = 54_321;
                using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                listener.Listen(1);
                int port = ((IPEndPoint)listener.LocalEndPoint).Port;

                using var child = Start(dir, "--service", "--config", "config.yml", "--history", history);
                WaitFor(() => child.Stderr.Contains("<6>Started"), TimeSpan.FromSeconds(60), () => "no start line; stderr: " + child.Stderr);
                Assert.Contains("recording every 0.2 s into '" + history + "'", child.Stderr);

                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                client.Connect(IPAddress.Loopback, port);
                using var server = listener.Accept();
                int clientPort = ((IPEndPoint)client.LocalEndPoint).Port;
                client.Send(new byte[Sent]);
                ReadExactly(server, Sent);
                server.Send(new byte[Received]);
                ReadExactly(client, Received);
                // Two samples taken after the bytes moved (on a busy machine a read of the table can take a while),
                // the connection still open; the history is read as any session would, while the service writes.
                var moved = DateTime.UtcNow;
                WaitFor(() =>
                {
                    if (!File.Exists(history)) return false;
                    using var reader = HistoryStore.OpenReader(history);
                    return reader.QueryTotals(new HistoryQuery { Kind = HistoryKind.Totals, SinceUtc = moved }).Count >= 2;
                }, TimeSpan.FromSeconds(60), () => "no samples after the transfer; stderr: " + child.Stderr);

                Assert.False(child.Process.HasExited, "the service ended on its own: " + child.Stderr);
                Assert.Equal(0, kill(child.Process.Id, SIGTERM));
                Assert.True(child.Process.WaitForExit(30_000), "no exit within 30 s of SIGTERM; stderr: " + child.Stderr);
                child.Process.WaitForExit(); // drains stderr
                Assert.True(child.Process.ExitCode == 0, "exit " + child.Process.ExitCode + "; stderr: " + child.Stderr);
                string err = child.Stderr;
                Assert.Contains("<6>Stopping (asked to stop).", err);
                var stopped = System.Text.RegularExpressions.Regex.Match(err, @"<6>Stopped: (\d+) sample\(s\) written to '" + System.Text.RegularExpressions.Regex.Escape(history) + "'");
                Assert.True(stopped.Success, "no stop line; stderr: " + err);
                Assert.DoesNotContain("<3>", err);
                Assert.All(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Matches(@"^<[3-6]>", l));

                using var store = HistoryStore.OpenReader(history);
                var lives = store.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection });
                var ours = lives.SingleOrDefault(r => r.Protocol == "TCP" && r.LocalPort == clientPort && r.RemotePort == port);
                Assert.True(ours != null, "the client's connection is not in the history (" + lives.Count + " rows); rows with its ports: " +
                    string.Join("; ", lives.Where(r => r.LocalPort == clientPort || r.RemotePort == port || r.LocalPort == port).Select(r => r.Protocol + " " + r.LocalPort + "->" + r.RemotePort + " " + r.State)));
                Assert.Equal(Sent, ours.BytesSent);
                Assert.Equal(Received, ours.BytesReceived);
                Assert.True(ours.ClosedByRecorderStop, "a connection open at the stop is closed as ended by the stop");
                Assert.Equal(Process.GetCurrentProcess().Id, ours.ProcessId);
                var totals = store.QueryTotals(new HistoryQuery { Kind = HistoryKind.Totals });
                // One totals row per sample written, as the stop line counts them (at least the two waited for).
                Assert.Equal(int.Parse(stopped.Groups[1].Value), totals.Count);
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>
        /// config.yml's alert rules run in the service: a connection into a "suspicious" local port fires
        /// config.suspiciousPorts (logged as a notice, <c>&lt;5&gt;</c>), the rule's webhook answers 400, and the
        /// failed delivery is logged as a warning with the reason and no URL.
        /// </summary>
        [LinuxFact]
        public void ConfiguredAlertRulesFireAndAFailedWebhookIsLogged()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svc-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                using var hook = new LocalHttpServer();
                hook.Script("/hook/secret-token", LocalHttpServer.Response.Answer(400));
                using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                listener.Listen(1);
                int port = ((IPEndPoint)listener.LocalEndPoint).Port;
                File.WriteAllText(Path.Combine(dir, "config.yml"),
                    "refreshInterval: 200\nalerts:\n  enabled: true\n  deadLetterPath: '" + Path.Combine(dir, "dead.jsonl") + "'\n" +
                    "  webhooks:\n    - url: '" + hook.BaseUri + "hook/secret-token'\n" +
                    "  conditions:\n    suspiciousPorts: [" + port + "]\n    newForeignConnections: false\n    maxConnections: 0\n    maxBandwidth: 0\n");

                using var child = Start(dir, "--service", "--config", "config.yml", "--history", Path.Combine(dir, "h.db"));
                WaitFor(() => child.Stderr.Contains("<6>Started"), TimeSpan.FromSeconds(60), () => "no start line; stderr: " + child.Stderr);
                Assert.Contains("1 alert rule(s): config.suspiciousPorts; no metrics endpoint (metrics.enabled is false); no system log (alerts.syslog and alerts.eventLog are off); no dashboard (dashboard.enabled is false).", child.Stderr);
                Thread.Sleep(600); // the listener is in the rule's first sample (the baseline)
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                client.Connect(IPAddress.Loopback, port);
                using var server = listener.Accept();
                WaitFor(() => child.Stderr.Contains("<5>Alert config.suspiciousPorts (Firing)"), TimeSpan.FromSeconds(30), () => "no alert; stderr: " + child.Stderr);
                WaitFor(() => child.Stderr.Contains("webhook message(s) not delivered"), TimeSpan.FromSeconds(60), () => "no delivery failure; stderr: " + child.Stderr);
                string err = child.Stderr;
                Assert.Matches(@"<4>Alert config\.suspiciousPorts: 1 webhook message\(s\) not delivered: .*400", err);
                Assert.DoesNotContain("secret-token", err); // webhook URLs are secrets

                Assert.Equal(0, kill(child.Process.Id, SIGTERM));
                Assert.True(child.Process.WaitForExit(30_000), "no exit after SIGTERM; stderr: " + child.Stderr);
                child.Process.WaitForExit();
                Assert.Equal(0, child.Process.ExitCode);
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>
        /// alerts.syslog in the service: a config rule's alert and the connection records (connectionEvents: [opened]) reach a
        /// real UDP syslog listener as RFC 5424; the Started line names the target, the stop line gives the totals.
        /// </summary>
        [LinuxFact]
        public void TheServiceSendsConfiguredAlertsAndConnectionRecordsToSyslog()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svc-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                using var syslog = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
                int syslogPort = ((IPEndPoint)syslog.Client.LocalEndPoint).Port;
                using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                listener.Listen(1);
                int port = ((IPEndPoint)listener.LocalEndPoint).Port;
                File.WriteAllText(Path.Combine(dir, "config.yml"),
                    "refreshInterval: 200\nalerts:\n  enabled: true\n" +
                    "  syslog:\n    enabled: true\n    target: 'udp://127.0.0.1:" + syslogPort + "'\n    facility: local1\n    connectionEvents: [opened]\n" +
                    "  conditions:\n    suspiciousPorts: [" + port + "]\n    newForeignConnections: false\n    maxConnections: 0\n    maxBandwidth: 0\n");

                using var child = Start(dir, "--service", "--config", "config.yml", "--history", Path.Combine(dir, "h.db"));
                WaitFor(() => child.Stderr.Contains("<6>Started"), TimeSpan.FromSeconds(60), () => "no start line; stderr: " + child.Stderr);
                Assert.Contains("; syslog to udp://127.0.0.1:" + syslogPort + " (alerts; connection records: opened); no dashboard (dashboard.enabled is false).", child.Stderr);
                Thread.Sleep(600); // the listener is in the rule's first sample (the baseline)
                // A connection opened before the connection records' first sample is part of their baseline and is never
                // "opened" (on a loaded machine that sample came late: the record never arrived in CI's loop). So while no
                // record of ours has come, one more connection every 3 s; each is ours, with its own client port.
                var clients = new List<(Socket Client, Socket Server, int Port)>();
                void Connect()
                {
                    var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    c.Connect(IPAddress.Loopback, port);
                    clients.Add((c, listener.Accept(), ((IPEndPoint)c.LocalEndPoint).Port));
                }
                Connect();
                syslog.Client.ReceiveTimeout = 3000;
                ConnectionsMonitor.Tests.Alerts.Delivery.SyslogTests.Parsed alert = null, opened = null;
                var until = DateTime.UtcNow.AddSeconds(45);
                while ((alert == null || opened == null) && DateTime.UtcNow < until)
                {
                    IPEndPoint from = null;
                    byte[] datagram;
                    try { datagram = syslog.Receive(ref from); }
                    catch (SocketException) { if (opened == null) Connect(); continue; } // 3 s without a message
                    var m = ConnectionsMonitor.Tests.Alerts.Delivery.SyslogTests.Parse(System.Text.Encoding.UTF8.GetString(datagram));
                    Assert.Equal(child.Process.Id.ToString(), m.ProcId);
                    if (m.SdId == "connectionsmonitor@32473") alert ??= m;
                    else if (m.MsgId == "CONN_OPEN" && clients.Any(c => m.Params.GetValueOrDefault("localPort") == c.Port.ToString()) && m.Params.GetValueOrDefault("remotePort") == port.ToString())
                        opened = m;
                }
                foreach (var c in clients) { c.Client.Dispose(); c.Server.Dispose(); }
                Assert.NotNull(alert);
                Assert.Equal((17 * 8 + 4).ToString(), alert.Pri);
                Assert.Equal("config.suspiciousPorts", alert.Params["rule"]);
                Assert.Equal("firing", alert.Params["status"]);
                Assert.NotNull(opened);
                Assert.Equal((17 * 8 + 6).ToString(), opened.Pri);
                Assert.Equal(Environment.ProcessId.ToString(), opened.Params["pid"]); // this test process owns the client socket

                Assert.Equal(0, kill(child.Process.Id, SIGTERM));
                Assert.True(child.Process.WaitForExit(30_000), "no exit after SIGTERM; stderr: " + child.Stderr);
                child.Process.WaitForExit();
                Assert.Equal(0, child.Process.ExitCode);
                Assert.Matches("System log totals: syslog udp://127\\.0\\.0\\.1:" + syslogPort + ": alerts [1-9][0-9]* sent, 0 failed, 0 dropped; connection records [1-9][0-9]* sent, 0 failed, 0 dropped\\.", child.Stderr);
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>
        /// monitoring.trackHistory: false keeps no history: no file is made, not even at --history (which the log says is
        /// not written), while the auto-export the configuration asks for still writes its files; SIGTERM stops it cleanly.
        /// </summary>
        [LinuxFact]
        public void WithTrackHistoryFalseNoHistoryFileIsMadeAndTheAutoExportStillRuns()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svc-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string history = Path.Combine(dir, "h.db"), exports = Path.Combine(dir, "exports");
                File.WriteAllText(Path.Combine(dir, "config.yml"),
                    "refreshInterval: 200\nmonitoring:\n  trackHistory: false\n" +
                    "dashboard:\n  export:\n    autoExport: true\n    exportInterval: 1000\n    exportPath: exports\n    formats: [json]\n");
                using var child = Start(dir, "--service", "--config", "config.yml", "--history", history);
                WaitFor(() => child.Stderr.Contains("<6>Started"), TimeSpan.FromSeconds(60), () => "no start line; stderr: " + child.Stderr);
                Assert.Contains("<4>The history file '" + history + "' is not written: monitoring.trackHistory is false.", child.Stderr);
                Assert.Contains("; no history (monitoring.trackHistory is false), only the auto-export; no alert rules (alerts.enabled is false); no metrics endpoint (metrics.enabled is false); no system log (alerts.syslog and alerts.eventLog are off); no dashboard (dashboard.enabled is false).", child.Stderr);
                WaitFor(() => Directory.Exists(exports) && Directory.GetFiles(exports, "connections-*.json").Length > 0, TimeSpan.FromSeconds(30),
                    () => "no export file; stderr: " + child.Stderr);
                string json = File.ReadAllText(Directory.GetFiles(exports, "connections-*.json")[0]);
                using (var doc = System.Text.Json.JsonDocument.Parse(json))
                    Assert.Equal(System.Text.Json.JsonValueKind.Array, doc.RootElement.ValueKind);

                Assert.Equal(0, kill(child.Process.Id, SIGTERM));
                Assert.True(child.Process.WaitForExit(30_000), "no exit after SIGTERM; stderr: " + child.Stderr);
                child.Process.WaitForExit();
                Assert.Equal(0, child.Process.ExitCode);
                Assert.Contains("<6>Stopped.\n", child.Stderr);
                Assert.DoesNotContain("<3>", child.Stderr);
                Assert.False(File.Exists(history), "a history file was made");
                Assert.Empty(Directory.GetFiles(dir, "*.db*"));
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>
        /// metrics.enabled: the service serves the Prometheus endpoint on the configured port with the token from
        /// metrics.bearerTokenFile; a scrape without it gets 401, with it the gauge of a listener this test opened; the
        /// token never reaches the log; SIGTERM stops the endpoint and logs the scrapes served.
        /// </summary>
        [LinuxFact]
        public async System.Threading.Tasks.Task WithMetricsEnabledTheServiceServesTheEndpointWithTheTokenFromItsFile()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svc-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                const string token = "svc-token-0123456789";
                File.WriteAllText(Path.Combine(dir, "token"), token + "\n");
                int port;
                using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); port = ((IPEndPoint)probe.LocalEndpoint).Port; probe.Stop(); }
                File.WriteAllText(Path.Combine(dir, "config.yml"),
                    "refreshInterval: 200\nmonitoring:\n  trackHistory: false\nmetrics:\n  enabled: true\n  port: " + port +
                    "\n  interval: 1000\n  topProcesses: 1000\n  bearerTokenFile: " + Path.Combine(dir, "token") + "\n");
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                using var child = Start(dir, "--service", "--config", "config.yml");
                WaitFor(() => child.Stderr.Contains("<6>Started") || child.Process.HasExited, TimeSpan.FromSeconds(60), () => "no start line; stderr: " + child.Stderr);
                Assert.Contains("; metrics at http://127.0.0.1:" + port + "/metrics every 1 s (bearer token required); no system log (alerts.syslog and alerts.eventLog are off); no dashboard (dashboard.enabled is false).", child.Stderr);

                using var http = new System.Net.Http.HttpClient();
                string url = "http://127.0.0.1:" + port + "/metrics";
                Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(url)).StatusCode);
                var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, url);
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
                using var answer = await http.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                string text = await answer.Content.ReadAsStringAsync();
                string me = Process.GetCurrentProcess().ProcessName;
                Assert.Matches("\nconnectionsmonitor_process_connections\\{process=\"" + System.Text.RegularExpressions.Regex.Escape(me) + "\"\\} [1-9][0-9]*\n", text);
                listener.Stop();

                Assert.Equal(0, kill(child.Process.Id, SIGTERM));
                Assert.True(child.Process.WaitForExit(30_000), "no exit after SIGTERM; stderr: " + child.Stderr);
                child.Process.WaitForExit();
                Assert.Equal(0, child.Process.ExitCode);
                Assert.Contains("<6>Metrics endpoint stopped: 1 scrape(s) served.", child.Stderr);
                Assert.DoesNotContain(token, child.Stderr);
                Assert.DoesNotContain("<3>", child.Stderr);
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>
        /// dashboard.enabled: the service serves the dashboard on loopback; its address with the token is in dashboard.url
        /// beside the history file, never in the log; the token opens the page, nothing else does; SIGTERM stops it and
        /// removes the file.
        /// </summary>
        [LinuxFact]
        public async System.Threading.Tasks.Task WithTheDashboardEnabledTheServiceServesItAndKeepsItsAddressInAFileNotTheLog()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svc-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                int port;
                using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); port = ((IPEndPoint)probe.LocalEndpoint).Port; probe.Stop(); }
                File.WriteAllText(Path.Combine(dir, "config.yml"), "refreshInterval: 500\ndashboard:\n  enabled: true\n  port: " + port + "\n");
                string history = Path.Combine(dir, "history.db");
                using var child = Start(dir, "--service", "--config", "config.yml", "--history", history);
                WaitFor(() => child.Stderr.Contains("<6>Started") || child.Process.HasExited, TimeSpan.FromSeconds(60), () => "no start line; stderr: " + child.Stderr);
                string file = Path.Combine(dir, "dashboard.url");
                Assert.Contains("; dashboard at http://127.0.0.1:" + port + "/ (its address with the token is in '" + file + "', readable by root).", child.Stderr);
                string launch = File.ReadAllText(file).TrimEnd('\n');
                Assert.Matches("^http://127\\.0\\.0\\.1:" + port + "/\\?token=[A-Za-z0-9_-]{43}$", launch);
                string token = launch.Substring(launch.IndexOf("token=", StringComparison.Ordinal) + 6);
                Assert.DoesNotContain(token, child.Stderr);

                using var http = new System.Net.Http.HttpClient(new System.Net.Http.HttpClientHandler { UseCookies = false, AllowAutoRedirect = false });
                Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("http://127.0.0.1:" + port + "/")).StatusCode);
                string cookie, key;
                using (var swap = await http.GetAsync(launch))
                {
                    Assert.Equal(HttpStatusCode.SeeOther, swap.StatusCode);
                    cookie = swap.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
                    key = swap.Headers.Location.OriginalString.Substring("/#k=".Length);
                }
                var page = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, "http://127.0.0.1:" + port + "/api/history?range=1h");
                page.Headers.Add("Cookie", cookie);
                page.Headers.Add("X-Dashboard-Key", key);
                using var answer = await http.SendAsync(page);
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                using var json = System.Text.Json.JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
                Assert.Equal(history, json.RootElement.GetProperty("file").GetString()); // the graphs read what the service records

                Assert.Equal(0, kill(child.Process.Id, SIGTERM));
                Assert.True(child.Process.WaitForExit(30_000), "no exit after SIGTERM; stderr: " + child.Stderr);
                child.Process.WaitForExit();
                Assert.Equal(0, child.Process.ExitCode);
                Assert.Contains("<6>Dashboard stopped: ", child.Stderr);
                Assert.False(File.Exists(file), "dashboard.url is left behind");
                Assert.DoesNotContain("<3>", child.Stderr);
            }
            finally { Directory.Delete(dir, true); }
        }

        [LinuxFact]
        public void AConfigurationMistakeExitsWithTwoAndNamesTheKey()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svc-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                File.WriteAllText(Path.Combine(dir, "bad.yml"), "refreshInterval: fast\n");
                using var child = Start(dir, "--service", "--config", "bad.yml", "--history", Path.Combine(dir, "h.db"));
                Assert.True(child.Process.WaitForExit(60_000));
                child.Process.WaitForExit();
                Assert.Equal(2, child.Process.ExitCode);
                Assert.Contains("<3>Not started: the configuration cannot be used.", child.Stderr);
                Assert.Contains("refreshInterval", child.Stderr);
                Assert.False(File.Exists(Path.Combine(dir, "h.db")), "nothing is half-started");
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>One writer per history file: with the file held by another recorder the service says so and exits 1 (systemd retries).</summary>
        [LinuxFact]
        public void AHistoryFileRecordedElsewhereIsRefusedWithTheOtherRecordersPid()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svc-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string history = Path.Combine(dir, "h.db");
                using (HistoryStore.OpenWriter(history, new HistoryOptions()))
                {
                    using var child = Start(dir, "--service", "--history", history);
                    Assert.True(child.Process.WaitForExit(60_000));
                    child.Process.WaitForExit();
                    Assert.Equal(1, child.Process.ExitCode);
                    Assert.Contains("<3>Not started: The history file '" + history + "' is being recorded by another process (PID " + Environment.ProcessId + ")", child.Stderr);
                }
            }
            finally { Directory.Delete(dir, true); }
        }
    }
}
