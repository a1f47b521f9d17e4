using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Export;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Web;

namespace ConnectionsMonitor.Engine.Dashboard
{
    /// <summary>Where the dashboard listens and how often it samples.</summary>
    public sealed class DashboardOptions
    {
        /// <summary>TCP port; 0 for a free one.</summary>
        public int Port { get; set; }

        /// <summary>
        /// Address to listen on; null for loopback (127.0.0.1, and ::1 where the machine has it). Any other address makes the page
        /// reachable from other machines (still behind the token); the caller asks the user to say so explicitly.
        /// </summary>
        public IPAddress Address { get; set; }

        /// <summary>Time between the dashboard's samples of the session's sampler (the page's update rate).</summary>
        public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>
        /// The history file the graphs read (SQLite, <see cref="History.HistoryStore"/>), asked at each request so a
        /// recording started later is found; null, or a null result, for none.
        /// </summary>
        public Func<string> HistoryPath { get; set; }

        /// <summary>
        /// The host firewall the page's Block action uses (<see cref="Blocking.ConnectionBlocker"/>); null: the page offers no
        /// Block action. The guard refuses loopback, default gateways and this machine's addresses (from its routing table)
        /// and <see cref="ProtectedAddresses"/>; the page offers no override. Not used when <see cref="Address"/> is not a
        /// loopback address: a firewall change is never offered to other machines (the page is plain HTTP there, its token
        /// readable on the way).
        /// </summary>
        public Blocking.ConnectionBlocker Blocker { get; set; }

        /// <summary>Further addresses the Block action refuses (the client of the remote session the dashboard was started in).</summary>
        public IReadOnlyList<Blocking.ProtectedAddress> ProtectedAddresses { get; set; }

        /// <summary>
        /// The formats the page's Export offers and /api/export serves ("csv", "json"): config.yml's dashboard.export.formats,
        /// or none when dashboard.export.enabled is false. Null: both.
        /// </summary>
        public IReadOnlyList<string> ExportFormats { get; set; }
    }

    /// <summary>What the dashboard is doing (Get-ConnectionDashboard). Holds no secret: the token is only in <see cref="LaunchUrl"/> of the state Start returns.</summary>
    public sealed class DashboardState
    {
        internal DashboardState() { }

        /// <summary>The page's address without the token, e.g. http://127.0.0.1:3000/.</summary>
        public string Url { get; internal set; }
        /// <summary>The address with the token (http://127.0.0.1:3000/?token=…): only on the state <see cref="DashboardServer.Start"/> returns, else null.</summary>
        public string LaunchUrl { get; internal set; }
        /// <summary>The addresses listened on, as text.</summary>
        public string Address { get; internal set; }
        /// <summary>TCP port.</summary>
        public int Port { get; internal set; }
        /// <summary>Time between samples.</summary>
        public TimeSpan Interval { get; internal set; }
        /// <summary>When it started (UTC).</summary>
        public DateTime StartedUtc { get; internal set; }
        /// <summary>Pages (event streams) connected now.</summary>
        public int Clients { get; internal set; }
        /// <summary>Requests answered, any status.</summary>
        public long Requests { get; internal set; }
        /// <summary>Requests refused with 403 (wrong Host, no or a wrong token, cross-origin or non-JSON changes).</summary>
        public long Refused { get; internal set; }
        /// <summary>
        /// Connections closed to make room for a newcomer when all 64 were taken: ones held open without a request ever let
        /// in (<see cref="LocalHttpEndpoint.Displaced"/>). More than a few say something holds idle connections to the port.
        /// </summary>
        public long Displaced { get; internal set; }
        /// <summary>Samples this dashboard has taken from the session's sampler since it started (a new dashboard starts from 0).</summary>
        public long Samples { get; internal set; }
        /// <summary>Time of the latest sample (UTC), or null.</summary>
        public DateTime? LastSampleUtc { get; internal set; }
        /// <summary>Connections in the latest sample.</summary>
        public int Connections { get; internal set; }
        /// <summary>True while serving.</summary>
        public bool IsRunning { get; internal set; }
        /// <summary>Why sampling failed lately (the page keeps the last good rows), or why updates stopped after a fault; null otherwise.</summary>
        public string Failure { get; internal set; }
    }

