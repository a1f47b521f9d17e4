using ConnectionsMonitor.Engine.Display;
using Xunit;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>Text measured, cut and padded in terminal cells, by grapheme cluster.</summary>
    public class CellWidthTests
    {
        [Theory]
        [InlineData("", 0)]
        [InlineData("python3", 7)]
        [InlineData("\u4E2D\u6587\u8FDB\u7A0B", 8)]                               // 中文进程
        [InlineData("e\u0301cole\u0300", 5)]                                      // combining acute and grave: no cells
        [InlineData("\U0001F40D", 2)]                                             // snake emoji
        [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467", 2)]             // ZWJ family: one cluster
        [InlineData("\U0001F1E9\U0001F1EA", 2)]                                   // flag DE
        [InlineData("\u2764\uFE0F", 2)]                                           // heart with emoji presentation
        [InlineData("\u2764", 1)]                                                 // text presentation
        [InlineData("\uFF21\uFF22", 4)]                                           // fullwidth A B
        public void WidthIsInCells(string text, int cells)
        {
            Assert.Equal(cells, CellWidth.Of(text));
        }

        [Theory]
        [InlineData("\u4E2D\u6587\u8FDB\u7A0B", 5, "\u4E2D\u6587\u2026")]               // 2+2+1
        [InlineData("\u4E2D\u6587\u8FDB\u7A0B", 6, "\u4E2D\u6587\u2026")]               // a wide char would straddle: one cell short
        [InlineData("e\u0301e\u0301e\u0301e\u0301", 3, "e\u0301e\u0301\u2026")]          // marks stay with their base
        [InlineData("a\U0001F468\u200D\U0001F469\u200D\U0001F467bc", 4, "a\U0001F468\u200D\U0001F469\u200D\U0001F467\u2026")]
        [InlineData("a\U0001F468\u200D\U0001F469\u200D\U0001F467b", 3, "a\u2026")]     // the sequence is never split
        [InlineData("\U0001F1E9\U0001F1EA\U0001F1EB\U0001F1F7", 3, "\U0001F1E9\U0001F1EA\u2026")] // nor a flag
        [InlineData("short", 9, "short")]
        public void FitCutsWholeClustersOnly(string text, int cells, string expected)
        {
            Assert.Equal(expected, CellWidth.Fit(text, cells, CellWidth.Ellipsis));
            Assert.True(CellWidth.Of(CellWidth.Fit(text, cells, CellWidth.Ellipsis)) <= cells);
        }

        [Fact]
        public void CellPadsToExactlyTheColumn()
        {
            Assert.Equal("\u4E2D\u6587\u2026 ", TextFormat.Cell("\u4E2D\u6587\u8FDB\u7A0B", 6));
            Assert.Equal(6, CellWidth.Of(TextFormat.Cell("\u4E2D\u6587\u8FDB\u7A0B", 6)));
            Assert.Equal("  \U0001F40D", TextFormat.Cell("\U0001F40D", 4, alignRight: true));
            Assert.Equal("a\u2026", TextFormat.Cell("a\u001b[31mbcdef", 2));
        }

        [Fact]
        public void LiveTableCellsAreCutAndPaddedInCells()
        {
            Assert.Equal("\u4E2D\u6587...", TableLayout.Fit("\u4E2D\u6587\u8FDB\u7A0B\u540D", 8, true));
            Assert.Equal("\u4E2D", TableLayout.Fit("\u4E2D\u6587", 3, true)); // narrower than the ellipsis: hard cut, whole characters
        }
    }
}
