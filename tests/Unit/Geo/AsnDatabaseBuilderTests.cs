using System;
using System.IO;
using System.Net.Sockets;
using ConnectionsMonitor.GeoDataBuilder;
using ConnectionsMonitor.Tests.TestSupport;
using MaxMind.GeoIP2;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>The build-asn conversion: ip-location-db CSV rows to GeoLite2-ASN records.</summary>
    public class AsnDatabaseBuilderTests
    {
        private static DatabaseReader Build(string ipv4Csv, string ipv6Csv)
        {
            MmdbWriter writer = AsnDatabaseBuilder.CreateWriter(buildEpoch: 1);
            AsnDatabaseBuilder.AddCsv(writer, new StringReader(ipv4Csv), "v4.csv", AddressFamily.InterNetwork);
            AsnDatabaseBuilder.AddCsv(writer, new StringReader(ipv6Csv), "v6.csv", AddressFamily.InterNetworkV6);
            var output = new MemoryStream();
            writer.Write(output);
            output.Position = 0;
            return new DatabaseReader(output);
        }

        [Fact]
        public void QuotedOrganizationsKeepTheirCommasAndQuotes()
        {
            using DatabaseReader reader = Build(
                "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n" +
                "2.26.200.0,2.26.215.255,201907,\"LLC \"\"SPUTNIK\"\"\"\r\n" +
                "5.0.0.0,5.0.0.9,64500,Plain Name\n",
                "2001:db8::,2001:db8::ffff,64501,\"Multi\nLine\"\n");

            Assert.Equal("Cloudflare, Inc.", reader.Asn("1.0.0.77").AutonomousSystemOrganization);
            Assert.Equal("LLC \"SPUTNIK\"", reader.Asn("2.26.215.255").AutonomousSystemOrganization);
            Assert.Equal(201907, reader.Asn("2.26.200.0").AutonomousSystemNumber);
            Assert.Equal("Plain Name", reader.Asn("5.0.0.9").AutonomousSystemOrganization);
            Assert.False(reader.TryAsn("5.0.0.10", out _));
            Assert.Equal("Multi\nLine", reader.Asn("2001:db8::1").AutonomousSystemOrganization);
        }

        [Fact]
        public void AnEmptyOrganizationIsLeftOut()
        {
            using DatabaseReader reader = Build("9.9.9.0,9.9.9.255,19281,\n", "");
            var response = reader.Asn("9.9.9.9");
            Assert.Equal(19281, response.AutonomousSystemNumber);
            Assert.Null(response.AutonomousSystemOrganization);
        }

        [Theory]
        [InlineData("1.0.0.0,1.0.0.255,13335\n", "line 1: expected 4 fields")]
        [InlineData("1.0.0.0,1.0.0.255,13335,ok\n1.0.1.0,1.0.1.255,AS1,bad\n", "line 2: 'AS1' is not an AS number")]
        [InlineData("1.0.0.0,2001:db8::,13335,x\n", "line 1: '2001:db8::' is not an IPv4 address")]
        [InlineData("1.0.0.9,1.0.0.1,13335,x\n", "line 1: The range 1.0.0.9 - 1.0.0.1 ends before it starts")]
        [InlineData("1.0.0.0,1.0.0.255,13335,\"unclosed\n", "Line 1: a quoted field is not closed")]
        [InlineData("1.0.0.0,1.0.0.255,13335,\"x\"y\n", "Line 1: text after a closing quote")]
        public void MalformedRowsNameTheFileAndLine(string csv, string expected)
        {
            MmdbWriter writer = AsnDatabaseBuilder.CreateWriter(buildEpoch: 1);
            var error = Assert.Throws<FormatException>(() => AsnDatabaseBuilder.AddCsv(writer, new StringReader(csv), "asn-ipv4.csv", AddressFamily.InterNetwork));
            Assert.StartsWith("asn-ipv4.csv", error.Message);
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void TheCommandLineBuildIsDeterministic()
        {
            using var folder = new TestGeoDatabases.TempFolder();
            File.WriteAllText(folder.File("v4.csv"), "8.8.8.0,8.8.8.255,15169,Google LLC\n");
            File.WriteAllText(folder.File("v6.csv"), "2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n");
            AsnDatabaseBuilder.Build(folder.File("v4.csv"), folder.File("v6.csv"), folder.File("a.mmdb"), 1_781_722_800, log: null);
            AsnDatabaseBuilder.Build(folder.File("v4.csv"), folder.File("v6.csv"), folder.File("b.mmdb"), 1_781_722_800, log: null);

            Assert.Equal(File.ReadAllBytes(folder.File("a.mmdb")), File.ReadAllBytes(folder.File("b.mmdb")));
            using var reader = new DatabaseReader(folder.File("a.mmdb"));
            Assert.Equal(15169, reader.Asn("2001:4860::1").AutonomousSystemNumber);
        }

        /// <summary>The folder with the unpacked @ip-location-db/asn 2.3.2026061719 package (SOURCES.md): $CM_ASN_PACKAGE, else ./package at the repository root.</summary>
        private static string AsnPackage =>
            Environment.GetEnvironmentVariable("CM_ASN_PACKAGE") is string set && set.Length > 0 ? set : System.IO.Path.Combine(Repo.Root, "package");

        /// <summary>Runs where the package's CSV files are on this machine (the tests fetch nothing from the network).</summary>
        public sealed class AsnPackageFactAttribute : FactAttribute
        {
            public AsnPackageFactAttribute()
            {
                if (!System.IO.File.Exists(System.IO.Path.Combine(AsnPackage, "asn-ipv4.csv")) || !System.IO.File.Exists(System.IO.Path.Combine(AsnPackage, "asn-ipv6.csv")))
                    Skip = "the CSV files of @ip-location-db/asn 2.3.2026061719 are not in " + AsnPackage +
                           " (npm pack @ip-location-db/asn@2.3.2026061719 and unpack it there, or set CM_ASN_PACKAGE): the bundled database cannot be rebuilt here";
            }
        }

        /// <summary>README / data/GeoIP/SOURCES.md: tools/GeoDataBuilder "rebuilds it byte for byte".</summary>
        [AsnPackageFact]
        public void TheBundledAsnDatabaseRebuildsByteForByte()
        {
            string v4 = System.IO.Path.Combine(AsnPackage, "asn-ipv4.csv"), v6 = System.IO.Path.Combine(AsnPackage, "asn-ipv6.csv");
            // The inputs SOURCES.md names: other CSVs would build another database, and that is not what this checks.
            Assert.Equal("76afd7f575bc22d3b3d52f4666fb1ec20c254948829c8f23b1ecc8b8856106d5", Sha256Of(v4));
            Assert.Equal("c91289d4d5dba149fb5f0c12ff3a6db3ad2d1910250034f56f187f4d32f1d337", Sha256Of(v6));
            string output = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cm-asn-rebuild-" + Guid.NewGuid().ToString("N") + ".mmdb");
            try
            {
                AsnDatabaseBuilder.Build(v4, v6, output, 1_781_722_800, log: null);
                string bundled = System.IO.Path.Combine(Repo.Root, "data", "GeoIP", "ip-location-db-asn.mmdb");
                Assert.Equal("68a717341117d51139ac0df2a3ec9c75e0fd9daa281e72b80a743b8638f2f8d0", Sha256Of(bundled));
                Assert.Equal(Sha256Of(bundled), Sha256Of(output));
                Assert.Equal(10_314_454L, new System.IO.FileInfo(output).Length);
            }
            finally
            {
                System.IO.File.Delete(output);
            }
        }

        private static string Sha256Of(string path)
        {
            using var stream = System.IO.File.OpenRead(path);
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream)).ToLowerInvariant();
        }
    }
}
