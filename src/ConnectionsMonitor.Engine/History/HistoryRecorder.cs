using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Session;

namespace ConnectionsMonitor.Engine.History
{
    /// <summary>What a recording is doing (Start-/Stop-ConnectionRecording).</summary>
    public sealed class HistoryRecordingState
    {
        internal HistoryRecordingState(string path, TimeSpan interval, DateTime startedUtc, long written, long lost, long dropped, DateTime? lastUtc, int open, long sizeBytes, bool running, string failure)
        {
            Path = path; Interval = interval; StartedUtc = startedUtc; SamplesWritten = written; SamplesLost = lost; SamplesDropped = dropped;
            LastSampleUtc = lastUtc; OpenConnections = open; SizeBytes = sizeBytes; IsRecording = running; Failure = failure;
        }

        /// <summary>The SQLite file; null when the recording keeps no history and only runs the auto-export (the service with monitoring.trackHistory: false).</summary>
        public string Path { get; }
        /// <summary>Sampling interval.</summary>
        public TimeSpan Interval { get; }
        /// <summary>When the recording started (UTC).</summary>
        public DateTime StartedUtc { get; }
        /// <summary>Samples committed to the file.</summary>
        public long SamplesWritten { get; }
        /// <summary>Samples that could not be written (a full disk).</summary>
        public long SamplesLost { get; }
        /// <summary>Samples the recorder fell behind on and skipped (the session's queue dropped them).</summary>
        public long SamplesDropped { get; }
        /// <summary>Time of the last sample written (UTC), null before the first.</summary>
        public DateTime? LastSampleUtc { get; }
        /// <summary>Connections open as recorded.</summary>
        public int OpenConnections { get; }
        /// <summary>Size of the file and its write-ahead log, bytes.</summary>
        public long SizeBytes { get; }
        /// <summary>True while samples are being recorded.</summary>
        public bool IsRecording { get; }
        /// <summary>Why the recording stopped on its own, or null.</summary>
        public string Failure { get; }
    }

    /// <summary>
    /// A subscriber of the session's sampler that writes every sample into a <see cref="HistoryStore"/> on a thread of
    /// its own ("cmon-history"): totals, per-process minutes, connection lives; roll-ups and pruning every
    /// <see cref="HistoryOptions.MaintenanceInterval"/>. It never stalls the sampler (its queue drops the oldest and
    /// counts it). One per session at a time (<see cref="MonitorSession.History"/>). Thread-safe.
    /// </summary>
    public sealed class HistoryRecorder : IDisposable
    {
        private readonly MonitorSession _session;
        private readonly object _gate = new object();
        private readonly List<string> _warnings = new List<string>();
        private Thread _thread;
        private CancellationTokenSource _stop;
        private HistoryStore _store;
        private HistoryOptions _options;
        private TimeSpan _interval;
        private DateTime _started;
        private long _written, _lost, _dropped;
        private DateTime? _last;
        private volatile int _open;
        private string _failure;
        private HistoryRecordingState _final; // the last recording's state once stopped

        // Alerts raised on the session's alert thread, waiting for the recorder's next write. Bounded: a storm beyond
        // it loses the oldest rows and says so once per recording.
        internal const int MaxPendingAlertRows = 10_000;
        private readonly ConcurrentQueue<AlertRow> _alertRows = new ConcurrentQueue<AlertRow>();
        private long _alertRowsLost;

        internal HistoryRecorder(MonitorSession session) { _session = session; }

        /// <summary>Clock for maintenance (tests inject one); samples carry their own times.</summary>
        internal Func<DateTime> Clock { get; set; } = () => DateTime.UtcNow;

        /// <summary>True while recording.</summary>
        public bool IsRecording { get { lock (_gate) return _thread != null && _failure == null; } }

        /// <summary>True from Start to Stop, also when the recording stopped on its own (Stop then reports why).</summary>
        public bool HasThread { get { lock (_gate) return _thread != null; } }

