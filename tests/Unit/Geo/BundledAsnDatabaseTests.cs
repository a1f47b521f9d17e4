using System;
using System.IO;
using System.Net;
using ConnectionsMonitor.Tests.TestSupport;
using MaxMind.GeoIP2;
using MaxMind.GeoIP2.Exceptions;
using MaxMind.GeoIP2.Responses;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>The committed data/GeoIP/ip-location-db-asn.mmdb, read the way the module reads it: GeoIP2's DatabaseReader.Asn().</summary>
    public sealed class BundledAsnDatabaseTests : IDisposable
    {
        private static readonly string DatabasePath = Path.Combine(Repo.Root, "data", "GeoIP", "ip-location-db-asn.mmdb");
        private readonly DatabaseReader _reader = new DatabaseReader(DatabasePath);

        public void Dispose() => _reader.Dispose();

        [Theory]
        [InlineData("8.8.8.8", 15169, "Google LLC")]
        [InlineData("1.1.1.1", 13335, "Cloudflare, Inc.")]
        [InlineData("2001:4860:4860::8888", 15169, "Google LLC")]
        [InlineData("2606:4700:4700::1111", 13335, "Cloudflare, Inc.")]
        [InlineData("::ffff:8.8.8.8", 15169, "Google LLC")]
        public void KnownAddressesHaveTheirAutonomousSystem(string address, long number, string organization)
        {
            AsnResponse response = _reader.Asn(address);
            Assert.Equal(number, response.AutonomousSystemNumber);
            Assert.Equal(organization, response.AutonomousSystemOrganization);
        }

        [Fact]
        public void AnIPv4LookupReportsItsIPv4Network()
        {
            AsnResponse response = _reader.Asn(IPAddress.Parse("8.8.8.8"));
            Assert.Equal("8.8.8.8", response.IPAddress);
            Assert.Equal("8.8.8.0/24", response.Network.ToString());
        }

        [Theory]
        [InlineData("10.0.0.1")]
        [InlineData("192.168.1.1")]
        [InlineData("127.0.0.1")]
        [InlineData("::1")]
        [InlineData("fe80::1")]
        public void PrivateAndLocalAddressesHaveNoRecord(string address)
        {
            Assert.False(_reader.TryAsn(address, out _));
            Assert.Throws<AddressNotFoundException>(() => _reader.Asn(address));
        }

        [Fact]
        public void MetadataNamesTheSourcesAndLicence()
        {
            Assert.Contains("GeoLite2-ASN", _reader.Metadata.DatabaseType);
            Assert.False(_reader.Metadata.DatabaseType.StartsWith("GeoIP", StringComparison.Ordinal), "GeoIP* database types are MaxMind's");
            string description = _reader.Metadata.Description["en"];
            foreach (string part in new[] { "RouteViews", "NRO", "DB-IP", "CC BY 4.0" })
                Assert.Contains(part, description);
            Assert.Equal(new DateTime(2026, 6, 17, 19, 0, 0, DateTimeKind.Utc), _reader.Metadata.BuildDate);
        }

        [Fact]
        public void LicencesAndSourcesTravelWithTheFile()
        {
            string folder = Path.GetDirectoryName(DatabasePath);
            foreach (string file in new[] { "ASN-ROUTEVIEWS-LICENSE.txt", "ASN-NRO-LICENSE.txt", "ASN-DBIP-LICENSE.txt", "SOURCES.md" })
                Assert.True(File.Exists(Path.Combine(folder, file)), file + " is missing");
        }
    }
}
