using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Text;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>What Install- and Uninstall-ConnectionMonitorService share: the platform, the system tools they run, wording.</summary>
    public abstract class ServiceCommandBase : PSCmdlet
    {
        /// <summary>The unit name (Linux, default connectionsmonitor) or service name (Windows, default ConnectionsMonitor).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; }

        /// <summary>Linux: the folder of the unit file (default /etc/systemd/system).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string UnitDirectory { get; set; }

        internal static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        internal string ServiceName => Name ?? (IsWindows ? Engine.Service.WindowsServiceSetup.DefaultName : Engine.Service.SystemdUnit.DefaultName);

        internal string UnitPath()
        {
            string dir = UnitDirectory == null ? Engine.Service.SystemdUnit.DefaultUnitDirectory : GetUnresolvedProviderPathFromPSPath(UnitDirectory);
            return Path.Combine(dir, Engine.Service.SystemdUnit.FileName(ServiceName));
        }

        /// <summary>Checks the name for this platform; a bad one ends the call with what is expected.</summary>
        internal void CheckName()
        {
            if (IsWindows && UnitDirectory != null)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-UnitDirectory is for systemd on Linux; on Windows the service manager keeps the registration."), "UnitDirectoryNotOnWindows", ErrorCategory.InvalidArgument, UnitDirectory));
            try
            {
                if (IsWindows) Engine.Service.WindowsServiceSetup.CheckName(ServiceName);
                else Engine.Service.SystemdUnit.CheckName(ServiceName);
            }
            catch (ArgumentException ex) { ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Name: " + ex.Message, ex), "InvalidServiceName", ErrorCategory.InvalidArgument, Name)); }
        }

        /// <summary>systemd runs on this machine (sd_booted(3): /run/systemd/system exists).</summary>
        internal static bool SystemdRunning => Directory.Exists("/run/systemd/system");

        /// <summary>Runs a system tool (systemctl, sc.exe) and ends the call with its own words when it fails.</summary>
        internal void RunTool(string file, IReadOnlyList<string> args, string what)
        {
            string line = string.Join(" ", args.Select(Engine.Service.WindowsServiceSetup.QuoteArgument));
            WriteVerbose(file + " " + line);
            var psi = new ProcessStartInfo(file, line)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                CreateNoWindow = true,
            };
            Process p;
            try { p = Process.Start(psi); }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception || ex is InvalidOperationException)
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException("Could not run " + file + " to " + what + ": " + ex.Message, ex), "ServiceToolNotFound", ErrorCategory.ObjectNotFound, file));
                return;
            }
            using (p)
            {
                var err = p.StandardError.ReadToEndAsync();
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0)
                {
                    string said = (err.Result + " " + output).Trim();
                    ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(file + " could not " + what + " (exit status " + p.ExitCode + "): " + (said.Length > 0 ? said : "it said nothing") +
                        (IsWindows ? " Run PowerShell as Administrator." : " Run it as root (sudo).")), "ServiceToolFailed", ErrorCategory.InvalidOperation, file));
                }
            }
        }
    }

    /// <summary>
    /// <para type="synopsis">Installs the always-on service mode of cmon (cmon --service): a systemd unit on Linux, a Windows service on Windows. It records the connection history and runs config.yml's alert rules.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Install, "ConnectionMonitorService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(ConnectionMonitorService))]
    public sealed class InstallConnectionMonitorServiceCommand : ServiceCommandBase
    {
        /// <summary>The config.yml the service uses (--config); checked now. Default: the service's own lookup (the module's config.yml beside cmon).</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        /// <summary>The history file the service writes (--history). Default: no --history, so the service takes the configuration's history.path, else /var/lib/connectionsmonitor/history.db or %ProgramData%\ConnectionsMonitor\history.db.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string HistoryPath { get; set; }

        /// <summary>The cmon executable the service runs. Default: this process when it is cmon, else cmon on PATH.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string HostPath { get; set; }

        /// <summary>Linux: an existing account to run as instead of a transient one (DynamicUser).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string User { get; set; }

        /// <summary>Write the unit (register the service) but do not enable or start it.</summary>
        [Parameter]
        public SwitchParameter NoStart { get; set; }

        /// <summary>Replace an existing unit file or service of that name.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void EndProcessing()
        {
            CheckName();
            string host = ResolveHost();
            string config = null;
            bool portScan = false;
            string eventSource = Engine.Configuration.EventLogConfig.DefaultSource, eventLog = "Application";
            var writes = new List<(string What, string Path)>(); // folders the configuration writes to
            string configHistory = null; // history.path of -ConfigPath's configuration, as the service takes it
            bool keepsHistory = true; // monitoring.trackHistory of that configuration (false: the service writes no history file)
            if (ConfigPath != null)
            {
                config = GetUnresolvedProviderPathFromPSPath(ConfigPath);
                if (!File.Exists(config))
                    ThrowTerminatingError(PathErrors.NotFound(new FileNotFoundException("-ConfigPath '" + config + "' does not exist; expected the config.yml the service should use (copy the module's config.yml there and edit it).", config), PathErrors.ConfigNotFound, config));
                try
                {
                    var plan = SessionRegistry.For(this).Plan(SessionRegistry.ConfigQuery(this, ConfigPath));
                    foreach (var w in plan.Warnings) WriteWarning(w);
                    portScan = plan.Config.Alerts.Enabled && plan.Config.Alerts.Conditions.PortScan;
                    eventSource = plan.Config.Alerts.EventLog.Source;
                    eventLog = plan.Config.Alerts.EventLog.LogName;
                    var export = Engine.Export.ExportOptions.From(plan.Load, null);
                    if (export != null) writes.Add(("the auto-export's folder (dashboard.export.exportPath)", export.Folder));
                    string deadLetter = plan.Config.Alerts.DeadLetterPath;
                    if (plan.Config.Alerts.Enabled && deadLetter != null && Path.IsPathRooted(deadLetter))
                        writes.Add(("the folder of alerts.deadLetterPath", Path.GetDirectoryName(deadLetter)));
                    configHistory = ServiceHistoryPath(plan.Config.History.Path);
                    keepsHistory = plan.Config.Monitoring.TrackHistory;
                    if (HistoryPath == null && configHistory != null)
                        writes.Add(("the folder of history.path", Path.GetDirectoryName(configHistory)));
                }
                catch (Engine.Configuration.ConfigException ex) { ThrowTerminatingError(SessionRegistry.InvalidConfiguration(ex)); }
            }
            // --history goes on the service's command line only when -HistoryPath is given; otherwise the service records
            // where the configuration's history.path says, else into its default file (which Get-ConnectionHistory -Service reads).
            string history = HistoryPath == null ? null : GetUnresolvedProviderPathFromPSPath(HistoryPath);
            string recorded = !keepsHistory ? null : history ?? configHistory ?? Engine.Service.ServiceRunner.DefaultHistoryPath();
            if (!keepsHistory)
                WriteWarning("The service will keep no history: monitoring.trackHistory is false in '" + config + "'" + (history != null ? ", so -HistoryPath is not written either." : "."));
            else if (!string.Equals(recorded, Engine.Service.ServiceRunner.DefaultHistoryPath(), StringComparison.Ordinal))
                WriteVerbose("The service records into '" + recorded + "'" + (history != null ? " (-HistoryPath)" : " (history.path)") +
                    "; Get-ConnectionHistory -Service reads '" + Engine.Service.ServiceRunner.DefaultHistoryPath() + "', so read this one with Get-ConnectionHistory -Path '" + recorded + "'.");
            if (IsWindows) InstallWindows(host, config, history, recorded, eventSource, eventLog);
            else InstallSystemd(host, config, history, recorded, portScan, writes);
        }

        /// <summary>
        /// The file a history.path of the service's configuration names, as the service takes it: a relative one from the
        /// service's working folder (/ under systemd; on Windows it is left as written). Null when history.path is empty.
        /// </summary>
        private static string ServiceHistoryPath(string configured)
        {
            if (string.IsNullOrEmpty(configured)) return null;
            configured = Engine.History.HistoryOptions.ExpandConfigured(configured);
            if (Path.IsPathRooted(configured) || IsWindows) return configured;
            return Path.GetFullPath(Path.Combine("/", configured));
        }

        private string ResolveHost()
        {
            string name = IsWindows ? "cmon.exe" : "cmon";
            string path = null;
            if (HostPath != null)
            {
                path = GetUnresolvedProviderPathFromPSPath(HostPath);
                if (Directory.Exists(path)) path = Path.Combine(path, name);
            }
            else
            {
                try
                {
                    using (var self = Process.GetCurrentProcess())
                    {
                        string exe = self.MainModule?.FileName;
                        if (exe != null && string.Equals(Path.GetFileName(exe), name, StringComparison.OrdinalIgnoreCase)) path = exe;
                    }
                }
                catch (Exception ex) when (ex is System.ComponentModel.Win32Exception || ex is InvalidOperationException || ex is NotSupportedException) { }
                if (path == null)
                {
                    string found = Engine.Platform.ProgramSearch.OnPath(name, Environment.GetEnvironmentVariable("PATH"), Path.PathSeparator, File.Exists);
                    if (found != null) path = Path.GetFullPath(found);
                }
                if (path == null)
                    ThrowTerminatingError(new ErrorRecord(new FileNotFoundException("The service runs cmon, which was not found: this process is not cmon and there is no " + name + " on PATH. Give -HostPath with the path of cmon (dotnet build puts it in src/ConnectionsMonitor.Host/bin/Release/net10.0; copy that folder somewhere every account can read, such as /opt/connectionsmonitor)."), "HostNotFound", ErrorCategory.ObjectNotFound, name));
            }
            if (!File.Exists(path))
                ThrowTerminatingError(new ErrorRecord(new FileNotFoundException("-HostPath '" + path + "' does not exist; expected the path of the cmon executable (" + name + ").", path), "HostNotFound", ErrorCategory.ObjectNotFound, path));
            CheckExecutable(path);
            return path;
        }

        private void InstallSystemd(string host, string config, string history, string recorded, bool portScan, List<(string What, string Path)> writes)
        {
            var writable = new List<string>();
            foreach (var (_, path) in writes)
                if (Engine.Service.SystemdUnit.HiddenFromService(path) == null && !writable.Contains(path)) writable.Add(path);
            var options = new Engine.Service.SystemdUnitOptions { Name = ServiceName, HostPath = host, ConfigPath = config, HistoryPath = history, User = User, PacketCapture = portScan, WritableFolders = writable };
            if (User != null && !Engine.Service.SystemdUnit.AccountExists(User))
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-User '" + Engine.Display.UntrustedText.Clean(User) + "' is not an account of this machine (getent passwd does not list it); expected an existing account, or leave -User out for a transient one (DynamicUser)."), "UserNotFound", ErrorCategory.ObjectNotFound, User));
            string text;
            try { text = Engine.Service.SystemdUnit.Render(options); }
            catch (ArgumentException ex) { ThrowTerminatingError(new ErrorRecord(ex, "InvalidServiceSetting", ErrorCategory.InvalidArgument, null)); return; }
            // What the unit's sandbox hides from the service would make it fail at start (cmon, the configuration) or lose
            // what it writes: said here, while the installer can still be told otherwise.
            var seen = new List<(string What, string Path)> { ("cmon", host), ("the configuration", config), ("the history file", history) }; // history.path's folder is in writes
            seen.AddRange(writes);
            foreach (var (what, path) in seen)
            {
                string hidden = Engine.Service.SystemdUnit.HiddenFromService(path);
                if (hidden != null)
                    WriteWarning("The service would not see " + what + " '" + Engine.Display.UntrustedText.Clean(path) + "': " + hidden + ". Put it elsewhere, such as /opt/connectionsmonitor (cmon), /etc/connectionsmonitor (config.yml) or /var/lib/connectionsmonitor (what the service writes).");
            }
            string unitPath = UnitPath();
            if (File.Exists(unitPath) && !Force)
                ThrowTerminatingError(new ErrorRecord(new IOException("The unit file '" + unitPath + "' exists already; add -Force to replace it, or Uninstall-ConnectionMonitorService first."), "UnitExists", ErrorCategory.ResourceExists, unitPath));
            WriteVerbose("The unit '" + unitPath + "':\n" + text);
            string action = NoStart ? "Write systemd unit (not started)" : "Write systemd unit, then systemctl daemon-reload and enable --now " + ServiceName;
            if (!ShouldProcess(unitPath, action)) return;
            Directory.CreateDirectory(Path.GetDirectoryName(unitPath));
            string temp = unitPath + ".tmp";
            File.WriteAllText(temp, text, new UTF8Encoding(false));
            if (File.Exists(unitPath)) File.Delete(unitPath);
            File.Move(temp, unitPath);
            WriteVerbose("Wrote '" + unitPath + "'.");
            bool started = false;
            if (!NoStart)
            {
                if (!SystemdRunning)
                {
                    WriteWarning("systemd is not running on this machine (no /run/systemd/system): the unit was written but not started.");
                }
                else
                {
                    RunTool("systemctl", new[] { "daemon-reload" }, "reload its units");
                    RunTool("systemctl", new[] { "enable", "--now", ServiceName + ".service" }, "enable and start " + ServiceName);
                    started = true;
                }
            }
            var exec = text.Split('\n').First(l => l.StartsWith("ExecStart=", StringComparison.Ordinal)).Substring("ExecStart=".Length);
            var caps = text.Split('\n').First(l => l.StartsWith("AmbientCapabilities=", StringComparison.Ordinal)).Substring("AmbientCapabilities=".Length);
            WriteObject(new ConnectionMonitorService
            {
                Name = ServiceName, Kind = "systemd", UnitPath = unitPath, HostPath = host, ConfigPath = config,
                HistoryPath = recorded, Account = User ?? "DynamicUser",
                Capabilities = caps, Started = started, CommandLine = exec,
            });
        }

        private void InstallWindows(string host, string config, string history, string recorded, string eventSource, string eventLog)
        {
            var options = new Engine.Service.WindowsServiceOptions { Name = ServiceName, HostPath = host, ConfigPath = config, HistoryPath = history };
            string commandLine;
            IReadOnlyList<string> create;
            try
            {
                commandLine = Engine.Service.WindowsServiceSetup.CommandLine(options);
                create = Engine.Service.WindowsServiceSetup.CreateArguments(options);
            }
            catch (ArgumentException ex) { ThrowTerminatingError(new ErrorRecord(ex, "InvalidServiceSetting", ErrorCategory.InvalidArgument, null)); return; }
            if (User != null)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-User is for Linux; the Windows service runs as LocalSystem (ETW byte counters and other users' processes need it)."), "UserNotOnWindows", ErrorCategory.InvalidArgument, User));
            string action = (NoStart ? "Register Windows service (not started): " : "Register and start Windows service: ") + commandLine +
                "; register the Event Log source '" + eventSource + "' in the log '" + eventLog + "'";
            if (!ShouldProcess("service '" + ServiceName + "'", action)) return;
            if (Force) RunToolIgnoringFailure("sc.exe", new[] { "delete", ServiceName });
            RunTool("sc.exe", create, "create the service " + ServiceName);
            // The source alerts.eventLog writes under (and the service's own log, which uses the source ConnectionsMonitor):
            // registering needs an administrator, which installing a service needs too.
            RegisterEventSource(eventSource, eventLog);
            if (!string.Equals(eventSource, Engine.Configuration.EventLogConfig.DefaultSource, StringComparison.OrdinalIgnoreCase) || eventLog != "Application")
                RegisterEventSource(Engine.Configuration.EventLogConfig.DefaultSource, "Application");
            RunTool("sc.exe", Engine.Service.WindowsServiceSetup.DescriptionArguments(ServiceName), "describe the service");
            RunTool("sc.exe", Engine.Service.WindowsServiceSetup.FailureArguments(ServiceName), "set the service's restart on failure");
            if (!NoStart) RunTool("sc.exe", new[] { "start", ServiceName }, "start the service " + ServiceName);
            WriteObject(new ConnectionMonitorService
            {
                Name = ServiceName, Kind = "WindowsService", HostPath = host, ConfigPath = config,
                HistoryPath = recorded, Account = "LocalSystem", Started = !NoStart, CommandLine = commandLine,
                EventLogSource = eventSource + " in " + eventLog,
            });
        }

        private void RegisterEventSource(string source, string log)
        {
            try
            {
                bool created = Engine.Platform.Windows.WindowsEventSource.Register(log, source);
                WriteVerbose((created ? "Registered" : "Updated") + " the Event Log source '" + source + "' in the log '" + log + "'.");
            }
            catch (InvalidOperationException ex)
            {
                // The service is installed; its entries still go to the Application log, only Event Viewer cannot show their text.
                WriteWarning(ex.Message + " alerts.eventLog entries still go to the Application log, without their description in Event Viewer; run PowerShell as Administrator and install again with -Force to register the source.");
            }
        }

        /// <summary>
        /// Unix: a cmon the service manager cannot execute (a config.yml given as -HostPath, a copy that lost its mode) is
        /// refused now, not found by a service that does not start. It must be a regular file with an execute bit; with the
        /// transient DynamicUser account, which is neither its owner nor in its group, the bit for other users is needed too.
        /// </summary>
        private void CheckExecutable(string path)
        {
#if NETCOREAPP
            if (IsWindows) return;
            UnixFileMode mode;
            try { mode = File.GetUnixFileMode(path); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                ThrowTerminatingError(new ErrorRecord(new IOException("-HostPath '" + path + "' cannot be checked: " + ex.Message + " Expected the path of the cmon executable.", ex), "HostNotExecutable", ErrorCategory.InvalidArgument, path));
                return;
            }
            string octal = Convert.ToString((int)mode & 0xFFF, 8).PadLeft(4, '0');
            const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if ((mode & anyExecute) == 0)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-HostPath '" + path + "' is not executable (mode " + octal +
                    ", no execute bit); expected the cmon executable, a regular file with an execute bit, such as /opt/connectionsmonitor/cmon copied from the host's build folder (chmod 755 it if the copy lost its mode)."),
                    "HostNotExecutable", ErrorCategory.InvalidArgument, path));
            else if (User == null && (mode & UnixFileMode.OtherExecute) == 0)
                WriteWarning("-HostPath '" + path + "' (mode " + octal + ") is not executable by other users, and the service's transient account (DynamicUser) is one of them: it would not start. chmod o+rx it (and its folder), or give -User with an account that may run it.");
#endif
        }

        private void RunToolIgnoringFailure(string file, IReadOnlyList<string> args)
        {
            try
            {
                var psi = new ProcessStartInfo(file, string.Join(" ", args.Select(Engine.Service.WindowsServiceSetup.QuoteArgument))) { UseShellExecute = false, CreateNoWindow = true, RedirectStandardOutput = true, RedirectStandardError = true };
                using (var p = Process.Start(psi)) { p.StandardOutput.ReadToEnd(); p.WaitForExit(); }
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception || ex is InvalidOperationException) { }
        }
    }

    /// <summary>
    /// <para type="synopsis">Stops and removes the service Install-ConnectionMonitorService set up; the history it wrote stays.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Uninstall, "ConnectionMonitorService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(void))]
    public sealed class UninstallConnectionMonitorServiceCommand : ServiceCommandBase
    {
        /// <summary>Remove the unit (registration) without stopping or disabling the service first.</summary>
        [Parameter]
        public SwitchParameter NoStop { get; set; }

        protected override void EndProcessing()
        {
            CheckName();
            if (IsWindows)
            {
                if (!ShouldProcess("service '" + ServiceName + "'", (NoStop ? "Delete Windows service" : "Stop and delete Windows service") +
                    ", remove the Event Log source '" + Engine.Configuration.EventLogConfig.DefaultSource + "' from the log 'Application'")) return;
                if (!NoStop) RunToolIgnoringStopped();
                RunTool("sc.exe", new[] { "delete", ServiceName }, "delete the service " + ServiceName);
                // The default source Install-ConnectionMonitorService registered; entries already written stay in the log.
                try
                {
                    if (Engine.Platform.Windows.WindowsEventSource.Unregister("Application", Engine.Configuration.EventLogConfig.DefaultSource))
                        WriteVerbose("Removed the Event Log source '" + Engine.Configuration.EventLogConfig.DefaultSource + "' from the log 'Application'; its entries stay.");
                }
                catch (InvalidOperationException ex) { WriteWarning(ex.Message); }
                return;
            }
            string unitPath = UnitPath();
            if (!File.Exists(unitPath))
                ThrowTerminatingError(new ErrorRecord(new FileNotFoundException("There is no unit file '" + unitPath + "'; expected the name (-Name) and folder (-UnitDirectory) given to Install-ConnectionMonitorService.", unitPath), "UnitNotFound", ErrorCategory.ObjectNotFound, unitPath));
            bool systemctl = !NoStop && SystemdRunning;
            if (!ShouldProcess(unitPath, systemctl ? "systemctl disable --now " + ServiceName + ", remove the unit file, daemon-reload" : "Remove the unit file")) return;
            if (systemctl) RunTool("systemctl", new[] { "disable", "--now", ServiceName + ".service" }, "stop and disable " + ServiceName);
            File.Delete(unitPath);
            WriteVerbose("Removed '" + unitPath + "'. The history the service wrote stays where it is.");
            if (systemctl) RunTool("systemctl", new[] { "daemon-reload" }, "reload its units");
        }

        private void RunToolIgnoringStopped()
        {
            var psi = new ProcessStartInfo("sc.exe", "stop " + Engine.Service.WindowsServiceSetup.QuoteArgument(ServiceName)) { UseShellExecute = false, CreateNoWindow = true, RedirectStandardOutput = true, RedirectStandardError = true };
            try { using (var p = Process.Start(psi)) { p.StandardOutput.ReadToEnd(); p.WaitForExit(); } } // 1062: not started; fine
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception || ex is InvalidOperationException)
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException("Could not run sc.exe to stop the service: " + ex.Message, ex), "ServiceToolNotFound", ErrorCategory.ObjectNotFound, "sc.exe"));
            }
        }
    }
}
