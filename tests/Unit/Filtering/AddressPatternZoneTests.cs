using System.Net;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Filtering
{
    /// <summary>Zones (RFC 4007 "%zone") in address text and address patterns.</summary>
    public class AddressPatternZoneTests
    {
        private static IPAddress Scoped(string address, long scope) => new IPAddress(IPAddress.Parse(address).GetAddressBytes(), scope);

        [Theory]
        [InlineData("fe80::1%3", "fe80::1", 3, true)]
        [InlineData("fe80::1%3", "fe80::1", 4, false)]
        [InlineData("fe80::1%3", "fe80::1", 0, false)]     // a zone is demanded, the address has none
        [InlineData("fe80::1", "fe80::1", 7, true)]        // no zone in the pattern: any zone
        [InlineData("fe80::1", "fe80::2", 7, false)]
        [InlineData("fe80::%3/64", "fe80::abcd", 3, true)]
        [InlineData("fe80::%3/64", "fe80::abcd", 2, false)]
        [InlineData("fe80::/64", "fe80::abcd", 2, true)]
        [InlineData("fe80::*", "fe80::abcd", 2, true)]     // wildcards see the zone in the text and match through it
        public void ZonesByIndex(string pattern, string address, long scope, bool expected)
        {
            Assert.Equal(expected, AddressPattern.Parse(pattern).IsMatch(Scoped(address, scope)));
        }

        [LinuxFact]
        public void ZonesByNameOnLinux()
        {
            // lo is interface 1 in every network namespace.
            Assert.True(AddressPattern.Parse("fe80::1%lo").IsMatch(Scoped("fe80::1", 1)));
            Assert.False(AddressPattern.Parse("fe80::1%lo").IsMatch(Scoped("fe80::1", 4000000)));
            Assert.False(AddressPattern.Parse("fe80::1%nosuchif0").IsMatch(Scoped("fe80::1", 1)));
            Assert.True(AddressPattern.Parse("fe80::*%lo").IsMatch(Scoped("fe80::9", 1)));
            Assert.Equal("lo", AddressPattern.Parse("fe80::1%lo").Zone);
        }

        [LinuxFact]
        public void FormatKeepsTheZoneAsTheInterfaceNameOnLinux()
        {
            Assert.Equal("fe80::c%lo", AddressPattern.FormatAddress(Scoped("fe80::c", 1)));
            Assert.Equal("fe80::c%4000000", AddressPattern.FormatAddress(Scoped("fe80::c", 4000000))); // no such interface now: the index
            Assert.Equal("fe80::c", AddressPattern.FormatAddress(IPAddress.Parse("fe80::c")));
            Assert.Equal("2001:db8::1", AddressPattern.FormatAddress(IPAddress.Parse("2001:db8::1")));
            Assert.Equal("10.1.2.3", AddressPattern.FormatAddress(IPAddress.Parse("10.1.2.3")));
        }

        [Theory]
        [InlineData("fe80::1%")]
        [InlineData("10.0.0.1%eth0")]
        [InlineData("10.0.0.0%eth0/8")]
        [InlineData("fe80::1%a b")]
        [InlineData("fe80::1%%2")]
        public void RejectsBadZonesWithReason(string pattern)
        {
            Assert.False(AddressPattern.TryParse(pattern, out _, out var error));
            Assert.Contains(pattern, error);
        }
    }
}
