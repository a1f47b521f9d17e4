using System;
using System.Collections.Generic;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Tracking;

namespace ConnectionsMonitor.Engine.Alerts
{
    /// <summary>
    /// Connection lifecycle records for the system logs (alerts.syslog.connectionEvents, alerts.eventLog.connectionEvents):
    /// while something watches, a subscription of its own to the session's sampler (the configuration's filters, not the
    /// watcher's) turns each Opened, Closed and StateChanged into one <see cref="SystemLogRecord"/> for each log that asked
    /// for that change. One thread, "cmon-connlog", diffs and formats; the senders' bounded queues do the rest, so a busy
    /// host costs at most their limits. Made and stopped by <see cref="AlertMonitor"/>.
    /// </summary>
    internal sealed class ConnectionRecordFeed : IDisposable
    {
        internal const string ThreadName = "cmon-connlog";

        private readonly SessionFeed _feed;
        private readonly SyslogSender _syslog;
        private readonly EventLogSender _eventLog;
        private readonly ConnectionEventKinds _syslogKinds, _eventLogKinds;
        private readonly Func<Model.ConnectionRecord, string> _flags;
        private readonly Action<string> _warn;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly Thread _thread;
        private readonly string _host = Environment.MachineName;
        private long _records;

        public ConnectionRecordFeed(SessionFeed feed, SyslogSender syslog, ConnectionEventKinds syslogKinds, EventLogSender eventLog, ConnectionEventKinds eventLogKinds,
            Func<Model.ConnectionRecord, string> flags, Action<string> warn)
        {
            _feed = feed;
            _syslog = syslog;
            _syslogKinds = syslog == null ? ConnectionEventKinds.None : syslogKinds;
            _eventLog = eventLog;
            _eventLogKinds = eventLog == null ? ConnectionEventKinds.None : eventLogKinds;
            _flags = flags;
            _warn = warn;
            _thread = new Thread(Run) { IsBackground = true, Name = ThreadName };
            _thread.Start();
        }

        /// <summary>Records made so far (one per change, whatever number of logs it went to).</summary>
        public long Records => Interlocked.Read(ref _records);

        /// <summary>Samples diffed so far.</summary>
        public long Samples => Interlocked.Read(ref _samples);

        private long _samples;

        internal static ConnectionEventKinds KindOf(ConnectionChange change) =>
            change == ConnectionChange.Opened ? ConnectionEventKinds.Opened : change == ConnectionChange.Closed ? ConnectionEventKinds.Closed : ConnectionEventKinds.StateChanged;

        private void Run()
        {
            var stop = _stop.Token;
            var faults = new HashSet<Type>();
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    SessionSample sample;
                    try
                    {
                        if (!_feed.TryNext(TimeSpan.FromMilliseconds(-1), stop, out sample)) continue;
                    }
                    catch (SamplerException ex)
                    {
                        _warn("Connection records for the system log: the connection table could not be read: " + ex.Message);
                        continue;
                    }
                    if (sample.DroppedBefore > 0)
                        _warn("Connection records for the system log fell behind the sampler: samples were skipped, so their changes are reported against the latest sample.");
                    if (sample.ClosingsLostBefore > 0)
                        _warn("Connection records for the system log: the system lost reports of connections that closed; some Closed records are missing or carry the byte counts of their last sample.");
                    // A fault in making a sample's records (a bug of the module's own) costs that sample's records, not the feed
                    // nor the host process, which an exception left unhandled on this thread would end.
                    try
                    {
                        foreach (var e in sample.Events)
                        {
                            var kind = KindOf(e.Change);
                            bool toSyslog = (_syslogKinds & kind) != 0, toEventLog = (_eventLogKinds & kind) != 0;
                            if (!toSyslog && !toEventLog) continue;
                            var record = SystemLogRecord.ForConnection(e, _flags(e.Connection), _host);
                            if (toSyslog) _syslog.Enqueue(record);
                            if (toEventLog) _eventLog.Enqueue(record);
                            Interlocked.Increment(ref _records);
                        }
                    }
                    catch (Exception ex) when (!(ex is OutOfMemoryException) && !(ex is OperationCanceledException && stop.IsCancellationRequested))
                    {
                        // Said once per kind of fault: a message that names the connection it met would otherwise be said anew each time.
                        if (faults.Add(ex.GetType()))
                            _warn("Connection records for the system log: making a sample's records failed (" + Display.UntrustedText.Fault(ex) + "); the next samples are recorded as usual.");
                    }
                    Interlocked.Increment(ref _samples);
                }
            }
            catch (OperationCanceledException) { }
        }

        /// <summary>Stops the thread and unsubscribes; records already queued still go.</summary>
        public void Dispose()
        {
            _stop.Cancel();
            if (_thread != Thread.CurrentThread) _thread.Join();
            _feed.Dispose();
            _stop.Dispose();
        }
    }
}
