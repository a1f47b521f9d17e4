using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>What Get-, Unregister- and Test-ConnectionAlert share: the session, Ctrl+C, and -Name (wildcards) resolved to rules.</summary>
    public abstract class AlertCommandBase : PSCmdlet
    {
        /// <summary>Cancelled by StopProcessing (Ctrl+C).</summary>
        internal CancellationTokenSource StopRequested { get; } = new CancellationTokenSource();

        protected override void StopProcessing() => StopRequested.Cancel();

        /// <summary>The runspace's session (read on the pipeline thread).</summary>
        internal MonitorSession Session => SessionRegistry.For(this);

        /// <summary>
        /// The rules the names match (all for null), each once, sorted by name. A literal name that matches no
        /// rule writes an error saying so and how to list the registered ones; a wildcard that matches none writes nothing.
        /// </summary>
        internal List<AlertRuleState> Resolve(string[] names)
        {
            var rules = Session.Alerts.Rules;
            if (names == null) return rules.ToList();
            var matched = new List<AlertRuleState>();
            foreach (var name in names)
            {
                if (string.IsNullOrEmpty(name)) continue;
                bool wildcard = WildcardPattern.ContainsWildcardCharacters(name);
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                var hits = rules.Where(r => wildcard ? pattern.IsMatch(r.Rule.Name) : string.Equals(r.Rule.Name, name, StringComparison.OrdinalIgnoreCase)).ToList();
                if (hits.Count == 0 && !wildcard)
                    WriteError(NoSuchRule(name));
                foreach (var h in hits)
                    if (!matched.Any(m => string.Equals(m.Rule.Name, h.Rule.Name, StringComparison.OrdinalIgnoreCase))) matched.Add(h);
            }
            return matched.OrderBy(r => r.Rule.Name, StringComparer.OrdinalIgnoreCase).ToList();
        }

        private ErrorRecord NoSuchRule(string name)
        {
            string shown = DisplayFormat.Safe(name);
            var ex = new ItemNotFoundException("No alert rule named '" + shown + "' is registered in this session. Get-ConnectionAlert lists the registered rules.");
            return new ErrorRecord(ex, "AlertRuleNotFound", ErrorCategory.ObjectNotFound, shown);
        }

        /// <summary>Writes the engine's warnings not said yet.</summary>
        internal void WriteEngineWarnings()
        {
            foreach (var w in Session.Alerts.TakeWarnings()) WriteWarning(w);
        }
    }

    /// <summary>Completes -Name of the alert cmdlets with the names of the rules registered in this runspace.</summary>
    public sealed class AlertNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
            string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string prefix = (wordToComplete ?? "").Trim('\'', '"');
            var pattern = new WildcardPattern(prefix + "*", WildcardOptions.IgnoreCase);
            IEnumerable<string> names;
            try
            {
                names = SessionRegistry.ForCompletion().Alerts.Rules.Select(r => r.Rule.Name).ToList();
            }
            catch (Exception)
            {
                yield break; // completion must never throw at the prompt
            }
            foreach (var name in names.Where(pattern.IsMatch))
                yield return new CompletionResult(PowerShellQuoting.CompletionText(name), name, CompletionResultType.ParameterValue, name);
        }
    }

    /// <summary>Rejects a port outside 1–65535 for an alert condition, saying what is expected.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidateAlertPortAttribute : ValidateEnumeratedArgumentsAttribute
    {
        protected override void ValidateElement(object element)
        {
            object value = element is PSObject pso ? pso.BaseObject : element;
            if (value is int port && port >= 1 && port <= 65535) return;
            throw new ValidationMetadataException(DisplayFormat.Safe(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)) +
                " is not a port an alert can watch: expected a number from 1 to 65535, such as 3389 or 445.");
        }
    }

    /// <summary>Rejects an alert rule name the engine would not take, saying which names work.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidateAlertNameAttribute : ValidateArgumentsAttribute
    {
        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            string name = (arguments is PSObject pso ? pso.BaseObject : arguments) as string;
            if (AlertRule.IsValidName(name)) return;
            throw new ValidationMetadataException("'" + DisplayFormat.Safe(name) + "' is not a valid alert rule name: expected 1 to 64 letters, digits, '-', '_' or '.', such as rdp or busy-hosts.");
        }
    }

    /// <summary>
    /// Rejects a -Webhook value that is not an absolute http:// or https:// URL, or that carries a user name or password
    /// (never sent), without repeating it: webhook URLs carry their secret in the path or query.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidateWebhookAttribute : ValidateEnumeratedArgumentsAttribute
    {
        protected override void ValidateElement(object element)
        {
            string text = (element is PSObject pso ? pso.BaseObject : element) as string;
            var uri = Parse(text);
            string refusal = AlertTarget.CredentialsRefusal(uri);
            if (refusal != null) throw new ValidationMetadataException(refusal);
            if (uri != null) return;
            throw new ValidationMetadataException("A webhook must be an absolute http:// or https:// URL, such as https://discord.com/api/webhooks/<id>/<token>. " +
                "The value given is not shown: webhook URLs carry secrets.");
        }

        /// <summary>The URL, or null when it is not absolute http(s) with a host.</summary>
        internal static Uri Parse(string text)
        {
            if (string.IsNullOrWhiteSpace(text) || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)) return null;
            if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) return null;
            return string.IsNullOrEmpty(uri.Host) ? null : uri;
        }
    }
}
