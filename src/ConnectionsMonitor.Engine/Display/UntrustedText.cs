using System.Text;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>
    /// The one set of rules for text that came from outside the module — process names and paths, user
    /// names, DNS answers, database metadata, configuration values — before it is shown anywhere. The same
    /// cleaning (<see cref="Clean"/>) is under every output; each output then adds its own escaping:
    /// <list type="bullet">
    /// <item><see cref="ForTerminal"/>: the table views, the live view, completion list items, messages.</item>
    /// <item><see cref="ForHtml"/>: HTML text and attribute values (the dashboard).</item>
    /// <item><see cref="ForChat"/>: Slack webhook messages (chat text that is not Markdown).</item>
    /// <item><see cref="ForMarkdown"/>: Markdown chat text (Discord message content, Teams Adaptive Card TextBlocks).</item>
    /// <item><see cref="ForCsvCell"/>: cells of CSV files a spreadsheet may open.</item>
    /// </list>
    /// The objects the cmdlets write keep the raw value; only what is shown is cleaned.
    /// </summary>
    public static class UntrustedText
    {
        /// <summary>
        /// Removes what can change a terminal or hide what text says: whole escape sequences (ESC, CSI and the
        /// OSC/DCS/APC/PM/SOS strings up to their terminator, 7-bit and 8-bit forms), every other C0 and C1
        /// control character and DEL (so also tab, CR and newline), bidirectional overrides, embeddings,
        /// isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), invisible characters used
        /// to disguise names (U+200B, U+2060–U+2064, U+FEFF, U+180E, U+00AD, U+034F, U+115F, U+1160, U+3164,
        /// U+FFA0), the line and paragraph separators U+2028/U+2029, and unpaired surrogates.
        /// The zero-width joiner and non-joiner (U+200D, U+200C) stay only between two non-ASCII characters
        /// (emoji ZWJ sequences, Indic and Persian text), so "pay\u200Dpal" becomes "paypal".
        /// Null gives "".
        /// </summary>
        public static string Clean(string text)
        {
            if (string.IsNullOrEmpty(text)) return "";
            StringBuilder sb = null;
            int i = 0;
            while (i < text.Length)
            {
                int skip = UnsafeLength(text, i);
                if (skip == 0)
                {
                    int n = char.IsHighSurrogate(text[i]) ? 2 : 1;
                    sb?.Append(text, i, n);
                    i += n;
                    continue;
                }
                if (sb == null) sb = new StringBuilder(text.Length).Append(text, 0, i);
                i += skip;
            }
            return sb == null ? text : sb.ToString();
        }

        /// <summary>Text for a terminal: <see cref="Clean"/> (control characters and escape sequences can never reach the console).</summary>
        public static string ForTerminal(string text) => Clean(text);

        /// <summary>Text for HTML content or a quoted attribute value: <see cref="Clean"/>, then &amp; &lt; &gt; " ' as character references.</summary>
        public static string ForHtml(string text)
        {
            string clean = Clean(text);
            var sb = new StringBuilder(clean.Length + 16);
            foreach (char c in clean)
            {
                switch (c)
                {
                    case '&': sb.Append("&amp;"); break;
                    case '<': sb.Append("&lt;"); break;
                    case '>': sb.Append("&gt;"); break;
                    case '"': sb.Append("&quot;"); break;
                    case '\'': sb.Append("&#39;"); break;
                    default: sb.Append(c); break;
                }
            }
            return sb.ToString();
        }

        /// <summary>
        /// Text for a chat message (Discord, Slack, Teams): <see cref="Clean"/>; mentions neutralised by a zero-width
        /// space after the '@' of @everyone and @here and of every "&lt;@" / "&lt;!" (Discord user, role and
        /// channel mentions; Slack's &lt;!here&gt;), so nobody is pinged by a process name; a zero-width space after
        /// the ':' of "://" so a bare URL is not made into a link; then Slack's three
        /// control characters &amp; &lt; &gt; written as &amp;amp; &amp;lt; &amp;gt; (Slack shows them as the characters).
        /// </summary>
        public static string ForChat(string text)
        {
            string clean = Clean(text);
            var sb = new StringBuilder(clean.Length + 16);
            for (int i = 0; i < clean.Length; i++)
            {
                char c = clean[i];
                switch (c)
                {
                    case '&': sb.Append("&amp;"); break;
                    case '<':
                        sb.Append("&lt;");
                        if (i + 1 < clean.Length && (clean[i + 1] == '@' || clean[i + 1] == '!' || clean[i + 1] == '#')) sb.Append('\u200B');
                        break;
                    case '>': sb.Append("&gt;"); break;
                    case '@':
                        sb.Append('@');
                        if (StartsWithWord(clean, i + 1, "everyone") || StartsWithWord(clean, i + 1, "here")) sb.Append('\u200B');
                        break;
                    case ':':
                        sb.Append(':');
                        if (StartsWithWord(clean, i + 1, "//")) sb.Append('\u200B');
                        break;
                    default: sb.Append(c); break;
                }
            }
            return sb.ToString();
        }

        /// <summary>The characters <see cref="ForMarkdown"/> writes with a backslash in front.</summary>
        private const string MarkdownSpecials = "\\`*_~|[]<>#";

        /// <summary>
        /// Text inside Markdown chat messages (Discord content, Teams Adaptive Card TextBlocks): <see cref="Clean"/>
        /// (so no line breaks: outside text cannot start a heading, quote or list line); mentions neutralised as in
        /// <see cref="ForChat"/> (a zero-width space after the '@' of @everyone / @here and after every "&lt;" that
        /// is followed by '@', '!' or '#'); a backslash before each of \ ` * _ ~ | [ ] &lt; &gt; # (bold, italics,
        /// strike, spoilers, code, links, Discord's &lt;@id&gt; &lt;t:…&gt; &lt;:emoji:&gt; forms); and, for renderers that
        /// ignore backslash escapes, a zero-width space inside every "](" (a link's text-to-URL join) and after
        /// the ':' of "://" (so a bare URL is not made into a link). What the reader sees is the original text.
        /// </summary>
        public static string ForMarkdown(string text)
        {
            string clean = Clean(text);
            var sb = new StringBuilder(clean.Length + 16);
            for (int i = 0; i < clean.Length; i++)
            {
                char c = clean[i];
                if (MarkdownSpecials.IndexOf(c) >= 0) sb.Append('\\');
                sb.Append(c);
                if (c == '<' && i + 1 < clean.Length && (clean[i + 1] == '@' || clean[i + 1] == '!' || clean[i + 1] == '#')) sb.Append('\u200B');
                else if (c == '@' && (StartsWithWord(clean, i + 1, "everyone") || StartsWithWord(clean, i + 1, "here"))) sb.Append('\u200B');
                else if (c == ']' && i + 1 < clean.Length && clean[i + 1] == '(') sb.Append('\u200B');
                else if (c == ':' && StartsWithWord(clean, i + 1, "//")) sb.Append('\u200B');
            }
            return sb.ToString();
        }

        /// <summary>
        /// A CSV cell a spreadsheet will not run as a formula: <see cref="Clean"/>, then a ' in front when the
        /// value (raw or cleaned) starts with = + - @, a tab or a carriage return (OWASP's CSV injection rule).
        /// Quoting the cell for the CSV syntax is the writer's job.
        /// </summary>
        public static string ForCsvCell(string text)
        {
            string clean = Clean(text);
            bool risky = StartsRisky(text) || StartsRisky(clean);
            return risky ? "'" + clean : clean;
        }

        /// <summary>
        /// How many UTF-16 units at <paramref name="index"/> <see cref="Clean"/> removes (a whole escape sequence, one
        /// control or invisible character, a lone surrogate); 0 when the character there is kept.
        /// </summary>
        public static int UnsafeLength(string text, int index)
        {
            char c = text[index];
            if (c == '\u001b') return EscapeSequenceLength(text, index);
            if (c == '\u009b') return CsiLength(text, index + 1) + 1;
            if (c == '\u009d' || c == '\u0090' || c == '\u009e' || c == '\u009f' || c == '\u0098')
                return StringLength(text, index + 1) + 1;
            if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return 1;
            if (char.IsHighSurrogate(c)) return index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]) ? 0 : 1;
            if (char.IsLowSurrogate(c)) return 1;
            if (IsInvisible(c)) return 1;
            if (c == '\u200C' || c == '\u200D')
            {
                bool before = index > 0 && text[index - 1] > 0x7f
                    && (char.IsLowSurrogate(text[index - 1]) ? index > 1 && char.IsHighSurrogate(text[index - 2]) : UnsafeLength(text, index - 1) == 0);
                bool after = index + 1 < text.Length && text[index + 1] > 0x7f && !IsInvisible(text[index + 1]) && text[index + 1] != '\u200D' && text[index + 1] != '\u200C';
                return before && after ? 0 : 1;
            }
            return 0;
        }

        private static bool IsInvisible(char c) =>
            (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069') || c == '\u200E' || c == '\u200F' || c == '\u061C'
            || c == '\u200B' || (c >= '\u2060' && c <= '\u2064') || c == '\uFEFF' || c == '\u180E' || c == '\u00AD' || c == '\u034F'
            || c == '\u115F' || c == '\u1160' || c == '\u3164' || c == '\uFFA0' || c == '\u2028' || c == '\u2029';

        // ESC followed by: '[' a CSI; ']' 'P' '^' '_' 'X' a string up to BEL or ESC '\'; else one intermediate-or-final character.
        private static int EscapeSequenceLength(string text, int index)
        {
            int next = index + 1;
            if (next >= text.Length) return 1;
            char k = text[next];
            if (k == '[') return 2 + CsiLength(text, next + 1);
            if (k == ']' || k == 'P' || k == '^' || k == '_' || k == 'X') return 2 + StringLength(text, next + 1);
            // ESC ( B, ESC # 8 and friends: intermediates 0x20-0x2F then one final 0x30-0x7E.
            int j = next;
            while (j < text.Length && text[j] >= 0x20 && text[j] <= 0x2f) j++;
            if (j < text.Length && text[j] >= 0x30 && text[j] <= 0x7e) j++;
            return j - index;
        }

        // Parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, then a final byte 0x40-0x7E.
        private static int CsiLength(string text, int start)
        {
            int j = start;
            while (j < text.Length && text[j] >= 0x20 && text[j] <= 0x3f) j++;
            if (j < text.Length && text[j] >= 0x40 && text[j] <= 0x7e) j++;
            return j - start;
        }

        // An OSC/DCS/APC/PM/SOS body: up to and including BEL, ST (U+009C) or ESC '\'; to the end when unterminated.
        private static int StringLength(string text, int start)
        {
            for (int j = start; j < text.Length; j++)
            {
                if (text[j] == '\u0007' || text[j] == '\u009c') return j + 1 - start;
                if (text[j] == '\u001b') return (j + 1 < text.Length && text[j + 1] == '\\' ? j + 2 : j + 1) - start;
            }
            return text.Length - start;
        }

        private static bool StartsWithWord(string text, int at, string word) =>
            text.Length >= at + word.Length && string.CompareOrdinal(text, at, word, 0, word.Length) == 0;

        private static bool StartsRisky(string text) =>
            !string.IsNullOrEmpty(text) && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' || text[0] == '\t' || text[0] == '\r');
    }
}
