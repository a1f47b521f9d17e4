using System.Net;
using ConnectionsMonitor.Engine.Enrichment;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    public class AddressScopeTests
    {
        [Theory]
        [InlineData("0.0.0.0", AddressScope.Unspecified)]
        [InlineData("::", AddressScope.Unspecified)]
        [InlineData("127.0.0.1", AddressScope.Loopback)]
        [InlineData("127.255.255.254", AddressScope.Loopback)]
        [InlineData("::1", AddressScope.Loopback)]
        [InlineData("10.0.0.1", AddressScope.Private)]
        [InlineData("10.255.255.255", AddressScope.Private)]
        [InlineData("172.16.0.1", AddressScope.Private)]
        [InlineData("172.31.255.254", AddressScope.Private)]
        [InlineData("172.32.0.1", AddressScope.Public)]
        [InlineData("172.15.255.255", AddressScope.Public)]
        [InlineData("192.168.1.10", AddressScope.Private)]
        [InlineData("100.64.0.1", AddressScope.Private)]
        [InlineData("100.127.255.254", AddressScope.Private)]
        [InlineData("100.128.0.1", AddressScope.Public)]
        [InlineData("100.63.255.255", AddressScope.Public)]
        [InlineData("fc00::1", AddressScope.Private)]
        [InlineData("fd12:3456:789a::1", AddressScope.Private)]
        [InlineData("169.254.10.20", AddressScope.LinkLocal)]
        [InlineData("fe80::1", AddressScope.LinkLocal)]
        [InlineData("febf::1", AddressScope.LinkLocal)]
        [InlineData("224.0.0.251", AddressScope.Multicast)]
        [InlineData("239.255.255.250", AddressScope.Multicast)]
        [InlineData("ff02::fb", AddressScope.Multicast)]
        [InlineData("255.255.255.255", AddressScope.Broadcast)]
        [InlineData("192.0.2.1", AddressScope.Documentation)]
        [InlineData("198.51.100.7", AddressScope.Documentation)]
        [InlineData("203.0.113.255", AddressScope.Documentation)]
        [InlineData("2001:db8::1", AddressScope.Documentation)]
        [InlineData("3fff::1", AddressScope.Documentation)]
        [InlineData("0.1.2.3", AddressScope.Reserved)]
        [InlineData("198.18.0.1", AddressScope.Reserved)]
        [InlineData("198.19.255.255", AddressScope.Reserved)]
        [InlineData("240.0.0.1", AddressScope.Reserved)]
        [InlineData("100::1", AddressScope.Reserved)]
        [InlineData("8.8.8.8", AddressScope.Public)]
        [InlineData("1.1.1.1", AddressScope.Public)]
        [InlineData("223.255.255.255", AddressScope.Public)]
        [InlineData("2001:4860:4860::8888", AddressScope.Public)]
        [InlineData("2a00:1450:4001::1", AddressScope.Public)]
        [InlineData("2002:c000:0204::1", AddressScope.Public)]
        public void ClassifiesByIanaRegistries(string address, AddressScope expected)
        {
            Assert.Equal(expected, AddressScopes.Classify(IPAddress.Parse(address)));
        }

        [Theory]
        [InlineData("::ffff:127.0.0.1", AddressScope.Loopback)]
        [InlineData("::ffff:10.1.2.3", AddressScope.Private)]
        [InlineData("::ffff:169.254.1.1", AddressScope.LinkLocal)]
        [InlineData("::ffff:8.8.8.8", AddressScope.Public)]
        [InlineData("::ffff:0.0.0.0", AddressScope.Unspecified)]
        [InlineData("64:ff9b::c0a8:0101", AddressScope.Private)]   // NAT64 of 192.168.1.1
        [InlineData("64:ff9b::808:808", AddressScope.Public)]      // NAT64 of 8.8.8.8
        public void ClassifiesIPv4InsideIPv6AsItsIPv4Form(string address, AddressScope expected)
        {
            Assert.Equal(expected, AddressScopes.Classify(IPAddress.Parse(address)));
        }

        [Fact]
        public void NoAddressIsUnspecified()
        {
            Assert.Equal(AddressScope.Unspecified, AddressScopes.Classify(null));
        }
    }
}
