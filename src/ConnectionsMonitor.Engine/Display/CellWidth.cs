using System.Globalization;
using System.Text;
using Wcwidth;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>
    /// Width of text in terminal cells (not UTF-16 units), and cutting and padding by that width. Text is
    /// measured by grapheme cluster (what the runtime's <see cref="StringInfo"/> calls a text element: on
    /// .NET 5+ Unicode's extended grapheme clusters, on .NET Framework base character plus combining marks),
    /// so a cut never splits a surrogate pair, a base from its combining marks, an emoji ZWJ sequence or a flag.
    /// A cluster's width is that of its first code point from the Wcwidth package's tables (East Asian Wide
    /// and Fullwidth and emoji presentation = 2; combining, enclosing and zero-width = 0), except: a flag
    /// (two regional indicators) is 2, and a cluster with the emoji presentation selector U+FE0F is 2.
    /// Control characters count 0: text is expected to have passed <see cref="UntrustedText.Clean"/>.
    /// </summary>
    public static class CellWidth
    {
        /// <summary>The ellipsis PowerShell's own table formatting uses when it cuts a cell: "…" (U+2026, one cell).</summary>
        public const string Ellipsis = "\u2026";

        /// <summary>Cells <paramref name="text"/> takes in a terminal; 0 for null or "".</summary>
        public static int Of(string text)
        {
            if (string.IsNullOrEmpty(text)) return 0;
            if (IsPlainAscii(text)) return text.Length;
            int width = 0;
            var e = StringInfo.GetTextElementEnumerator(text);
            while (e.MoveNext()) width += OfCluster((string)e.Current);
            return width;
        }

        /// <summary>Cells one grapheme cluster takes (see the class summary for the rules).</summary>
        public static int OfCluster(string cluster)
        {
            if (string.IsNullOrEmpty(cluster)) return 0;
            int first = CodePoint(cluster, 0);
            if (IsRegionalIndicator(first))
            {
                int second = cluster.Length >= 4 ? CodePoint(cluster, 2) : 0;
                return IsRegionalIndicator(second) ? 2 : 1;
            }
            int w = UnicodeCalculator.GetWidth(first);
            if (w < 0) w = 0;
            if (w == 1 && cluster.IndexOf('\uFE0F') > 0) w = 2;
            return w;
        }

        /// <summary>
        /// <paramref name="text"/> within <paramref name="cells"/> cells: as it is when it fits; else the leading
        /// whole clusters that fit with <paramref name="ellipsis"/> after them (no ellipsis when the column is not
        /// wider than the ellipsis: then only the clusters that fit). The result can be one cell short of
        /// <paramref name="cells"/> when a wide character would straddle the edge; <see cref="PadRight"/> fills it.
        /// </summary>
        public static string Fit(string text, int cells, string ellipsis)
        {
            text = text ?? "";
            if (cells <= 0) return "";
            if (Of(text) <= cells) return text;
            int ellipsisWidth = Of(ellipsis);
            bool withEllipsis = !string.IsNullOrEmpty(ellipsis) && cells > ellipsisWidth;
            int room = withEllipsis ? cells - ellipsisWidth : cells;
            // Printable ASCII: one character is one cluster of one cell, so the cut is a plain substring.
            if (IsPlainAscii(text)) return withEllipsis ? text.Substring(0, room) + ellipsis : text.Substring(0, room);
            var sb = new StringBuilder(text.Length);
            int used = 0;
            var e = StringInfo.GetTextElementEnumerator(text);
            while (e.MoveNext())
            {
                string cluster = (string)e.Current;
                int w = OfCluster(cluster);
                if (used + w > room) break;
                sb.Append(cluster);
                used += w;
            }
            if (withEllipsis) sb.Append(ellipsis);
            return sb.ToString();
        }

        /// <summary><paramref name="text"/> followed by spaces up to <paramref name="cells"/> cells (unchanged when already as wide or wider).</summary>
        public static string PadRight(string text, int cells)
        {
            text = text ?? "";
            int missing = cells - Of(text);
            return missing > 0 ? text + new string(' ', missing) : text;
        }

        /// <summary>Spaces then <paramref name="text"/>, up to <paramref name="cells"/> cells (unchanged when already as wide or wider).</summary>
        public static string PadLeft(string text, int cells)
        {
            text = text ?? "";
            int missing = cells - Of(text);
            return missing > 0 ? new string(' ', missing) + text : text;
        }

        // The code point at index; U+FFFD for an unpaired surrogate.
        private static int CodePoint(string s, int index)
        {
            char c = s[index];
            if (char.IsHighSurrogate(c) && index + 1 < s.Length && char.IsLowSurrogate(s[index + 1])) return char.ConvertToUtf32(c, s[index + 1]);
            return char.IsSurrogate(c) ? 0xFFFD : c;
        }

        private static bool IsRegionalIndicator(int cp) => cp >= 0x1F1E6 && cp <= 0x1F1FF;

        private static bool IsPlainAscii(string text)
        {
            foreach (char c in text)
                if (c < 0x20 || c > 0x7e) return false;
            return true;
        }
    }
}
