using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Dashboard;
using ConnectionsMonitor.Engine.Export;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Tests.Session;
using Xunit;

namespace ConnectionsMonitor.Tests.Dashboard
{
    /// <summary>The dashboard over real HTTP on loopback, on a scripted platform: the token swap, the refusals, the data and the stream.</summary>
    [Collection(SamplerThreads.Name)]
    public sealed class DashboardServerTests
    {
        private static MonitorSession Replay() =>
            new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => ReplayPlatform.Parse(ReplayScripts.Traffic) });

        private static DashboardState Start(MonitorSession session, double seconds = 1) =>
            session.Dashboard.Start(new DashboardOptions { Port = 0, Interval = TimeSpan.FromSeconds(seconds) }, new ConnectionQuery());

        private static HttpClient Client() => new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };

        private static string TokenOf(DashboardState s) => new Uri(s.LaunchUrl).Query.Substring("?token=".Length);

        // What the page holds after the token swap (a request to the launch address): the Cookie header pair, then after a
        // '|' the page's key from the fragment of the address the swap redirects to. Get and Post send them as the page does.
        private static string CookieOf(DashboardState s)
        {
            using var http = Client();
            using var launch = http.Send(Get(s.LaunchUrl));
            Assert.Equal(HttpStatusCode.SeeOther, launch.StatusCode);
            string key = launch.Headers.Location.OriginalString;
            Assert.StartsWith("/#k=", key);
            return launch.Headers.GetValues("Set-Cookie").Single().Split(';')[0] + "|" + key.Substring("/#k=".Length);
        }

        private static void Credentials(HttpRequestMessage r, string cookie)
        {
            if (cookie == null) return;
            var parts = cookie.Split('|');
            r.Headers.Add("Cookie", parts[0]);
            if (parts.Length > 1) r.Headers.Add("X-Dashboard-Key", parts[1]);
        }

        private static HttpRequestMessage Get(string url, string cookie = null, string host = null)
        {
            var r = new HttpRequestMessage(HttpMethod.Get, url);
            Credentials(r, cookie);
            if (host != null) r.Headers.Host = host;
            return r;
        }

        private static HttpRequestMessage Post(string url, string cookie, string body, string contentType, string origin)
        {
            var r = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
            if (contentType != null) r.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            Credentials(r, cookie);
            if (origin != null) r.Headers.Add("Origin", origin);
            return r;
        }

        /// <summary>
        /// A fault in making a frame (a bug of the module's own) ends the updates, not the process: left unhandled on the
        /// dashboard's thread it would end the test host here, and PowerShell for a user. The pages keep the last update and
        /// the state says why.
        /// </summary>
        [Fact]
        public async Task AFaultInMakingAFrameStopsTheUpdatesNotTheProcess()
        {
            using var session = Replay();
            var state = Start(session);
            Assert.True(SpinWait.SpinUntil(() => session.Dashboard.State.Samples >= 1, TimeSpan.FromSeconds(30)), "no sample came");
            session.Dashboard.BeforeFrame = _ => { session.Dashboard.BeforeFrame = null; throw new InvalidOperationException("a test's fault"); }; // once: later samples would be taken
            Assert.True(SpinWait.SpinUntil(() => session.Dashboard.State.Failure != null, TimeSpan.FromSeconds(30)), "no fault was reported");
            Assert.Equal("Dashboard: updates stopped after a fault (InvalidOperationException: a test's fault); the pages show the last update until the dashboard is started again.",
                session.Dashboard.State.Failure);
            long samples = session.Dashboard.State.Samples;
            Thread.Sleep(2500); // two and a half intervals
            Assert.Equal(samples, session.Dashboard.State.Samples);
            Assert.True(session.IsSampling); // its feed stays subscribed (a watcher keeps config.yml's alert rules running), its samples unused

            using var http = Client();
            using (var last = await http.SendAsync(Get(state.Url + "api/snapshot", CookieOf(state))))
                Assert.Equal(HttpStatusCode.OK, last.StatusCode); // the last update is still served
            Assert.Contains(session.Dashboard.TakeWarnings(), w => w.StartsWith("Dashboard: updates stopped after a fault", StringComparison.Ordinal));
            session.Dashboard.Stop();
            Assert.True(SpinWait.SpinUntil(() => !session.IsSampling, TimeSpan.FromSeconds(10)), "the sampler kept running after the stop");
        }

        [Fact]
        public async Task TheLaunchAddressSwapsTheTokenForACookieAndThePageNeedsIt()
        {
            using var session = Replay();
            var state = Start(session);
            Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", state.Url);
            Assert.Equal(state.Url + "?token=" + TokenOf(state), state.LaunchUrl);
            Assert.Null(session.Dashboard.State.LaunchUrl); // the token is given once

            using var http = Client();
            using var launch = await http.SendAsync(Get(state.LaunchUrl));
            Assert.Equal(HttpStatusCode.SeeOther, launch.StatusCode);
            // To the page, with its key in the fragment (which no server sees); the cookie holds a value of its own, not the token.
            Assert.Matches("^/#k=[A-Za-z0-9_-]{43}$", launch.Headers.Location.OriginalString);
            string key = launch.Headers.Location.OriginalString.Substring(4);
            string setCookie = launch.Headers.GetValues("Set-Cookie").Single();
            Assert.Matches("^cm_dashboard_" + state.Port + "=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$", setCookie);
            Assert.DoesNotContain(TokenOf(state), setCookie);
            Assert.DoesNotContain(key, setCookie);
            string cookie = setCookie.Split(';')[0];
            Assert.Equal(cookie + "|" + key, CookieOf(state)); // one cookie and one key per start, however often the launch address is opened

            // The cookie opens the page, not its data: a browser sends it to every port of 127.0.0.1 (any local server it
            // visits receives it); the data also needs the key, which the page keeps in its origin's storage.
            using (var leaked = await http.SendAsync(Get(state.Url + "api/snapshot", cookie)))
            {
                Assert.Equal(HttpStatusCode.Forbidden, leaked.StatusCode);
                Assert.Contains("the page's key is missing or wrong", await leaked.Content.ReadAsStringAsync());
            }
            using (var leakedStream = await http.SendAsync(Get(state.Url + "api/events", cookie)))
                Assert.Equal(HttpStatusCode.Forbidden, leakedStream.StatusCode);
            using (var withKey = await http.SendAsync(Get(state.Url + "api/snapshot", cookie + "|" + key)))
                Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
            using (var streamKey = await http.SendAsync(Get(state.Url + "api/events?key=" + key, cookie), HttpCompletionOption.ResponseHeadersRead))
                Assert.Equal(HttpStatusCode.OK, streamKey.StatusCode);
            // A cookie that leaked buys no swap either (it is not the token).
            using (var swap = await http.SendAsync(Get(state.Url + "?token=" + cookie.Substring(cookie.IndexOf('=') + 1))))
                Assert.Equal(HttpStatusCode.Forbidden, swap.StatusCode);

            using var page = await http.SendAsync(Get(state.Url, cookie));
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType.MediaType);
            Assert.Contains("<script src=\"/assets/app.js\" defer></script>", await page.Content.ReadAsStringAsync());
            Assert.StartsWith("default-src 'none'; script-src 'self';", page.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal("no-store", page.Headers.CacheControl.ToString());
            Assert.DoesNotContain(page.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));

            using var js = await http.SendAsync(Get(state.Url + "assets/app.js", cookie));
            Assert.Equal("text/javascript", js.Content.Headers.ContentType.MediaType);
            using var traversal = await http.SendAsync(Get(state.Url + "assets/..%2Fapp.js", cookie));
            Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
            Assert.Equal(3, session.Dashboard.State.Refused);
        }

        [Fact]
        public async Task AMissingOrWrongTokenAWrongHostAndACrossOriginPostGet403()
        {
            using var session = Replay();
            var state = Start(session);
            string cookie = CookieOf(state);
            using var http = Client();

            async Task<(HttpStatusCode, string)> Status(HttpRequestMessage r)
            {
                using var response = await http.SendAsync(r);
                return (response.StatusCode, await response.Content.ReadAsStringAsync());
            }

            var (s1, b1) = await Status(Get(state.Url));
            Assert.Equal(HttpStatusCode.Forbidden, s1);
            Assert.Contains("no valid dashboard token", b1);
            Assert.Equal(HttpStatusCode.Forbidden, (await Status(Get(state.Url + "api/snapshot", "cm_dashboard_" + state.Port + "=" + DashboardGuard.NewToken()))).Item1);
            Assert.Equal(HttpStatusCode.Forbidden, (await Status(Get(state.Url + "?token=" + DashboardGuard.NewToken()))).Item1);
            Assert.Equal(HttpStatusCode.Forbidden, (await Status(Get(state.Url + "api/events"))).Item1);
            // DNS rebinding: a page of another site resolves its name to 127.0.0.1. A Host with the right name but another
            // port, and a Host with another name, both get the module's 403 (the endpoint passes every Host to the guard).
            var (s2, b2) = await Status(Get(state.Url, cookie, "127.0.0.1:" + (state.Port == 1 ? 2 : 1)));
            Assert.Equal(HttpStatusCode.Forbidden, s2);
            Assert.Contains("Host header", b2);
            // Whatever the method: the guard runs on the head before the method check.
            using (var rebound = new HttpRequestMessage(HttpMethod.Put, state.Url + "api/snapshot"))
            {
                rebound.Headers.Host = "evil.example:" + state.Port;
                var (s5, b5) = await Status(rebound);
                Assert.Equal(HttpStatusCode.Forbidden, s5);
                Assert.Equal("403 Forbidden: the Host header does not name this dashboard (open it at the address it was started with).\n", b5);
            }
            var (s3, b3) = await Status(Get(state.Url + "api/snapshot", cookie, "evil.example:" + state.Port));
            Assert.Equal(HttpStatusCode.Forbidden, s3);
            Assert.Equal("403 Forbidden: the Host header does not name this dashboard (open it at the address it was started with).\n", b3);
            // The same kept-alive connection serves the next request (HttpListener, which this endpoint replaced, broke it).
            var (s4, b4) = await Status(Get(state.Url + "api/snapshot", cookie));
            Assert.Equal(HttpStatusCode.OK, s4);
            Assert.Contains("\"rows\"", b4);

            const string body = "{\"format\":\"csv\",\"keys\":null}";
            Assert.Equal(HttpStatusCode.Forbidden, (await Status(Post(state.Url + "api/export", cookie, body, "application/json", "http://evil.example"))).Item1);
            Assert.Equal(HttpStatusCode.Forbidden, (await Status(Post(state.Url + "api/export", cookie, body, "text/plain", "http://127.0.0.1:" + state.Port))).Item1);
            Assert.Equal(HttpStatusCode.Forbidden, (await Status(Post(state.Url + "api/export", null, body, "application/json", "http://127.0.0.1:" + state.Port))).Item1);
            Assert.Equal(10, session.Dashboard.State.Refused);

            // A method the dashboard has no use for: 403 unless the guard would admit it (JSON from the page's origin), then 405.
            using var put = new HttpRequestMessage(HttpMethod.Put, state.Url);
            Credentials(put, cookie);
            Assert.Equal(HttpStatusCode.Forbidden, (await Status(put)).Item1);
            using var samePut = new HttpRequestMessage(HttpMethod.Put, state.Url) { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
            Credentials(samePut, cookie);
            samePut.Headers.Add("Origin", "http://127.0.0.1:" + state.Port);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, (await Status(samePut)).Item1);
            Assert.Equal(11, session.Dashboard.State.Refused);
        }

        /// <summary>A new dashboard's Samples are its own (a second one showed the first one's count added to its own).</summary>
        [Fact]
        public void ANewDashboardCountsItsSamplesFromZero()
        {
            using var session = Replay();
            Start(session, 0.2);
            Assert.True(SpinWait.SpinUntil(() => session.Dashboard.State.Samples >= 5, TimeSpan.FromSeconds(30)), "no five samples came");
            Assert.True(session.Dashboard.Stop().Samples >= 5);
            var second = Start(session, 0.2);
            Assert.InRange(second.Samples, 1, 2); // its first sample, taken before Start returns (and at most one more since)
            session.Dashboard.Stop();
        }

        /// <summary>config.yml's dashboard.export.enabled and formats hold for the page too (a newcomer's trial: both exports worked with them off).</summary>
        [Fact]
        public async Task OnlyTheExportFormatsTheConfigurationAllowsAreOfferedAndServed()
        {
            using var session = Replay();
            var state = session.Dashboard.Start(new DashboardOptions { Port = 0, Interval = TimeSpan.FromSeconds(1), ExportFormats = new[] { "csv" } }, new ConnectionQuery());
            string cookie = CookieOf(state), origin = "http://127.0.0.1:" + state.Port;
            using var http = Client();
            async Task<(HttpStatusCode, string)> Status(HttpRequestMessage r)
            {
                using var response = await http.SendAsync(r);
                return (response.StatusCode, await response.Content.ReadAsStringAsync());
            }
            SpinWait.SpinUntil(() => session.Dashboard.LatestFrame != null, TimeSpan.FromSeconds(15));
            using (var info = JsonDocument.Parse((await Status(Get(state.Url + "api/info", cookie))).Item2))
                Assert.Equal(new[] { "csv" }, info.RootElement.GetProperty("exportFormats").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(HttpStatusCode.OK, (await Status(Post(state.Url + "api/export", cookie, "{\"format\":\"csv\",\"keys\":null}", "application/json", origin))).Item1);
            var (status, text) = await Status(Post(state.Url + "api/export", cookie, "{\"format\":\"json\",\"keys\":null}", "application/json", origin));
            Assert.Equal(HttpStatusCode.Forbidden, status);
            Assert.Equal("403 Forbidden: json exports are off (config.yml's dashboard.export.enabled and dashboard.export.formats).\n", text);
            session.Dashboard.Stop();

            state = session.Dashboard.Start(new DashboardOptions { Port = 0, Interval = TimeSpan.FromSeconds(1), ExportFormats = new string[0] }, new ConnectionQuery());
            SpinWait.SpinUntil(() => session.Dashboard.LatestFrame != null, TimeSpan.FromSeconds(15));
            Assert.Equal(HttpStatusCode.Forbidden, (await Status(Post(state.Url + "api/export", CookieOf(state), "{\"format\":\"csv\",\"keys\":null}", "application/json", "http://127.0.0.1:" + state.Port))).Item1);
        }

        [Fact]
        public async Task TheSnapshotHasTheSessionsRowsAndTheExportWritesTheViewsRowsInItsOrder()
        {
            using var session = Replay();
            var state = Start(session);
            string cookie = CookieOf(state);
            using var http = Client();
            using var snap = await http.SendAsync(Get(state.Url + "api/snapshot", cookie));
            Assert.Equal("application/json", snap.Content.Headers.ContentType.MediaType);
            using var doc = JsonDocument.Parse(await snap.Content.ReadAsStringAsync());
            var root = doc.RootElement;
            var columns = root.GetProperty("columns").EnumerateArray().Select(c => c.GetString()).ToList();
            Assert.Equal(new[] { "Key" }.Concat(ConnectionFileFormat.ColumnNames.Where(c => c != "AgeSeconds")), columns);
            var rows = root.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(3, rows.Count);
            Assert.Equal(2, root.GetProperty("stats").GetProperty("tcp").GetInt32());
            Assert.Equal(1, root.GetProperty("stats").GetProperty("udp").GetInt32());
            Assert.Equal(1000, root.GetProperty("interval").GetInt32());
            int local = columns.IndexOf("LocalPort"), name = columns.IndexOf("ProcessName"), pid = columns.IndexOf("ProcessId");
            var web = rows.Single(r => r[columns.IndexOf("State")].ValueKind == JsonValueKind.String && r[columns.IndexOf("State")].GetString() == "Listen");
            Assert.Equal(8080, web[local].GetInt32());
            Assert.Equal("web", web[name].GetString());
            Assert.Equal(100, web[pid].GetInt32());
            Assert.Equal("TCP|0.0.0.0|8080|0.0.0.0|0", web[0].GetString());

            // Two rows, in the order the page asks for; one key that is not there is left out.
            string body = "{\"format\":\"csv\",\"keys\":[\"UDP|127.0.0.1|53||\",\"TCP|0.0.0.0|8080|0.0.0.0|0\",\"TCP|9.9.9.9|1|9.9.9.9|1\"]}";
            using var export = await http.SendAsync(Post(state.Url + "api/export", cookie, body, "application/json", "http://127.0.0.1:" + state.Port));
            Assert.Equal(HttpStatusCode.OK, export.StatusCode);
            Assert.Equal("text/csv", export.Content.Headers.ContentType.MediaType);
            Assert.Matches("^attachment; filename=\"connections-\\d{8}T\\d{6}Z\\.csv\"$", export.Content.Headers.ContentDisposition.ToString());
            var lines = (await export.Content.ReadAsStringAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            Assert.StartsWith("\"Protocol\",\"LocalAddress\",\"LocalPort\"", lines[0]);
            Assert.StartsWith("\"UDP\",\"127.0.0.1\",\"53\",\"\",\"\",\"\",\"200\",\"resolver\"", lines[1]);
            Assert.StartsWith("\"TCP\",\"0.0.0.0\",\"8080\",\"0.0.0.0\",\"0\",\"Listen\",\"100\",\"web\"", lines[2]);

            using var json = await http.SendAsync(Post(state.Url + "api/export", cookie, "{\"format\":\"json\",\"keys\":null}", "application/json", "http://127.0.0.1:" + state.Port));
            using var all = JsonDocument.Parse(await json.Content.ReadAsStringAsync());
            Assert.Equal(3, all.RootElement.GetArrayLength());

            using var bad = await http.SendAsync(Post(state.Url + "api/export", cookie, "{\"format\":\"xlsx\"}", "application/json", "http://127.0.0.1:" + state.Port));
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("format must be \"csv\" or \"json\"", await bad.Content.ReadAsStringAsync());
            using var notJson = await http.SendAsync(Post(state.Url + "api/export", cookie, "format=csv", "application/json", "http://127.0.0.1:" + state.Port));
            Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        }

        /// <summary>A firewall in memory: what the Block action asked for.</summary>
        private sealed class MemoryFirewall : ConnectionsMonitor.Engine.Blocking.IFirewallBackend
        {
            public readonly System.Collections.Generic.List<ConnectionsMonitor.Engine.Blocking.BlockRequest> Added = new System.Collections.Generic.List<ConnectionsMonitor.Engine.Blocking.BlockRequest>();
            public bool ExpiresByItself => true;
            public string Description => "memory firewall";
            public int ReasonRoom => 100;
            public System.Collections.Generic.IReadOnlyList<ConnectionsMonitor.Engine.Blocking.BlockRecord> List(DateTime nowUtc) =>
                Added.Select(r => new ConnectionsMonitor.Engine.Blocking.BlockRecord(r.Target, r.Direction, r.Reason, r.CreatedUtc, r.ExpiresUtc, Description)).ToList();
            public void Add(ConnectionsMonitor.Engine.Blocking.BlockRequest request) => Added.Add(request);
            public bool Remove(ConnectionsMonitor.Engine.Blocking.BlockTarget target) => Added.RemoveAll(r => r.Target.Equals(target)) > 0;
            public int RemoveAll(DateTime nowUtc) { int n = Added.Count; Added.Clear(); return n; }
            public int RemoveExpired(DateTime nowUtc) => 0;
        }

        [Fact]
        public void AFileToDeleteOnStopGoesWhenTheSessionEndsWithoutAStop()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-delete-on-stop-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string launch = Path.Combine(dir, "dashboard.html"), stopped = Path.Combine(dir, "stopped.html"), idle = Path.Combine(dir, "idle.html");
                File.WriteAllText(launch, "token");
                File.WriteAllText(stopped, "token");
                File.WriteAllText(idle, "token");
                var session = Replay();
                Start(session);
                session.Dashboard.DeleteOnStop(launch);
                Assert.True(File.Exists(launch)); // while it runs
                session.Dispose(); // the module removed, the runspace closed: no Stop
                Assert.False(File.Exists(launch));

                using var other = Replay();
                Start(other);
                other.Dashboard.DeleteOnStop(stopped);
                other.Dashboard.Stop();
                Assert.False(File.Exists(stopped));
                other.Dashboard.DeleteOnStop(idle); // none running: at once
                Assert.False(File.Exists(idle));
            }
            finally { Directory.Delete(dir, true); }
        }

        [Fact]
        public async Task ADashboardOtherMachinesCanReachOffersNoBlockAction()
        {
            using var session = Replay();
            var firewall = new MemoryFirewall();
            var state = session.Dashboard.Start(new DashboardOptions
            {
                Port = 0, Address = IPAddress.Any, Interval = TimeSpan.FromSeconds(1), Blocker = new ConnectionsMonitor.Engine.Blocking.ConnectionBlocker(firewall),
            }, new ConnectionQuery());
            try
            {
                string url = "http://127.0.0.1:" + state.Port + "/";
                using var http = Client();
                using (var info = await http.SendAsync(Get(url + "api/info", CookieOf(state))))
                {
                    Assert.Equal(HttpStatusCode.OK, info.StatusCode);
                    var d = JsonDocument.Parse(await info.Content.ReadAsStringAsync()).RootElement;
                    Assert.False(d.GetProperty("blocking").GetBoolean());
                    Assert.Equal(JsonValueKind.Null, d.GetProperty("firewall").ValueKind);
                }
                using (var block = await http.SendAsync(Post(url + "api/block", CookieOf(state), "{\"address\":\"203.0.113.7\"}", "application/json", "http://127.0.0.1:" + state.Port)))
                    Assert.Equal(HttpStatusCode.NotImplemented, block.StatusCode);
                Assert.Empty(firewall.Added);
            }
            finally { session.Dashboard.Stop(); }
        }

        [Fact]
        public async Task TheBlockActionNeedsTheSameOriginAndJsonRefusesProtectedAddressesAndBlocksTheRest()
        {
            using var session = Replay();
            var firewall = new MemoryFirewall();
            var state = session.Dashboard.Start(new DashboardOptions
            {
                Port = 0, Interval = TimeSpan.FromSeconds(1), Blocker = new ConnectionsMonitor.Engine.Blocking.ConnectionBlocker(firewall),
                ProtectedAddresses = new[] { new ConnectionsMonitor.Engine.Blocking.ProtectedAddress(IPAddress.Parse("198.51.100.9"), ConnectionsMonitor.Engine.Blocking.BlockRefusal.RemotingClient) },
            }, new ConnectionQuery());
            string cookie = CookieOf(state);
            string origin = "http://127.0.0.1:" + state.Port;
            using var http = Client();
            async Task<(HttpStatusCode, JsonElement)> Block(string body, string from = null)
            {
                using var response = await http.SendAsync(Post(state.Url + "api/block", cookie, body, "application/json", from ?? origin));
                string text = await response.Content.ReadAsStringAsync();
                return (response.StatusCode, response.StatusCode == HttpStatusCode.Forbidden ? default : JsonDocument.Parse(text).RootElement.Clone());
            }

            using (var info = await http.SendAsync(Get(state.Url + "api/info", cookie)))
            {
                var d = JsonDocument.Parse(await info.Content.ReadAsStringAsync()).RootElement;
                Assert.True(d.GetProperty("blocking").GetBoolean());
                Assert.Equal("memory firewall", d.GetProperty("firewall").GetString());
            }
            Assert.Equal(HttpStatusCode.Forbidden, (await Block("{\"address\":\"203.0.113.7\"}", "http://evil.example")).Item1);
            var (loop, refusedLoop) = await Block("{\"address\":\"127.0.0.1\"}");
            Assert.Equal(HttpStatusCode.Conflict, loop);
            Assert.Equal("Loopback", refusedLoop.GetProperty("refused").GetString());
            var (client, refusedClient) = await Block("{\"address\":\"198.51.100.0/24\"}");
            Assert.Equal(HttpStatusCode.Conflict, client);
            Assert.Equal("RemotingClient", refusedClient.GetProperty("refused").GetString());
            Assert.Equal("198.51.100.9", refusedClient.GetProperty("address").GetString());
            var (bad, error) = await Block("{\"address\":\"not an address\"}");
            Assert.Equal(HttpStatusCode.BadRequest, bad);
            Assert.False(string.IsNullOrEmpty(error.GetProperty("error").GetString()));
            Assert.Equal(HttpStatusCode.BadRequest, (await Block("{\"address\":\"203.0.113.7\",\"direction\":\"Sideways\"}")).Item1);
            // A member of the wrong type is refused in its own words, never read as left out (a newcomer's trial: a duration
            // of "abc" made a block without an end).
            foreach (var (body, says) in new[]
            {
                ("{\"address\":\"203.0.113.7\",\"durationSeconds\":\"abc\"}", "durationSeconds must be a number of seconds"),
                ("{\"address\":\"203.0.113.7\",\"durationSeconds\":true}", "durationSeconds must be a number of seconds"),
                ("{\"address\":\"203.0.113.7\",\"direction\":1}", "direction must be"),
                ("{\"address\":[\"203.0.113.7\"]}", "address must be a string"),
                ("{\"address\":\"203.0.113.7\",\"reason\":{}}", "reason must be a string"),
            })
            {
                var (status, answer) = await Block(body);
                Assert.Equal(HttpStatusCode.BadRequest, status);
                Assert.StartsWith(says, answer.GetProperty("error").GetString());
            }
            Assert.Empty(firewall.Added);

            var (ok, made) = await Block("{\"address\":\"203.0.113.7\",\"direction\":\"Inbound\",\"durationSeconds\":3600,\"reason\":\"from the page\"}");
            Assert.Equal(HttpStatusCode.OK, ok);
            Assert.Equal("203.0.113.7", made.GetProperty("blocked").GetString());
            Assert.Equal("Inbound", made.GetProperty("direction").GetString());
            Assert.Equal("memory firewall", made.GetProperty("firewall").GetString());
            var added = Assert.Single(firewall.Added);
            Assert.Equal("203.0.113.7", added.Target.Text);
            Assert.Equal(ConnectionsMonitor.Engine.Blocking.BlockDirection.Inbound, added.Direction);
            Assert.Equal(TimeSpan.FromHours(1), added.Duration);
            Assert.Equal("from the page", added.Reason);
        }

        // The first event of /api/events?after=…: its kind and the frame's version.
        private static async Task<(string Kind, long Version)> FirstEvent(HttpClient http, string url, string cookie)
        {
            using var response = await http.SendAsync(Get(url, cookie), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            string kind = null;
            while (true)
            {
                string line = await reader.ReadLineAsync(timeout.Token);
                Assert.NotNull(line);
                if (line.StartsWith("event: ", StringComparison.Ordinal)) kind = line.Substring(7);
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    using var doc = JsonDocument.Parse(line.Substring(6));
                    return (kind, doc.RootElement.GetProperty("version").GetInt64());
                }
            }
        }

        // A replay of `rows` established connections whose send counters all move by 100 bytes a sample, for `samples` samples.
        private static string BusyReplay(int rows, int samples)
        {
            var text = new StringBuilder("processes:\n  - { pid: 100, name: web, path: /usr/sbin/web, user: www }\nsamples:\n");
            for (int t = 0; t < samples; t++)
            {
                text.Append("  - t: ").Append(t).Append("\n    rows:\n");
                for (int i = 0; i < rows; i++)
                    text.Append("      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: ").Append(40000 + i)
                        .Append(", state: Established, pid: 100, inode: ").Append(100 + i).Append(", sent: ").Append(1000 * i + 100 * t).Append(", received: 7 }\n");
            }
            return text.ToString();
        }

        [Fact]
        public async Task ABusyFramesCountersAreServedInBinaryForThatVersionOnlyAndOnlyWithTheCookie()
        {
            int rows = DashboardFrames.InlineCounterRows + 44;
            string script = BusyReplay(rows, 200);
            using var session = new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => ReplayPlatform.Parse(script) });
            var state = Start(session, 1);
            string cookie = CookieOf(state);
            using var http = Client();
            // The stream's deltas name the rows whose counters moved by how many, not the numbers; their counters are there
            // while the frame is the latest or the one before (a loaded machine may read an event late: then the next one).
            using var response = await http.SendAsync(Get(state.Url + "api/events", cookie), HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            long version = 0;
            HttpResponseMessage counters = null;
            for (int attempt = 0; counters == null || counters.StatusCode != HttpStatusCode.OK; attempt++)
            {
                Assert.True(attempt < 5, "five busy frames in a row had no counters by the time they were asked for: " + counters?.StatusCode);
                counters?.Dispose();
                version = 0;
                while (version == 0)
                {
                    string line = await reader.ReadLineAsync(timeout.Token);
                    Assert.NotNull(line);
                    if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                    using var doc = JsonDocument.Parse(line.Substring(6));
                    if (!doc.RootElement.TryGetProperty("binaryCounters", out var n)) continue;
                    Assert.Equal(rows, n.GetInt32());
                    Assert.Equal(0, doc.RootElement.GetProperty("counters").GetArrayLength());
                    version = doc.RootElement.GetProperty("version").GetInt64();
                }
                counters = await http.SendAsync(Get(state.Url + "api/counters?version=" + version, cookie));
                Assert.True(counters.StatusCode == HttpStatusCode.OK || counters.StatusCode == HttpStatusCode.NotFound, counters.StatusCode.ToString());
            }
            using var _ = counters;
            Assert.Equal("application/octet-stream", counters.Content.Headers.ContentType.MediaType);
            byte[] body = await counters.Content.ReadAsByteArrayAsync();
            Assert.Equal(rows * 5 * 8, body.Length);
            double Value(int i) => BitConverter.Int64BitsToDouble(System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(body.AsSpan(i * 8, 8)));
            // Five numbers a row: its id, its send counter (1000 × row + 100 × sample), its receive counter (7), two rates
            // (100 B every 1 s of the recording: 100 B/s sent, 0 received).
            var ids = new HashSet<double>();
            for (int r = 0; r < rows; r++)
            {
                Assert.True(ids.Add(Value(r * 5)));
                double sent = Value(r * 5 + 1);
                Assert.Equal(0, (sent % 1000) % 100);
                Assert.Equal(7, Value(r * 5 + 2));
                Assert.Equal(100, Value(r * 5 + 3));
                Assert.Equal(0, Value(r * 5 + 4));
            }
            // Not without the cookie; not a version this dashboard has no binary counters for.
            async Task<(HttpStatusCode, string)> Status(HttpRequestMessage r)
            {
                using var reply = await http.SendAsync(r);
                return (reply.StatusCode, await reply.Content.ReadAsStringAsync());
            }
            Assert.Equal(HttpStatusCode.Forbidden, (await Status(Get(state.Url + "api/counters?version=" + version))).Item1);
            Assert.Equal(HttpStatusCode.NotFound, (await Status(Get(state.Url + "api/counters?version=" + (version + 1000), cookie))).Item1);
            Assert.Equal(HttpStatusCode.NotFound, (await Status(Get(state.Url + "api/counters?version=x", cookie))).Item1);
            Assert.Equal(HttpStatusCode.NotFound, (await Status(Get(state.Url + "api/counters", cookie))).Item1);
        }

        [Fact]
        public async Task APageThatFetchedTheTableGetsOnlyLaterFramesFromTheStream()
        {
            using var session = Replay();
            // (A frame made between the fetch and the stream's start would rightly make the stream's first event a snapshot:
            // the interval leaves a loaded machine room.)
            var state = Start(session, 3);
            string cookie = CookieOf(state);
            using var http = Client();
            using var snapshot = JsonDocument.Parse(await (await http.SendAsync(Get(state.Url + "api/snapshot", cookie))).Content.ReadAsStringAsync());
            long version = snapshot.RootElement.GetProperty("version").GetInt64();
            Assert.True(version >= 1);
            Assert.True(snapshot.RootElement.GetProperty("rows").GetArrayLength() > 0);
            // The page holds that version: the stream's first event is the next frame, as a delta.
            var next = await FirstEvent(http, state.Url + "api/events?after=" + version, cookie);
            Assert.Equal(("delta", version + 1), next);
            // A version this start never made (an earlier start's, or nonsense): the newest in full.
            var unknown = await FirstEvent(http, state.Url + "api/events?after=" + (version + 1000), cookie);
            Assert.Equal("snapshot", unknown.Kind);
            Assert.Equal("snapshot", (await FirstEvent(http, state.Url + "api/events?after=x1", cookie)).Kind);
            Assert.Equal("snapshot", (await FirstEvent(http, state.Url + "api/events?after=-3", cookie)).Kind);
        }

        [Fact]
        public async Task TheEventStreamPushesEachSampleAndEndsWhenTheDashboardStops()
        {
            using var session = Replay();
            var state = Start(session, 1.5); // a stream a whole frame behind gets the table in full: room for a loaded machine
            string cookie = CookieOf(state);
            using var http = Client();
            using var response = await http.SendAsync(Get(state.Url + "api/events", cookie), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var times = new System.Collections.Generic.List<string>();
            var kinds = new System.Collections.Generic.List<string>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            Assert.Equal("retry: 2000", await reader.ReadLineAsync(timeout.Token));
            while (times.Count < 3)
            {
                string line = await reader.ReadLineAsync(timeout.Token);
                Assert.NotNull(line);
                if (line.StartsWith("event: ", StringComparison.Ordinal)) { kinds.Add(line.Substring(7)); continue; }
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                using var doc = JsonDocument.Parse(line.Substring(6));
                times.Add(doc.RootElement.GetProperty("time").GetString());
            }
            Assert.Equal(3, times.Distinct().Count()); // three samples, each once
            Assert.Equal(new[] { "snapshot", "delta", "delta" }, kinds); // in full first, then what changed
            Assert.Equal(1, session.Dashboard.State.Clients);

            var final = session.Dashboard.Stop();
            Assert.False(final.IsRunning);
            Assert.True(final.Samples >= 3);
            // The stream ends: the rest reads to its end.
            using var end = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (await reader.ReadLineAsync(end.Token) != null) { }
            Assert.Throws<InvalidOperationException>(() => { Start(session); Start(session); });
        }
    }
}
