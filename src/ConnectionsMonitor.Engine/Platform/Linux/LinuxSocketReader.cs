using System;
using System.Collections.Generic;
using System.Threading;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// A kernel socket that a background thread reads as data arrives — the sock_diag destroy subscription
    /// (<see cref="LinuxClosedConnectionFeed"/>) and the SYN packet capture (<see cref="LinuxSynCapture"/>) —
    /// with what it read kept in a bounded list until a consumer drains it. This class owns the socket's life:
    /// open once (a refusal is remembered: privilege does not come back during a process's life), a thread that
    /// sleeps in poll until data comes or a stop wakes it through an eventfd (no periodic wake-up: on this 2-core VM
    /// one costs ~0.3 ms of CPU, and five a second were 0.17 % of a core for a listener that heard nothing), the cap on what waits (what the cap turns away is counted
    /// in <see cref="Dropped"/>), and a stop that joins the thread before the socket is closed: for good
    /// (<see cref="Dispose"/>), or until the next <see cref="Start"/> (<see cref="Stop"/>). Subclasses say how to
    /// open the socket, how to word a refusal, and how to read what is queued on it.
    /// </summary>
    internal abstract class LinuxSocketReader<T> : IDisposable
    {
        // Without the wake fd (eventfd refused), the thread looks at the stop flag this often; with it, this is only a safety net.
        private const int PollMilliseconds = 200;
        private const int WokenPollMilliseconds = 10_000;

        private readonly string _threadName;
        private readonly int _maxPending;
        private readonly object _gate = new object();
        // Start, Stop and Dispose one at a time (Stop and Dispose join the thread outside _gate, which the thread takes).
        private readonly object _lifecycle = new object();
        private List<T> _pending = new List<T>();
        private int _fd = -1;
        private int _wakeFd = -1;
        private volatile int _threadId;
        private Thread _thread;
        private volatile bool _stop;
        private volatile string _failure;
        private bool _disposed, _started;
        private long _dropped;

        protected LinuxSocketReader(string threadName, int maxPending)
        {
            _threadName = threadName;
            _maxPending = maxPending;
        }

        /// <summary>Why reading is not (or no longer) possible, in words for the user; null while it runs or before it starts.</summary>
        public string Failure => _failure;

        /// <summary>Items turned away because the cap of waiting items was reached.</summary>
        public long Dropped => Interlocked.Read(ref _dropped);

        /// <summary>True while the reading thread runs.</summary>
        internal bool IsRunning
        {
            get { lock (_gate) return _thread != null && _thread.IsAlive; }
        }

        /// <summary>Opens the socket and returns its fd; throws when the kernel refuses (the exception goes to <see cref="DescribeOpenFailure"/>).</summary>
        protected abstract int Open();

        /// <summary>The refusal in words for the user; null to let the exception through.</summary>
        protected abstract string DescribeOpenFailure(Exception e);

        /// <summary>Runs under the start lock once the socket is open, before the thread starts.</summary>
        protected virtual void OnOpened() { }

        /// <summary>
        /// Reads everything queued on <paramref name="fd"/> without blocking (until EAGAIN), handing each item to
        /// <see cref="Add"/>; <paramref name="stopping"/> turns true when the reader is being stopped. Returns null
        /// to go on, or why reading cannot go on (the thread then ends with that as <see cref="Failure"/>).
        /// </summary>
        protected abstract string ReadQueued(int fd, Func<bool> stopping);

        /// <summary>An unexpected exception on the reading thread in words for the user.</summary>
        protected abstract string DescribeStop(Exception e);

        /// <summary>Opens the socket and starts the thread, once; returns null when reading runs, else why not (the same answer on later calls).</summary>
        public string Start()
        {
            lock (_lifecycle)
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(GetType().Name);
                if (_started) return _failure;
                _started = true;
                try
                {
                    _fd = Open();
                }
                catch (Exception e)
                {
                    string text = DescribeOpenFailure(e);
                    if (text == null) throw;
                    _failure = text;
                    return _failure;
                }
                OnOpened();
                _wakeFd = LinuxNative.eventfd(0, LinuxNative.EFD_NONBLOCK | LinuxNative.EFD_CLOEXEC); // -1: fall back to polling
                _thread = new Thread(Listen) { IsBackground = true, Name = _threadName };
                _thread.Start();
                return null;
            }
        }

        /// <summary>Keeps <paramref name="item"/> for the next drain, or counts it as dropped when the cap is reached. Called on the reading thread.</summary>
        protected void Add(T item)
        {
            lock (_gate)
            {
                if (_pending.Count >= _maxPending) { Interlocked.Increment(ref _dropped); return; }
                _pending.Add(item);
            }
        }

        /// <summary>What was read since the previous drain, oldest first.</summary>
        public IReadOnlyList<T> Drain()
        {
            lock (_gate)
            {
                if (_pending.Count == 0) return Array.Empty<T>();
                var drained = _pending;
                _pending = new List<T>();
                return drained;
            }
        }

        /// <summary>The reading thread's kernel id while it runs (0 before); for tests.</summary>
        internal int ThreadId => _threadId;

        private long _pollTimeouts;

        /// <summary>Times the thread woke for nothing (its poll timed out); for tests.</summary>
        internal long PollTimeouts => Interlocked.Read(ref _pollTimeouts);

        private unsafe void Listen()
        {
            try
            {
                _threadId = LinuxNative.gettid();
                var fds = stackalloc LinuxNative.PollFd[2];
                int wakeFd = _wakeFd;
                int count = wakeFd >= 0 ? 2 : 1;
                while (!_stop)
                {
                    fds[0] = new LinuxNative.PollFd { Fd = _fd, Events = LinuxNative.POLLIN };
                    if (count == 2) fds[1] = new LinuxNative.PollFd { Fd = wakeFd, Events = LinuxNative.POLLIN };
                    // Time-out, EINTR or the wake fd: look at _stop.
                    int ready = LinuxNative.poll(fds, (UIntPtr)count, wakeFd >= 0 ? WokenPollMilliseconds : PollMilliseconds);
                    if (ready == 0) Interlocked.Increment(ref _pollTimeouts);
                    if (ready <= 0 || fds[0].Revents == 0) continue;
                    string failure = ReadQueued(_fd, () => _stop);
                    if (failure != null)
                    {
                        _failure = failure;
                        return;
                    }
                }
            }
            catch (Exception e)
            {
                _failure = DescribeStop(e);
            }
        }

        /// <summary>
        /// Stops reading and closes the socket, dropping what waits to be drained, so that nothing runs while nobody
        /// reads (the destroy subscription stops with its last reader); the next <see cref="Start"/> opens a new socket.
        /// Wakes the thread and waits for it to end. Does nothing before a start, after a refused
        /// start (the refusal stays, as for <see cref="Start"/>) and after <see cref="Dispose"/>. The counts of what was
        /// turned away keep growing across restarts.
        /// </summary>
        public void Stop() => End(forGood: false);

        /// <summary>Runs after <see cref="Stop"/> closed the socket (not after <see cref="Dispose"/>).</summary>
        protected virtual void OnStopped() { }

        /// <summary>Stops and joins the reading thread, then closes the socket; <see cref="Start"/> throws from then on.</summary>
        public void Dispose() => End(forGood: true);

        private void End(bool forGood)
        {
            lock (_lifecycle)
            {
                Thread thread;
                lock (_gate)
                {
                    if (_disposed || (!forGood && _thread == null)) return;
                    if (forGood) _disposed = true;
                    thread = _thread;
                    _stop = true;
                }
                if (_wakeFd >= 0)
                {
                    ulong one = 1;
                    unsafe { LinuxNative.write(_wakeFd, (byte*)&one, (UIntPtr)sizeof(ulong)); }
                }
                thread?.Join();
                lock (_gate)
                {
                    if (_fd >= 0) LinuxNative.close(_fd);
                    _fd = -1;
                    if (_wakeFd >= 0) LinuxNative.close(_wakeFd);
                    _wakeFd = -1;
                    _threadId = 0;
                    _thread = null;
                    _pending = new List<T>();
                    if (!forGood)
                    {
                        _failure = null; // a thread that died of a failure is tried afresh by the next start
                        _started = false;
                        _stop = false;
                    }
                }
                if (!forGood) OnStopped();
            }
        }
    }
}
