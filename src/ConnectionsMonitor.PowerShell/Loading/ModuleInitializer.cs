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
    /// AssemblyResolve handler limited to the module's folder that loads each file with LoadFile, so
    /// no version mismatch is ever decided by the loader's own probing (<see cref="DesktopDependencyResolver"/>).
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

        /// <summary>Called by PowerShell when the module is imported: registers the dependency resolver (once per process).</summary>
        public void OnImport() => RegisterResolver();

        /// <summary>
        /// Registers the module's resolver once per process. Windows PowerShell's root module calls this
        /// (by reflection) right after loading the cmdlet assembly and before Import-Module reflects over
        /// its cmdlets, so no dependency can be touched before the resolver is in place; OnImport calls it
        /// again, which does nothing.
        /// </summary>
        internal static void RegisterResolver()
        {
            lock (Gate)
            {
                if (_registered) return;
#if NETCOREAPP
                DependencyLoadContext.Register(DependencyDirectory);
#else
                var resolver = new DesktopDependencyResolver(DependencyDirectory, ModuleBase);
                AppDomain.CurrentDomain.AssemblyResolve += resolver.Resolve;
#endif
                _registered = true;
            }
            // Once per process: what it compiles and loads is shared by every later import.
            if (System.Threading.Interlocked.Exchange(ref _prepared, 1) == 0) Session.SessionRegistry.PrepareInBackground();
        }

        /// <summary>Called by PowerShell when the module is removed: closes this runspace's monitoring session.</summary>
        public void OnRemove(PSModuleInfo module)
        {
            Session.SessionRegistry.Close(System.Management.Automation.Runspaces.Runspace.DefaultRunspace);
            // The resolver stays registered: assemblies cannot be unloaded from the default context,
            // and a later re-import must find the same engine again.
        }
    }
}
