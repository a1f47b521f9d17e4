using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using ConnectionsMonitor.Engine.Display;
using Xunit;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>The differ sends only changed lines, with cursor moves, and keeps lines inside the width.</summary>
    public class ScreenDifferTests
    {
        private static List<ScreenLine> Frame(params string[] lines) => lines.Select(l => new ScreenLine(l)).ToList();

        [Fact]
        public void FirstFrameClearsAndDrawsEverythingThenOnlyChangedLinesAreSent()
        {
            var differ = new ScreenDiffer();
            string first = differ.Render(Frame("title", "row a", "row b"), 20, 5);
            Assert.StartsWith("\u001b[0m\u001b[H\u001b[2J", first, StringComparison.Ordinal);
            Assert.Contains("\u001b[1;1Htitle\u001b[K", first, StringComparison.Ordinal);
            Assert.Contains("\u001b[3;1Hrow b\u001b[K", first, StringComparison.Ordinal);

            string same = differ.Render(Frame("title", "row a", "row b"), 20, 5);
            Assert.Equal("", same);
            Assert.Equal(0, differ.LastChangedLines);

            string changed = differ.Render(Frame("title", "row A", "row b"), 20, 5);
            Assert.Equal("\u001b[2;1Hrow A\u001b[K", changed);

            string shorter = differ.Render(Frame("title", "row A"), 20, 5);
            Assert.Equal("\u001b[3;1H\u001b[K", shorter); // a line that went away is erased
        }

        [Fact]
        public void AResizeOrInvalidateRedrawsEverything()
        {
            var differ = new ScreenDiffer();
            differ.Render(Frame("a", "b"), 20, 5);
            Assert.Contains("\u001b[2J", differ.Render(Frame("a", "b"), 30, 5), StringComparison.Ordinal);
            differ.Invalidate();
            Assert.Contains("\u001b[2J", differ.Render(Frame("a", "b"), 30, 5), StringComparison.Ordinal);
        }

        [Fact]
        public void LinesAreCutToTheWidthStyledAndReset()
        {
            var differ = new ScreenDiffer();
            string output = differ.Render(new[] { new ScreenLine("0123456789ABCDEF", "\u001b[32m") }, 10, 1);
            // Full width: no erase (it would wipe the last column on xterm-like terminals).
            // Text cut off: its last cell says so.
            Assert.Contains("\u001b[1;1H\u001b[32m012345678\u2026\u001b[0m", output, StringComparison.Ordinal);
            Assert.DoesNotContain("9ABCDEF", output);
            Assert.DoesNotContain("\u001b[K", output, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("abc          ", 10, "abc")]                        // only padding is cut: no ellipsis
        [InlineData("abcdefghij   ", 10, "abcdefghij")]                 // fills the width exactly once the padding goes
        [InlineData("名前名前名前 x", 10, "名前名前\u2026")]          // wide characters: the ellipsis takes the cell a half character would
        [InlineData("abcdefghijk", 10, "abcdefghi\u2026")]
        public void ACutLineEndsInAnEllipsisOnlyWhenTextWasLost(string text, int width, string expected)
        {
            Assert.Equal(expected, ScreenDiffer.Encode(new ScreenLine(text), width, out _));
        }

        [Fact]
        public void PlainFramesCarryNoEscapes()
        {
            string plain = ScreenDiffer.Plain(new[] { new ScreenLine("header   ", "\u001b[7m"), new ScreenLine("row", "\u001b[38;2;1;2;3m") });
            Assert.DoesNotMatch(new Regex("\u001b"), plain);
            Assert.Equal(new[] { "header", "row", "" }, plain.Split('\n').Select(l => l.TrimEnd('\r')));
        }
    }
}
