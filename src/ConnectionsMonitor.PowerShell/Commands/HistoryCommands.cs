using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.History;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>What the history cmdlets share: the session, the configuration's history file and options, error wording.</summary>
    public abstract class HistoryCommandBase : PSCmdlet
    {
        /// <summary>The history file; default: history.path of the configuration, else history.db in the user's data folder.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; }

        /// <summary>The configuration file to use instead of the usual lookup.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        internal Engine.Session.MonitorSession Session => SessionRegistry.For(this);

        /// <summary>Windows PowerShell 5.1: SQLite's native library is loaded here, when a history cmdlet first needs it.</summary>
        protected override void BeginProcessing()
        {
#if !NETCOREAPP
            Loading.NativeLibrary.PreloadForDesktop(Loading.ModuleInitializer.DependencyDirectory);
#endif
        }

        /// <summary>The query naming this call's configuration; a configuration that cannot be used ends the call.</summary>
        internal ConnectionQuery ConfigQuery() => SessionRegistry.ConfigQuery(this, ConfigPath);

        internal MonitorConfig Config()
        {
            try
            {
                var plan = Session.Plan(ConfigQuery());
                foreach (var w in plan.Warnings) WriteWarning(w); // a mistyped history key is said here too
                return plan.Config;
            }
            catch (ConfigException ex) { ThrowTerminatingError(SessionRegistry.InvalidConfiguration(ex)); return null; }
        }

        /// <summary>-Path (relative to PowerShell's location), else the file this session records into, else the configuration's file.</summary>
        internal string ResolvedPath(MonitorConfig config)
        {
            if (!string.IsNullOrEmpty(Path)) return GetUnresolvedProviderPathFromPSPath(Path);
            return SessionPath(Session, config);
        }

        /// <summary>The file <paramref name="session"/> records into, else the configuration's file.</summary>
        internal static string SessionPath(Engine.Session.MonitorSession session, MonitorConfig config)
        {
            var recording = session.History.State;
            return recording != null && recording.IsRecording ? recording.Path : HistoryOptions.PathFrom(config);
        }

        /// <summary>
        /// The file to read when none is named: this session's recording's, running or the last one stopped (a recording
        /// stopped and then read back is the common case), else the configuration's; but when that is the user's own default
        /// file and it does not exist while the service's does, the service's (so any session reads the service's history
        /// without being told where it is). The second value says whether the service's file was chosen that way.
        /// </summary>
        internal static (string Path, bool Service) ReadPath(Engine.Session.MonitorSession session, MonitorConfig config)
        {
            string recorded = session.History.State?.Path;
            if (!string.IsNullOrEmpty(recorded)) return (recorded, false);
            string path = HistoryOptions.PathFrom(config);
            string service = Engine.Service.ServiceRunner.DefaultHistoryPath();
            if (string.Equals(path, HistoryOptions.DefaultPath(), StringComparison.Ordinal) && !System.IO.File.Exists(path) && System.IO.File.Exists(service))
                return (service, true);
            return (path, false);
        }

        internal void SayWarnings()
        {
            foreach (var w in Session.History.TakeWarnings()) WriteWarning(w);
        }
    }

    /// <summary>
    /// <para type="synopsis">Starts recording this session's connections into the SQLite history: totals every sample, per-process minutes, every connection's life.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "ConnectionRecording", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ConnectionRecording))]
    public sealed class StartConnectionRecordingCommand : HistoryCommandBase
    {
        /// <summary>Sampling interval; default the configuration's refreshInterval.</summary>
        [Parameter]
        [SecondsTransformation]
        [ValidateTimeSpanRange(0.1, 3600.0, Example = "00:00:02")]
        public TimeSpan Interval { get; set; }

        /// <summary>Write the recording's state.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            var config = Config();
            string path = ResolvedPath(config);
            if (!ShouldProcess(path, "Record connection history")) return;
            try
            {
                TimeSpan? every = MyInvocation.BoundParameters.ContainsKey(nameof(Interval)) ? Interval : (TimeSpan?)null;
                var state = Session.History.Start(path, HistoryOptions.From(config), every, ConfigQuery());
                SayWarnings();
                WriteVerbose("Recording every " + state.Interval.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s into '" + state.Path + "'.");
                if (PassThru) WriteObject(OutputMapper.ToRecording(state));
            }
            catch (InvalidOperationException ex)
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(ex.Message + " (Stop-ConnectionRecording)", ex), "RecordingAlreadyRunning", ErrorCategory.ResourceExists, path));
            }
            catch (HistoryLockedException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex, "HistoryFileInUse", ErrorCategory.ResourceBusy, path));
            }
            catch (HistoryException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex, "HistoryFileUnusable", ErrorCategory.OpenError, path));
            }
            catch (ConfigException ex)
            {
                ThrowTerminatingError(SessionRegistry.InvalidConfiguration(ex));
            }
        }
    }

    /// <summary>
    /// <para type="synopsis">Stops this session's recording (its last minute is written; connections still open are marked as ended by the stop).</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "ConnectionRecording", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ConnectionRecording))]
    public sealed class StopConnectionRecordingCommand : PSCmdlet
    {
        /// <summary>Write the recording's final state.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            var session = SessionRegistry.For(this);
            var state = session.History.State;
            bool failedNotStopped = state != null && state.Failure != null && !string.IsNullOrEmpty(state.Path) && session.History.HasThread;
            if (state == null || (!session.History.IsRecording && !failedNotStopped))
            {
                WriteWarning("This session is not recording (Start-ConnectionRecording starts it).");
                return;
            }
            if (!ShouldProcess(state.Path, "Stop recording connection history")) return;
            var final = session.History.Stop();
            foreach (var w in session.History.TakeWarnings()) WriteWarning(w);
            if (final != null)
            {
                WriteVerbose("Recorded " + final.SamplesWritten + " samples into '" + final.Path + "'.");
                if (PassThru) WriteObject(OutputMapper.ToRecording(final));
            }
        }
    }

    /// <summary>
    /// <para type="synopsis">Gets the state of this session's recording: file, samples written and lost, size.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionRecording")]
    [OutputType(typeof(ConnectionRecording))]
    public sealed class GetConnectionRecordingCommand : PSCmdlet
    {
        protected override void EndProcessing()
        {
            var history = SessionRegistry.For(this).History;
            foreach (var w in history.TakeWarnings()) WriteWarning(w);
            var state = history.State;
            if (state != null) WriteObject(OutputMapper.ToRecording(state));
        }
    }

    /// <summary>
    /// <para type="synopsis">Gets rows of the connection history: machine totals, per-process traffic, or connection lives, over a time range.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionHistory")]
    [OutputType(typeof(ConnectionHistoryTotals), typeof(ConnectionHistoryProcess), typeof(ConnectionHistoryConnection), typeof(ConnectionHistoryAlert))]
    public sealed class GetConnectionHistoryCommand : HistoryCommandBase
    {
        /// <summary>Totals, Process, Connection or Alert; default Connection with -RemoteAddress, -Country, -Protocol, -ProcessId or a port, Process with -ProcessName, else Totals.</summary>
        [Parameter(Position = 0)]
        public ConnectionHistoryKind Kind { get; set; }

        /// <summary>Rows from this time on (local time unless the DateTime says UTC), and the minute's or hour's row that covers it (which holds that whole period).</summary>
        [Parameter]
        public DateTime Since { get; set; }

        /// <summary>Rows before this time.</summary>
        [Parameter]
        public DateTime Until { get; set; }

        /// <summary>Sum totals or process rows into periods of this length (one minute at least for processes).</summary>
        [Parameter]
        [SecondsTransformation]
        [ValidateTimeSpanRange(1, 366 * 24 * 3600.0, Example = "00:05:00")]
        public TimeSpan Interval { get; set; }

        /// <summary>Process names, wildcards allowed.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [AllowNull, AllowEmptyCollection]
        [ArgumentCompleter(typeof(ProcessNameCompleter))]
        public string[] ProcessName { get; set; }

        /// <summary>
        /// Owning process ids (Connection and Alert rows; hourly roll-ups of old lives have none). Aliases Id, PID and
        /// OwningProcess as Get-MonitoredConnection's; not bound from the pipeline by property name (a piped process's Id
        /// would ask for the lives of that one process id where -ProcessName asks for all of its name's).
        /// </summary>
        [Parameter]
        [Alias("Id", "PID", "OwningProcess")]
        [ValidateRange(0, int.MaxValue)]
        public int[] ProcessId { get; set; }

        /// <summary>TCP and/or UDP (Connection and Alert rows).</summary>
        [Parameter]
        [ValidateSet("TCP", "UDP", IgnoreCase = true)]
        public string[] Protocol { get; set; }

        /// <summary>Ports at either end (Connection and Alert rows).</summary>
        [Parameter]
        [ValidateRange(0, 65535)]
        public int[] Port { get; set; }

        /// <summary>This host's ports (Connection and Alert rows).</summary>
        [Parameter]
        [ValidateRange(0, 65535)]
        public int[] LocalPort { get; set; }

        /// <summary>The peers' ports (Connection and Alert rows).</summary>
        [Parameter]
        [ValidateRange(0, 65535)]
        public int[] RemotePort { get; set; }

        /// <summary>Remote addresses: an address, a CIDR block or a wildcard (Connection rows).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [AllowNull, AllowEmptyCollection]
        public string[] RemoteAddress { get; set; }

        /// <summary>ISO 3166-1 alpha-2 country codes of the remote address (Connection and Alert rows).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateCountryCode]
        [ArgumentCompleter(typeof(CountryCompleter))]
        public string[] Country { get; set; }

        /// <summary>Only the newest N rows.</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Last { get; set; }

        /// <summary>Read the history the service (cmon --service) writes by default: /var/lib/connectionsmonitor/history.db or %ProgramData%\ConnectionsMonitor\history.db.</summary>
        [Parameter]
        public SwitchParameter Service { get; set; }

        private readonly List<string> _names = new List<string>();
        private readonly List<AddressPattern> _addresses = new List<AddressPattern>();
        private bool _namesAsked, _addressesAsked, _anyInput;

        protected override void ProcessRecord()
        {
            _anyInput = true;
            if (Bound(nameof(ProcessName)))
            {
                _namesAsked = true;
                if (ProcessName != null) _names.AddRange(ProcessName.Where(n => !string.IsNullOrEmpty(n)));
            }
            if (Bound(nameof(RemoteAddress)))
            {
                _addressesAsked = true;
                if (RemoteAddress != null)
                    foreach (var text in RemoteAddress.Where(t => !string.IsNullOrEmpty(t)))
                    {
                        if (!AddressPattern.TryParse(text, out var pattern, out string error))
                        {
                            WriteError(new ErrorRecord(new ArgumentException("-RemoteAddress '" + text + "': " + error), "InvalidRemoteAddress", ErrorCategory.InvalidArgument, text));
                            continue;
                        }
                        _addresses.Add(pattern);
                    }
            }
        }

        private bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);

        /// <summary>
        /// -Service: the service's default file. Otherwise -Path, this session's recording, history.path; and when none of
        /// those names a file and the user's own default file does not exist while the service's does, the service's file
        /// (said with -Verbose), so any session reads the service's history without being told where it is.
        /// </summary>
        private string HistoryFile()
        {
            string service = Engine.Service.ServiceRunner.DefaultHistoryPath();
            if (Service)
            {
                if (Bound(nameof(Path)))
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Service and -Path both name the history file; give one of them."), "ServiceAndPath", ErrorCategory.InvalidArgument, Path));
                WriteVerbose("Reading the service's history '" + service + "'.");
                if (!System.IO.File.Exists(service))
                    ThrowTerminatingError(new ErrorRecord(new System.IO.FileNotFoundException("There is no service history at '" + service + "' that this account can see: the service is not installed or has not recorded yet (Install-ConnectionMonitorService)" +
                        (System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows) ? "." : ", or this account may not read it: only root reads the service's state directory (run it with sudo)."), service),
                        "ServiceHistoryNotFound", ErrorCategory.ObjectNotFound, service));
                return service;
            }
            if (Bound(nameof(Path))) return ResolvedPath(Config());
            var (path, fromService) = ReadPath(Session, Config());
            if (fromService) WriteVerbose("There is no history of yours at '" + HistoryOptions.DefaultPath() + "'; reading the service's history '" + path + "'.");
            return path;
        }

        protected override void EndProcessing()
        {
            HistoryKind? Kind = Bound(nameof(this.Kind)) ? (HistoryKind)(int)this.Kind : (HistoryKind?)null;
            DateTime? Since = Bound(nameof(this.Since)) ? this.Since : (DateTime?)null;
            DateTime? Until = Bound(nameof(this.Until)) ? this.Until : (DateTime?)null;
            TimeSpan? Interval = Bound(nameof(this.Interval)) ? this.Interval : (TimeSpan?)null;
            int? Last = Bound(nameof(this.Last)) ? this.Last : (int?)null;
            // Piped input that never came (Get-Process nosuch | …), or filters that all failed or were empty, ask for
            // nothing: no rows, never the whole machine's totals in their place.
            if (MyInvocation.ExpectingInput && !_anyInput) return;
            if ((_namesAsked && _names.Count == 0) || (_addressesAsked && _addresses.Count == 0)) return;
            var connectionFilters = new[] { nameof(RemoteAddress), nameof(Country), nameof(ProcessId), nameof(Protocol), nameof(Port), nameof(LocalPort), nameof(RemotePort) }
                .Where(Bound).ToList();
            var kind = Kind ?? (connectionFilters.Count > 0 ? HistoryKind.Connection : _namesAsked ? HistoryKind.Process : HistoryKind.Totals);
            if (kind != HistoryKind.Connection && kind != HistoryKind.Alert && connectionFilters.Count > 0)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-" + string.Join(", -", connectionFilters) + " filter" + (connectionFilters.Count == 1 ? "s" : "") +
                    " connection lives and alerts; " + kind + " rows have no such field. Use -Kind Connection or Alert (or leave -Kind out)."), "FilterNeedsConnectionKind", ErrorCategory.InvalidArgument, kind));
            if (kind == HistoryKind.Totals && _namesAsked)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-ProcessName filters process, connection and alert rows; totals are the whole machine's. Use -Kind Process, Connection or Alert (or leave -Kind out)."), "FilterNeedsProcessKind", ErrorCategory.InvalidArgument, kind));
            if ((kind == HistoryKind.Connection || kind == HistoryKind.Alert) && Interval != null)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Interval sums totals and process rows; " + (kind == HistoryKind.Alert ? "alerts" : "connection lives") + " are not summed. Leave it out, or use -Kind Totals or Process."), "IntervalNeedsRollupKind", ErrorCategory.InvalidArgument, Interval));
            if (kind == HistoryKind.Process && Interval != null && Interval.Value < TimeSpan.FromMinutes(1))
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("Process rows are per minute: -Interval must be one minute or more for them."), "IntervalTooShort", ErrorCategory.InvalidArgument, Interval));
            if (Since != null && Since.Value.ToUniversalTime() > DateTime.UtcNow)
                WriteWarning("-Since (" + Since.Value.ToString("o", System.Globalization.CultureInfo.InvariantCulture) + ") is in the future: nothing has been recorded after it yet. Did you mean (Get-Date).AddDays(-1) rather than AddDays(1)?");
            if (Since != null && Until != null && Until.Value <= Since.Value)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Until (" + Until.Value.ToString("o") + ") must be after -Since (" + Since.Value.ToString("o") + ")."), "EmptyRange", ErrorCategory.InvalidArgument, Until));
            string path = HistoryFile();
            var query = new HistoryQuery
            {
                Kind = kind,
                SinceUtc = Since?.ToUniversalTime(),
                UntilUtc = Until?.ToUniversalTime(),
                Interval = Interval,
                ProcessNames = _names.Count > 0 ? _names : null,
                RemoteAddresses = _addresses.Count > 0 ? _addresses : null,
                Countries = Country,
                ProcessIds = ProcessId,
                Protocols = Protocol,
                Ports = Port,
                LocalPorts = LocalPort,
                RemotePorts = RemotePort,
                Limit = Last,
                TimeZone = TimeZoneInfo.Local, // -Interval periods begin at local midnights and hours
            };
            HistoryStore store;
            try { store = HistoryStore.OpenReader(path); }
            catch (HistoryFileNotFoundException ex)
            {
                ThrowTerminatingError(PathErrors.NotFound(ex, PathErrors.HistoryFileNotFound, path));
                return;
            }
            catch (HistoryException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex, "HistoryFileUnusable", ErrorCategory.OpenError, path));
                return;
            }
            using (store)
            {
                switch (kind)
                {
                    case HistoryKind.Totals: foreach (var r in store.QueryTotals(query)) WriteObject(OutputMapper.ToHistory(r)); break;
                    case HistoryKind.Process: foreach (var r in store.QueryProcesses(query)) WriteObject(OutputMapper.ToHistory(r)); break;
                    case HistoryKind.Alert: foreach (var r in store.QueryAlerts(query)) WriteObject(OutputMapper.ToHistory(r)); break;
                    default: foreach (var r in store.QueryConnections(query)) WriteObject(OutputMapper.ToHistory(r)); break;
                }
            }
        }
    }
}
