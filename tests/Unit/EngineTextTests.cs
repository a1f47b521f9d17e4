using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests
{
    /// <summary>
    /// The engine knows nothing of PowerShell: no string literal in it names a cmdlet (Verb-Noun) or a
    /// parameter (-Name). Failures carry reasons and advice codes; the PowerShell layer words them.
    /// </summary>
    public class EngineTextTests
    {
        private static string EngineFolder => Path.Combine(Repo.Root, "src", "ConnectionsMonitor.Engine");

        [Fact]
        public void NoEngineLiteralNamesACmdletOrAParameter()
        {
            var files = Directory.GetFiles(EngineFolder, "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part == "obj" || part == "bin"))
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToList();
            int literals = 0;
            var violations = new List<string>();
            foreach (var file in files)
            {
                foreach (var literal in CSharpLiterals.Extract(File.ReadAllText(file)))
                {
                    literals++;
                    string why = PowerShellNames.Find(literal.Text);
                    if (why != null)
                        violations.Add(Path.GetRelativePath(Repo.Root, file).Replace('\\', '/') + ":" + literal.Line + ": " + why + " in \"" + literal.Text + "\"");
                }
            }
            // The scanner must have seen the engine's text (hundreds of literals), not silently nothing.
            Assert.True(files.Count > 50, "only " + files.Count + " engine files found under " + EngineFolder);
            Assert.True(literals > 500, "only " + literals + " string literals found in the engine");
            Assert.True(violations.Count == 0,
                "Engine string literals name cmdlets or parameters (say the fact; let the PowerShell layer word the advice):" + Environment.NewLine +
                string.Join(Environment.NewLine, violations));
        }

        [Fact]
        public void TheExtractorReadsEveryKindOfLiteralAndSkipsComments()
        {
            const string source =
                "// a comment naming -Comment and Get-Comment\n" +
                "/* a block \"-Block\" comment\n spanning lines */\n" +
                "var a = \"plain \\\"quoted\\\" -Plain\"; // trailing \"-Trailing\"\n" +
                "var b = @\"verbatim \"\"q\"\" C:\\path\n-Verbatim\";\n" +
                "var c = $\"interp {x} {{braces}} {(y ? \"inner\" : \"-Inner\")} end\";\n" +
                "var d = $@\"vi {z}\\x\";\n" +
                "var e = '\"'; var f = '\\''; var g = \"after chars\";\n" +
                "var h = \"\"\"\n    raw \"quoted\" text\n    \"\"\";\n" +
                "var i = $\"{w,5:0.0} fmt\";\n" +
                "var j = @$\"{(q ? @\"in\"\"v\" : $\"{k}n\")}\";\n" +
                "/// <summary>doc with \"-Doc\" quotes</summary>\n" +
                "var k = \"last\";";

            var found = CSharpLiterals.Extract(source).Select(l => (l.Line, l.Text)).ToList();

            Assert.Equal(new[]
            {
                (4, "plain \"quoted\" -Plain"),
                (5, "verbatim \"q\" C:\\path\n-Verbatim"),
                (7, "interp {x} {braces} {…} end"),
                (7, "inner"),
                (7, "-Inner"),
                (8, "vi {z}\\x"),
                (9, "after chars"),
                (10, "raw \"quoted\" text"),
                (13, "{w,5:0.0} fmt"),
                (14, "{…}"),
                (14, "in\"v"),
                (14, "{k}n"),
                (16, "last"),
            }, found);
        }

        [Theory]
        [InlineData("run Update-ConnectionGeoDatabase again", "cmdlet Update-ConnectionGeoDatabase")]
        [InlineData("see Get-Help", "cmdlet Get-Help")]
        [InlineData("Unblock-ConnectionRemote lifts it", "cmdlet Unblock-ConnectionRemote")]
        [InlineData("give -Uri", "parameter -Uri")]
        [InlineData("-Sha256 applies", "parameter -Sha256")]
        [InlineData("with (-DestinationPath)", "parameter -DestinationPath")]
        [InlineData("a shorter -Duration loses fewer", "parameter -Duration")]
        [InlineData("TAP-Windows Adapter V9", null)]
        [InlineData("DBIP-Country-Lite", null)]
        [InlineData("the 1024-byte header, -1 and a-Z", null)]
        [InlineData("yyyy-MM-dd HH:mm", null)]
        [InlineData("Set-ish: Get-ready", null)]
        [InlineData("X-Amz-Signature", null)]
        [InlineData("Set-Cookie", null)]
        [InlineData("send Set-Cookie again", "cmdlet Set-Cookie")]
        public void TheCheckFlagsCmdletAndParameterNamesOnly(string text, string expected)
        {
            Assert.Equal(expected, PowerShellNames.Find(text));
        }
    }

    /// <summary>A literal found in C# source: its first line (1-based) and its text, escapes decoded, interpolation holes shown as {…} or {expr}.</summary>
    internal readonly record struct SourceLiteral(int Line, string Text);

    /// <summary>
    /// Extracts string literals from C# source: regular, verbatim (@), interpolated ($, $@, @$), raw
    /// ("""), with literals nested in interpolation holes reported too. Comments and char literals are skipped.
    /// </summary>
    internal static class CSharpLiterals
    {
        public static List<SourceLiteral> Extract(string source)
        {
            var found = new List<SourceLiteral>();
            new Scanner(source, found).ScanCode(stopAtBrace: false);
            return found;
        }

        private sealed class Scanner
        {
            private readonly string _s;
            private readonly List<SourceLiteral> _found;
            private int _i;

            public Scanner(string source, List<SourceLiteral> found)
            {
                _s = source;
                _found = found;
            }

            private char At(int k) => k < _s.Length ? _s[k] : '\0';

            private int LineAt(int k)
            {
                int line = 1;
                for (int j = 0; j < k && j < _s.Length; j++) if (_s[j] == '\n') line++;
                return line;
            }

            /// <summary>Code until the end, or (inside an interpolation hole) until the '}' that closes it.</summary>
            public void ScanCode(bool stopAtBrace)
            {
                int depth = 0;
                while (_i < _s.Length)
                {
                    char c = _s[_i];
                    if (c == '/' && At(_i + 1) == '/') { while (_i < _s.Length && _s[_i] != '\n') _i++; continue; }
                    if (c == '/' && At(_i + 1) == '*')
                    {
                        int end = _s.IndexOf("*/", _i + 2, StringComparison.Ordinal);
                        _i = end < 0 ? _s.Length : end + 2;
                        continue;
                    }
                    if (c == '\'') { SkipChar(); continue; }
                    if (stopAtBrace)
                    {
                        if (c == '{' ) { depth++; _i++; continue; }
                        if (c == '}') { if (depth == 0) return; depth--; _i++; continue; }
                    }
                    if (c == '"' || ((c == '@' || c == '$') && IsStringStart(_i)))
                    {
                        ReadString();
                        continue;
                    }
                    _i++;
                }
            }

            private bool IsStringStart(int k)
            {
                int j = k;
                while (j < _s.Length && (_s[j] == '@' || _s[j] == '$')) j++;
                return j > k && At(j) == '"';
            }

            private void SkipChar()
            {
                _i++; // opening '
                while (_i < _s.Length && _s[_i] != '\'' && _s[_i] != '\n')
                    _i += _s[_i] == '\\' ? 2 : 1;
                _i++;
            }

            private void ReadString()
            {
                int start = _i;
                bool verbatim = false, interpolated = false;
                int dollars = 0;
                while (_s[_i] == '@' || _s[_i] == '$')
                {
                    if (_s[_i] == '@') verbatim = true; else { interpolated = true; dollars++; }
                    _i++;
                }
                int quotes = 0;
                while (At(_i + quotes) == '"') quotes++;
                if (quotes >= 3) { ReadRaw(start, quotes, interpolated ? dollars : 0); return; }
                _i++; // opening "
                var text = new StringBuilder();
                int index = _found.Count;
                _found.Add(default); // keep source order: the literal before those nested in its holes
                while (_i < _s.Length)
                {
                    char c = _s[_i];
                    if (c == '"')
                    {
                        if (verbatim && At(_i + 1) == '"') { text.Append('"'); _i += 2; continue; }
                        _i++;
                        break;
                    }
                    if (!verbatim && c == '\\') { text.Append(Unescape(At(_i + 1))); _i += 2; continue; }
                    if (interpolated && c == '{')
                    {
                        if (At(_i + 1) == '{') { text.Append('{'); _i += 2; continue; }
                        text.Append(Hole());
                        continue;
                    }
                    if (interpolated && c == '}' && At(_i + 1) == '}') { text.Append('}'); _i += 2; continue; }
                    text.Append(c);
                    _i++;
                }
                _found[index] = new SourceLiteral(LineAt(start), text.ToString());
            }

            /// <summary>An interpolation hole from its '{': a plain expression is kept as {expr}, one holding literals as {…}; nested literals are reported.</summary>
            private string Hole()
            {
                int open = _i;
                _i++;
                int before = _found.Count;
                ScanCode(stopAtBrace: true);
                string expr = _s.Substring(open + 1, Math.Max(0, _i - open - 1));
                _i++; // closing }
                return _found.Count > before || expr.Contains('\'') ? "{…}" : "{" + expr + "}";
            }

            private void ReadRaw(int start, int quotes, int dollars)
            {
                _i += quotes;
                string fence = new string('"', quotes);
                int end = _s.IndexOf(fence, _i, StringComparison.Ordinal);
                if (end < 0) end = _s.Length;
                string body = _s.Substring(_i, end - _i);
                _i = Math.Min(_s.Length, end + quotes);
                // Multi-line raw literal: drop the first and last line and the closing line's indentation.
                if (body.Contains('\n'))
                {
                    var lines = body.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
                    string indent = lines[^1];
                    lines = lines.Skip(1).Take(lines.Count - 2).Select(l => l.StartsWith(indent, StringComparison.Ordinal) ? l.Substring(indent.Length) : l).ToList();
                    body = string.Join("\n", lines);
                }
                _found.Add(new SourceLiteral(LineAt(start), body)); // holes in interpolated raw literals are left as written
            }

            private static string Unescape(char c)
            {
                switch (c)
                {
                    case 'n': return "\n";
                    case 'r': return "\r";
                    case 't': return "\t";
                    case '0': return "\0";
                    case '"': return "\"";
                    case '\'': return "'";
                    case '\\': return "\\";
                    default: return "\\" + c; // \u, \x …: kept as written
                }
            }
        }
    }

    /// <summary>Finds a PowerShell cmdlet name (approved Verb-Noun) or parameter name (-Name at a word start) in text.</summary>
    internal static class PowerShellNames
    {
        /// <summary>PowerShell's approved verbs likely to name this module's or PowerShell's own cmdlets.</summary>
        private static readonly string[] Verbs =
        {
            "Add", "Block", "Clear", "Compare", "Convert", "ConvertFrom", "ConvertTo", "Copy", "Disable", "Enable", "Export", "Find", "Format",
            "Get", "Import", "Install", "Invoke", "Measure", "Move", "New", "Out", "Read", "Register", "Remove", "Rename", "Reset", "Resolve",
            "Restart", "Save", "Select", "Set", "Show", "Start", "Stop", "Test", "Unblock", "Uninstall", "Unregister", "Update", "Wait",
            "Watch", "Where", "Write",
        };

        private static readonly Regex Cmdlet = new Regex(@"(?<![\w-])(?:" + string.Join("|", Verbs) + @")-[A-Z][A-Za-z]*[a-z](?![\w-])", RegexOptions.CultureInvariant);

        /// <summary>A hyphen at a word start (line start, space, or opening punctuation) followed by an upper-case letter.</summary>
        private static readonly Regex Parameter = new Regex(@"(?:^|(?<=[\s(\[{'""`,;:/]))-[A-Z][A-Za-z0-9]*", RegexOptions.CultureInvariant | RegexOptions.Multiline);

        /// <summary>HTTP header names (RFC 9110, RFC 6265) that look like Verb-Noun; a literal that is exactly one of them names a header.</summary>
        private static readonly HashSet<string> HeaderNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Set-Cookie" };

        /// <summary>"cmdlet Verb-Noun" or "parameter -Name" for the first one in <paramref name="text"/>; null when there is none.</summary>
        public static string Find(string text)
        {
            if (HeaderNames.Contains(text)) return null;
            var cmdlet = Cmdlet.Match(text);
            if (cmdlet.Success) return "cmdlet " + cmdlet.Value;
            var parameter = Parameter.Match(text);
            if (parameter.Success) return "parameter " + parameter.Value;
            return null;
        }
    }
}
