using System;
using System.Text;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>
    /// The one set of rules for text that came from outside the module — process names and paths, user
    /// names, DNS answers, database metadata, configuration values — before it is shown anywhere. The same
    /// cleaning (<see cref="Clean"/>: controls, escape introducers, bidi and invisible characters made visible as
    /// inert text, never deleted) is under every output; each output then adds its own escaping:
    /// <list type="bullet">
    /// <item><see cref="ForTerminal"/>: the table views, the live view, completion list items, messages.</item>
    /// <item><see cref="ForHtml"/>: HTML text and attribute values (the dashboard).</item>
    /// <item><see cref="ForChat"/>: Slack webhook messages (chat text that is not Markdown).</item>
    /// <item><see cref="ForMarkdown"/>: Markdown chat text (Discord message content, Teams Adaptive Card TextBlocks).</item>
    /// <item><see cref="ForCsvCell"/>: cells of CSV files a spreadsheet may open.</item>
    /// </list>
    /// The objects the cmdlets write carry such text as <see cref="ForCsvCell"/> makes it (they go to terminals and to
    /// Export-Csv as they are); the engine's records keep the raw value.
    /// </summary>
    public static class UntrustedText
    {
        /// <summary>
        /// An exception in words for a warning or a log line: its type's name and its message through <see cref="Clean"/>
        /// ("InvalidOperationException: …"); a message may carry outside text (a name, a path) it met.
        /// </summary>
        public static string Fault(Exception ex) => ex.GetType().Name + ": " + Clean(ex.Message);

        /// <summary>
        /// Makes visible, as inert printable text, everything that could change a terminal or hide what text says.
        /// Nothing is deleted: a hostile name is shown for what it is ("\u001b[0msshd" is shown as "␛[0msshd",
        /// much as <c>ss</c> shows "^[[0msshd"), never as the harmless name it pretends to be.
        /// <list type="bullet">
        /// <item>C0 controls U+0000–U+001F (so also tab, CR and newline) become their Unicode Control Pictures
        /// U+2400–U+241F (ESC is ␛, NUL ␀, BEL ␇, newline ␊), and DEL U+007F becomes ␡ (U+2421). Each takes one
        /// terminal cell, like a letter, so column widths stay right.</item>
        /// <item>C1 controls U+0080–U+009F (among them the 8-bit CSI U+009B, OSC U+009D and ST U+009C) become
        /// their code spelled as text, "&lt;U+009B&gt;". Unicode has no pictures for them, and U+FFFD would hide which
        /// control it was; the spelled form is plain ASCII, eight cells, and the way <c>less</c> shows them.</item>
        /// <item>Bidirectional overrides, embeddings, isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E,
        /// U+200F, U+061C), invisible characters used to disguise names (U+200B, U+2060–U+2064, U+FEFF, U+180E,
        /// U+00AD, U+034F, U+115F, U+1160, U+3164, U+FFA0) and the line and paragraph separators U+2028/U+2029
        /// are spelled the same way ("txt.exe\u202Efdp" is shown as "txt.exe&lt;U+202E&gt;fdp").</item>
        /// <item>The zero-width joiner and non-joiner (U+200D, U+200C) stay as they are only between two
        /// non-ASCII characters (emoji ZWJ sequences, Indic and Persian text); elsewhere they are spelled too,
        /// so "pay\u200Dpal" is shown as "pay&lt;U+200D&gt;pal".</item>
        /// <item>An unpaired surrogate (not a character; no output encoding can carry it) becomes U+FFFD, the
        /// replacement character (one cell).</item>
        /// </list>
        /// The characters of an escape sequence after its introducer are printable already and stay as they are
        /// ("[31m", "]8;;http://x"): nothing is lost and nothing is interpreted, since the ESC (or C1 introducer)
        /// that would make a terminal read them is no longer there. Every other character is kept. A name that
        /// itself contains a Control Picture or the text "&lt;U+…&gt;" looks the same as one with the control; that
        /// ambiguity can only make a name look stranger, never like another, harmless one.
        /// Null gives "".
        /// </summary>
        public static string Clean(string text)
        {
            if (string.IsNullOrEmpty(text)) return "";
            StringBuilder sb = null;
            int i = 0;
            while (i < text.Length)
            {
                string visible = VisibleForm(text, i);
                if (visible == null)
                {
                    int n = char.IsHighSurrogate(text[i]) ? 2 : 1;
                    sb?.Append(text, i, n);
                    i += n;
                    continue;
                }
                if (sb == null) sb = new StringBuilder(text.Length + 16).Append(text, 0, i);
                sb.Append(visible);
                i++;
            }
            return sb == null ? text : sb.ToString();
        }

        /// <summary>Text for a terminal: <see cref="Clean"/> (no control character, so no escape sequence, can reach the console; they are shown as ␛ ␀ &lt;U+009B&gt; …).</summary>
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
        /// cleaned value starts with = + - @, a tab or a carriage return (OWASP's CSV injection rule). The rule
        /// looks at what is written, after the replacement: a raw leading tab or CR is written as ␉ or ␍, which
        /// no spreadsheet reads as the start of a formula, and "\u001b[31m=1" is written as "␛[31m=1".
        /// Quoting the cell for the CSV syntax is the writer's job.
        /// </summary>
        public static string ForCsvCell(string text)
        {
            string clean = Clean(text);
            return StartsRisky(clean) ? "'" + clean : clean;
        }

        /// <summary>
        /// How many UTF-16 units at <paramref name="index"/> <see cref="Clean"/> replaces by a visible form: 1 for a
        /// control, bidi, invisible or lone-surrogate character, 0 when the character there is kept as it is.
        /// </summary>
        public static int UnsafeLength(string text, int index) => VisibleForm(text, index) == null ? 0 : 1;

        /// <summary>
        /// What <see cref="Clean"/> shows instead of the UTF-16 unit at <paramref name="index"/>; null when it is
        /// kept (a high surrogate of a valid pair is kept with its low half).
        /// </summary>
        public static string VisibleForm(string text, int index)
        {
            char c = text[index];
            if (c < 0x20) return ((char)(0x2400 + c)).ToString();
            if (c == 0x7f) return "\u2421";
            if (c >= 0x80 && c <= 0x9f) return Spelled(c);
            if (char.IsHighSurrogate(c)) return index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]) ? null : "\uFFFD";
            if (char.IsLowSurrogate(c)) return index > 0 && char.IsHighSurrogate(text[index - 1]) ? null : "\uFFFD";
            if (IsInvisible(c)) return Spelled(c);
            if (c == '\u200C' || c == '\u200D')
            {
                // A joiner next to another joiner is a trick (and checking only non-joiner neighbours keeps this
                // from recursing along a run of joiners).
                bool before = index > 0 && text[index - 1] > 0x7f && text[index - 1] != '\u200D' && text[index - 1] != '\u200C'
                    && (char.IsLowSurrogate(text[index - 1]) ? index > 1 && char.IsHighSurrogate(text[index - 2]) : VisibleForm(text, index - 1) == null);
                bool after = index + 1 < text.Length && text[index + 1] > 0x7f && text[index + 1] != '\u200D' && text[index + 1] != '\u200C'
                    && VisibleForm(text, index + 1) == null;
                return before && after ? null : Spelled(c);
            }
            return null;
        }

        // "<U+009B>": the code point as text, four hex digits (every character spelled is in the BMP).
        private static string Spelled(char c) => "<U+" + ((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture) + ">";

        private static bool IsInvisible(char c) =>
            (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069') || c == '\u200E' || c == '\u200F' || c == '\u061C'
            || c == '\u200B' || (c >= '\u2060' && c <= '\u2064') || c == '\uFEFF' || c == '\u180E' || c == '\u00AD' || c == '\u034F'
            || c == '\u115F' || c == '\u1160' || c == '\u3164' || c == '\uFFA0' || c == '\u2028' || c == '\u2029';

        private static bool StartsWithWord(string text, int at, string word) =>
            text.Length >= at + word.Length && string.CompareOrdinal(text, at, word, 0, word.Length) == 0;

        private static bool StartsRisky(string text) =>
            !string.IsNullOrEmpty(text) && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' || text[0] == '\t' || text[0] == '\r');
    }
}
