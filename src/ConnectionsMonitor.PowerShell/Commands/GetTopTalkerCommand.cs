using System;
using System.Management.Automation;
using ConnectionsMonitor.Engine.Traffic;
using ConnectionsMonitor.Session;

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
        [SecondsTransformation]
        [ValidateTimeSpanRange(0, 24 * 3600.0, Example = "00:00:05", ZeroAdvice = "00:00:00 ranks one snapshot by connection count")]
        public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(1);

        protected override void EndProcessing()
        {
            if (NoPipelineInput) return;
            var bound = MyInvocation.BoundParameters;
            bool byGiven = bound.ContainsKey(nameof(By));
            if (byGiven && By == TopTalkerMetric.Bytes && Duration == TimeSpan.Zero)
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException("-By Bytes ranks the bytes moved during -Duration, and -Duration is 0: give a window (for example -Duration 5s), or rank one snapshot by connection count with -By Connections."),
                    "BytesNeedADuration", ErrorCategory.InvalidArgument, Duration));
            // Ranking by connections needs no traffic: one snapshot, unless a window was asked for.
            var window = byGiven && By == TopTalkerMetric.Connections && !bound.ContainsKey(nameof(Duration)) ? TimeSpan.Zero : Duration;
            var metric = byGiven ? (By == TopTalkerMetric.Bytes ? TalkerMetric.Bytes : TalkerMetric.Connections) : (TalkerMetric?)null;
            var grouping = (TalkerGrouping)Enum.Parse(typeof(TalkerGrouping), GroupBy.ToString());
            var query = BuildQuery();
            int? top = bound.ContainsKey(nameof(Top)) ? Top : (int?)null;
            var session = Session; // here, on the pipeline thread: the window runs where there is no runspace
            var ranking = Run(() => MeasureWithProgress(window, (progress, token) => session.RankTalkers(query, window, grouping, metric, top, token, progress)));
            Warn(ranking.Window.Warnings);
            if (ranking.NoByteCounters)
                WriteWarning("No connection in the sample has byte counters, so every group ranks at 0 bytes. " +
                             "Linux counts TCP only; Windows counts only in an elevated session. -By Connections ranks by connection count.");
            if (ranking.GeoOff)
                WriteWarning("No connection has a country: GeoIP is off (geoip.enabled is false in config.yml).");
            else if (grouping == TalkerGrouping.Country && ranking.Talkers.Count == 0 && ranking.Window.Last.Connections.Count > 0)
                WriteWarning((ranking.Window.Last.Connections.Count == 1 ? "The one connection sampled has no country"
                                 : "None of the " + ranking.Window.Last.Connections.Count + " connections sampled has a country") +
                             ": only public remote addresses have one (loopback, private and link-local peers and listening sockets do not).");
            var measured = ranking.Window.Duration > TimeSpan.Zero ? ranking.Window.Duration.TotalSeconds : (double?)null;
            foreach (var t in ranking.Talkers)
                WriteObject(OutputMapper.ToTalker(t, measured));
        }
    }
}
