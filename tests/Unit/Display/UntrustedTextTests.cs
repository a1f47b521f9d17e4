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
        [InlineData("evil\u001b[31mred\u001b[0m", "evilred")]                 // CSI sequences go whole
        [InlineData("a\u001b]0;owned title\u0007b", "ab")]                   // OSC up to BEL
        [InlineData("a\u001b]8;;http://x.invalid/\u001b\\link\u001b]8;;\u001b\\b", "alinkb")] // OSC 8 hyperlink, ST-terminated
        [InlineData("a\u009b2Jb", "ab")]                                        // 8-bit CSI
        [InlineData("a\u001bcb", "ab")]                                         // ESC c (reset)
        [InlineData("a\u001b(Bb", "ab")]                                        // ESC ( B
        [InlineData("line1\nline2\r\tx\u0000\u007f\u0085", "line1line2x")]
        [InlineData("txt.exe\u202Efdp", "txt.exefdp")]                        // right-to-left override
        [InlineData("a\u2066b\u2069\u200Fc\u061C", "abc")]
        [InlineData("pay\u200Bpal\u2060\uFEFF\u00AD", "paypal")]              // zero-width tricks
        [InlineData("pay\u200Dpal", "paypal")]                                  // a joiner between ASCII letters is a trick
        [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F468\u200D\U0001F469\u200D\U0001F467")] // a ZWJ family stays
        [InlineData("\u092A\u094D\u200D\u0930", "\u092A\u094D\u200D\u0930")]   // Devanagari half form stays
        [InlineData("\u4E2D\u6587 e\u0301", "\u4E2D\u6587 e\u0301")]            // CJK and combining marks are text
        public void CleanRemovesWhatCanDriveATerminalOrDisguiseAName(string raw, string expected)
        {
            Assert.Equal(expected, UntrustedText.Clean(raw));
            Assert.Equal(expected, UntrustedText.ForTerminal(raw));
        }

        [Fact]
        public void LoneSurrogatesAreDropped()
        {
            // Built here: xunit's data serialisation would replace them before the test saw them.
            string raw = "a" + '\uD800' + "b" + '\uDC00';
            Assert.Equal("ab", UntrustedText.Clean(raw));
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
            Assert.Equal("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;",
                UntrustedText.ForHtml("<script>alert('x')</script>\u001b[2J & \"q\""));
        }

        [Theory]
        [InlineData("@everyone look", "@\u200Beveryone look")]
        [InlineData("hi @here", "hi @\u200Bhere")]
        [InlineData("<@123456789>", "&lt;\u200B@123456789&gt;")]
        [InlineData("<!channel> <#42>", "&lt;\u200B!channel&gt; &lt;\u200B#42&gt;")]
        [InlineData("a & b", "a &amp; b")]
        [InlineData("me@example.invalid", "me@example.invalid")]
        [InlineData("bad\u001b[5mname", "badname")]
        public void ChatNeutralisesMentionsAndSlackControlCharacters(string raw, string expected)
        {
            Assert.Equal(expected, UntrustedText.ForChat(raw));
        }

        [Theory]
        [InlineData("=HYPERLINK(\"http://x.invalid\")", "'=HYPERLINK(\"http://x.invalid\")")]
        [InlineData("+1", "'+1")]
        [InlineData("-2+3", "'-2+3")]
        [InlineData("@SUM(A1)", "'@SUM(A1)")]
        [InlineData("\t=1", "'=1")]
        [InlineData("\r=1", "'=1")]
        [InlineData("\u001b[31m=1", "'=1")]
        [InlineData("nginx", "nginx")]
        [InlineData("a=b", "a=b")]
        public void CsvCellsCannotStartAFormula(string raw, string expected)
        {
            Assert.Equal(expected, UntrustedText.ForCsvCell(raw));
        }
    }
}
