using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>
    /// Completion texts for process names (PowerShellQuoting.CompletionText, what the -ProcessName completer
    /// offers): whatever the name holds, the accepted completion parses as one argument whose value, read as the
    /// wildcard -ProcessName takes, matches exactly that name.
    /// </summary>
    public sealed class CompletionQuotingTests : System.IDisposable
    {
        private readonly ModuleSession _ps = new ModuleSession();

        public void Dispose() => _ps.Dispose();

        public static TheoryData<string, string> Names => new TheoryData<string, string>
        {
            { "nginx", "nginx" },
            { "two words", "'two words'" },
            { "line\nbreak", "line?break" },
            { "line\r\nbreak; rm -rf", "'line??break; rm -rf'" },
            { "it's", "'it''s'" },
            { "curly\u2019quote", "'curly\u2019\u2019quote'" },
            { "say \"hi\"", "'say \"hi\"'" },
            { "$(Remove-Item x)", "'$(Remove-Item x)'" },
            { "tick`n", "'tick``n'" },
            { "py\U0001F40D", "py\U0001F40D" },
            { "fam\U0001F468\u200D\U0001F469\u200D\U0001F467", "fam\U0001F468\u200D\U0001F469\u200D\U0001F467" },
            { "\u4E2D\u6587", "\u4E2D\u6587" },
            { "esc\u001b[31mred", "'esc?`[31mred'" },   // only the ESC is unsafe; "[31m" is text, its [ escaped for the wildcard
            { "nul\u0000del\u007fcsi\u009b", "nul?del?csi?" },
            { "star*[x]?", "'star`*`[x`]`?'" },
            { "-rf", "'-rf'" },
            { "a|b&c<d>e#f@g,h{i}(j)", "'a|b&c<d>e#f@g,h{i}(j)'" },
            { "rtl\u202Eexe.txt", "rtl?exe.txt" },
            { "", "''" },
        };

        [Theory]
        [MemberData(nameof(Names))]
        public void EveryCompletionParsesAsOneArgumentMatchingTheName(string name, string expected)
        {
            string text = (string)_ps.Invoke("[ConnectionsMonitor.PowerShellQuoting]::CompletionText($args[0])", name).Single().BaseObject;
            Assert.Equal(expected, text);
            Assert.DoesNotContain(text, c => char.IsControl(c));

            var ast = Parser.ParseInput("Get-MonitoredConnection -ProcessName " + text + " -State Listen", out _, out ParseError[] errors);
            Assert.Empty(errors);
            var command = Assert.IsType<CommandAst>(Assert.Single(ast.FindAll(a => a is CommandAst, true)));
            Assert.Equal(5, command.CommandElements.Count); // name, -ProcessName, the value, -State, Listen
            var value = Assert.IsType<StringConstantExpressionAst>(command.CommandElements[2]);
            var pattern = new WildcardPattern(value.Value, WildcardOptions.IgnoreCase);
            Assert.True(pattern.IsMatch(name), value.Value + " does not match " + name);
            Assert.False(pattern.IsMatch(name + "x"));
            Assert.False(pattern.IsMatch("x" + name));
        }
    }
}
