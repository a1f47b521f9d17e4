using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Session
{
    /// <summary>
    /// One subscriber's place at the session's sampler: its interval, its enrichment, and a bounded
    /// queue of full samples (unfiltered snapshots) that the sampler fills and the subscriber drains
    /// on its own thread. When the queue is full the oldest sample is dropped and counted, so a
    /// subscriber that falls behind sees the latest state and never stalls the sampler or the others.
    /// Dispose to unsubscribe; the sampler stops with its last subscriber.
    /// Each sample also carries the connections the OS reported closed since this subscriber's previous
    /// sample (drained by the sampler every tick, kept here between this subscriber's samples, at most
    /// <see cref="MaxPendingClosings"/>; a dropped sample hands its closings on to the next).
    /// </summary>
    public sealed class SamplerSubscription : IDisposable
    {
        /// <summary>Closing reports held for one subscriber between its samples; more are counted as lost.</summary>
        public const int MaxPendingClosings = Platform.ClosedConnectionReaders.MaxPendingPerReader;

        private readonly Sampler _sampler;
        private readonly Queue<SamplerDelivery> _queue = new Queue<SamplerDelivery>();
        private readonly SemaphoreSlim _available = new SemaphoreSlim(0);
        private long _dropped, _dropsReported, _delivered;
        // Closings since the last sample offered, and closing reports lost meanwhile; guarded by _queue.
        private List<ConnectionRecord> _closings;
        private long _closingsLost;
        private int _disposed;

        internal SamplerSubscription(Sampler sampler, TimeSpan interval, EnrichmentOptions enrichment, int capacity)
        {
            _sampler = sampler;
            Interval = interval;
            Enrichment = enrichment;
            Capacity = capacity;
        }

        /// <summary>How often this subscriber wants a sample.</summary>
        public TimeSpan Interval { get; }

        /// <summary>The enrichment its samples get (subscribers with the same instance share one snapshot per tick).</summary>
        public EnrichmentOptions Enrichment { get; }

        /// <summary>Samples held at most before the oldest is dropped.</summary>
        public int Capacity { get; }

        /// <summary>Samples dropped so far because this subscriber did not keep up.</summary>
        public long Dropped => Interlocked.Read(ref _dropped);

        /// <summary>Samples handed to this subscriber's queue so far (dropped ones included).</summary>
        public long Delivered => Interlocked.Read(ref _delivered);

        /// <summary>Sampler clock (Stopwatch ticks) at which the next sample is due; guarded by the sampler's lock.</summary>
        internal long NextDueTicks;

        /// <summary>Asked for through <see cref="RequestNow"/> since its last sample (its next read starts a rate window whenever it comes); guarded by the sampler's lock.</summary>
        internal bool Requested;

        /// <summary>
        /// Waits up to <paramref name="timeout"/> for the next sample. Returns false on time-out; throws
        /// <see cref="OperationCanceledException"/> when <paramref name="cancel"/> fires, and rethrows
        /// (wrapped) a failure of the read that was meant for this sample.
        /// </summary>
        public bool TryTake(TimeSpan timeout, CancellationToken cancel, out ConnectionSnapshot sample) =>
            TryTake(timeout, cancel, out sample, out _, out _);

        /// <summary>
        /// As <see cref="TryTake(TimeSpan, CancellationToken, out ConnectionSnapshot)"/>, with the connections the OS
        /// reported closed since the previous sample taken (records described with this subscription's enrichment,
        /// unfiltered; empty where the platform reports none) and how many closing reports were lost meanwhile
        /// (the system's buffer overran, or a cap was reached).
        /// </summary>
        internal bool TryTake(TimeSpan timeout, CancellationToken cancel, out ConnectionSnapshot sample, out IReadOnlyList<ConnectionRecord> closed, out long closedLost)
        {
            sample = null;
            closed = null;
            closedLost = 0;
            if (!_available.Wait(timeout, cancel)) return false;
            SamplerDelivery d;
            lock (_queue) d = _queue.Dequeue();
            if (d.Error != null) throw new SamplerException(d.Error);
            sample = d.Snapshot;
            closed = (IReadOnlyList<ConnectionRecord>)d.Closed ?? Array.Empty<ConnectionRecord>();
            closedLost = d.ClosedLost;
            return true;
        }

        /// <summary>Keeps closings reported between this subscriber's samples for its next one (on the sampler's thread).</summary>
        internal void AddClosings(IReadOnlyList<ConnectionRecord> closed, long lost)
        {
            lock (_queue)
            {
                _closingsLost += lost;
                if (closed.Count == 0) return;
                if (_closings == null) _closings = new List<ConnectionRecord>();
                int room = MaxPendingClosings - _closings.Count;
                for (int i = 0; i < closed.Count && i < room; i++) _closings.Add(closed[i]);
                if (closed.Count > room) _closingsLost += closed.Count - Math.Max(room, 0);
            }
        }

        /// <summary>Drops counted since the previous call (for one report per burst, not one per sample).</summary>
        public long TakeNewDrops()
        {
            long now = Dropped;
            long news = now - _dropsReported;
            _dropsReported = now;
            return news;
        }

        /// <summary>Asks the sampler for a sample for this subscriber now, ahead of its interval.</summary>
        public void RequestNow() => _sampler.RequestNow(this);

        internal void Offer(SamplerDelivery delivery)
        {
            Interlocked.Increment(ref _delivered);
            lock (_queue)
            {
                if (delivery.Error == null)
                {
                    // The closings go with the sample read just before they were drained (a failed read keeps them).
                    delivery.Closed = _closings;
                    delivery.ClosedLost = _closingsLost;
                    _closings = null;
                    _closingsLost = 0;
                }
                if (_queue.Count >= Capacity)
                {
                    // Keep the newest: the subscriber gets the current state when it catches up. The dropped
                    // sample's closings are still news to it: they go with the newest.
                    var old = _queue.Dequeue();
                    Interlocked.Increment(ref _dropped);
                    if (old.Closed != null || old.ClosedLost != 0)
                    {
                        if (delivery.Error != null)
                        {
                            // Back to the pending ones, ahead of what came since.
                            if (_closings != null && old.Closed != null) old.Closed.AddRange(_closings);
                            _closings = old.Closed ?? _closings;
                            _closingsLost += old.ClosedLost;
                        }
                        else
                        {
                            if (delivery.Closed != null && old.Closed != null) old.Closed.AddRange(delivery.Closed);
                            delivery.Closed = old.Closed ?? delivery.Closed;
                            delivery.ClosedLost += old.ClosedLost;
                        }
                    }
                    _queue.Enqueue(delivery);
                    return;
                }
                _queue.Enqueue(delivery);
            }
            _available.Release();
        }

        /// <summary>Unsubscribes; the sampler stops when its last subscriber leaves.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _sampler.Remove(this);
        }
    }

    /// <summary>A read for one tick: its snapshot, or why there is none; and the closings the subscriber had not been given.</summary>
    internal struct SamplerDelivery
    {
        public ConnectionSnapshot Snapshot;
        public Exception Error;
        public List<ConnectionRecord> Closed;
        public long ClosedLost;
    }

    /// <summary>A read on the sampler's thread failed; the inner exception says why.</summary>
    public sealed class SamplerException : Exception
    {
        /// <summary>Wraps the read's own exception, whose message it keeps.</summary>
        public SamplerException(Exception inner) : base(inner.Message, inner) { }
    }

    /// <summary>
    /// The session's one background sampler. A thread starts with the first subscription and ends
    /// with the last. Each tick it reads the connection table once for every distinct enrichment
    /// among the subscribers that are due (usually one read), then offers the snapshot to each of
    /// them; subscribers with different intervals are served by the same thread, each when its own
    /// interval has passed. Reading never waits for a subscriber. Its reads are the session's rate windows: a tick less
    /// than half the shortest subscriber's interval after the latest window began (cadences that do not line up, a
    /// subscriber joining) carries that window's rates instead of starting one, unless a subscriber asked for it.
    /// Where the platform reports connections as they close (<see cref="Platform.IClosedConnectionFeed"/>), each
    /// tick also drains those reports, after its reads, through a reader of its own, describes them once per
    /// enrichment among the subscribers, and keeps them with every subscriber for its next sample, so connections
    /// that open and close between two samples reach every subscriber; and the TIME_WAIT remnants of actively closed
    /// sockets in the tick's snapshots get those sockets' final counts (<see cref="RemnantCounters"/>).
    /// </summary>
    internal sealed class Sampler : IDisposable
    {
        /// <summary>The OS thread name (Linux shows it in /proc/&lt;pid&gt;/task/*/comm; at most 15 bytes there).</summary>
        internal const string ThreadName = "cmon-sampler";

        private readonly Func<EnrichmentOptions, bool, ConnectionSnapshot> _read;
        private readonly Func<Platform.ClosedConnectionReaders.Reader> _openClosings;
        private readonly Func<IReadOnlyList<SocketEntry>, EnrichmentOptions, IReadOnlyList<ConnectionRecord>> _describe;
        private readonly object _gate = new object();
        private readonly List<SamplerSubscription> _subscribers = new List<SamplerSubscription>();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private Thread _thread;
        private readonly List<Thread> _started = new List<Thread>();
        private bool _disposed;
        private long _ticks;

        /// <param name="read">A full read of the table with an enrichment (on the sampler's thread); true for a read that starts no rate window (a further read in the same tick, or a tick too soon after the latest window began), whose rates are the latest window's.</param>
        /// <param name="openClosings">Opens the sampler's reader of closing reports; null, or a null result, where there are none.</param>
        /// <param name="describe">Records of closing reports with an enrichment (owners looked up, enriched, unfiltered).</param>
        internal Sampler(Func<EnrichmentOptions, bool, ConnectionSnapshot> read,
            Func<Platform.ClosedConnectionReaders.Reader> openClosings = null,
            Func<IReadOnlyList<SocketEntry>, EnrichmentOptions, IReadOnlyList<ConnectionRecord>> describe = null)
        {
            _read = read;
            _openClosings = openClosings;
            _describe = describe;
        }

        /// <summary>True while the sampler's thread runs.</summary>
        internal bool IsRunning
        {
            get { lock (_gate) return _thread != null; }
        }

        // The thread that last finished a tick's reads; volatile: read by other threads' snapshots.
        private volatile Thread _lastReader;

        /// <summary>
        /// True while the sampler's thread runs and has finished at least one tick's reads: its windows are then the
        /// session's rate windows (<see cref="MonitorEngine.SamplerKeepsWindows"/>).
        /// </summary>
        internal bool HasWindow
        {
            get
            {
                var reader = _lastReader;
                if (reader == null) return false;
                lock (_gate) return _thread == reader;
            }
        }

        /// <summary>Table reads the sampler has made (one per distinct enrichment per tick).</summary>
        internal long Reads => Interlocked.Read(ref _ticks);

        private long _readTicks, _lastReadTicks;

        /// <summary>Wall-clock time spent in table reads so far (owners, enrichment included), all reads together.</summary>
        internal TimeSpan ReadTime => TimeSpan.FromSeconds(Interlocked.Read(ref _readTicks) / (double)Stopwatch.Frequency);

        /// <summary>Wall-clock time of the latest table read; zero before the first.</summary>
        internal TimeSpan LastReadDuration => TimeSpan.FromSeconds(Interlocked.Read(ref _lastReadTicks) / (double)Stopwatch.Frequency);

        internal SamplerSubscription Add(TimeSpan interval, EnrichmentOptions enrichment, int capacity)
        {
            if (interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), interval, "The interval must be longer than zero.");
            if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The queue must hold at least one sample.");
            var s = new SamplerSubscription(this, interval, enrichment ?? throw new ArgumentNullException(nameof(enrichment)), capacity);
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(MonitorSession));
                s.NextDueTicks = _clock.ElapsedTicks; // the first sample at once
                _subscribers.Add(s);
                if (_thread == null)
                {
                    _started.RemoveAll(t => !t.IsAlive);
                    _thread = new Thread(Run) { IsBackground = true, Name = ThreadName };
                    _started.Add(_thread);
                    _thread.Start();
                }
            }
            Wake();
            return s;
        }

        internal void Remove(SamplerSubscription s)
        {
            lock (_gate)
            {
                _subscribers.Remove(s);
                // The thread ends by itself after the read it may be in (a subscriber leaving, e.g.
                // on Ctrl+C, does not wait for it); Dispose is what waits.
                if (_subscribers.Count == 0) _thread = null;
            }
            Wake();
        }

        internal void RequestNow(SamplerSubscription s)
        {
            lock (_gate)
            {
                s.NextDueTicks = _clock.ElapsedTicks;
                s.Requested = true;
            }
            Wake();
        }

        private void Wake()
        {
            lock (_gate) Monitor.PulseAll(_gate);
        }

        private void Run()
        {
            Platform.ClosedConnectionReaders.Reader closings = null;
            try
            {
                if (_openClosings != null && _describe != null)
                {
                    // The session closed meanwhile, or the platform failed: its reads say so. A reader whose feed cannot run (no
                    // privilege …) gives nothing; the session says why at subscription.
                    try
                    {
                        closings = _openClosings();
                        if (closings != null && closings.Start() != null) { closings.Dispose(); closings = null; }
                    }
                    catch (Exception ex) when (!(ex is OutOfMemoryException))
                    {
                        DisposeQuietly(closings);
                        closings = null;
                    }
                }
                RunTicks(closings);
            }
            finally
            {
                DisposeQuietly(closings);
            }
        }

        // A feed that fails to stop must not end this thread (an exception left unhandled on it ends the host process).
        private static void DisposeQuietly(Platform.ClosedConnectionReaders.Reader closings)
        {
            try { closings?.Dispose(); }
            catch (Exception ex) when (!(ex is OutOfMemoryException)) { }
        }

        private void RunTicks(Platform.ClosedConnectionReaders.Reader closings)
        {
            long lostSeen = closings?.LostReports ?? 0;
            var me = Thread.CurrentThread;
            var due = new List<SamplerSubscription>();
            var everyone = new List<SamplerSubscription>();
            // This thread's own: a thread whose last subscriber left may still be in a tick when the next one starts.
            var deliveries = new Dictionary<SamplerSubscription, SamplerDelivery>();
            var remnants = closings != null ? TakeRemnants() : null; // this thread's, as the deliveries, until it ends
            try
            {
                TickUntilStopped(closings, me, due, everyone, deliveries, remnants, ref lostSeen);
            }
            finally
            {
                if (remnants != null) LeaveRemnants(remnants);
            }
        }

        // The final counts of TIME_WAIT remnants that the last sampler thread knew, kept for the next one (a TIME_WAIT
        // row outlives a watch that stops and starts again within its minute), and when it left them (clock ticks).
        private RemnantCounters _leftRemnants;
        private long _leftRemnantsTicks;

        /// <summary>
        /// How long the remnant counts a sampler thread leaves are worth taking up by the next: the longest a TIME_WAIT
        /// remnant stays (Windows' default TcpTimedWaitDelay, 240 s; Linux's is 60 s). Older ones could only meet another
        /// connection on the same endpoints.
        /// </summary>
        internal static readonly TimeSpan RemnantCountsKept = TimeSpan.FromSeconds(240);

        private RemnantCounters TakeRemnants()
        {
            lock (_gate)
            {
                var left = _leftRemnants;
                _leftRemnants = null;
                bool fresh = left != null && _clock.ElapsedTicks - _leftRemnantsTicks <= (long)(RemnantCountsKept.TotalSeconds * Stopwatch.Frequency);
                return fresh ? left : new RemnantCounters();
            }
        }

        private void LeaveRemnants(RemnantCounters remnants)
        {
            lock (_gate)
            {
                // A thread that started while this one finished its last tick made its own; the later leaver wins.
                _leftRemnants = remnants;
                _leftRemnantsTicks = _clock.ElapsedTicks;
            }
        }

        private void TickUntilStopped(Platform.ClosedConnectionReaders.Reader closings, Thread me, List<SamplerSubscription> due, List<SamplerSubscription> everyone,
            Dictionary<SamplerSubscription, SamplerDelivery> deliveries, RemnantCounters remnants, ref long lostSeen)
        {
            var snapshots = new List<ConnectionSnapshot>();
            bool closingsFaulted = false; // the last tick's closing reports failed
            long windowStarted = long.MinValue; // sampler clock of the latest tick that started a rate window
            while (true)
            {
                long waitTicks;
                bool sameWindow = false;
                lock (_gate)
                {
                    if (_thread != me) return; // the last subscriber left, or the session closed
                    long now = _clock.ElapsedTicks;
                    long earliest = long.MaxValue;
                    foreach (var s in _subscribers) earliest = Math.Min(earliest, s.NextDueTicks);
                    waitTicks = earliest - now;
                    if (waitTicks > 0)
                    {
                        // Monitor.Wait releases the lock while waiting; Wake() pulses it.
                        // In double: waitTicks * TicksPerSecond overflows a long for waits over ~15 minutes (Stopwatch at 1 GHz).
                        Monitor.Wait(_gate, TimeSpan.FromTicks((long)Math.Min(TimeSpan.TicksPerHour, waitTicks * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency) + 1));
                    }
                    else
                    {
                        due.Clear();
                        everyone.Clear();
                        everyone.AddRange(_subscribers);
                        // A little slack so subscribers whose intervals line up share one read.
                        long slack = Stopwatch.Frequency / 100;
                        bool requested = false;
                        long shortest = long.MaxValue;
                        foreach (var s in _subscribers)
                        {
                            long interval = (long)(s.Interval.TotalSeconds * Stopwatch.Frequency);
                            shortest = Math.Min(shortest, interval);
                            if (s.NextDueTicks <= now + slack)
                            {
                                due.Add(s);
                                requested |= s.Requested;
                                s.Requested = false;
                                // Keep the cadence; after a stall, start again from now rather than catch up.
                                s.NextDueTicks = Math.Max(s.NextDueTicks + interval, now + interval / 2);
                            }
                        }
                        // Subscribers whose cadences do not line up (a dashboard every second, a recording every 10 s that
                        // started 0.3 s after it; a watch that joins) would cut rate windows of a fraction of an interval,
                        // over which a rate is 0 or several times the real one. A tick less than half the shortest interval
                        // after the latest window began carries that window's rates and lets it go on; rates are then always
                        // over at least half the shortest interval. A sample asked for (RequestNow) starts one all the same.
                        sameWindow = !requested && windowStarted != long.MinValue && now - windowStarted < shortest / 2;
                        if (!sameWindow) windowStarted = now;
                    }
                }
                if (waitTicks > 0) continue; // waited inside the lock
                Tick(due, deliveries, sameWindow);
                _lastReader = me;
                if (closings != null)
                {
                    // A fault in the platform's closing reports (or of the module's own here) loses this tick's closings, said
                    // to every subscriber as a lost report once for each run of failing ticks (a feed broken for good is not
                    // news at every sample); its samples still go out, and the thread, which an exception left unhandled would
                    // end with the host process, goes on.
                    try
                    {
                        HandOutClosings(closings, everyone, remnants, ref lostSeen);
                        // The remnants of actively closed sockets get their final counts before anyone sees the rows.
                        snapshots.Clear();
                        foreach (var d in deliveries.Values)
                            if (d.Snapshot != null && !snapshots.Contains(d.Snapshot)) snapshots.Add(d.Snapshot);
                        remnants.Fill(snapshots);
                        closingsFaulted = false;
                    }
                    catch (Exception ex) when (!(ex is OutOfMemoryException))
                    {
                        if (!closingsFaulted) foreach (var s in everyone) s.AddClosings(Array.Empty<ConnectionRecord>(), 1);
                        closingsFaulted = true;
                    }
                }
                foreach (var s in due) s.Offer(deliveries[s]);
                deliveries.Clear();
            }
        }

        /// <summary>
        /// Drains the closings reported since the previous tick (after this tick's reads: a socket closed after a read
        /// is in that read and in these reports, which the subscribers' trackers sort out) and keeps them, described once
        /// per enrichment, with every subscriber, due or not.
        /// </summary>
        private void HandOutClosings(Platform.ClosedConnectionReaders.Reader closings, List<SamplerSubscription> everyone, RemnantCounters remnants, ref long lostSeen)
        {
            // Windows: a request that keeps the ETW session on while the sampler runs; Linux: cheap and idempotent.
            if (closings.Start() != null) return;
            var reported = closings.DrainClosed();
            remnants.Add(reported);
            long lostNow = closings.LostReports;
            long lost = lostNow - lostSeen;
            lostSeen = lostNow;
            if (reported.Count == 0 && lost == 0) return;
            var described = new Dictionary<EnrichmentOptions, IReadOnlyList<ConnectionRecord>>();
            foreach (var s in everyone)
            {
                if (!described.TryGetValue(s.Enrichment, out var records))
                {
                    try { records = reported.Count == 0 ? Array.Empty<ConnectionRecord>() : _describe(reported, s.Enrichment); }
                    catch (Exception) { records = null; } // the reads of this tick report the same failure
                    described[s.Enrichment] = records;
                }
                if (records == null) s.AddClosings(Array.Empty<ConnectionRecord>(), lost + reported.Count);
                else s.AddClosings(records, lost);
            }
        }

        /// <param name="sameWindow">True when this tick starts no rate window (too soon after the latest): every read carries that window's rates.</param>
        private void Tick(List<SamplerSubscription> due, Dictionary<SamplerSubscription, SamplerDelivery> deliveries, bool sameWindow)
        {
            var byEnrichment = new Dictionary<EnrichmentOptions, SamplerDelivery>();
            foreach (var s in due)
            {
                if (!byEnrichment.TryGetValue(s.Enrichment, out var delivery))
                {
                    long started = Stopwatch.GetTimestamp();
                    try
                    {
                        delivery.Snapshot = _read(s.Enrichment, sameWindow || byEnrichment.Count > 0);
                    }
                    catch (Exception ex)
                    {
                        delivery.Error = ex;
                    }
                    long took = Stopwatch.GetTimestamp() - started;
                    Interlocked.Add(ref _readTicks, took);
                    Interlocked.Exchange(ref _lastReadTicks, took);
                    Interlocked.Increment(ref _ticks);
                    byEnrichment[s.Enrichment] = delivery;
                }
                deliveries[s] = delivery; // offered once the closings reported since the reads are in
            }
        }

        /// <summary>Stops sampling and waits for every thread it started to end (a read in progress finishes first).</summary>
        public void Dispose()
        {
            List<Thread> threads;
            lock (_gate)
            {
                _disposed = true;
                _thread = null;
                _subscribers.Clear();
                threads = new List<Thread>(_started);
                _started.Clear();
            }
            Wake();
            foreach (var t in threads)
                if (t != Thread.CurrentThread) t.Join();
        }
    }
}
