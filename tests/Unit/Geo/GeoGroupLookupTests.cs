using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>
    /// GeoLocator.Lookup of many addresses at once (what ConnectionEnricher.Classify asks for a
    /// snapshot's public rows) answers what the one-address Lookup and MaxMind's readers answer, and
    /// its answers kept by record combination are shared by the addresses of one network.
    /// </summary>
    public sealed class GeoGroupLookupTests : IDisposable
    {
        private readonly TestGeoDatabases.TempFolder _dir = new TestGeoDatabases.TempFolder();

        public void Dispose() => _dir.Dispose();

        private GeoIpConfig Config(string yaml = "") =>
            ConfigLoader.LoadText("geoip:\n  directory: '" + _dir.File("data") + "'\n" + yaml, "test.yml").Config.GeoIp;

        private static GeoInfo[] LookupMany(GeoLocator geo, IList<IPAddress> addresses)
        {
            var answers = new GeoInfo[addresses.Count];
            geo.Lookup(addresses.ToArray(), addresses.Count, answers);
            return answers;
        }

        [Fact]
        public void AddressesOfOneNetworkShareOneAnswerAndAnAddressInNoNetworkGetsNulls()
        {
            // Country: 8.8.0.0/16 and 1.1.1.0/24; ASN: only 8.8.8.0/24 and 1.1.1.0/24.
            string country = TestGeoDatabases.Country(_dir.File("c.mmdb"), ("8.8.0.0/16", "US", "United States", "NA"), ("1.1.1.0/24", "JP", "Japan", "AS"));
            string asn = TestGeoDatabases.Asn(_dir.File("a.mmdb"), ("8.8.8.0/24", 15169u, "Google LLC"), ("1.1.1.0/24", 64500u, "Example Networks"));
            using var geo = new GeoLocator(GeoLocatorTests.BundledDirectory);
            Assert.Empty(geo.Refresh(Config("  countryDatabase: '" + country + "'\n  asnDatabase: '" + asn + "'\n")));
            var addresses = new[] { "1.1.1.1", "8.8.8.8", "9.9.9.9", "1.1.1.200", "8.8.4.4", "::ffff:1.1.1.77", "8.8.8.9", "2001:db8::1", "8.8.200.1" }
                .Select(IPAddress.Parse).ToList();
            addresses.Insert(4, null);
            var answers = LookupMany(geo, addresses);

            var japan = answers[0];
            Assert.Equal("JP", japan.Country);
            Assert.Equal("Japan", japan.CountryName);
            Assert.Equal(64500, japan.Asn);
            Assert.Equal("Example Networks", japan.AsnOrganization);
            Assert.Null(japan.City);
            Assert.Null(japan.Latitude);
            Assert.Null(japan.Longitude);
            // One network's addresses (IPv4-mapped IPv6 too) get the one answer kept for its records.
            Assert.Same(japan, answers[3]);
            Assert.Same(japan, answers[6]);

            var google = answers[1];
            Assert.Equal("US", google.Country);
            Assert.Equal(15169, google.Asn);
            Assert.Equal("Google LLC", google.AsnOrganization);
            Assert.Same(google, answers[7]);

            // In the country network but in no ASN network: the country, and no ASN.
            foreach (var usOnly in new[] { answers[5], answers[9] })
            {
                Assert.Equal("US", usOnly.Country);
                Assert.Equal("United States", usOnly.CountryName);
                Assert.Null(usOnly.Asn);
                Assert.Null(usOnly.AsnOrganization);
            }
            Assert.Same(answers[5], answers[9]);

            // In no network of either database (9.9.9.9, a documentation IPv6 address) and a null address: every field null.
            foreach (var none in new[] { answers[2], answers[8], answers[4] })
            {
                Assert.Null(none.Country);
                Assert.Null(none.CountryName);
                Assert.Null(none.City);
                Assert.Null(none.Latitude);
                Assert.Null(none.Longitude);
                Assert.Null(none.Asn);
                Assert.Null(none.AsnOrganization);
            }

            // The one-address Lookup answers with the same kept objects, and counts them as kept.
            long hits = geo.CacheHits, misses = geo.CacheMisses;
            Assert.Same(japan, geo.Lookup(IPAddress.Parse("1.1.1.9")));
            Assert.Same(google, geo.Lookup(IPAddress.Parse("8.8.8.200")));
            Assert.Same(answers[5], geo.Lookup(IPAddress.Parse("8.8.1.1")));
            Assert.Equal(misses, geo.CacheMisses);
            Assert.Equal(hits + 3, geo.CacheHits);
        }

        [Fact]
        public void ManyAddressesAnswerAsOneByOneAndAsMaxMindsReaders()
        {
            string countryPath = Path.Combine(GeoLocatorTests.BundledDirectory, GeoLocator.BundledCountryFile);
            string asnPath = Path.Combine(GeoLocatorTests.BundledDirectory, GeoLocator.BundledAsnFile);
            using var country = new MaxMindReference(countryPath, GeoDatabaseLayout.CountryCode);
            using var asn = new MaxMindReference(asnPath, GeoDatabaseLayout.Asn);
            var config = Config();
            var rng = new Random(909);
            var v4 = FastPathMatchesMaxMindTests.RandomPublic(rng, 6000, v6: false);
            var v6 = FastPathMatchesMaxMindTests.RandomPublic(rng, 1500, v6: true);
            var addresses = v4.Concat(v6).Concat(v4.Take(500).Select(a => a.MapToIPv6())).ToList();
            // Repeats (some within one group of the lookup) and null addresses among them; a count that is no multiple of a group.
            addresses.AddRange(v4.Take(300).Select(a => new IPAddress(a.GetAddressBytes())));
            addresses = addresses.OrderBy(_ => rng.Next()).ToList();
            for (int i = 0; i < 40; i++) addresses.Insert(rng.Next(addresses.Count), null);
            addresses.Insert(1, addresses[0]);

            using var many = new GeoLocator(GeoLocatorTests.BundledDirectory);
            using var one = new GeoLocator(GeoLocatorTests.BundledDirectory);
            Assert.Empty(many.Refresh(config));
            Assert.Empty(one.Refresh(config));
            var answers = LookupMany(many, addresses);
            for (int i = 0; i < addresses.Count; i++)
            {
                var a = addresses[i];
                string actual = MaxMindReference.Describe(answers[i]);
                var asIPv4 = a == null ? null : Engine.Filtering.AddressPattern.Normalize(a); // the locator answers IPv4-mapped addresses as IPv4
                string expected = a == null ? MaxMindReference.Describe(GeoInfo.Empty) : MaxMindReference.Describe(country.Answer(asIPv4).Merge(asn.Answer(asIPv4)));
                Assert.True(expected == actual, a + ": MaxMind's readers say " + expected + ", the many-address lookup says " + actual);
                Assert.Equal(MaxMindReference.Describe(one.Lookup(a)), actual);
            }
            Assert.True(answers.Count(x => x.Country != null) > addresses.Count / 2, "most of the addresses should be located");

            // Asked again (new objects), every address is answered by a kept answer: the same objects, nothing merged anew.
            long misses = many.CacheMisses;
            var again = LookupMany(many, addresses.Select(a => a == null ? null : new IPAddress(a.GetAddressBytes())).ToList());
            for (int i = 0; i < addresses.Count; i++) Assert.Same(answers[i], again[i]);
            Assert.Equal(misses, many.CacheMisses);
        }

        [Fact]
        public void ADatabaseAnswersThreadsAtOnceAsItAnswersOne()
        {
            string asnPath = Path.Combine(GeoLocatorTests.BundledDirectory, GeoLocator.BundledAsnFile);
            var addresses = FastPathMatchesMaxMindTests.RandomPublic(new Random(31), 4000, v6: false);
            List<string> expected;
            using (var alone = GeoDatabase.Open(asnPath)) expected = addresses.Select(a => MaxMindReference.Describe(alone.Lookup(a))).ToList();
            // Four threads decode and keep the same new records at once.
            using var shared = GeoDatabase.Open(asnPath);
            var results = new string[4][];
            var threads = Enumerable.Range(0, 4).Select(t => new System.Threading.Thread(() =>
            {
                var order = t % 2 == 0 ? addresses : Enumerable.Reverse(addresses).ToList();
                var mine = order.Select(a => MaxMindReference.Describe(shared.Lookup(a))).ToList();
                if (t % 2 == 1) mine.Reverse();
                results[t] = mine.ToArray();
            })).ToList();
            threads.ForEach(th => th.Start());
            threads.ForEach(th => th.Join());
            foreach (var r in results) Assert.Equal(expected, r);
        }

        [Fact]
        public void TheEnricherFillsEachPublicRowWithItsAddressesAnswer()
        {
            var options = new EnrichmentOptions { Geo = Config() };
            using var enricher = new ConnectionEnricher(null, GeoLocatorTests.BundledDirectory);
            using var reference = new GeoLocator(GeoLocatorTests.BundledDirectory);
            Assert.Empty(reference.Refresh(options.Geo));
            var rng = new Random(4242);
            var remotes = FastPathMatchesMaxMindTests.RandomPublic(rng, 300, v6: false)
                .Concat(FastPathMatchesMaxMindTests.RandomPublic(rng, 60, v6: true))
                .Concat(new[] { "127.0.0.1", "10.0.0.7", "192.168.1.1", "fe80::1", "::", "2001:db8::5" }.Select(IPAddress.Parse))
                .Append(null)
                .OrderBy(_ => rng.Next()).ToList();
            var rows = remotes.Select(a => new ConnectionRecord { Protocol = TransportProtocol.Tcp, RemoteAddress = a, RemotePort = a == null ? (int?)null : 443 }).ToList();
            var warnings = new List<string>();
            enricher.Classify(rows, options, warnings);
            Assert.Empty(warnings);
            foreach (var r in rows)
            {
                var scope = AddressScopes.Classify(r.RemoteAddress);
                Assert.Equal(r.RemoteAddress == null ? null : scope.ToString(), r.AddressScope); // no remote end, no scope
                var expected = scope == AddressScope.Public ? reference.Lookup(r.RemoteAddress) : GeoInfo.Empty;
                Assert.Equal(expected.Country, r.Country);
                Assert.Equal(expected.CountryName, r.CountryName);
                Assert.Equal(expected.City, r.City);
                Assert.Equal(expected.Latitude, r.Latitude);
                Assert.Equal(expected.Longitude, r.Longitude);
                Assert.Equal(expected.Asn, r.Asn);
                Assert.Equal(expected.AsnOrganization, r.AsnOrganization);
            }
            Assert.Contains(rows, r => r.Country != null && r.Asn != null);
        }
    }
}