        /// <summary>
        /// Starts recording into <paramref name="path"/> every <paramref name="interval"/> (null: refreshInterval of the
        /// configuration <paramref name="configQuery"/> names). The configuration's connection filters apply, and its
        /// auto-export (dashboard.export.autoExport) runs with every sample. A null <paramref name="path"/> keeps no
        /// history and runs only the auto-export (the service with monitoring.trackHistory: false); with no auto-export
        /// configured either there is nothing to do and the result is null.
        /// </summary>
        /// <exception cref="InvalidOperationException">This session records already.</exception>
        /// <exception cref="HistoryLockedException">Another recorder writes that file.</exception>
        /// <exception cref="HistoryException">The file cannot be used.</exception>
        public HistoryRecordingState Start(string path, HistoryOptions options, TimeSpan? interval, ConnectionQuery configQuery)
        {
            var plan = _session.Plan(configQuery ?? new ConnectionQuery());
            var export = Export.ExportOptions.From(plan.Load, _session.ModuleConfigPath); // dashboard.export.autoExport; null when off
            var exporter = export == null ? null : new Export.SnapshotExporter(export, Clock, _session.Alerts.ApplyFlags); // rows flagged as Get-MonitoredConnection flags them
            if (path == null && exporter == null) return null;
            lock (_gate)
            {
                if (_thread != null && _failure == null) throw new InvalidOperationException(_store != null ? "This session is recording into '" + _store.Path + "' already; stop that recording first." : "This session runs an auto-export already; stop that recording first.");
                _thread?.Join(); // a recording that stopped on its own: its thread is ending (it has let go of the file)
                _thread = null;
                _options = options ?? new HistoryOptions();
                var store = path == null ? null : HistoryStore.OpenWriter(path, _options);
                SessionFeed feed;
                try
                {
                    feed = _session.SubscribeInternal(plan, interval, reportExistingAsOpened: true, capacity: 16, watcher: false);
                }
                catch
                {
                    store?.Dispose();
                    throw;
                }
                _store = store;
                if (store != null) _warnings.AddRange(store.TakeWarnings());
                _interval = feed.Subscription.Interval;
                _started = DateTime.UtcNow;
                _written = _lost = _dropped = 0;
                _last = null;
                _failure = null;
                _stop = new CancellationTokenSource();
                var token = _stop.Token;
                while (_alertRows.TryDequeue(out _)) { }
                _alertRowsLost = 0;
                if (store != null) _session.Alerts.Raised += OnAlert;
                _thread = new Thread(() => Run(feed, store, exporter, token)) { IsBackground = true, Name = "cmon-history" };
                _thread.Start();
                return StateLocked();
            }
        }

        /// <summary>Stops recording (the last minute's process rows are written, open connections are closed as "recording stopped"); returns the final state, or null when not recording.</summary>
        public HistoryRecordingState Stop()
        {
            Thread thread;
            lock (_gate)
            {
                if (_thread == null) return null;
                thread = _thread;
                _stop.Cancel();
            }
            thread.Join();
            lock (_gate)
            {
                var state = StateLocked(running: false);
                _thread = null;
                _store = null;
                _final = state;
                return state;
            }
        }

        /// <summary>The recording's state (the last one's, once stopped), or null when this session has not recorded.</summary>
        public HistoryRecordingState State
        {
            get { lock (_gate) return _thread == null ? _final : StateLocked(); }
        }

        /// <summary>Warnings (a damaged file set aside, a full disk, a recording that stopped), each once.</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            lock (_gate)
            {
                var w = _warnings.ToArray();
                _warnings.Clear();
                return w;
            }
        }

        private HistoryRecordingState StateLocked(bool? running = null) =>
            new HistoryRecordingState(_store?.Path, _interval, _started, Interlocked.Read(ref _written), Interlocked.Read(ref _lost), Interlocked.Read(ref _dropped),
                _last, _open, _store?.SizeBytes ?? 0, running ?? (_thread != null && _failure == null), _failure);

