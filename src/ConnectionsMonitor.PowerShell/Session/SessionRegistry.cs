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
        private static readonly ConditionalWeakTable<Runspace, MonitorSession> Prepared = new ConditionalWeakTable<Runspace, MonitorSession>();
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
            if (runspace == null) return Create(cmdlet, null); // not expected from a cmdlet; a session of its own then
            MonitorSession unused = null;
            try
            {
                lock (Gate)
                {
                    if (Sessions.TryGetValue(runspace, out var existing)) return existing;
                    var prepared = TakePrepared(runspace);
                    var session = Create(cmdlet, prepared);
                    if (session != prepared) unused = prepared;
                    Sessions.Add(runspace, session);
                    Watch(runspace);
                    // Alerts reach this runspace's PowerShell events through its event manager, taken here on the pipeline thread.
                    AlertBridge.Attach(session, cmdlet.Events);
                    return session;
                }
            }
            finally
            {
                unused?.Dispose(); // replay asked for after the import: the prepared session reads the machine
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
                if (runspace != null && Prepared.TryGetValue(runspace, out var prepared)) return prepared;
                var session = new MonitorSession(DefaultOptions());
                if (runspace == null) return session;
                // Kept as the prepared one, not adopted: the runspace's first call still decides (a replay
                // path set before it wins), as when the import prepared it.
                Prepared.Add(runspace, session);
                Watch(runspace);
                return session;
            }
        }

        /// <summary>Disposes the session of the runspace that removes the module (Remove-Module, or a re-import with -Force).</summary>
        internal static void Close(Runspace runspace)
        {
            if (runspace == null) return;
            MonitorSession session, prepared;
            lock (Gate)
            {
                prepared = TakePrepared(runspace);
                if (Sessions.TryGetValue(runspace, out session)) Sessions.Remove(runspace);
                runspace.StateChanged -= OnRunspaceStateChanged;
            }
            AlertBridge.Close(prepared);
            AlertBridge.Close(session);
            prepared?.Dispose();
            session?.Dispose();
            if (session != null && session.Alerts.DeadLettered > 0)
                lock (Gate)
                {
                    UndeliveredTable.Remove(runspace);
                    UndeliveredTable.Add(runspace, Engine.Alerts.AlertMonitor.UndeliveredWarning(session.Alerts.DeadLettered, session.Alerts.DeadLetterPath, "the module was removed"));
                }
        }

        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Runspace, string> UndeliveredTable = new System.Runtime.CompilerServices.ConditionalWeakTable<Runspace, string>();

        /// <summary>
        /// Closes the runspace's session (if the module's removal has not yet) and returns what it could not
        /// deliver, worded for a warning; null when everything went. The module's OnRemove script says it.
        /// </summary>
        internal static string CloseAndReport(Runspace runspace)
        {
            if (runspace == null) return null;
            Close(runspace);
            lock (Gate)
            {
                if (!UndeliveredTable.TryGetValue(runspace, out var report)) return null;
                UndeliveredTable.Remove(runspace);
                return report;
            }
        }

        // Once per runspace, whether it has a prepared session, a session, or first one then the other.
        private static void Watch(Runspace runspace)
        {
            runspace.StateChanged -= OnRunspaceStateChanged;
            runspace.StateChanged += OnRunspaceStateChanged;
        }

        private static void OnRunspaceStateChanged(object sender, RunspaceStateEventArgs e)
        {
            var state = e.RunspaceStateInfo.State;
            if (state == RunspaceState.Closed || state == RunspaceState.Broken || state == RunspaceState.Closing)
                Close(sender as Runspace);
        }

        private static MonitorSession Create(PSCmdlet cmdlet, MonitorSession prepared)
        {
            object value = cmdlet.SessionState.PSVariable.GetValue(ReplayVariable);
            string replay = (value is PSObject pso ? pso.BaseObject : value) as string;
            if (string.IsNullOrEmpty(replay) && prepared != null) return prepared;
            var options = DefaultOptions();
            if (!string.IsNullOrEmpty(replay))
            {
                string path = cmdlet.GetUnresolvedProviderPathFromPSPath(replay);
                options.PlatformFactory = () => Engine.Platform.ReplayPlatform.Load(path);
            }
            return new MonitorSession(options);
        }

        /// <summary>
        /// Called once per process, on the first import: makes the importing runspace's session now
        /// and runs <see cref="MonitorSession.Prepare"/> on a pool thread, so the configuration is
        /// parsed, the read's code compiled and socket owners found while the import finishes and the
        /// user types, instead of inside the first call (in a fresh pwsh that was most of a first
        /// Get-MonitoredConnection). The session is only adopted by the runspace's first call, which
        /// still decides as before: with $ConnectionsMonitorReplayPath set by then it is discarded for a
        /// replay session. Later imports (other runspaces) find the code compiled and prepare nothing.
        /// </summary>
        internal static void PrepareInBackground()
        {
            var runspace = Runspace.DefaultRunspace;
            if (runspace == null) return;
            var query = new Engine.Filtering.ConnectionQuery { CurrentDirectory = CurrentDirectory(runspace) };
            MonitorSession session;
            lock (Gate)
            {
                if (Sessions.TryGetValue(runspace, out _) || Prepared.TryGetValue(runspace, out _)) return;
                session = new MonitorSession(DefaultOptions());
                Prepared.Add(runspace, session);
                Watch(runspace);
            }
            System.Threading.Tasks.Task.Run(() => session.Prepare(query));
        }

        private static MonitorSession TakePrepared(Runspace runspace)
        {
            if (!Prepared.TryGetValue(runspace, out var prepared)) return null;
            Prepared.Remove(runspace);
            return prepared;
        }

        private static string CurrentDirectory(Runspace runspace)
        {
            try { return runspace.SessionStateProxy.Path.CurrentFileSystemLocation.ProviderPath; }
            catch (Exception) { return null; } // no file system provider, or the runspace is busy elsewhere
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

        /// <summary>
        /// The error record of a configuration that cannot be used: terminating, naming the file. A file that does not exist is
        /// ConfigNotFound (ObjectNotFound, <see cref="Commands.PathErrors"/>); everything else InvalidConfiguration (InvalidData).
        /// </summary>
        internal static ErrorRecord InvalidConfiguration(Engine.Configuration.ConfigException ex) =>
            ex.FileMissing
                ? Commands.PathErrors.NotFound(ex, Commands.PathErrors.ConfigNotFound, ex.FilePath)
                : new ErrorRecord(ex, "InvalidConfiguration", ErrorCategory.InvalidData, ex.FilePath);

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
