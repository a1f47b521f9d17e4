using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;

namespace ConnectionsMonitor.Loading
{
    /// <summary>
    /// Runs when PowerShell imports the module and before any cmdlet touches the engine. The engine
    /// and every third-party assembly live in deps/ beside this assembly, out of PowerShell's
    /// probing, and are loaded by the module's own resolver — PowerShell's documented answer to
    /// assembly conflicts ("Resolving PowerShell module assembly dependency conflicts"):
    /// on PowerShell 7 a private AssemblyLoadContext, so a host that already loaded another
    /// YamlDotNet or an older System.Text.Json keeps its own; on Windows PowerShell 5.1 an
    /// AssemblyResolve handler limited to the module's folder.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        internal const string EngineAssemblyName = "ConnectionsMonitor.Engine";

        private static readonly object Gate = new object();
        private static bool _registered;
        private static int _prepared;

        internal static string DependencyDirectory =>
            Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location), "deps");

        /// <summary>The module's root folder (holds the manifest and the default config.yml).</summary>
        internal static string ModuleBase =>
            Path.GetDirectoryName(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location));

        public void OnImport()
        {
            lock (Gate)
            {
                if (_registered) return;
#if NETCOREAPP
                DependencyLoadContext.Register(DependencyDirectory);
#else
                AppDomain.CurrentDomain.AssemblyResolve += ResolveFromModuleFolder;
#endif
                _registered = true;
            }
            // Once per process: what it compiles and loads is shared by every later import.
            if (System.Threading.Interlocked.Exchange(ref _prepared, 1) == 0) Session.SessionRegistry.PrepareInBackground();
        }

        public void OnRemove(PSModuleInfo module)
        {
            Session.SessionRegistry.Close(System.Management.Automation.Runspaces.Runspace.DefaultRunspace);
            // The resolver stays registered: assemblies cannot be unloaded from the default context,
            // and a later re-import must find the same engine again.
        }

#if !NETCOREAPP
        private static Assembly ResolveFromModuleFolder(object sender, ResolveEventArgs args)
        {
            var requested = new AssemblyName(args.Name);
            string candidate = Path.Combine(DependencyDirectory, requested.Name + ".dll");
            if (!File.Exists(candidate)) return null;

            // Serve only what the folder holds and only when it satisfies the request (same or newer
            // version): this is the binding redirect .NET Framework would otherwise need.
            var available = AssemblyName.GetAssemblyName(candidate);
            if (requested.Version != null && available.Version < requested.Version) return null;
            foreach (var loaded in AppDomain.CurrentDomain.GetAssemblies())
            {
                if (string.Equals(loaded.Location, candidate, StringComparison.OrdinalIgnoreCase)) return loaded;
            }
            return Assembly.LoadFrom(candidate);
        }
#endif
    }
}
