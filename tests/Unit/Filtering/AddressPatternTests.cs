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
        public void RejectsWithReason(string pattern)
        {
            Assert.False(AddressPattern.TryParse(pattern, out _, out var error));
            Assert.Contains(pattern, error);
        }
    }
}