    /// <summary>
    /// The local web dashboard of a session: a subscriber of the session's sampler (thread "cmon-dashboard", every
    /// <see cref="DashboardOptions.Interval"/>, the configuration's filters applied) that renders each sample once as
    /// JSON and pushes it to every open page by Server-Sent Events, and a <see cref="LocalHttpEndpoint"/> that serves the
    /// page's files (embedded in this assembly; nothing is loaded from anywhere else) behind <see cref="DashboardGuard"/>.
    /// Routes: <c>/</c> (the page; <c>/?token=</c> swaps the token for the cookie and redirects to <c>/#k=</c> and the page's
    /// key, which every <c>/api/</c> route needs besides the cookie: header <c>X-Dashboard-Key</c>, or <c>?key=</c> on the
    /// event stream), <c>/assets/*</c>, <c>GET /api/snapshot</c> (the latest sample in full, with its <c>"version"</c>), <c>GET /api/events[?after=N]</c>
    /// (text/event-stream: the latest sample in full as an event <c>snapshot</c>, or, after version N, only what came later;
    /// then one <c>delta</c> event per sample: <see cref="DashboardFrame"/>), <c>GET /api/counters?version=N</c> (a busy
    /// delta's counters, <see cref="DashboardFrame.CountersBinary"/>), <c>POST /api/export</c> (JSON <c>{"format":"csv"|"json","keys":[…]}</c>: the rows of the current view
    /// in the view's order, as a download in the files' format: formula-safe CSV or JSON, <see cref="ConnectionFileFormat"/>).
    /// One dashboard per session; Stop or the session's Dispose ends it. Thread-safe.
    /// </summary>
    public sealed class DashboardServer : IDisposable
    {
        /// <summary>Largest request body accepted (an export of 10,000 keys is about 600 KB).</summary>
        internal const int MaxBodyBytes = 8 * 1024 * 1024;

        private readonly MonitorSession _session;
        private readonly object _gate = new object();
        private readonly object _signal = new object();
        private readonly List<string> _warnings = new List<string>();
        private LocalHttpEndpoint _http;
        private DashboardGuard _guard;
        private Thread _thread;
        private CancellationTokenSource _stop;
        private volatile DashboardFrame _rendered;
        // The frame before _rendered: a page that got a delta just before the next sample still finds its binary counters.
        private volatile DashboardFrame _previousRendered;
        private DashboardFrames _frames;
        private DashboardOptions _options;

        private static readonly string[] BothFormats = { "csv", "json" };

        // The formats the page may export (DashboardOptions.ExportFormats; both when not given).
        private IReadOnlyList<string> ExportFormats => _options?.ExportFormats ?? BothFormats;
        private DateTime _started;
        private long _samples, _refused;
        private volatile string _failure;
        private DashboardState _final;

        internal DashboardServer(MonitorSession session) { _session = session; }

        /// <summary>True while serving.</summary>
        public bool IsRunning { get { lock (_gate) return _http != null; } }

        /// <summary>
        /// Starts the dashboard: subscribes to the sampler, waits for the first sample (so the first page has rows), makes
        /// a new token, then listens. The state returned carries <see cref="DashboardState.LaunchUrl"/> (with the token)
        /// once; <see cref="State"/> never does.
        /// </summary>
        /// <exception cref="InvalidOperationException">The session serves a dashboard already.</exception>
        /// <exception cref="HttpEndpointException">The port is in use, or the address refused or not this machine's.</exception>
        /// <exception cref="SamplerException">The first read of the connection table failed.</exception>
        public DashboardState Start(DashboardOptions options, ConnectionQuery configQuery)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (options.Interval < TimeSpan.FromMilliseconds(100)) throw new ArgumentOutOfRangeException(nameof(options), options.Interval, "The interval must be at least 100 ms.");
            var plan = _session.Plan(configQuery ?? new ConnectionQuery());
            lock (_gate)
            {
                if (_http != null) throw new InvalidOperationException("This session serves a dashboard already at " + UrlOf(_http) + "; stop it first.");
                // A watcher, as the live view is: config.yml's alert rules (alerts.enabled) and connection records run while the page is served.
                var feed = _session.SubscribeInternal(plan, options.Interval, reportExistingAsOpened: false, capacity: 2, watcher: true, trackChanges: false);
                LocalHttpEndpoint http = null;
                string token = DashboardGuard.NewToken();
                try
                {
                    if (!feed.TryNext(TimeSpan.FromSeconds(60), CancellationToken.None, out var first))
                        throw new TimeoutException("The session's sampler gave no sample within 60 s.");
                    _frames = new DashboardFrames();
                    Interlocked.Exchange(ref _samples, 0); // a new dashboard counts its own samples, not the last one's
                    Take(first, options.Interval);
                    http = LocalHttpEndpoint.StartUnauthenticated(new LocalHttpEndpointOptions
                    {
                        Port = options.Port, Address = options.Address, ThreadName = "cmon-dash-web",
                        Methods = new[] { "GET", "HEAD", "POST" }, MaxStreams = 16, MaxRequestBodyBytes = MaxBodyBytes,
                        // The guard checks Host (with the bound address's names too), token, JSON and Origin on each head, before
                        // its body is read and whatever its method: every refusal is the guard's 403, counted.
                        RefuseForeignHost = false, Admit = Admit,
                    }, Handle);
                    _guard = new DashboardGuard(token, http.Port, options.Address);
                }
                catch
                {
                    feed.Dispose();
                    http?.Dispose();
                    _rendered = null;
                    _previousRendered = null;
                    throw;
                }
                _options = options;
                _http = http;
                _started = DateTime.UtcNow;
                _refused = 0;
                _failure = null;
                _warnings.AddRange(plan.Warnings);
                _stop = new CancellationTokenSource();
                var stop = _stop.Token;
                _thread = new Thread(() => Run(feed, options.Interval, stop)) { IsBackground = true, Name = "cmon-dashboard" };
                _thread.Start();
                var state = StateLocked(true);
                state.LaunchUrl = state.Url + "?token=" + token;
                return state;
            }
        }

