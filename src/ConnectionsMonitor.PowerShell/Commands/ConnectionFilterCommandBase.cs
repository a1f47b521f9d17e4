using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// The filter parameters Get-MonitoredConnection, Watch-Connection and Show-ConnectionMonitor
    /// share, declared once. Piped processes (Get-Process x | …) are gathered in ProcessRecord so
    /// the derived command runs once, in EndProcessing, for all of them.
    /// </summary>
    public abstract class ConnectionFilterCommandBase : PSCmdlet
    {
        private readonly List<int> _pipelineProcessIds = new List<int>();

        /// <summary>Cancelled by StopProcessing (Ctrl+C); long-running commands wait on it.</summary>
        internal CancellationTokenSource StopRequested { get; } = new CancellationTokenSource();

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

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateCountryCode]
        [ArgumentCompleter(typeof(CountryCompleter))]
        public string[] Country { get; set; }

        [Parameter]
        public SwitchParameter ResolveDns { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        protected override void ProcessRecord()
        {
            if (ProcessId != null) _pipelineProcessIds.AddRange(ProcessId);
        }

        protected override void StopProcessing() => StopRequested.Cancel();

        internal ConnectionRequest BuildRequest() => new ConnectionRequest
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
            Countries = Country,
            ResolveDns = MyInvocation.BoundParameters.ContainsKey(nameof(ResolveDns)) ? ResolveDns.IsPresent : (bool?)null,
            ConfigPath = ConfigPath,
        };
    }
}
