using System;
using System.Management.Automation;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Counts connections by protocol and TCP state, lists listening ports, and totals bytes and bytes per second in and out.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionStatistic")]
    [OutputType(typeof(ConnectionStatistic))]
    public sealed class GetConnectionStatisticCommand : ConnectionFilterCommandBase
    {
        [Parameter]
        [SecondsTransformation]
        [ValidateTimeSpanRange(0, 24 * 3600.0, Example = "00:00:05", ZeroAdvice = "00:00:00 counts one snapshot, with no rates")]
        public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(1);

        protected override void EndProcessing()
        {
            if (NoPipelineInput) return;
            var query = BuildQuery();
            System.Collections.Generic.IReadOnlyList<string> warnings = null;
            var session = Session; // here, on the pipeline thread: the window runs where there is no runspace
            var statistics = Run(() => MeasureWithProgress(Duration, (progress, token) => session.Statistics(query, Duration, token, out warnings, progress)));
            Warn(warnings);
            WriteObject(OutputMapper.ToStatistic(statistics));
        }
    }
}
