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
    /// re-read when the PID's start time changes (the PID was reused). Values are kept exactly as
    /// the system has them; display layers sanitise.
    /// </summary>
    public sealed class LinuxProcessCatalog : IProcessCatalog
    {
        // TASK_COMM_LEN is 16 including the NUL: a 15-byte comm may be a cut-off name.
        private const int TruncatedCommLength = 15;
        private const string DeletedSuffix = " (deleted)";

        private readonly object _lock = new object();
        private readonly Dictionary<int, CachedProcess> _cache = new Dictionary<int, CachedProcess>();
        private Dictionary<uint, string> _userNames;
        private DateTime? _bootTimeUtc;
        private bool _bootTimeRead;

        private sealed class CachedProcess
        {
            internal ulong StartTicks;
            internal ProcessInfo Info;
        }

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
            if (!ProcFs.TryReadStat(pid, out string comm, out ulong startTicks))
            {
                _cache.Remove(pid);
                return null; // exited
            }
            if (_cache.TryGetValue(pid, out var cached) && cached.StartTicks == startTicks) return cached.Info;

            string exe = ReadExePath(pid);
            string name = comm;
            if (Encoding.UTF8.GetByteCount(comm) == TruncatedCommLength)
                name = UntruncatedName(pid, comm, exe);
            var info = new ProcessInfo(pid, name, exe, ReadUserName(pid), StartTime(startTicks));
            // A process that exited between the reads leaves partial data; drop it rather than cache it.
            if (!ProcFs.TryReadStartTicks(pid, out ulong again) || again != startTicks)
            {
                _cache.Remove(pid);
                return null;
            }
            _cache[pid] = new CachedProcess { StartTicks = startTicks, Info = info };
            return info;
        }

        /// <summary>
        /// The kernel cuts comm to 15 bytes; like .NET's Process.ProcessName, take the file name of
        /// argv[0] (or of the executable) when it starts with the cut-off name.
        /// </summary>
        private static string UntruncatedName(int pid, string comm, string exe)
        {
            var buf = new byte[4096];
            int n = LinuxNative.ReadFile("/proc/" + pid + "/cmdline", buf, out _);
            if (n > 0)
            {
                int end = Array.IndexOf(buf, (byte)0, 0, n);
                string argv0 = ProcFs.DecodeLenient(new ReadOnlySpan<byte>(buf, 0, end < 0 ? n : end));
                string baseName = BaseName(argv0);
                if (baseName.StartsWith(comm, StringComparison.Ordinal)) return baseName;
            }
            if (exe != null)
            {
                string baseName = BaseName(exe);
                if (baseName.StartsWith(comm, StringComparison.Ordinal)) return baseName;
            }
            return comm;
        }

        private static string BaseName(string path)
        {
            int slash = path.LastIndexOf('/');
            return slash < 0 ? path : path.Substring(slash + 1);
        }

        /// <summary>readlink /proc/&lt;pid&gt;/exe; null for kernel threads and processes we may not inspect.</summary>
        private static unsafe string ReadExePath(int pid)
        {
            byte* path = stackalloc byte[32];
            if (!LinuxNative.TryWritePath(new Span<byte>(path, 32), "/proc/", pid, "/exe")) return null;
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
            int n = LinuxNative.ReadFile("/proc/" + pid + "/status", buf, out _);
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
        private static DateTime? ReadBootTime()
        {
            string text = SafeReadAllText("/proc/stat");
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
                if (!ProcFs.TryReadStartTicks(kv.Key, out ulong start) || start != kv.Value.StartTicks) gone.Add(kv.Key);
            foreach (int pid in gone) _cache.Remove(pid);
        }
    }
}
