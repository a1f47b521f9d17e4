using System;
using System.Management.Automation;
using System.Threading;

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
        public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(1);

        protected override void EndProcessing()
        {
            CmdletSupport.CheckWindow(this, Duration, "counts only, no rates");
            var request = BuildRequest();
            WriteObject(TrafficSupport.Statistic(this, request, Duration, StopRequested.Token));
        }
    }
}
