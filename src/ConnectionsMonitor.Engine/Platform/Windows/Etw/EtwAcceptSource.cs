using System;
using System.Collections.Generic;
using System.Threading;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>
    /// Windows' inbound connection attempts for port-scan detection: every TCP connection this host
    /// accepts, IPv4 and IPv6, from the kernel's TcpIp Accept events (opcodes 15 and 31) of an ETW session
    /// of its own (<see cref="EtwNetworkSession"/>, a system-logger session that runs from
    /// <see cref="Start"/> to <see cref="Dispose"/>). A connect scan's connections count even when they
    /// open and close between two samples of the socket table. Probes of closed ports, half-open SYN
    /// scans and UDP scans make no accept and stay unseen (<see cref="Kind"/>).
    /// </summary>
    /// <remarks>
    /// Accepts wait in a list for <see cref="Drain"/>, up to <see cref="MaxPending"/>; more are counted in
    /// <see cref="Dropped"/>. The ETW consumer thread only copies the event (a struct) and a time into the
    /// list; the <see cref="InboundSyn"/> values with their IPAddress objects are built by Drain. The
    /// time is when the event was read (UTC): up to about a second after the accept, since the session
    /// flushes its buffers once a second. Needs an elevated process; without one, and under Wine (no
    /// ETW), <see cref="Start"/> returns one sentence and nothing runs.
    /// </remarks>
    internal sealed class EtwAcceptSource : IInboundSynSource
    {
        /// <summary>Accepts held for the next drain at most.</summary>
        internal const int DefaultMaxPending = 10_000;

        /// <summary>What <see cref="Start"/> returns when the process is not elevated (other refusals add their reason in parentheses).</summary>
        internal const string ElevationWarning =
            "Connections accepted between two samples are seen on Windows only through ETW kernel network events, " +
            "which need an elevated session: run PowerShell as Administrator; until then accepted connections come " +
            "from the socket table, and probes of closed ports, half-open SYN scans and UDP scans are missed either way.";

        /// <summary><see cref="Failure"/> of a session that stopped after it started, from the session's reason.</summary>
        internal static string DescribeStop(string reason) =>
            "ETW accept events stopped (" + reason + "); watching accepted connections in the socket table instead.";

        private readonly object _gate = new object();
        private readonly IAcceptEventSource _events;
        private readonly int _maxPending;
        private readonly Func<DateTime> _utcNow;
        private List<(TcpAcceptEvent Accept, DateTime TimeUtc)> _pending = new List<(TcpAcceptEvent, DateTime)>();
        private long _dropped;
        private bool _started, _running, _disposed;
        private string _startProblem;

        /// <summary>A source with an ETW session of its own (not started).</summary>
        public EtwAcceptSource() : this(new EtwNetworkSession(ElevationWarning, DescribeStop), DefaultMaxPending, null)
        {
        }

        /// <param name="events">Delivers the accepts (an ETW session; a script in tests). Started by <see cref="Start"/>, disposed with this source.</param>
        /// <param name="maxPending">Accepts held for the next drain at most (at least 1).</param>
        /// <param name="utcNow">The clock that stamps each accept as it is read; null for DateTime.UtcNow.</param>
        internal EtwAcceptSource(IAcceptEventSource events, int maxPending, Func<DateTime> utcNow)
        {
            _events = events ?? throw new ArgumentNullException(nameof(events));
            if (maxPending < 1) throw new ArgumentOutOfRangeException(nameof(maxPending));
            _maxPending = maxPending;
            _utcNow = utcNow ?? (() => DateTime.UtcNow);
        }

        /// <summary>Accepted connections: no probes of closed ports, no half-open scans.</summary>
        public InboundAttemptKind Kind => InboundAttemptKind.AcceptedConnection;

        /// <summary>
        /// Starts the ETW session, once. Null while accepts are delivered; else why not, one sentence
        /// (<see cref="ElevationWarning"/>, with the reason in parentheses for anything but plain access
        /// denied: no free system-logger slot, Windows 7, Wine). Later calls return the same answer.
        /// </summary>
        public string Start()
        {
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(EtwAcceptSource));
                if (_started) return _startProblem;
                _started = true;
                _startProblem = _events.StartAccepts(OnAccept);
                _running = _startProblem == null;
                return _startProblem;
            }
        }

        /// <summary>Called on the ETW consumer thread for each accept.</summary>
        private void OnAccept(TcpAcceptEvent accept)
        {
            DateTime now = _utcNow();
            lock (_gate)
            {
                if (_disposed) return;
                if (_pending.Count >= _maxPending)
                {
                    Interlocked.Increment(ref _dropped);
                    return;
                }
                _pending.Add((accept, now));
            }
        }

        /// <summary>
        /// The connections accepted since the previous call, oldest first: remote end (the peer), local end
        /// (this host's address and the listening port), and when the event was read (UTC).
        /// </summary>
        public IReadOnlyList<InboundSyn> Drain()
        {
            List<(TcpAcceptEvent Accept, DateTime TimeUtc)> taken;
            lock (_gate)
            {
                if (_pending.Count == 0) return Array.Empty<InboundSyn>();
                taken = _pending;
                _pending = new List<(TcpAcceptEvent, DateTime)>();
            }
            var result = new InboundSyn[taken.Count];
            for (int i = 0; i < taken.Count; i++)
            {
                var a = taken[i].Accept;
                result[i] = new InboundSyn(a.RemoteAddress.ToIPAddress(), a.RemotePort, a.LocalAddress.ToIPAddress(), a.LocalPort, taken[i].TimeUtc);
            }
            return result;
        }

        /// <summary>Null while the session runs (and before a successful start); one sentence once it stopped on its own.</summary>
        public string Failure
        {
            get
            {
                lock (_gate) if (!_running) return null;
                return _events.Failure;
            }
        }

        /// <summary>Accepts not kept because <see cref="MaxPending"/> were waiting for a drain; it only grows.</summary>
        public long Dropped => Interlocked.Read(ref _dropped);

        /// <summary>Accepts held for the next drain at most.</summary>
        public int MaxPending => _maxPending;

        /// <summary>Stops the ETW session (its consumer thread ends) and forgets what waited; idempotent.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                _running = false;
                _pending.Clear();
            }
            _events.Dispose();
        }
    }
}
