using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Text;
using System.Threading;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Web;

namespace ConnectionsMonitor.Engine.Metrics
{
    /// <summary>How the metrics endpoint listens and samples (from metrics.* in config.yml, or the cmdlet's parameters).</summary>
    public sealed class MetricsEndpointOptions
    {
        /// <summary>TCP port; 0 for a free one.</summary>
        public int Port { get; set; } = MetricsConfig.DefaultPort;
        /// <summary>Address to listen on; null for loopback (127.0.0.1 and ::1).</summary>
        public IPAddress Address { get; set; }
        /// <summary>Bearer token every request must carry; null for none (loopback only).</summary>
        public string BearerToken { get; set; }
        /// <summary>Time between the endpoint's samples of the session's sampler.</summary>
        public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);
        /// <summary>Process names with series of their own.</summary>
        public int TopProcesses { get; set; } = 10;

        /// <summary>
        /// The options metrics.* of <paramref name="config"/> gives; metrics.bearerTokenFile is read here (its first line).
        /// Throws <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when that file cannot be read.
        /// </summary>
        public static MetricsEndpointOptions From(MonitorConfig config)
        {
            var m = config.Metrics;
            string token = m.BearerToken;
            if (token == null && m.BearerTokenFile != null) token = ReadTokenFile(m.BearerTokenFile);
            return new MetricsEndpointOptions
            {
                Port = m.Port,
                Address = m.Address,
                BearerToken = token,
                Interval = TimeSpan.FromMilliseconds(m.Interval),
                TopProcesses = m.TopProcesses,
            };
        }

