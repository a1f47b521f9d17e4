using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.History;
using ConnectionsMonitor.Engine.Session;

namespace ConnectionsMonitor.Engine.Service
{
    /// <summary>How important a line of the service's log is; the numbers are syslog's (and sd-daemon's prefixes).</summary>
    public enum ServiceLogLevel
    {
        /// <summary>The service cannot go on (syslog 3).</summary>
        Error = 3,
        /// <summary>Something is partial or lost; the service goes on (syslog 4).</summary>
        Warning = 4,
        /// <summary>An alert fired (syslog 5).</summary>
        Notice = 5,
        /// <summary>Start, stop, what runs (syslog 6).</summary>
        Info = 6,
    }

    /// <summary>Where the service writes its log: the host gives one (journald through stderr, the Windows event log).</summary>
    public interface IServiceLog
    {
        /// <summary>Writes one message; called from several threads; must not throw.</summary>
        void Write(ServiceLogLevel level, string message);
    }

    /// <summary>What the service mode runs: its configuration file and history file.</summary>
    public sealed class ServiceSettings
    {
        /// <summary>The config.yml to use; null for the usual lookup (CONNECTIONSMONITOR_CONFIG, the user's config folder, the module's default).</summary>
        public string ConfigPath { get; set; }

        /// <summary>The history file; null for history.path of the configuration, else <see cref="ServiceRunner.DefaultHistoryPath"/>.</summary>
        public string HistoryPath { get; set; }

        /// <summary>The folder a relative path is taken from; null for the process's current folder.</summary>
        public string CurrentDirectory { get; set; }
    }

    /// <summary>
    /// The headless, long-running service mode: one <see cref="MonitorSession"/> whose history recorder writes every
    /// refreshInterval (unless monitoring.trackHistory is false: then no history file, and the recorder runs only the
    /// auto-export when one is configured) and whose configured alert rules (alerts.enabled) run, with everything worth saying written to an
    /// <see cref="IServiceLog"/>: start (file, interval, rules), warnings of the table reader, the recorder and the rules,
    /// each alert fired, each webhook delivery that failed, and stop. <see cref="Start"/> then <see cref="Stop"/>;
    /// <see cref="Failed"/> is set when the recording stops on its own (the host then exits non-zero so the service
    /// manager restarts it). One thread, "cmon-service", reads the watcher feed and the warnings.
    /// </summary>
    public sealed class ServiceRunner : IDisposable
    {
        /// <summary>The OS name of the runner's thread.</summary>
        public const string ThreadName = "cmon-service";

        private readonly MonitorSession _session;
        private readonly ServiceSettings _settings;
        private readonly IServiceLog _log;
        private readonly ManualResetEventSlim _failed = new ManualResetEventSlim(false);
        private readonly Dictionary<string, long> _failedDeliveries = new Dictionary<string, long>(StringComparer.Ordinal);
        private CancellationTokenSource _stop;
        private Thread _thread;
        private SessionFeed _feed;
        private string _failure;
        // Windows Firewall rules never expire: the service removes the module's expired blocks once a minute (Linux: the kernel does).
        private readonly Blocking.ExpiredBlockSweep _blockSweep = RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
            ? new Blocking.ExpiredBlockSweep(new Blocking.ConnectionBlocker(new Platform.Windows.WindowsFirewall())) : null;

        /// <summary>A runner over a session made by the caller (the runner disposes it with itself).</summary>
        public ServiceRunner(MonitorSession session, ServiceSettings settings, IServiceLog log)
        {
            _session = session ?? throw new ArgumentNullException(nameof(session));
            _settings = settings ?? new ServiceSettings();
            _log = log ?? throw new ArgumentNullException(nameof(log));
        }

        /// <summary>The history file the service writes when neither --history nor history.path names one: /var/lib/connectionsmonitor/history.db on Linux, %ProgramData%\ConnectionsMonitor\history.db on Windows.</summary>
        public static string DefaultHistoryPath() =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? WindowsServiceSetup.DefaultHistoryPath : SystemdUnit.DefaultHistoryPath;

        /// <summary>Set when the service cannot go on (the recording stopped on its own); <see cref="FailureReason"/> says why.</summary>
        public WaitHandle Failed => _failed.WaitHandle;

