using System;
using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// The few libc calls the Linux sources need. .NET's Socket refuses AF_NETLINK and its file APIs
    /// allocate a string per directory entry, so the hot paths (netlink dump, /proc/*/fd walk) go to
    /// libc directly.
    /// </summary>
    internal static unsafe class LinuxNative
    {
        // "libc" resolves to the C library on glibc and musl alike (PowerShell itself binds it so).
        private const string Libc = "libc";

        internal const int AF_NETLINK = 16;
        internal const int SOCK_RAW = 3;
        internal const int SOCK_CLOEXEC = 0x80000;
        internal const int NETLINK_SOCK_DIAG = 4;

        internal const int MSG_TRUNC = 0x20;

        internal const int O_RDONLY = 0;
        internal const int O_DIRECTORY = 0x10000;
        internal const int O_CLOEXEC = 0x80000;

        internal const int EINTR = 4;
        internal const int EAGAIN = 11;
        internal const int EPERM = 1;
        internal const int ENOBUFS = 105;
        internal const int ENOENT = 2;
        internal const int EINVAL = 22;
        internal const int EOPNOTSUPP = 95;
        internal const int MSG_DONTWAIT = 0x40;

        internal const int SOL_SOCKET = 1;
        internal const int SO_RCVBUF = 8;
        internal const int SO_RCVBUFFORCE = 33;
        internal const short POLLIN = 1;
        internal const int ENAMETOOLONG = 36;

        internal const int AT_FDCWD = -100;
        private const int _SC_CLK_TCK = 2;

        [DllImport(Libc, SetLastError = true)]
        internal static extern int socket(int domain, int type, int protocol);

        [DllImport(Libc, SetLastError = true)]
        internal static extern IntPtr send(int fd, byte* buf, UIntPtr len, int flags);

        [DllImport(Libc, SetLastError = true)]
        internal static extern IntPtr recv(int fd, byte* buf, UIntPtr len, int flags);

        [DllImport(Libc, SetLastError = true)]
        internal static extern int close(int fd);

        [DllImport(Libc, SetLastError = true)]
        internal static extern int bind(int fd, byte* addr, uint addrlen);

        [DllImport(Libc, SetLastError = true)]
        internal static extern int setsockopt(int fd, int level, int name, int* value, uint len);

        [DllImport(Libc, SetLastError = true)]
        internal static extern int setsockopt(int fd, int level, int name, byte* value, uint len);

        [DllImport(Libc, SetLastError = true)]
        internal static extern IntPtr recvfrom(int fd, byte* buf, UIntPtr len, int flags, byte* from, uint* fromLength);

        [DllImport(Libc, SetLastError = true)]
        internal static extern int poll(PollFd* fds, UIntPtr nfds, int timeoutMs);

        /// <summary>eventfd(2): a counter fd that poll sees readable once written; here it wakes a reading thread to stop.</summary>
        [DllImport(Libc, SetLastError = true)]
        internal static extern int eventfd(uint initval, int flags);

        internal const int EFD_NONBLOCK = 0x800;
        internal const int EFD_CLOEXEC = 0x80000;

        [DllImport(Libc, SetLastError = true)]
        internal static extern IntPtr write(int fd, byte* buf, UIntPtr count);

        /// <summary>gettid(2): the calling thread's kernel id (/proc/self/task/&lt;tid&gt;); glibc 2.30 and later.</summary>
        [DllImport(Libc)]
        internal static extern int gettid();

        [StructLayout(LayoutKind.Sequential)]
        internal struct PollFd
        {
            internal int Fd;
            internal short Events;
            internal short Revents;
        }

        [DllImport(Libc, SetLastError = true)]
        internal static extern int openat(int dirfd, byte* path, int flags);

        [DllImport(Libc, SetLastError = true)]
        internal static extern IntPtr read(int fd, byte* buf, UIntPtr count);

        [DllImport(Libc, SetLastError = true)]
        internal static extern IntPtr readlinkat(int dirfd, byte* path, byte* buf, UIntPtr size);

        [DllImport(Libc, EntryPoint = "openat", SetLastError = true)]
        internal static extern int openat(int dirfd, byte* path, int flags, uint mode);

        [DllImport(Libc, SetLastError = true)]
        internal static extern int chmod(byte* path, uint mode);

        // struct passwd* getpwnam(const char*): the account database through NSS (files, LDAP, systemd-homed ...); null when
        // there is no such account. The pointer is only tested, never read.
        [DllImport(Libc, SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false)]
        internal static extern IntPtr getpwnam(string name);

        internal const int O_WRONLY = 1;
        internal const int O_CREAT = 0x40;
        internal const int O_EXCL = 0x80;
        internal const int EEXIST = 17;

        // Kernel-defined record layout (struct linux_dirent64), unlike readdir's struct dirent,
        // so the walker can parse names straight from the buffer.
        [DllImport(Libc, SetLastError = true)]
        internal static extern IntPtr getdents64(int fd, byte* buf, UIntPtr count);

        [DllImport(Libc)]
        internal static extern uint geteuid();

        // glibc 2.28+, musl 1.2.5+; struct statx has one layout on every architecture.
        [DllImport(Libc, SetLastError = true)]
        internal static extern int statx(int dirfd, byte* path, int flags, uint mask, byte* statxbuf);

        internal const uint STATX_SIZE = 0x200;
        internal const uint STATX_TYPE = 0x1;
        internal const int StatxModeOffset = 28; // __u16 stx_mode, after stx_mask, stx_blksize, stx_attributes, stx_nlink, stx_uid, stx_gid
        internal const int S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000;
        internal const int StatxBufferSize = 256;
        internal const int StatxSizeOffset = 40; // __u64 stx_size after mask, blksize, attributes, nlink, uid, gid, mode, spare, ino

        [DllImport(Libc, SetLastError = true)]
        internal static extern int statfs(byte* path, byte* buf);

        internal const int StatfsBufferSize = 256;   // struct statfs is 120 bytes on 64-bit Linux
        internal const long PROC_SUPER_MAGIC = 0x9fa0;

        [DllImport(Libc)]
        private static extern long sysconf(int name);

        internal static int LastErrno => Marshal.GetLastWin32Error();

        /// <summary>The C library's text for an errno value (Win32Exception asks strerror on Unix).</summary>
        internal static string ErrnoText(int errno) => new Win32Exception(errno).Message + " (errno " + errno + ")";

        private static long _clockTicks;

        /// <summary>Clock ticks per second, the unit of /proc/&lt;pid&gt;/stat times (usually 100).</summary>
        internal static long ClockTicksPerSecond
        {
            get
            {
                if (_clockTicks == 0)
                {
                    long t = 0;
                    try { t = sysconf(_SC_CLK_TCK); } catch (EntryPointNotFoundException) { }
                    _clockTicks = t > 0 ? t : 100;
                }
                return _clockTicks;
            }
        }

        /// <summary>
        /// Writes a NUL-terminated ASCII path into <paramref name="dest"/>; returns false when it does
        /// not fit. Lets callers build "/proc/123/fd" without allocating a string.
        /// </summary>
        internal static bool TryWritePath(Span<byte> dest, string prefix, int number, string suffix)
        {
            int pos = 0;
            foreach (char c in prefix) { if (pos >= dest.Length) return false; dest[pos++] = (byte)c; }
            if (!TryWriteDecimal(dest, ref pos, number)) return false;
            if (suffix != null)
                foreach (char c in suffix) { if (pos >= dest.Length) return false; dest[pos++] = (byte)c; }
            if (pos >= dest.Length) return false;
            dest[pos] = 0;
            return true;
        }

        /// <summary>As above with a UTF-8 prefix (a procfs root that is not ASCII); an empty prefix writes just the number.</summary>
        internal static bool TryWritePath(Span<byte> dest, ReadOnlySpan<byte> prefix, int number, string suffix)
        {
            if (prefix.Length > dest.Length) return false;
            prefix.CopyTo(dest);
            int pos = prefix.Length;
            if (!TryWriteDecimal(dest, ref pos, number)) return false;
            if (suffix != null)
                foreach (char c in suffix) { if (pos >= dest.Length) return false; dest[pos++] = (byte)c; }
            if (pos >= dest.Length) return false;
            dest[pos] = 0;
            return true;
        }

        private static bool TryWriteDecimal(Span<byte> dest, ref int pos, int value)
        {
            if (value < 0) return false;
            Span<byte> digits = stackalloc byte[10];
            int n = 0;
            do { digits[n++] = (byte)('0' + value % 10); value /= 10; } while (value != 0);
            if (pos + n > dest.Length) return false;
            while (n > 0) dest[pos++] = digits[--n];
            return true;
        }

        /// <summary>
        /// Reads a whole small file (a /proc entry) into <paramref name="buffer"/>; returns the byte
        /// count, or -1 with the errno when it cannot be opened or read (process gone, no access).
        /// </summary>
        internal static int ReadFile(string path, Span<byte> buffer, out int errno)
        {
            errno = 0;
            if (path.Length > 1024) { errno = ENAMETOOLONG; return -1; } // /proc paths are short; never truncate one
            Span<byte> p = stackalloc byte[path.Length * 3 + 1];
            fixed (byte* pp = p)
            fixed (char* pc = path)
            {
                int len = System.Text.Encoding.UTF8.GetBytes(pc, path.Length, pp, p.Length - 1);
                pp[len] = 0;
            }
            return ReadFile(p, buffer, out errno);
        }

        /// <summary>As above with the path already NUL-terminated UTF-8 (built without a string on hot paths).</summary>
        internal static int ReadFile(ReadOnlySpan<byte> nulTerminatedPath, Span<byte> buffer, out int errno)
        {
            errno = 0;
            int fd;
            fixed (byte* pp = nulTerminatedPath)
            {
                do { fd = openat(AT_FDCWD, pp, O_RDONLY | O_CLOEXEC); }
                while (fd < 0 && (errno = LastErrno) == EINTR);
            }
            if (fd < 0) return -1;
            try
            {
                int total = 0;
                fixed (byte* b = buffer)
                {
                    while (total < buffer.Length)
                    {
                        long r = (long)read(fd, b + total, (UIntPtr)(buffer.Length - total));
                        if (r < 0)
                        {
                            errno = LastErrno;
                            if (errno == EINTR) continue;
                            return -1;
                        }
                        if (r == 0) break;
                        total += (int)r;
                    }
                }
                return total;
            }
            finally
            {
                close(fd);
            }
        }
    }
}
