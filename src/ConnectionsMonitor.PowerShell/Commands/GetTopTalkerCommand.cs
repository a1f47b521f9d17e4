using System;
using System.Management.Automation;
using System.Threading;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Ranks processes, remote addresses or countries by the bytes they moved, or by their connections, over a short sample.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "TopTalker")]
    [OutputType(typeof(TopTalker))]
    public sealed class GetTopTalkerCommand : ConnectionFilterCommandBase
    {
        [Parameter]
        public TopTalkerMetric By { get; set; }

        [Parameter]
        public TopTalkerGrouping GroupBy { get; set; } = TopTalkerGrouping.Process;

        [Parameter]
        [ValidateRange(1, 10000)]
        public int Top { get; set; }

        [Parameter]
        public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(1);

        protected override void EndProcessing()
        {
            CmdletSupport.CheckWindow(this, Duration, "one snapshot, connection counts only");
            var request = BuildRequest();
            bool byGiven = MyInvocation.BoundParameters.ContainsKey(nameof(By));
            bool durationGiven = MyInvocation.BoundParameters.ContainsKey(nameof(Duration));
            // Ranking by connections needs no traffic: one snapshot, unless a window was asked for.
            var window = byGiven && By == TopTalkerMetric.Connections && !durationGiven ? TimeSpan.Zero : Duration;
            foreach (var talker in TrafficSupport.TopTalkers(this, request, window, byGiven ? By : (TopTalkerMetric?)null, GroupBy,
                         MyInvocation.BoundParameters.ContainsKey(nameof(Top)) ? Top : (int?)null, StopRequested.Token))
                WriteObject(talker);
        }
    }
}
