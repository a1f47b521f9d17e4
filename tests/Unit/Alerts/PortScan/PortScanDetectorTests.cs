using System;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Alerts.PortScan;
using Xunit;

namespace ConnectionsMonitor.Tests.Alerts.PortScan
{
    public class PortScanDetectorTests
    {
        private static readonly DateTime T0 = new DateTime(2025, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        private static readonly IPAddress Scanner = IPAddress.Parse("203.0.113.9");

        private static PortScanDetector Default() => new PortScanDetector(6, TimeSpan.FromSeconds(10));

        [Fact]
        public void FivePortsAreNoScanTheSixthMakesOneFinding()
        {
            var d = Default();
            for (int i = 0; i < 5; i++)
                Assert.Null(d.Observe(Scanner, 20 + i, T0.AddSeconds(i)));
            var f = d.Observe(Scanner, 80, T0.AddSeconds(5));
            Assert.NotNull(f);
            Assert.Equal("203.0.113.9", f.RemoteAddress);
            Assert.Equal(new[] { 20, 21, 22, 23, 24, 80 }, f.Ports);
            Assert.Equal(T0, f.FirstUtc);
            Assert.Equal(T0.AddSeconds(5), f.LastUtc);
            Assert.Equal(6, f.Attempts);
            Assert.Equal(PortScanFinding.SocketTable, f.Source);
        }

        /// <summary>This host connecting to its own services over loopback is no scan, however many ports (IPv4, IPv6, IPv4-mapped).</summary>
        [Fact]
        public void LoopbackAttemptsNeverCount()
        {
            var d = new PortScanDetector(6, TimeSpan.FromSeconds(10));
            foreach (var local in new[] { IPAddress.Loopback, IPAddress.Parse("127.0.0.2"), IPAddress.IPv6Loopback, IPAddress.Parse("::ffff:127.0.0.1") })
                for (int i = 0; i < 20; i++)
                    Assert.Null(d.Observe(local, 40000 + i, T0.AddMilliseconds(10 * i)));
            for (int i = 0; i < 5; i++) Assert.Null(d.Observe(Scanner, 20 + i, T0));
            Assert.NotNull(d.Observe(Scanner, 80, T0)); // others still do
        }

        [Fact]
        public void RepeatedAttemptsOnOnePortCountAsOnePort()
        {
            var d = Default();
            for (int i = 0; i < 20; i++)
                Assert.Null(d.Observe(Scanner, 443, T0.AddMilliseconds(100 * i))); // a browser's many connections to one port
            for (int i = 0; i < 4; i++)
                Assert.Null(d.Observe(Scanner, 1000 + i, T0.AddSeconds(2)));
            var f = d.Observe(Scanner, 2000, T0.AddSeconds(3));
            Assert.Equal(25, f.Attempts);
            Assert.Equal(6, f.Ports.Count);
        }

        [Fact]
        public void TheWindowSlides()
        {
            var d = Default();
            // One port every 2.5 s: the sixth comes 12.5 s after the first, so never six within 10 s.
            for (int i = 0; i < 12; i++)
                Assert.Null(d.Observe(Scanner, 100 + i, T0.AddSeconds(2.5 * i)));
            // An attempt exactly one window after another no longer counts it: ports at 0..4 s, then the sixth at 10 s.
            var e = Default();
            for (int i = 0; i < 5; i++) Assert.Null(e.Observe(Scanner, 100 + i, T0.AddSeconds(i)));
            Assert.Null(e.Observe(Scanner, 200, T0.AddSeconds(10))); // port 100 (t=0) slid out: 5 ports in (0 s, 10 s]
            var f = e.Observe(Scanner, 201, T0.AddSeconds(10.5));     // 101..104, 200, 201
            Assert.Equal(new[] { 101, 102, 103, 104, 200, 201 }, f.Ports);
            Assert.Equal(T0.AddSeconds(1), f.FirstUtc);
        }

        [Fact]
        public void AnEpisodeIsReportedOnceAndAgainOnlyAfterAQuietWindow()
        {
            var d = Default();
            for (int i = 0; i < 5; i++) d.Observe(Scanner, 1 + i, T0.AddSeconds(i * 0.1));
            Assert.NotNull(d.Observe(Scanner, 6, T0.AddSeconds(0.5)));
            // The scan goes on, slowly enough that the remote is never quiet for 10 s, far past one window.
            for (int i = 0; i < 60; i++)
                Assert.Null(d.Observe(Scanner, 100 + i, T0.AddSeconds(1 + 9 * i)));
            DateTime last = T0.AddSeconds(1 + 9 * 59);
            // 9.9 s of quiet is not enough.
            for (int i = 0; i < 6; i++) Assert.Null(d.Observe(Scanner, 5000 + i, last.AddSeconds(9.9)));
            last = last.AddSeconds(9.9);
            // A whole window of quiet ends the episode: the next scan is reported.
            for (int i = 0; i < 5; i++) Assert.Null(d.Observe(Scanner, 7000 + i, last.AddSeconds(10 + i * 0.1)));
            var again = d.Observe(Scanner, 7005, last.AddSeconds(11));
            Assert.NotNull(again);
            Assert.Equal(Enumerable.Range(7000, 6), again.Ports);
        }

        [Fact]
        public void RemotesAreCountedApart()
        {
            var d = Default();
            var other = IPAddress.Parse("198.51.100.7");
            for (int i = 0; i < 5; i++)
            {
                Assert.Null(d.Observe(Scanner, 10 + i, T0));
                Assert.Null(d.Observe(other, 10 + i, T0));
            }
            Assert.Equal(2, d.TrackedRemotes);
            Assert.Equal("198.51.100.7", d.Observe(other, 99, T0).RemoteAddress);
        }

        [Fact]
        public void Ipv6RemotesAreCountedInCanonicalText()
        {
            var d = Default();
            var v6 = IPAddress.Parse("2001:DB8:0:0::7");
            for (int i = 0; i < 5; i++) Assert.Null(d.Observe(v6, 8000 + i, T0));
            var f = d.Observe(v6, 22, T0.AddSeconds(1));
            Assert.Equal("2001:db8::7", f.RemoteAddress);
            Assert.Equal(new[] { 22, 8000, 8001, 8002, 8003, 8004 }, f.Ports);
        }

        [Fact]
        public void AnIpv4MappedAddressIsTheIpv4Address()
        {
            var d = Default();
            // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; packet capture reports them as IPv4.
            var mapped = IPAddress.Parse("::ffff:203.0.113.9");
            for (int i = 0; i < 3; i++) Assert.Null(d.Observe(mapped, 1 + i, T0));
            for (int i = 0; i < 2; i++) Assert.Null(d.Observe(Scanner, 10 + i, T0));
            Assert.Equal(1, d.TrackedRemotes);
            var f = d.Observe(mapped, 99, T0);
            Assert.Equal("203.0.113.9", f.RemoteAddress);
            Assert.Equal(new[] { 1, 2, 3, 10, 11, 99 }, f.Ports);
        }

        [Fact]
        public void TrackedRemotesAreCappedTheLongestQuietIsForgotten()
        {
            var d = new PortScanDetector(6, TimeSpan.FromSeconds(10), maxRemotes: 4096);
            Assert.Equal(4096, d.MaxRemotes);
            var first = IPAddress.Parse("10.99.0.1");
            for (int i = 0; i < 5; i++) d.Observe(first, 1 + i, T0);
            // 5,000 other sources (a spoofed flood), each once, all within the window.
            for (int i = 0; i < 5000; i++)
                d.Observe(new IPAddress(new byte[] { 10, 100, (byte)(i >> 8), (byte)i }), 80, T0.AddMilliseconds(1 + i));
            Assert.Equal(4096, d.TrackedRemotes);
            Assert.Equal(5000 + 1 - 4096, d.Evicted);
            // The first remote's count started over: its sixth port is no scan now.
            Assert.Null(d.Observe(first, 6, T0.AddSeconds(6)));
        }

        [Fact]
        public void ExpireForgetsRemotesQuietForAWindow()
        {
            var d = Default();
            d.Observe(Scanner, 1, T0);
            d.Observe(IPAddress.Parse("2001:db8::1"), 1, T0.AddSeconds(5));
            d.Expire(T0.AddSeconds(9.9));
            Assert.Equal(2, d.TrackedRemotes);
            d.Expire(T0.AddSeconds(10));
            Assert.Equal(1, d.TrackedRemotes);
            d.Expire(T0.AddSeconds(15));
            Assert.Equal(0, d.TrackedRemotes);
        }
    }
}
