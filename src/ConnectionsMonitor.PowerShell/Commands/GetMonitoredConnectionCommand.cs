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
    public sealed class GetMonitoredConnectionCommand : ConnectionFilterCommandBase
    {
        protected override void EndProcessing()
        {
            var request = BuildRequest();
            foreach (var connection in CmdletSupport.Snapshot(this, request))
                WriteObject(connection);
        }
    }
}
