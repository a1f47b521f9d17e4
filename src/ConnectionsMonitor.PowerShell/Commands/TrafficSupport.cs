using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Traffic;
using EngineTalker = ConnectionsMonitor.Engine.Traffic.TopTalker;

namespace ConnectionsMonitor.Commands
{
    /// <summary>Engine calls and object mapping for Get-TopTalker and Get-ConnectionStatistic.</summary>
    internal static class TrafficSupport
    {
        internal static List<TopTalker> TopTalkers(PSCmdlet cmdlet, ConnectionRequest request, TimeSpan duration,
            TopTalkerMetric? by, TopTalkerGrouping groupBy, int? top, CancellationToken cancel)
        {
            var plan = CmdletSupport.Plan(cmdlet, request);
            var config = plan.Config;
            var window = CmdletSupport.Measure(cmdlet, plan, duration, cancel);

            TalkerMetric metric;
            if (by == null)
                metric = window.HasByteCounters ? TalkerMetric.Bytes : TalkerMetric.Connections;
            else
            {
                metric = by == TopTalkerMetric.Bytes ? TalkerMetric.Bytes : TalkerMetric.Connections;
                if (metric == TalkerMetric.Bytes && !window.HasByteCounters)
                    cmdlet.WriteWarning("No connection in the sample has byte counters, so every group ranks at 0 bytes. " +
                                        "Linux counts TCP only; Windows counts only in an elevated session.");
            }
            if (groupBy == TopTalkerGrouping.Country && plan.Enrichment.Geo == null)
                CmdletSupport.WarnOncePerSession(cmdlet, "No connection has a country: GeoIP is off (geoip.enabled is false in config.yml).");

            var grouping = (TalkerGrouping)Enum.Parse(typeof(TalkerGrouping), groupBy.ToString());
            var ranked = Engine.Traffic.TopTalkers.Rank(window, grouping, metric, top ?? config.Monitoring.TopTalkersCount);
            var measured = window.Duration > TimeSpan.Zero ? window.Duration : (TimeSpan?)null;
            return ranked.Select(t => ToPowerShell(t, measured)).ToList();
        }

        internal static ConnectionStatistic Statistic(PSCmdlet cmdlet, ConnectionRequest request, TimeSpan duration, CancellationToken cancel)
        {
            var window = CmdletSupport.Measure(cmdlet, CmdletSupport.Plan(cmdlet, request), duration, cancel);
            var s = duration > TimeSpan.Zero ? ConnectionStatistics.Compute(window) : ConnectionStatistics.Compute(window.Last);
            int State(TcpState state) => s.ByState.TryGetValue(state, out int n) ? n : 0;
            return new ConnectionStatistic
            {
                TimeStamp = s.TimeStampUtc.ToLocalTime(),
                Tcp = s.Tcp,
                Udp = s.Udp,
                Total = s.Total,
                Established = State(TcpState.Established),
                Listen = State(TcpState.Listen),
                SynSent = State(TcpState.SynSent),
                SynReceived = State(TcpState.SynReceived),
                FinWait1 = State(TcpState.FinWait1),
                FinWait2 = State(TcpState.FinWait2),
                CloseWait = State(TcpState.CloseWait),
                Closing = State(TcpState.Closing),
                LastAck = State(TcpState.LastAck),
                TimeWait = State(TcpState.TimeWait),
                Closed = State(TcpState.Closed),
                DeleteTcb = State(TcpState.DeleteTcb),
                ListeningTcpPorts = string.Join(", ", s.ListeningTcpPorts),
                ListeningUdpPorts = string.Join(", ", s.ListeningUdpPorts),
                DistinctRemoteAddresses = s.DistinctRemoteAddresses,
                DistinctCountries = s.DistinctCountries,
                BytesSent = s.BytesSent,
                BytesReceived = s.BytesReceived,
                SendRate = s.SendRate,
                ReceiveRate = s.ReceiveRate,
                SampleDuration = s.SampleDuration,
            };
        }

        private static TopTalker ToPowerShell(EngineTalker t, TimeSpan? duration) => new TopTalker
        {
            Rank = t.Rank,
            Name = t.Name,
            GroupBy = t.GroupBy.ToString(),
            ProcessId = t.ProcessIds.Count == 1 ? t.ProcessIds[0] : (int?)null,
            ProcessIds = string.Join(", ", t.ProcessIds),
            Connections = t.Connections,
            BytesSent = t.BytesSent,
            BytesReceived = t.BytesReceived,
            SendRate = t.SendRate,
            ReceiveRate = t.ReceiveRate,
            Share = t.Share,
            Duration = duration,
        };
    }
}
