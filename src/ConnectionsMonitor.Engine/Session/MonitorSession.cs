using System;
using System.Collections.Generic;
using System.IO;
using System.Text.RegularExpressions;
using System.Threading;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Tracking;
using ConnectionsMonitor.Engine.Traffic;

namespace ConnectionsMonitor.Engine.Session
{
    /// <summary>How a <see cref="MonitorSession"/> reaches the machine and finds its configuration.</summary>
    public sealed class MonitorSessionOptions
    {
        /// <summary>Makes the platform (connection table, processes, interfaces) on first use; tests give their own. Default: the running OS's.</summary>
        public Func<IPlatform> PlatformFactory { get; set; } = PlatformServices.CreateForCurrentOS;

        /// <summary>The folder of the GeoIP databases shipped with the module; null for none.</summary>
        public string BundledGeoDirectory { get; set; }

        /// <summary>The module's default config.yml, last in the lookup order; null for the built-in defaults.</summary>
        public string DefaultConfigPath { get; set; }

        /// <summary>Environment variables, platform and home folder for the configuration lookup; null for the current process's.</summary>
        public ConfigEnvironment ConfigEnvironment { get; set; }

        /// <summary>Makes the webhook sender of the session's alerts on first use; null for the built-in one (tests give their own).</summary>
        public Func<Alerts.IAlertDelivery> AlertDeliveryFactory { get; set; }
    }

    /// <summary>What one query resolves to under its configuration: the filters to apply (the query's and the configuration's), the enrichment, the configuration.</summary>
    public sealed class SessionPlan
    {
        internal SessionPlan(ConnectionQuery[] filters, EnrichmentOptions enrichment, ConfigLoadResult config, IReadOnlyList<string> warnings)
        {
            Filters = filters;
            Enrichment = enrichment;
            Load = config;
            Warnings = warnings;
        }

        /// <summary>Every filter that must hold: the caller's query first, then the configuration's enabled filtering sections.</summary>
        public ConnectionQuery[] Filters { get; }

        /// <summary>The enrichment the configuration (and the query's ResolveDns) asks for; the same instance for the same configuration and DNS choice.</summary>
        public EnrichmentOptions Enrichment { get; }

        /// <summary>The configuration file's load result.</summary>
        public ConfigLoadResult Load { get; }

        /// <summary>The configuration in force.</summary>
        public MonitorConfig Config => Load.Config;

        /// <summary>Configuration warnings not yet said in this session.</summary>
        public IReadOnlyList<string> Warnings { get; }
    }

    /// <summary>Options of <see cref="MonitorSession.Watch"/>.</summary>
    public sealed class WatchOptions
    {
        /// <summary>Time between samples; null for the configuration's refreshInterval.</summary>
        public TimeSpan? Interval { get; set; }

        /// <summary>Stop after this long; null to run until cancelled.</summary>
        public TimeSpan? Duration { get; set; }

        /// <summary>Stop after this many events; null for no limit.</summary>
        public int? Count { get; set; }

        /// <summary>Report the connections of the first sample as Opened.</summary>
        public bool IncludeExisting { get; set; }

        /// <summary>
        /// Called once, on the enumerating thread, when the first sample (the baseline) has been taken: with its time
        /// (UTC) and how many of its connections match the query (states included). Connections that open after this
        /// are reported as Opened; null for no call.
        /// </summary>
        public Action<DateTime, int> BaselineTaken { get; set; }
    }

    /// <summary>What <see cref="MonitorSession.RankTalkers"/> ranked and how.</summary>
    public sealed class TalkerRanking
    {
        internal TalkerRanking(IReadOnlyList<TopTalker> talkers, TalkerMetric metric, TrafficWindow window, bool noByteCounters, bool geoOff)
        {
            Talkers = talkers;
            Metric = metric;
            Window = window;
            NoByteCounters = noByteCounters;
            GeoOff = geoOff;
        }

        /// <summary>The ranked groups, best first (at most the number asked for).</summary>
        public IReadOnlyList<TopTalker> Talkers { get; }

        /// <summary>The metric used: the one asked for, else bytes when the sample has counters, else connections.</summary>
        public TalkerMetric Metric { get; }

