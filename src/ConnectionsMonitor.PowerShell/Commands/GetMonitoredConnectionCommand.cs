using System.Management.Automation;
using ConnectionsMonitor.Session;

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
            if (NoPipelineInput) return;
            var query = BuildQuery();
            var snapshot = Run(() => Session.Snapshot(query));
            Warn(snapshot.Warnings);
            var mapper = new OutputMapper.Batch();
            foreach (var c in snapshot.Connections)
                WriteObject(mapper.ToConnection(c, snapshot.TimeStampUtc));
        }
    }
}
