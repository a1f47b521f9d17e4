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
                names = Session.SessionRegistry.ForCompletion().CurrentProcessNames();
            }
            catch (Exception)
            {
                // Completion must never throw at the user's prompt; no names is the honest answer.
                yield break;
            }
            foreach (var name in names.Where(pattern.IsMatch))
            {
                string text = PowerShellQuoting.CompletionText(name);
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
            if (!Engine.Filtering.AddressPattern.TryParse(text, out _, out string error))
                throw new ValidationMetadataException(error);
        }
    }

    /// <summary>Completes -Country with the countries of the current connections, showing each one's name.</summary>
    public sealed class CountryCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
            string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string prefix = (wordToComplete ?? "").Trim('\'', '"');
            IEnumerable<KeyValuePair<string, string>> countries;
            try
            {
                countries = Session.SessionRegistry.ForCompletion().CurrentCountries(new Engine.Filtering.ConnectionQuery());
            }
            catch (Exception)
            {
                yield break; // completion must never throw at the prompt
            }
            foreach (var c in countries)
            {
                if (!c.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) continue;
                string shown = c.Value == null ? c.Key : c.Key + " (" + DisplayFormat.Safe(c.Value) + ")";
                yield return new CompletionResult(c.Key, shown, CompletionResultType.ParameterValue, shown);
            }
        }
    }

    /// <summary>
    /// Rejects a -Country value that is not a two-letter ISO 3166 code, or is one of the codes ISO keeps reserved for a
    /// country that has another (UK for GB), saying what is expected (<see cref="Engine.Enrichment.Geo.CountryCodes"/>).
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidateCountryCodeAttribute : ValidateEnumeratedArgumentsAttribute
    {
        protected override void ValidateElement(object element)
        {
            string text = (element is PSObject pso ? pso.BaseObject?.ToString() : element?.ToString()) ?? "";
            string code = Engine.Enrichment.Geo.CountryCodes.Normalize(text);
            if (code == null)
                throw new ValidationMetadataException("'" + DisplayFormat.Safe(text) + "' is not a country code: expected two letters from ISO 3166-1, such as US, DE or CN.");
            string problem = Engine.Enrichment.Geo.CountryCodes.Problem(code);
            if (problem != null) throw new ValidationMetadataException(problem);
        }
    }
}

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// Completes -RemoteAddress of Unblock-ConnectionRemote and Get-ConnectionBlock with the addresses blocked now (read
    /// from the firewall; without the privilege to read it, nothing is offered). The tooltip gives direction, expiry and reason.
    /// </summary>
    public sealed class BlockedAddressCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
            string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string prefix = (wordToComplete ?? "").Trim('\'', '"');
            List<Engine.Blocking.BlockRecord> blocks;
            try
            {
                blocks = new Engine.Blocking.ConnectionBlocker(Engine.Blocking.ConnectionBlocker.BackendForCurrentOS()).Backend.List(DateTime.UtcNow).ToList();
            }
            catch (Exception)
            {
                // Completion must never throw at the user's prompt (no nft, no root): no addresses is the honest answer.
                yield break;
            }
            foreach (var b in blocks.Where(b => b.Target.Text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
                yield return new CompletionResult(PowerShellQuoting.CompletionText(b.Target.Text), b.Target.Text, CompletionResultType.ParameterValue, BlockingCommandBase.Describe(b));
        }
    }
}
