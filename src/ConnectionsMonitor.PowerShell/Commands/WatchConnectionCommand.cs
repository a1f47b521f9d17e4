using System;
using System.Globalization;
using System.Management.Automation;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Session;

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
        [MillisecondsTransformation(100, 3600000)]
        public int RefreshInterval { get; set; }

        [Parameter]
        [SecondsTransformation]
        [ValidateTimeSpanRange(0.001, 365 * 24 * 3600.0, Example = "00:10:00", ZeroAdvice = "leave -Duration out to watch until Ctrl+C")]
        public TimeSpan Duration { get; set; }

        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; }

        [Parameter]
        public SwitchParameter IncludeExisting { get; set; }

        protected override void EndProcessing()
        {
            if (NoPipelineInput) return;
            WarnIfClosedIsNotSampled();
            var bound = MyInvocation.BoundParameters;
            var query = BuildQuery();
            var options = new WatchOptions
            {
                Interval = bound.ContainsKey(nameof(RefreshInterval)) ? TimeSpan.FromMilliseconds(RefreshInterval) : (TimeSpan?)null,
                Duration = bound.ContainsKey(nameof(Duration)) ? Duration : (TimeSpan?)null,
                Count = bound.ContainsKey(nameof(Count)) ? Count : (int?)null,
                IncludeExisting = IncludeExisting.IsPresent,
                BaselineTaken = (at, count) => WriteVerbose(string.Format(CultureInfo.InvariantCulture,
                    "Baseline taken at {0:HH:mm:ss.fff} UTC: {1} matching connection(s); changes from now on are reported.", at, count)),
            };
            // The engine's enumeration runs here, on the pipeline thread: events and warnings are
            // written as each sample yields them.
            var mapper = new OutputMapper.Batch();
            Run(() =>
            {
                foreach (var e in Session.Watch(query, options, StopRequested.Token, WriteWarning))
                    WriteObject(mapper.ToEvent(e));
            });
        }
    }
}