        /// <summary>The sample the ranking came from (Duration zero for one snapshot).</summary>
        public TrafficWindow Window { get; }

        /// <summary>Bytes were asked for but no connection in the sample has counters: every group ranks at 0 bytes.</summary>
        public bool NoByteCounters { get; }

        /// <summary>Grouping by country was asked for while GeoIP is off, so no connection has a country.</summary>
        public bool GeoOff { get; }
    }

    /// <summary>
    /// Everything one PowerShell runspace (or one service process) monitors with: the platform
    /// (made on first use through <see cref="MonitorSessionOptions.PlatformFactory"/>), the
    /// configuration lookup and cache, enrichment, the per-connection memory behind rates and ages,
    /// and one background <see cref="Sampler"/> that every watcher subscribes to (Watch, the live
    /// view; alert rules, the history recorder, the dashboard and metrics later). Operations:
    /// <see cref="Snapshot"/>, <see cref="Watch"/>, <see cref="Measure"/>, <see cref="RankTalkers"/>,
    /// <see cref="Statistics"/>, <see cref="Subscribe"/>, <see cref="RunLiveView"/>, and read-only
    /// <see cref="CurrentProcessNames"/> / <see cref="CurrentCountries"/> for completion.
    /// Thread-safe. Dispose stops the sampler (no thread of the session is left) and releases the platform.
    /// </summary>
    public sealed class MonitorSession : IDisposable
    {
        private const int DefaultQueueCapacity = 4;

        private readonly MonitorSessionOptions _options;
        private readonly ConfigCache _configs = new ConfigCache();
        private readonly ConfigLocator _locator;
        private readonly object _gate = new object();
        private readonly HashSet<string> _said = new HashSet<string>(StringComparer.Ordinal);
        private readonly Dictionary<(ConfigLoadResult, bool?), EnrichmentOptions> _enrichments = new Dictionary<(ConfigLoadResult, bool?), EnrichmentOptions>();
        private readonly Sampler _sampler;
        private readonly Alerts.AlertMonitor _alerts;
        private MonitorEngine _engine;
        private bool _disposed;

        /// <summary>The module's own config.yml (<see cref="MonitorSessionOptions.DefaultConfigPath"/>), or null.</summary>
        internal string ModuleConfigPath => _options.DefaultConfigPath;

        /// <summary>A session that makes its platform on first use (options null: the running OS, the built-in configuration lookup).</summary>
        public MonitorSession(MonitorSessionOptions options = null)
        {
            _options = options ?? new MonitorSessionOptions();
            _locator = new ConfigLocator(_options.ConfigEnvironment);
            _sampler = new Sampler((e, sameWindow) => Engine.TakeSamplerSnapshot(e, sameWindow), () => Engine.OpenClosedConnections(), (closed, e) => Engine.Describe(closed, e));
            _alerts = new Alerts.AlertMonitor(this, _options.AlertDeliveryFactory);
            _history = new History.HistoryRecorder(this);
            _metrics = new Metrics.MetricsEndpoint(this);
            _dashboard = new Dashboard.DashboardServer(this);
        }

        /// <summary>The session's alert rules (Register-ConnectionAlert and config.yml's alerts.*).</summary>
        public Alerts.AlertMonitor Alerts => _alerts;

        /// <summary>The session's history recorder (one recording at a time; stopped with the session).</summary>
        public History.HistoryRecorder History => _history;

        /// <summary>The session's Prometheus / OpenMetrics endpoint (one at a time; stopped with the session).</summary>
        public Metrics.MetricsEndpoint Metrics => _metrics;

        private readonly Metrics.MetricsEndpoint _metrics;

        /// <summary>The session's local web dashboard (one at a time; stopped with the session).</summary>
        public Dashboard.DashboardServer Dashboard => _dashboard;

        private readonly Dashboard.DashboardServer _dashboard;

        private readonly History.HistoryRecorder _history;

        /// <summary>A session over a platform made beforehand (tests, benchmarks).</summary>
        public MonitorSession(IPlatform platform, string bundledGeoDirectory = null)
            : this(new MonitorSessionOptions { PlatformFactory = () => platform, BundledGeoDirectory = bundledGeoDirectory })
        {
            if (platform == null) throw new ArgumentNullException(nameof(platform));
        }

