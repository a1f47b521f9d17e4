using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Allocation-light readers for a procfs tree: the process list, a process's socket fds and its
    /// stat line. Everything here races with processes exiting; a vanished process or fd is "not
    /// there", never an error. The tree's root is "/proc" for the running system (<see cref="Default"/>);
    /// tests point it at a fake tree of ordinary files, directories and symlinks ("socket:[N]" links
    /// need not resolve: only the link text is read).
    /// </summary>
    internal sealed unsafe class ProcFs
    {
        private const int DirentBufferSize = 32 * 1024;
        // libc without getdents64 (old glibc, some musl): use managed enumeration from then on.
        private static bool _noGetdents;

        /// <summary>The running system's /proc.</summary>
        internal static readonly ProcFs Default = new ProcFs(DefaultRoot);

        /// <summary>Where procfs is mounted on a normal Linux system.</summary>
        internal const string DefaultRoot = "/proc";

        private readonly byte[] _rootZ;   // root, NUL-terminated UTF-8
        private readonly byte[] _prefix;  // root + "/", UTF-8, no NUL
        private readonly string _prefixText;

        /// <param name="root">The directory that plays /proc: absolute or relative, with or without a trailing '/'.</param>
        /// <exception cref="ArgumentException">The root is null or empty.</exception>
        internal ProcFs(string root)
        {
            if (string.IsNullOrEmpty(root)) throw new ArgumentException("The procfs root must be a directory path.", nameof(root));
            if (root.Length > 1 && root[root.Length - 1] == '/') root = root.TrimEnd('/');
            if (root.Length == 0) root = "/";
            Root = root;
            _prefixText = root == "/" ? "/" : root + "/";
            _prefix = Encoding.UTF8.GetBytes(_prefixText);
            _rootZ = Encoding.UTF8.GetBytes(root + "\0");
            CountsOpenFds = IsProcfs(_rootZ);
        }

        /// <summary>
        /// Whether the root is a real procfs, whose ROOT/&lt;pid&gt;/fd directories report the number of
        /// open fds as their size (Linux 6.2+; older kernels report 0, which <see cref="OpenFdCount"/>
        /// turns into "unknown"). False for a fake tree of ordinary directories; tests set it false to stand for a
        /// kernel before 6.2.
        /// </summary>
        internal bool CountsOpenFds { get; set; }

        private static bool IsProcfs(byte[] pathZ)
        {
            byte* buf = stackalloc byte[LinuxNative.StatfsBufferSize];
            try
            {
                fixed (byte* p = pathZ)
                    if (LinuxNative.statfs(p, buf) != 0) return false;
            }
            catch (EntryPointNotFoundException) { return false; }
            // f_type is the first field, a long (__fsword_t) on 64-bit, an int on 32-bit.
            long type = IntPtr.Size == 8 ? *(long*)buf : *(int*)buf;
            return type == LinuxNative.PROC_SUPER_MAGIC;
        }

        private static bool _noStatx;

        /// <summary>
        /// How many fds the process has open, from the size procfs reports for ROOT/&lt;pid&gt;/fd: one
        /// statx, no directory read. -1 when unknown (not procfs, kernel older than 6.2, no statx in
        /// libc, process gone).
        /// </summary>
        internal int OpenFdCount(int pid)
        {
            if (!CountsOpenFds || _noStatx) return -1;
            int cap = PidPathCapacity(3);
            byte* path = stackalloc byte[cap];
            if (!TryWritePidPath(new Span<byte>(path, cap), pid, "/fd")) return -1;
            byte* buf = stackalloc byte[LinuxNative.StatxBufferSize];
            try
            {
                if (LinuxNative.statx(LinuxNative.AT_FDCWD, path, 0, LinuxNative.STATX_SIZE, buf) != 0) return -1;
            }
            catch (EntryPointNotFoundException) { _noStatx = true; return -1; }
            ulong size = *(ulong*)(buf + LinuxNative.StatxSizeOffset);
            // Kernels before 6.2 report 0 for every fd directory: unknown, as is a size beyond int.
            return size == 0 || size > int.MaxValue ? -1 : (int)size;
        }

        /// <summary>The directory read as /proc, without a trailing '/'.</summary>
        internal string Root { get; }

        /// <summary>"ROOT/NAME", e.g. Path("net/tcp") → "/proc/net/tcp".</summary>
        internal string Path(string name) => _prefixText + name;

        /// <summary>"ROOT/PID/NAME", e.g. PidPath(42, "cmdline") → "/proc/42/cmdline".</summary>
        internal string PidPath(int pid, string name) => _prefixText + pid.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/" + name;

        /// <summary>Writes "ROOT/PID/SUFFIX" NUL-terminated into dest without allocating; false when it does not fit.</summary>
        internal bool TryWritePidPath(Span<byte> dest, int pid, string suffix) => LinuxNative.TryWritePath(dest, _prefix, pid, suffix);

        /// <summary>Bytes a buffer for <see cref="TryWritePidPath"/> needs at most, given the suffix length.</summary>
        internal int PidPathCapacity(int suffixLength) => _prefix.Length + 11 + suffixLength + 1;

        /// <summary>Numeric entries of the root, i.e. the PIDs of all processes (thread groups).</summary>
        internal List<int> ListProcessIds()
        {
            var pids = new List<int>(512);
            if (!_noGetdents)
            {
                try
                {
                    fixed (byte* path = _rootZ)
                    {
                        ForEachDirectoryEntry(LinuxNative.AT_FDCWD, path, (dirfd, name, len) =>
                        {
                            if (TryParseInt(name, len, out int pid)) pids.Add(pid);
                            return true;
                        });
                    }
                    return pids;
                }
                catch (EntryPointNotFoundException) { _noGetdents = true; pids.Clear(); }
            }
            try
            {
                foreach (var dir in Directory.EnumerateDirectories(Root))
                    if (int.TryParse(System.IO.Path.GetFileName(dir), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)) pids.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return pids;
        }

        /// <summary>
        /// Called with each socket found among a process's fds: the fd number (-1 when the entry name
        /// is not a number) and the socket inode. Return false to stop the scan.
        /// </summary>
        internal delegate bool SocketInodeVisitor(int fd, ulong inode);

        /// <summary>
        /// Reads every ROOT/&lt;pid&gt;/fd/* link and reports the "socket:[inode]" ones. Returns the number
        /// of fds looked at, or -1 when the fd directory cannot be opened (process gone, other user's process).
        /// </summary>
        internal int ScanSocketInodes(int pid, SocketInodeVisitor visitor)
        {
            if (_noGetdents) return ScanSocketInodesManaged(pid, visitor);
            int cap = PidPathCapacity(3);
            byte* path = stackalloc byte[cap];
            if (!TryWritePidPath(new Span<byte>(path, cap), pid, "/fd")) return -1;
            byte* link = stackalloc byte[64];
            int count = 0;
            try
            {
                bool opened = ForEachDirectoryEntry(LinuxNative.AT_FDCWD, path, (dirfd, name, len) =>
                {
                    count++;
                    long n = (long)LinuxNative.readlinkat(dirfd, name, link, (UIntPtr)64);
                    // An fd closed since the directory was read gives ENOENT: skip it like ss does.
                    if (n > 0 && TryParseSocketLink(new ReadOnlySpan<byte>(link, (int)n), out ulong inode))
                        return visitor(TryParseInt(name, len, out int fd) ? fd : -1, inode);
                    return true;
                });
                return opened ? count : -1;
            }
            catch (EntryPointNotFoundException)
            {
                _noGetdents = true;
                return ScanSocketInodesManaged(pid, visitor);
            }
        }

        private int ScanSocketInodesManaged(int pid, SocketInodeVisitor visitor)
        {
            int count = 0;
            byte* link = stackalloc byte[64];
            try
            {
                foreach (var fdPath in Directory.EnumerateFileSystemEntries(PidPath(pid, "fd")))
                {
                    count++;
                    var bytes = Encoding.UTF8.GetBytes(fdPath + "\0");
                    long n;
                    fixed (byte* p = bytes) n = (long)LinuxNative.readlinkat(LinuxNative.AT_FDCWD, p, link, (UIntPtr)64);
                    if (n > 0 && TryParseSocketLink(new ReadOnlySpan<byte>(link, (int)n), out ulong inode))
                    {
                        int fd = int.TryParse(System.IO.Path.GetFileName(fdPath), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int f) ? f : -1;
                        if (!visitor(fd, inode)) break;
                    }
                }
                return count;
            }
            catch (IOException) { return count == 0 ? -1 : count; }
            catch (UnauthorizedAccessException) { return -1; }
        }

        /// <summary>
        /// Opens ROOT/&lt;pid&gt;/fd for <see cref="HoldsSocket"/>; returns the directory fd (close it with
        /// <see cref="CloseFdDirectory"/>), or -1 when the process is gone or may not be inspected.
        /// </summary>
        internal int OpenFdDirectory(int pid)
        {
            int cap = PidPathCapacity(3);
            byte* path = stackalloc byte[cap];
            if (!TryWritePidPath(new Span<byte>(path, cap), pid, "/fd")) return -1;
            int dirfd;
            do { dirfd = LinuxNative.openat(LinuxNative.AT_FDCWD, path, LinuxNative.O_RDONLY | LinuxNative.O_DIRECTORY | LinuxNative.O_CLOEXEC); }
            while (dirfd < 0 && LinuxNative.LastErrno == LinuxNative.EINTR);
            return dirfd;
        }

        /// <summary>Closes a directory fd from <see cref="OpenFdDirectory"/>.</summary>
        internal static void CloseFdDirectory(int dirfd)
        {
            if (dirfd >= 0) LinuxNative.close(dirfd);
        }

        /// <summary>
        /// Whether fd number <paramref name="fd"/> in an fd directory opened by <see cref="OpenFdDirectory"/>
        /// still is "socket:[inode]": one readlinkat, the cheap check behind every cached socket owner.
        /// False when the fd was closed, now holds something else, or the process went away.
        /// </summary>
        internal static bool HoldsSocket(int fdDirectory, int fd, ulong inode)
        {
            if (fdDirectory < 0 || fd < 0) return false;
            byte* name = stackalloc byte[12];
            if (!LinuxNative.TryWritePath(new Span<byte>(name, 12), default(ReadOnlySpan<byte>), fd, null)) return false;
            byte* link = stackalloc byte[64];
            long n = (long)LinuxNative.readlinkat(fdDirectory, name, link, (UIntPtr)64);
            return n > 0 && TryParseSocketLink(new ReadOnlySpan<byte>(link, (int)n), out ulong now) && now == inode;
        }

        private delegate bool DirectoryEntryVisitor(int dirfd, byte* name, int nameLength);

        /// <summary>Opens a directory and hands each entry name (NUL-terminated, "." and ".." skipped) to the visitor.</summary>
        private static bool ForEachDirectoryEntry(int atFd, byte* path, DirectoryEntryVisitor visitor)
        {
            int dirfd;
            do { dirfd = LinuxNative.openat(atFd, path, LinuxNative.O_RDONLY | LinuxNative.O_DIRECTORY | LinuxNative.O_CLOEXEC); }
            while (dirfd < 0 && LinuxNative.LastErrno == LinuxNative.EINTR);
            if (dirfd < 0) return false;
            byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(DirentBufferSize);
            try
            {
                fixed (byte* buf = rented)
                {
                    while (true)
                    {
                        long n = (long)LinuxNative.getdents64(dirfd, buf, (UIntPtr)rented.Length);
                        if (n < 0 && LinuxNative.LastErrno == LinuxNative.EINTR) continue;
                        if (n <= 0) return true; // end, or the process died under us: what we saw is what there is
                        // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                        for (long off = 0; off < n;)
                        {
                            byte* rec = buf + off;
                            ushort reclen = *(ushort*)(rec + 16);
                            if (reclen == 0) return true;
                            byte* name = rec + 19;
                            int len = 0;
                            while (len < reclen - 19 && name[len] != 0) len++;
                            off += reclen;
                            if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'))) continue;
                            if (!visitor(dirfd, name, len)) return true;
                        }
                    }
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
                LinuxNative.close(dirfd);
            }
        }

        /// <summary>Parses the inode out of a "socket:[12345]" link target.</summary>
        internal static bool TryParseSocketLink(ReadOnlySpan<byte> link, out ulong inode)
        {
            inode = 0;
            // "socket:[" is 8 bytes; at least one digit and "]" follow.
            if (link.Length < 10 || link[0] != (byte)'s' || link[6] != (byte)':' || link[7] != (byte)'[' || link[link.Length - 1] != (byte)']')
                return false;
            if (link[1] != 'o' || link[2] != 'c' || link[3] != 'k' || link[4] != 'e' || link[5] != 't') return false;
            for (int i = 8; i < link.Length - 1; i++)
            {
                uint d = (uint)(link[i] - '0');
                if (d > 9) return false;
                inode = inode * 10 + d;
            }
            return true;
        }

        private static bool TryParseInt(byte* s, int len, out int value)
        {
            value = 0;
            if (len == 0 || len > 9) return false;
            for (int i = 0; i < len; i++)
            {
                uint d = (uint)(s[i] - '0');
                if (d > 9) return false;
                value = value * 10 + (int)d;
            }
            return true;
        }

        /// <summary>
        /// Reads /proc/&lt;pid&gt;/stat. Returns false when the process is gone. comm is the kernel's
        /// (possibly truncated) command name; startTicks is field 22, clock ticks after boot.
        /// </summary>
        internal bool TryReadStat(int pid, out string comm, out ulong startTicks)
        {
            comm = null;
            startTicks = 0;
            Span<byte> buf = stackalloc byte[1024];
            int n = ReadPidFile(pid, "/stat", buf);
            if (n <= 0) return false;
            if (!TryParseStat(buf.Slice(0, n), out var commBytes, out startTicks)) return false;
            comm = DecodeLenient(commBytes);
            return true;
        }

        /// <summary>Only the start time: the cheap liveness check behind every cached PID.</summary>
        internal bool TryReadStartTicks(int pid, out ulong startTicks)
        {
            startTicks = 0;
            Span<byte> buf = stackalloc byte[1024];
            int n = ReadPidFile(pid, "/stat", buf);
            return n > 0 && TryParseStat(buf.Slice(0, n), out _, out startTicks);
        }

        /// <summary>The parent's PID (field 4) and the start time (field 22, clock ticks after boot) from one read of ROOT/&lt;pid&gt;/stat; false when the process is gone.</summary>
        internal bool TryReadParentAndStart(int pid, out int parentPid, out ulong startTicks)
        {
            parentPid = 0;
            startTicks = 0;
            Span<byte> buf = stackalloc byte[1024];
            int n = ReadPidFile(pid, "/stat", buf);
            return n > 0 && TryParseParentPid(buf.Slice(0, n), out parentPid) && TryParseStat(buf.Slice(0, n), out _, out startTicks);
        }

        /// <summary>
        /// Time since boot in clock ticks (ROOT/uptime's first field, seconds, times sysconf(_SC_CLK_TCK)), on the clock of
        /// the stat start times; false when the file is missing or unreadable (a fake tree).
        /// </summary>
        internal bool TryReadUptimeTicks(out ulong ticks)
        {
            ticks = 0;
            try
            {
                string text = System.IO.File.ReadAllText(_prefixText + "uptime");
                int space = text.IndexOf(' ');
                if (space <= 0 || !double.TryParse(text.Substring(0, space), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) || seconds < 0)
                    return false;
                ticks = (ulong)(seconds * LinuxNative.ClockTicksPerSecond);
                return true;
            }
            catch (System.IO.IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        }

        /// <summary>Field 4 (ppid) of "pid (comm) state ppid ...", read after the LAST ')' as comm may hold any bytes.</summary>
        internal static bool TryParseParentPid(ReadOnlySpan<byte> stat, out int parentPid)
        {
            parentPid = 0;
            int close = stat.LastIndexOf((byte)')');
            if (close < 0) return false;
            var rest = stat.Slice(close + 1);
            // ") S 1234 ..." : skip the space, the state and the space after it.
            int i = 0;
            while (i < rest.Length && rest[i] == ' ') i++;
            while (i < rest.Length && rest[i] != ' ') i++;
            while (i < rest.Length && rest[i] == ' ') i++;
            int start = i;
            while (i < rest.Length && rest[i] >= (byte)'0' && rest[i] <= (byte)'9') i++;
            if (i == start) return false;
            fixed (byte* digits = rest.Slice(start)) return TryParseInt(digits, i - start, out parentPid);
        }

        /// <summary>
        /// Reads ROOT/&lt;pid&gt;SUFFIX (suffix starts with '/') into buffer without building a string;
        /// the byte count, or -1 when it cannot be opened or read (process gone, no access).
        /// </summary>
        internal int ReadPidFile(int pid, string suffix, Span<byte> buffer)
        {
            int cap = PidPathCapacity(suffix.Length);
            Span<byte> path = stackalloc byte[cap];
            if (!TryWritePidPath(path, pid, suffix)) return -1;
            return LinuxNative.ReadFile(path, buffer, out _);
        }

        /// <summary>"pid (comm) state ppid ..." — comm may hold spaces and ')', so it ends at the LAST ')'.</summary>
        internal static bool TryParseStat(ReadOnlySpan<byte> stat, out ReadOnlySpan<byte> comm, out ulong startTicks)
        {
            comm = default;
            startTicks = 0;
            int open = stat.IndexOf((byte)'(');
            int close = stat.LastIndexOf((byte)')');
            if (open < 0 || close < open) return false;
            comm = stat.Slice(open + 1, close - open - 1);
            // After ") " come fields 3 (state), 4, ...; starttime is field 22.
            var rest = stat.Slice(close + 1);
            int field = 2;
            int i = 0;
            while (i < rest.Length)
            {
                while (i < rest.Length && rest[i] == ' ') i++;
                if (i >= rest.Length) break;
                field++;
                int start = i;
                while (i < rest.Length && rest[i] != ' ' && rest[i] != '\n') i++;
                if (field == 22)
                {
                    ulong v = 0;
                    for (int k = start; k < i; k++)
                    {
                        uint d = (uint)(rest[k] - '0');
                        if (d > 9) return false;
                        v = v * 10 + d;
                    }
                    startTicks = v;
                    return true;
                }
                if (i < rest.Length && rest[i] == '\n') break;
            }
            return false;
        }

        /// <summary>Outside-world bytes to text: invalid UTF-8 becomes U+FFFD, never an exception.</summary>
        internal static string DecodeLenient(ReadOnlySpan<byte> bytes)
        {
            if (bytes.IsEmpty) return string.Empty;
            fixed (byte* p = bytes) return Encoding.UTF8.GetString(p, bytes.Length);
        }
    }
}
