using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using ConnectionsMonitor.Engine.Platform.Linux;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>
    /// Files that other users of the machine must not read: an address with its token (the service's dashboard.url, owner
    /// only), the alerts' dead-letter file (alert payloads, owner only), a history of the machine's connections and the
    /// auto-export's files of them (owner and group, never others). On Linux a file is created with its
    /// mode from the start (openat with O_CREAT|O_EXCL: no moment in which the umask's usual 0644 lets another user open
    /// it); on Windows the module's files are in per-user or administrators-only folders, whose permissions they inherit,
    /// and nothing is done.
    /// </summary>
    public static class PrivateFile
    {
        private const uint OwnerReadWrite = 0x180; // 0600
        private const uint OwnerReadWriteGroupRead = 0x1A0; // 0640, less the umask (the service's UMask=0027 keeps it 0640)

        /// <summary>
        /// Creates <paramref name="path"/> empty, readable by its owner and group but not by other users (mode 0640 less the
        /// umask), when it does not exist; an existing file keeps its permissions (an administrator may have set them on
        /// purpose). Errors: IOException (errno's message) when the file cannot be created, UnauthorizedAccessException when
        /// the folder refuses it.
        /// </summary>
        public static void CreateIfMissing(string path) => CreateIfMissing(path, OwnerReadWriteGroupRead);

        /// <summary>
        /// Creates <paramref name="path"/> (it must not exist) and opens it to write, readable by its owner and group but not
        /// by other users: mode 0640 less the umask, as <see cref="CreateIfMissing(string)"/> gives a history file, set when
        /// the file is created (no moment at the umask's usual 0644). For files that hold what a history holds (the
        /// auto-export's). Elsewhere than Linux the folder's permissions apply, as for the other files here. Errors: IOException
        /// when the file exists or cannot be created, UnauthorizedAccessException when the folder refuses it.
        /// </summary>
        public static FileStream CreateNewForOwnerAndGroup(string path, int bufferSize)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize);
            int fd = OpenNew(path, OwnerReadWriteGroupRead);
            if (fd < 0)
            {
                int errno = LinuxNative.LastErrno;
                if (errno == LinuxNative.EEXIST) throw new IOException("'" + path + "' exists already.");
                throw Failure(path, errno);
            }
            return new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle((IntPtr)fd, ownsHandle: true), FileAccess.Write, bufferSize);
        }

        /// <summary>
        /// Creates <paramref name="path"/> empty, readable by its owner only (mode 0600), when it does not exist; an existing
        /// file keeps its permissions. For files appended to that hold what other users must not read (the alerts' dead-letter
        /// file). Errors as <see cref="CreateIfMissing(string)"/>.
        /// </summary>
        public static void CreateOwnerOnlyIfMissing(string path) => CreateIfMissing(path, OwnerReadWrite);

        private static void CreateIfMissing(string path, uint mode)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || File.Exists(path)) return;
            int errno = Create(path, mode);
            if (errno != 0 && errno != LinuxNative.EEXIST) throw Failure(path, errno);
        }

        /// <summary>
        /// Writes <paramref name="text"/> (UTF-8, no byte order mark) to <paramref name="path"/>, readable by its owner only:
        /// an existing file is made so (chmod 0600) before the text goes in. Errors as <see cref="CreateIfMissing(string)"/>.
        /// </summary>
        public static void WriteSecret(string path, string text)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                int errno = Create(path, OwnerReadWrite);
                if (errno == LinuxNative.EEXIST) errno = ChangeMode(path);
                if (errno != 0) throw Failure(path, errno);
            }
            File.WriteAllText(path, text, new UTF8Encoding(false));
        }

        /// <summary>
        /// Linux: why the OS refuses to create <paramref name="path"/>, in its own words (strerror and errno, such as "No such
        /// file or directory (errno 2)" in /proc), for a failure whose .NET text hides that reason ("Could not find file …").
        /// Null elsewhere, or when the OS does not refuse now: then the file exists afterwards (created empty, mode 0640 less
        /// the umask, if it was missing).
        /// </summary>
        public static unsafe string CreateRefusal(string path)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return null;
            fixed (byte* p = NulTerminated(path))
            {
                int fd = LinuxNative.openat(LinuxNative.AT_FDCWD, p, LinuxNative.O_WRONLY | LinuxNative.O_CREAT | LinuxNative.O_CLOEXEC, OwnerReadWriteGroupRead);
                if (fd < 0) return LinuxNative.ErrnoText(LinuxNative.LastErrno);
                LinuxNative.close(fd);
                return null;
            }
        }

        /// <summary>
        /// Linux: true when something other than a regular file or a folder is at <paramref name="path"/> (a device such as
        /// /dev/null, a pipe, a socket; symbolic links followed), from statx(2)'s file type. False when there is nothing
        /// there, when it is a regular file or folder, elsewhere, and when statx is not there to ask (glibc before 2.28).
        /// </summary>
        public static unsafe bool IsSpecialFile(string path)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return false;
            byte* buffer = stackalloc byte[LinuxNative.StatxBufferSize];
            try
            {
                fixed (byte* p = NulTerminated(path))
                    if (LinuxNative.statx(LinuxNative.AT_FDCWD, p, 0, LinuxNative.STATX_TYPE, buffer) != 0) return false;
            }
            catch (EntryPointNotFoundException) { return false; }
            int type = *(ushort*)(buffer + LinuxNative.StatxModeOffset) & LinuxNative.S_IFMT;
            return type != LinuxNative.S_IFREG && type != LinuxNative.S_IFDIR;
        }

        private static int Create(string path, uint mode)
        {
            int fd = OpenNew(path, mode);
            if (fd < 0) return LinuxNative.LastErrno;
            LinuxNative.close(fd);
            return 0;
        }

        /// <summary>openat(O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC) with <paramref name="mode"/>: the new file's fd, or -1 (errno in LinuxNative.LastErrno).</summary>
        private static unsafe int OpenNew(string path, uint mode)
        {
            fixed (byte* p = NulTerminated(path))
                return LinuxNative.openat(LinuxNative.AT_FDCWD, p, LinuxNative.O_WRONLY | LinuxNative.O_CREAT | LinuxNative.O_EXCL | LinuxNative.O_CLOEXEC, mode);
        }

        private static unsafe int ChangeMode(string path)
        {
            fixed (byte* p = NulTerminated(path))
                return LinuxNative.chmod(p, OwnerReadWrite) == 0 ? 0 : LinuxNative.LastErrno;
        }

        private static byte[] NulTerminated(string path)
        {
            var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
            Encoding.UTF8.GetBytes(path, 0, path.Length, bytes, 0);
            return bytes;
        }

        private static Exception Failure(string path, int errno)
        {
            string why = new System.ComponentModel.Win32Exception(errno).Message;
            return errno == 13 || errno == 1 // EACCES, EPERM
                ? new UnauthorizedAccessException("'" + path + "' cannot be created with a mode that keeps other users out: " + why + ".")
                : (Exception)new IOException("'" + path + "' cannot be created with a mode that keeps other users out: " + why + ".");
        }
    }
}
