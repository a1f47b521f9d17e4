using System;
using System.Linq;
using ConnectionsMonitor.Engine.Blocking;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>Reading nft -j output (the shapes nftables 1.0.6 writes, captured on this machine).</summary>
    public class NftablesListingTests
    {
        private static readonly DateTime Now = new DateTime(2026, 12, 1, 10, 40, 0, DateTimeKind.Utc);

        private const string Json =
            "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"release_name\": \"Lester Gooch #5\", \"json_schema_version\": 1}}, " +
            "{\"table\": {\"family\": \"inet\", \"name\": \"connectionsmonitor\", \"handle\": 1, \"comment\": \"blocks made by the ConnectionsMonitor PowerShell module\"}}, " +
            "{\"set\": {\"family\": \"inet\", \"name\": \"inbound4\", \"table\": \"connectionsmonitor\", \"type\": \"ipv4_addr\", \"handle\": 1, \"flags\": [\"interval\", \"timeout\"], " +
            "\"elem\": [{\"elem\": {\"val\": \"203.0.113.7\", \"timeout\": 3600, \"expires\": 2999, \"comment\": \"cm1 1796121000 scan%20from %22alert%22\"}}, " +
            "{\"elem\": {\"val\": {\"prefix\": {\"addr\": \"198.51.100.0\", \"len\": 24}}, \"comment\": \"cm1 1796121000\"}}]}}, " +
            "{\"set\": {\"family\": \"inet\", \"name\": \"inbound6\", \"table\": \"connectionsmonitor\", \"type\": \"ipv6_addr\", \"handle\": 2, \"flags\": [\"interval\", \"timeout\"]}}, " +
            "{\"set\": {\"family\": \"inet\", \"name\": \"outbound4\", \"table\": \"connectionsmonitor\", \"type\": \"ipv4_addr\", \"handle\": 3, \"flags\": [\"interval\", \"timeout\"], " +
            "\"elem\": [\"192.0.2.1\", {\"elem\": {\"val\": \"203.0.113.7\", \"timeout\": 3600, \"expires\": 2999, \"comment\": \"cm1 1796121000 scan%20from %22alert%22\"}}, " +
            "{\"elem\": {\"val\": \"192.0.2.9\", \"timeout\": 60, \"expires\": 41, \"comment\": \"added by hand\"}}, " +
            "{\"range\": [\"192.0.2.20\", \"192.0.2.30\"]}]}}, " +
            "{\"set\": {\"family\": \"inet\", \"name\": \"outbound6\", \"table\": \"connectionsmonitor\", \"type\": \"ipv6_addr\", \"handle\": 4, \"flags\": [\"interval\", \"timeout\"], " +
            "\"elem\": [{\"elem\": {\"val\": {\"prefix\": {\"addr\": \"2001:db8::\", \"len\": 32}}, \"timeout\": 2, \"expires\": 1, \"comment\": \"cm1 1796121599\"}}]}}, " +
            "{\"set\": {\"family\": \"inet\", \"name\": \"other\", \"table\": \"connectionsmonitor\", \"type\": \"ipv4_addr\", \"handle\": 5, \"elem\": [\"10.0.0.1\"]}}, " +
            "{\"chain\": {\"family\": \"inet\", \"table\": \"connectionsmonitor\", \"name\": \"input\", \"handle\": 6, \"type\": \"filter\", \"hook\": \"input\", \"prio\": -10, \"policy\": \"accept\"}}]}";

        [Fact]
        public void ReadsEveryShapeAndMergesDirections()
        {
            var blocks = NftablesListing.Parse(Json, Now);
            Assert.Equal(new[] { "203.0.113.7", "198.51.100.0/24", "192.0.2.1", "192.0.2.9", "2001:db8::/32" }, blocks.Select(b => b.Target.Text).ToArray());

            var both = blocks[0];
            Assert.Equal(BlockDirection.Both, both.Direction);
            Assert.Equal("scan from \"alert\"", both.Reason);
            Assert.Equal(new DateTime(2026, 12, 1, 10, 30, 0, DateTimeKind.Utc), both.CreatedUtc);
            Assert.Equal(new DateTime(2026, 12, 1, 11, 30, 0, DateTimeKind.Utc), both.ExpiresUtc); // created + timeout, exactly
            Assert.Equal(TimeSpan.FromMinutes(50), both.Remaining(Now));
            Assert.Equal("nftables table inet connectionsmonitor", both.Firewall);

            var cidr = blocks[1];
            Assert.Equal(BlockDirection.Inbound, cidr.Direction);
            Assert.Null(cidr.Reason);
            Assert.Null(cidr.ExpiresUtc);
            Assert.Null(cidr.Remaining(Now));

            var bare = blocks[2]; // an element without comment or time-out
            Assert.Equal(BlockDirection.Outbound, bare.Direction);
            Assert.Null(bare.CreatedUtc);
            Assert.Null(bare.ExpiresUtc);

            var byHand = blocks[3]; // someone else's comment: not read; the expiry comes from "expires"
            Assert.Null(byHand.Reason);
            Assert.Null(byHand.CreatedUtc);
            Assert.Equal(Now.AddSeconds(41), byHand.ExpiresUtc);

            Assert.Equal(new DateTime(2026, 12, 1, 10, 40, 1, DateTimeKind.Utc), blocks[4].ExpiresUtc);
        }

        [Fact]
        public void AnEmptyTableHasNoBlocks()
        {
            const string json = "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}}, {\"table\": {\"family\": \"inet\", \"name\": \"connectionsmonitor\", \"handle\": 3}}, " +
                "{\"set\": {\"family\": \"inet\", \"name\": \"inbound4\", \"table\": \"connectionsmonitor\", \"type\": \"ipv4_addr\", \"handle\": 1, \"flags\": [\"interval\", \"timeout\"]}}]}";
            Assert.Empty(NftablesListing.Parse(json, Now));
        }

        [Theory]
        [InlineData("")]
        [InlineData("Error: something")]
        [InlineData("{\"tables\": []}")]
        public void TextThatIsNotTheListingFailsAsUnreadable(string text)
        {
            var ex = Assert.Throws<BlockingException>(() => NftablesListing.Parse(text, Now));
            Assert.Equal(BlockFailure.UnreadableAnswer, ex.Failure);
        }

        [Theory]
        [InlineData("", "nft's JSON listing is empty.")]
        [InlineData("Error: something\nelse", "nft's JSON listing is not valid JSON at line 1, byte 1.")]
        [InlineData("{\"nftables\":\n [x]}", "nft's JSON listing is not valid JSON at line 2, byte 3.")]
        public void TextThatIsNotJsonIsSaidInTheModulesWordsWithoutQuotingIt(string text, string expected)
        {
            // Was System.Text.Json's message, which quotes the text it stopped at ("'E' is an invalid start of a value") and its internals.
            var ex = Assert.Throws<BlockingException>(() => NftablesListing.Parse(text, Now));
            Assert.Equal(expected, ex.Message);
            Assert.Null(ex.InnerException);
        }
    }
}
