using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Session;

namespace ConnectionsMonitor.Session
{
    /// <summary>
    /// Carries a session's alerts into its runspace's PowerShell events: a rule's -SourceIdentifier gets
    /// each alert through <see cref="PSEventManager.GenerateEvent(string, object, object[], PSObject)"/>
    /// (thread-safe, so the alert thread calls it directly), which Register-EngineEvent, Wait-Event and
    /// Get-Event see. A rule's -Action is subscribed through the same event manager under a hidden source
    /// identifier of its own, so PowerShell runs it on the runspace's pipeline thread — never on the alert
    /// thread — with $Event set and the alert as its first argument. The action runs inside a small wrapper
    /// that hands every error it writes or throws to <see cref="AlertMonitor.ReportActionError"/> (an event
    /// action that throws is otherwise marked Failed by PowerShell and never runs again, and its errors
    /// land in a hidden job nobody reads). One bridge per session, made on the pipeline thread of the
    /// runspace's first cmdlet call; closed with the session (Remove-Module, the runspace closing).
    /// </summary>
    internal sealed class AlertBridge
    {
        private static readonly ConditionalWeakTable<MonitorSession, AlertBridge> Bridges = new ConditionalWeakTable<MonitorSession, AlertBridge>();
        private static readonly object Gate = new object();

        /// <summary>
        /// Runs the user's block (bound by <see cref="AddAction"/> into this subscription's module, so it sees
        /// $Event) and reports what fails. Errors it writes become output through 2>&amp;1 and are reported
        /// as they stream by (before a later throw ends it); a terminating error ends it and is reported; the event job itself never fails.
        /// </summary>
        private const string WrapperScript =
            "try {\n" +
            "    & $__cmAction @args 2>&1 | & { process {\n" +
            "        if ($_ -is [System.Management.Automation.ErrorRecord]) { $__cmReport.Invoke($_) } else { $_ }\n" +
            "    } }\n" +
            "} catch {\n" +
            "    $__cmReport.Invoke($_)\n" +
            "}\n";

        private readonly MonitorSession _session;
        private readonly PSEventManager _events;
        private readonly Dictionary<AlertRule, PSEventSubscriber> _actions = new Dictionary<AlertRule, PSEventSubscriber>();
        private bool _closed;

        private AlertBridge(MonitorSession session, PSEventManager events)
        {
            _session = session;
            _events = events;
        }

        /// <summary>The session's bridge, made now with this runspace's event manager if it has none. Call on the pipeline thread.</summary>
        internal static AlertBridge Attach(MonitorSession session, PSEventManager events)
        {
            if (session == null || events == null) return null;
            lock (Gate)
            {
                if (Bridges.TryGetValue(session, out var existing)) return existing;
                var bridge = new AlertBridge(session, events);
                Bridges.Add(session, bridge);
                session.Alerts.Raised += bridge.OnRaised;
                return bridge;
            }
        }

        /// <summary>Stops carrying the session's alerts and removes every -Action subscription (Remove-Module, runspace closed).</summary>
        internal static void Close(MonitorSession session)
        {
            if (session == null) return;
            AlertBridge bridge;
            lock (Gate)
            {
                if (!Bridges.TryGetValue(session, out bridge)) return;
                Bridges.Remove(session);
            }
            bridge.CloseThis();
        }

        private void CloseThis()
        {
            List<PSEventSubscriber> subscribers;
            lock (_actions)
            {
                _closed = true;
                subscribers = new List<PSEventSubscriber>(_actions.Values);
                _actions.Clear();
            }
            try { _session.Alerts.Raised -= OnRaised; }
            catch (ObjectDisposedException) { }
            foreach (var s in subscribers) Unsubscribe(s);
        }