        /// <summary>Why the service failed; null while it runs well.</summary>
        public string FailureReason { get { lock (_failedDeliveries) return _failure; } }

        /// <summary>The recorder's state (file, samples written); null before <see cref="Start"/>.</summary>
        public HistoryRecordingState Recording => _session.History.State;

        /// <summary>
        /// Loads the configuration, starts the recorder and the configured alert rules, and logs what runs.
        /// Throws <see cref="ConfigException"/> (file, line, key) for a configuration that cannot be used,
        /// <see cref="HistoryLockedException"/> when another recorder writes the file, <see cref="HistoryException"/>
        /// when the file cannot be used; nothing is left running then.
        /// </summary>
        public void Start()
        {
            if (_thread != null) throw new InvalidOperationException("The service runs already.");
            var query = new ConnectionQuery { ConfigPath = _settings.ConfigPath, CurrentDirectory = _settings.CurrentDirectory ?? Environment.CurrentDirectory };
            var plan = _session.Plan(query);
            foreach (var w in plan.Warnings) _log.Write(ServiceLogLevel.Warning, "Configuration: " + w);
            var config = plan.Config;
            // monitoring.trackHistory: false keeps no history file; the recorder then runs only the auto-export, if configured.
            string path = null;
            if (config.Monitoring.TrackHistory)
            {
                path = _settings.HistoryPath ?? (config.History.Path != null ? HistoryOptions.ExpandConfigured(config.History.Path) : null) ?? DefaultHistoryPath();
                if (!System.IO.Path.IsPathRooted(path)) path = System.IO.Path.GetFullPath(System.IO.Path.Combine(query.CurrentDirectory, path));
            }
            else if (_settings.HistoryPath != null)
                _log.Write(ServiceLogLevel.Warning, "The history file '" + _settings.HistoryPath + "' is not written: monitoring.trackHistory is false.");

            var state = _session.History.Start(path, HistoryOptions.From(config), null, query);
            _session.Alerts.Raised += OnAlert;
            try
            {
                // A watcher of the session's sampler: it switches on config.yml's alert rules (alerts.enabled) for as long as it runs.
                _feed = _session.Subscribe(query);
            }
            catch
            {
                _session.Alerts.Raised -= OnAlert;
                if (state != null) _session.History.Stop();
                throw;
            }
            foreach (var w in _feed.SetupWarnings) _log.Write(ServiceLogLevel.Warning, w);

            // metrics.enabled: the Prometheus endpoint, on the same session (its own subscription, at metrics.interval).
            string metricsText = "no metrics endpoint (metrics.enabled is false)";
            if (config.Metrics.Enabled)
            {
                try
                {
                    var m = _session.Metrics.Start(Metrics.MetricsEndpointOptions.From(config), query);
                    metricsText = "metrics at " + m.Url + " every " + m.Interval.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s" +
                        (m.RequiresBearerToken ? " (bearer token required)" : "");
                }
                catch
                {
                    _feed.Dispose();
                    _feed = null;
                    _session.Alerts.Raised -= OnAlert;
                    if (state != null) _session.History.Stop();
                    throw;
                }
            }

            string dashboardText = StartDashboard(config, query);

            var rules = _session.Alerts.Rules;
            string ruleText = rules.Count == 0
                ? (config.Alerts.Enabled ? "alerts.enabled is true but no condition is on" : "no alert rules (alerts.enabled is false)")
                : rules.Count.ToString(CultureInfo.InvariantCulture) + " alert rule(s): " + string.Join(", ", Names(rules));
            string recording = state == null ? "no history (monitoring.trackHistory is false)"
                : state.Path == null ? "no history (monitoring.trackHistory is false), only the auto-export"
                : "recording every " + state.Interval.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s into '" + state.Path + "'";
            _log.Write(ServiceLogLevel.Info, "Started (PID " + CurrentProcessId() + "): configuration " + (plan.Load.SourcePath != null ? "'" + plan.Load.SourcePath + "'" : "built-in defaults") +
                "; " + recording + "; " + ruleText + "; " + metricsText + "; " + SystemLogText(config) + "; " + dashboardText + ".");
            SayRecorderWarnings();

            _stop = new CancellationTokenSource();
            var token = _stop.Token;
            _thread = new Thread(() => Run(token)) { IsBackground = true, Name = ThreadName };
            _thread.Start();
        }

