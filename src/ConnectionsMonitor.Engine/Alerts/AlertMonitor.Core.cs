using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;

namespace ConnectionsMonitor.Engine.Alerts
{
    public sealed partial class AlertMonitor
    {
        /// <summary>Name prefix of the rules made from config.yml's alerts.conditions.</summary>
        public const string ConfigRulePrefix = "config.";

        private readonly object _gate = new object();
        private readonly Dictionary<string, RuleEntry> _rules = new Dictionary<string, RuleEntry>(StringComparer.OrdinalIgnoreCase);
        private readonly List<string> _warnings = new List<string>();
        private readonly HashSet<string> _warned = new HashSet<string>(StringComparer.Ordinal);
        private readonly MonitorSession _session;
        private readonly Func<IAlertDelivery> _deliveryFactory;
        private IAlertDelivery _delivery;
        private Delivery.SyslogSender _syslog;
        private Delivery.EventLogSender _eventLog;
        private ConnectionRecordFeed _connectionRecords;
        private Thread _thread;
        private CancellationTokenSource _stop;
        private SessionPlan _plan;
        private AlertSample _last;
        private int _watchers;
        private long _samples;
        private bool _disposed;

        /// <summary>Makes port-scan evidence sources for PortScan conditions; tests replace it.</summary>
        internal Func<AlertCondition, IPortScanSource> PortScanSourceFactory { get; set; }

        /// <summary>Time between the samples the rules see; null for the configuration's refreshInterval. Takes effect when watching starts.</summary>
        public TimeSpan? Interval { get; set; }

        internal AlertMonitor(MonitorSession session, Func<IAlertDelivery> deliveryFactory)
        {
            _session = session;
            _deliveryFactory = deliveryFactory;
        }

        private sealed class RuleEntry
        {
            public AlertRule Rule;
            public RuleEvaluator Evaluator;
            public long Fired;
            public DateTime? LastFiredUtc;
            public long ActionErrors;
            public string LastActionError;
        }

        /// <summary>True while the evaluation thread runs.</summary>
        public bool IsWatching
        {
            get { lock (_gate) return _thread != null; }
        }

        /// <summary>Samples evaluated so far.</summary>
        public long SamplesEvaluated => Interlocked.Read(ref _samples);

