using System;
using System.Linq;
using System.Management.Automation;
using System.Threading;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Streams connection changes (Opened, Closed, StateChanged) as they happen, until Ctrl+C, -Duration or -Count.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Watch, "Connection")]
    [OutputType(typeof(ConnectionEvent))]
    public sealed class WatchConnectionCommand : ConnectionFilterCommandBase
    {
        [Parameter]
        [ValidateRange(100, 3600000)]
        public int RefreshInterval { get; set; }

        [Parameter]
        public TimeSpan Duration { get; set; }

        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; }

        [Parameter]
        public SwitchParameter IncludeExisting { get; set; }

        protected override void EndProcessing()
        {
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Duration)) && Duration <= TimeSpan.Zero)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentOutOfRangeException(nameof(Duration), Duration, "-Duration must be longer than zero, for example 00:10:00; leave it out to watch until Ctrl+C."),
                    "InvalidDuration", ErrorCategory.InvalidArgument, Duration));
            }
            var request = BuildRequest();
            var options = new WatchOptions
            {
                RefreshInterval = MyInvocation.BoundParameters.ContainsKey(nameof(RefreshInterval)) ? RefreshInterval : (int?)null,
                Duration = MyInvocation.BoundParameters.ContainsKey(nameof(Duration)) ? Duration : (TimeSpan?)null,
                Count = MyInvocation.BoundParameters.ContainsKey(nameof(Count)) ? Count : (int?)null,
                IncludeExisting = IncludeExisting.IsPresent,
            };
            // Events are written here, on the pipeline thread, as each snapshot yields them.
            WatchSupport.Run(this, request, options, StopRequested.Token, WriteObject);
        }
    }
}
