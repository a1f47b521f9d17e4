using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Tests.TestSupport;
using MaxMind.Db;
using MaxMind.GeoIP2;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>Each TestGeoDatabases builder, read back with the reader the module uses for that layout.</summary>
    public sealed class TestGeoDatabasesTests : IDisposable
    {
        private readonly TestGeoDatabases.TempFolder _folder = new TestGeoDatabases.TempFolder();

        public void Dispose() => _folder.Dispose();

        [Fact]
        public void CountryReadsWithDatabaseReaderCountry()
        {
            string path = TestGeoDatabases.Country(_folder.File("country.mmdb"),
                ("81.2.69.0/24", "GB", "United Kingdom", "EU"),
                ("2001:db8::/32", "JP", "Japan", "AS"));
            using var reader = new DatabaseReader(path);

            var uk = reader.Country("81.2.69.160");
            Assert.Equal("GB", uk.Country.IsoCode);
            Assert.Equal("United Kingdom", uk.Country.Name);
            Assert.Equal("EU", uk.Continent.Code);
            Assert.Equal("Europe", uk.Continent.Name);
            Assert.Equal("GB", uk.RegisteredCountry.IsoCode);
            Assert.Equal("JP", reader.Country("2001:db8::1").Country.IsoCode);
            Assert.Equal("GB", reader.Country("::ffff:81.2.69.1").Country.IsoCode);
            Assert.False(reader.TryCountry("10.0.0.1", out _));
        }

        [Fact]
        public void CityReadsWithDatabaseReaderCity()
        {
            string path = TestGeoDatabases.City(_folder.File("city.mmdb"),
                ("81.2.69.0/24", "GB", "United Kingdom", "EU", "London", 51.5142, -0.0931, (ushort)10, "Europe/London"));
            using var reader = new DatabaseReader(path);

            var london = reader.City("81.2.69.160");
            Assert.Equal("London", london.City.Name);
            Assert.Equal("GB", london.Country.IsoCode);
            Assert.Equal("Europe", london.Continent.Name);
            Assert.Equal(51.5142, london.Location.Latitude);
            Assert.Equal(-0.0931, london.Location.Longitude);
            Assert.Equal(10, london.Location.AccuracyRadius);
            Assert.Equal("Europe/London", london.Location.TimeZone);
            // GeoIP2 6.1 reads a City file only through City(): Country() refuses the type.
            Assert.Throws<InvalidOperationException>(() => reader.Country("81.2.69.160"));
        }

        [Fact]
        public void AsnReadsWithDatabaseReaderAsn()
        {
            string path = TestGeoDatabases.Asn(_folder.File("asn.mmdb"),
                ("8.8.8.0/24", 15169u, "Google LLC"),
                ("2606:4700::/32", 13335u, "Cloudflare, Inc."));
            using var reader = new DatabaseReader(path);

            Assert.Equal(15169, reader.Asn("8.8.8.8").AutonomousSystemNumber);
            Assert.Equal("Google LLC", reader.Asn("8.8.8.8").AutonomousSystemOrganization);
            Assert.Equal("Cloudflare, Inc.", reader.Asn("2606:4700::1111").AutonomousSystemOrganization);
            Assert.False(reader.TryAsn("8.8.9.1", out _));
        }

        [Fact]
        public void DbIpCountryCodeReadsLikeTheBundledFile()
        {
            string path = TestGeoDatabases.DbIpCountryCode(_folder.File("dbip.mmdb"),
                ("8.8.8.0/24", "US"),
                ("2a00:1450::/32", "IE"));
            using var reader = new Reader(path);

            Assert.Equal("country ipvAll", reader.Metadata.DatabaseType);
            Assert.Equal("US", reader.Find<Dictionary<string, object>>(IPAddress.Parse("8.8.8.8"))["country_code"]);
            Assert.Equal("IE", reader.Find<Dictionary<string, object>>(IPAddress.Parse("2a00:1450::1"))["country_code"]);
            Assert.Null(reader.Find<Dictionary<string, object>>(IPAddress.Parse("9.9.9.9")));

            // Like the bundled DB-IP file, GeoIP2's typed Country() refuses this layout.
            using var geoIp2 = new DatabaseReader(path);
            Assert.Throws<InvalidOperationException>(() => geoIp2.Country("8.8.8.8"));
        }

        [Fact]
        public void IpInfoLiteReadsWithReaderFind()
        {
            string path = TestGeoDatabases.IpInfoLite(_folder.File("ipinfo.mmdb"),
                ("8.8.8.0/24", "US", "United States", "NA", 15169u, "Google LLC", "google.com"));
            using var reader = new Reader(path);

            Assert.Equal(TestGeoDatabases.IpInfoLiteType, reader.Metadata.DatabaseType);
            var record = reader.Find<Dictionary<string, object>>(IPAddress.Parse("8.8.8.8"));
            Assert.Equal("US", record["country_code"]);
            Assert.Equal("United States", record["country"]);
            Assert.Equal("NA", record["continent_code"]);
            Assert.Equal("North America", record["continent"]);
            Assert.Equal("AS15169", record["asn"]);
            Assert.Equal("Google LLC", record["as_name"]);
            Assert.Equal("google.com", record["as_domain"]);
        }

        [Fact]
        public void AnUnknownContinentCodeIsRefused()
        {
            Assert.Throws<ArgumentException>(() => TestGeoDatabases.Country(_folder.File("bad.mmdb"), ("10.0.0.0/8", "XX", "Nowhere", "ZZ")));
        }
    }
}
