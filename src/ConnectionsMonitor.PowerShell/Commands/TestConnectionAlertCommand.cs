using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Sends one clearly marked test alert of a rule to each of its webhooks, its event and its action.</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "ConnectionAlert")]
    [OutputType(typeof(ConnectionAlertTestResult))]
    public sealed class TestConnectionAlertCommand : AlertCommandBase
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(AlertNameCompleter))]
        public string[] Name { get; set; }

        protected override void ProcessRecord()
        {
            var alerts = Session.Alerts;
            foreach (var state in Resolve(Name))
            {
                var rule = state.Rule;
                WriteVerbose("Sending a test alert of rule '" + rule.Name + "'" + (rule.Targets.Count > 0 ? " to " + string.Join(", ", OutputMapper.ToAlertInfo(rule).Targets) : "") + ".");
                if (rule.Targets.Count == 0 && rule.SourceIdentifier == null && !rule.HasAction && alerts.Syslog == null && alerts.EventLog == null)
                    WriteWarning("The rule '" + rule.Name + "' has no -Webhook, -SourceIdentifier or -Action: its test alert goes nowhere.");
                IReadOnlyList<AlertDeliveryResult> results;
                try
                {
                    // On a worker: the sends wait on the network; Ctrl+C cancels them (PipelineStoppedException).
                    results = PipelineWorker.Run<IReadOnlyList<AlertDeliveryResult>, int>(
                        (progress, token) => alerts.TestAsync(rule.Name, token), _ => { }, StopRequested.Token);
                }
                catch (ArgumentException)
                {
                    // Unregistered since Resolve found it.
                    WriteError(new ErrorRecord(new ItemNotFoundException("The alert rule '" + rule.Name + "' was unregistered before its test was sent."),
                        "AlertRuleNotFound", ErrorCategory.ObjectNotFound, rule.Name));
                    continue;
                }
                foreach (var r in results)
                {
                    var result = OutputMapper.ToTestResult(rule.Name, r);
                    if (!result.Delivered)
                        WriteWarning("The test alert of rule '" + rule.Name + "' was not delivered to " + result.Target + ": " + result.Error);
                    WriteObject(result);
                }
            }
            WriteEngineWarnings();
        }
    }
}