        /// <summary>The snapshot pipeline (table read, owners, memory, enrichment); made on first use.</summary>
        public MonitorEngine Engine
        {
            get
            {
                lock (_gate)
                {
                    if (_disposed) throw new ObjectDisposedException(nameof(MonitorSession));
                    if (_engine == null)
                        _engine = new MonitorEngine(_options.PlatformFactory(), _options.BundledGeoDirectory) { SamplerKeepsWindows = () => _sampler.HasWindow };
                    return _engine;
                }
            }
        }

        /// <summary>True while the background sampler runs (it runs only while something subscribes).</summary>
        public bool IsSampling => _sampler.IsRunning;

        /// <summary>Table reads made by the sampler so far.</summary>
        public long SamplerReads => _sampler.Reads;

        /// <summary>Wall-clock time the sampler has spent in table reads so far (all reads together).</summary>
        public TimeSpan SamplerReadTime => _sampler.ReadTime;

        /// <summary>Wall-clock time of the sampler's latest table read; zero before the first.</summary>
        public TimeSpan SamplerLastReadDuration => _sampler.LastReadDuration;

        /// <summary>The OS name of the sampler's thread (at most 15 bytes, as Linux keeps it).</summary>
        public static string SamplerThreadName => Sampler.ThreadName;

        /// <summary>
        /// Resolves a query under its configuration. Throws <see cref="ConfigException"/> (file, line,
        /// key, what was expected) when the configuration cannot be used.
        /// </summary>
        public SessionPlan Plan(ConnectionQuery query)
        {
            if (query == null) throw new ArgumentNullException(nameof(query));
            var location = _locator.Locate(query.ConfigPath, _options.DefaultConfigPath, query.CurrentDirectory);
            var load = _configs.Get(location);
            var filters = new List<ConnectionQuery> { query };
            filters.AddRange(ConfigFilters.ToQueries(load.Config));
            var enrichment = EnrichmentFor(load, query.ResolveDns);
            var configWarnings = new List<string>();
            foreach (var w in load.Warnings) configWarnings.Add(w.Message);
            return new SessionPlan(filters.ToArray(), enrichment, load, UnsaidExactly(configWarnings));
        }

        /// <summary>The enrichment of a configuration and DNS choice: one instance per pair, so the enricher's caches keyed on it (VPN detector, GeoIP sources) are reused.</summary>
        private EnrichmentOptions EnrichmentFor(ConfigLoadResult load, bool? resolveDns)
        {
            lock (_enrichments)
            {
                var key = (load, resolveDns);
                if (!_enrichments.TryGetValue(key, out var enrichment))
                {
                    if (_enrichments.Count > 16) _enrichments.Clear(); // old configuration versions
                    _enrichments[key] = enrichment = EnrichmentOptions.From(load.Config, resolveDns);
                }
                return enrichment;
            }
        }

        /// <summary>
        /// Does ahead of the first call what every call needs, so that call is not the one to pay for
        /// it: loads the configuration the query would use (parsing YAML the first time in a process
        /// costs more than reading 10,000 sockets) and, at the same time, reads the connection table once
        /// through <see cref="MonitorEngine.Peek"/> with no enrichment, which loads and compiles the code
        /// of a read and attributes every socket to its owning process (the walk of /proc/*/fd on
        /// Linux; IP Helper's owner columns on Windows). Nothing a call can observe changes: rates, first
        /// sightings and the warnings already said are untouched, so a call that follows returns exactly
        /// what it would have returned without this, only sooner. A call made meanwhile waits for the
        /// read in progress rather than repeating it. Then the configuration's enrichment classifies the
        /// rows just read (<see cref="MonitorEngine.PrepareEnrichment"/>): the GeoIP databases are opened
        /// here when a row has a public remote address (a table of loopback and private connections opens
        /// none, as a call would not), and the VPN rules read the interfaces. Runs on the caller's thread
        /// (the PowerShell layer starts it on a pool thread when the module is imported); failures are
        /// ignored here, because the call that needs the failed part reports them in its own words.
        /// </summary>
        /// <param name="query">The query whose configuration to load (its ConfigPath and CurrentDirectory); may be null for the defaults.</param>
        public void Prepare(ConnectionQuery query)
        {
            ConfigLoadResult load = null;
            var config = System.Threading.Tasks.Task.Run(() =>
            {
                // The load only (cached for the call), not Plan: Plan marks the file's warnings as said.
                try { load = _configs.Get(_locator.Locate(query?.ConfigPath, _options.DefaultConfigPath, query?.CurrentDirectory)); }
                catch (Exception) { } // an invalid configuration is the first call's error to report
            });
            ConnectionSnapshot peek = null;
            try { peek = Engine.Peek(EnrichmentOptions.None); }
            catch (Exception) { } // disposed meanwhile, or the platform failed: the first call says so
            config.Wait();
            if (peek == null || load == null) return;
            try { Engine.PrepareEnrichment(peek.Connections, EnrichmentFor(load, query?.ResolveDns)); }
            catch (Exception) { } // a database that does not open is the first call's warning
        }

