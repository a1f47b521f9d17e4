using System.Net;
using ConnectionsMonitor.Engine.Blocking;
using Xunit;

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>Addresses and CIDR blocks as the blocking commands take them: canonical text, refusals with what is expected, containment.</summary>
    public class BlockTargetTests
    {
        [Theory]
        [InlineData("203.0.113.7", "203.0.113.7", 32, false)]
        [InlineData(" 203.0.113.7 ", "203.0.113.7", 32, false)]
        [InlineData("203.0.113.7/32", "203.0.113.7", 32, false)]
        [InlineData("198.51.100.0/24", "198.51.100.0/24", 24, false)]
        [InlineData("198.51.100.9/24", "198.51.100.0/24", 24, true)]
        [InlineData("2001:DB8::7", "2001:db8::7", 128, false)]
        [InlineData("[2001:db8::7]", "2001:db8::7", 128, false)]
        [InlineData("2001:db8:0:0::/32", "2001:db8::/32", 32, false)]
        [InlineData("2001:db8::1/32", "2001:db8::/32", 32, true)]
        [InlineData("::ffff:203.0.113.7", "203.0.113.7", 32, false)]
        [InlineData("::ffff:198.51.100.0/120", "198.51.100.0/24", 24, false)]
        [InlineData("0.0.0.0/0", "0.0.0.0/0", 0, false)]
        [InlineData("::/0", "::/0", 0, false)]
        public void ParsesToCanonicalText(string text, string canonical, int prefix, bool cleared)
        {
            var t = BlockTarget.Parse(text);
            Assert.Equal(canonical, t.Text);
            Assert.Equal(prefix, t.PrefixLength);
            Assert.Equal(cleared, t.HostBitsCleared);
        }

        [Theory]
        [InlineData("", "The address is empty; expected an IP address (203.0.113.7, 2001:db8::7) or a CIDR block (198.51.100.0/24, 2001:db8::/32).")]
        [InlineData("example.com", "'example.com' is not an IP address or CIDR block. Expected an IP address (203.0.113.7, 2001:db8::7) or a CIDR block (198.51.100.0/24, 2001:db8::/32).")]
        [InlineData("10.1", "'10.1' is not an IP address or CIDR block. Expected an IP address (203.0.113.7, 2001:db8::7) or a CIDR block (198.51.100.0/24, 2001:db8::/32).")]
        [InlineData("10.0.0.0/33", "'10.0.0.0/33' is not a valid CIDR block: the prefix length must be a whole number from 0 to 32.")]
        [InlineData("10.0.0.0/x", "'10.0.0.0/x' is not a valid CIDR block: the prefix length must be a whole number from 0 to 32.")]
        [InlineData("fe80::1%eth0", "'fe80::1%eth0' has a zone (%...); a block applies to an address on every interface, so give the address without the zone.")]
        [InlineData("0.0.0.0", "'0.0.0.0' is the unspecified address, which no remote end has. Expected an IP address (203.0.113.7, 2001:db8::7) or a CIDR block (198.51.100.0/24, 2001:db8::/32).")]
        [InlineData("::", "'::' is the unspecified address, which no remote end has. Expected an IP address (203.0.113.7, 2001:db8::7) or a CIDR block (198.51.100.0/24, 2001:db8::/32).")]
        [InlineData("::ffff:10.0.0.0/90", "'::ffff:10.0.0.0/90' is not a usable CIDR block: an IPv4-mapped block needs a prefix length from 96 to 128 (or write it in IPv4 form).")]
        [InlineData("203.0.113.*", "'203.0.113.*' is not an IP address or CIDR block. Expected an IP address (203.0.113.7, 2001:db8::7) or a CIDR block (198.51.100.0/24, 2001:db8::/32).")]
        public void RefusesWithWhatIsExpected(string text, string message)
        {
            Assert.False(BlockTarget.TryParse(text, out var t, out var error));
            Assert.Null(t);
            Assert.Equal(message, error);
        }

        [Fact]
        public void ContainsAndOverlaps()
        {
            var block = BlockTarget.Parse("198.51.100.0/24");
            Assert.True(block.Contains(IPAddress.Parse("198.51.100.255")));
            Assert.True(block.Contains(IPAddress.Parse("::ffff:198.51.100.1")));
            Assert.False(block.Contains(IPAddress.Parse("198.51.101.0")));
            Assert.False(block.Contains(IPAddress.Parse("2001:db8::1")));
            Assert.True(block.Overlaps(BlockTarget.Parse("198.51.100.7")));
            Assert.True(BlockTarget.Parse("198.51.100.7").Overlaps(block));
            Assert.True(block.Overlaps(BlockTarget.Parse("198.0.0.0/8")));
            Assert.False(block.Overlaps(BlockTarget.Parse("198.51.101.0/24")));
            Assert.False(block.Overlaps(BlockTarget.Parse("::/0")));
            Assert.True(BlockTarget.Parse("::/0").Overlaps(BlockTarget.Parse("2001:db8::1")));
            Assert.Equal(BlockTarget.Parse("2001:DB8::1"), BlockTarget.Parse("2001:db8:0::1"));
        }
    }
}
