using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Shows the live, colour-coded connection table (the seed's terminal mode) until q or Ctrl+C.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Show, "ConnectionMonitor")]
    [OutputType(typeof(void))]
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
            var request = BuildRequest();
            var bound = MyInvocation.BoundParameters;
            LiveViewSupport.Run(this, request,
                bound.ContainsKey(nameof(RefreshInterval)) ? RefreshInterval : (int?)null,
                bound.ContainsKey(nameof(Count)) ? Count : (int?)null,
                StopRequested.Token);
        }
    }
}