        /// <summary>
        /// Subscribes <paramref name="action"/> for <paramref name="rule"/> (before the rule is registered, so
        /// its first alert finds it). Call on the pipeline thread of the runspace the bridge belongs to.
        /// </summary>
        internal void AddAction(AlertRule rule, ScriptBlock action)
        {
            string hiddenId = "ConnectionsMonitor.Alert." + rule.Name + "." + Guid.NewGuid().ToString("N");
            var subscriber = _events.SubscribeEvent(null, null, hiddenId, null, ScriptBlock.Create(WrapperScript), true, false);
            try
            {
                // The subscription runs the wrapper in a module of its own and sets $Event there; the user's
                // block, bound into that same module, sees $Event, $EventArgs, $EventSubscriber too.
                var module = subscriber.Action.Module;
                module.SessionState.PSVariable.Set(new PSVariable("__cmAction", module.NewBoundScriptBlock(action), ScopedItemOptions.ReadOnly));
                string ruleName = rule.Name;
                Action<object> report = error => _session.Alerts.ReportActionError(ruleName, DescribeError(error));
                module.SessionState.PSVariable.Set(new PSVariable("__cmReport", report, ScopedItemOptions.ReadOnly));
                lock (_actions)
                {
                    if (_closed) throw new ObjectDisposedException(nameof(AlertBridge));
                    _actions[rule] = subscriber;
                }
            }
            catch
            {
                Unsubscribe(subscriber);
                throw;
            }
        }

        /// <summary>Removes the -Action subscription of <paramref name="rule"/>, if any. Call on the pipeline thread.</summary>
        internal void RemoveAction(AlertRule rule)
        {
            if (rule == null) return;
            PSEventSubscriber subscriber;
            lock (_actions)
            {
                if (!_actions.TryGetValue(rule, out subscriber)) return;
                _actions.Remove(rule);
            }
            Unsubscribe(subscriber);
        }

        /// <summary>True while <paramref name="rule"/> has an -Action subscription (tests).</summary>
        internal bool HasAction(AlertRule rule)
        {
            lock (_actions) return rule != null && _actions.ContainsKey(rule);
        }

        private void Unsubscribe(PSEventSubscriber subscriber)
        {
            try { _events.UnsubscribeEvent(subscriber); }
            catch (Exception) { /* the runspace is closing and its event manager with it */ }
        }

        // On the alert thread (or Test-ConnectionAlert's worker): never runs PowerShell code here, only queues events.
        private void OnRaised(AlertRule rule, AlertEvent alert)
        {
            PSEventSubscriber subscriber = null;
            lock (_actions)
                if (rule.HasAction) _actions.TryGetValue(rule, out subscriber);
            if (string.IsNullOrEmpty(rule.SourceIdentifier) && subscriber == null) return;
            try
            {
                if (!string.IsNullOrEmpty(rule.SourceIdentifier))
                {
                    var obj = OutputMapper.ToAlertEvent(alert);
                    _events.GenerateEvent(rule.SourceIdentifier, null, new object[] { obj }, PSObject.AsPSObject(obj));
                }
                if (subscriber != null)
                {
                    var obj = OutputMapper.ToAlertEvent(alert); // its own copy: an action may change it
                    _events.GenerateEvent(subscriber.SourceIdentifier, null, new object[] { obj }, PSObject.AsPSObject(obj));
                }
            }
            catch (Exception ex)
            {
                _session.Alerts.ReportActionError(rule.Name, "The alert could not be raised as a PowerShell event: " + ex.Message);
            }
        }

        /// <summary>
        /// "message (line 3)" for an error the action wrote or threw. The line's text is left out: it can be the
        /// Register-ConnectionAlert line itself, with a webhook URL written into it.
        /// </summary>
        internal static string DescribeError(object error)
        {
            if (error is PSObject pso) error = pso.BaseObject;
            if (!(error is ErrorRecord record)) return Engine.Display.UntrustedText.Clean(Convert.ToString(error, System.Globalization.CultureInfo.InvariantCulture));
            string message = record.ErrorDetails?.Message ?? record.Exception?.Message ?? record.ToString();
            var where = record.InvocationInfo;
            if (where != null && where.ScriptLineNumber > 0)
                message += " (line " + where.ScriptLineNumber + ")";
            return Engine.Display.UntrustedText.Clean(message);
        }
    }
}
