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
            if (Duration < TimeSpan.Zero || Duration > TimeSpan.FromDays(1))
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentOutOfRangeException(nameof(Duration), Duration, "The sample window must be between 0 (counts only, no rates) and one day; for example -Duration 00:00:05."),
                    "InvalidDuration", ErrorCategory.InvalidArgument, Duration));
            }
            var request = new ConnectionRequest { Protocols = Protocol, ExcludeLoopback = ExcludeLoopback.IsPresent, ConfigPath = ConfigPath };
            WriteObject(TrafficSupport.Statistic(this, request, Duration, _stop.Token));
        }

        protected override void StopProcessing() => _stop.Cancel();
    }
}
