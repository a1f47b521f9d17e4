using System;
using System.IO;
using System.Runtime.InteropServices;

namespace ConnectionsMonitor.Loading
{
    /// <summary>
    /// Where the module keeps a native library for the running platform: deps/runtimes/&lt;rid&gt;/native/&lt;file&gt;,
    /// the NuGet runtime-identifier layout (win-x64, linux-arm64, linux-musl-x64, osx-arm64 …; file e_sqlite3.dll,
    /// libe_sqlite3.so, libe_sqlite3.dylib). Both editions use it: PowerShell 7 from its load context, Windows
    /// PowerShell 5.1 by loading the file by its full path before the first DllImport asks for it by name.
    /// </summary>
    internal static class NativeLibrary
    {
        /// <summary>The library's path for this process, or null when the module has none for it.</summary>
        internal static string PathIn(string dependencyDirectory, string name)
        {
            if (string.IsNullOrEmpty(name)) return null;
            string rid = RuntimeIdentifier();
            if (rid == null) return null;
            string file = FileName(name, rid);
            string path = Path.Combine(dependencyDirectory, "runtimes", rid, "native", file);
            return File.Exists(path) ? path : null;
        }

        /// <summary>The file name of library <paramref name="name"/> on <paramref name="rid"/> (prefix and extension added where missing).</summary>
        internal static string FileName(string name, string rid)
        {
            if (rid.StartsWith("win", StringComparison.Ordinal))
                return name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? name : name + ".dll";
            string ext = rid.StartsWith("osx", StringComparison.Ordinal) ? ".dylib" : ".so";
            string file = name.StartsWith("lib", StringComparison.Ordinal) ? name : "lib" + name;
            return file.EndsWith(ext, StringComparison.Ordinal) ? file : file + ext;
        }

        /// <summary>win-x64, linux-musl-arm64 … for this process; null on an OS or architecture the module ships nothing for.</summary>
        internal static string RuntimeIdentifier()
        {
            string arch;
            switch (RuntimeInformation.ProcessArchitecture)
            {
                case Architecture.X64: arch = "x64"; break;
                case Architecture.X86: arch = "x86"; break;
                case Architecture.Arm64: arch = "arm64"; break;
                default: return null;
            }
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return "win-" + arch;
            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX)) return "osx-" + arch;
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return (IsMusl() ? "linux-musl-" : "linux-") + arch;
            return null;
        }

        /// <summary>Alpine and other musl systems carry the musl dynamic loader (/lib/ld-musl-*.so.1).</summary>
        private static bool IsMusl()
        {
            try { return Directory.Exists("/lib") && Directory.GetFiles("/lib", "ld-musl-*").Length > 0; }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return false; }
        }

#if !NETCOREAPP
        private static int s_preloaded;

        [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr LoadLibraryW(string path);

        /// <summary>
        /// Windows PowerShell 5.1: loads the module's e_sqlite3.dll by its full path, so SQLitePCLRaw's
        /// DllImport("e_sqlite3") finds the module already loaded instead of searching powershell.exe's folder.
        /// Called by the history cmdlets before they first touch SQLite (once per process), so importing the module loads no
        /// native library. Does nothing elsewhere or when the file is missing (the history cmdlets then say what failed).
        /// </summary>
        internal static void PreloadForDesktop(string dependencyDirectory)
        {
            if (System.Threading.Interlocked.Exchange(ref s_preloaded, 1) != 0) return;
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return;
            string path = PathIn(dependencyDirectory, "e_sqlite3");
            if (path != null) LoadLibraryW(path);
        }
#endif
    }
}
