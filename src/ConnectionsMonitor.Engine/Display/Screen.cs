using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>One line of a frame: plain text and the SGR sequence that styles it (empty for none).</summary>
    public readonly struct ScreenLine : IEquatable<ScreenLine>
    {
        public ScreenLine(string text, string style = "")
        {
            Text = text ?? "";
            Style = style ?? "";
        }

        public string Text { get; }
        public string Style { get; }

        public bool Equals(ScreenLine other) => Text == other.Text && Style == other.Style;
        public override bool Equals(object obj) => obj is ScreenLine l && Equals(l);
        public override int GetHashCode() => Text.GetHashCode() ^ Style.GetHashCode();
        public override string ToString() => Text;
    }

    /// <summary>Terminal control sequences the live view uses (VT100/xterm; Windows 10+ consoles understand them).</summary>
    public static class Ansi
    {
        public const string EnterAlternateScreen = "\u001b[?1049h";
        public const string LeaveAlternateScreen = "\u001b[?1049l";
        public const string HideCursor = "\u001b[?25l";
        public const string ShowCursor = "\u001b[?25h";
        public const string ClearScreen = "\u001b[H\u001b[2J";
        public const string EraseToEndOfLine = "\u001b[K";

        /// <summary>Entering the live view: alternate screen (the user's scrollback is left alone), no cursor.</summary>
        public const string Enter = EnterAlternateScreen + HideCursor + ClearScreen;

        /// <summary>Leaving it, whatever state it was left in: colours reset, cursor shown, main screen back.</summary>
        public const string Restore = TerminalColors.Reset + ShowCursor + LeaveAlternateScreen;

        public static string MoveTo(int row, int column) =>
            "\u001b[" + row.ToString(CultureInfo.InvariantCulture) + ";" + column.ToString(CultureInfo.InvariantCulture) + "H";
    }

    /// <summary>
    /// Turns frames into terminal output that redraws only what changed: the first frame (and any frame
    /// after a resize or <see cref="Invalidate"/>) clears and draws everything; later frames move the
    /// cursor to each changed line and rewrite it. No flicker, and an unchanged table costs nothing to draw.
    /// </summary>
    public sealed class ScreenDiffer
    {
        private string[] _previous;
        private ScreenLine[] _previousLines;
        private int _width, _height;

        /// <summary>Forces a full redraw next time (after something else wrote to the screen).</summary>
        public void Invalidate() => _previous = null;

        /// <summary>Lines changed by the last <see cref="Render"/> (for tests and the benchmark).</summary>
        public int LastChangedLines { get; private set; }

        /// <summary>Lines the last <see cref="Render"/> had to encode (cut to the width and styled) because they differ from the frame before as text or style; for tests.</summary>
        internal int LastEncodedLines { get; private set; }

        /// <summary>
        /// The output that turns the screen drawn last into <paramref name="frame"/> on a terminal of
        /// <paramref name="width"/> × <paramref name="height"/>: everything after a resize or <see cref="Invalidate"/>,
        /// else only the lines whose output changed. A line equal to the one drawn at its row last time is not
        /// encoded again.
        /// </summary>
        public string Render(IReadOnlyList<ScreenLine> frame, int width, int height)
        {
            width = Math.Max(1, width);
            height = Math.Max(1, height);
            bool full = _previous == null || width != _width || height != _height;
            var lines = full || _previous.Length != height ? new string[height] : _previous;
            var sources = full || _previousLines == null || _previousLines.Length != height ? new ScreenLine[height] : _previousLines;
            var sb = new StringBuilder();
            if (full) sb.Append(TerminalColors.Reset).Append(Ansi.ClearScreen);
            int changed = 0, encodedCount = 0;
            for (int i = 0; i < height; i++)
            {
                var line = i < frame.Count ? frame[i] : Blank;
                // The same text and style as drawn last time: the same output, nothing to send.
                if (!full && sources[i].Equals(line)) continue;
                string encoded = Encode(line, width, out bool fillsWidth);
                encodedCount++;
                sources[i] = line;
                if (full ? encoded.Length == 0 : lines[i] == encoded)
                {
                    lines[i] = encoded;
                    continue;
                }
                lines[i] = encoded;
                changed++;
                sb.Append(Ansi.MoveTo(i + 1, 1)).Append(encoded);
                // A line that fills the width needs no erase (and erasing with the cursor parked on the
                // last column would wipe that column's character on xterm-like terminals).
                if (!fillsWidth) sb.Append(Ansi.EraseToEndOfLine);
            }
            _previous = lines;
            _previousLines = sources;
            _width = width;
            _height = height;
            LastChangedLines = changed;
            LastEncodedLines = encodedCount;
            return sb.ToString();
        }

        private static readonly ScreenLine Blank = new ScreenLine("");

        /// <summary>
        /// One line as it goes to the terminal: cut to the width in terminal cells (never inside a grapheme cluster), with
        /// "…" in the last cell when text was cut off (trailing spaces cut off need none), styled, style reset after it.
        /// </summary>
        public static string Encode(ScreenLine line, int width, out bool fillsWidth)
        {
            string text = line.Text;
            int cells = CellWidth.Of(text);
            if (cells > width)
            {
                string trimmed = text.TrimEnd(' ');
                text = CellWidth.Of(trimmed) <= width ? trimmed : CellWidth.Fit(trimmed, width, CellWidth.Ellipsis);
                cells = CellWidth.Of(text);
            }
            fillsWidth = cells == width;
            if (line.Style.Length == 0 || text.Length == 0) return text;
            return line.Style + text + TerminalColors.Reset;
        }

        /// <summary>A frame as plain text (no escapes), for output that is not a terminal.</summary>
        public static string Plain(IReadOnlyList<ScreenLine> frame)
        {
            var sb = new StringBuilder();
            foreach (var line in frame) sb.Append(line.Text.TrimEnd()).Append(Environment.NewLine);
            return sb.ToString();
        }
    }
}
