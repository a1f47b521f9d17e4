#if NETCOREAPP
using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace ConnectionsMonitor.Loading
{
    /// <summary>
    /// The module's private load context (PowerShell 7). It holds the engine and the third-party
    /// assemblies from deps/. Framework assemblies that the running .NET already carries in a version
    /// at least as new are left to the default context so that types such as Span or
    /// IAsyncEnumerable stay shared; anything older in the host (System.Text.Json 8 on PowerShell 7.4
    /// when a dependency needs 10) is loaded privately from deps/.
    /// </summary>
    internal sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private static DependencyLoadContext _instance;

        private readonly string _directory;
        private readonly Dictionary<string, string> _platformAssemblyPaths;

        private DependencyLoadContext(string directory) : base("ConnectionsMonitor", isCollectible: false)
        {
            _directory = directory;
            _platformAssemblyPaths = ReadTrustedPlatformAssemblyPaths();
        }

        internal static void Register(string directory)
        {
            _instance = new DependencyLoadContext(directory);
            // The cmdlet assembly lives in the default context; its one reference into deps/ is the
            // engine. Hand that to the private context; the engine's own references then resolve there.
            AssemblyLoadContext.Default.Resolving += (context, name) =>
                string.Equals(name.Name, ModuleInitializer.EngineAssemblyName, StringComparison.Ordinal)
                    ? _instance.LoadFromAssemblyName(name)
                    : null;
        }

        protected override Assembly Load(AssemblyName assemblyName)
        {
            string candidate = Path.Combine(_directory, assemblyName.Name + ".dll");
            if (!File.Exists(candidate)) return null;

            if (_platformAssemblyPaths.TryGetValue(assemblyName.Name, out var platformPath))
            {
                var platformVersion = AssemblyName.GetAssemblyName(platformPath).Version;
                var ours = AssemblyName.GetAssemblyName(candidate).Version;
                if (platformVersion >= ours) return null;
            }
            return LoadFromAssemblyPath(candidate);
        }

        /// <summary>
        /// Native libraries the dependencies import by name (SQLite's e_sqlite3): served from
        /// deps/runtimes/&lt;rid&gt;/native/ for the running OS and architecture; anything else goes to the
        /// default probing (IntPtr.Zero).
        /// </summary>
        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            string path = NativeLibrary.PathIn(_directory, unmanagedDllName);
            return path != null ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
        }

        /// <summary>Name → path of the assemblies that ship with the running .NET (and PowerShell, where it is self-contained).</summary>
        private static Dictionary<string, string> ReadTrustedPlatformAssemblyPaths()
        {
            var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var tpa = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string;
            if (string.IsNullOrEmpty(tpa)) return result;
            foreach (var path in tpa.Split(Path.PathSeparator))
            {
                // Only the runtime's own folder counts as "the platform": the host application's
                // private dependencies (its YamlDotNet, say) are exactly what we must not share.
                if (path.Length == 0 || !IsFrameworkPath(path)) continue;
                result[Path.GetFileNameWithoutExtension(path)] = path;
            }
            return result;
        }

        private static readonly string FrameworkDirectory =
            Path.GetDirectoryName(typeof(object).Assembly.Location);

        private static bool IsFrameworkPath(string path) =>
            string.Equals(Path.GetDirectoryName(path), FrameworkDirectory, StringComparison.OrdinalIgnoreCase);
    }
}
#endif
