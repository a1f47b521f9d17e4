using System;
using System.Management.Automation;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Shows the live, colour-coded connection table (the seed's terminal mode) until q or Ctrl+C.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Show, "ConnectionMonitor")]
    [OutputType(typeof(string))]
    public sealed class ShowConnectionMonitorCommand : ConnectionFilterCommandBase
    {
        /// <summary>Milliseconds between refreshes (100 to 3600000; 2s, 500ms and 00:00:02 are converted); overrides refreshInterval in config.yml.</summary>
        [Parameter]
        [MillisecondsTransformation(100, 3600000)]
        public int RefreshInterval { get; set; }

        /// <summary>Stop after this many refreshes (useful when the output is a file).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; }

        protected override void EndProcessing()
        {
            if (NoPipelineInput) return;
            WarnIfClosedIsNotSampled();
            var bound = MyInvocation.BoundParameters;
            var query = BuildQuery();
            var options = new LiveViewOptions
            {
                Interval = bound.ContainsKey(nameof(RefreshInterval)) ? TimeSpan.FromMilliseconds(RefreshInterval) : (TimeSpan?)null,
                Count = bound.ContainsKey(nameof(Count)) ? Count : (int?)null,
            };
            using (var terminal = new PowerShellTerminal(this))
            {
                if (!terminal.IsInteractive && options.Count == null && IsRemoteSession())
                    ThrowTerminatingError(NoConsoleInRemoteSession());
                Run(() => Session.RunLiveView(terminal, query, options, StopRequested.Token));
            }
        }

        /// <summary>
        /// True inside a remote session (Invoke-Command, Enter-PSSession) and in a background job, which
        /// PowerShell runs as one: $PSSenderInfo exists there and nowhere else. Such a host has no
        /// console, so the view could only send text frames, without end, to the caller.
        /// </summary>
        private bool IsRemoteSession() => SessionState.PSVariable.GetValue("PSSenderInfo") != null;

        private static ErrorRecord NoConsoleInRemoteSession() => new ErrorRecord(
            new PSInvalidOperationException(
                "Show-ConnectionMonitor draws a live view on a console, and this remote session (Invoke-Command, " +
                "Enter-PSSession or a job) has none: it would send text frames to the caller without end. " +
                "Use -Count N for N plain-text frames, Watch-Connection -Duration for a stream of changes or " +
                "Get-MonitoredConnection for a snapshot; for the live view itself, start it in a terminal on that " +
                "machine (for example: ssh -t HOST pwsh -NoProfile -Command Show-ConnectionMonitor)."),
            "LiveViewNeedsConsole", ErrorCategory.InvalidOperation, null);
    }
}
