using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using ConnectionsMonitor.GeoDataBuilder;
using MaxMind.Db;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>MmdbWriter's output, read back with MaxMind.Db's Reader (the reader GeoIP2 is built on).</summary>
    public class MmdbWriterTests
    {
        private static byte[] Bytes(MmdbWriter writer)
        {
            using var output = new MemoryStream();
            writer.Write(output);
            return output.ToArray();
        }

        private static Reader Open(MmdbWriter writer) => new Reader(new MemoryStream(Bytes(writer)));

        private static Dictionary<string, object> Find(Reader reader, string address) =>
            reader.Find<Dictionary<string, object>>(IPAddress.Parse(address));

        /// <summary>
        /// An unsigned integer from the metadata map, found in the raw bytes (MaxMind.Db keeps
        /// node_count and record_size internal): the key as a short utf8_string, then a uint16/uint32.
        /// </summary>
        private static long RawMetadataNumber(byte[] file, string key)
        {
            byte[] marker = { 0xAB, 0xCD, 0xEF, (byte)'M', (byte)'a', (byte)'x', (byte)'M', (byte)'i', (byte)'n', (byte)'d', (byte)'.', (byte)'c', (byte)'o', (byte)'m' };
            int metadata = file.AsSpan().LastIndexOf(marker) + marker.Length;
            byte[] encodedKey = new[] { (byte)(0x40 | key.Length) }.Concat(System.Text.Encoding.ASCII.GetBytes(key)).ToArray();
            int value = metadata + file.AsSpan(metadata).IndexOf(encodedKey) + encodedKey.Length;
            int type = file[value] >> 5, size = file[value] & 0x1F;
            Assert.True(type == 5 || type == 6, $"{key} is not a uint16/uint32");
            long number = 0;
            for (int i = 1; i <= size; i++) number = (number << 8) | file[value + i];
            return number;
        }

        private static Dictionary<string, object> Named(string name) => new Dictionary<string, object> { ["name"] = name };

        [Fact]
        public void EveryDataTypeRoundTrips()
        {
            var writer = new MmdbWriter("Test-Types");
            writer.Insert("192.0.2.0/24", new Dictionary<string, object>
            {
                ["string"] = "Zürich ☃",
                ["empty_string"] = "",
                ["double"] = -12.5e100,
                ["float"] = 1.5f,
                ["bytes"] = new byte[] { 0, 1, 255 },
                ["uint16"] = (ushort)65535,
                ["uint32_zero"] = 0u,
                ["uint32"] = 4_294_967_295u,
                ["uint64"] = ulong.MaxValue,
                ["int32_positive"] = 1_000_000,
                ["int32_negative"] = -2,
                ["int32_min"] = int.MinValue,
                ["true"] = true,
                ["false"] = false,
                ["array"] = new object[] { "a", 1u, new object[] { true } },
                ["list"] = new List<object> { "x" },
                ["empty_map"] = new Dictionary<string, object>(),
                ["map"] = new Dictionary<string, object> { ["inner"] = new Dictionary<string, object> { ["deep"] = "yes" } },
            });
            using Reader reader = Open(writer);
            var record = Find(reader, "192.0.2.77");

            Assert.Equal("Zürich ☃", record["string"]);
            Assert.Equal("", record["empty_string"]);
            Assert.Equal(-12.5e100, record["double"]);
            Assert.Equal(1.5f, record["float"]);
            Assert.Equal(new byte[] { 0, 1, 255 }, record["bytes"]);
            Assert.Equal(65535, Convert.ToInt64(record["uint16"]));
            Assert.Equal(0L, Convert.ToInt64(record["uint32_zero"]));
            Assert.Equal(4_294_967_295L, Convert.ToInt64(record["uint32"]));
            Assert.Equal(ulong.MaxValue, Convert.ToUInt64(record["uint64"]));
            Assert.Equal(1_000_000, record["int32_positive"]);
            Assert.Equal(-2, record["int32_negative"]);
            Assert.Equal(int.MinValue, record["int32_min"]);
            Assert.Equal(true, record["true"]);
            Assert.Equal(false, record["false"]);
            var array = Assert.IsAssignableFrom<IList<object>>(record["array"]);
            Assert.Equal("a", array[0]);
            Assert.Equal(1L, Convert.ToInt64(array[1]));
            Assert.Equal(true, Assert.IsAssignableFrom<IList<object>>(array[2]).Single());
            Assert.Equal("x", Assert.IsAssignableFrom<IList<object>>(record["list"]).Single());
            Assert.Empty(Assert.IsAssignableFrom<IDictionary<string, object>>(record["empty_map"]));
            var inner = (IDictionary<string, object>)((IDictionary<string, object>)record["map"])["inner"];
            Assert.Equal("yes", inner["deep"]);
        }

        public sealed class TypedRecord
        {
            [Constructor]
            public TypedRecord(
                [MapKey("autonomous_system_number")] long? number,
                [MapKey("autonomous_system_organization")] string organization,
                [MapKey("score")] double score,
                [MapKey("flags")] IList<string> flags)
            {
                Number = number;
                Organization = organization;
                Score = score;
                Flags = flags;
            }

            public long? Number { get; }
            public string Organization { get; }
            public double Score { get; }
            public IList<string> Flags { get; }
        }

        [Fact]
        public void TypedRecordsDeserialize()
        {
            var writer = new MmdbWriter("Test-Typed");
            writer.Insert("2001:db8::/32", new Dictionary<string, object>
            {
                ["autonomous_system_number"] = 64496u,
                ["autonomous_system_organization"] = "Example \"Quoted\", Inc.",
                ["score"] = 0.25,
                ["flags"] = new[] { "vpn", "hosting" },
            });
            using Reader reader = Open(writer);
            var record = reader.Find<TypedRecord>(IPAddress.Parse("2001:db8:ffff::1"), out int prefixLength);

            Assert.Equal(64496, record.Number);
            Assert.Equal("Example \"Quoted\", Inc.", record.Organization);
            Assert.Equal(0.25, record.Score);
            Assert.Equal(new[] { "vpn", "hosting" }, record.Flags);
            Assert.Equal(32, prefixLength);
        }

        [Theory]
        [InlineData(0)]
        [InlineData(28)]
        [InlineData(29)]
        [InlineData(284)]
        [InlineData(285)]
        [InlineData(65820)]
        [InlineData(65821)]
        [InlineData(100_000)]
        public void EverySizeEncodingRoundTrips(int length)
        {
            string text = new string('s', length);
            var writer = new MmdbWriter("Test-Sizes");
            writer.Insert("198.51.100.0/24", new Dictionary<string, object> { ["text"] = text, ["after"] = 7u });
            using Reader reader = Open(writer);
            var record = Find(reader, "198.51.100.1");
            Assert.Equal(text, record["text"]);
            Assert.Equal(7L, Convert.ToInt64(record["after"]));
        }

        [Fact]
        public void ARangeCoversExactlyItsFirstToLastAddress()
        {
            var writer = new MmdbWriter("Test-Range");
            int networks = writer.InsertRange(IPAddress.Parse("10.0.0.5"), IPAddress.Parse("10.0.1.9"), Named("range"));
            using Reader reader = Open(writer);

            // .5/32 .6/31 .8/29 .16/28 .32/27 .64/26 .128/25, 10.0.1.0/29, 10.0.1.8/31
            Assert.Equal(9, networks);
            Assert.Null(Find(reader, "10.0.0.4"));
            Assert.Equal("range", Find(reader, "10.0.0.5")["name"]);
            Assert.Equal("range", Find(reader, "10.0.0.255")["name"]);
            Assert.Equal("range", Find(reader, "10.0.1.9")["name"]);
            Assert.Null(Find(reader, "10.0.1.10"));
        }

        [Fact]
        public void IPv6RangesAndWholeAddressSpacesSplitIntoTheFewestNetworks()
        {
            var writer = new MmdbWriter("Test-Range6");
            Assert.Equal(1, writer.InsertRange(IPAddress.Parse("2001:db8::"), IPAddress.Parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), Named("doc")));
            Assert.Equal(2, writer.InsertRange(IPAddress.Parse("2001:db9::"), IPAddress.Parse("2001:db9::2"), Named("small")));
            Assert.Equal(1, new MmdbWriter("x").InsertRange(IPAddress.Parse("0.0.0.0"), IPAddress.Parse("255.255.255.255"), Named("all")));
            Assert.Equal(1, new MmdbWriter("x").InsertRange(IPAddress.IPv6Any, IPAddress.Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Named("all")));
            using Reader reader = Open(writer);

            Assert.Null(Find(reader, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
            Assert.Equal("doc", Find(reader, "2001:db8::")["name"]);
            Assert.Equal("doc", Find(reader, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")["name"]);
            Assert.Equal("small", Find(reader, "2001:db9::2")["name"]);
            Assert.Null(Find(reader, "2001:db9::3"));
        }

        [Fact]
        public void ALaterInsertWinsForTheAddressesItCovers()
        {
            var writer = new MmdbWriter("Test-Overlap");
            writer.Insert("10.0.0.0/8", Named("wide"));
            writer.Insert("10.1.0.0/16", Named("narrow"));
            using (Reader reader = Open(writer))
            {
                Assert.Equal("narrow", Find(reader, "10.1.2.3")["name"]);
                Assert.Equal("wide", Find(reader, "10.2.0.0")["name"]);
                Assert.Equal("wide", Find(reader, "10.0.255.255")["name"]);
                Assert.Null(Find(reader, "11.0.0.0"));
            }

            writer.Insert("10.0.0.0/8", Named("replaced"));
            using (Reader reader = Open(writer))
            {
                Assert.Equal("replaced", Find(reader, "10.1.2.3")["name"]);
                reader.Find<Dictionary<string, object>>(IPAddress.Parse("10.1.2.3"), out int prefixLength);
                Assert.Equal(8, prefixLength);
            }
        }

        [Fact]
        public void SiblingsWithEqualRecordsMerge()
        {
            var writer = new MmdbWriter("Test-Merge");
            writer.Insert("10.0.0.0/25", Named("same"));
            writer.Insert("10.0.0.128/25", new Dictionary<string, object> { ["name"] = "same" });
            using Reader reader = Open(writer);
            reader.Find<Dictionary<string, object>>(IPAddress.Parse("10.0.0.200"), out int prefixLength);
            Assert.Equal(24, prefixLength);
            Assert.Equal(1, writer.RecordCount);
        }

        [Fact]
        public void IPv4MappedAddressesAnswerLikeIPv4()
        {
            var writer = new MmdbWriter("Test-Alias");
            writer.Insert("203.0.113.0/24", Named("v4"));
            writer.Insert("::ffff:198.51.100.0/120", Named("mapped"));
            using Reader reader = Open(writer);

            Assert.Equal("v4", Find(reader, "::ffff:203.0.113.9")["name"]);
            Assert.Equal("v4", Find(reader, "::203.0.113.9")["name"]);
            Assert.Equal("mapped", Find(reader, "198.51.100.1")["name"]);
            Assert.Null(Find(reader, "::ffff:203.0.114.0"));
        }

        [Fact]
        public void WithoutTheAliasIPv4MappedAddressesFindNothing()
        {
            var writer = new MmdbWriter("Test-NoAlias") { AliasIPv4MappedAddresses = false };
            writer.Insert("203.0.113.0/24", Named("v4"));
            using Reader reader = Open(writer);
            Assert.Equal("v4", Find(reader, "203.0.113.9")["name"]);
            Assert.Null(Find(reader, "::ffff:203.0.113.9"));
        }

        [Theory]
        [InlineData(24)]
        [InlineData(28)]
        [InlineData(32)]
        public void EveryRecordSizeReadsBack(int recordSize)
        {
            var writer = new MmdbWriter("Test-RecordSize") { RecordSize = recordSize };
            writer.Insert("192.0.2.0/25", Named("low"));
            writer.Insert("192.0.2.128/25", Named("high"));
            writer.Insert("2001:db8::/48", Named("v6"));
            byte[] file = Bytes(writer);
            using var reader = new Reader(new MemoryStream(file));

            long nodeCount = RawMetadataNumber(file, "node_count");
            Assert.Equal(recordSize, RawMetadataNumber(file, "record_size"));
            // The tree is node_count nodes of two records each, then the 16-byte zero separator.
            long treeLength = nodeCount * recordSize / 4;
            Assert.All(file.Skip((int)treeLength).Take(16), b => Assert.Equal(0, b));
            Assert.NotEqual(0, file[treeLength + 16]);
            Assert.Equal("low", Find(reader, "192.0.2.127")["name"]);
            Assert.Equal("high", Find(reader, "192.0.2.128")["name"]);
            Assert.Equal("v6", Find(reader, "2001:db8:0:ffff::1")["name"]);
            Assert.Null(Find(reader, "2001:db8:1::"));
        }

        [Fact]
        public void ADataSectionBeyond24BitsPicks28BitRecords()
        {
            // 18 MB of values first (one value may be at most ~16 MB), so the last record's data
            // pointer needs more than 24 bits.
            var writer = new MmdbWriter("Test-Large");
            var firstBlob = new byte[9 << 20];
            var secondBlob = new byte[9 << 20];
            secondBlob[0] = 1;
            writer.Insert("1.0.0.0/24", new Dictionary<string, object> { ["blob"] = firstBlob });
            writer.Insert("1.0.1.0/24", new Dictionary<string, object> { ["blob"] = secondBlob });
            writer.Insert("2.0.0.0/24", Named("after the blobs"));
            byte[] file = Bytes(writer);
            using (var reader = new Reader(new MemoryStream(file)))
            {
                Assert.Equal(28, RawMetadataNumber(file, "record_size"));
                Assert.Equal("after the blobs", Find(reader, "2.0.0.1")["name"]);
                // (The blobs themselves exceed the payload MaxMind.Db decodes per lookup.)
            }

            writer.RecordSize = 24;
            Assert.Throws<InvalidOperationException>(() => Bytes(writer));
        }

        [Fact]
        public void ManyRecordsUseLongPointersCorrectly()
        {
            // 30,000 records of ~60 bytes. Values first written at record 0 (offset < 2,048), record
            // 100 (below 526,336) and record 20,000 (beyond it) are reused by the records after them,
            // through two-, three- and four-byte pointers; every record must decode to its own values.
            var writer = new MmdbWriter("Test-Pointers");
            for (uint i = 0; i < 30_000; i++)
            {
                var record = new Dictionary<string, object>
                {
                    ["autonomous_system_number"] = i,
                    ["autonomous_system_organization"] = $"Organization number {i:D8} with a long name",
                    ["shared"] = "a value every record shares",
                };
                if (i >= 100) record["middle"] = "first written a little way in";
                if (i >= 20_000) record["late"] = "first written beyond 512 KiB";
                writer.Insert(new IPAddress(new byte[] { 10, (byte)(i >> 16), (byte)(i >> 8), (byte)i }), 32, record);
            }
            using var output = new MemoryStream();
            MmdbWriteSummary summary = writer.Write(output);
            Assert.True(summary.DataSectionLength > 526_336 + 2048);
            using var reader = new Reader(new MemoryStream(output.ToArray()));
            foreach (uint i in new uint[] { 0, 1, 99, 100, 101, 2047, 19_999, 20_000, 20_001, 29_999 })
            {
                var record = Find(reader, $"10.{(byte)(i >> 16)}.{(byte)(i >> 8)}.{(byte)i}");
                Assert.Equal((long)i, Convert.ToInt64(record["autonomous_system_number"]));
                Assert.Equal($"Organization number {i:D8} with a long name", record["autonomous_system_organization"]);
                Assert.Equal("a value every record shares", record["shared"]);
                Assert.Equal(i >= 100 ? "first written a little way in" : null, record.GetValueOrDefault("middle"));
                Assert.Equal(i >= 20_000 ? "first written beyond 512 KiB" : null, record.GetValueOrDefault("late"));
            }
        }

        [Fact]
        public void EqualRecordsAreStoredOnce()
        {
            var writer = new MmdbWriter("Test-Dedup");
            for (int i = 0; i < 256; i++)
                writer.Insert($"10.{i}.0.0/24", new Dictionary<string, object> { ["b"] = "two", ["a"] = 1u });
            var single = new MmdbWriter("Test-Dedup");
            single.Insert("10.0.0.0/24", new Dictionary<string, object> { ["a"] = 1u, ["b"] = "two" });

            using var many = new MemoryStream();
            using var one = new MemoryStream();
            Assert.Equal(1, writer.RecordCount);
            Assert.Equal(single.Write(one).DataSectionLength, writer.Write(many).DataSectionLength);
        }

        [Fact]
        public void TheSameInsertsGiveTheSameBytes()
        {
            byte[] Build(bool reversedKeys)
            {
                var writer = new MmdbWriter("Test-Deterministic") { BuildEpoch = 1_234_567_890 };
                writer.Description["en"] = "determinism";
                writer.Languages.Add("en");
                var record = reversedKeys
                    ? new Dictionary<string, object> { ["z"] = 1u, ["a"] = "x" }
                    : new Dictionary<string, object> { ["a"] = "x", ["z"] = 1u };
                writer.Insert("192.0.2.0/24", record);
                writer.InsertRange(IPAddress.Parse("2001:db8::5"), IPAddress.Parse("2001:db8::ff"), Named("range"));
                return Bytes(writer);
            }
            Assert.Equal(Build(false), Build(false));
            Assert.Equal(Build(false), Build(true));
        }

        [Fact]
        public void TheLayoutDependsOnTheNetworksNotTheirInsertOrder()
        {
            var networks = new[] { ("192.0.2.0/24", "a"), ("2001:db8::/32", "b"), ("198.51.100.0/25", "a"), ("10.0.0.0/8", "c") };
            var forward = new MmdbWriter("Test-Order");
            var backward = new MmdbWriter("Test-Order");
            foreach (var (cidr, name) in networks) forward.Insert(cidr, Named(name));
            foreach (var (cidr, name) in networks.Reverse()) backward.Insert(cidr, Named(name));

            byte[] first = Bytes(forward);
            Assert.Equal(first, Bytes(backward));
            Assert.Equal(first, Bytes(forward)); // writing does not change the writer
        }

        [Fact]
        public void MetadataIsWritten()
        {
            var writer = new MmdbWriter("Test-Metadata") { BuildEpoch = 1_781_722_800 };
            writer.Description["en"] = "English text";
            writer.Description["de"] = "Deutscher Text";
            writer.Languages.Add("en");
            writer.Languages.Add("de");
            writer.Insert("192.0.2.0/24", Named("x"));
            byte[] file = Bytes(writer);
            using var reader = new Reader(new MemoryStream(file));
            Metadata metadata = reader.Metadata;

            Assert.Equal("Test-Metadata", metadata.DatabaseType);
            Assert.Equal(6, metadata.IPVersion);
            Assert.Equal(2, metadata.BinaryFormatMajorVersion);
            Assert.Equal(0, metadata.BinaryFormatMinorVersion);
            Assert.Equal(new DateTime(2026, 6, 17, 19, 0, 0, DateTimeKind.Utc), metadata.BuildDate);
            Assert.Equal("English text", metadata.Description["en"]);
            Assert.Equal("Deutscher Text", metadata.Description["de"]);
            Assert.Equal(new[] { "en", "de" }, metadata.Languages);
            // 96 nodes to ::/96, 24 more to 192.0.2.0/24, and the ::ffff:0:0/96 alias branch from depth 81.
            Assert.Equal(96 + 24 + 15, RawMetadataNumber(file, "node_count"));
        }

        [Fact]
        public void BadInputIsRefusedWithAReason()
        {
            var writer = new MmdbWriter("Test-Errors");
            var hostBits = Assert.Throws<ArgumentException>(() => writer.Insert(IPAddress.Parse("10.0.0.1"), 24, Named("x")));
            Assert.Contains("10.0.0.0/24", hostBits.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => writer.Insert(IPAddress.Parse("10.0.0.0"), 33, Named("x")));
            Assert.Throws<ArgumentOutOfRangeException>(() => writer.Insert(IPAddress.IPv6Any, 129, Named("x")));
            var unsupported = Assert.Throws<ArgumentException>(() => writer.Insert("10.0.0.0/8", new Dictionary<string, object> { ["when"] = DateTime.UtcNow }));
            Assert.Contains("when", unsupported.Message);
            Assert.Throws<ArgumentException>(() => writer.Insert("10.0.0.0/8", new Dictionary<string, object> { ["nothing"] = null }));
            Assert.Throws<ArgumentException>(() => writer.InsertRange(IPAddress.Parse("10.0.0.9"), IPAddress.Parse("10.0.0.1"), Named("x")));
            Assert.Throws<ArgumentException>(() => writer.InsertRange(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("::1"), Named("x")));
            Assert.Throws<ArgumentOutOfRangeException>(() => writer.RecordSize = 16);
            Assert.Throws<ArgumentException>(() => writer.Insert("10.0.0.0", Named("x")));
            Assert.Contains("192.0.2.0/24", Assert.Throws<ArgumentException>(() => writer.Insert("192.0.2.9/24", Named("x"))).Message);
        }

        [Fact]
        public void AnEmptyDatabaseAnswersNothing()
        {
            using Reader reader = Open(new MmdbWriter("Test-Empty"));
            Assert.Null(Find(reader, "8.8.8.8"));
            Assert.Null(Find(reader, "2001:db8::1"));
        }
    }
}
