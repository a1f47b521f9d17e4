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
        /// <summary>Milliseconds between refreshes; overrides refreshInterval in config.yml.</summary>
        [Parameter]
        [ValidateRange(100, 3600000)]
        public int RefreshInterval { get; set; }

        /// <summary>Stop after this many refreshes (useful when the output is a file).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; }

        protected override void EndProcessing()
        {
            if (NoPipelineInput) return;
            var bound = MyInvocation.BoundParameters;
            var query = BuildQuery();
            var options = new LiveViewOptions
            {
                Interval = bound.ContainsKey(nameof(RefreshInterval)) ? TimeSpan.FromMilliseconds(RefreshInterval) : (TimeSpan?)null,
                Count = bound.ContainsKey(nameof(Count)) ? Count : (int?)null,
            };
            using (var terminal = new PowerShellTerminal(this))
                Run(() => Session.RunLiveView(terminal, query, options, StopRequested.Token));
        }
    }
}
