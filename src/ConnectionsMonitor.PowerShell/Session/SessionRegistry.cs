using System;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Loading;

namespace ConnectionsMonitor.Session
{
    /// <summary>
    /// One <see cref="MonitorSession"/> per runspace: made on the first cmdlet call in that runspace,
    /// disposed when the runspace closes or the module is removed from it. Two runspaces in one
    /// process (ForEach-Object -Parallel, a hosted PowerShell, jobs) never share trackers, rates,
    /// warnings or samplers; only the process-wide immutable caches (GeoIP readers, process details)
    /// are shared.
    /// </summary>
    internal static class SessionRegistry
    {
        private static readonly ConditionalWeakTable<Runspace, MonitorSession> Sessions = new ConditionalWeakTable<Runspace, MonitorSession>();
        private static readonly object Gate = new object();

        /// <summary>
        /// The name of a runspace variable that, when set to a file path before the first call,
        /// makes the session replay that recorded table instead of reading the OS (see
        /// <see cref="Engine.Platform.ReplayPlatform"/>): for demonstrations, bug reports and tests.
        /// </summary>
        internal const string ReplayVariable = "ConnectionsMonitorReplayPath";

        /// <summary>The session of the runspace the cmdlet runs in.</summary>
        internal static MonitorSession For(PSCmdlet cmdlet)
        {
            var runspace = Runspace.DefaultRunspace;
            if (runspace == null) return Create(cmdlet); // not expected from a cmdlet; a session of its own then
            lock (Gate)
            {
                if (Sessions.TryGetValue(runspace, out var existing)) return existing;
                var session = Create(cmdlet);
                Sessions.Add(runspace, session);
                runspace.StateChanged += OnRunspaceStateChanged;
                return session;
            }
        }

        /// <summary>
        /// The session of the runspace that asks for completion (completers run on its pipeline
        /// thread but get no cmdlet): the existing one, else one made with the default platform.
        /// Completion only peeks, so it never changes the session's rates or ages.
        /// </summary>
        internal static MonitorSession ForCompletion()
        {
            var runspace = Runspace.DefaultRunspace;
            lock (Gate)
            {
                if (runspace != null && Sessions.TryGetValue(runspace, out var existing)) return existing;
                var session = new MonitorSession(DefaultOptions());
                if (runspace == null) return session;
                Sessions.Add(runspace, session);
                runspace.StateChanged += OnRunspaceStateChanged;
                return session;
            }
        }

        /// <summary>Disposes the session of the runspace that removes the module (Remove-Module, or a re-import with -Force).</summary>
        internal static void Close(Runspace runspace)
        {
            if (runspace == null) return;
            MonitorSession session;
            lock (Gate)
            {
                if (!Sessions.TryGetValue(runspace, out session)) return;
                Sessions.Remove(runspace);
                runspace.StateChanged -= OnRunspaceStateChanged;
            }
            session.Dispose();
        }

        private static void OnRunspaceStateChanged(object sender, RunspaceStateEventArgs e)
        {
            var state = e.RunspaceStateInfo.State;
            if (state == RunspaceState.Closed || state == RunspaceState.Broken || state == RunspaceState.Closing)
                Close(sender as Runspace);
        }

        private static MonitorSession Create(PSCmdlet cmdlet)
        {
            object value = cmdlet.SessionState.PSVariable.GetValue(ReplayVariable);
            string replay = (value is PSObject pso ? pso.BaseObject : value) as string;
            var options = DefaultOptions();
            if (!string.IsNullOrEmpty(replay))
            {
                string path = cmdlet.GetUnresolvedProviderPathFromPSPath(replay);
                options.PlatformFactory = () => Engine.Platform.ReplayPlatform.Load(path);
            }
            return new MonitorSession(options);
        }

        /// <summary>
        /// A query that names only a configuration: -ConfigPath (taken relative to PowerShell's
        /// location, as every path parameter is) and PowerShell's current file-system location for
        /// a relative $env:CONNECTIONSMONITOR_CONFIG.
        /// </summary>
        internal static Engine.Filtering.ConnectionQuery ConfigQuery(PSCmdlet cmdlet, string configPath) => new Engine.Filtering.ConnectionQuery
        {
            ConfigPath = string.IsNullOrEmpty(configPath) ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(configPath),
            CurrentDirectory = cmdlet.SessionState.Path.CurrentFileSystemLocation.ProviderPath,
        };

        /// <summary>The error record of a configuration that cannot be used: terminating, naming the file.</summary>
        internal static ErrorRecord InvalidConfiguration(Engine.Configuration.ConfigException ex) =>
            new ErrorRecord(ex, "InvalidConfiguration", ErrorCategory.InvalidData, ex.FilePath);

        private static MonitorSessionOptions DefaultOptions() => new MonitorSessionOptions
        {
            BundledGeoDirectory = BundledGeoDirectory(),
            DefaultConfigPath = Path.Combine(ModuleInitializer.ModuleBase, Engine.Configuration.ConfigLocator.FileName),
        };

        /// <summary>The module's GeoIP folder: beside the manifest, one level above this edition's folder (core/ or desktop/).</summary>
        private static string BundledGeoDirectory()
        {
            string edition = Path.GetDirectoryName(typeof(SessionRegistry).Assembly.Location);
            return string.IsNullOrEmpty(edition) ? null : Path.GetFullPath(Path.Combine(edition, "..", "GeoIP"));
        }
    }
}
