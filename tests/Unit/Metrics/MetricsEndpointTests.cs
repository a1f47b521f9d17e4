using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Metrics;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Web;
using ConnectionsMonitor.Tests.Session;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Metrics
{
    /// <summary>Debian's prometheus package: promtool and the server. Missing is a failure that names the package, never a skip.</summary>
    internal static class PrometheusTools
    {
        public static string Find(string name)
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(new[] { "/usr/bin", "/usr/local/bin" }))
            {
                if (dir.Length == 0) continue;
                var path = Path.Combine(dir, name);
                if (File.Exists(path)) return path;
            }
            Assert.Fail(name + " was not found on PATH: install Debian's 'prometheus' package (apt-get install prometheus; tests/run.sh installs it when run as root).");
            return null;
        }

        public static (int Exit, string Output) Run(string file, string arguments, string stdin)
        {
            var psi = new ProcessStartInfo(file, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
            Assert.True(p.WaitForExit(60_000), file + " did not finish within 60 s");
            return (p.ExitCode, stdout.Result + stderr.Result);
        }
    }

    /// <summary>
    /// A python3 child under a name of the test's choosing (through a symlink, so the kernel's comm is that name) that
    /// listens on <c>count</c> loopback TCP ports until it is disposed.
    /// </summary>
    internal sealed class ChildListeners : IDisposable
    {
        private readonly Process _process;
        private readonly string _dir;

        public ChildListeners(int count)
        {
            Name = "cml" + Guid.NewGuid().ToString("N").Substring(0, 8);
            _dir = Path.Combine(Path.GetTempPath(), "cm-listen-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_dir);
            var link = Path.Combine(_dir, Name);
            File.CreateSymbolicLink(link, PrometheusPython());
            var psi = new ProcessStartInfo(link) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("import socket, sys\nl = []\nfor i in range(" + count + "):\n  s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); l.append(s)\nprint(' '.join(str(s.getsockname()[1]) for s in l), flush=True)\nsys.stdin.read()\n");
            _process = Process.Start(psi);
            Ports = _process.StandardOutput.ReadLine().Split(' ').Select(int.Parse).ToArray();
        }

        private static string PrometheusPython()
        {
            foreach (var p in new[] { "/usr/bin/python3", "/usr/local/bin/python3" }) if (File.Exists(p)) return p;
            Assert.Fail("python3 was not found (apt-get install python3; tests/run.sh installs it)");
            return null;
        }

        /// <summary>The child's process name (comm).</summary>
        public string Name { get; }

        /// <summary>The ports it listens on.</summary>
        public int[] Ports { get; }

        public void Dispose()
        {
            try { _process.StandardInput.Close(); _process.WaitForExit(5000); } catch (Exception) { }
            try { if (!_process.HasExited) _process.Kill(); } catch (Exception) { }
            _process.Dispose();
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }
    }

    /// <summary>The endpoint over HTTP: promtool accepts what it serves, a real Prometheus scrapes it with a bearer token, and the token rules hold.</summary>
    [Collection(SamplerThreads.Name)]
    public sealed class MetricsEndpointTests
    {
        private static MonitorSession Replay() =>
            new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => ReplayPlatform.Parse(ReplayScripts.Traffic) });

        private static MetricsEndpointOptions Options(string token = null, TimeSpan? interval = null, int top = 10) =>
            new MetricsEndpointOptions { Port = 0, BearerToken = token, Interval = interval ?? TimeSpan.FromSeconds(1), TopProcesses = top };

        /// <summary>
        /// A fault in taking a sample in (a bug of the module's own) ends the updates, not the process: left unhandled on the
        /// endpoint's thread it would end the test host here, and PowerShell or the service for a user. Scrapes get the last
        /// figures and the state says why.
        /// </summary>
        [Fact]
        public async Task AFaultInTakingASampleStopsTheUpdatesNotTheProcess()
        {
            using var session = Replay();
            var state = session.Metrics.Start(Options(), new ConnectionQuery());
            Assert.True(SpinWait.SpinUntil(() => session.Metrics.State.Samples >= 1, TimeSpan.FromSeconds(30)), "no sample came");
            session.Metrics.BeforeSample = _ => { session.Metrics.BeforeSample = null; throw new InvalidOperationException("a test's fault"); }; // once: later samples would be taken
            Assert.True(SpinWait.SpinUntil(() => session.Metrics.State.Failure != null, TimeSpan.FromSeconds(30)), "no fault was reported");
            Assert.Equal("Metrics: updates stopped after a fault (InvalidOperationException: a test's fault); scrapes get the last figures until the endpoint is started again.",
                session.Metrics.State.Failure);
            long samples = session.Metrics.State.Samples;
            Thread.Sleep(2500); // two and a half intervals
            Assert.Equal(samples, session.Metrics.State.Samples);
            Assert.True(session.IsSampling); // its feed stays subscribed (a watcher keeps config.yml's alert rules running), its samples unused

            using var http = new HttpClient();
            Assert.Contains("connectionsmonitor_process_connections{process=\"web\"}", await http.GetStringAsync(state.Url)); // the last figures
            Assert.Contains(session.Metrics.TakeWarnings(), w => w.StartsWith("Metrics: updates stopped after a fault", StringComparison.Ordinal));
            session.Metrics.Stop();
            Assert.True(SpinWait.SpinUntil(() => !session.IsSampling, TimeSpan.FromSeconds(10)), "the sampler kept running after the stop");
        }

        /// <summary>
        /// A new endpoint's Samples are its own, as the counters it exposes are: a trial's second endpoint showed the first
        /// one's count (8) while its counters started again from zero.
        /// </summary>
        [Fact]
        public void ANewEndpointCountsItsSamplesFromZero()
        {
            using var session = Replay();
            session.Metrics.Start(Options(interval: TimeSpan.FromMilliseconds(200)), new ConnectionQuery());
            Assert.True(SpinWait.SpinUntil(() => session.Metrics.State.Samples >= 5, TimeSpan.FromSeconds(30)), "no five samples came");
            var first = session.Metrics.Stop();
            Assert.True(first.Samples >= 5);
            var second = session.Metrics.Start(Options(interval: TimeSpan.FromMilliseconds(200)), new ConnectionQuery());
            Assert.InRange(second.Samples, 1, 2); // its first sample, taken before Start returns (and at most one more since)
            session.Metrics.Stop();
        }

        [Fact]
        public async Task PromtoolAcceptsWhatTheEndpointServesInBothFormats()
        {
            string promtool = PrometheusTools.Find("promtool");
            using var session = Replay();
            var state = session.Metrics.Start(Options(), new ConnectionQuery());
            Assert.StartsWith("http://127.0.0.1:", state.Url);
            Assert.EndsWith("/metrics", state.Url);
            using var http = new HttpClient();
            var text = await http.GetStringAsync(state.Url);
            Assert.Contains("connectionsmonitor_process_connections{process=\"web\"}", text);
            var (exit, output) = PrometheusTools.Run(promtool, "check metrics", text);
            Assert.True(exit == 0, "promtool check metrics refused the 0.0.4 text:\n" + output + "\n---\n" + text);
            Assert.Equal("", output.Trim()); // no lint complaints either

            var request = new HttpRequestMessage(HttpMethod.Get, state.Url);
            request.Headers.Accept.ParseAdd("application/openmetrics-text;version=1.0.0");
            using var om = await http.SendAsync(request);
            Assert.Equal("application/openmetrics-text", om.Content.Headers.ContentType.MediaType);
            var omText = await om.Content.ReadAsStringAsync();
            Assert.EndsWith("# EOF\n", omText);
            Assert.Equal(2, session.Metrics.State.ScrapesServed);
            Assert.NotNull(session.Metrics.State.LastScrapeUtc);
            session.Metrics.Stop();
            Assert.False(session.Metrics.IsRunning);
        }

        [Fact]
        public async Task ARealPrometheusScrapesItWithTheBearerTokenAndAnswersAPromQLQueryAboutAListenerTheTestOpened()
        {
            string prometheus = PrometheusTools.Find("prometheus");
            using var listeners = new ChildListeners(3);
            using var session = new MonitorSession(new MonitorSessionOptions());
            const string token = "s3cret-token-for-the-test";
            var state = session.Metrics.Start(Options(token, TimeSpan.FromSeconds(1), top: 1000), new ConnectionQuery());
            Assert.True(state.RequiresBearerToken);

            var dir = Path.Combine(Path.GetTempPath(), "cm-prometheus-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            int webPort = FreePort();
            File.WriteAllText(Path.Combine(dir, "prometheus.yml"),
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: cmon\n    authorization:\n      credentials: " + token +
                "\n    static_configs:\n      - targets: ['127.0.0.1:" + state.Port + "']\n");
            var psi = new ProcessStartInfo(prometheus) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--config.file=" + Path.Combine(dir, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(dir, "data"),
                         "--web.listen-address=127.0.0.1:" + webPort })
                psi.ArgumentList.Add(a);
            var log = new System.Text.StringBuilder();
            using var server = Process.Start(psi);
            server.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
            server.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            try
            {
                using var http = new HttpClient();
                string query = "connectionsmonitor_process_connections{process=\"" + listeners.Name + "\",job=\"cmon\"}";
                string value = null, up = null;
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromSeconds(60) && (value == null || up != "1"))
                {
                    await Task.Delay(500);
                    if (server.HasExited) break;
                    value = await Query(http, webPort, query);
                    up = await Query(http, webPort, "up{job=\"cmon\"}");
                }
                string logText;
                lock (log) logText = log.ToString();
                Assert.True(up == "1", "Prometheus did not scrape the endpoint (up = " + (up ?? "none") + ") within 60 s; its log:\n" + logText);
                Assert.Equal("3", value);
                // The listeners' ports are a TCP listener's each: the gauge of listening TCP ports counts at least those.
                var listening = await Query(http, webPort, "connectionsmonitor_listening_ports{protocol=\"tcp\",job=\"cmon\"}");
                Assert.True(double.Parse(listening, System.Globalization.CultureInfo.InvariantCulture) >= 3);
                Assert.True(session.Metrics.State.ScrapesServed >= 1);
                Assert.Equal(0, session.Metrics.State.Unauthorized);

                // Every query of the Grafana dashboard (docs/) is valid PromQL and finds these metrics.
                using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "docs", "grafana-connectionsmonitor.json")));
                int queries = 0;
                foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
                    foreach (var target in panel.GetProperty("targets").EnumerateArray())
                    {
                        string expr = target.GetProperty("expr").GetString().Replace("$instance", ".+").Replace("$__rate_interval", "10s");
                        // A rate needs two scrapes within its window: ask again for a while.
                        var until = DateTime.UtcNow.AddSeconds(20);
                        while (true)
                        {
                            var json = await http.GetStringAsync("http://127.0.0.1:" + webPort + "/api/v1/query?query=" + Uri.EscapeDataString(expr));
                            using var answer = JsonDocument.Parse(json);
                            Assert.True(answer.RootElement.GetProperty("status").GetString() == "success", panel.GetProperty("title").GetString() + ": " + json);
                            if (expr.Contains("alert") || answer.RootElement.GetProperty("data").GetProperty("result").GetArrayLength() > 0) break; // no alert rules here: those have no series
                            Assert.True(DateTime.UtcNow < until, panel.GetProperty("title").GetString() + " found nothing within 20 s: " + expr);
                            await Task.Delay(500);
                        }
                        queries++;
                    }
                Assert.Equal(16, queries);
            }
            finally
            {
                try { server.Kill(); server.WaitForExit(10_000); } catch (Exception) { }
                session.Metrics.Stop();
                try { Directory.Delete(dir, true); } catch (IOException) { }
            }
        }

        /// <summary>The value of a PromQL instant query's single result, or null while there is none.</summary>
        private static async Task<string> Query(HttpClient http, int port, string promql)
        {
            try
            {
                var json = await http.GetStringAsync("http://127.0.0.1:" + port + "/api/v1/query?query=" + Uri.EscapeDataString(promql));
                using var doc = JsonDocument.Parse(json);
                var result = doc.RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() == 0) return null;
                return result[0].GetProperty("value")[1].GetString();
            }
            catch (HttpRequestException) { return null; } // not up yet
        }

        private static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            int port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        [Fact]
        public async Task WithABearerTokenRequestsWithoutOrWithAWrongTokenGet401AndTheRightOneGets200()
        {
            using var session = Replay();
            var state = session.Metrics.Start(Options("right-token"), new ConnectionQuery());
            using var http = new HttpClient();
            using (var none = await http.GetAsync(state.Url))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
                Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
                Assert.DoesNotContain("right-token", await none.Content.ReadAsStringAsync());
            }
            foreach (var wrong in new[] { "wrong-token", "right-toke", "right-token-", "" })
            {
                var r = new HttpRequestMessage(HttpMethod.Get, state.Url);
                r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", wrong.Length == 0 ? null : wrong);
                using var answer = await http.SendAsync(r);
                Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
            }
            var ok = new HttpRequestMessage(HttpMethod.Get, state.Url);
            ok.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "right-token");
            using (var answer = await http.SendAsync(ok))
            {
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                Assert.Contains("connectionsmonitor_connections{", await answer.Content.ReadAsStringAsync());
            }
            var s = session.Metrics.State;
            Assert.Equal(1, s.ScrapesServed);
            Assert.Equal(5, s.Unauthorized);
            Assert.True(s.RequiresBearerToken);
            Assert.DoesNotContain("right-token", string.Join(" ", typeof(MetricsEndpointState).GetProperties().Select(p => Convert.ToString(p.GetValue(s)))));
        }

        [Fact]
        public void AnotherAddressWithoutATokenIsRefusedAtStartAndNothingListens()
        {
            using var session = Replay();
            var ex = Assert.Throws<HttpEndpointException>(() => session.Metrics.Start(new MetricsEndpointOptions { Port = 0, Address = IPAddress.Any, Interval = TimeSpan.FromSeconds(1) }, new ConnectionQuery()));
            Assert.Equal(HttpEndpointFailure.TokenRequired, ex.Failure);
            Assert.False(session.Metrics.IsRunning);
            Assert.False(session.IsSampling); // the subscription was given back
        }

        [Fact]
        public void APortInUseGivesAnErrorThatNamesThePort()
        {
            var busy = new TcpListener(IPAddress.Loopback, 0);
            busy.Start();
            try
            {
                int port = ((IPEndPoint)busy.LocalEndpoint).Port;
                using var session = Replay();
                var ex = Assert.Throws<HttpEndpointException>(() => session.Metrics.Start(new MetricsEndpointOptions { Port = port, Interval = TimeSpan.FromSeconds(1) }, new ConnectionQuery()));
                Assert.Equal(HttpEndpointFailure.PortInUse, ex.Failure);
                Assert.Contains("Port " + port + " is in use", ex.Message);
                Assert.False(session.Metrics.IsRunning);
            }
            finally { busy.Stop(); }
        }

        [LinuxFact]
        public async Task ItListensOnLoopbackOnlyRefusesAForeignHostAndNeverReadsTheTablePerScrape()
        {
            using var session = Replay();
            var state = session.Metrics.Start(Options(interval: TimeSpan.FromHours(1)), new ConnectionQuery());
            // Loopback is 127.0.0.1 and ::1 on one port (::1 where this machine has an IPv6 loopback to bind).
            bool v6 = LoopbackSockets.Ipv6LoopbackBindable();
            var expected = v6 ? new[] { "http://127.0.0.1:" + state.Port + "/", "http://[::1]:" + state.Port + "/" } : new[] { "http://127.0.0.1:" + state.Port + "/" };
            Assert.Equal(expected, state.Prefixes);
            Assert.Equal(v6 ? "127.0.0.1, ::1" : "127.0.0.1", state.Address);
            using var http = new HttpClient();
            foreach (var url in new[] { "http://localhost:" + state.Port + "/metrics" }.Concat(v6 ? new[] { "http://[::1]:" + state.Port + "/metrics" } : new string[0]))
            {
                using var viaName = await http.GetAsync(url);
                string body = await viaName.Content.ReadAsStringAsync();
                Assert.True(body.Contains("connectionsmonitor_samples_total"), "GET " + url + " gave " + (int)viaName.StatusCode + " with " +
                    body.Length + " characters; headers: " + viaName.Headers + viaName.Content.Headers + "; requests the endpoint counted: " + session.Metrics.State.ScrapesServed);
            }
            // DNS rebinding: another name for a loopback port gets 403, and the kept-alive connection serves the next request.
            var rebound = new HttpRequestMessage(HttpMethod.Get, state.Url);
            rebound.Headers.Host = "attacker.example:" + state.Port;
            using (var refused = await http.SendAsync(rebound))
            {
                Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
                Assert.Equal("403 Forbidden: the Host header must name this endpoint (127.0.0.1:" + state.Port + ", localhost:" + state.Port + " or [::1]:" + state.Port +
                    "); another name reaching a loopback port is how a page of another site gets in (DNS rebinding).\n", await refused.Content.ReadAsStringAsync());
            }
            long reads = session.SamplerReads;
            for (int i = 0; i < 20; i++) Assert.Contains("connectionsmonitor_samples_total", await http.GetStringAsync(state.Url));
            Assert.Equal(reads, session.SamplerReads); // scrapes serve the precomputed state
            using var missing = await http.GetAsync("http://127.0.0.1:" + state.Port + "/nothing");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Throws<InvalidOperationException>(() => session.Metrics.Start(Options(), new ConnectionQuery()));
        }
    }
}