        /// <summary>One snapshot of the connections the query asks for, with rates since the session's previous read.</summary>
        public ConnectionSnapshot Snapshot(ConnectionQuery query)
        {
            var plan = Plan(query);
            var s = Engine.TakeSnapshot(plan.Enrichment, plan.Filters);
            _alerts.ApplyFlags(s.Connections);
            return WithWarnings(s, plan.Warnings);
        }

        /// <summary>
        /// Subscribes to the session's sampler with a query: samples every <paramref name="interval"/>
        /// (null: the configuration's refreshInterval), rows cut to the query, changes diffed per
        /// subscriber. The queue holds <paramref name="capacity"/> samples; older ones are dropped
        /// (and counted) when the subscriber falls behind.
        /// </summary>
        public SessionFeed Subscribe(ConnectionQuery query, TimeSpan? interval = null, bool reportExistingAsOpened = false, int capacity = DefaultQueueCapacity) =>
            Subscribe(Plan(query), interval, reportExistingAsOpened, capacity);

        internal SessionFeed Subscribe(SessionPlan plan, TimeSpan? interval, bool reportExistingAsOpened = false, int capacity = DefaultQueueCapacity, bool trackChanges = true) =>
            SubscribeInternal(plan, interval, reportExistingAsOpened, capacity, watcher: true, trackChanges);

        /// <summary>
        /// A feed from the sampler. A <paramref name="watcher"/> (Watch, the live view, the dashboard …) also
        /// switches on config.yml's alert rules while it runs (alerts.enabled); the alert thread's own feed is
        /// not a watcher. A feed without <paramref name="trackChanges"/> gives rows only (its samples' Events stay empty).
        /// </summary>
        internal SessionFeed SubscribeInternal(SessionPlan plan, TimeSpan? interval, bool reportExistingAsOpened, int capacity, bool watcher, bool trackChanges = true)
        {
            var every = interval ?? TimeSpan.FromMilliseconds(plan.Config.RefreshInterval);
            _ = Engine; // made here, on the caller's thread, so a platform failure is the caller's error
            var subscription = _sampler.Add(every, plan.Enrichment, capacity);
            if (!watcher) return new SessionFeed(subscription, plan.Filters, reportExistingAsOpened, plan.Warnings, null, trackChanges);
            var warnings = plan.Warnings;
            string limitation = ClosingsLimitation();
            if (limitation != null) warnings = Join(warnings, Unsaid(new[] { limitation }));
            try { _alerts.WatcherStarted(plan); }
            catch { subscription.Dispose(); throw; }
            return new SessionFeed(subscription, plan.Filters, reportExistingAsOpened, warnings, _alerts.WatcherStopped, trackChanges);
        }

        /// <summary>
        /// Null when the sampler hears of connections as they close (so connections that open and close between two
        /// samples reach every subscriber, and Closed events carry final byte counts); else why not, worded for the
        /// user (the platform reports no closings, e.g. a replayed capture; or its feed cannot run, e.g. without
        /// elevation, or a kernel that refuses the subscription). Asks through a reader of its own, closed again at once,
        /// so the feed runs only while a reader holds it (the sampler's, whose thread may not have opened it yet).
        /// </summary>
        public string ClosingsLimitation()
        {
            using (var probe = Engine.OpenClosedConnections())
            {
                if (probe == null)
                    return "Connections that open and close between two samples are not seen: the " + Engine.Platform.Name +
                           " platform does not report connections as they close.";
                string problem = probe.Start();
                return problem == null ? null : problem + " Connections that open and close between two samples are not seen either.";
            }
        }