        /// <summary>The first line of a token file, trimmed; an empty file is an error (an endpoint that anyone could reach is never the intent).</summary>
        public static string ReadTokenFile(string path)
        {
            string token;
            using (var reader = new StreamReader(path)) token = (reader.ReadLine() ?? "").Trim();
            if (token.Length == 0) throw new IOException("The bearer token file '" + path + "' is empty.");
            return token;
        }
    }

    /// <summary>What the metrics endpoint is doing (Get-ConnectionMetrics).</summary>
    public sealed class MetricsEndpointState
    {
        internal MetricsEndpointState(string url, IReadOnlyList<string> prefixes, string address, int port, TimeSpan interval, int top, bool token,
            DateTime startedUtc, long scrapes, DateTime? lastScrapeUtc, long unauthorized, long samples, DateTime? lastSampleUtc, int admitted, bool running, string failure)
        {
            Url = url; Prefixes = prefixes; Address = address; Port = port; Interval = interval; TopProcesses = top; RequiresBearerToken = token;
            StartedUtc = startedUtc; ScrapesServed = scrapes; LastScrapeUtc = lastScrapeUtc; Unauthorized = unauthorized; Samples = samples;
            LastSampleUtc = lastSampleUtc; AdmittedProcesses = admitted; IsRunning = running; Failure = failure;
        }

        /// <summary>The metrics URL, e.g. http://127.0.0.1:9464/metrics.</summary>
        public string Url { get; }
        /// <summary>Every listener prefix (IPv4 and IPv6 loopback by default).</summary>
        public IReadOnlyList<string> Prefixes { get; }
        /// <summary>The address listened on, as text ("127.0.0.1, ::1" by default).</summary>
        public string Address { get; }
        /// <summary>TCP port.</summary>
        public int Port { get; }
        /// <summary>Time between the endpoint's samples.</summary>
        public TimeSpan Interval { get; }
        /// <summary>Process names with series of their own, at most.</summary>
        public int TopProcesses { get; }
        /// <summary>True when requests must carry a bearer token (the token itself is never exposed).</summary>
        public bool RequiresBearerToken { get; }
        /// <summary>When it started (UTC).</summary>
        public DateTime StartedUtc { get; }
        /// <summary>Successful GETs of /metrics.</summary>
        public long ScrapesServed { get; }
        /// <summary>Time of the last scrape served (UTC), or null.</summary>
        public DateTime? LastScrapeUtc { get; }
        /// <summary>Requests refused for a missing or wrong token.</summary>
        public long Unauthorized { get; }
        /// <summary>Samples this endpoint has taken from the session's sampler since it started (a new endpoint starts from 0).</summary>
        public long Samples { get; }
        /// <summary>Time of the latest sample (UTC).</summary>
        public DateTime? LastSampleUtc { get; }
        /// <summary>Process names admitted to series of their own so far.</summary>
        public int AdmittedProcesses { get; }
        /// <summary>True while serving.</summary>
        public bool IsRunning { get; }
        /// <summary>Why sampling failed lately (the endpoint keeps serving the last good state), or why updates stopped after a fault; null otherwise.</summary>
        public string Failure { get; }
    }

    /// <summary>
    /// The session's Prometheus / OpenMetrics endpoint: a subscriber of the session's sampler (thread "cmon-metrics", at
    /// <see cref="MetricsEndpointOptions.Interval"/>, the configuration's connection filters applied) that keeps a
    /// <see cref="MetricsCollector"/> and, after each sample, renders both text formats once; a scrape of /metrics hands
    /// out those bytes (content negotiated from Accept), so it never reads the table and costs the same at any number of
    /// connections. Served by a <see cref="LocalHttpEndpoint"/>. One endpoint per session; Stop or the session's
    /// Dispose ends it. Thread-safe.
    /// </summary>
    public sealed class MetricsEndpoint : IDisposable
    {
        private sealed class Rendered
        {
            public byte[] Text, OpenMetrics;
            public DateTime SampleUtc;
        }

        private readonly MonitorSession _session;
        private readonly object _gate = new object();
        private readonly List<string> _warnings = new List<string>();
        private LocalHttpEndpoint _http;
        private Thread _thread;
        private CancellationTokenSource _stop;
        private MetricsCollector _collector;
        private volatile Rendered _rendered;
        private MetricsEndpointOptions _options;
        private DateTime _started;
        private long _scrapes, _samples, _lastScrapeTicks;
        private volatile string _failure;
        private MetricsEndpointState _final;

        internal MetricsEndpoint(MonitorSession session) { _session = session; }

        /// <summary>True while serving.</summary>
        public bool IsRunning { get { lock (_gate) return _http != null; } }

        /// <summary>
        /// Starts the endpoint: subscribes to the sampler, waits for the first sample (so the first scrape has data), then
        /// listens. <paramref name="configQuery"/> names the configuration whose filters apply.
        /// </summary>
        /// <exception cref="InvalidOperationException">The session serves metrics already.</exception>
        /// <exception cref="HttpEndpointException">The port is in use, the address refused, or a token is missing for a non-loopback address.</exception>
        /// <exception cref="SamplerException">The first read of the connection table failed.</exception>
        public MetricsEndpointState Start(MetricsEndpointOptions options, ConnectionQuery configQuery)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (options.Interval < TimeSpan.FromMilliseconds(100)) throw new ArgumentOutOfRangeException(nameof(options), options.Interval, "The interval must be at least 100 ms.");
            var plan = _session.Plan(configQuery ?? new ConnectionQuery());
            lock (_gate)
            {
                if (_http != null) throw new InvalidOperationException("This session serves metrics already at " + UrlOf(_http) + "; stop that endpoint first.");
                var collector = new MetricsCollector(options.TopProcesses);
                var feed = _session.SubscribeInternal(plan, options.Interval, reportExistingAsOpened: false, capacity: 2, watcher: false);
                LocalHttpEndpoint http = null;
                try
                {
                    // The first sample before listening: a scrape never sees an empty exposition.
                    if (!feed.TryNext(TimeSpan.FromSeconds(60), CancellationToken.None, out var first))
                        throw new TimeoutException("The session's sampler gave no sample within 60 s.");
                    // A new endpoint counts its own samples, as its exposed counters start from zero (the last one's stay in its final state).
                    Interlocked.Exchange(ref _samples, 0);
                    Take(collector, first);
                    http = LocalHttpEndpoint.Start(new LocalHttpEndpointOptions
                    {
                        Port = options.Port, Address = options.Address, BearerToken = options.BearerToken, ThreadName = "cmon-metrics-web",
                    }, Handle);
                }
                catch
                {
                    feed.Dispose();
                    http?.Dispose();
                    throw;
                }
                _collector = collector;
                _options = options;
                _http = http;
                _started = DateTime.UtcNow;
                _scrapes = 0;
                _lastScrapeTicks = 0;
                _failure = null;
                _warnings.AddRange(plan.Warnings);
                _stop = new CancellationTokenSource();
                var token = _stop.Token;
                _thread = new Thread(() => Run(feed, collector, token)) { IsBackground = true, Name = "cmon-metrics" };
                _thread.Start();
                return StateLocked(true);
            }
        }

        /// <summary>Stops serving and sampling; returns the final state, or null when not serving.</summary>
        public MetricsEndpointState Stop()
        {
            Thread thread;
            LocalHttpEndpoint http;
            lock (_gate)
            {
                if (_http == null) return null;
                http = _http;
                thread = _thread;
                _stop.Cancel();
            }
            http.Dispose();
            thread.Join();
            lock (_gate)
            {
                _final = StateLocked(false);
                _http = null;
                _thread = null;
                _rendered = null;
                return _final;
            }
        }

        /// <summary>The endpoint's state (the last one's once stopped), or null when this session never served metrics.</summary>
        public MetricsEndpointState State
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

        /// <summary>The current exposition (what a scrape would get), or null when not serving.</summary>
        public string Exposition(ExpositionFormat format)
        {
            var r = _rendered;
            if (r == null) return null;
            return Encoding.UTF8.GetString(format == ExpositionFormat.OpenMetrics ? r.OpenMetrics : r.Text);
        }

        private MetricsEndpointState StateLocked(bool running)
        {
            var http = _http;
            long ticks = Interlocked.Read(ref _lastScrapeTicks);
            var prefixes = http?.Prefixes ?? new string[0];
            return new MetricsEndpointState(http == null ? null : UrlOf(http), prefixes, LocalHttpEndpoint.AddressTextOf(prefixes), http?.Port ?? _options?.Port ?? 0,
                _options?.Interval ?? TimeSpan.Zero, _options?.TopProcesses ?? 0, http?.RequiresBearerToken ?? false, _started,
                Interlocked.Read(ref _scrapes), ticks == 0 ? (DateTime?)null : new DateTime(ticks, DateTimeKind.Utc), http?.Unauthorized ?? 0,
                Interlocked.Read(ref _samples), _rendered?.SampleUtc, _collector?.AdmittedProcesses ?? 0, running, _failure);
        }

        private static string UrlOf(LocalHttpEndpoint http) => http.Prefixes[0].Replace("://+:", "://localhost:") + "metrics";

        private HttpReply Handle(string path, LocalHttpRequest request)
        {
            if (path == "/metrics")
            {
                var r = _rendered;
                if (r == null) return LocalHttpEndpoint.Text(503, "503 Service Unavailable: the endpoint is stopping.\n");
                var format = ExpositionWriter.Negotiate(request.Headers["Accept"]);
                Interlocked.Increment(ref _scrapes);
                Interlocked.Exchange(ref _lastScrapeTicks, DateTime.UtcNow.Ticks);
                return new HttpReply { Status = 200, ContentType = ExpositionWriter.ContentType(format), Body = format == ExpositionFormat.OpenMetrics ? r.OpenMetrics : r.Text };
            }
            if (path == "/")
                return new HttpReply { Status = 200, ContentType = "text/html; charset=utf-8", Body = Encoding.UTF8.GetBytes("<!doctype html><title>ConnectionsMonitor</title><p><a href=\"/metrics\">/metrics</a></p>\n") };
            return LocalHttpEndpoint.Text(404, "404 Not Found: the metrics are at /metrics.\n");
        }

        private void Take(MetricsCollector collector, SessionSample sample)
        {
            collector.Add(sample.Snapshot, sample.Events, new SamplerFigures
            {
                Reads = _session.SamplerReads,
                ReadSeconds = _session.SamplerReadTime.TotalSeconds,
                LastReadSeconds = _session.SamplerLastReadDuration.TotalSeconds,
            });
            collector.SetAlerts(_session.Alerts.Rules);
            collector.SetSystemLogs(_session.Alerts.Syslog, _session.Alerts.EventLog);
            Interlocked.Increment(ref _samples);
            _rendered = new Rendered
            {
                Text = Encoding.UTF8.GetBytes(collector.Render(ExpositionFormat.PrometheusText)),
                OpenMetrics = Encoding.UTF8.GetBytes(collector.Render(ExpositionFormat.OpenMetrics)),
                SampleUtc = sample.Snapshot.TimeStampUtc,
            };
        }

        /// <summary>Called with each sample before it is taken in; tests make it throw, as a fault of the module's own would.</summary>
        internal Action<SessionSample> BeforeSample { get; set; }

        // Keeps serving the last good state when a read fails; says it once per kind of failure. A fault in taking a sample in
        // (a bug of the module's own) ends the updates, not the host process: scrapes get the last figures, and the state says why.
        private void Run(SessionFeed feed, MetricsCollector collector, CancellationToken stop) =>
            feed.Pump(stop, sample => { _failure = null; BeforeSample?.Invoke(sample); Take(collector, sample); }, message =>
            {
                if (_failure != message) lock (_gate) _warnings.Add("Metrics: a read of the connection table failed: " + message);
                _failure = message;
            }, ex =>
            {
                string message = "Metrics: updates stopped after a fault (" + Display.UntrustedText.Fault(ex) + "); scrapes get the last figures until the endpoint is started again.";
                lock (_gate) _warnings.Add(message);
                _failure = message;
            });

        /// <summary>Stops the endpoint.</summary>
        public void Dispose() => Stop();
    }
}
