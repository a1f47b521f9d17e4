using System.Management.Automation;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Removes alert rules from this session, with the PowerShell event subscription of their -Action.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Unregister, "ConnectionAlert", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(void))]
    public sealed class UnregisterConnectionAlertCommand : AlertCommandBase
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(AlertNameCompleter))]
        public string[] Name { get; set; }

        protected override void ProcessRecord()
        {
            var session = Session;
            foreach (var state in Resolve(Name))
            {
                var rule = state.Rule;
                if (!ShouldProcess("alert rule '" + rule.Name + "' (" + OutputMapper.ToAlertInfo(rule).Conditions + ")", "Unregister alert rule")) continue;
                // Only a rule still registered as found: one registered anew under the name since is another rule.
                var now = session.Alerts.Find(rule.Name);
                if (now != null && ReferenceEquals(now.Rule, rule)) session.Alerts.Unregister(rule.Name);
                AlertBridge.Attach(session, Events)?.RemoveAction(rule);
                WriteVerbose("Unregistered alert rule '" + rule.Name + "'.");
            }
        }
    }
}