        /// <summary>
        /// Connection changes as the sampler sees them, until <paramref name="cancel"/>, the duration or
        /// the count. A state filter in the query applies to events, not to what is tracked: a
        /// connection going from Established to CloseWait is a StateChanged event for a filter of
        /// Established. Runs on the caller's thread (the enumeration); warnings go to
        /// <paramref name="warn"/> on that thread. Cancellation throws <see cref="OperationCanceledException"/>.
        /// </summary>
        public IEnumerable<ConnectionEvent> Watch(ConnectionQuery query, WatchOptions options, CancellationToken cancel, Action<string> warn)
        {
            if (query == null) throw new ArgumentNullException(nameof(query));
            options = options ?? new WatchOptions();
            var states = query.States;
            var tracked = query.Copy();
            tracked.States = null;
            return WatchCore(tracked, states, options, cancel, warn ?? (_ => { }));
        }

        private IEnumerable<ConnectionEvent> WatchCore(ConnectionQuery tracked, ICollection<TcpState> states, WatchOptions options, CancellationToken cancel, Action<string> warn)
        {
            using (var feed = Subscribe(tracked, options.Interval, options.IncludeExisting))
            {
                foreach (var w in feed.SetupWarnings) warn(w);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                int written = 0;
                bool lastLook = false, baselineSaid = false;
                while (true)
                {
                    var wait = TimeSpan.FromMilliseconds(-1);
                    if (options.Duration != null)
                    {
                        var left = options.Duration.Value - clock.Elapsed;
                        if (left <= TimeSpan.Zero)
                        {
                            if (lastLook) yield break;
                            // One last look so changes in the final interval are not lost.
                            lastLook = true;
                            feed.RequestNow();
                            left = feed.Subscription.Interval + TimeSpan.FromSeconds(5);
                        }
                        wait = left;
                    }
                    if (!feed.TryNext(wait, cancel, out var sample))
                    {
                        if (lastLook) yield break;
                        continue;
                    }
                    if (!baselineSaid)
                    {
                        baselineSaid = true;
                        if (options.BaselineTaken != null)
                        {
                            int matching = 0;
                            foreach (var r in sample.Snapshot.Connections)
                                if (states == null || states.Count == 0 || (r.State != null && states.Contains(r.State.Value))) matching++;
                            options.BaselineTaken(sample.Snapshot.TimeStampUtc, matching);
                        }
                    }
                    foreach (var w in Unsaid(sample.Snapshot.Warnings)) warn(w);
                    if (sample.DroppedBefore > 0) warn(DropWarning(sample.DroppedBefore));
                    if (sample.ClosingsLostBefore > 0) warn(ClosingsLostWarning(sample.ClosingsLostBefore));
                    foreach (var w in _alerts.TakeWarnings()) warn(w);
                    _alerts.ApplyFlags(sample.Snapshot.Connections);
                    foreach (var e in sample.Events)
                    {
                        if (!MatchesStates(states, e)) continue;
                        yield return e;
                        if (options.Count != null && ++written >= options.Count.Value) yield break;
                    }
                    if (lastLook) yield break;
                }
            }
        }

        internal static string ClosingsLostWarning(long lost) =>
            "Reports of " + lost + " or more connections that closed since the previous sample were lost (the system dropped them under load, " +
            "or too many closed at once): connections among them that opened and closed between samples are missing, and the others closed with " +
            "the byte counts of their last sample.";

        internal static string DropWarning(long dropped) =>
            "Fell behind the sampler: " + dropped + " sample(s) were skipped; changes are still reported, against the latest sample taken.";

