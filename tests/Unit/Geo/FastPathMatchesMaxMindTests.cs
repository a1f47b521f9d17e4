using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using ConnectionsMonitor.Tests.TestSupport;
using MaxMind.Db;
using MaxMind.GeoIP2;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>
    /// MaxMind's own readers on a database file, independent of the module's lookup path: the
    /// reference the fast path (own tree walk, own record decoding from the one in-memory copy) is
    /// compared with. The raw field values they decode go through the same normalization as the
    /// module's (GeoDatabase.Make), so what is compared is the reading of the file.
    /// </summary>
    internal sealed class MaxMindReference : IDisposable
    {
        private readonly GeoDatabaseLayout _layout;
        private readonly DatabaseReader _geoIp2;
        private readonly Reader _plain;

        public MaxMindReference(string path, GeoDatabaseLayout layout)
        {
            _layout = layout;
            if (layout == GeoDatabaseLayout.Country || layout == GeoDatabaseLayout.City || layout == GeoDatabaseLayout.Asn)
                _geoIp2 = new DatabaseReader(path, FileAccessMode.Memory);
            else
                _plain = new Reader(path, FileAccessMode.Memory);
        }

        public GeoInfo Answer(IPAddress address)
        {
            switch (_layout)
            {
                case GeoDatabaseLayout.Country:
                    return _geoIp2.TryCountry(address, out var country)
                        ? GeoDatabase.Make(country.Country.IsoCode, country.Country.Name, null, null, null, null, null) : GeoInfo.Empty;
                case GeoDatabaseLayout.City:
                    return _geoIp2.TryCity(address, out var city)
                        ? GeoDatabase.Make(city.Country.IsoCode, city.Country.Name, city.City.Name, city.Location.Latitude, city.Location.Longitude, null, null) : GeoInfo.Empty;
                case GeoDatabaseLayout.Asn:
                    return _geoIp2.TryAsn(address, out var asn)
                        ? GeoDatabase.Make(null, null, null, null, null, asn.AutonomousSystemNumber, asn.AutonomousSystemOrganization) : GeoInfo.Empty;
                default:
                    var record = _plain.Find<Dictionary<string, object>>(address);
                    if (record == null) return GeoInfo.Empty;
                    string Text(string key) => record.TryGetValue(key, out var v) ? v as string : null;
                    return _layout == GeoDatabaseLayout.CountryCode
                        ? GeoDatabase.Make(Text("country_code"), null, null, null, null, null, null)
                        : GeoDatabase.Make(Text("country_code"), Text("country"), null, null, null, GeoDatabase.ParseAsn(Text("asn")), Text("as_name"));
            }
        }

        public void Dispose()
        {
            _geoIp2?.Dispose();
            _plain?.Dispose();
        }

        public static string Describe(GeoInfo i) =>
            i.Country + "|" + i.CountryName + "|" + i.City + "|" + i.Latitude?.ToString("R") + "|" + i.Longitude?.ToString("R") + "|" + i.Asn + "|" + i.AsnOrganization;
    }

    /// <summary>
    /// The lookup path a snapshot uses answers exactly what MaxMind.Db / MaxMind.GeoIP2 answer, for
    /// random public IPv4 and IPv6 addresses, on the bundled databases and on every record layout.
    /// </summary>
    public sealed class FastPathMatchesMaxMindTests : IDisposable
    {
        private readonly TestGeoDatabases.TempFolder _dir = new TestGeoDatabases.TempFolder();

        public void Dispose() => _dir.Dispose();

        // The regional registries' large IPv6 blocks (2400::/12 APNIC, 2600::/12 ARIN, 2800::/12 LACNIC,
        // 2a00::/12 RIPE NCC, 2c00::/12 AFRINIC), where random addresses have a fair chance of an answer.
        private static readonly byte[] RegistryBlocks = { 0x24, 0x26, 0x28, 0x2A, 0x2C };

        /// <summary>Random public addresses (AddressScopes says Public): IPv4 over the whole space, IPv6 in the registries' large blocks.</summary>
        internal static List<IPAddress> RandomPublic(Random rng, int count, bool v6)
        {
            var list = new List<IPAddress>();
            var bytes = new byte[v6 ? 16 : 4];
            while (list.Count < count)
            {
                rng.NextBytes(bytes);
                if (v6)
                {
                    bytes[0] = RegistryBlocks[rng.Next(RegistryBlocks.Length)];
                    bytes[1] &= 0x0F;
                }
                var a = new IPAddress(bytes);
                if (AddressScopes.Classify(a) == AddressScope.Public) list.Add(a);
            }
            return list;
        }

        [Theory]
        [InlineData(GeoLocator.BundledCountryFile, GeoDatabaseLayout.CountryCode)]
        [InlineData(GeoLocator.BundledAsnFile, GeoDatabaseLayout.Asn)]
        public void BundledDatabaseAnswersAsMaxMindsReaderDoes(string file, GeoDatabaseLayout layout)
        {
            string path = Path.Combine(GeoLocatorTests.BundledDirectory, file);
            using var db = GeoDatabase.Open(path);
            using var reference = new MaxMindReference(path, layout);
            Assert.Equal(layout, db.Layout);
            var rng = new Random(20261130);
            foreach (bool v6 in new[] { false, true })
            {
                int located = 0;
                var addresses = RandomPublic(rng, v6 ? 12000 : 4000, v6); // most of the IPv6 blocks is unused: more draws for a few hundred answers
                foreach (var a in addresses)
                {
                    string expected = MaxMindReference.Describe(reference.Answer(a)), actual = MaxMindReference.Describe(db.Lookup(a));
                    Assert.True(expected == actual, a + ": MaxMind's reader says " + expected + ", the module says " + actual);
                    if (!db.Lookup(a).IsEmpty) located++;
                }
                // The comparison means something only if most addresses have an answer.
                Assert.True(located > (v6 ? 250 : addresses.Count / 2), located + " of " + addresses.Count + (v6 ? " IPv6" : " IPv4") + " addresses located");
            }
        }

        [Fact]
        public void LocatorAnswersAsMaxMindsReadersMergedForNewAddresses()
        {
            string countryPath = Path.Combine(GeoLocatorTests.BundledDirectory, GeoLocator.BundledCountryFile);
            string asnPath = Path.Combine(GeoLocatorTests.BundledDirectory, GeoLocator.BundledAsnFile);
            using var country = new MaxMindReference(countryPath, GeoDatabaseLayout.CountryCode);
            using var asn = new MaxMindReference(asnPath, GeoDatabaseLayout.Asn);
            using var geo = new GeoLocator(GeoLocatorTests.BundledDirectory);
            var config = ConfigLoader.LoadText("geoip:\n  directory: '" + _dir.File("data") + "'\n", "test.yml").Config.GeoIp;
            Assert.Empty(geo.Refresh(config));
            var rng = new Random(7);
            var addresses = RandomPublic(rng, 3000, v6: false).Concat(RandomPublic(rng, 3000, v6: true)).ToList();
            // Each twice, the second time as a new object: the first answer comes from the records, the second from the kept answer.
            foreach (var a in addresses.Concat(addresses.Select(a => new IPAddress(a.GetAddressBytes()))))
            {
                string expected = MaxMindReference.Describe(country.Answer(a).Merge(asn.Answer(a))), actual = MaxMindReference.Describe(geo.Lookup(a));
                Assert.True(expected == actual, a + ": MaxMind's readers say " + expected + ", the locator says " + actual);
            }
            // IPv4-mapped IPv6 (what dual-stack sockets report) answers as the IPv4 address.
            foreach (var a in addresses.Take(500))
                Assert.Same(geo.Lookup(a), geo.Lookup(a.MapToIPv6()));
            Assert.True(geo.CacheHits >= addresses.Count, "second lookups should be answered by kept answers");
        }

        [Fact]
        public void EveryLayoutAnswersAsMaxMindsReadersDo()
        {
            var rng = new Random(99);
            // Networks of several sizes, IPv4 and IPv6, with a value per network; addresses are drawn
            // inside them and around them (outside any network: no answer).
            var networks = new List<(string Network, int Index)>();
            networks.Add(("8.8.8.0/24", 1)); // answers the probe GeoDatabase.Open makes
            networks.Add(("2001:4860::/32", 2));
            for (int i = 0; i < 60; i++)
            {
                networks.Add((Network(RandomPublic(rng, 1, v6: false)[0], 12 + rng.Next(13)), i));
                networks.Add((Network(RandomPublic(rng, 1, v6: true)[0], 20 + rng.Next(29)), i));
            }
            string[] codes = { "US", "DE", "JP", "BR", "au", "ZZ", "", "FR" };
            string city = TestGeoDatabases.City(_dir.File("city.mmdb"), networks.Select(n => (n.Network, codes[n.Index % 8], n.Index % 5 == 0 ? "" : "Land " + n.Index, "EU",
                "Town " + n.Index, -60 + n.Index * 1.7, -170 + n.Index * 5.3, (ushort)n.Index, "Etc/UTC")).ToArray());
            string country = TestGeoDatabases.Country(_dir.File("country.mmdb"), networks.Select(n => (n.Network, codes[n.Index % 8], "Land " + n.Index, "AS")).ToArray());
            string asn = TestGeoDatabases.Asn(_dir.File("asn.mmdb"), networks.Select(n => (n.Network, (uint)(64500 + n.Index * 7919), n.Index % 4 == 0 ? "" : "Org " + n.Index + " Ltd.")).ToArray());
            string dbip = TestGeoDatabases.DbIpCountryCode(_dir.File("dbip.mmdb"), networks.Select(n => (n.Network, codes[n.Index % 8])).ToArray());
            string ipinfo = TestGeoDatabases.IpInfoLite(_dir.File("ipinfo.mmdb"), networks.Select(n => (n.Network, codes[n.Index % 8], "Land " + n.Index, "OC",
                (uint)(13000 + n.Index), "AS name " + n.Index, "example" + n.Index + ".net")).ToArray());
            var probes = new List<IPAddress>();
            foreach (var (network, _) in networks)
            {
                var bytes = IPAddress.Parse(network.Split('/')[0]).GetAddressBytes();
                int prefix = int.Parse(network.Split('/')[1]);
                for (int k = 0; k < 20; k++)
                {
                    var b = (byte[])bytes.Clone();
                    for (int bit = prefix - (k < 10 ? 0 : 3); bit < b.Length * 8; bit++) // half inside, half around (prefix less 3 bits)
                        if (rng.Next(2) == 1) b[bit / 8] ^= (byte)(0x80 >> (bit % 8));
                    probes.Add(new IPAddress(b));
                }
            }
            probes.AddRange(RandomPublic(rng, 500, v6: false));
            probes.AddRange(RandomPublic(rng, 500, v6: true));
            foreach (var (path, layout) in new[] { (city, GeoDatabaseLayout.City), (country, GeoDatabaseLayout.Country), (asn, GeoDatabaseLayout.Asn),
                                                   (dbip, GeoDatabaseLayout.CountryCode), (ipinfo, GeoDatabaseLayout.IpInfo) })
            {
                using var db = GeoDatabase.Open(path);
                using var reference = new MaxMindReference(path, layout);
                Assert.Equal(layout, db.Layout);
                int located = 0;
                foreach (var a in probes)
                {
                    string expected = MaxMindReference.Describe(reference.Answer(a)), actual = MaxMindReference.Describe(db.Lookup(a));
                    Assert.True(expected == actual, layout + " " + a + ": MaxMind's reader says " + expected + ", the module says " + actual);
                    if (!db.Lookup(a).IsEmpty) located++;
                }
                Assert.True(located > probes.Count / 4, layout + ": only " + located + " of " + probes.Count + " probes located");
            }
        }

        /// <summary>The network of <paramref name="prefix"/> bits that holds <paramref name="address"/>, as CIDR text.</summary>
        private static string Network(IPAddress address, int prefix)
        {
            var b = address.GetAddressBytes();
            for (int bit = prefix; bit < b.Length * 8; bit++) b[bit / 8] &= (byte)~(0x80 >> (bit % 8));
            return new IPAddress(b) + "/" + prefix;
        }

        [Fact]
        public void DamagedRecordsAreReportedNotThrownAsIndexErrors()
        {
            var bytes = File.ReadAllBytes(Path.Combine(GeoLocatorTests.BundledDirectory, GeoLocator.BundledAsnFile));
            var tree = MmdbSearchTree.TryCreate(bytes);
            // Every byte of the data section becomes a control byte that claims a huge map.
            for (int i = tree.Data.PointerBase; i < tree.Data.End; i++) bytes[i] = 0xFF;
            string path = _dir.File("damaged.mmdb");
            File.WriteAllBytes(path, bytes);
            var ex = Assert.Throws<GeoDatabaseException>(() => GeoDatabase.Open(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains("damaged", ex.Message);
        }
    }

    /// <summary>A snapshot loads the GeoIP databases only when a row needs them: one with a public remote address.</summary>
    public sealed class GeoLoadedOnDemandTests : IDisposable
    {
        private readonly TestGeoDatabases.TempFolder _dir = new TestGeoDatabases.TempFolder();

        public void Dispose() => _dir.Dispose();

        private static Engine.Model.ConnectionRecord Row(string remote) =>
            new Engine.Model.ConnectionRecord { Protocol = Engine.Model.TransportProtocol.Tcp, RemoteAddress = IPAddress.Parse(remote), RemotePort = 443 };

        [Fact]
        public void LoopbackAndPrivateRowsOpenNoDatabase()
        {
            var options = new EnrichmentOptions { Geo = ConfigLoader.LoadText("geoip:\n  directory: '" + _dir.File("data") + "'\n", "test.yml").Config.GeoIp };
            using var enricher = new ConnectionEnricher(null, GeoLocatorTests.BundledDirectory);
            var local = new[] { "127.0.0.1", "::1", "::ffff:127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "fe80::1", "0.0.0.0", "::", "100.64.0.1", "224.0.0.251" }
                .Select(Row).ToList();
            var warnings = new List<string>();
            enricher.Classify(local, options, warnings);
            Assert.Empty(warnings);
            Assert.Empty(enricher.Geo.OpenDatabases);
            Assert.Equal(0, enricher.Geo.CacheHits + enricher.Geo.CacheMisses);
            Assert.All(local, r => Assert.Null(r.Country));
            Assert.DoesNotContain(local, r => r.AddressScope == "Public");

            // One public row is what opens them (both, for country and ASN).
            var mixed = new List<Engine.Model.ConnectionRecord>(local) { Row("8.8.8.8") };
            enricher.Classify(mixed, options, warnings);
            Assert.Equal(2, enricher.Geo.OpenDatabases.Count);
            Assert.Equal("US", mixed.Last().Country);
        }
    }
}
