using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Alerts
{
    public sealed partial class AlertMonitor
    {
        private readonly object _gate = new object();
        private readonly Dictionary<string, RuleEntry> _rules = new Dictionary<string, RuleEntry>(StringComparer.OrdinalIgnoreCase);
        private readonly List<string> _warnings = new List<string>();
        private readonly Session.MonitorSession _session;
        private readonly Func<IAlertDelivery> _deliveryFactory;
        private bool _disposed;

        internal AlertMonitor(Session.MonitorSession session, Func<IAlertDelivery> deliveryFactory)
        {
            _session = session;
            _deliveryFactory = deliveryFactory;
        }

        private sealed class RuleEntry
        {
            public AlertRule Rule;
            public long Fired;
            public DateTime? LastFiredUtc;
            public int Active;
            public long ActionErrors;
            public string LastActionError;
        }

        /// <summary>Adds a rule and starts watching if it is the first. Throws ArgumentException when a rule of that name exists.</summary>
        public AlertRuleState Register(AlertRule rule)
        {
            if (rule == null) throw new ArgumentNullException(nameof(rule));
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(AlertMonitor));
                if (_rules.ContainsKey(rule.Name))
                    throw new ArgumentException("An alert rule named '" + rule.Name + "' exists already.", nameof(rule));
                var e = new RuleEntry { Rule = rule };
                _rules[rule.Name] = e;
                return StateOf(e);
            }
        }

        /// <summary>Removes a rule; false when there is none of that name.</summary>
        public bool Unregister(string name)
        {
            lock (_gate) return name != null && _rules.Remove(name);
        }

        /// <summary>The registered rules, sorted by name.</summary>
        public IReadOnlyList<AlertRuleState> Rules
        {
            get { lock (_gate) return _rules.Values.OrderBy(e => e.Rule.Name, StringComparer.OrdinalIgnoreCase).Select(StateOf).ToList(); }
        }

        /// <summary>The rule of that name (case-insensitive); null when none.</summary>
        public AlertRuleState Find(string name)
        {
            lock (_gate) return name != null && _rules.TryGetValue(name, out var e) ? StateOf(e) : null;
        }

        /// <summary>Says a failure of the rule's in-process consumer (a script block); shown by Get-ConnectionAlert.</summary>
        public void ReportActionError(string ruleName, string message)
        {
            lock (_gate)
                if (ruleName != null && _rules.TryGetValue(ruleName, out var e)) { e.ActionErrors++; e.LastActionError = message; }
        }

        /// <summary>Warnings not said yet (each once).</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            lock (_warnings) { var w = _warnings.ToList(); _warnings.Clear(); return w; }
        }

        private AlertRuleState StateOf(RuleEntry e) =>
            new AlertRuleState(e.Rule, e.Fired, e.LastFiredUtc, e.Active, null, e.ActionErrors, e.LastActionError);

        /// <summary>Stops watching and flushes what is queued for webhooks.</summary>
        public void Dispose()
        {
            lock (_gate) { _disposed = true; _rules.Clear(); }
        }
    }
}
