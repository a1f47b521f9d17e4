using System;
using System.Collections.Generic;
using System.Threading;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Tracking;

namespace ConnectionsMonitor.Engine.Session
{
    /// <summary>One sample as a subscriber sees it: its own rows and the changes since its previous sample.</summary>
    public sealed class SessionSample
    {
        internal SessionSample(ConnectionSnapshot snapshot, IReadOnlyList<ConnectionEvent> events, long dropped, long closingsLost = 0)
        {
            Snapshot = snapshot;
            Events = events;
            DroppedBefore = dropped;
            ClosingsLostBefore = closingsLost;
        }

        /// <summary>The rows that pass the subscriber's query (rates and ages from the session's memory).</summary>
        public ConnectionSnapshot Snapshot { get; }

        /// <summary>
        /// Opened, Closed and StateChanged since the subscriber's previous sample (none for the first unless existing rows were
        /// asked for); always empty for a feed made without change tracking (the dashboard's and the live view's, which show rows only).
        /// </summary>
        public IReadOnlyList<ConnectionEvent> Events { get; }

        /// <summary>Samples dropped just before this one because the subscriber fell behind (0 normally).</summary>
        public long DroppedBefore { get; }

        /// <summary>
        /// The OS's reports of connections that closed since the previous sample that were lost (a kernel buffer
        /// overran, or more closed than the session holds between samples): at least this many closings are missing
        /// from <see cref="Events"/> or came without final byte counts. 0 normally, and where the platform reports no closings.
        /// </summary>
        public long ClosingsLostBefore { get; }
    }

    /// <summary>
    /// A subscriber's end of the session sampler, with its query applied: it takes full samples from
    /// its <see cref="SamplerSubscription"/>, keeps the rows its query (and the configuration's
    /// filters) match, and diffs them against its previous sample. Runs on the consumer's thread, so
    /// the sampler's thread never does a subscriber's work. Not thread-safe; dispose to unsubscribe.
    /// The connections the OS reported closed since the previous sample go to the tracker too: a connection of the
    /// previous sample closes with its final byte counts, and one that opened and closed between the two samples (and
    /// passes the query) comes as an Opened and a Closed marked <see cref="ConnectionEvent.BetweenSamples"/>.
    /// </summary>
    public sealed class SessionFeed : IDisposable
    {
        private readonly SamplerSubscription _subscription;
        private readonly ConnectionQuery[] _filters;
        private readonly ConnectionTracker _tracker = new ConnectionTracker();
        private readonly bool _reportExisting;
        private readonly bool _trackChanges;
        private bool _first = true;

        private Action _onDispose;

        internal SessionFeed(SamplerSubscription subscription, ConnectionQuery[] filters, bool reportExistingAsOpened, IReadOnlyList<string> setupWarnings, Action onDispose,
            bool trackChanges = true)
        {
            _trackChanges = trackChanges;
            _onDispose = onDispose;
            _subscription = subscription;
            _filters = filters;
            _reportExisting = reportExistingAsOpened;
            SetupWarnings = setupWarnings;
            _matches = Matches;
        }

        private readonly Func<ConnectionRecord, bool> _matches;

        private static readonly IReadOnlyList<ConnectionEvent> NoEvents = new ConnectionEvent[0];

        /// <summary>The subscription underneath (interval, drops).</summary>
        public SamplerSubscription Subscription => _subscription;

        /// <summary>Warnings from setting the feed up (configuration), to say once.</summary>
        public IReadOnlyList<string> SetupWarnings { get; }

        /// <summary>Waits up to <paramref name="timeout"/> for the next sample; false on time-out. Cancellation throws <see cref="OperationCanceledException"/>.</summary>
        public bool TryNext(TimeSpan timeout, CancellationToken cancel, out SessionSample sample)
        {
            sample = null;
            if (!_subscription.TryTake(timeout, cancel, out var full, out var closed, out long closingsLost)) return false;
            var rows = new List<ConnectionRecord>(full.Connections.Count); // sized once: most queries keep most rows
            foreach (var r in full.Connections)
                if (Matches(r)) rows.Add(r);
            var snapshot = new ConnectionSnapshot(full.TimeStampUtc, rows, full.Warnings);
            // A feed that shows rows only diffs nothing: at 10,000 rows the tracker's update was the dashboard thread's largest cost.
            var events = _trackChanges ? _tracker.Update(snapshot, closed, _first && _reportExisting, _matches) : NoEvents;
            _first = false;
            sample = new SessionSample(snapshot, events, _subscription.TakeNewDrops(), closingsLost);
            return true;
        }

        /// <summary>Asks for a sample now, ahead of the interval (e.g. one last look before a deadline).</summary>
        public void RequestNow() => _subscription.RequestNow();

        private bool Matches(ConnectionRecord r)
        {
            foreach (var f in _filters) if (!f.Matches(r)) return false;
            return true;
        }

        /// <summary>
        /// Runs a subscriber's loop on the calling thread until <paramref name="stop"/>: each sample goes to
        /// <paramref name="take"/>; a failed read of the table (<see cref="SamplerException"/>) to <paramref name="failed"/>
        /// with its message, and the loop goes on. An exception out of <paramref name="take"/> (a fault of the subscriber's
        /// own) goes to <paramref name="faulted"/>, and later samples are taken off the queue without being given to
        /// <paramref name="take"/>: left unhandled on a subscriber's thread the exception would end the host process, and the
        /// feed stays subscribed (a watcher keeps config.yml's alert rules running) until <paramref name="stop"/>. Disposes the
        /// feed when it ends.
        /// </summary>
        internal void Pump(CancellationToken stop, Action<SessionSample> take, Action<string> failed, Action<Exception> faulted)
        {
            bool broken = false;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    SessionSample sample;
                    try
                    {
                        if (!TryNext(TimeSpan.FromSeconds(1), stop, out sample)) continue;
                    }
                    catch (OperationCanceledException) { break; }
                    catch (SamplerException ex)
                    {
                        if (!broken) failed(ex.Message); // once broken, the fault stays what is said
                        continue;
                    }
                    if (broken) continue;
                    try { take(sample); }
                    catch (Exception ex) when (!(ex is OutOfMemoryException) && !(ex is OperationCanceledException && stop.IsCancellationRequested))
                    {
                        broken = true;
                        faulted(ex);
                    }
                }
            }
            finally
            {
                Dispose();
            }
        }

        /// <summary>Unsubscribes from the sampler.</summary>
        public void Dispose()
        {
            _subscription.Dispose();
            System.Threading.Interlocked.Exchange(ref _onDispose, null)?.Invoke();
        }
    }
}
