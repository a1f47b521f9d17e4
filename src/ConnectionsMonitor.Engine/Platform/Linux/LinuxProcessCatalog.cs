using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Process names, executable paths, users and start times from /proc, cached per PID and
    /// re-read when the PID's start time changes (the PID was reused) or its kernel name changes
    /// (exec, prctl(PR_SET_NAME)). Values are kept exactly as the system has them; display layers sanitise.
    /// </summary>
    /// <remarks>
    /// The name is the one .NET's <c>System.Diagnostics.Process.ProcessName</c> (and so PowerShell's
    /// Get-Process) shows on Linux, so that names filter alike in both: see <see cref="NameFromCmdline"/>.
    /// </remarks>
    public sealed class LinuxProcessCatalog : IProcessCatalog
    {
        private const string DeletedSuffix = " (deleted)";
        // Each argv string is at most MAX_ARG_STRLEN (32 pages, 128 KiB): argv[0] and argv[1] fit in this.
        private const int MaxCmdlineHead = 2 * 128 * 1024 + 2;

        private readonly ProcFs _proc;
        private readonly object _lock = new object();
        private readonly Dictionary<int, CachedProcess> _cache = new Dictionary<int, CachedProcess>();
        private Dictionary<uint, string> _userNames;
        private DateTime? _bootTimeUtc;
        private bool _bootTimeRead;

        private sealed class CachedProcess
        {
            internal ulong StartTicks;
            internal string Comm;
            internal ProcessInfo Info;
        }

        /// <summary>Reads the running system's /proc.</summary>
        public LinuxProcessCatalog() : this(ProcFs.DefaultRoot) { }

        /// <summary>
        /// Reads the procfs tree at <paramref name="procRoot"/> instead of /proc (tests use a fake tree:
        /// ROOT/&lt;pid&gt;/{stat,cmdline,status,exe} and ROOT/stat). Users still come from /etc/passwd.
        /// </summary>
        /// <exception cref="ArgumentException"><paramref name="procRoot"/> is null or empty.</exception>
        public LinuxProcessCatalog(string procRoot) : this(new ProcFs(procRoot)) { }

        internal LinuxProcessCatalog(ProcFs proc)
        {
            _proc = proc ?? throw new ArgumentNullException(nameof(proc));
        }

        /// <inheritdoc/>
        public IReadOnlyDictionary<int, ProcessInfo> Lookup(IReadOnlyCollection<int> processIds)
        {
            var result = new Dictionary<int, ProcessInfo>();
            if (processIds == null) return result;
            lock (_lock)
            {
                var asked = new HashSet<int>();
                foreach (int pid in processIds)
                {
                    if (pid <= 0 || !asked.Add(pid)) continue;
                    var info = LookupOne(pid);
                    if (info != null) result[pid] = info;
                }
                // Forget processes nobody asks about any more only when they are gone, so the cache
                // never outgrows the live process table.
                if (_cache.Count > 4 * Math.Max(asked.Count, 256)) PruneExited();
            }
            return result;
        }

        private ProcessInfo LookupOne(int pid)
        {
            if (!_proc.TryReadStat(pid, out string comm, out ulong startTicks))
            {
                _cache.Remove(pid);
                return null; // exited
            }
            // Same process (start time) under the same kernel name: nothing that feeds the answer moved.
            if (_cache.TryGetValue(pid, out var cached) && cached.StartTicks == startTicks && cached.Comm == comm) return cached.Info;

            string exe = ReadExePath(pid);
            string name = NameFromCmdline(ReadCmdlineHead(pid), comm);
            var info = new ProcessInfo(pid, name, exe, ReadUserName(pid), StartTime(startTicks));
            // A process that exited between the reads leaves partial data; drop it rather than cache it.
            if (!_proc.TryReadStartTicks(pid, out ulong again) || again != startTicks)
            {
                _cache.Remove(pid);
                return null;
            }
            _cache[pid] = new CachedProcess { StartTicks = startTicks, Comm = comm, Info = info };
            return info;
        }

        /// <summary>
        /// The start of /proc/&lt;pid&gt;/cmdline, enough to hold argv[0] and argv[1]; empty for kernel
        /// threads, zombies and processes that went away.
        /// </summary>
        private ReadOnlySpan<byte> ReadCmdlineHead(int pid)
        {
            int size = 4096;
            while (true)
            {
                var buf = new byte[size];
                int n = _proc.ReadPidFile(pid, "/cmdline", buf);
                if (n <= 0) return ReadOnlySpan<byte>.Empty;
                var got = new ReadOnlySpan<byte>(buf, 0, n);
                int first = got.IndexOf((byte)0);
                bool twoArgs = first >= 0 && got.Slice(first + 1).IndexOf((byte)0) >= 0;
                if (n < size || twoArgs || size >= MaxCmdlineHead) return got;
                size = Math.Min(size * 8, MaxCmdlineHead); // both arguments not in yet: read again with room
            }
        }

        /// <summary>
        /// The process name as .NET's Process.ProcessName computes it on Linux: the file name (text after
        /// the last '/') of argv[0] if it starts with the kernel's comm (ignoring case), else that of
        /// argv[1] (a script run through its #! line: argv[0] is the interpreter), else comm itself.
        /// comm is the kernel's name, cut to 15 bytes (TASK_COMM_LEN) and changeable with prctl; the
        /// prefix test untruncates "ansible-playboo" to "ansible-playbook" without trusting an argv
        /// that a process rewrote to something else.
        /// </summary>
        /// <param name="cmdline">The start of /proc/&lt;pid&gt;/cmdline: NUL-terminated arguments (may be empty).</param>
        /// <param name="comm">The name from /proc/&lt;pid&gt;/stat, between the parentheses.</param>
        /// <returns>Never null: comm when no argument qualifies (or an argument is not NUL-terminated).</returns>
        internal static string NameFromCmdline(ReadOnlySpan<byte> cmdline, string comm)
        {
            if (comm == null) comm = string.Empty;
            int end0 = cmdline.IndexOf((byte)0);
            if (end0 < 0) return comm;
            // The kernel cuts comm at 15 bytes, also inside a character ("ééééééé" and half an 'é', decoded as U+FFFD): the
            // characters before the cut are the prefix to look for.
            string prefix = comm.TrimEnd('\uFFFD');
            if (prefix.Length == 0) prefix = comm;
            string name = FileNameIfStartsWith(cmdline.Slice(0, end0), prefix);
            if (name != null) return name;
            var rest = cmdline.Slice(end0 + 1);
            int end1 = rest.IndexOf((byte)0);
            if (end1 < 0) return comm;
            return FileNameIfStartsWith(rest.Slice(0, end1), prefix) ?? comm;
        }

        private static string FileNameIfStartsWith(ReadOnlySpan<byte> arg, string prefix)
        {
            string fileName = ProcFs.DecodeLenient(arg.Slice(arg.LastIndexOf((byte)'/') + 1));
            return fileName.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? fileName : null;
        }

        /// <summary>readlink /proc/&lt;pid&gt;/exe; null for kernel threads and processes we may not inspect.</summary>
        private unsafe string ReadExePath(int pid)
        {
            int cap = _proc.PidPathCapacity(4);
            byte* path = stackalloc byte[cap];
            if (!_proc.TryWritePidPath(new Span<byte>(path, cap), pid, "/exe")) return null;
            int size = 1024;
            while (size <= 64 * 1024)
            {
                var buf = new byte[size];
                long n;
                fixed (byte* b = buf) n = (long)LinuxNative.readlinkat(LinuxNative.AT_FDCWD, path, b, (UIntPtr)size);
                if (n <= 0) return null;
                if (n < size)
                {
                    string target = ProcFs.DecodeLenient(new ReadOnlySpan<byte>(buf, 0, (int)n));
                    // The binary was replaced or removed since the process started; the path is still the best name for it.
                    if (target.EndsWith(DeletedSuffix, StringComparison.Ordinal))
                        target = target.Substring(0, target.Length - DeletedSuffix.Length);
                    return target;
                }
                size *= 4; // possibly cut off: try again with room to spare
            }
            return null;
        }

        private string ReadUserName(int pid)
        {
            Span<byte> buf = stackalloc byte[4096];
            int n = _proc.ReadPidFile(pid, "/status", buf);
            if (n <= 0) return null;
            if (!TryParseEffectiveUid(buf.Slice(0, n), out uint uid)) return null;
            return UserName(uid);
        }

        /// <summary>"Uid:\treal\teffective\tsaved\tfs" — the effective uid, which is who ps names as the USER.</summary>
        internal static bool TryParseEffectiveUid(ReadOnlySpan<byte> status, out uint uid)
        {
            uid = 0;
            var key = new byte[] { (byte)'\n', (byte)'U', (byte)'i', (byte)'d', (byte)':' };
            int at = status.IndexOf(key);
            if (at < 0) return false;
            var line = status.Slice(at + key.Length);
            int eol = line.IndexOf((byte)'\n');
            if (eol >= 0) line = line.Slice(0, eol);
            int field = 0;
            int i = 0;
            while (i < line.Length)
            {
                while (i < line.Length && (line[i] == '\t' || line[i] == ' ')) i++;
                int start = i;
                ulong v = 0;
                while (i < line.Length && line[i] >= '0' && line[i] <= '9') v = v * 10 + (uint)(line[i++] - '0');
                if (i == start) return false;
                if (++field == 2) { uid = (uint)v; return true; }
            }
            return false;
        }

        internal string UserName(uint uid)
        {
            if (_userNames == null) _userNames = ParsePasswd(SafeReadAllText("/etc/passwd"));
            return _userNames.TryGetValue(uid, out var name) ? name : uid.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>name:password:uid:gid:gecos:home:shell — the first entry for a uid wins, as getpwuid does.</summary>
        internal static Dictionary<uint, string> ParsePasswd(string text)
        {
            var map = new Dictionary<uint, string>();
            if (text == null) return map;
            foreach (var rawLine in text.Split('\n'))
            {
                string line = rawLine.TrimEnd('\r');
                if (line.Length == 0 || line[0] == '#') continue;
                var parts = line.Split(':');
                if (parts.Length < 3 || parts[0].Length == 0) continue;
                if (uint.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid) && !map.ContainsKey(uid))
                    map[uid] = parts[0];
            }
            return map;
        }

        private static string SafeReadAllText(string path)
        {
            try { return File.ReadAllText(path, new UTF8Encoding(false, false)); }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }

        private DateTime? StartTime(ulong startTicks)
        {
            if (!_bootTimeRead)
            {
                _bootTimeRead = true;
                _bootTimeUtc = ReadBootTime();
            }
            if (_bootTimeUtc == null) return null;
            return _bootTimeUtc.Value.AddTicks((long)(startTicks * (ulong)TimeSpan.TicksPerSecond / (ulong)LinuxNative.ClockTicksPerSecond));
        }

        /// <summary>"btime N" in /proc/stat: boot time in seconds since the Unix epoch.</summary>
        private DateTime? ReadBootTime()
        {
            string text = SafeReadAllText(_proc.Path("stat"));
            if (text == null) return null;
            foreach (var line in text.Split('\n'))
                if (line.StartsWith("btime ", StringComparison.Ordinal) &&
                    long.TryParse(line.Substring(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
                    return new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(seconds);
            return null;
        }

        private void PruneExited()
        {
            var gone = new List<int>();
            foreach (var kv in _cache)
                if (!_proc.TryReadStartTicks(kv.Key, out ulong start) || start != kv.Value.StartTicks) gone.Add(kv.Key);
            foreach (int pid in gone) _cache.Remove(pid);
        }
    }
}
