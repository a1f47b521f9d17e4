using System.Text;
using ConnectionsMonitor.Engine.Display;

namespace ConnectionsMonitor
{
    /// <summary>
    /// Turns outside text (a process name) into a completion text that is safe on a PowerShell command line:
    /// once accepted, it parses as exactly one argument, can never break the line, and — read as a wildcard
    /// pattern, which is how -ProcessName reads it — matches exactly the original name. Beside
    /// <see cref="UntrustedText"/>, whose rules decide which characters may not reach the command line.
    /// </summary>
    public static class PowerShellQuoting
    {
        // Characters PowerShell reads as quotes (it accepts the typographic ones too).
        private const string SingleQuotes = "'\u2018\u2019\u201A\u201B";
        private const string DoubleQuotes = "\"\u201C\u201D\u201E";

        /// <summary>
        /// The completion text for <paramref name="name"/>: wildcard characters (* ? [ ] `) escaped with a backtick;
        /// every character <see cref="UntrustedText.Clean"/> shows in a visible form (newline, ESC, other controls, bidi
        /// overrides, zero-width characters, lone surrogates) replaced by the wildcard '?', which matches it (the rest of
        /// an escape sequence is ordinary text: "a\u001b[1m" gives 'a?`[1m'); then, when
        /// the text has whitespace, a quote character, $ ` ; { } ( ) , @ # &lt; &gt; | &amp; [ ], a leading '-' or
        /// is empty, the whole in single quotes with each single-quote character doubled.
        /// </summary>
        public static string CompletionText(string name)
        {
            name = name ?? "";
            var pattern = new StringBuilder(name.Length + 8);
            for (int i = 0; i < name.Length;)
            {
                int bad = UntrustedText.UnsafeLength(name, i);
                if (bad > 0)
                {
                    // One '?' per UTF-16 unit: WildcardPattern's ? matches one char.
                    pattern.Append('?', bad);
                    i += bad;
                    continue;
                }
                char c = name[i];
                if (char.IsHighSurrogate(c))
                {
                    pattern.Append(c).Append(name[i + 1]); // a whole pair (UnsafeLength turned lone halves into '?')
                    i += 2;
                    continue;
                }
                if (c == '*' || c == '?' || c == '[' || c == ']' || c == '`') pattern.Append('`');
                pattern.Append(c);
                i++;
            }
            string text = pattern.ToString();
            return NeedsQuotes(text) ? Quote(text) : text;
        }

        /// <summary><paramref name="text"/> as a single-quoted PowerShell string literal (single-quote characters doubled).</summary>
        public static string Quote(string text)
        {
            var sb = new StringBuilder((text ?? "").Length + 2).Append('\'');
            foreach (char c in text ?? "")
            {
                if (SingleQuotes.IndexOf(c) >= 0) sb.Append(c);
                sb.Append(c);
            }
            return sb.Append('\'').ToString();
        }

        private static bool NeedsQuotes(string text)
        {
            if (text.Length == 0 || text[0] == '-') return true;
            foreach (char c in text)
            {
                if (char.IsWhiteSpace(c) || SingleQuotes.IndexOf(c) >= 0 || DoubleQuotes.IndexOf(c) >= 0) return true;
                if ("$`;{}(),@#<>|&[]".IndexOf(c) >= 0) return true;
                // Dashes PowerShell reads as '-' at the start of a word.
                if (c == '\u2013' || c == '\u2014' || c == '\u2015') return true;
            }
            return false;
        }
    }
}
