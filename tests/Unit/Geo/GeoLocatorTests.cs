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
            long misses = geo.CacheMisses;
            var second = geo.Lookup(IPAddress.Parse("8.8.8.8"));
            Assert.Same(first, second);
            Assert.Equal(misses, geo.CacheMisses);
            Assert.True(geo.CacheHits >= 1);
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
            Thread.Sleep(1100); // files are checked at most once a second
            Assert.Empty(geo.Refresh(config));
            Assert.Equal("US", geo.Lookup(IPAddress.Parse("8.8.8.8")).Country);
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
            Assert.Contains("bundled database instead", warning);
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
