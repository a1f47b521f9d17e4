using System;
using ConnectionsMonitor.Engine.Blocking;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>The Windows Firewall rules' names and descriptions (the record of reason, created and expiry) and the expiry decision, on any OS.</summary>
    public class WindowsFirewallRuleTextTests
    {
        private static readonly DateTime Created = new DateTime(2026, 12, 1, 10, 30, 0, DateTimeKind.Utc);

        [Fact]
        public void NamesSayTargetAndDirection()
        {
            Assert.Equal("ConnectionsMonitor block 203.0.113.7 inbound", WindowsFirewallRuleText.RuleName(BlockTarget.Parse("203.0.113.7"), BlockDirection.Inbound));
            Assert.Equal("ConnectionsMonitor block 2001:db8::/32 outbound", WindowsFirewallRuleText.RuleName(BlockTarget.Parse("2001:db8::/32"), BlockDirection.Outbound));
            Assert.Throws<ArgumentException>(() => WindowsFirewallRuleText.RuleName(BlockTarget.Parse("203.0.113.7"), BlockDirection.Both));
        }

        [Fact]
        public void TheDescriptionIsTheRecordAndReadsBack()
        {
            var request = new BlockRequest(BlockTarget.Parse("203.0.113.7"), BlockDirection.Both, "scan | from; alert=é", Created, TimeSpan.FromHours(1));
            string d = WindowsFirewallRuleText.Description(request);
            Assert.Equal("ConnectionsMonitor block v1; target=203.0.113.7; created=2026-12-01T10:30:00Z; expires=2026-12-01T11:30:00Z; reason=scan %7C from; alert=%C3%A9", d);
            Assert.True(WindowsFirewallRuleText.TryParse(d, out var target, out var created, out var expires, out var reason));
            Assert.Equal("203.0.113.7", target.Text);
            Assert.Equal(Created, created);
            Assert.Equal(DateTimeKind.Utc, created.Kind);
            Assert.Equal(Created.AddHours(1), expires);
            Assert.Equal("scan | from; alert=é", reason);
        }

        [Fact]
        public void ABlockWithoutEndOrReason()
        {
            var request = new BlockRequest(BlockTarget.Parse("198.51.100.0/24"), BlockDirection.Inbound, null, Created, null);
            string d = WindowsFirewallRuleText.Description(request);
            Assert.Equal("ConnectionsMonitor block v1; target=198.51.100.0/24; created=2026-12-01T10:30:00Z; expires=never", d);
            Assert.True(WindowsFirewallRuleText.TryParse(d, out var target, out _, out var expires, out var reason));
            Assert.Equal("198.51.100.0/24", target.Text);
            Assert.Null(expires);
            Assert.Null(reason);
        }

        [Theory]
        [InlineData(null)]
        [InlineData("Block a scanner (made by hand)")]
        [InlineData("ConnectionsMonitor block v1; target=203.0.113.7; created=2026-12-01T10:30:00Z")]
        [InlineData("ConnectionsMonitor block v1; target=203.0.113.7/24; created=2026-12-01T10:30:00Z; expires=never")]
        [InlineData("ConnectionsMonitor block v1; target=203.0.113.7; created=yesterday; expires=never")]
        [InlineData("ConnectionsMonitor block v1; target=203.0.113.7; created=2026-12-01T10:30:00Z; expires=soon")]
        [InlineData("ConnectionsMonitor block v1; target=203.0.113.7; created=2026-12-01T10:30:00Z; expires=never; reason=%ZZ")]
        public void DescriptionsNotWrittenByTheModuleAreNotRead(string description)
        {
            Assert.False(WindowsFirewallRuleText.TryParse(description, out var target, out _, out _, out _));
            Assert.Null(target);
        }

        [Fact]
        public void ABlockHasExpiredFromItsEndOn()
        {
            var end = Created.AddHours(1);
            Assert.False(WindowsFirewallRuleText.HasExpired(end, end.AddTicks(-1)));
            Assert.True(WindowsFirewallRuleText.HasExpired(end, end));
            Assert.True(WindowsFirewallRuleText.HasExpired(end, end.AddDays(1)));
            Assert.False(WindowsFirewallRuleText.HasExpired(null, DateTime.MaxValue));
        }

        [Fact]
        public void AReasonLongerThanTheRoomIsRefused()
        {
            var ok = new BlockRequest(BlockTarget.Parse("203.0.113.7"), BlockDirection.Both, new string('r', 512), Created, null);
            Assert.EndsWith("; reason=" + new string('r', 512), WindowsFirewallRuleText.Description(ok));
            var tooLong = new BlockRequest(BlockTarget.Parse("203.0.113.7"), BlockDirection.Both, new string('|', 171), Created, null);
            var ex = Assert.Throws<BlockingException>(() => WindowsFirewallRuleText.Description(tooLong));
            Assert.Equal(BlockFailure.ReasonTooLong, ex.Failure);
            Assert.StartsWith("The reason takes 513 characters in the firewall rule's description, which has room for 512 ", ex.Message);
        }
    }
}
