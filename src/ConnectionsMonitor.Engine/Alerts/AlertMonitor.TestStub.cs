// TEMPORARY (pscmd branch): a minimal TestAsync so the alert cmdlets can be built and tested before the
// real evaluation and delivery land in AlertMonitor.Core.cs. Delete this file at the merge.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionsMonitor.Engine.Alerts
{
    public sealed partial class AlertMonitor
    {
        /// <summary>Stub: raises a Status=Test alert through <see cref="Raised"/>; sends nothing.</summary>
        public Task<IReadOnlyList<AlertDeliveryResult>> TestAsync(string name, CancellationToken cancel)
        {
            AlertRule rule;
            lock (_gate)
            {
                if (name == null || !_rules.TryGetValue(name, out var e)) throw new ArgumentException("No alert rule named '" + name + "'.", nameof(name));
                rule = e.Rule;
            }
            cancel.ThrowIfCancellationRequested();
            var alert = new AlertEvent(rule.Name, rule.Conditions[0].Kind, AlertStatus.Test, DateTime.UtcNow,
                "Test message from ConnectionsMonitor for rule " + rule.Name + " (not a real alert)", new AlertItem[0]);
            try { Raised?.Invoke(rule, alert); }
            catch (Exception ex) { ReportActionError(rule.Name, ex.Message); }
            return Task.FromResult<IReadOnlyList<AlertDeliveryResult>>(new AlertDeliveryResult[0]);
        }
    }
}
