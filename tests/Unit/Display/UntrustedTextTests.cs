using ConnectionsMonitor.Engine.Display;
using Xunit;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>The one set of rules for outside text, and each output's escaping on top of it.</summary>
    public class UntrustedTextTests
    {
        [Theory]
        [InlineData(null, "")]
        [InlineData("nginx", "nginx")]
        [InlineData("\u001b[0msshd", "\u241B[0msshd")]                                // ␛[0msshd, as ss shows ^[[0msshd
        [InlineData("evil\u001b[31mred\u001b[0m", "evil\u241B[31mred\u241B[0m")]       // CSI: the ESC shown, the rest is text
        [InlineData("a\u001b]0;owned title\u0007b", "a\u241B]0;owned title\u2407b")]  // OSC up to BEL: ␛ and ␇
        [InlineData("a\u009b2Jb", "a<U+009B>2Jb")]                                     // 8-bit CSI spelled
        [InlineData("a\u009d0;t\u009cb", "a<U+009D>0;t<U+009C>b")]                     // 8-bit OSC and ST
        [InlineData("a\u001bcb", "a\u241Bcb")]                                          // ESC c (reset)
        [InlineData("a\u001b(Bb", "a\u241B(Bb")]                                        // ESC ( B
        [InlineData("nul\u0000", "nul\u2400")]                                          // ␀
        [InlineData("del\u007f", "del\u2421")]                                          // ␡
        [InlineData("line1\nline2\r\tx\u0085", "line1\u240Aline2\u240D\u2409x<U+0085>")] // ␊ ␍ ␉, NEL spelled: no line break
        [InlineData("\u001f", "\u241F")]                                                // the last C0 control
        [InlineData("txt.exe\u202Efdp", "txt.exe<U+202E>fdp")]                          // right-to-left override
        [InlineData("a\u2066b\u2069\u200Fc\u061C", "a<U+2066>b<U+2069><U+200F>c<U+061C>")]
        [InlineData("pay\u200Bpal\u2060\uFEFF\u00AD", "pay<U+200B>pal<U+2060><U+FEFF><U+00AD>")] // zero-width tricks
        [InlineData("pay\u200Dpal", "pay<U+200D>pal")]                                  // a joiner between ASCII letters is a trick
        [InlineData("\u4E2D\u200D\u200D\u6587", "\u4E2D<U+200D><U+200D>\u6587")]           // so is a run of joiners
        [InlineData("a\u2028b\u2029c", "a<U+2028>b<U+2029>c")]                         // line and paragraph separators
        [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F468\u200D\U0001F469\u200D\U0001F467")] // a ZWJ family stays
        [InlineData("\u092A\u094D\u200D\u0930", "\u092A\u094D\u200D\u0930")]   // Devanagari half form stays
        [InlineData("\u4E2D\u6587 e\u0301", "\u4E2D\u6587 e\u0301")]            // CJK and combining marks are text
        public void CleanShowsWhatCouldDriveATerminalOrDisguiseAName(string raw, string expected)
        {
            Assert.Equal(expected, UntrustedText.Clean(raw));
            Assert.Equal(expected, UntrustedText.ForTerminal(raw));
        }

        [Fact]
        public void NoControlCharacterSurvivesAndNoneIsDeleted()
        {
            for (int c = 0; c <= 0x9f; c++)
            {
                if (c >= 0x20 && c < 0x7f) continue;
                string clean = UntrustedText.Clean("a" + (char)c + "b");
                Assert.StartsWith("a", clean, System.StringComparison.Ordinal);
                Assert.EndsWith("b", clean, System.StringComparison.Ordinal);
                Assert.True(clean.Length > 2, "U+" + c.ToString("X4") + " was deleted");
                foreach (char k in clean) Assert.False(char.IsControl(k), "U+" + c.ToString("X4") + " left a control character");
            }
        }

        [Fact]
        public void AnOsc8HyperlinkKeepsAllItsTextVisible()
        {
            // Before, the whole sequence went and only "red" was left: a process could pose as "red".
            string clean = UntrustedText.Clean("\u001b]8;;http://x\u001b\\red\u001b]8;;\u001b\\");
            Assert.Equal("\u241B]8;;http://x\u241B\\red\u241B]8;;\u241B\\", clean);
            Assert.DoesNotContain('\u001b', clean);
            Assert.Contains("http://x", clean, System.StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("\u001b[0msshd", 8)]          // ␛ is one cell, like the letter it stands in for
        [InlineData("nul\u0000", 4)]
        [InlineData("del\u007f", 4)]
        [InlineData("a\u009b2Jb", 12)]            // <U+009B> is eight ASCII cells
        [InlineData("txt.exe\u202Efdp", 18)]   // 7 + 8 + 3
        [InlineData("\u0000\u0001\u0007\u0009\u000a\u000d\u001b\u001f\u007f", 9)]
        public void VisibleFormsTakeTheCellsTheirLengthSays(string raw, int cells)
        {
            string clean = UntrustedText.Clean(raw);
            Assert.Equal(cells, CellWidth.Of(clean));
            Assert.Equal(clean, CellWidth.PadRight(CellWidth.Fit(clean, cells, CellWidth.Ellipsis), cells));
        }

        [Fact]
        public void EveryControlPictureIsOneCell()
        {
            for (int c = 0x2400; c <= 0x2421; c++) Assert.Equal(1, CellWidth.Of(((char)c).ToString()));
            Assert.Equal(1, CellWidth.Of("\uFFFD"));
        }

        [Fact]
        public void LoneSurrogatesBecomeTheReplacementCharacter()
        {
            // Built here: xunit's data serialisation would replace them before the test saw them.
            string raw = "a" + '\uD800' + "b" + '\uDC00';
            Assert.Equal("a\uFFFDb\uFFFD", UntrustedText.Clean(raw));
            Assert.Equal("\U0001F600", UntrustedText.Clean("\U0001F600")); // a pair stays
        }

        [Fact]
        public void ALongRunOfJoinersIsNoProblem()
        {
            string raw = "\u4E2D" + new string('\u200D', 100000) + "\u6587";
            Assert.Equal(2 + 8 * 100000, UntrustedText.Clean(raw).Length);
        }

        [Fact]
        public void ReverseDnsNamesAreAlreadyInsideTheRules()
        {
            // HostNameSanitizer escapes at the entry (RFC 1035 \DDD); what it lets through is unchanged by Clean.
            string name = ConnectionsMonitor.Engine.Enrichment.Dns.HostNameSanitizer.FromText("a\u001b[31m\u202E.b\u200B");
            Assert.Equal(@"a\027\09131m\226\128\174.b\226\128\139", name);
            Assert.Equal(name, UntrustedText.Clean(name));
        }

        [Fact]
        public void HtmlEncodesMarkupAfterCleaning()
        {
            Assert.Equal("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\u241B[2J &amp; &quot;q&quot; &lt;U+202E&gt;",
                UntrustedText.ForHtml("<script>alert('x')</script>\u001b[2J & \"q\" \u202E"));
        }

        [Theory]
        [InlineData("@everyone look", "@\u200Beveryone look")]
        [InlineData("hi @here", "hi @\u200Bhere")]
        [InlineData("<@123456789>", "&lt;\u200B@123456789&gt;")]
        [InlineData("<!channel> <#42>", "&lt;\u200B!channel&gt; &lt;\u200B#42&gt;")]
        [InlineData("a & b", "a &amp; b")]
        [InlineData("me@example.invalid", "me@example.invalid")]
        [InlineData("bad\u001b[5mname", "bad\u241B[5mname")]
        [InlineData("\u001b]8;;http://x\u001b\\red", "\u241B]8;;http:\u200B//x\u241B\\red")]
        [InlineData("rtl\u202E", "rtl&lt;U+202E&gt;")]
        public void ChatNeutralisesMentionsAndSlackControlCharacters(string raw, string expected)
        {
            Assert.Equal(expected, UntrustedText.ForChat(raw));
        }

        [Fact]
        public void MarkdownEscapesTheVisibleFormsToo()
        {
            // ␛ stays, the link's ] and \ are backslash-escaped, "://" is broken, "<U+202E>" keeps its text.
            Assert.Equal("\u241B\\]8;;http:\u200B//x\u241B\\\\red \\<U+202E\\>",
                UntrustedText.ForMarkdown("\u001b]8;;http://x\u001b\\red \u202E"));
        }

        [Theory]
        [InlineData("=HYPERLINK(\"http://x.invalid\")", "'=HYPERLINK(\"http://x.invalid\")")]
        [InlineData("+1", "'+1")]
        [InlineData("-2+3", "'-2+3")]
        [InlineData("@SUM(A1)", "'@SUM(A1)")]
        [InlineData("\t=1", "\u2409=1")]             // the tab is shown as ␉, and ␉ starts no formula
        [InlineData("\r=1", "\u240D=1")]
        [InlineData("\u001b[31m=1", "\u241B[31m=1")]
        [InlineData("=\u001b[31m1", "'=\u241B[31m1")]  // the formula rule applies after the replacement
        [InlineData("\u0000", "\u2400")]
        [InlineData("nginx", "nginx")]
        [InlineData("a=b", "a=b")]
        public void CsvCellsCannotStartAFormula(string raw, string expected)
        {
            Assert.Equal(expected, UntrustedText.ForCsvCell(raw));
        }
    }
}
