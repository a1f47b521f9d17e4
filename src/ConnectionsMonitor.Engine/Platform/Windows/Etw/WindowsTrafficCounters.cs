using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>
    /// Windows byte counters: an event source (the ETW session) feeding a <see cref="TrafficAggregator"/>.
    /// Starts the source lazily, once; is the platform's closed-connection feed.
    /// </summary>
    internal sealed class WindowsTrafficCounters : IClosedConnectionFeed, IDisposable
    {
        private readonly object _gate = new object();
        private readonly INetworkEventSource _source;
        private readonly TrafficAggregator _aggregator;
        private bool _attempted;
        private bool _disposed;
        private string _startProblem;

        public WindowsTrafficCounters() : this(new EtwNetworkSession(), new TrafficAggregator())
        {
        }

        internal WindowsTrafficCounters(INetworkEventSource source, TrafficAggregator aggregator)
        {
            _source = source ?? throw new ArgumentNullException(nameof(source));
            _aggregator = aggregator ?? throw new ArgumentNullException(nameof(aggregator));
        }

        internal TrafficAggregator Aggregator => _aggregator;

        /// <summary>
        /// Starts the session on first call. Failure is remembered, not retried: its usual cause (no
        /// elevation) lasts as long as the process, and each attempt would cost a StartTrace.
        /// </summary>
        public string Start()
        {
            lock (_gate)
            {
                if (_disposed) return "Byte counters are off: the Windows platform was disposed.";
                if (!_attempted)
                {
                    _attempted = true;
                    _startProblem = _source.Start(e => _aggregator.Apply(e));
                }
                return _startProblem ?? _source.Failure;
            }
        }

        public long MarkTableRead() => _aggregator.MarkTableRead();

        public void Merge(IList<SocketEntry> rows, long mark, bool completeTable) => _aggregator.Merge(rows, mark, completeTable);

        public IReadOnlyList<SocketEntry> DrainClosed() => _aggregator.DrainClosed();

        public long LostReports => _aggregator.DroppedClosedCount;

        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
            }
            _source.Dispose();
        }
    }
}