        /// <summary>
        /// Whether a watch's state filter writes the event: the connection is in one of <paramref name="states"/> or was
        /// before the change; and under Established, also any event of a TCP connection past Established
        /// (<see cref="WentThroughEstablished"/>): the end of an established connection (FinWait2 to TimeWait, the Closed of
        /// its TimeWait), and one that opened and closed between two samples or first showed up closing, which no sample
        /// saw established, belong to such an audit log.
        /// </summary>
        internal static bool MatchesStates(ICollection<TcpState> states, ConnectionEvent e)
        {
            if (states == null || states.Count == 0) return true;
            var now = e.Connection.State;
            if ((now != null && states.Contains(now.Value)) || (e.PreviousState != null && states.Contains(e.PreviousState.Value))) return true;
            return states.Contains(TcpState.Established) && WentThroughEstablished(e.Connection);
        }

        /// <summary>
        /// Whether a TCP connection's own record shows it got past Established: it is in a state the TCP state machine
        /// (RFC 9293 3.3.2) reaches through Established — FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait (FinWait1
        /// also straight from SynReceived on a close, which Linux does only for a TCP Fast Open server socket) — or it is
        /// gone (Closed, the socket destroyed) after moving bytes, which only a synchronized connection does (a refused or
        /// timed-out attempt moves none).
        /// </summary>
        internal static bool WentThroughEstablished(ConnectionRecord r)
        {
            if (r.Protocol != TransportProtocol.Tcp || r.State == null) return false;
            switch (r.State.Value)
            {
                case TcpState.FinWait1:
                case TcpState.FinWait2:
                case TcpState.CloseWait:
                case TcpState.Closing:
                case TcpState.LastAck:
                case TcpState.TimeWait:
                    return true;
                case TcpState.Closed:
                    return r.BytesSent > 0 || r.BytesReceived > 0;
                default:
                    return false;
            }
        }

        /// <summary>
        /// Traffic over a window: a snapshot, a wait of <paramref name="window"/> (cancellable), another
        /// snapshot and what each connection moved in between (closings included where the platform
        /// reports them). A window of zero is one snapshot, with no byte figures. The one place where
        /// windowed rates are computed.
        /// </summary>
        public TrafficWindow Measure(ConnectionQuery query, TimeSpan window, CancellationToken cancel)
        {
            return Measure(Plan(query), window, cancel, null);
        }

        private TrafficWindow Measure(SessionPlan plan, TimeSpan window, CancellationToken cancel, IProgress<TimeSpan> progress)
        {
            if (window < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(window), window, "The sample window cannot be negative.");
            var result = window > TimeSpan.Zero
                ? TrafficWindow.Measure(Engine, window, cancel, progress, plan.Enrichment, plan.Filters)
                : TrafficWindow.Single(Engine.TakeSnapshot(plan.Enrichment, plan.Filters));
            return TrafficWindow.WithWarnings(result, Join(plan.Warnings, Unsaid(result.Warnings)));
        }

        /// <summary>
        /// Ranks talkers over a window. With no <paramref name="metric"/>, bytes when the sample has
        /// counters, else connections; <paramref name="top"/> null means the configuration's
        /// monitoring.topTalkersCount. <paramref name="progress"/> (optional) hears how much of the window
        /// has passed, as <see cref="TrafficWindow.Measure(MonitorEngine, TimeSpan, CancellationToken, IProgress{TimeSpan}, EnrichmentOptions, ConnectionQuery[])"/> says.
        /// </summary>
        public TalkerRanking RankTalkers(ConnectionQuery query, TimeSpan window, TalkerGrouping groupBy, TalkerMetric? metric, int? top, CancellationToken cancel,
            IProgress<TimeSpan> progress = null)
        {
            var plan = Plan(query);
            var sample = Measure(plan, window, cancel, progress);
            var used = metric ?? (sample.HasByteCounters ? TalkerMetric.Bytes : TalkerMetric.Connections);
            bool noCounters = used == TalkerMetric.Bytes && !sample.HasByteCounters && window > TimeSpan.Zero;
            bool geoOff = groupBy == TalkerGrouping.Country && plan.Enrichment.Geo == null;
            var talkers = TopTalkers.Rank(sample, groupBy, used, top ?? Math.Max(1, plan.Config.Monitoring.TopTalkersCount));
            return new TalkerRanking(talkers, used, sample, noCounters, geoOff);
        }

