using System;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Management.Automation;
using System.Net;
using System.Text;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Dashboard;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Web;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Serves this session's live connections as a web page on loopback (127.0.0.1 and ::1) and opens it in the default browser.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "ConnectionDashboard", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ConnectionDashboard))]
    public sealed class StartConnectionDashboardCommand : PSCmdlet
    {
        /// <summary>TCP port; default dashboard.port of the configuration (3000). 0 picks a free port.</summary>
        [Parameter(Position = 0)]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>Another address to listen on than loopback (needs -AllowRemoteAccess): the page becomes reachable from other machines, still behind the token.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Address { get; set; }

        /// <summary>Confirms that -Address may be an address other machines reach.</summary>
        [Parameter]
        public SwitchParameter AllowRemoteAccess { get; set; }

        /// <summary>Time between the page's updates; default the configuration's refreshInterval.</summary>
        [Parameter]
        [SecondsTransformation]
        [ValidateTimeSpanRange(0.1, 3600.0, Example = "00:00:01")]
        public TimeSpan Interval { get; set; }

        /// <summary>Do not open a browser; the returned object's LaunchUrl is the address to open.</summary>
        [Parameter]
        public SwitchParameter NoBrowser { get; set; }

        /// <summary>
        /// Leave out the page's Block action, which a session allowed to change the firewall (root on Linux, elevated on
        /// Windows) otherwise offers in a connection's detail. A dashboard that other machines can reach (-Address with
        /// -AllowRemoteAccess) never offers it.
        /// </summary>
        [Parameter]
        public SwitchParameter NoBlock { get; set; }

        /// <summary>The configuration file to use instead of the usual lookup.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        protected override void EndProcessing()
        {
            var session = SessionRegistry.For(this);
            var query = SessionRegistry.ConfigQuery(this, ConfigPath);
            var options = new DashboardOptions();
            try
            {
                var plan = session.Plan(query);
                foreach (var w in plan.Warnings) WriteWarning(w);
                var config = plan.Config;
                var bound = MyInvocation.BoundParameters;
                options.Port = bound.ContainsKey(nameof(Port)) ? Port : config.Dashboard.Port;
                options.Interval = bound.ContainsKey(nameof(Interval)) ? Interval : TimeSpan.FromMilliseconds(config.RefreshInterval);
                // The graphs read what Get-ConnectionHistory reads without -Path: this session's recording, history.path, or the service's file.
                options.HistoryPath = () => HistoryCommandBase.ReadPath(session, config).Path;
                // The page's Block action: this OS's firewall, as Block-ConnectionRemote uses it (its guard, without -Force).
                if (!NoBlock)
                {
                    try { options.Blocker = new Engine.Blocking.ConnectionBlocker(Engine.Blocking.ConnectionBlocker.BackendForCurrentOS()); }
                    catch (Engine.Blocking.BlockingException) { options.Blocker = null; } // no firewall this module knows: no Block action
                }
                // Export as config.yml allows it (dashboard.export.enabled, formats).
                options.ExportFormats = config.Dashboard.Export.OfferedFormats;
                var client = Engine.Blocking.BlockGuard.SshClientAddress(Environment.GetEnvironmentVariable("SSH_CONNECTION"), Environment.GetEnvironmentVariable("SSH_CLIENT"));
                if (client != null) options.ProtectedAddresses = new[] { new Engine.Blocking.ProtectedAddress(client, Engine.Blocking.BlockRefusal.RemotingClient) };
            }
            catch (ConfigException ex) { ThrowTerminatingError(SessionRegistry.InvalidConfiguration(ex)); return; }
            if (Address != null)
            {
                var address = StartConnectionMetricsCommand.ListenAddress(this, Address);
                if (!IPAddress.IsLoopback(address))
                {
                    if (!AllowRemoteAccess)
                    {
                        ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Address " + address + " makes the dashboard reachable from other machines. " +
                            "Add -AllowRemoteAccess to say that is meant (anyone with the start's address and token can then see this machine's connections), or leave -Address out for loopback only."),
                            "RemoteAccessNotAllowed", ErrorCategory.SecurityError, Address));
                        return;
                    }
                    WriteWarning("The dashboard listens on " + address + ": other machines can reach it. It is plain HTTP, so the token and the page cross the network unencrypted; prefer loopback with an SSH tunnel (ssh -L). " +
                        "The page offers no Block action there." +
                        (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? " LaunchUrl names localhost: from another machine, put this machine's name or address in its place." : ""));
                }
                options.Address = address;
            }

            string target = (options.Address?.ToString() ?? "127.0.0.1") + ":" + options.Port;
            if (!ShouldProcess(target, "Serve the connections dashboard over HTTP")) return;
            DashboardState state;
            try
            {
                state = session.Dashboard.Start(options, query);
                foreach (var w in session.Dashboard.TakeWarnings()) WriteWarning(w);
            }
            catch (InvalidOperationException ex)
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(ex.Message + " (Stop-ConnectionDashboard)", ex), "DashboardAlreadyRunning", ErrorCategory.ResourceExists, target));
                return;
            }
            catch (HttpEndpointException ex)
            {
                string advice = ex.Failure == HttpEndpointFailure.PortInUse ? ex.Message + " Use -Port with another port (-Port 0 picks a free one), or dashboard.port in config.yml." : ex.Message;
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(advice, ex), "Dashboard" + ex.Failure, StartConnectionMetricsCommand.Category(ex.Failure), target));
                return;
            }
            catch (SamplerException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex, "ConnectionTableUnreadable", ErrorCategory.ReadError, target));
                return;
            }
            WriteVerbose("Serving the dashboard at " + state.Url + ", updating every " + state.Interval.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s.");
            if (!NoBrowser)
            {
                string failure = BrowserLauncher.Open(state.LaunchUrl, state.Port);
                if (failure != null) WriteWarning("No browser was opened (" + failure + "). Open the LaunchUrl of the returned object in a browser on this machine.");
                else session.Dashboard.DeleteOnStop(BrowserLauncher.FilePath(state.Port)); // it holds the token: gone when the dashboard stops, however it stops
            }
            WriteObject(OutputMapper.ToDashboard(state));
        }
    }

    /// <summary>
    /// <para type="synopsis">Gets this session's web dashboard: address, port, connected pages, requests refused.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionDashboard")]
    [OutputType(typeof(ConnectionDashboard))]
    public sealed class GetConnectionDashboardCommand : PSCmdlet
    {
        protected override void EndProcessing()
        {
            var dashboard = SessionRegistry.For(this).Dashboard;
            foreach (var w in dashboard.TakeWarnings()) WriteWarning(w);
            var state = dashboard.State;
            if (state != null) WriteObject(OutputMapper.ToDashboard(state));
        }
    }

    /// <summary>
    /// <para type="synopsis">Stops this session's web dashboard; open pages stop updating.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "ConnectionDashboard", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ConnectionDashboard))]
    public sealed class StopConnectionDashboardCommand : PSCmdlet
    {
        /// <summary>Write the dashboard's final state.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            var dashboard = SessionRegistry.For(this).Dashboard;
            var state = dashboard.State;
            if (state == null || !dashboard.IsRunning)
            {
                WriteWarning("This session serves no dashboard (Start-ConnectionDashboard starts one).");
                return;
            }
            if (!ShouldProcess(state.Url, "Stop serving the connections dashboard")) return;
            var final = dashboard.Stop();
            foreach (var w in dashboard.TakeWarnings()) WriteWarning(w);
            if (final != null && PassThru) WriteObject(OutputMapper.ToDashboard(final));
        }
    }

    /// <summary>
    /// Opens the dashboard in the user's default browser without putting the token on a command line (which other users of
    /// the machine can read: /proc/&lt;pid&gt;/cmdline, Task Manager): the launch address goes into a small HTML file that
    /// only this user can read, in this user's own folder, and the browser opens that file, which forwards to the address
    /// (as Jupyter does). The file is removed when the dashboard stops (<see cref="Engine.Dashboard.DashboardServer.DeleteOnStop"/>).
    /// </summary>
    internal static class BrowserLauncher
    {
        /// <summary>This user's private folder for the launch file: %LOCALAPPDATA%\ConnectionsMonitor on Windows; $XDG_RUNTIME_DIR (0700 by the XDG spec), else ~/.local/share/ConnectionsMonitor (made 0700) elsewhere.</summary>
        internal static string Folder()
        {
            if (Environment.OSVersion.Platform == PlatformID.Win32NT)
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "ConnectionsMonitor");
            string runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
            if (!string.IsNullOrEmpty(runtime) && Path.IsPathRooted(runtime) && Directory.Exists(runtime)) return Path.Combine(runtime, "ConnectionsMonitor");
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, ".local", "share", "ConnectionsMonitor");
        }

        internal static string FilePath(int port) => Path.Combine(Folder(), "dashboard-" + port.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".html");

        /// <summary>Writes the launch file (readable by this user only) and returns its path.</summary>
        internal static string WriteLauncher(string launchUrl, int port)
        {
            string folder = Folder();
            Directory.CreateDirectory(folder);
            string path = FilePath(port);
            string url = System.Security.SecurityElement.Escape(launchUrl);
            string html = "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">" +
                "<meta http-equiv=\"refresh\" content=\"0; url=" + url + "\"><title>ConnectionsMonitor</title>" +
                "<p>Opening the dashboard… <a href=\"" + url + "\">continue</a></p>\n";
#if NET
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                using (var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
                    writer.Write(html);
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                return path;
            }
#endif
            File.WriteAllText(path, html, new UTF8Encoding(false));
            return path;
        }

        /// <summary>Opens the dashboard; null when a browser was started, else why not.</summary>
        internal static string Open(string launchUrl, int port)
        {
            string path;
            try { path = WriteLauncher(launchUrl, port); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return "the launch file could not be written: " + ex.Message; }
            try
            {
                // The OS's handler for .html files: the default browser (Windows: ShellExecute; Linux: xdg-open; macOS: open).
                using (Process.Start(new ProcessStartInfo(path) { UseShellExecute = true })) { }
                return null;
            }
            catch (Exception ex) when (ex is Win32Exception || ex is InvalidOperationException || ex is PlatformNotSupportedException)
            {
                Forget(port);
                return "no program to open " + Path.GetFileName(path) + ": " + ex.Message;
            }
        }

        /// <summary>Removes the launch file of the dashboard on <paramref name="port"/>, if any.</summary>
        internal static void Forget(int port)
        {
            try { File.Delete(FilePath(port)); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
        }
    }
}
