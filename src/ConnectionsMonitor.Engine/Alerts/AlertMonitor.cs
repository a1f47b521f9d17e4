using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;

namespace ConnectionsMonitor.Engine.Alerts
{
    /// <summary>A registered rule and what it has done so far (a copy; later changes do not show in it).</summary>
    public sealed class AlertRuleState
    {
        internal AlertRuleState(AlertRule rule, long fired, DateTime? lastFiredUtc, int active, AlertDeliveryStats delivery, long actionErrors, string lastActionError)
        {
            Rule = rule;
            Fired = fired;
            LastFiredUtc = lastFiredUtc;
            ActiveConditions = active;
            Delivery = delivery ?? new AlertDeliveryStats();
            ActionErrors = actionErrors;
            LastActionError = lastActionError;
        }

        /// <summary>The rule as registered.</summary>
        public AlertRule Rule { get; }
        /// <summary>Alerts raised (Firing, Repeating and Resolved; not tests).</summary>
        public long Fired { get; }
        /// <summary>When the rule last raised an alert (UTC); null if never.</summary>
        public DateTime? LastFiredUtc { get; }
        /// <summary>Level conditions (or per-process levels) that are on now.</summary>
        public int ActiveConditions { get; }
        /// <summary>Webhook delivery counters.</summary>
        public AlertDeliveryStats Delivery { get; }
        /// <summary>Failures reported by the rule's in-process consumers (the PowerShell layer's script block).</summary>
        public long ActionErrors { get; }
        /// <summary>The latest of those failures; null if none.</summary>
        public string LastActionError { get; }
    }

    /// <summary>
    /// The session's alert rules. Registering the first rule subscribes to the session's sampler and starts
    /// one thread ("cmon-alerts") that evaluates every rule against each sample; removing the last stops it.
    /// Alerts go to the rule's webhooks through <see cref="IAlertDelivery"/> (never waiting on the network)
    /// and to in-process listeners through <see cref="Raised"/>. Rules from config.yml (alerts.enabled) are
    /// added while something watches (<see cref="MonitorSession.Subscribe(Filtering.ConnectionQuery, TimeSpan?, bool, int)"/>)
    /// and removed when the last watcher leaves. Thread-safe.
    /// </summary>
    public sealed partial class AlertMonitor : IDisposable
    {
        /// <summary>The OS name of the evaluation thread.</summary>
        public const string ThreadName = "cmon-alerts";

        /// <summary>
        /// Raised on the alert thread for each alert (and on the caller's thread for tests from <see cref="TestAsync"/>).
        /// Handlers must return quickly and not throw (a throw is caught and counted as an action error of the rule).
        /// </summary>
        public event Action<AlertRule, AlertEvent> Raised;

        // API (bodies in AlertMonitor.Core.cs):
        //   AlertRuleState Register(AlertRule rule)             ArgumentException when the name is taken (case-insensitive)
        //   bool Unregister(string name)                        false when no such rule
        //   IReadOnlyList<AlertRuleState> Rules { get; }        sorted by name
        //   AlertRuleState Find(string name)                    null when none
        //   Task<IReadOnlyList<AlertDeliveryResult>> TestAsync(string name, CancellationToken cancel)
        //        raises a Status=Test alert through Raised and sends it to every webhook of the rule now
        //   string FlagsFor(ConnectionRecord r)                 "rdp,scan" (rule names, comma, sorted) or null
        //   void ApplyFlags(IEnumerable<ConnectionRecord> rows) sets Flags on each row
        //   IReadOnlyList<string> TakeWarnings()                things to say once (port-scan blind spots, no byte counters)
        //   void ReportActionError(string ruleName, string message)  the PowerShell layer's -Action failures
        //   void Dispose()                                      stops the thread, flushes delivery (dead letters)
    }
}
