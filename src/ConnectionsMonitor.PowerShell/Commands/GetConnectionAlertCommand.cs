using System.Management.Automation;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Gets the alert rules registered in this session, with what each has fired and delivered.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionAlert")]
    [OutputType(typeof(ConnectionAlertInfo))]
    public sealed class GetConnectionAlertCommand : AlertCommandBase
    {
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(AlertNameCompleter))]
        public string[] Name { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var state in Resolve(Name))
                WriteObject(OutputMapper.ToAlertInfo(state));
            WriteEngineWarnings();
        }
    }
}
