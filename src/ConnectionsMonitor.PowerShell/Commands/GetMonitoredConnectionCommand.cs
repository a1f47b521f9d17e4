using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Gets the TCP and UDP connections and endpoints of this computer, with the program that owns each.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MonitoredConnection", DefaultParameterSetName = "Default")]
    [OutputType(typeof(MonitoredConnection))]
    public sealed class GetMonitoredConnectionCommand : PSCmdlet
    {
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

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        protected override void ProcessRecord()
        {
            // Piped processes (Get-Process x | Get-MonitoredConnection) are gathered so the whole
            // pipeline costs one snapshot, not one per process.
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
            foreach (var connection in CmdletSupport.Snapshot(this, request))
                WriteObject(connection);
        }
    }
}