        /// <summary>
        /// Stops the rules and the recorder (its last sample is written, open connections are closed as "recording stopped"),
        /// gives queued webhook messages 2 s and logs how many went to the dead-letter file instead, and logs the totals. Safe to call twice.
        /// </summary>
        public void Stop()
        {
            if (_thread == null) return;
            _stop.Cancel();
            _thread.Join();
            _thread = null;
            _feed?.Dispose();
            _feed = null;
            var dashboard = _session.Dashboard.Stop();
            if (dashboard != null)
            {
                try { if (_dashboardFile != null) File.Delete(_dashboardFile); }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
                _dashboardFile = null;
                _log.Write(ServiceLogLevel.Info, "Dashboard stopped: " + dashboard.Requests.ToString(CultureInfo.InvariantCulture) + " request(s) answered, " +
                    dashboard.Refused.ToString(CultureInfo.InvariantCulture) + " refused" +
                    (dashboard.Displaced > 0 ? ", " + dashboard.Displaced.ToString(CultureInfo.InvariantCulture) + " idle connection(s) displaced when all 64 were taken." : "."));
            }
            var metrics = _session.Metrics.Stop();
            if (metrics != null)
                _log.Write(ServiceLogLevel.Info, "Metrics endpoint stopped: " + metrics.ScrapesServed.ToString(CultureInfo.InvariantCulture) + " scrape(s) served.");
            var final = _session.History.Stop();
            SayRecorderWarnings();
            SayAlertWarnings();
            _session.Alerts.Syslog?.Flush(TimeSpan.FromSeconds(2)); // what the last samples queued, before the totals
            _session.Alerts.EventLog?.Flush(TimeSpan.FromSeconds(2));
            // Webhook messages still queued or being retried get the same 2 s as at the session's end; what is left goes to the
            // dead-letter file now, so the log says so before its last line (the session's end wrote it after, unsaid).
            int undelivered = _session.Alerts.FlushDeliveries(TimeSpan.FromSeconds(2));
            if (undelivered > 0)
                _log.Write(ServiceLogLevel.Warning, AlertMonitor.UndeliveredWarning(undelivered, _session.Alerts.DeadLetterPath, "the service stopped"));
            string totals = SystemLogTotals(_session.Alerts.Syslog, _session.Alerts.EventLog);
            if (totals != null) _log.Write(ServiceLogLevel.Info, totals);
            _session.Alerts.Raised -= OnAlert;
            if (final == null || final.Path == null)
                _log.Write(ServiceLogLevel.Info, "Stopped.");
            else
                _log.Write(ServiceLogLevel.Info, "Stopped: " + final.SamplesWritten.ToString(CultureInfo.InvariantCulture) + " sample(s) written to '" + final.Path + "'" +
                    (final.SamplesLost > 0 ? ", " + final.SamplesLost.ToString(CultureInfo.InvariantCulture) + " lost" : "") + ".");
        }

        private string _dashboardFile;

        /// <summary>
        /// The file that holds the dashboard's address with its token while the service serves it: dashboard.url beside the
        /// history file it writes (by default in the service's state directory /var/lib/connectionsmonitor), else in that
        /// state directory; mode 0600 wherever it is (a trial found it 0644 beside a history path of the user's choosing).
        /// </summary>
        public static string DashboardAddressFile(string historyPath) =>
            Path.Combine(Path.GetDirectoryName(historyPath ?? SystemdUnit.DefaultHistoryPath), "dashboard.url");

