using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading;
using static ConnectionsMonitor.Engine.Platform.Windows.Interop.Etw;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>
    /// A real-time ETW session of the kernel's TCP/IP and UDP/IP events, owned by this process: started as
    /// a system-logger session of its own name (Windows 8+), consumed by ProcessTrace on a background
    /// thread, stopped on Dispose and at process exit. Sessions outlive the process that started them, so a
    /// start first stops sessions this module left behind in processes that no longer run.
    /// <para>One class for both uses: the byte counters take its send/receive events
    /// (<see cref="INetworkEventSource"/>), the Windows port-scan source its TCP accepts
    /// (<see cref="IAcceptEventSource"/>); <see cref="Route"/> sends each event to the one sink it is for.
    /// Each use has a session instance of its own, worded for what it is used for.</para>
    /// </summary>
    internal sealed class EtwNetworkSession : INetworkEventSource, IAcceptEventSource
    {
        internal const string SessionPrefix = "ConnectionsMonitor-";

        internal const string ElevationWarning =
            "Byte counters on Windows come from ETW kernel network events, which need an elevated session: " +
            "run PowerShell as Administrator.";

        private static int s_instances;

        private readonly object _gate = new object();
        private readonly string _sessionName;
        // Kept in a field: the native side calls it for every event until CloseTrace.
        private readonly EventRecordCallback _callback;
        private readonly string _elevationWarning;
        private readonly Func<string, string> _describeStop;
        private Action<NetworkEvent> _trafficSink;
        private Action<TcpAcceptEvent> _acceptSink;
        private Thread _consumer;
        private ulong _traceHandle;
        private IntPtr _loggerNameForConsumer;
        private bool _running;
        private bool _disposed;
        private volatile string _failure;
        private long _callbackErrors;

        /// <summary>A session for the byte counters, worded as <see cref="ElevationWarning"/>.</summary>
        public EtwNetworkSession() : this(ElevationWarning, null)
        {
        }

        /// <param name="elevationWarning">
        /// The sentence a start refused for want of elevation returns; other refusals return it with the
        /// reason in parentheses.
        /// </param>
        /// <param name="describeStop">
        /// Words <see cref="Failure"/> from the reason the session stopped after starting (one sentence);
        /// null for the refusal wording with that reason.
        /// </param>
        internal unsafe EtwNetworkSession(string elevationWarning, Func<string, string> describeStop)
        {
            _elevationWarning = elevationWarning ?? throw new ArgumentNullException(nameof(elevationWarning));
            _describeStop = describeStop;
            // Unique per process and instance, stable enough to tell who owns a session: the PID and the
            // process's start time (PIDs are reused) are in the name, which is all a later run can see.
            _sessionName = string.Format(CultureInfo.InvariantCulture, "{0}{1}-{2:x}-{3}", SessionPrefix,
                CurrentProcessId, CurrentProcessStart, Interlocked.Increment(ref s_instances));
            _callback = OnEvent;
        }

        public string SessionName => _sessionName;

        public string Failure => _failure;

        /// <summary>Events whose handling threw (and were dropped so ProcessTrace never sees an exception).</summary>
        public long CallbackErrors => Interlocked.Read(ref _callbackErrors);

        /// <summary>Starts delivering send/receive events (accepts are not delivered). See <see cref="Start(Action{NetworkEvent}, Action{TcpAcceptEvent})"/>.</summary>
        public string Start(Action<NetworkEvent> sink) =>
            Start(sink ?? throw new ArgumentNullException(nameof(sink)), null);

        /// <summary>Starts delivering TCP accepts (send/receive events are not delivered). See <see cref="Start(Action{NetworkEvent}, Action{TcpAcceptEvent})"/>.</summary>
        public string StartAccepts(Action<TcpAcceptEvent> sink) =>
            Start(null, sink ?? throw new ArgumentNullException(nameof(sink)));

        /// <summary>
        /// Starts the session, once: <paramref name="traffic"/> gets its send/receive events and
        /// <paramref name="accepts"/> its TCP accepts, on the consumer thread (either may be null, not
        /// both). Null when running; else why not, in one sentence (no elevation, no ETW under Wine …).
        /// </summary>
        public string Start(Action<NetworkEvent> traffic, Action<TcpAcceptEvent> accepts)
        {
            if (traffic == null && accepts == null) throw new ArgumentException("A session needs a sink for its events.");
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(EtwNetworkSession));
                if (_running) return null;
                _trafficSink = traffic;
                _acceptSink = accepts;
                try
                {
                    return StartCore();
                }
                catch (Exception ex) when (ex is DllNotFoundException || ex is EntryPointNotFoundException
                                           || ex is SEHException || ex is BadImageFormatException)
                {
                    return Explain("the ETW API could not be called (" + ex.GetType().Name + ": " + ex.Message + ")");
                }
            }
        }

        private unsafe string StartCore()
        {
            StopStaleSessions();

            int error = StartSession(out _);
            if (error == ERROR_ALREADY_EXISTS)
            {
                // Our own name already running means an earlier instance of this very object leaked it.
                StopByName(_sessionName);
                error = StartSession(out _);
            }
            if (error == ERROR_ACCESS_DENIED) return _elevationWarning;
            if (error != 0) return Explain("StartTrace failed with " + Describe(error));

            _loggerNameForConsumer = Marshal.StringToHGlobalUni(_sessionName);
            var logfile = new EVENT_TRACE_LOGFILEW
            {
                LoggerName = _loggerNameForConsumer,
                ProcessTraceMode = PROCESS_TRACE_MODE_REAL_TIME | PROCESS_TRACE_MODE_EVENT_RECORD,
                EventRecordCallback = Marshal.GetFunctionPointerForDelegate(_callback),
            };
            ulong handle = OpenTraceW(&logfile);
            if (IsInvalidProcessTraceHandle(handle))
            {
                int openError = Marshal.GetLastWin32Error();
                StopByName(_sessionName);
                FreeLoggerName();
                return openError == ERROR_ACCESS_DENIED
                    ? WithReason("OpenTrace: access denied" + WineNote())
                    : Explain("OpenTrace failed with " + Describe(openError));
            }

            _traceHandle = handle;
            _running = true;
            _consumer = new Thread(Consume) { IsBackground = true, Name = "ConnectionsMonitor ETW consumer" };
            _consumer.Start();
            AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
            return null;
        }

        private unsafe int StartSession(out ulong sessionHandle)
        {
            int size = sizeof(EVENT_TRACE_PROPERTIES) + (_sessionName.Length + 1) * 2;
            byte* buffer = stackalloc byte[size];
            new Span<byte>(buffer, size).Clear();
            var p = (EVENT_TRACE_PROPERTIES*)buffer;
            p->Wnode.BufferSize = (uint)size;
            p->Wnode.Flags = WNODE_FLAG_TRACED_GUID;
            p->Wnode.ClientContext = QPC_CLOCK;
            // The documented rule for system-logger sessions: a GUID of the session's own, never SystemTraceControlGuid.
            p->Wnode.Guid = Guid.NewGuid();
            p->BufferSize = 64;       // KB per buffer
            p->MinimumBuffers = 4;
            p->MaximumBuffers = 64;   // room for bursts while the consumer thread catches up
            p->FlushTimer = 1;        // seconds: counters are at most about a second behind
            p->LogFileMode = EVENT_TRACE_REAL_TIME_MODE | EVENT_TRACE_SYSTEM_LOGGER_MODE;
            p->EnableFlags = EVENT_TRACE_FLAG_NETWORK_TCPIP;
            p->LoggerNameOffset = (uint)sizeof(EVENT_TRACE_PROPERTIES);
            return StartTraceW(out sessionHandle, _sessionName, p);
        }

        private unsafe void Consume()
        {
            ulong handle = _traceHandle;
            int error;
            try
            {
                error = ProcessTrace(&handle, 1, IntPtr.Zero, IntPtr.Zero);
            }
            catch (Exception ex)
            {
                _failure = Stopped("ProcessTrace failed (" + ex.GetType().Name + ": " + ex.Message + ")");
                return;
            }
            // Returning at all means the session ended; when we did not end it, say so.
            if (!_disposed)
                _failure = Stopped(error == 0
                    ? "the ETW session was stopped by someone else"
                    : "ProcessTrace ended with " + Describe(error));
        }

        private string Stopped(string reason) => _describeStop != null ? _describeStop(reason) : Explain(reason);

        private unsafe void OnEvent(EVENT_RECORD* record)
        {
            try
            {
                EVENT_HEADER* header = &record->EventHeader;
                Route(header->ProviderId, header->EventDescriptor.Opcode, header->EventDescriptor.Version,
                    new ReadOnlySpan<byte>((void*)record->UserData, record->UserDataLength), _trafficSink, _acceptSink);
            }
            catch (Exception)
            {
                // An exception must not unwind into ProcessTrace's native frames; the event is dropped.
                Interlocked.Increment(ref _callbackErrors);
            }
        }

        /// <summary>
        /// Hands one kernel event to the sink it is for: a TCP/UDP send or receive to
        /// <paramref name="traffic"/>, a TCP accept to <paramref name="accepts"/>, anything else (and any
        /// event whose sink is null) to nobody. The two parsers never both accept one event, so an accept
        /// can never reach the byte counters.
        /// </summary>
        internal static void Route(Guid provider, byte opcode, byte version, ReadOnlySpan<byte> userData,
            Action<NetworkEvent> traffic, Action<TcpAcceptEvent> accepts)
        {
            if (traffic != null && KernelNetworkEventParser.TryParse(provider, opcode, version, userData, out var sent))
                traffic(sent);
            else if (accepts != null && KernelNetworkEventParser.TryParseAccept(provider, opcode, version, userData, out var accepted))
                accepts(accepted);
        }

        private void OnProcessExit(object sender, EventArgs e) => Dispose();

        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                if (!_running) return;
                AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
                try
                {
                    // Stopping the session ends ProcessTrace once it has delivered what was buffered.
                    StopByName(_sessionName);
                    CloseTrace(_traceHandle);
                }
                catch (Exception ex) when (ex is EntryPointNotFoundException || ex is SEHException)
                {
                }
                // The consumer reads the logger name until ProcessTrace returns: free it only then.
                if (_consumer.Join(TimeSpan.FromSeconds(5))) FreeLoggerName();
                _running = false;
            }
        }

        private void FreeLoggerName()
        {
            if (_loggerNameForConsumer == IntPtr.Zero) return;
            Marshal.FreeHGlobal(_loggerNameForConsumer);
            _loggerNameForConsumer = IntPtr.Zero;
        }

        private static unsafe int StopByName(string name)
        {
            int size = sizeof(EVENT_TRACE_PROPERTIES) + (name.Length + 1) * 2;
            byte* buffer = stackalloc byte[size];
            new Span<byte>(buffer, size).Clear();
            var p = (EVENT_TRACE_PROPERTIES*)buffer;
            p->Wnode.BufferSize = (uint)size;
            p->LoggerNameOffset = (uint)sizeof(EVENT_TRACE_PROPERTIES);
            return ControlTraceW(0, name, p, EVENT_TRACE_CONTROL_STOP);
        }

        /// <summary>Stops this module's sessions whose owning process (PID + start time in the name) is gone.</summary>
        private static void StopStaleSessions()
        {
            IReadOnlyList<string> names = RunningSessionNames(QueryAllTracesNative);
            if (names == null) return; // best effort: a failed query only leaves stale sessions for a later start
            foreach (string name in names)
                if (IsStale(name)) StopByName(name);
        }

        /// <summary>Names of the trace sessions running on this machine (QueryAllTraces), or null when they cannot be listed.</summary>
        internal static IReadOnlyList<string> RunningSessionNames() => RunningSessionNames(QueryAllTracesNative);

        /// <summary>
        /// One QueryAllTraces call with room for <paramref name="capacity"/> sessions: returns its Win32
        /// error, the number of sessions it reported and, on success, their names.
        /// </summary>
        internal delegate int SessionQuery(int capacity, out uint sessionCount, out string[] names);

        /// <summary>Most sessions one query makes room for (each slot is ~4 KB of native memory).</summary>
        internal const int MaxQueryCapacity = 4096;

        /// <summary>
        /// Names of the running trace sessions, or null when they cannot be listed. Starts with room for
        /// 64 (MAXLOGGERS); QueryAllTraces answers ERROR_MORE_DATA with the true count when more run
        /// (possible on Windows 10 and later, where the session limit is configurable), and the query is
        /// repeated with room for them, a few times in case sessions keep starting meanwhile.
        /// </summary>
        internal static IReadOnlyList<string> RunningSessionNames(SessionQuery query)
        {
            int capacity = MaxLoggers;
            for (int attempt = 0; attempt < 4; attempt++)
            {
                int error = query(capacity, out uint count, out string[] names);
                if (error == 0)
                {
                    var result = new List<string>();
                    if (names != null)
                        for (int i = 0; i < names.Length && i < count; i++)
                            if (!string.IsNullOrEmpty(names[i])) result.Add(names[i]);
                    return result;
                }
                if (error != ERROR_MORE_DATA || capacity >= MaxQueryCapacity) return null;
                // Room for what was reported plus a margin for sessions starting between the calls.
                capacity = (int)Math.Min(MaxQueryCapacity, Math.Max((long)capacity * 2, (long)count + 8));
            }
            return null;
        }

        private static unsafe int QueryAllTracesNative(int capacity, out uint sessionCount, out string[] names)
        {
            const int NameChars = 1024;
            int propsSize = sizeof(EVENT_TRACE_PROPERTIES);
            int slot = propsSize + 2 * NameChars * 2;
            names = null;
            IntPtr block = Marshal.AllocHGlobal(checked(slot * capacity));
            IntPtr pointerBlock = Marshal.AllocHGlobal(IntPtr.Size * capacity);
            try
            {
                new Span<byte>((void*)block, slot * capacity).Clear();
                var pointers = (IntPtr*)pointerBlock;
                for (int i = 0; i < capacity; i++)
                {
                    var p = (EVENT_TRACE_PROPERTIES*)((byte*)block + i * slot);
                    p->Wnode.BufferSize = (uint)slot;
                    p->LoggerNameOffset = (uint)propsSize;
                    p->LogFileNameOffset = (uint)(propsSize + NameChars * 2);
                    pointers[i] = (IntPtr)p;
                }
                int error = QueryAllTracesW(pointers, (uint)capacity, out sessionCount);
                if (error != 0) return error;
                int n = (int)Math.Min(sessionCount, (uint)capacity);
                names = new string[n];
                for (int i = 0; i < n; i++)
                {
                    var p = (EVENT_TRACE_PROPERTIES*)pointers[i];
                    names[i] = Marshal.PtrToStringUni((IntPtr)((byte*)p + p->LoggerNameOffset));
                }
                return 0;
            }
            finally
            {
                Marshal.FreeHGlobal(pointerBlock);
                Marshal.FreeHGlobal(block);
            }
        }

        /// <summary>
        /// Whether a session name is one of ours whose process has exited (or whose PID now belongs to a
        /// process started at another time). Anything unreadable counts as alive: never stop a live run.
        /// </summary>
        internal static bool IsStale(string name) => IsStale(name, ProcessStartOf);

        internal static bool IsStale(string name, Func<int, long?> processStart)
        {
            if (name == null || !name.StartsWith(SessionPrefix, StringComparison.Ordinal)) return false;
            string[] parts = name.Substring(SessionPrefix.Length).Split('-');
            if (parts.Length != 3
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                || !long.TryParse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long started))
                return false;
            long? actual;
            try
            {
                actual = processStart(pid);
            }
            catch (Exception)
            {
                return false;
            }
            // A name written without a start time (it could not be read) proves nothing while the PID lives.
            return actual == null || (started != 0 && actual.Value != started);
        }

        /// <summary>Start time (FILETIME, UTC) of a running process; null when no process has that PID.</summary>
        private static long? ProcessStartOf(int pid)
        {
            Process process;
            try
            {
                process = Process.GetProcessById(pid);
            }
            catch (ArgumentException)
            {
                return null; // not running
            }
            using (process) return process.StartTime.ToUniversalTime().ToFileTimeUtc();
        }

        private static int CurrentProcessId
        {
            get { using (var p = Process.GetCurrentProcess()) return p.Id; }
        }

        private static long CurrentProcessStart
        {
            get
            {
                try
                {
                    using (var p = Process.GetCurrentProcess()) return p.StartTime.ToUniversalTime().ToFileTimeUtc();
                }
                catch (Exception)
                {
                    return 0;
                }
            }
        }

        private string Explain(string reason) =>
            WithReason("the ETW session could not be used: " + reason + WineNote());

        private string WithReason(string reason) => _elevationWarning.TrimEnd('.') + " (" + reason + ").";

        private static string WineNote() =>
            WineDetection.IsRunningUnderWine ? "; Wine does not implement ETW" : "";

        private static string Describe(int error) =>
            string.Format(CultureInfo.InvariantCulture, "error {0}: {1}", error, new Win32Exception(error).Message);
    }
}
