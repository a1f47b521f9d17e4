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
    public sealed class GetConnectionStatisticCommand : PSCmdlet
    {
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();

        [Parameter(Position = 0)]
        public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(1);

        [Parameter]
        [ValidateSet("TCP", "UDP", IgnoreCase = true)]
        public string[] Protocol { get; set; }

        [Parameter]
        public SwitchParameter ExcludeLoopback { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        protected override void EndProcessing()
        {
            CmdletSupport.CheckWindow(this, Duration, "counts only, no rates");
            var request = new ConnectionRequest { Protocols = Protocol, ExcludeLoopback = ExcludeLoopback.IsPresent, ConfigPath = ConfigPath };
            WriteObject(TrafficSupport.Statistic(this, request, Duration, _stop.Token));
        }

        protected override void StopProcessing() => _stop.Cancel();
    }
}