        /// <summary>Stops serving (open pages see their stream end) and sampling; returns the final state, or null when not serving.</summary>
        public DashboardState Stop()
        {
            Thread thread;
            LocalHttpEndpoint http;
            lock (_gate)
            {
                DeleteFilesLocked();
                if (_http == null) return null;
                http = _http;
                thread = _thread;
                _stop.Cancel();
            }
            lock (_signal) Monitor.PulseAll(_signal);
            http.Dispose();
            thread.Join();
            lock (_gate)
            {
                _final = StateLocked(false);
                _http = null;
                _thread = null;
                _rendered = null;
                _previousRendered = null;
                _guard = null;
                return _final;
            }
        }

        /// <summary>The latest frame (benchmarks and tests), or null.</summary>
        internal DashboardFrame LatestFrame => _rendered;

        private readonly List<string> _deleteOnStop = new List<string>();

        /// <summary>
        /// Deletes <paramref name="path"/> when this dashboard stops, however it stops (<see cref="Stop"/>, or the session's
        /// end: the module removed, the runspace closed): a file that holds the start's token, such as the launch file a
        /// browser was opened through. At once when no dashboard is running. A file that cannot be deleted is left.
        /// </summary>
        public void DeleteOnStop(string path)
        {
            if (string.IsNullOrEmpty(path)) throw new ArgumentException("No path.", nameof(path));
            lock (_gate)
            {
                _deleteOnStop.Add(path);
                if (_http == null) DeleteFilesLocked();
            }
        }

        private void DeleteFilesLocked()
        {
            foreach (var path in _deleteOnStop)
            {
                try { File.Delete(path); }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { }
            }
            _deleteOnStop.Clear();
        }

        /// <summary>The dashboard's state (the last one's once stopped), or null when this session never served one.</summary>
        public DashboardState State
        {
            get { lock (_gate) return _http == null ? _final : StateLocked(true); }
        }

