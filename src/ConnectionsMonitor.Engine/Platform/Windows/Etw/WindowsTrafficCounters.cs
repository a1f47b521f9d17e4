using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>
    /// Windows byte counters: an event source (the ETW session) feeding a <see cref="TrafficAggregator"/>,
    /// and the platform's closed-connection feed.
    /// </summary>
    /// <remarks>
    /// Lifecycle. A system-logger ETW session takes one of the few system-logger slots of the machine
    /// (eight, two of them reserved: "Configuring and Starting a SystemTraceProvider Session" in the ETW
    /// documentation), so it runs only while someone needs byte counts:
    /// <list type="bullet">
    /// <item>an explicit user holds a lease (<see cref="Acquire"/>; the session starts with the first
    /// lease and stops when the last is disposed), or</item>
    /// <item>a table read or a sample window asked for byte counts (<see cref="Start"/>) less than
    /// <see cref="IdleTimeout"/> ago; the session stops when that much time passes with no such request
    /// and no lease.</item>
    /// </list>
    /// Counts restart from zero with each new session (an aggregator's counters mean "since the session
    /// started"). A start that fails is remembered and not retried: its usual cause (no elevation) lasts
    /// as long as the process, and each attempt would cost a StartTrace.
    /// </remarks>
    internal sealed class WindowsTrafficCounters : IClosedConnectionFeed, IByteCounterUsers, IDisposable
    {
        /// <summary>How long byte counts stay on after the last request for them when no lease is held.</summary>
        public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(2);

        private readonly object _gate = new object();
        private readonly Func<INetworkEventSource> _sourceFactory;
        private readonly TrafficAggregator _aggregator;
        private readonly Func<long> _clockTicks; // Stopwatch ticks
        private readonly Timer _idleTimer;
        private INetworkEventSource _source; // non-null while a session runs
        private int _leases;
        private long _lastRequestTicks;
        private bool _disposed;
        private string _startProblem;
        private int _sessionsStarted;

        public WindowsTrafficCounters() : this(() => new EtwNetworkSession(), new TrafficAggregator(), DefaultIdleTimeout, null)
        {
        }

        /// <summary>One source, used for one session (tests that script a single session).</summary>
        internal WindowsTrafficCounters(INetworkEventSource source, TrafficAggregator aggregator)
            : this(SingleUse(source), aggregator, DefaultIdleTimeout, null)
        {
        }

        /// <param name="sourceFactory">Makes the event source of each session (a new ETW session per start).</param>
        /// <param name="idleTimeout">See <see cref="IdleTimeout"/>; <see cref="Timeout.InfiniteTimeSpan"/> never stops on idleness.</param>
        /// <param name="clockTicks">Monotonic clock in <see cref="Stopwatch"/> ticks (tests pass their own); null for Stopwatch.</param>
        internal WindowsTrafficCounters(Func<INetworkEventSource> sourceFactory, TrafficAggregator aggregator, TimeSpan idleTimeout, Func<long> clockTicks)
        {
            _sourceFactory = sourceFactory ?? throw new ArgumentNullException(nameof(sourceFactory));
            _aggregator = aggregator ?? throw new ArgumentNullException(nameof(aggregator));
            if (idleTimeout <= TimeSpan.Zero && idleTimeout != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(idleTimeout));
            IdleTimeout = idleTimeout;
            _clockTicks = clockTicks ?? Stopwatch.GetTimestamp;
            // Only the real clock gets a timer; a test clock drives StopIfIdle itself.
            if (clockTicks == null && idleTimeout != Timeout.InfiniteTimeSpan)
                _idleTimer = new Timer(_ => StopIfIdle(), null, Timeout.Infinite, Timeout.Infinite);
        }

        private static Func<INetworkEventSource> SingleUse(INetworkEventSource source)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            bool used = false;
            return () =>
            {
                if (used) throw new InvalidOperationException("This scripted event source serves one session only.");
                used = true;
                return source;
            };
        }

        internal TrafficAggregator Aggregator => _aggregator;

        /// <summary>How long byte counts stay on after the last request for them when no lease is held.</summary>
        public TimeSpan IdleTimeout { get; }

        /// <summary>Whether a session is running now.</summary>
        public bool IsRunning
        {
            get { lock (_gate) return _source != null; }
        }

        /// <summary>Sessions started so far (each start takes a system-logger slot until it stops).</summary>
        public int SessionsStarted
        {
            get { lock (_gate) return _sessionsStarted; }
        }

        /// <summary>Leases held now.</summary>
        public int Leases
        {
            get { lock (_gate) return _leases; }
        }

        /// <summary>
        /// A request for byte counts: starts the session if it is not running, and keeps it on for
        /// <see cref="IdleTimeout"/> more. Null while counting; else why not, worded for the user.
        /// </summary>
        public string Start()
        {
            lock (_gate)
            {
                string problem = EnsureRunning();
                if (problem == null)
                {
                    _lastRequestTicks = _clockTicks();
                    ArmIdleTimer();
                }
                return problem;
            }
        }

        /// <summary>
        /// Holds byte counts on until the returned lease is disposed (the session starts with the first
        /// lease and stops with the last, unless a request within <see cref="IdleTimeout"/> still wants it).
        /// The lease's <see cref="CounterLease.Problem"/> says why counts are off, or is null.
        /// </summary>
        public CounterLease Acquire()
        {
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(WindowsTrafficCounters));
                _leases++;
                return new CounterLease(this, EnsureRunning());
            }
        }

        IDisposable IByteCounterUsers.AcquireByteCounters(out string problem)
        {
            var lease = Acquire();
            problem = lease.Problem;
            return lease;
        }

        private void Release()
        {
            lock (_gate)
            {
                if (_leases == 0) return;
                _leases--;
                if (_leases == 0 && !RequestedRecently()) StopSession();
            }
        }

        /// <summary>
        /// The last reader of closings went. Nothing to do: the session stops on its own once no lease is held and no
        /// request came within <see cref="IdleTimeout"/> (a table read that wants byte counts may still be using it).
        /// </summary>
        public void Stop() { }

        /// <summary>Stops the session when no lease is held and no request came within the idle timeout.</summary>
        internal void StopIfIdle()
        {
            lock (_gate)
            {
                if (_source == null || _leases > 0) return;
                if (RequestedRecently())
                {
                    ArmIdleTimer();
                    return;
                }
                StopSession();
            }
        }

        private bool RequestedRecently()
        {
            if (IdleTimeout == Timeout.InfiniteTimeSpan) return _lastRequestTicks != 0;
            if (_lastRequestTicks == 0) return false;
            double elapsedSeconds = (_clockTicks() - _lastRequestTicks) / (double)Stopwatch.Frequency;
            return elapsedSeconds < IdleTimeout.TotalSeconds;
        }

        private void ArmIdleTimer()
        {
            if (_idleTimer == null || _disposed) return;
            double remaining = IdleTimeout.TotalMilliseconds
                - (_clockTicks() - _lastRequestTicks) * 1000.0 / Stopwatch.Frequency;
            _idleTimer.Change((long)Math.Max(1, Math.Ceiling(remaining)) + 10, Timeout.Infinite);
        }

        /// <summary>Null when a session is running (started now if needed); otherwise the reason.</summary>
        private string EnsureRunning()
        {
            if (_disposed) return "Byte counters are off: the Windows platform was disposed.";
            if (_source != null) return _source.Failure;
            if (_startProblem != null) return _startProblem;

            INetworkEventSource source = _sourceFactory();
            string problem = source.Start(e => _aggregator.Apply(e));
            if (problem != null)
            {
                _startProblem = problem;
                source.Dispose();
                return problem;
            }
            _source = source;
            _sessionsStarted++;
            return null;
        }

        private void StopSession()
        {
            if (_source == null) return;
            INetworkEventSource source = _source;
            _source = null;
            _lastRequestTicks = 0;
            _idleTimer?.Change(Timeout.Infinite, Timeout.Infinite);
            source.Dispose();
            // The next session counts from zero; counters of this one would never see their connections close.
            _aggregator.Reset();
        }

        /// <summary>Whether rows of a read should carry counts: a session is running and healthy.</summary>
        public bool IsCounting
        {
            get { lock (_gate) return _source != null && _source.Failure == null; }
        }

        public long MarkTableRead() => _aggregator.MarkTableRead();

        public void Merge(IList<SocketEntry> rows, long mark, TableCoverage covered) => _aggregator.Merge(rows, mark, covered);

        public IReadOnlyList<SocketEntry> DrainClosed() => _aggregator.DrainClosed();

        public long LostReports => _aggregator.DroppedClosedCount;

        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                _idleTimer?.Dispose();
                StopSession();
            }
        }

        /// <summary>One holder's claim on byte counts; dispose to release it (idempotent).</summary>
        internal sealed class CounterLease : IDisposable
        {
            private WindowsTrafficCounters _owner;

            internal CounterLease(WindowsTrafficCounters owner, string problem)
            {
                _owner = owner;
                Problem = problem;
            }

            /// <summary>Null when counting; else why byte counts are off (missing elevation …), worded for the user.</summary>
            public string Problem { get; }

            public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Release();
        }
    }
}
