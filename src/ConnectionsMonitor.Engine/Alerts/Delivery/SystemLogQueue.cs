using System;
using System.Collections.Generic;
using System.Threading;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>What a system log sender counted for one kind of record since it started.</summary>
    public sealed class SystemLogCounts
    {
        internal SystemLogCounts(long sent, long failed, long dropped) { Sent = sent; Failed = failed; Dropped = dropped; }
        /// <summary>Records the log took (a socket's send returned, the Event Log call succeeded).</summary>
        public long Sent { get; }
        /// <summary>Records that could not be written (no socket, refused, too long even cut down, the call failed).</summary>
        public long Failed { get; }
        /// <summary>Records dropped unsent: the queue was full, or over the rate limit (connection records).</summary>
        public long Dropped { get; }
    }

    /// <summary>
    /// The bounded queue and background thread behind a system log sender. Two lanes: alerts, and connection records
    /// (alerts.*.connectionEvents). Each lane holds at most <see cref="LaneLimit"/> items; a full lane drops its oldest
    /// (counted). The thread always takes an alert before a connection record, so a flood of connections never delays
    /// or pushes out an alert. Connection records are also limited to <c>ratePerSecond</c> per second of enqueueing
    /// (the excess is dropped and counted), which bounds what a busy host sends a collector. Enqueue never blocks.
    /// The send callback runs on the thread only; its exceptions of the listed kinds are failures (counted; the first
    /// is said once), others end nothing either but are counted the same way. Thread-safe.
    /// </summary>
    internal sealed class SystemLogQueue<T> : IDisposable where T : class
    {
        /// <summary>Items waiting per lane, at most.</summary>
        public const int LaneLimit = 1000;

        private readonly Queue<T> _alerts = new Queue<T>(), _connections = new Queue<T>();
        private readonly object _gate = new object();
        private readonly Func<T, bool> _send;
        private readonly Action<Exception> _onFailure;
        private readonly Thread _thread;
        private readonly int _ratePerSecond;
        private readonly long[] _sent = new long[2], _failed = new long[2], _dropped = new long[2];
        private long _windowStart;
        private int _inWindow;
        private int _busy;
        private bool _stopping;

        /// <param name="threadName">The OS name of the sending thread (at most 15 bytes).</param>
        /// <param name="send">Writes one item; returns false when it was not written for a reason already said (counted as failed).</param>
        /// <param name="onFailure">Hears each exception of <paramref name="send"/> (on the thread); the item is counted as failed.</param>
        /// <param name="ratePerSecond">Connection records accepted per second at most; 0 for no limit.</param>
        public SystemLogQueue(string threadName, Func<T, bool> send, Action<Exception> onFailure, int ratePerSecond)
        {
            _send = send;
            _onFailure = onFailure;
            _ratePerSecond = ratePerSecond;
            _thread = new Thread(Run) { IsBackground = true, Name = threadName };
            _thread.Start();
        }

        /// <summary>Queues an item; false when it pushed out an older one or was refused by the rate limit (both counted as dropped).</summary>
        public bool Enqueue(T item, SystemLogRecordKind kind)
        {
            int lane = (int)kind;
            lock (_gate)
            {
                if (_stopping) return true;
                if (kind == SystemLogRecordKind.Connection && _ratePerSecond > 0)
                {
                    long now = Environment.TickCount;
                    if (now - _windowStart >= 1000 || now < _windowStart) { _windowStart = now; _inWindow = 0; }
                    if (_inWindow >= _ratePerSecond) { _dropped[lane]++; return false; }
                    _inWindow++;
                }
                var q = lane == 0 ? _alerts : _connections;
                bool dropped = false;
                if (q.Count >= LaneLimit)
                {
                    q.Dequeue();
                    _dropped[lane]++;
                    dropped = true;
                }
                q.Enqueue(item);
                Monitor.PulseAll(_gate);
                return !dropped;
            }
        }

        /// <summary>The counts of one kind of record so far.</summary>
        public SystemLogCounts Counts(SystemLogRecordKind kind)
        {
            int lane = (int)kind;
            lock (_gate) return new SystemLogCounts(_sent[lane], _failed[lane], _dropped[lane]);
        }

        /// <summary>Waits up to <paramref name="timeout"/> until both lanes are empty and nothing is being written; true if so.</summary>
        public bool Flush(TimeSpan timeout)
        {
            var until = DateTime.UtcNow + timeout;
            lock (_gate)
            {
                while (_alerts.Count > 0 || _connections.Count > 0 || _busy > 0)
                {
                    var left = until - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero) return false;
                    Monitor.Wait(_gate, left);
                }
                return true;
            }
        }

        private void Run()
        {
            while (true)
            {
                T item;
                int lane;
                lock (_gate)
                {
                    while (_alerts.Count == 0 && _connections.Count == 0 && !_stopping) Monitor.Wait(_gate);
                    if (_alerts.Count > 0) { item = _alerts.Dequeue(); lane = 0; }
                    else if (_connections.Count > 0) { item = _connections.Dequeue(); lane = 1; }
                    else return;
                    _busy = 1;
                }
                bool ok;
                try { ok = _send(item); }
                catch (Exception ex) when (!(ex is OutOfMemoryException))
                {
                    ok = false;
                    try { _onFailure(ex); } catch (Exception) { }
                }
                lock (_gate)
                {
                    if (ok) _sent[lane]++; else _failed[lane]++;
                    _busy = 0;
                    Monitor.PulseAll(_gate);
                }
            }
        }

        /// <summary>Gives what is queued up to <paramref name="drain"/> to go, then stops the thread (what is left is dropped uncounted).</summary>
        public void Stop(TimeSpan drain)
        {
            Flush(drain);
            lock (_gate) { _stopping = true; _alerts.Clear(); _connections.Clear(); Monitor.PulseAll(_gate); }
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        /// <summary>Stops with two seconds to drain.</summary>
        public void Dispose() => Stop(TimeSpan.FromSeconds(2));
    }
}
