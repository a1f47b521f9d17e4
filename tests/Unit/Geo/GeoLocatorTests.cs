using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>GeoLocator against the databases the module ships, and against damaged, missing and replaced files.</summary>
    public sealed class GeoLocatorTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("cm-geo-").FullName;

        public static string BundledDirectory => Path.Combine(Repo.Root, "data", "GeoIP");

        /// <summary>Refreshes every 50 ms until <paramref name="done"/>; returns the last refresh's warnings; fails after 10 s.</summary>
        internal static System.Collections.Generic.IReadOnlyList<string> RefreshUntil(GeoLocator geo, GeoIpConfig config, Func<bool> done, string what)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                var warnings = geo.Refresh(config);
                if (done()) return warnings;
                if (clock.Elapsed > TimeSpan.FromSeconds(10)) { Assert.Fail("waited 10 s for " + what); return warnings; }
                Thread.Sleep(50);
            }
        }

        public void Dispose() => Directory.Delete(_dir, true);

        /// <summary>A config whose data directory is an empty temp folder, so nothing downloaded on this machine interferes.</summary>
        private GeoIpConfig Config(string extraYaml = "")
        {
            string yaml = "geoip:\n  directory: '" + _dir + "'\n" + extraYaml;
            return ConfigLoader.LoadText(yaml, "test.yml").Config.GeoIp;
        }

        [Theory]
        [InlineData("8.8.8.8", "US")]
        [InlineData("1.1.1.1", "AU")]
        [InlineData("2620:fe::fe", "US")]          // Quad9 over IPv6
        [InlineData("2001:67c:2e8:22::c100:68b", "NL")] // RIPE NCC
        [InlineData("::ffff:8.8.8.8", "US")]
        public void BundledDatabaseLocatesWellKnownAddresses(string address, string country)
        {
            using var geo = new GeoLocator(BundledDirectory);
            Assert.Empty(geo.Refresh(Config()));
            var info = geo.Lookup(IPAddress.Parse(address));
            Assert.Equal(country, info.Country);
        }

        [Fact]
        public void CountryNamesComeFromTheCode()
        {
            using var geo = new GeoLocator(BundledDirectory);
            geo.Refresh(Config());
            Assert.Equal("United States", geo.Lookup(IPAddress.Parse("8.8.8.8")).CountryName);
            Assert.Equal("Australia", geo.Lookup(IPAddress.Parse("1.1.1.1")).CountryName);
        }

        [Fact]
        public void LookupsAreCachedPerAddress()
        {
            using var geo = new GeoLocator(BundledDirectory);
            geo.Refresh(Config());
            var address = IPAddress.Parse("8.8.8.8");
            var first = geo.Lookup(address);
            long misses = geo.CacheMisses, hits = geo.CacheHits;
            var second = geo.Lookup(IPAddress.Parse("8.8.8.8"));
            Assert.Same(first, second);
            Assert.Equal(misses, geo.CacheMisses);
            Assert.Equal(hits + 1, geo.CacheHits);
        }

        [Fact]
        public void CorruptConfiguredDatabaseWarnsAndLeavesGeoEmpty()
        {
            string path = Path.Combine(_dir, "broken.mmdb");
            File.WriteAllBytes(path, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());
            using var geo = new GeoLocator(BundledDirectory);
            var warning = Assert.Single(geo.Refresh(Config("  countryDatabase: '" + path + "'\n")));
            Assert.Contains(path, warning);
            Assert.Contains("not a usable MaxMind DB", warning);
            Assert.Null(geo.Lookup(IPAddress.Parse("8.8.8.8")).Country);
        }

        [Fact]
        public void TruncatedDatabaseIsRefused()
        {
            string path = Path.Combine(_dir, "truncated.mmdb");
            var bytes = File.ReadAllBytes(Path.Combine(BundledDirectory, GeoLocator.BundledCountryFile));
            File.WriteAllBytes(path, bytes.Take(bytes.Length / 2).ToArray());
            var ex = Assert.Throws<GeoDatabaseException>(() => GeoDatabase.Open(path));
            Assert.Contains(path, ex.Message);
        }

        [Fact]
        public void MissingConfiguredDatabaseNamesTheKeyAndTheFile()
        {
            string path = Path.Combine(_dir, "nowhere", "country.mmdb");
            using var geo = new GeoLocator(BundledDirectory);
            var warning = Assert.Single(geo.Refresh(Config("  countryDatabase: '" + path + "'\n")));
            Assert.Contains("geoip.countryDatabase", warning);
            Assert.Contains(path, warning);
            Assert.Null(geo.Lookup(IPAddress.Parse("8.8.8.8")).Country);
        }

        [Fact]
        public void MissingBundledDatabaseSaysToReinstall()
        {
            using var geo = new GeoLocator(Path.Combine(_dir, "no-module-folder"));
            var warnings = geo.Refresh(Config());
            Assert.Contains(warnings, w => w.Contains("bundled GeoIP database") && w.Contains("reinstall"));
        }

        [Fact]
        public void DatabaseReplacedOnDiskIsPickedUp()
        {
            string path = Path.Combine(_dir, "replaced.mmdb");
            File.WriteAllText(path, "not a database yet");
            var config = Config("  countryDatabase: '" + path + "'\n");
            using var geo = new GeoLocator(BundledDirectory);
            Assert.Single(geo.Refresh(config));
            Assert.Null(geo.Lookup(IPAddress.Parse("8.8.8.8")).Country);

            // Replace the file the way Update-ConnectionGeoDatabase does: a new file moved over the old one.
            string temp = path + ".new";
            File.Copy(Path.Combine(BundledDirectory, GeoLocator.BundledCountryFile), temp);
            File.Move(temp, path, overwrite: true);
            // Files are checked at most once a second: refresh until the new file is in use, instead of sleeping.
            var warnings = RefreshUntil(geo, config, () => geo.Lookup(IPAddress.Parse("8.8.8.8")).Country == "US", "the replaced database to answer US");
            Assert.Empty(warnings);
        }

        [Fact]
        public void DownloadedDatabaseInTheDataDirectoryWinsOverTheBundledOne()
        {
            File.Copy(Path.Combine(BundledDirectory, GeoLocator.BundledCountryFile), Path.Combine(_dir, GeoIpPaths.CountryFile));
            using var geo = new GeoLocator(BundledDirectory);
            Assert.Empty(geo.Refresh(Config()));
            geo.Lookup(IPAddress.Parse("8.8.8.8"));
            Assert.Contains(geo.OpenDatabases, d => d.Path == Path.Combine(_dir, GeoIpPaths.CountryFile));
        }

        [Fact]
        public void DamagedDownloadFallsBackToTheBundledDatabaseWithAWarning()
        {
            File.WriteAllText(Path.Combine(_dir, GeoIpPaths.CountryFile), "damaged");
            using var geo = new GeoLocator(BundledDirectory);
            var warning = Assert.Single(geo.Refresh(Config()));
            Assert.EndsWith(" Using the bundled database instead until the file is replaced by a working one (downloading the database again does that).", warning);
            Assert.DoesNotContain("stay empty", warning); // they do not: the bundled database fills them (a trial saw both said)
            Assert.Equal("US", geo.Lookup(IPAddress.Parse("8.8.8.8")).Country);
        }

        [Fact]
        public void DisabledGeoIpOpensNothing()
        {
            using var geo = new GeoLocator(BundledDirectory);
            Assert.Empty(geo.Refresh(Config("  enabled: false\n")));
            Assert.Null(geo.Lookup(IPAddress.Parse("8.8.8.8")).Country);
        }
    }
}

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>User-supplied databases in the GeoIP2 layouts (read with MaxMind.GeoIP2's DatabaseReader) and IPinfo Lite, built by the tests.</summary>
    public sealed class ConfiguredGeoDatabaseTests : IDisposable
    {
        private readonly TestGeoDatabases.TempFolder _dir = new TestGeoDatabases.TempFolder();

        public void Dispose() => _dir.Dispose();

        private GeoIpConfig Config(string yaml) =>
            ConfigLoader.LoadText("geoip:\n  directory: '" + _dir.File("data") + "'\n" + yaml, "test.yml").Config.GeoIp;

        [Fact]
        public void CityDatabaseAddsCityAndCoordinatesAndItsCountryWins()
        {
            string city = TestGeoDatabases.City(_dir.File("city.mmdb"),
                ("8.8.8.0/24", "DE", "Germany", "EU", "Frankfurt am Main", 50.1109, 8.6821, (ushort)20, "Europe/Berlin"));
            using var geo = new GeoLocator(GeoLocatorTests.BundledDirectory);
            Assert.Empty(geo.Refresh(Config("  cityDatabase: '" + city + "'\n")));
            var info = geo.Lookup(IPAddress.Parse("8.8.8.8"));
            Assert.Equal("DE", info.Country);            // the City database's answer, not the bundled US
            Assert.Equal("Germany", info.CountryName);
            Assert.Equal("Frankfurt am Main", info.City);
            Assert.Equal(50.1109, info.Latitude.Value, 4);
            Assert.Equal(8.6821, info.Longitude.Value, 4);
            Assert.Equal(15169, info.Asn);                // ASN still from the bundled database
            // Where the City database has no answer, the country database fills in.
            Assert.Equal("AU", geo.Lookup(IPAddress.Parse("1.1.1.1")).Country);
            Assert.Null(geo.Lookup(IPAddress.Parse("1.1.1.1")).City);
        }

        [Fact]
        public void GeoLite2CountryAndAsnDatabasesReplaceTheBundledOnes()
        {
            string country = TestGeoDatabases.Country(_dir.File("c.mmdb"), ("1.1.1.0/24", "JP", "Japan", "AS"));
            string asn = TestGeoDatabases.Asn(_dir.File("a.mmdb"), ("1.1.1.0/24", 64500u, "Example Networks"));
            using var geo = new GeoLocator(GeoLocatorTests.BundledDirectory);
            Assert.Empty(geo.Refresh(Config("  countryDatabase: '" + country + "'\n  asnDatabase: '" + asn + "'\n")));
            var info = geo.Lookup(IPAddress.Parse("1.1.1.1"));
            Assert.Equal("JP", info.Country);
            Assert.Equal("Japan", info.CountryName);
            Assert.Equal(64500, info.Asn);
            Assert.Equal("Example Networks", info.AsnOrganization);
            // A configured file answers alone: no fallback to the bundled data for addresses it lacks.
            Assert.Null(geo.Lookup(IPAddress.Parse("8.8.8.8")).Country);
            Assert.Contains(geo.OpenDatabases, d => d.Layout == GeoDatabaseLayout.Country && d.DatabaseType == "GeoLite2-Country");
            Assert.Contains(geo.OpenDatabases, d => d.Layout == GeoDatabaseLayout.Asn);
        }

        [Fact]
        public void IpInfoLiteGivesCountryAndAsnFromOneFile()
        {
            string ipinfo = TestGeoDatabases.IpInfoLite(_dir.File("ipinfo.mmdb"),
                ("8.8.8.0/24", "US", "United States", "NA", 15169u, "Google LLC", "google.com"),
                ("1.1.1.0/24", "AU", "Australia", "OC", 13335u, "Cloudflare, Inc.", "cloudflare.com"),
                ("9.9.9.0/24", "CH", "Switzerland", "EU", 19281u, "Quad9", "quad9.net"));
            string otherAsn = TestGeoDatabases.Asn(_dir.File("asn.mmdb"), ("9.9.9.0/24", 64501u, "Stale Networks"), ("8.8.8.0/24", 64502u, "Stale Too"));
            using var geo = new GeoLocator(GeoLocatorTests.BundledDirectory);
            Assert.Empty(geo.Refresh(Config("  countryDatabase: '" + ipinfo + "'\n  asnDatabase: '" + otherAsn + "'\n")));
            var info = geo.Lookup(IPAddress.Parse("9.9.9.9"));
            Assert.Equal("CH", info.Country);
            Assert.Equal("Switzerland", info.CountryName);
            // IPinfo's ASN answers ahead of the ASN database's (one source for both, as IPinfo publishes them).
            Assert.Equal(19281, info.Asn);
            Assert.Equal("Quad9", info.AsnOrganization);
        }

        [Fact]
        public void ReplacedDatabaseAnswersWithItsNewDataWithoutReimport()
        {
            string path = _dir.File("country.mmdb");
            TestGeoDatabases.Country(path, ("8.8.8.0/24", "DE", "Germany", "EU"));
            var config = Config("  countryDatabase: '" + path + "'\n");
            using var geo = new GeoLocator(GeoLocatorTests.BundledDirectory);
            geo.Refresh(config);
            Assert.Equal("DE", geo.Lookup(IPAddress.Parse("8.8.8.8")).Country);

            string next = TestGeoDatabases.Country(_dir.File("next.mmdb"), ("8.8.8.0/24", "FR", "France", "EU"));
            File.Move(next, path, overwrite: true);
            // Files are checked at most once a second: refresh until the new file is in use (the cached DE answer is gone too).
            var warnings = GeoLocatorTests.RefreshUntil(geo, config, () => geo.Lookup(IPAddress.Parse("8.8.8.8")).Country == "FR", "the replaced database to answer FR");
            Assert.Empty(warnings);
        }

        [Fact]
        public void UnknownRecordLayoutIsRefusedWithWhatIsExpected()
        {
            string path = _dir.File("odd.mmdb");
            var writer = new ConnectionsMonitor.GeoDataBuilder.MmdbWriter("Acme-Weather");
            writer.Insert("1.1.1.0/24", new System.Collections.Generic.Dictionary<string, object> { ["temperature"] = 21.5 });
            using (var f = File.Create(path)) writer.Write(f);
            var ex = Assert.Throws<GeoDatabaseException>(() => GeoDatabase.Open(path));
            Assert.Contains("Acme-Weather", ex.Message);
            Assert.Contains("expected a GeoLite2/GeoIP2/DB-IP Country, City or ASN database", ex.Message);
        }
    }
}