        /// <summary>
        /// Adds a rule and starts watching (subscribing to the session's sampler at the configuration's
        /// refreshInterval) if it is the first. Throws <see cref="ArgumentException"/> when a rule of that
        /// name exists, and <see cref="ConfigException"/> when the configuration cannot be used.
        /// </summary>
        public AlertRuleState Register(AlertRule rule)
        {
            if (rule == null) throw new ArgumentNullException(nameof(rule));
            // The configuration a rule names must load (a missing or broken file is the caller's error now, not
            // silence later). The rules share one alert thread, which keeps the configuration it started with.
            var plan = _session.Plan(new ConnectionQuery { ConfigPath = rule.Filter?.ConfigPath, CurrentDirectory = rule.Filter?.CurrentDirectory });
            // Before the rule is evaluated (and outside the lock: the first call may block briefly), so the
            // delivery's own short-lived loopback warm-up listener is gone before this rule's baseline. A delivery
            // made now takes this rule's configuration (its dead-letter path), as the alert thread it starts will.
            if (rule.Targets.Count > 0) Delivery(plan)?.Prepare(rule);
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(AlertMonitor));
                // alerts.syslog, alerts.eventLog: one sender each for the session, made with the configuration of the first rule that sees it on.
                if (plan != null) EnsureSystemLogs(plan.Config.Alerts);
                if (_rules.ContainsKey(rule.Name))
                    throw new ArgumentException("An alert rule named '" + rule.Name + "' exists already.", nameof(rule));
                var e = new RuleEntry { Rule = rule, Evaluator = new RuleEvaluator(rule, PortScanSourceFactory ?? DefaultScanSource) };
                _rules[rule.Name] = e;
                try
                {
                    EnsureThread(rule.Filter);
                }
                catch
                {
                    _rules.Remove(rule.Name);
                    e.Evaluator.Dispose();
                    throw;
                }
                return StateOf(e);
            }
        }

        /// <summary>Removes a rule (its queued webhook messages still go); false when there is none of that name. The thread stops with the last rule.</summary>
        public bool Unregister(string name)
        {
            Thread stopped = null;
            RuleEntry removed;
            lock (_gate)
            {
                if (name == null || !_rules.TryGetValue(name, out removed)) return false;
                _rules.Remove(name);
                _delivery?.Forget(removed.Rule.Name);
                if (_rules.Count == 0) stopped = StopThread();
            }
            Join(stopped);
            // Outside the lock: it waits for an evaluation of this rule in progress on the alert thread.
            removed.Evaluator.Dispose();
            return true;
        }

        /// <summary>The registered rules, sorted by name.</summary>
        public IReadOnlyList<AlertRuleState> Rules
        {
            get { lock (_gate) return _rules.Values.OrderBy(e => e.Rule.Name, StringComparer.OrdinalIgnoreCase).Select(StateOf).ToList(); }
        }

        /// <summary>The rule of that name (case-insensitive); null when none.</summary>
        public AlertRuleState Find(string name)
        {
            lock (_gate) return name != null && _rules.TryGetValue(name, out var e) ? StateOf(e) : null;
        }

        /// <summary>
        /// Says a rule's test: raises one <see cref="AlertStatus.Test"/> alert through <see cref="Raised"/>
        /// and sends it to each of the rule's webhooks now (with the usual retries), returning one result per
        /// webhook. Throws <see cref="ArgumentException"/> when there is no such rule.
        /// </summary>
        public async Task<IReadOnlyList<AlertDeliveryResult>> TestAsync(string name, CancellationToken cancel)
        {
            RuleEntry e;
            lock (_gate)
                if (name == null || !_rules.TryGetValue(name, out e))
                    throw new ArgumentException("There is no alert rule named '" + name + "'.", nameof(name));
            var alert = new AlertEvent(e.Rule.Name, e.Rule.Conditions[0].Kind, AlertStatus.Test, DateTime.UtcNow,
                "Test message for alert rule '" + e.Rule.Name + "' (" + e.Rule.Kind + "); nothing happened.", new AlertItem[0]);
            // The system logs' alert counts before the test, to tell after a flush whether its message went.
            var syslog = _syslog;
            var eventLog = _eventLog;
            var syslogBefore = syslog?.Counts(Engine.Alerts.Delivery.SystemLogRecordKind.Alert);
            var eventLogBefore = eventLog?.Counts(Engine.Alerts.Delivery.SystemLogRecordKind.Alert);
            Raise(e, alert);
            var results = new List<AlertDeliveryResult>();
            if (e.Rule.Targets.Count > 0)
            {
                var delivery = Delivery();
                if (delivery == null) results.AddRange(e.Rule.Targets.Select(t => new AlertDeliveryResult { Target = t.Redacted, Error = "No webhook sender in this session." }));
                else results.AddRange(await delivery.SendNowAsync(e.Rule, alert, cancel).ConfigureAwait(false));
            }
            if (syslog != null)
                results.Add(await Task.Run(() => SystemLogResult("Syslog " + syslog.Target, syslogBefore, () => syslog.Counts(Engine.Alerts.Delivery.SystemLogRecordKind.Alert), syslog.Flush, () => syslog.LastError), cancel).ConfigureAwait(false));
            if (eventLog != null)
                results.Add(await Task.Run(() => SystemLogResult("Event Log " + eventLog.Target, eventLogBefore, () => eventLog.Counts(Engine.Alerts.Delivery.SystemLogRecordKind.Alert), eventLog.Flush, () => eventLog.LastError), cancel).ConfigureAwait(false));
            return results;
        }

        /// <summary>
        /// Whether a system log took the test alert: its queue is flushed (five seconds at most) and its alert counts compared
        /// with those before. Another alert sent meanwhile counts the same way (the test cannot tell them apart).
        /// </summary>
        internal static AlertDeliveryResult SystemLogResult(string target, Engine.Alerts.Delivery.SystemLogCounts before, Func<Engine.Alerts.Delivery.SystemLogCounts> now, Func<TimeSpan, bool> flush, Func<string> lastError)
        {
            bool idle = flush(TimeSpan.FromSeconds(5));
            var after = now();
            if (after.Sent > before.Sent) return new AlertDeliveryResult { Target = target, Delivered = true, Attempts = 1 };
            string error = after.Failed > before.Failed ? lastError() ?? "the message could not be sent."
                : after.Dropped > before.Dropped ? "the message was dropped: the queue was full."
                : idle ? "the message was not sent." : "the message was still waiting after 5 seconds.";
            return new AlertDeliveryResult { Target = target, Delivered = false, Attempts = after.Failed > before.Failed ? 1 : 0, Error = error };
        }

        /// <summary>The names of the rules that flag <paramref name="r"/>, sorted and comma-separated ("rdp,scan"); null when none.</summary>
        public string FlagsFor(ConnectionRecord r)
        {
            if (r == null) return null;
            var (evaluators, last) = FlagRules();
            return evaluators == null ? null : FlagsFor(r, evaluators, last);
        }

        /// <summary>Sets <see cref="ConnectionRecord.Flags"/> on each row (null where no rule flags it). Does nothing when no rule is registered.</summary>
        public void ApplyFlags(IEnumerable<ConnectionRecord> rows)
        {
            if (rows == null) return;
            // The rules once for all rows (a snapshot, a dashboard frame: 10,000 rows), not a locked copy of them per row.
            var (evaluators, last) = FlagRules();
            if (evaluators == null) return;
            foreach (var r in rows) r.Flags = FlagsFor(r, evaluators, last);
        }

        /// <summary>The registered rules' evaluators and the last sample they saw; (null, null) when no rule is registered.</summary>
        private (List<RuleEvaluator> Evaluators, AlertSample Last) FlagRules()
        {
            lock (_gate)
            {
                if (_rules.Count == 0) return (null, null);
                return (_rules.Values.Select(e => e.Evaluator).ToList(), _last);
            }
        }

        private static string FlagsFor(ConnectionRecord r, List<RuleEvaluator> evaluators, AlertSample last)
        {
            List<string> names = null;
            foreach (var ev in evaluators)
                if (ev.Flags(r, last)) (names ?? (names = new List<string>())).Add(ev.Rule.Name);
            if (names == null) return null;
            names.Sort(StringComparer.OrdinalIgnoreCase);
            return string.Join(",", names);
        }

        /// <summary>Says a failure of the rule's in-process consumer (a script block); shown by Get-ConnectionAlert.</summary>
        public void ReportActionError(string ruleName, string message)
        {
            lock (_gate)
                if (ruleName != null && _rules.TryGetValue(ruleName, out var e)) { e.ActionErrors++; e.LastActionError = message; }
        }

        /// <summary>Warnings not said yet (each once per session).</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            var syslog = _syslog;
            if (syslog != null) foreach (var sw in syslog.TakeWarnings()) Warn(sw);
            var eventLog = _eventLog;
            if (eventLog != null) foreach (var ew in eventLog.TakeWarnings()) Warn(ew);
            lock (_warnings) { var w = _warnings.ToList(); _warnings.Clear(); return w; }
        }

        private void Warn(string text)
        {
            lock (_warnings) if (_warned.Add(text)) _warnings.Add(text);
        }

        private AlertRuleState StateOf(RuleEntry e) =>
            new AlertRuleState(e.Rule, e.Fired, e.LastFiredUtc, e.Evaluator.Active, _delivery?.StatsFor(e.Rule.Name), e.ActionErrors, e.LastActionError);

        private IAlertDelivery Delivery(SessionPlan planBeforeThread = null)
        {
            lock (_gate)
            {
                if (_disposed) return null;
                return _delivery ?? (_delivery = _deliveryFactory != null ? _deliveryFactory() : DefaultDelivery(_plan ?? planBeforeThread));
            }
        }

        /// <summary>The built-in webhook sender, with the configuration's dead-letter path (the alert thread's configuration, or the one given before it starts).</summary>
        private static IAlertDelivery DefaultDelivery(SessionPlan plan) =>
            new Delivery.WebhookDelivery(new Delivery.WebhookDeliveryOptions { DeadLetterPath = plan?.Config.Alerts.DeadLetterPath });

        /// <summary>
        /// Undelivered webhook messages written to the dead-letter file when the session ended, or by <see cref="FlushDeliveries"/>
        /// before (0 if none); <see cref="DeadLetterPath"/> says where.
        /// </summary>
        public int DeadLettered { get; private set; }

        /// <summary>
        /// Waits up to <paramref name="timeout"/> for queued webhook messages to go and writes what is left to the dead-letter
        /// file, as the end of the session does, so that a caller can say so before its last words (the service before its
        /// "Stopped" line); the sender stays for later alerts. Returns how many were written there (also added to
        /// <see cref="DeadLettered"/>); 0 when nothing was ever sent.
        /// </summary>
        public int FlushDeliveries(TimeSpan timeout)
        {
            IAlertDelivery delivery;
            lock (_gate) delivery = _disposed ? null : _delivery;
            if (delivery == null) return 0;
            int written;
            try { written = delivery.Flush(timeout); } catch (Exception) { return 0; }
            lock (_gate) DeadLettered += written;
            return written;
        }

        /// <summary>
        /// The warning for <paramref name="count"/> alert messages left undelivered in the dead-letter file at
        /// <paramref name="deadLetterPath"/> when something ended: "3 alert message(s) could not be delivered before
        /// <paramref name="ended"/>; they are in … (one JSON line each)." <paramref name="ended"/> is worded by the caller
        /// ("the module was removed", "the service stopped").
        /// </summary>
        public static string UndeliveredWarning(int count, string deadLetterPath, string ended) =>
            count.ToString(System.Globalization.CultureInfo.InvariantCulture) + " alert message(s) could not be delivered before " + ended +
            "; they are in " + deadLetterPath + " (one JSON line each).";

        /// <summary>The dead-letter file of this session's webhook sender; null when nothing was sent.</summary>
        public string DeadLetterPath => (_delivery as Delivery.WebhookDelivery)?.DeadLetterPath ?? _deadLetterPath;

        private string _deadLetterPath;

        /// <summary>The built-in port-scan evidence: the platform's real-time source where it offers one (Linux: SYN capture; Windows: ETW accept events), else the socket table.</summary>
        private IPortScanSource DefaultScanSource(AlertCondition condition) =>
            new PortScanWatchSource(new PortScan.PortScanWatch(_session.Engine.Platform, condition.ScanPorts, condition.ScanWindow));

        private sealed class PortScanWatchSource : IPortScanSource
        {
            private readonly PortScan.PortScanWatch _watch;
            public PortScanWatchSource(PortScan.PortScanWatch watch) { _watch = watch; }
            public string Limitation => _watch.Limitation;
            public void Observe(AlertSample sample) =>
                _watch.Observe(new ConnectionSnapshot(sample.TimeUtc, sample.Rows, new string[0]), sample.Events);
            public IReadOnlyList<PortScanFindingInfo> TakeFindings(DateTime nowUtc) =>
                _watch.TakeFindings(nowUtc).Select(f => new PortScanFindingInfo { RemoteAddress = f.RemoteAddress, Ports = f.Ports, Source = f.Source }).ToList();
            public void Dispose() => _watch.Dispose();
        }

        // ---- config.yml's alerts, while something watches ----

        /// <summary>
        /// A watcher (Watch-Connection, the live view, the dashboard, the service) started with this plan:
        /// with alerts.enabled, the configuration's conditions become rules (named config.*) until the last
        /// watcher stops. A one-off snapshot never calls this, so an audit starts nothing in the background.
        /// </summary>
        internal void WatcherStarted(SessionPlan plan)
        {
            ConnectionRecordFeed undo = null;
            try
            {
                lock (_gate)
                {
                    if (_disposed) return;
                    if (_watchers++ > 0) return;
                    var alerts = plan.Config.Alerts;
                    try
                    {
                        EnsureSystemLogs(alerts);
                        StartConnectionRecords(plan);
                    }
                    catch
                    {
                        _watchers--;
                        throw;
                    }
                    if (!alerts.Enabled) return;
                    var added = new List<string>();
                    try
                    {
                        foreach (var rule in ConfigRules.From(alerts))
                        {
                            if (_rules.ContainsKey(rule.Name)) continue;
                            _rules[rule.Name] = new RuleEntry { Rule = rule, Evaluator = new RuleEvaluator(rule, PortScanSourceFactory ?? DefaultScanSource) };
                            added.Add(rule.Name);
                        }
                        // The watcher's configuration, not its filter: config rules look at every connection, whatever
                        // the live view or Watch-Connection was asked to show (a filtered-out listener would make an
                        // inbound connection look outbound).
                        var query = plan.Filters.Length > 0 ? plan.Filters[0] : null;
                        if (_rules.Count > 0) EnsureThread(query);
                    }
                    catch
                    {
                        // The watcher does not start (its caller disposes its subscription and never calls WatcherStopped): undo.
                        _watchers--;
                        foreach (var name in added) _rules.Remove(name);
                        undo = _connectionRecords;
                        _connectionRecords = null;
                        throw;
                    }
                }
            }
            finally
            {
                undo?.Dispose(); // outside the lock: its thread may be asking for flags
            }
        }

        /// <summary>The last watcher left: the config.* rules go (registered rules stay).</summary>
        internal void WatcherStopped()
        {
            Thread stopped = null;
            var removed = new List<RuleEntry>();
            ConnectionRecordFeed records;
            lock (_gate)
            {
                if (_watchers == 0 || --_watchers > 0) return;
                records = _connectionRecords;
                _connectionRecords = null;
                foreach (var name in _rules.Where(kv => kv.Value.Rule.Origin == "config").Select(kv => kv.Key).ToList())
                {
                    removed.Add(_rules[name]);
                    _rules.Remove(name);
                }
                if (_rules.Count == 0) stopped = StopThread();
            }
            Join(stopped);
            records?.Dispose(); // outside the lock: its thread may be asking for flags
            foreach (var e in removed) e.Evaluator.Dispose(); // outside the lock, as in Unregister
        }

        // ---- the system logs (alerts.syslog, alerts.eventLog) ----

        /// <summary>Makes the session's syslog and Event Log senders the configuration turns on (under the lock; once each).</summary>
        private void EnsureSystemLogs(AlertsConfig alerts)
        {
            if (_syslog == null && alerts.Syslog.Enabled) _syslog = new Delivery.SyslogSender(alerts.Syslog);
            if (_eventLog == null && alerts.EventLog.Enabled)
            {
                if (System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows))
                    _eventLog = new Delivery.EventLogSender(alerts.EventLog);
                else
                    Warn(EventLogNotHereWarning);
            }
        }

        /// <summary>Said once when alerts.eventLog.enabled is true outside Windows.</summary>
        internal const string EventLogNotHereWarning =
            "alerts.eventLog.enabled is true, but the Windows Event Log exists only on Windows: nothing is written to it on this system (alerts.syslog is the system log here).";

        /// <summary>
        /// With connectionEvents on for a log that runs, the first watcher starts the connection records (under the lock):
        /// a feed of the watcher's configuration at <see cref="Interval"/> (else refreshInterval).
        /// </summary>
        private void StartConnectionRecords(SessionPlan watcherPlan)
        {
            if (_connectionRecords != null) return;
            var alerts = watcherPlan.Config.Alerts;
            var syslogKinds = _syslog != null && alerts.Syslog.Enabled ? alerts.Syslog.ConnectionEvents : Engine.Alerts.Delivery.ConnectionEventKinds.None;
            var eventLogKinds = _eventLog != null && alerts.EventLog.Enabled ? alerts.EventLog.ConnectionEvents : Engine.Alerts.Delivery.ConnectionEventKinds.None;
            if (syslogKinds == Engine.Alerts.Delivery.ConnectionEventKinds.None && eventLogKinds == Engine.Alerts.Delivery.ConnectionEventKinds.None) return;
            var first = watcherPlan.Filters.Length > 0 ? watcherPlan.Filters[0] : null;
            var plan = _session.Plan(new ConnectionQuery { ConfigPath = first?.ConfigPath, CurrentDirectory = first?.CurrentDirectory });
            var feed = _session.SubscribeInternal(plan, Interval, reportExistingAsOpened: false, capacity: 4, watcher: false);
            _connectionRecords = new ConnectionRecordFeed(feed, _syslog, syslogKinds, _eventLog, eventLogKinds, FlagsFor, Warn);
        }

        /// <summary>Connection records made for the system logs since the session started them; null when they are off.</summary>
        public long? ConnectionRecordsMade => _connectionRecords?.Records;

        /// <summary>Samples the connection records have diffed (0 when off); tests wait for the baseline with it.</summary>
        internal long ConnectionRecordSamples => _connectionRecords?.Samples ?? 0;

        // ---- the evaluation thread ----

        /// <summary>Starts the alert thread (under the lock) with the configuration <paramref name="configOf"/> names; its filters are not used.</summary>
        private void EnsureThread(ConnectionQuery configOf)
        {
            if (_thread != null) return;
            var query = new ConnectionQuery { ConfigPath = configOf?.ConfigPath, CurrentDirectory = configOf?.CurrentDirectory };
            _plan = _session.Plan(query);
            var feed = _session.SubscribeInternal(_plan, Interval, reportExistingAsOpened: false, capacity: 2, watcher: false);
            foreach (var w in _plan.Warnings) Warn(w);
            _stop = new CancellationTokenSource();
            var stop = _stop;
            _thread = new Thread(() => Run(feed, stop.Token)) { IsBackground = true, Name = ThreadName };
            _thread.Start();
        }

        private Thread StopThread()
        {
            var t = _thread;
            _thread = null;
            _stop?.Cancel();
            _last = null;
            return t;
        }

        private static void Join(Thread t)
        {
            if (t != null && t != Thread.CurrentThread) t.Join();
        }

        private void Run(SessionFeed feed, CancellationToken stop)
        {
            var faults = new HashSet<Type>();
            using (feed)
            {
                try
                {
                    while (!stop.IsCancellationRequested)
                    {
                        SessionSample sample;
                        try
                        {
                            if (!feed.TryNext(TimeSpan.FromMilliseconds(-1), stop, out sample)) continue;
                        }
                        catch (SamplerException ex)
                        {
                            Warn("Alert rules could not read the connection table: " + ex.Message);
                            continue;
                        }
                        // A fault in evaluating a sample (a bug of the module's own) costs that sample, not the rules nor the host
                        // process, which an exception left unhandled on this thread would end (PowerShell, or the service).
                        try
                        {
                            BeforeEvaluate?.Invoke(sample);
                            Evaluate(sample);
                        }
                        catch (Exception ex) when (!(ex is OutOfMemoryException) && !(ex is OperationCanceledException && stop.IsCancellationRequested))
                        {
                            // Said once per kind of fault: a message that names the row it met would otherwise be said anew at every sample.
                            if (faults.Add(ex.GetType()))
                                Warn("Alert rules: evaluating a sample failed (" + Display.UntrustedText.Fault(ex) + "); the next samples are evaluated as usual.");
                        }
                    }
                }
                catch (OperationCanceledException) { }
            }
        }

        /// <summary>Called with each sample before the rules evaluate it; tests make it throw, as a fault of the module's own would.</summary>
        internal Action<SessionSample> BeforeEvaluate { get; set; }

        /// <summary>Evaluates every rule against one sample (the alert thread; tests call it directly).</summary>
        internal void Evaluate(SessionSample sample)
        {
            var s = new AlertSample(sample.Snapshot.TimeStampUtc, sample.Snapshot.Connections, sample.Events);
            foreach (var w in sample.Snapshot.Warnings) Warn(w);
            if (sample.DroppedBefore > 0) Warn(MonitorSession.DropWarning(sample.DroppedBefore));
            List<RuleEntry> entries;
            lock (_gate)
            {
                _last = s;
                entries = _rules.Values.ToList();
            }
            foreach (var e in entries)
            {
                List<AlertEvent> alerts;
                try { alerts = e.Evaluator.Evaluate(s); }
                catch (Exception ex)
                {
                    Warn("Alert rule '" + e.Rule.Name + "' failed on a sample: " + ex.Message);
                    continue;
                }
                foreach (var w in e.Evaluator.Warnings) Warn(w);
                e.Evaluator.Warnings.Clear();
                foreach (var a in alerts)
                {
                    lock (_gate)
                    {
                        if (!_rules.ContainsKey(e.Rule.Name)) break; // unregistered meanwhile
                        e.Fired++;
                        e.LastFiredUtc = a.TimeUtc;
                    }
                    Raise(e, a);
                    if (e.Rule.Targets.Count > 0) Delivery()?.Enqueue(e.Rule, a);
                }
            }
            Interlocked.Increment(ref _samples);
        }

        /// <summary>The session's syslog sender (alerts.syslog.enabled); null when off or before the first rule.</summary>
        public Delivery.SyslogSender Syslog => _syslog;

        /// <summary>The session's Windows Event Log sender (alerts.eventLog.enabled, on Windows); null when off, elsewhere, or before the first rule or watcher.</summary>
        public Delivery.EventLogSender EventLog => _eventLog;

        private void Raise(RuleEntry e, AlertEvent a)
        {
            // Every alert, tests included (Test-ConnectionAlert checks the syslog pipeline too; severity notice).
            _syslog?.Enqueue(a);
            _eventLog?.Enqueue(a);
            var handlers = Raised;
            if (handlers == null) return;
            foreach (Action<AlertRule, AlertEvent> h in handlers.GetInvocationList())
            {
                try { h(e.Rule, a); }
                catch (Exception ex) { ReportActionError(e.Rule.Name, ex.Message); }
            }
        }

        /// <summary>Stops watching, then waits briefly for queued webhook messages and writes what is left to the dead-letter file.</summary>
        public void Dispose()
        {
            Thread t;
            IAlertDelivery delivery;
            Delivery.SyslogSender syslog;
            Delivery.EventLogSender eventLog;
            ConnectionRecordFeed records;
            List<RuleEntry> entries;
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                t = StopThread();
                delivery = _delivery;
                _delivery = null;
                syslog = _syslog;
                eventLog = _eventLog;
                records = _connectionRecords;
                _connectionRecords = null;
                entries = _rules.Values.ToList();
                _rules.Clear();
            }
            Join(t);
            foreach (var e in entries) e.Evaluator.Dispose();
            records?.Dispose();
            syslog?.Dispose(); // sends what is queued (at most two seconds); _syslog stays for its counters
            eventLog?.Dispose();
            if (delivery != null)
            {
                _deadLetterPath = (delivery as Delivery.WebhookDelivery)?.DeadLetterPath;
                try { DeadLettered += delivery.Flush(TimeSpan.FromSeconds(2)); } catch (Exception) { }
                delivery.Dispose();
            }
        }
    }
}
