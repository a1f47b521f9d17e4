using System;
using System.Text;
using System.Text.RegularExpressions;

namespace ConnectionsMonitor.Engine.Filtering
{
    /// <summary>
    /// A case-insensitive wildcard pattern with PowerShell's syntax: * (any run), ? (one character),
    /// [abc] / [a-z] (a set), and ` (backtick) to escape the next character. The engine owns this so
    /// that config.yml patterns and cmdlet parameters match the same way.
    /// </summary>
    public sealed class Wildcard
    {
        private readonly Regex _regex;
        private readonly string _literal;

        public Wildcard(string pattern)
        {
            if (pattern == null) throw new ArgumentNullException(nameof(pattern));
            Pattern = pattern;
            if (!ContainsWildcard(pattern))
            {
                _literal = Unescape(pattern);
                return;
            }
            _regex = new Regex(ToRegex(pattern), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
        }

        public string Pattern { get; }

        public bool IsMatch(string value)
        {
            if (value == null) return false;
            return _literal != null
                ? string.Equals(_literal, value, StringComparison.OrdinalIgnoreCase)
                : _regex.IsMatch(value);
        }

        /// <summary>True when the text has an unescaped *, ? or [.</summary>
        public static bool ContainsWildcard(string text)
        {
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (c == '`') { i++; continue; }
                if (c == '*' || c == '?' || c == '[') return true;
            }
            return false;
        }

        private static string Unescape(string text)
        {
            if (text.IndexOf('`') < 0) return text;
            var sb = new StringBuilder(text.Length);
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == '`' && i + 1 < text.Length) i++;
                sb.Append(text[i]);
            }
            return sb.ToString();
        }

        private static string ToRegex(string pattern)
        {
            var sb = new StringBuilder("^");
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                switch (c)
                {
                    case '`':
                        if (i + 1 < pattern.Length) sb.Append(Regex.Escape(pattern[++i].ToString()));
                        else sb.Append(Regex.Escape("`"));
                        break;
                    case '*': sb.Append(".*"); break;
                    case '?': sb.Append('.'); break;
                    case '[':
                        int close = pattern.IndexOf(']', i + 1);
                        if (close < 0)
                            throw new ArgumentException(
                                "The wildcard pattern '" + pattern + "' has a '[' without a closing ']'. Escape a literal bracket with a backtick (`[).");
                        string set = pattern.Substring(i + 1, close - i - 1);
                        sb.Append('[');
                        foreach (char s in set)
                        {
                            if (s == '\\' || s == '^' || s == '[' || s == ']') sb.Append('\\');
                            sb.Append(s);
                        }
                        sb.Append(']');
                        i = close;
                        break;
                    default: sb.Append(Regex.Escape(c.ToString())); break;
                }
            }
            return sb.Append('$').ToString();
        }

        public override string ToString() => Pattern;
    }
}