        private void Run(SessionFeed feed, HistoryStore store, Export.SnapshotExporter exporter, CancellationToken stop)
        {
            var builder = new HistoryBatchBuilder();
            DateTime nextMaintenance = Clock() + TimeSpan.FromSeconds(5);
            DateTime? lastSample = null;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    SessionSample sample;
                    try
                    {
                        if (!feed.TryNext(TimeSpan.FromSeconds(1), stop, out sample)) goto maintenance;
                    }
                    catch (OperationCanceledException) { break; }
                    Interlocked.Add(ref _dropped, sample.DroppedBefore);
                    if (store != null)
                    {
                        var batch = builder.Add(sample.Snapshot, sample.Events, _interval);
                        TakeAlerts(batch);
                        Commit(store, batch);
                    }
                    if (exporter != null) { exporter.Offer(sample.Snapshot); Say(exporter.TakeWarnings()); } // auto-export, when due
                    lastSample = sample.Snapshot.TimeStampUtc;
                    lock (_gate) _last = lastSample;
                    _open = builder.OpenConnections;
                maintenance:
                    if (store == null) continue; // the auto-export alone
                    if (!_alertRows.IsEmpty) // raised from a sample this recorder has not had yet, or fed by a test
                    {
                        var alerts = new HistoryBatch();
                        TakeAlerts(alerts);
                        Commit(store, alerts, countSample: false);
                    }
                    if (Clock() >= nextMaintenance)
                    {
                        store.Maintain(Clock());
                        Say(store.TakeWarnings());
                        nextMaintenance = Clock() + _options.MaintenanceInterval;
                    }
                }
                if (store != null && (lastSample != null || !_alertRows.IsEmpty))
                {
                    var last = lastSample != null ? builder.Finish() : new HistoryBatch();
                    TakeAlerts(last);
                    store.Write(last);
                    Say(store.TakeWarnings());
                }
                store?.CloseLeftOpen();
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                lock (_gate)
                {
                    _failure = (store != null ? "Recording into '" + store.Path + "'" : "The auto-export") + " stopped: " + ex.Message;
                    _warnings.Add(_failure);
                }
            }
            finally
            {
                _session.Alerts.Raised -= OnAlert;
                feed.Dispose();
                store?.Dispose(); // connections still open are closed as "recording stopped" when the file is next opened
            }
        }

        private void Commit(HistoryStore store, HistoryBatch batch, bool countSample = true)
        {
            bool written = store.Write(batch);
            if (countSample)
            {
                if (written) Interlocked.Increment(ref _written);
                else Interlocked.Increment(ref _lost);
            }
            Say(store.TakeWarnings());
        }

        /// <summary>Runs on the alert thread: queues the alert's rows for the next write (Test messages are not firings).</summary>
        internal void OnAlert(Alerts.AlertRule rule, Alerts.AlertEvent alert)
        {
            if (alert == null || alert.Status == Alerts.AlertStatus.Test) return;
            foreach (var row in AlertRow.From(alert)) _alertRows.Enqueue(row);
            while (_alertRows.Count > MaxPendingAlertRows && _alertRows.TryDequeue(out _))
                if (Interlocked.Increment(ref _alertRowsLost) == 1)
                    Say(new[] { "Alerts come faster than the history file takes them: the oldest waiting alert rows are not recorded (more than " + MaxPendingAlertRows.ToString(CultureInfo.InvariantCulture) + " waiting)." });
        }

        private void TakeAlerts(HistoryBatch batch)
        {
            while (_alertRows.TryDequeue(out var row)) batch.Alerts.Add(row);
        }

        private void Say(IReadOnlyList<string> warnings)
        {
            if (warnings.Count == 0) return;
            lock (_gate) _warnings.AddRange(warnings);
        }

        /// <summary>Stops recording.</summary>
        public void Dispose() => Stop();
    }
}