        // dashboard.enabled: the web dashboard on loopback (Linux). Its address with the token goes into a file only root can
        // read, never into the log. A dashboard that cannot start (its port in use) is a warning: recording and alerts go on.
        private string StartDashboard(MonitorConfig config, ConnectionQuery query)
        {
            if (!config.Dashboard.Enabled) return "no dashboard (dashboard.enabled is false)";
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                _log.Write(ServiceLogLevel.Warning, "dashboard.enabled is true, but the service serves the dashboard on Linux only: on Windows its address file would be readable by every user of %ProgramData%.");
                return "no dashboard (Windows)";
            }
            try
            {
                var d = _session.Dashboard.Start(new Dashboard.DashboardOptions
                {
                    Port = config.Dashboard.Port,
                    Interval = TimeSpan.FromMilliseconds(config.RefreshInterval),
                    HistoryPath = () => _session.History.State?.Path,
                    ExportFormats = config.Dashboard.Export.OfferedFormats,
                }, query);
                string file = DashboardAddressFile(_session.History.State?.Path);
                Platform.PrivateFile.WriteSecret(file, d.LaunchUrl + "\n");
                _dashboardFile = file;
                return "dashboard at " + d.Url + " (its address with the token is in '" + file + "', readable by root)";
            }
            catch (Exception ex) when (ex is Web.HttpEndpointException || ex is IOException || ex is UnauthorizedAccessException)
            {
                _session.Dashboard.Stop();
                _log.Write(ServiceLogLevel.Warning, "The dashboard is not served: " + ex.Message);
                return "no dashboard (it could not start)";
            }
        }

