using System;
using ConnectionsMonitor.Engine.Blocking;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>The nft scripts, exactly, and the element comment that carries created time and reason.</summary>
    public class NftablesScriptTests
    {
        private static readonly DateTime Created = new DateTime(2026, 12, 1, 10, 30, 0, DateTimeKind.Utc); // 1796121000

        private const string Setup =
            "add table inet connectionsmonitor { comment \"blocks made by the ConnectionsMonitor PowerShell module\"; }\n" +
            "add set inet connectionsmonitor inbound4 { type ipv4_addr; flags interval,timeout; }\n" +
            "add set inet connectionsmonitor inbound6 { type ipv6_addr; flags interval,timeout; }\n" +
            "add set inet connectionsmonitor outbound4 { type ipv4_addr; flags interval,timeout; }\n" +
            "add set inet connectionsmonitor outbound6 { type ipv6_addr; flags interval,timeout; }\n" +
            "add chain inet connectionsmonitor input { type filter hook input priority filter - 10; policy accept; }\n" +
            "add chain inet connectionsmonitor forward { type filter hook forward priority filter - 10; policy accept; }\n" +
            "add chain inet connectionsmonitor output { type filter hook output priority filter - 10; policy accept; }\n" +
            "flush chain inet connectionsmonitor input\n" +
            "flush chain inet connectionsmonitor forward\n" +
            "flush chain inet connectionsmonitor output\n" +
            "add rule inet connectionsmonitor input iif \"lo\" accept\n" +
            "add rule inet connectionsmonitor output oif \"lo\" accept\n" +
            "add rule inet connectionsmonitor input ip saddr @inbound4 ct direction original meta l4proto tcp reject with tcp reset\n" +
            "add rule inet connectionsmonitor input ip saddr @inbound4 ct direction original reject with icmpx admin-prohibited\n" +
            "add rule inet connectionsmonitor input ip6 saddr @inbound6 ct direction original meta l4proto tcp reject with tcp reset\n" +
            "add rule inet connectionsmonitor input ip6 saddr @inbound6 ct direction original reject with icmpx admin-prohibited\n" +
            "add rule inet connectionsmonitor forward ip saddr @inbound4 ct direction original meta l4proto tcp reject with tcp reset\n" +
            "add rule inet connectionsmonitor forward ip saddr @inbound4 ct direction original reject with icmpx admin-prohibited\n" +
            "add rule inet connectionsmonitor forward ip6 saddr @inbound6 ct direction original meta l4proto tcp reject with tcp reset\n" +
            "add rule inet connectionsmonitor forward ip6 saddr @inbound6 ct direction original reject with icmpx admin-prohibited\n" +
            "add rule inet connectionsmonitor forward ip daddr @outbound4 ct direction original meta l4proto tcp reject with tcp reset\n" +
            "add rule inet connectionsmonitor forward ip daddr @outbound4 ct direction original reject with icmpx admin-prohibited\n" +
            "add rule inet connectionsmonitor forward ip6 daddr @outbound6 ct direction original meta l4proto tcp reject with tcp reset\n" +
            "add rule inet connectionsmonitor forward ip6 daddr @outbound6 ct direction original reject with icmpx admin-prohibited\n" +
            "add rule inet connectionsmonitor output ip daddr @outbound4 ct direction original meta l4proto tcp reject with tcp reset\n" +
            "add rule inet connectionsmonitor output ip daddr @outbound4 ct direction original reject with icmpx admin-prohibited\n" +
            "add rule inet connectionsmonitor output ip6 daddr @outbound6 ct direction original meta l4proto tcp reject with tcp reset\n" +
            "add rule inet connectionsmonitor output ip6 daddr @outbound6 ct direction original reject with icmpx admin-prohibited\n";

        [Fact]
        public void SetupIsTheTableItsSetsAndItsChains() => Assert.Equal(Setup, NftablesScript.Setup());

        [Fact]
        public void ANewBlockWithATimeOutGoesIntoBothSetsOfItsFamily()
        {
            var request = new BlockRequest(BlockTarget.Parse("203.0.113.7"), BlockDirection.Both, "scan from alert", Created, TimeSpan.FromHours(1));
            Assert.Equal(Setup +
                "add element inet connectionsmonitor inbound4 { 203.0.113.7 timeout 3600s comment \"cm1 1796121000 scan from alert\" }\n" +
                "add element inet connectionsmonitor outbound4 { 203.0.113.7 timeout 3600s comment \"cm1 1796121000 scan from alert\" }\n",
                NftablesScript.Add(request, null));
        }

        [Fact]
        public void AReplacementDeletesThePresentElementsInTheSameTransaction()
        {
            var request = new BlockRequest(BlockTarget.Parse("2001:db8::/32"), BlockDirection.Outbound, null, Created, null);
            Assert.Equal(Setup +
                "delete element inet connectionsmonitor inbound6 { 2001:db8::/32 }\n" +
                "delete element inet connectionsmonitor outbound6 { 2001:db8::/32 }\n" +
                "add element inet connectionsmonitor outbound6 { 2001:db8::/32 comment \"cm1 1796121000\" }\n",
                NftablesScript.Add(request, BlockDirection.Both));
        }

        [Fact]
        public void RemoveAndRemoveAll()
        {
            Assert.Equal("delete element inet connectionsmonitor inbound4 { 198.51.100.0/24 }\n", NftablesScript.Remove(BlockTarget.Parse("198.51.100.0/24"), BlockDirection.Inbound));
            Assert.Equal("add table inet connectionsmonitor\ndelete table inet connectionsmonitor\n", NftablesScript.RemoveAll());
        }

        [Fact]
        public void TheReasonIsPercentEncodedSoItCannotLeaveTheQuotedString()
        {
            string reason = "a\"b\\c|d%e\nf\u001b[31mg é ✓ 'h' {i}; #j";
            string comment = NftablesScript.Comment(Created, reason);
            Assert.Equal("cm1 1796121000 a%22b%5Cc%7Cd%25e%0Af%1B[31mg %C3%A9 %E2%9C%93 'h' {i}; #j", comment);
            Assert.True(NftablesScript.TryReadComment(comment, out var created, out var back));
            Assert.Equal(Created, created);
            Assert.Equal(reason, back);
        }

        [Fact]
        public void TheCommentHasRoomFor113CharactersOfReason()
        {
            string fits = new string('r', NftablesScript.ReasonRoom);
            Assert.Equal(113, NftablesScript.ReasonRoom);
            Assert.Equal(128, NftablesScript.Comment(Created, fits).Length);
            var ex = Assert.Throws<BlockingException>(() => NftablesScript.Comment(Created, fits + "r"));
            Assert.Equal(BlockFailure.ReasonTooLong, ex.Failure);
            Assert.Equal("The reason takes 114 characters in the firewall's element comment, which has room for 113 (letters, digits, spaces and ASCII punctuation take one each; % \" \\ | and other characters take 3 for each byte of their UTF-8 form).", ex.Message);
            Assert.Throws<BlockingException>(() => NftablesScript.Comment(Created, new string('é', 19))); // 19 × 6 = 114
        }

        [Theory]
        [InlineData(null)]
        [InlineData("")]
        [InlineData("someone's note")]
        [InlineData("cm1")]
        [InlineData("cm1 x")]
        [InlineData("cm1 1796121000 bad%2")]
        [InlineData("cm1 1796121000 bad%ZZ")]
        [InlineData("cm1 1796121000 %FF")]
        public void CommentsNotWrittenByTheModuleAreNotRead(string comment)
        {
            Assert.False(NftablesScript.TryReadComment(comment, out _, out var reason));
            Assert.Null(reason);
        }

        [Fact]
        public void DurationsAreWholeSecondsFromOneSecondToTenYears()
        {
            var target = BlockTarget.Parse("203.0.113.7");
            Assert.Throws<ArgumentException>(() => new BlockRequest(target, BlockDirection.Both, null, Created, TimeSpan.FromMilliseconds(1500)));
            Assert.Throws<ArgumentException>(() => new BlockRequest(target, BlockDirection.Both, null, Created, TimeSpan.Zero));
            Assert.Throws<ArgumentException>(() => new BlockRequest(target, BlockDirection.Both, null, Created, TimeSpan.FromDays(3651)));
            Assert.Equal(TimeSpan.FromSeconds(2), BlockRequest.WholeSeconds(TimeSpan.FromMilliseconds(1001)));
            Assert.Equal(TimeSpan.FromSeconds(1), BlockRequest.WholeSeconds(TimeSpan.FromSeconds(1)));
            Assert.Null(BlockRequest.WholeSeconds(null));
            var r = new BlockRequest(target, BlockDirection.Inbound, "", new DateTime(2026, 12, 1, 10, 30, 0, 999, DateTimeKind.Utc), TimeSpan.FromMinutes(1));
            Assert.Equal(Created, r.CreatedUtc);
            Assert.Equal(Created.AddMinutes(1), r.ExpiresUtc);
            Assert.Null(r.Reason);
        }
    }
}
