using ConnectionsMonitor.Engine.Filtering;
using Xunit;

namespace ConnectionsMonitor.Tests.Filtering
{
    public class AddressPatternTests
    {
        [Theory]
        [InlineData("10.0.0.0/8", "10.200.3.4", true)]
        [InlineData("10.0.0.0/8", "11.0.0.1", false)]
        [InlineData("10.0.0.0/8", "::ffff:10.1.1.1", true)]
        [InlineData("192.168.*", "192.168.7.9", true)]
        [InlineData("192.168.*", "192.169.7.9", false)]
        [InlineData("2001:db8::/32", "2001:db8:1::5", true)]
        [InlineData("2001:db8::/32", "2001:db9::5", false)]
        [InlineData("127.0.0.1", "127.0.0.1", true)]
        [InlineData("0.0.0.0/0", "8.8.8.8", true)]
        [InlineData("10.1.2.128/25", "10.1.2.127", false)]
        [InlineData("10.1.2.128/25", "10.1.2.200", true)]
        // IPv4-mapped blocks are 128-bit prefixes over the IPv4 block they map.
        [InlineData("::ffff:127.0.0.0/104", "127.0.0.1", true)]
        [InlineData("::ffff:127.0.0.0/104", "::ffff:127.9.9.9", true)]
        [InlineData("::ffff:127.0.0.0/104", "128.0.0.1", false)]
        [InlineData("::ffff:10.1.2.3/128", "10.1.2.3", true)]
        // The bracketed form of URLs and "[addr]:port" is the address inside.
        [InlineData("[::1]", "::1", true)]
        [InlineData("[2001:db8::]/32", "2001:db8:1::5", true)]
        [InlineData("10.0.0.[1-5]", "10.0.0.3", true)]   // a wildcard's class stays a class
        [InlineData("10.0.0.[1-5]", "10.0.0.7", false)]
        // An IPv4 address in brackets is that address, not a class of characters that matches nothing (a newcomer's trial).
        [InlineData("[127.0.0.1]", "127.0.0.1", true)]
        [InlineData("[127.0.0.1]", "127.0.0.2", false)]
        // A mapped address matches a wildcard written either way: as its IPv4 form, or as shown (a newcomer's trial).
        [InlineData("8.8.*", "::ffff:8.8.8.8", true)]
        [InlineData("::ffff:8.8.*", "::ffff:8.8.8.8", true)]
        [InlineData("::ffff:8.8.*", "8.8.8.8", false)]
        public void Matches(string pattern, string address, bool expected)
        {
            Assert.Equal(expected, AddressPattern.Parse(pattern).IsMatch(System.Net.IPAddress.Parse(address)));
        }

        [Theory]
        [InlineData("10.0.0.0/33")]
        [InlineData("10.0.0/8")]
        [InlineData("banana")]
        [InlineData("10")]
        [InlineData("::1/129")]
        [InlineData("10.0.0.0/-1")]
        [InlineData("::ffff:10.0.0.0/64")]
        [InlineData("::ffff:10.0.0.0/129")]
        public void RejectsWithReason(string pattern)
        {
            Assert.False(AddressPattern.TryParse(pattern, out _, out var error));
            Assert.Contains(pattern, error);
        }
    }
}
