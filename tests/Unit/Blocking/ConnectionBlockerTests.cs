using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Blocking;
using Xunit;

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>
    /// The blocker's own decisions over a firewall that keeps blocks in memory: expired blocks removed before every
    /// operation when the firewall does not end them itself (Windows Firewall's case), overlaps refused, filters.
    /// The firewalls themselves are tested for real (NftablesLiveTests; Windows Firewall only on Windows).
    /// </summary>
    public class ConnectionBlockerTests
    {
        private sealed class MemoryFirewall : IFirewallBackend
        {
            public readonly List<BlockRecord> Blocks = new List<BlockRecord>();
            public bool ExpiresByItself { get; set; }
            public string Description => "memory";
            public int ReasonRoom => 20;
            public IReadOnlyList<BlockRecord> List(DateTime nowUtc) => Blocks.ToList();
            public void Add(BlockRequest r)
            {
                Blocks.RemoveAll(b => b.Target.Equals(r.Target));
                Blocks.Add(new BlockRecord(r.Target, r.Direction, r.Reason, r.CreatedUtc, r.ExpiresUtc, Description));
            }
            public bool Remove(BlockTarget t) => Blocks.RemoveAll(b => b.Target.Equals(t)) > 0;
            public int RemoveAll(DateTime nowUtc) { int n = Blocks.Count; Blocks.Clear(); return n; }
            public int RemoveExpired(DateTime nowUtc) => Blocks.RemoveAll(b => b.ExpiresUtc.HasValue && nowUtc >= b.ExpiresUtc.Value);
        }

        private static DateTime _now = new DateTime(2026, 12, 1, 10, 30, 0, DateTimeKind.Utc);

        private static BlockRequest Req(string t, int? seconds = null, string reason = null) =>
            new BlockRequest(BlockTarget.Parse(t), BlockDirection.Both, reason, _now, seconds.HasValue ? TimeSpan.FromSeconds(seconds.Value) : (TimeSpan?)null);

        [Fact]
        public void ExpiredBlocksAreRemovedBeforeEveryOperationWhenTheFirewallKeepsThem()
        {
            var fw = new MemoryFirewall { ExpiresByItself = false };
            var now = _now;
            var blocker = new ConnectionBlocker(fw, () => now);
            blocker.Add(Req("203.0.113.7", 60));
            blocker.Add(Req("203.0.113.8"));
            now = now.AddSeconds(59);
            Assert.Equal(2, blocker.List().Count);
            Assert.Equal(0, blocker.ExpiredRemoved);
            now = now.AddSeconds(1);
            Assert.Equal(new[] { "203.0.113.8" }, blocker.List().Select(b => b.Target.Text).ToArray());
            Assert.Equal(1, blocker.ExpiredRemoved);
        }

        [Fact]
        public void AFirewallThatEndsBlocksItselfIsNotSwept()
        {
            var fw = new MemoryFirewall { ExpiresByItself = true };
            var now = _now;
            var blocker = new ConnectionBlocker(fw, () => now);
            blocker.Add(Req("203.0.113.7", 60));
            now = now.AddHours(1);
            Assert.Single(blocker.List()); // memory does not expire; the sweep was not asked to
            Assert.Equal(0, blocker.ExpiredRemoved);
        }

        [Fact]
        public void OverlapsAreRefusedAndTheSameTargetIsReplaced()
        {
            var fw = new MemoryFirewall();
            var blocker = new ConnectionBlocker(fw, () => _now);
            blocker.Add(Req("198.51.100.0/24"));
            var ex = Assert.Throws<BlockingException>(() => blocker.Add(Req("198.51.100.7")));
            Assert.Equal(BlockFailure.Overlaps, ex.Failure);
            Assert.Equal("198.51.100.7 overlaps the existing block 198.51.100.0/24, which already contains it; a firewall set cannot hold both.", ex.Message);
            ex = Assert.Throws<BlockingException>(() => blocker.Add(Req("198.51.0.0/16")));
            Assert.Equal("198.51.0.0/16 overlaps the existing block 198.51.100.0/24, which lies inside it; a firewall set cannot hold both.", ex.Message);
            Assert.Equal("198.51.100.0/24", blocker.Check(Req("198.51.100.0/24", 10)).Target.Text);
            blocker.Add(Req("198.51.100.0/24", 10, "again"));
            Assert.Equal("again", Assert.Single(blocker.List()).Reason);
            Assert.Equal(new[] { "198.51.100.0/24" }, blocker.Containing(BlockTarget.Parse("198.51.100.7")).Select(b => b.Target.Text).ToArray());
        }

        [Fact]
        public void ReasonsLongerThanTheFirewallsRoomAreRefusedBeforeAnythingChanges()
        {
            var fw = new MemoryFirewall();
            var blocker = new ConnectionBlocker(fw, () => _now);
            var ex = Assert.Throws<BlockingException>(() => blocker.Add(Req("203.0.113.7", null, "é and then some more")));
            Assert.Equal(BlockFailure.ReasonTooLong, ex.Failure);
            Assert.Empty(fw.Blocks);
        }

        [Fact]
        public void FiltersMatchContainedAddressesOverlappingBlocksAndWildcards()
        {
            var blocks = new[] { "203.0.113.7", "198.51.100.0/24", "2001:db8::/32" }
                .Select(t => new BlockRecord(BlockTarget.Parse(t), BlockDirection.Both, null, null, null, "x")).ToList();
            List<string> Match(params string[] filters) => ConnectionBlocker.Filter(blocks, filters.Select(f => { Assert.True(BlockFilter.TryParse(f, out var p, out var e), e); return p; }).ToList())
                .Select(b => b.Target.Text).ToList();
            Assert.Equal(new[] { "203.0.113.7", "198.51.100.0/24", "2001:db8::/32" }, Match());
            Assert.Equal(new[] { "198.51.100.0/24" }, Match("198.51.100.9"));
            Assert.Equal(new[] { "203.0.113.7" }, Match("203.0.113.0/24"));
            Assert.Equal(new[] { "203.0.113.7", "2001:db8::/32" }, Match("203.*", "2001:db8::1"));
            Assert.Empty(Match("192.0.2.1"));
            Assert.False(BlockFilter.TryParse("example.com", out _, out var error));
            Assert.Equal("'example.com' is not an IP address or CIDR block. Expected an IP address (203.0.113.7), a CIDR block (198.51.100.0/24) or a wildcard (203.0.113.*).", error);
        }
    }
}

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>The service's once-a-minute sweep of expired blocks (Windows Firewall keeps them), over a firewall that fails on demand.</summary>
    public class ExpiredBlockSweepTests
    {
        private sealed class KeepingFirewall : IFirewallBackend
        {
            public List<DateTime?> Expiries = new List<DateTime?>();
            public string Fail;
            public int Asked;
            public string Description => "test group";
            public bool ExpiresByItself => false;
            public int ReasonRoom => 100;
            public IReadOnlyList<BlockRecord> List(DateTime nowUtc) => new BlockRecord[0];
            public void Add(BlockRequest request) => throw new NotSupportedException();
            public bool Remove(BlockTarget target) => throw new NotSupportedException();
            public int RemoveAll(DateTime nowUtc) => throw new NotSupportedException();
            public int RemoveExpired(DateTime nowUtc)
            {
                Asked++;
                if (Fail != null) throw new BlockingException(BlockFailure.NotPermitted, Fail);
                return Expiries.RemoveAll(e => e.HasValue && nowUtc >= e.Value);
            }
        }

        [Fact]
        public void SweepsOncePerIntervalAndSaysEachFailureOnce()
        {
            var t0 = new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc);
            var now = t0;
            var fw = new KeepingFirewall { Expiries = { t0.AddSeconds(30), t0.AddSeconds(90), null } };
            var sweep = new ExpiredBlockSweep(new ConnectionBlocker(fw, () => now));
            Assert.Equal((false, (string)null), sweep.Tick(now));
            now = t0.AddSeconds(59);
            Assert.Equal((false, (string)null), sweep.Tick(now)); // within the minute: not asked
            Assert.Equal(1, fw.Asked);
            now = t0.AddSeconds(60);
            Assert.Equal((false, "Removed 1 expired block(s) from test group."), sweep.Tick(now));
            fw.Fail = "access denied";
            now = t0.AddSeconds(120);
            Assert.Equal((true, "Could not remove expired blocks from test group: access denied"), sweep.Tick(now));
            now = t0.AddSeconds(180);
            Assert.Equal((false, (string)null), sweep.Tick(now)); // the same failure again: said once
            Assert.Equal(4, fw.Asked);
            fw.Fail = null;
            now = t0.AddSeconds(240);
            Assert.Equal((false, "Removed 1 expired block(s) from test group."), sweep.Tick(now));
            Assert.Equal(new DateTime?[] { null }, fw.Expiries.ToArray());
        }
    }
}
