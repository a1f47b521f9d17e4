using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Platform.Windows;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>Writes Event Log entries; the Windows one calls advapi32, tests give their own.</summary>
    internal interface IEventLogWriter : IDisposable
    {
        /// <summary>Writes one entry; throws on failure (the message says why).</summary>
        void Write(WindowsEventLogEntry entry);
    }

    /// <summary>
    /// Writes alerts (and, with alerts.eventLog.connectionEvents, connection records) to the Windows Event Log under a
    /// registered source (README, "System log (SIEM)": event IDs, entry types, insertion strings). Same shape as
    /// <see cref="SyslogSender"/>: a bounded queue (alerts ahead of connection records, at most 1,000 each, connection
    /// records at most 1,000 a second) and one background thread, "cmon-eventlog", that calls ReportEventW. When the
    /// source is not registered under its log it says so once (records still go, to the Application log, but Event
    /// Viewer cannot show their description). Failures are counted; the first is said once. Thread-safe. Windows only.
    /// </summary>
    public sealed class EventLogSender : IDisposable
    {
        private readonly string _source, _logName;
        private readonly IEventLogWriter _writer;
        private readonly List<string> _warnings = new List<string>();
        private readonly SystemLogQueue<WindowsEventLogEntry> _queue;
        private bool _warned, _warnedDrop;

        /// <summary>A sender for the configured source (alerts.eventLog); throws <see cref="PlatformNotSupportedException"/> outside Windows.</summary>
        public EventLogSender(EventLogConfig config)
            : this(config.Source, config.LogName, new Advapi32Writer(config.Source), () => WindowsEventSource.IsRegistered(config.LogName, config.Source)) { }

        internal EventLogSender(string source, string logName, IEventLogWriter writer, Func<bool> isRegistered)
        {
            _source = source;
            _logName = logName;
            _writer = writer;
            if (!isRegistered())
                Warn(NotRegisteredWarning(source, logName));
            _queue = new SystemLogQueue<WindowsEventLogEntry>("cmon-eventlog", e => { _writer.Write(e); return true; }, OnFailure, SyslogSender.ConnectionRecordsPerSecond);
        }

        /// <summary>What is said once when the source has no registration.</summary>
        internal static string NotRegisteredWarning(string source, string logName) =>
            "Event Log: the source '" + UntrustedText.Clean(source) + "' is not registered under the log '" + UntrustedText.Clean(logName) +
            "' (registering needs an administrator): its entries go to the Application log, and Event Viewer shows " +
            "\"The description for Event ID … cannot be found\" before their fields.";

        /// <summary>"source in log", for status lines.</summary>
        public string Target => UntrustedText.Clean(_source) + " in " + UntrustedText.Clean(_logName);

        /// <summary>Entries written (alerts and connection records).</summary>
        public long Sent => Counts(SystemLogRecordKind.Alert).Sent + Counts(SystemLogRecordKind.Connection).Sent;
        /// <summary>Entries that could not be written.</summary>
        public long Failed => Counts(SystemLogRecordKind.Alert).Failed + Counts(SystemLogRecordKind.Connection).Failed;
        /// <summary>Entries dropped (queue full, over the connection-record rate).</summary>
        public long Dropped => Counts(SystemLogRecordKind.Alert).Dropped + Counts(SystemLogRecordKind.Connection).Dropped;
        /// <summary>Sent, failed and dropped of one kind of record.</summary>
        public SystemLogCounts Counts(SystemLogRecordKind kind) => _queue.Counts(kind);
        /// <summary>The latest failure; null if none.</summary>
        public string LastError { get; private set; }

        /// <summary>Queues an alert; returns at once.</summary>
        public void Enqueue(AlertEvent alert)
        {
            if (alert != null) Enqueue(SystemLogRecord.ForAlert(alert));
        }

        /// <summary>Queues a record in its kind's lane; returns at once.</summary>
        public void Enqueue(SystemLogRecord record)
        {
            if (record == null) return;
            if (!_queue.Enqueue(WindowsEventLogEntry.From(record), record.Kind) && !_warnedDrop)
            {
                _warnedDrop = true;
                Warn("Event Log " + Target + ": entries were dropped: more than " + SystemLogQueue<WindowsEventLogEntry>.LaneLimit + " were waiting, or more than " +
                     SyslogSender.ConnectionRecordsPerSecond + " connection records came in one second (counted, not said again).");
            }
        }

        private void OnFailure(Exception ex)
        {
            LastError = "Event Log " + Target + ": " + ex.Message;
            if (!_warned)
            {
                _warned = true;
                Warn(LastError + " (further failures are counted, not said again).");
            }
        }

        /// <summary>Waits up to <paramref name="timeout"/> until the queue is empty; true if so.</summary>
        public bool Flush(TimeSpan timeout) => _queue.Flush(timeout);

        /// <summary>Warnings not said yet (each once).</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            lock (_warnings) { var w = _warnings.ToArray(); _warnings.Clear(); return w; }
        }

        private void Warn(string text)
        {
            lock (_warnings) if (!_warnings.Contains(text)) _warnings.Add(text);
        }

        /// <summary>Writes what is queued (at most two seconds), stops the thread and closes the handle.</summary>
        public void Dispose()
        {
            _queue.Stop(TimeSpan.FromSeconds(2));
            _writer.Dispose();
        }

        /// <summary>ReportEventW through a handle opened on first use (and again after a failure).</summary>
        private sealed class Advapi32Writer : IEventLogWriter
        {
            private readonly string _source;
            private IntPtr _handle;

            public Advapi32Writer(string source) { _source = source; }

            public void Write(WindowsEventLogEntry entry)
            {
                if (_handle == IntPtr.Zero) _handle = WindowsEventSource.Open(_source);
                try { WindowsEventSource.Report(_handle, entry); }
                catch
                {
                    WindowsEventSource.Close(_handle);
                    _handle = IntPtr.Zero;
                    throw;
                }
            }

            public void Dispose()
            {
                WindowsEventSource.Close(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }
}
