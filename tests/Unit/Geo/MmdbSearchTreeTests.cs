using System;
using System.IO;
using System.Net;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using ConnectionsMonitor.GeoDataBuilder;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>
    /// The fast path (own tree walk + one decode per data record, from the one copy of the file) must
    /// answer exactly what MaxMind's readers answer, address for address.
    /// </summary>
    public sealed class MmdbSearchTreeTests : IDisposable
    {
        private readonly TestGeoDatabases.TempFolder _dir = new TestGeoDatabases.TempFolder();

        public void Dispose() => _dir.Dispose();

        private static void AssertSameAsReader(GeoDatabase db, MaxMindReference reference, IPAddress address)
        {
            string expected = MaxMindReference.Describe(reference.Answer(address)), actual = MaxMindReference.Describe(db.Lookup(address));
            Assert.True(expected == actual, address + ": MaxMind's reader says " + expected + ", the tree walk says " + actual);
        }

        [Theory]
        [InlineData(GeoLocator.BundledCountryFile)]
        [InlineData(GeoLocator.BundledAsnFile)]
        public void BundledDatabasesAnswerAsTheReaderDoesForRandomAddresses(string file)
        {
            using var db = GeoDatabase.Open(Path.Combine(GeoLocatorTests.BundledDirectory, file));
            using var reference = new MaxMindReference(db.Path, db.Layout);
            var rng = new Random(20261124);
            int found = 0;
            for (int i = 0; i < 40000; i++)
            {
                var v4 = new IPAddress(BitConverter.GetBytes(rng.Next() ^ (rng.Next() << 1)));
                AssertSameAsReader(db, reference, v4);
                if (!db.Lookup(v4).IsEmpty) found++;
            }
            var bytes = new byte[16];
            for (int i = 0; i < 10000; i++)
            {
                rng.NextBytes(bytes);
                bytes[0] = (byte)(0x20 | (bytes[0] & 0x0F)); // 2000::/4, where most allocations are
                AssertSameAsReader(db, reference, new IPAddress(bytes));
            }
            Assert.True(found > 10000, "only " + found + " of 40,000 random IPv4 addresses were found");
        }

        [Theory]
        [InlineData(24)]
        [InlineData(28)]
        [InlineData(32)]
        public void EveryRecordSizeWalksCorrectly(int recordSize)
        {
            var writer = new MmdbWriter("GeoLite2-Country") { RecordSize = recordSize };
            foreach (var (net, code) in new[] { ("1.1.1.0/24", "AU"), ("8.8.8.0/24", "US"), ("9.9.9.0/24", "CH"), ("10.0.0.0/8", "ZZ"), ("2001:db8::/32", "DE"), ("2620:fe::/48", "US") })
                writer.Insert(net, new System.Collections.Generic.Dictionary<string, object>
                {
                    ["country"] = new System.Collections.Generic.Dictionary<string, object> { ["iso_code"] = code, ["names"] = new System.Collections.Generic.Dictionary<string, object> { ["en"] = "Land " + code } },
                });
            string path = _dir.File("size" + recordSize + ".mmdb");
            using (var f = File.Create(path)) writer.Write(f);
            using var db = GeoDatabase.Open(path);
            using var reference = new MaxMindReference(path, db.Layout);
            foreach (var a in new[] { "1.1.1.0", "1.1.1.255", "1.1.0.255", "1.1.2.0", "8.8.8.8", "9.9.9.9", "10.200.3.4", "11.0.0.0", "0.0.0.0", "255.255.255.255",
                                      "2001:db8::1", "2001:db9::", "2620:fe::fe", "2620:ff::", "::ffff:8.8.8.8", "::" })
                AssertSameAsReader(db, reference, IPAddress.Parse(a));
            Assert.Equal("AU", db.Lookup(IPAddress.Parse("1.1.1.1")).Country);
            Assert.Equal("CH", db.Lookup(IPAddress.Parse("9.9.9.9")).Country);
            Assert.Null(db.Lookup(IPAddress.Parse("1.1.2.1")).Country);
        }

        [Fact]
        public void RecordsAreDecodedOncePerRecordNotPerAddress()
        {
            using var db = GeoDatabase.Open(Path.Combine(GeoLocatorTests.BundledDirectory, GeoLocator.BundledCountryFile));
            var a = db.Lookup(IPAddress.Parse("8.8.8.8"));
            var b = db.Lookup(IPAddress.Parse("8.8.4.4")); // another Google address: DB-IP's record is the same "US"
            Assert.Same(a, b);
        }

        [Fact]
        public void ATreeIsNotBuiltFromBytesWithoutMetadata()
        {
            Assert.Null(MmdbSearchTree.TryCreate(new byte[4096]));
            Assert.Null(MmdbSearchTree.TryCreate(new byte[0]));
        }
    }
}
