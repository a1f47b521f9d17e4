using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Live
{
    /// <summary>
    /// The -ProcessName completer end to end: real processes whose names hold a newline, a quote with $( and a
    /// backtick complete (TabExpansion2, as at the prompt) to texts that parse as one argument matching the name.
    /// </summary>
    public class ProcessNameCompletionTests
    {
        [LinuxFact]
        public void HostileNamesCompleteToOneSafeArgument()
        {
            string[] names = { "cm\nnewline", "cm'q$(x)", "cm`tick" };
            var listeners = names.Select(NamedListener.Start).ToList();
            try
            {
                using var ps = new ModuleSession();
                string line = "Get-MonitoredConnection -ProcessName cm";
                var texts = ps.Invoke("(TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length).CompletionMatches | ForEach-Object CompletionText", line)
                    .Select(o => (string)o.BaseObject).ToList();
                foreach (string name in names)
                {
                    var matching = texts.Where(t =>
                    {
                        var ast = Parser.ParseInput("Get-MonitoredConnection -ProcessName " + t, out _, out ParseError[] errors);
                        if (errors.Length > 0) return false;
                        var command = (CommandAst)ast.Find(a => a is CommandAst, true);
                        return command.CommandElements.Count == 3 && command.CommandElements[2] is StringConstantExpressionAst value
                            && new WildcardPattern(value.Value).IsMatch(name);
                    }).ToList();
                    Assert.True(matching.Count == 1, "no single safe completion for " + name + " among: " + string.Join(" | ", texts));
                    Assert.DoesNotContain(matching[0], c => char.IsControl(c));
                }
            }
            finally
            {
                foreach (var l in listeners) l.Dispose();
            }
        }
    }
}
