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
    public sealed class ShowConnectionMonitorCommand : PSCmdlet
    {
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly List<int> _pipelineProcessIds = new List<int>();

        [Parameter(Position = 0)]
        [ValidateSet("TCP", "UDP", IgnoreCase = true)]
        public string[] Protocol { get; set; }

        [Parameter]
        public ConnectionState[] State { get; set; }

        [Parameter]
        [ValidateRange(0, 65535)]
        public int[] Port { get; set; }

        [Parameter]
        [ValidateRange(0, 65535)]
        public int[] LocalPort { get; set; }

        [Parameter]
        [ValidateRange(0, 65535)]
        public int[] RemotePort { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateAddressPattern]
        public string[] RemoteAddress { get; set; }

        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProcessNameCompleter))]
        public string[] ProcessName { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "PID", "OwningProcess")]
        [ValidateRange(0, int.MaxValue)]
        public int[] ProcessId { get; set; }

        [Parameter]
        public SwitchParameter ExcludeLoopback { get; set; }

        /// <summary>Milliseconds between refreshes; overrides refreshInterval in config.yml.</summary>
        [Parameter]
        [ValidateRange(100, 3600000)]
        public int RefreshInterval { get; set; }

        /// <summary>Stop after this many refreshes (useful when the output is a file).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        protected override void ProcessRecord()
        {
            if (ProcessId != null) _pipelineProcessIds.AddRange(ProcessId);
        }

        protected override void EndProcessing()
        {
            var request = new ConnectionRequest
            {
                Protocols = Protocol,
                States = State?.Select(s => (int)s).ToArray(),
                Ports = Port,
                LocalPorts = LocalPort,
                RemotePorts = RemotePort,
                RemoteAddresses = RemoteAddress,
                ProcessNames = ProcessName,
                ProcessIds = _pipelineProcessIds.Count > 0 ? _pipelineProcessIds.Distinct().ToArray() : null,
                ExcludeLoopback = ExcludeLoopback.IsPresent,
                ConfigPath = ConfigPath,
            };
            var bound = MyInvocation.BoundParameters;
            LiveViewSupport.Run(this, request,
                bound.ContainsKey(nameof(RefreshInterval)) ? RefreshInterval : (int?)null,
                bound.ContainsKey(nameof(Count)) ? Count : (int?)null,
                _stop.Token);
        }

        protected override void StopProcessing() => _stop.Cancel();
    }
}