        private void Run(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (_feed.TryNext(TimeSpan.FromSeconds(1), stop, out var sample))
                    {
                        foreach (var w in _session.Unsaid(sample.Snapshot.Warnings)) _log.Write(ServiceLogLevel.Warning, w);
                        if (sample.DroppedBefore > 0) _log.Write(ServiceLogLevel.Warning, MonitorSession.DropWarning(sample.DroppedBefore));
                    }
                }
                catch (OperationCanceledException) { break; }
                catch (Exception ex) when (!(ex is OutOfMemoryException))
                {
                    Fail("Reading the connection table failed: " + ex.Message);
                    break;
                }
                // A fault here (a bug of the module's own, or one the firewall's COM calls raise) stops the service with a reason,
                // as a failed read does: the host exits 1 and the service manager restarts it. Left unhandled on this thread the
                // exception would end the process without a word in the log.
                try
                {
                    AfterSample?.Invoke();
                    SayAlertWarnings();
                    foreach (var w in _session.Metrics.TakeWarnings()) _log.Write(ServiceLogLevel.Warning, w);
                    foreach (var w in _session.Dashboard.TakeWarnings()) _log.Write(ServiceLogLevel.Warning, w);
                    SayDeliveryFailures();
                    SayRecorderWarnings();
                    if (_blockSweep != null)
                    {
                        var (sweepFailed, said) = _blockSweep.Tick(DateTime.UtcNow);
                        if (said != null) _log.Write(sweepFailed ? ServiceLogLevel.Warning : ServiceLogLevel.Info, said);
                    }
                    var state = _session.History.State;
                    if (state != null && state.Failure != null) { Fail(state.Failure); break; }
                }
                catch (Exception ex) when (!(ex is OutOfMemoryException))
                {
                    Fail("The service stopped after a fault (" + Display.UntrustedText.Fault(ex) + ").");
                    break;
                }
            }
        }

        /// <summary>Called after each turn's read; tests make it throw, as a fault of the module's own would.</summary>
        internal Action AfterSample { get; set; }

        private void Fail(string reason)
        {
            lock (_failedDeliveries) _failure = reason;
            _log.Write(ServiceLogLevel.Error, reason);
            _failed.Set();
        }

        private void OnAlert(AlertRule rule, AlertEvent alert)
        {
            if (alert.Status == AlertStatus.Test) return;
            _log.Write(ServiceLogLevel.Notice, "Alert " + rule.Name + " (" + alert.Status + "): " + Display.UntrustedText.Clean(alert.Summary));
        }

        private void SayRecorderWarnings()
        {
            foreach (var w in _session.History.TakeWarnings()) _log.Write(ServiceLogLevel.Warning, w);
        }

        private void SayAlertWarnings()
        {
            foreach (var w in _session.Alerts.TakeWarnings()) _log.Write(ServiceLogLevel.Warning, w);
        }

        /// <summary>Each rule's webhook messages given up on since the last look, with the latest error (targets redacted).</summary>
        private void SayDeliveryFailures()
        {
            foreach (var r in _session.Alerts.Rules)
            {
                var d = r.Delivery;
                if (d == null) continue;
                long lost = d.Failed + d.Dropped;
                _failedDeliveries.TryGetValue(r.Rule.Name, out long before);
                if (lost <= before) continue;
                _failedDeliveries[r.Rule.Name] = lost;
                _log.Write(ServiceLogLevel.Warning, "Alert " + r.Rule.Name + ": " + (lost - before).ToString(CultureInfo.InvariantCulture) +
                    " webhook message(s) not delivered: " + (d.LastError ?? "no reason given") + (_session.Alerts.DeadLetterPath != null ? " (kept in '" + _session.Alerts.DeadLetterPath + "')" : ""));
            }
        }

        /// <summary>The Started line's words on the system logs: "syslog to udp://… (alerts; connection records: opened, closed)", "no system log".</summary>
        internal string SystemLogText(MonitorConfig config)
        {
            var parts = new List<string>();
            var syslog = _session.Alerts.Syslog;
            if (syslog != null) parts.Add("syslog to " + syslog.Target + " (" + What(config.Alerts.Syslog.ConnectionEvents) + ")");
            var eventLog = _session.Alerts.EventLog;
            if (eventLog != null) parts.Add("Event Log source " + eventLog.Target + " (" + What(config.Alerts.EventLog.ConnectionEvents) + ")");
            return parts.Count == 0 ? "no system log (alerts.syslog and alerts.eventLog are off)" : string.Join(", ", parts);
        }

        private static string What(Alerts.Delivery.ConnectionEventKinds kinds)
        {
            if (kinds == Alerts.Delivery.ConnectionEventKinds.None) return "alerts";
            var names = new List<string>();
            if ((kinds & Alerts.Delivery.ConnectionEventKinds.Opened) != 0) names.Add("opened");
            if ((kinds & Alerts.Delivery.ConnectionEventKinds.Closed) != 0) names.Add("closed");
            if ((kinds & Alerts.Delivery.ConnectionEventKinds.StateChanged) != 0) names.Add("stateChanged");
            return "alerts; connection records: " + string.Join(", ", names);
        }

        /// <summary>The Stopped totals of the system logs; null when none ran.</summary>
        internal static string SystemLogTotals(Alerts.Delivery.SyslogSender syslog, Alerts.Delivery.EventLogSender eventLog)
        {
            var parts = new List<string>();
            if (syslog != null) parts.Add("syslog " + syslog.Target + ": " + Counts(syslog.Counts(Alerts.Delivery.SystemLogRecordKind.Alert), syslog.Counts(Alerts.Delivery.SystemLogRecordKind.Connection)));
            if (eventLog != null) parts.Add("Event Log " + eventLog.Target + ": " + Counts(eventLog.Counts(Alerts.Delivery.SystemLogRecordKind.Alert), eventLog.Counts(Alerts.Delivery.SystemLogRecordKind.Connection)));
            return parts.Count == 0 ? null : "System log totals: " + string.Join("; ", parts) + ".";
        }

        private static string Counts(Alerts.Delivery.SystemLogCounts alerts, Alerts.Delivery.SystemLogCounts connections) =>
            "alerts " + alerts.Sent.ToString(CultureInfo.InvariantCulture) + " sent, " + alerts.Failed.ToString(CultureInfo.InvariantCulture) + " failed, " +
            alerts.Dropped.ToString(CultureInfo.InvariantCulture) + " dropped; connection records " + connections.Sent.ToString(CultureInfo.InvariantCulture) + " sent, " +
            connections.Failed.ToString(CultureInfo.InvariantCulture) + " failed, " + connections.Dropped.ToString(CultureInfo.InvariantCulture) + " dropped";

        private static IEnumerable<string> Names(IReadOnlyList<AlertRuleState> rules)
        {
            foreach (var r in rules) yield return r.Rule.Name;
        }

        private static string CurrentProcessId()
        {
            using (var p = System.Diagnostics.Process.GetCurrentProcess()) return p.Id.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>Stops (if running) and disposes the session.</summary>
        public void Dispose()
        {
            Stop();
            _session.Dispose();
            _failed.Dispose();
        }
    }
}
