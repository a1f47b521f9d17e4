using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace ConnectionsMonitor.Commands
{
    /// <summary>Completes -ProcessName with the names of processes that own connections now.</summary>
    public sealed class ProcessNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
            string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string prefix = (wordToComplete ?? "").Trim('\'', '"');
            var pattern = new WildcardPattern(prefix + "*", WildcardOptions.IgnoreCase);
            IEnumerable<string> names;
            try
            {
                names = EngineBridge.CurrentProcessNames();
            }
            catch (Exception)
            {
                // Completion must never throw at the user's prompt; no names is the honest answer.
                yield break;
            }
            foreach (var name in names.Where(pattern.IsMatch))
            {
                string text = name.IndexOfAny(new[] { ' ', '\'', '"', '`', '$', '(', ')', ',', ';', '{', '}', '[', ']', '@', '#' }) >= 0
                    ? "'" + name.Replace("'", "''") + "'"
                    : name;
                string shown = DisplayFormat.Safe(name);
                yield return new CompletionResult(text, shown, CompletionResultType.ParameterValue, shown);
            }
        }
    }

    /// <summary>Rejects an address filter that is neither an IP, a CIDR block nor a wildcard, saying which forms work.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidateAddressPatternAttribute : ValidateEnumeratedArgumentsAttribute
    {
        protected override void ValidateElement(object element)
        {
            string text = element is PSObject pso ? pso.BaseObject?.ToString() : element?.ToString();
            if (!EngineBridge.TryValidateAddressPattern(text, out string error))
                throw new ValidationMetadataException(error);
        }
    }
}
