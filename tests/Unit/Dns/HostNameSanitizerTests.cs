using ConnectionsMonitor.Engine.Enrichment.Dns;
using Xunit;

namespace ConnectionsMonitor.Tests.Dns
{
    /// <summary>The escaping of PTR text, directly (the resolver tests cover it end to end through real servers).</summary>
    public sealed class HostNameSanitizerTests
    {
        [Theory]
        [InlineData("host-a.example.com.", "host-a.example.com")]
        [InlineData("host-a.example.com", "host-a.example.com")]
        [InlineData("_srv.Example.COM.", "_srv.Example.COM")]
        [InlineData(@"ev\027[31m.test.", @"ev\027\09131m.test")]     // DnsClient's \DDD for ESC
        [InlineData(@"a\\b\;c\""d.test.", @"a\092b\059c\034d.test")]   // DnsClient's \X escapes
        [InlineData("a b<i>&.test.", @"a\032b\060i\062\038.test")]
        [InlineData(@"x\195\188.test.", @"x\195\188.test")]
        [InlineData("xn--tf-wka.test.", "xn--tf-wka.test")]
        public void Presentation_text_comes_out_as_host_name_characters_and_decimal_escapes(string presentation, string expected)
        {
            Assert.Equal(expected, HostNameSanitizer.FromPresentation(presentation));
        }

        [Theory]
        [InlineData(null)]
        [InlineData("")]
        [InlineData(".")]
        [InlineData("a..b.")]
        [InlineData(@"a\256.test.")]
        public void What_cannot_be_a_name_gives_null(string presentation)
        {
            Assert.Null(HostNameSanitizer.FromPresentation(presentation));
        }

        [Fact]
        public void Labels_and_names_over_the_DNS_limits_give_null()
        {
            Assert.NotNull(HostNameSanitizer.FromPresentation(new string('a', 63) + ".test."));
            Assert.Null(HostNameSanitizer.FromPresentation(new string('a', 64) + ".test."));
            string label = new string('a', 63) + ".";
            Assert.Null(HostNameSanitizer.FromPresentation(label + label + label + label));   // 256 octets on the wire
            Assert.NotNull(HostNameSanitizer.FromPresentation(label + label + label + new string('a', 61) + "."));   // 255
        }

        [Fact]
        public void System_resolver_text_is_escaped_the_same_way()
        {
            Assert.Equal("localhost", HostNameSanitizer.FromText("localhost"));
            Assert.Equal(@"a\027\09131m\092.b\195\188", HostNameSanitizer.FromText("a\u001b[31m\\.b\u00fc"));
            Assert.Null(HostNameSanitizer.FromText(""));
        }
    }
}