        /// <summary>Counts by protocol and state, listening ports, and (over a window longer than zero) bytes and rates.</summary>
        public ConnectionStatistics Statistics(ConnectionQuery query, TimeSpan window, CancellationToken cancel, out IReadOnlyList<string> warnings,
            IProgress<TimeSpan> progress = null)
        {
            var sample = Measure(Plan(query), window, cancel, progress);
            warnings = sample.Warnings;
            return window > TimeSpan.Zero ? ConnectionStatistics.Compute(sample) : ConnectionStatistics.Compute(sample.Last);
        }

        /// <summary>
        /// Runs the live, colour-coded table on <paramref name="terminal"/> (or writes plain frames to
        /// it) from the session's sampler, until q, the frame count or <paramref name="cancel"/>.
        /// Runs on the caller's thread; the terminal is restored however it ends.
        /// </summary>
        public void RunLiveView(Display.ILiveTerminal terminal, ConnectionQuery query, LiveViewOptions options, CancellationToken cancel)
        {
            if (terminal == null) throw new ArgumentNullException(nameof(terminal));
            LiveViewRunner.Run(this, terminal, query ?? new ConnectionQuery(), options ?? new LiveViewOptions(), cancel);
        }

        /// <summary>
        /// Names of processes that own connections now, sorted, for completion: a read that attaches
        /// owners but takes no enrichment and leaves rates and ages alone.
        /// </summary>
        public IReadOnlyList<string> CurrentProcessNames()
        {
            var names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var c in Engine.Peek(EnrichmentOptions.None).Connections)
                if (!string.IsNullOrEmpty(c.ProcessName)) names.Add(c.ProcessName);
            return new List<string>(names);
        }

        /// <summary>Country codes (with names) of the current connections, for completion: GeoIP only, no DNS, rates and ages left alone.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> CurrentCountries(ConnectionQuery query)
        {
            var plan = Plan(query);
            var found = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (plan.Enrichment.Geo == null) return new List<KeyValuePair<string, string>>();
            foreach (var c in Engine.Peek(new EnrichmentOptions { Geo = plan.Enrichment.Geo }).Connections)
                if (c.Country != null && !found.ContainsKey(c.Country)) found[c.Country] = c.CountryName;
            return new List<KeyValuePair<string, string>>(found);
        }

        /// <summary>
        /// The warnings of <paramref name="warnings"/> not yet said in this session, marking them said.
        /// Warnings that differ only in a count ("owners of 12 sockets" and "of 13") are one warning;
        /// any other difference (an interface, a port inside a word such as IPv6) keeps them apart.
        /// </summary>
        public IReadOnlyList<string> Unsaid(IEnumerable<string> warnings)
        {
            var result = new List<string>();
            if (warnings == null) return result;
            lock (_said)
                foreach (var w in warnings)
                    if (w != null && _said.Add(CountFree(w))) result.Add(w);
            return result;
        }

        private IReadOnlyList<string> UnsaidExactly(IEnumerable<string> warnings)
        {
            var result = new List<string>();
            lock (_said)
                foreach (var w in warnings)
                    if (_said.Add("config\u0001" + w)) result.Add(w);
            return result;
        }

        private static readonly Regex Count = new Regex(@"(?<![\w.])\d+(?![\w.])", RegexOptions.CultureInvariant);

        internal static string CountFree(string warning) => Count.Replace(warning, "#");

        private ConnectionSnapshot WithWarnings(ConnectionSnapshot s, IReadOnlyList<string> configWarnings) =>
            new ConnectionSnapshot(s.TimeStampUtc, s.Connections, Join(configWarnings, Unsaid(s.Warnings)));

        private static IReadOnlyList<string> Join(IReadOnlyList<string> a, IReadOnlyList<string> b)
        {
            if (a.Count == 0) return b;
            if (b.Count == 0) return a;
            var all = new List<string>(a);
            all.AddRange(b);
            return all;
        }

        /// <summary>Stops the sampler (waiting for its thread to end) and releases the platform and enrichment.</summary>
        public void Dispose()
        {
            MonitorEngine engine;
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                engine = _engine;
                _engine = null;
            }
            _metrics.Dispose();
            _dashboard.Dispose();
            _history.Dispose();
            _alerts.Dispose();
            _sampler.Dispose();
            engine?.Dispose();
        }
    }
}