        /// <summary>Warnings to say once (configuration warnings, failed samples).</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            lock (_gate)
            {
                var w = _warnings.ToArray();
                _warnings.Clear();
                return w;
            }
        }

        private DashboardState StateLocked(bool running)
        {
            var http = _http;
            var r = _rendered;
            return new DashboardState
            {
                Url = http == null ? _final?.Url : UrlOf(http),
                Address = http?.AddressText ?? "",
                Port = http?.Port ?? _final?.Port ?? 0,
                Interval = _options?.Interval ?? TimeSpan.Zero,
                StartedUtc = _started,
                Clients = http?.ActiveStreams ?? 0,
                Requests = http?.Requests ?? _final?.Requests ?? 0,
                Refused = Interlocked.Read(ref _refused),
                Displaced = http?.Displaced ?? _final?.Displaced ?? 0,
                Samples = Interlocked.Read(ref _samples),
                LastSampleUtc = r?.SnapshotUtc,
                Connections = r?.Records.Count ?? 0,
                IsRunning = running,
                Failure = _failure,
            };
        }

        private static string UrlOf(LocalHttpEndpoint http) => http.Prefixes[0].Replace("://+:", "://localhost:");

        private static readonly IReadOnlyList<KeyValuePair<string, string>> NoHeaders = DashboardGuard.SecurityHeaders;

        // The page's key (DashboardGuard.PageKey): its header, or the event stream's ?key= (an EventSource sends no headers).
        private static string PageKey(LocalHttpRequest request) =>
            request.Headers["X-Dashboard-Key"] ?? (request.Path == "/api/events" ? request.QueryString["key"] : null);

        // The token in the launch URL: only on GET /.
        private static string QueryToken(LocalHttpRequest request) => request.Path == "/" && request.HttpMethod == "GET" ? request.QueryString["token"] : null;

        // The endpoint's check of each request head (LocalHttpEndpointOptions.Admit): the guard's refusal as a 403, or null.
        private HttpReply? Admit(LocalHttpRequest request)
        {
            var guard = _guard;
            if (guard == null) return LocalHttpEndpoint.Text(503, "503 Service Unavailable: the dashboard is starting or stopping.\n");
            var refusal = guard.Check(request.HttpMethod, request.Path, request.Headers["Host"], request.Headers["Cookie"], QueryToken(request),
                PageKey(request), request.ContentType, request.Headers["Origin"]);
            if (refusal == DashboardRefusal.None) return null;
            Interlocked.Increment(ref _refused);
            return Secured(LocalHttpEndpoint.Text(403, "403 Forbidden: " + Why(refusal) + "\n"));
        }

        // A request the guard admitted (Admit ran on its head).
        private HttpReply Handle(string path, LocalHttpRequest request)
        {
            var guard = _guard;
            if (guard == null) return LocalHttpEndpoint.Text(503, "503 Service Unavailable: the dashboard is starting or stopping.\n");
            string queryToken = QueryToken(request);
            if (queryToken != null)
            {
                // The token leaves the address bar at once: the cookie (a value of its own) opens the page from now on, and the
                // page takes its key from the fragment of the address it is sent to (DashboardGuard).
                return new HttpReply
                {
                    Status = 303, ContentType = "text/plain; charset=utf-8", Body = Encoding.UTF8.GetBytes("See /\n"),
                    Headers = With(new KeyValuePair<string, string>("Location", guard.SwapLocation), new KeyValuePair<string, string>("Set-Cookie", guard.SetCookie())),
                };
            }
            if (request.HttpMethod == "POST")
                return path == "/api/export" ? Secured(Export(request))
                    : path == "/api/block" ? Secured(BlockReply(request))
                    : Secured(LocalHttpEndpoint.Text(404, "404 Not Found\n"));
            switch (path)
            {
                case "/":
                    return Secured(Asset("index.html"));
                case "/api/snapshot":
                    var r = _rendered;
                    if (r == null) return Secured(LocalHttpEndpoint.Text(503, "503 Service Unavailable: no sample yet.\n"));
                    return Secured(new HttpReply { Status = 200, ContentType = "application/json; charset=utf-8", BodyParts = r.FullParts });
                case "/api/info":
                    return Secured(Json(w =>
                    {
                        var blocker = Blocker;
                        w.WriteBoolean("blocking", blocker != null);
                        w.WriteString("firewall", blocker?.Backend.Description);
                        w.WriteStartArray("exportFormats");
                        foreach (var f in ExportFormats) w.WriteStringValue(f);
                        w.WriteEndArray();
                    }, 200));
                case "/api/alerts":
                    return Secured(AlertsReply());
                case "/api/history":
                    return Secured(HistoryReply(request));
                case "/api/counters":
                    return Secured(CountersReply(request.QueryString["version"]));
                case "/api/events":
                    long after = AfterVersion(request.QueryString["after"]);
                    return new HttpReply { Status = 200, ContentType = "text/event-stream; charset=utf-8", Headers = NoHeaders, Stream = (s, stop) => Events(s, stop, after) };
            }
            if (path.StartsWith("/assets/", StringComparison.Ordinal)) return Secured(Asset(path.Substring("/assets/".Length)));
            return Secured(LocalHttpEndpoint.Text(404, "404 Not Found\n"));
        }

        private static string Why(DashboardRefusal refusal)
        {
            switch (refusal)
            {
                case DashboardRefusal.WrongHost: return "the Host header does not name this dashboard (open it at the address it was started with).";
                case DashboardRefusal.NoToken: return "no valid dashboard token; open the address with ?token= that the dashboard was started with, or start it again for a new one.";
                case DashboardRefusal.NotJson: return "requests that change anything must send Content-Type: application/json.";
                case DashboardRefusal.CrossOrigin: return "requests that change anything must come from the dashboard's own page (same Origin).";
                case DashboardRefusal.NoPageKey: return "the page's key is missing or wrong (its data is for the page the launch address opened); open the address with ?token= that the dashboard was started with.";
                default: return "refused.";
            }
        }

        private static IReadOnlyList<KeyValuePair<string, string>> With(params KeyValuePair<string, string>[] extra)
        {
            var list = new List<KeyValuePair<string, string>>(DashboardGuard.SecurityHeaders);
            list.AddRange(extra);
            return list;
        }

        private static HttpReply Secured(HttpReply reply)
        {
            reply.Headers = reply.Headers == null ? DashboardGuard.SecurityHeaders : With(new List<KeyValuePair<string, string>>(reply.Headers).ToArray());
            return reply;
        }

        private static HttpReply Asset(string name)
        {
            var asset = DashboardAssets.Find(name);
            if (asset == null) return LocalHttpEndpoint.Text(404, "404 Not Found\n");
            return new HttpReply { Status = 200, ContentType = asset.ContentType, Body = asset.Bytes };
        }

        // The page's Block action's firewall: the options', on loopback only (see DashboardOptions.Blocker).
        private Blocking.ConnectionBlocker Blocker
        {
            get
            {
                var options = _options;
                return options == null || (options.Address != null && !IPAddress.IsLoopback(options.Address)) ? null : options.Blocker;
            }
        }

        // GET /api/counters?version=N: frame N's counters in binary (DashboardFrame.CountersBinary), while it is the latest
        // frame or the one before; 404 when that frame had none or is older (the page then takes the whole table again).
        private HttpReply CountersReply(string version)
        {
            long v = AfterVersion(version);
            foreach (var frame in new[] { _rendered, _previousRendered })
                if (frame != null && frame.Version == v && frame.CountersBinary != null)
                    return new HttpReply { Status = 200, ContentType = "application/octet-stream", Body = frame.CountersBinary };
            return LocalHttpEndpoint.Text(404, "404 Not Found: no binary counters for that version (only the latest two frames' are kept).\n");
        }

        // ?after=N: the version of the frame the page has already (from /api/snapshot); anything else, none.
        private static long AfterVersion(string text) =>
            long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : -1;

        // One page's event stream: the latest frame at once in full ("snapshot"), then each next one as a "delta" of the rows
        // that changed; a page that missed a frame (it reads slowly: nothing queues up here) gets the newest in full. A page
        // that holds frame <paramref name="after"/> (fetched from /api/snapshot, which is quicker for a browser to take
        // than one 3 MB event) gets only what came after it: nothing while that is the latest, the delta when it is the one
        // before, else the newest in full (a page of an earlier start has no cookie this start takes). A comment every
        // 15 s keeps proxies and the browser from timing the stream out.
        private void Events(Stream stream, CancellationToken stop, long after)
        {
            using (stop.Register(() => { lock (_signal) Monitor.PulseAll(_signal); }))
            {
                Write(stream, Encoding.UTF8.GetBytes("retry: 2000\n\n"));
                long sent = after;
                while (!stop.IsCancellationRequested)
                {
                    var r = _rendered;
                    if (r != null && r.Version != sent)
                    {
                        bool delta = sent > 0 && r.Version == sent + 1;
                        sent = r.Version;
                        var head = Encoding.UTF8.GetBytes(delta ? "event: delta\ndata: " : "event: snapshot\ndata: ");
                        stream.Write(head, 0, head.Length);
                        // One line: the JSON writer writes no newline.
                        if (delta) stream.Write(r.Delta, 0, r.Delta.Length);
                        else foreach (var part in r.FullParts) stream.Write(part.Array, part.Offset, part.Count);
                        Write(stream, Encoding.UTF8.GetBytes("\n\n"));
                        continue;
                    }
                    bool woken;
                    lock (_signal)
                    {
                        if (stop.IsCancellationRequested) break;
                        var latest = _rendered;
                        if (latest != null && latest.Version != sent) continue;
                        woken = Monitor.Wait(_signal, TimeSpan.FromSeconds(15));
                    }
                    if (!woken && !stop.IsCancellationRequested) Write(stream, Encoding.UTF8.GetBytes(": keep-alive\n\n"));
                }
            }
        }

        private static void Write(Stream stream, byte[] bytes)
        {
            stream.Write(bytes, 0, bytes.Length);
            stream.Flush();
        }

        private HttpReply Export(LocalHttpRequest request)
        {
            var r = _rendered;
            if (r == null) return LocalHttpEndpoint.Text(503, "503 Service Unavailable: no sample yet.\n");
            if (request.ContentLength64 > MaxBodyBytes) return LocalHttpEndpoint.Text(413, "413 Payload Too Large: at most " + MaxBodyBytes + " bytes.\n");
            string format;
            List<string> keys;
            try
            {
                byte[] body = ReadBody(request.InputStream);
                if (body == null) return LocalHttpEndpoint.Text(413, "413 Payload Too Large: at most " + MaxBodyBytes + " bytes.\n");
                using (var doc = JsonDocument.Parse(body))
                {
                    var root = doc.RootElement;
                    if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var f) || f.ValueKind != JsonValueKind.String)
                        return LocalHttpEndpoint.Text(400, "400 Bad Request: expected {\"format\": \"csv\" or \"json\", \"keys\": [row keys] or null}.\n");
                    format = f.GetString();
                    keys = null;
                    if (root.TryGetProperty("keys", out var k) && k.ValueKind == JsonValueKind.Array)
                    {
                        keys = new List<string>(k.GetArrayLength());
                        foreach (var e in k.EnumerateArray())
                            if (e.ValueKind == JsonValueKind.String) keys.Add(e.GetString());
                    }
                }
            }
            catch (JsonException) { return LocalHttpEndpoint.Text(400, "400 Bad Request: the body is not JSON.\n"); }
            if (format != "csv" && format != "json") return LocalHttpEndpoint.Text(400, "400 Bad Request: format must be \"csv\" or \"json\".\n");
            bool allowed = false;
            foreach (var f in ExportFormats) allowed |= f == format;
            if (!allowed)
                return LocalHttpEndpoint.Text(403, "403 Forbidden: " + format + " exports are off (config.yml's dashboard.export.enabled and dashboard.export.formats).\n");

            IReadOnlyList<ConnectionRecord> rows = r.Records;
            if (keys != null)
            {
                var byKey = new Dictionary<string, ConnectionRecord>(r.Records.Count, StringComparer.Ordinal);
                for (int i = 0; i < r.Records.Count; i++) byKey[r.Keys[i]] = r.Records[i];
                var chosen = new List<ConnectionRecord>(keys.Count);
                foreach (var key in keys)
                    if (key != null && byKey.TryGetValue(key, out var rec)) chosen.Add(rec);
                rows = chosen;
            }
            var output = new MemoryStream();
            if (format == "csv") ConnectionFileFormat.WriteCsv(output, rows, r.SnapshotUtc);
            else ConnectionFileFormat.WriteJson(output, rows, r.SnapshotUtc);
            string file = "connections-" + r.SnapshotUtc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "." + format;
            return new HttpReply
            {
                Status = 200,
                ContentType = format == "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
                Body = output.ToArray(),
                Headers = new[] { new KeyValuePair<string, string>("Content-Disposition", "attachment; filename=\"" + file + "\"") },
            };
        }

        /// <summary>The ranges the graphs offer, and the period each sums into (about 300 points each).</summary>
        internal static readonly IReadOnlyDictionary<string, (TimeSpan Range, TimeSpan Period)> Ranges = new Dictionary<string, (TimeSpan, TimeSpan)>(StringComparer.Ordinal)
        {
            ["1h"] = (TimeSpan.FromHours(1), TimeSpan.FromSeconds(10)),
            ["6h"] = (TimeSpan.FromHours(6), TimeSpan.FromMinutes(1)),
            ["1d"] = (TimeSpan.FromDays(1), TimeSpan.FromMinutes(5)),
            ["1w"] = (TimeSpan.FromDays(7), TimeSpan.FromMinutes(30)),
        };

        // GET /api/history?range=1h|6h|1d|1w[&process=NAME]: the history store's totals (or one process name's rows) over
        // the range, summed into periods: {"range", "periodSeconds", "file", "series": [...], "points": [[unix seconds, ...,
        // period seconds]...], "missing": null | "noFile" | "unreadable", "error": text}. "periodSeconds" is the range's
        // period; a point's own (its last value) is longer where the store keeps only longer roll-ups (minutes, after the raw
        // retention or the first roll-up) and is never cut into the range's. Rates are bytes per second over the point's
        // period, or over the part of it gone by for the newest one, still in progress (else the right edge always dipped).
        private HttpReply HistoryReply(LocalHttpRequest request)
        {
            string range = request.QueryString["range"] ?? "1h";
            if (!Ranges.TryGetValue(range, out var r)) return LocalHttpEndpoint.Text(400, "400 Bad Request: range must be 1h, 6h, 1d or 1w.\n");
            string process = request.QueryString["process"];
            string path = null;
            try { path = _options?.HistoryPath?.Invoke(); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is ArgumentException || ex is Configuration.ConfigException) { path = null; }
            return Json(w =>
            {
                w.WriteString("range", range);
                w.WriteNumber("periodSeconds", (long)r.Period.TotalSeconds);
                w.WriteString("file", path);
                if (process != null) w.WriteString("process", UntrustedText.Clean(process));
                w.WriteStartArray("series");
                foreach (var name in process == null ? new[] { "time", "tcp", "udp", "sendRate", "receiveRate", "periodSeconds" } : new[] { "time", "connections", "sendRate", "receiveRate", "periodSeconds" })
                    w.WriteStringValue(name);
                w.WriteEndArray();
                string missing = null, error = null;
                w.WriteStartArray("points");
                if (path == null || !File.Exists(path)) missing = "noFile";
                else
                {
                    try
                    {
                        using (var store = History.HistoryStore.OpenReader(path))
                        {
                            var now = DateTime.UtcNow;
                            var q = new History.HistoryQuery { SinceUtc = now - r.Range, Interval = r.Period, TimeZone = TimeZoneInfo.Utc };
                            double Seconds(DateTime start, TimeSpan period) => Math.Max(1, Math.Min(period.TotalSeconds, (now - start).TotalSeconds));
                            if (process == null)
                                foreach (var t in store.QueryTotals(q))
                                {
                                    double seconds = Seconds(t.TimeUtc, t.Period);
                                    w.WriteStartArray();
                                    w.WriteNumberValue(UnixSeconds(t.TimeUtc));
                                    w.WriteNumberValue(Math.Round(t.Tcp, 2));
                                    w.WriteNumberValue(Math.Round(t.Udp, 2));
                                    Rate(w, t.BytesSent, seconds);
                                    Rate(w, t.BytesReceived, seconds);
                                    w.WriteNumberValue((long)t.Period.TotalSeconds);
                                    w.WriteEndArray();
                                }
                            else
                            {
                                q.Kind = History.HistoryKind.Process;
                                q.ProcessNames = new[] { process };
                                foreach (var p in store.QueryProcesses(q))
                                {
                                    if (!string.Equals(p.ProcessName, process, StringComparison.OrdinalIgnoreCase)) continue; // the name, not a wildcard match
                                    double seconds = Seconds(p.TimeUtc, p.Period);
                                    w.WriteStartArray();
                                    w.WriteNumberValue(UnixSeconds(p.TimeUtc));
                                    w.WriteNumberValue(Math.Round(p.Connections, 2));
                                    Rate(w, p.BytesSent, seconds);
                                    Rate(w, p.BytesReceived, seconds);
                                    w.WriteNumberValue((long)p.Period.TotalSeconds);
                                    w.WriteEndArray();
                                }
                            }
                        }
                    }
                    catch (Exception ex) when (ex is History.HistoryException || ex is IOException || ex is UnauthorizedAccessException || ex is Microsoft.Data.Sqlite.SqliteException)
                    {
                        missing = "unreadable";
                        error = UntrustedText.Clean(ex.Message);
                    }
                }
                w.WriteEndArray();
                w.WriteString("missing", missing);
                w.WriteString("error", error);
            }, 200);
        }

        // GET /api/alerts: the session's alert rules (Get-ConnectionAlert's): {"rules": [{"name", "kind", "fired", "lastFired"
        // (ISO 8601 UTC or null), "active", "delivered", "failed", "dropped", "pending", "lastError", "actionErrors"}…]}.
        // Webhook addresses are secrets and are not part of it.
        private HttpReply AlertsReply() =>
            Json(w =>
            {
                w.WriteStartArray("rules");
                foreach (var r in _session.Alerts.Rules)
                {
                    w.WriteStartObject();
                    w.WriteString("name", UntrustedText.Clean(r.Rule.Name));
                    w.WriteString("kind", r.Rule.Kind);
                    w.WriteNumber("fired", r.Fired);
                    w.WriteString("lastFired", IsoUtc(r.LastFiredUtc));
                    w.WriteNumber("active", r.ActiveConditions);
                    w.WriteNumber("delivered", r.Delivery.Delivered);
                    w.WriteNumber("failed", r.Delivery.Failed);
                    w.WriteNumber("dropped", r.Delivery.Dropped);
                    w.WriteNumber("pending", r.Delivery.Pending);
                    w.WriteString("lastError", r.Delivery.LastError == null ? null : UntrustedText.Clean(r.Delivery.LastError));
                    w.WriteNumber("actionErrors", r.ActionErrors);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }, 200);

        // ISO 8601 UTC to the second, or null (written as JSON null).
        private static string IsoUtc(DateTime? utc) =>
            utc == null ? null : DateTime.SpecifyKind(utc.Value, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

        private static HttpReply Json(Action<Utf8JsonWriter> members, int status)
        {
            var output = new MemoryStream();
            using (var w = new Utf8JsonWriter(output))
            {
                w.WriteStartObject();
                members(w);
                w.WriteEndObject();
            }
            return new HttpReply { Status = status, ContentType = "application/json; charset=utf-8", Body = output.ToArray() };
        }

        // POST /api/block, JSON {"address": IP or CIDR, "direction": "Both" | "Inbound" | "Outbound", "durationSeconds": n or null
        // (until unblocked), "reason": text}: 200 {"blocked", "direction", "expires" (ISO 8601 UTC or null), "firewall"};
        // 409 {"refused": "Loopback" | "DefaultGateway" | "LocalAddress" | "RemotingClient", "address"} from the guard;
        // 400 {"error"} for a request that is not one; 501 without a firewall; 500 {"error", "failure"} when the firewall refuses.
        private HttpReply BlockReply(LocalHttpRequest request)
        {
            var blocker = Blocker;
            if (blocker == null) return Json(w => w.WriteString("error", "This dashboard has no Block action."), 501);
            if (request.ContentLength64 > 64 * 1024) return Json(w => w.WriteString("error", "The request is too large."), 413);
            string address, reason, directionText;
            double? seconds = null;
            try
            {
                byte[] body = ReadBody(request.InputStream);
                if (body == null) return Json(w => w.WriteString("error", "The request is too large."), 413);
                using (var doc = JsonDocument.Parse(body))
                {
                    var root = doc.RootElement;
                    bool Member(string name, JsonValueKind kind, out JsonElement value)
                    {
                        value = default;
                        return root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out value) && value.ValueKind == kind;
                    }
                    // A member of the wrong type is refused, never read as left out: "durationSeconds": "abc" made a block
                    // without an end (a newcomer's trial), "direction": 1 one both ways.
                    string Mistyped(string name, JsonValueKind kind, string expected) =>
                        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind != kind && v.ValueKind != JsonValueKind.Null
                            ? name + " must be " + expected + "." : null;
                    string wrong = Mistyped("address", JsonValueKind.String, "a string (an IP address or CIDR block)")
                                   ?? Mistyped("direction", JsonValueKind.String, "\"Both\", \"Inbound\" or \"Outbound\"")
                                   ?? Mistyped("durationSeconds", JsonValueKind.Number, "a number of seconds, or null for a block until it is removed")
                                   ?? Mistyped("reason", JsonValueKind.String, "a string");
                    if (wrong != null) return Json(w => w.WriteString("error", wrong), 400);
                    address = Member("address", JsonValueKind.String, out var a) ? a.GetString() : null;
                    reason = Member("reason", JsonValueKind.String, out var r) ? r.GetString() : null;
                    directionText = Member("direction", JsonValueKind.String, out var d) ? d.GetString() : "Both";
                    if (Member("durationSeconds", JsonValueKind.Number, out var s)) seconds = s.GetDouble();
                }
            }
            catch (JsonException) { return Json(w => w.WriteString("error", "The body is not JSON."), 400); }
            if (address == null) return Json(w => w.WriteString("error", "Expected {\"address\": an IP address or CIDR block, \"direction\", \"durationSeconds\", \"reason\"}."), 400);
            if (!Blocking.BlockTarget.TryParse(address, out var target, out string parseError)) return Json(w => w.WriteString("error", parseError), 400);
            if (!Enum.TryParse(directionText, true, out Blocking.BlockDirection direction) || !Enum.IsDefined(typeof(Blocking.BlockDirection), direction))
                return Json(w => w.WriteString("error", "direction must be Both, Inbound or Outbound."), 400);
            if (seconds != null && (seconds <= 0 || seconds > Blocking.BlockRequest.Longest.TotalSeconds || double.IsNaN(seconds.Value)))
                return Json(w => w.WriteString("error", "durationSeconds must be more than 0 and at most " + (long)Blocking.BlockRequest.Longest.TotalSeconds + ", or null for a block until it is removed."), 400);

            var guarded = new List<Blocking.ProtectedAddress>(_options.ProtectedAddresses ?? new Blocking.ProtectedAddress[0]);
            guarded.AddRange(Blocking.BlockGuard.ProtectedAddresses(new Platform.SystemNetworkRouteFacts(), out _));
            var verdict = Blocking.BlockGuard.Check(target, guarded);
            if (verdict != null)
                return Json(w => { w.WriteString("refused", verdict.Why.ToString()); w.WriteString("address", verdict.Address.ToString()); w.WriteString("target", target.Text); }, 409);
            try
            {
                var made = blocker.Add(new Blocking.BlockRequest(target, direction, reason, blocker.NowUtc,
                    seconds == null ? (TimeSpan?)null : Blocking.BlockRequest.WholeSeconds(TimeSpan.FromSeconds(seconds.Value))));
                return Json(w =>
                {
                    w.WriteString("blocked", made.Target.Text);
                    w.WriteString("direction", made.Direction.ToString());
                    w.WriteString("expires", IsoUtc(made.ExpiresUtc));
                    w.WriteString("firewall", blocker.Backend.Description);
                }, 200);
            }
            catch (ArgumentException ex) { return Json(w => w.WriteString("error", ex.Message), 400); }
            catch (Blocking.BlockingException ex) { return Json(w => { w.WriteString("error", UntrustedText.Clean(ex.Message)); w.WriteString("failure", ex.Failure.ToString()); }, 500); }
        }

        private static long UnixSeconds(DateTime utc) => (long)(DateTime.SpecifyKind(utc, DateTimeKind.Utc) - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds;

        private static void Rate(Utf8JsonWriter w, long? bytes, double seconds)
        {
            if (bytes == null) w.WriteNullValue();
            else w.WriteNumberValue(Math.Round(bytes.Value / seconds, 1));
        }

        private static byte[] ReadBody(Stream input)
        {
            var buffer = new MemoryStream();
            var chunk = new byte[64 * 1024];
            int n;
            while ((n = input.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (buffer.Length + n > MaxBodyBytes) return null;
                buffer.Write(chunk, 0, n);
            }
            return buffer.ToArray();
        }

        private void Take(SessionSample sample, TimeSpan interval)
        {
            var snapshot = sample.Snapshot;
            _session.Alerts.ApplyFlags(snapshot.Connections);
            var frame = _frames.Next(snapshot.Connections, snapshot.TimeStampUtc, interval);
            Interlocked.Increment(ref _samples);
            _previousRendered = _rendered;
            _rendered = frame;
            lock (_signal) Monitor.PulseAll(_signal);
        }

        /// <summary>Called with each sample before its frame is made; tests make it throw, as a fault of the module's own would.</summary>
        internal Action<SessionSample> BeforeFrame { get; set; }

        // Open pages keep the last good rows when a read fails; said once per kind of failure. A fault in making a frame (a
        // bug of the module's own) ends the updates, not the host process: the pages keep the last frame, and the state says
        // why until a new start.
        private void Run(SessionFeed feed, TimeSpan interval, CancellationToken stop) =>
            feed.Pump(stop, sample => { _failure = null; BeforeFrame?.Invoke(sample); Take(sample, interval); }, message =>
            {
                if (_failure != message) lock (_gate) _warnings.Add("Dashboard: a read of the connection table failed: " + message);
                _failure = message;
            }, ex =>
            {
                string message = "Dashboard: updates stopped after a fault (" + Display.UntrustedText.Fault(ex) + "); the pages show the last update until the dashboard is started again.";
                lock (_gate) _warnings.Add(message);
                _failure = message;
            });

        /// <summary>Stops the dashboard.</summary>
        public void Dispose() => Stop();
    }
}
