using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine.Enrichment.Dns;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Dns
{
    /// <summary>The resolver against a real dnsmasq on 127.0.0.1: answers, caching by TTL, negative caching, hostile names.</summary>
    public sealed class ReverseDnsResolverTests
    {
        private const string Hosts = "10.1.2.3 host-a.test\nfd00::1 six.test\n";
        private static readonly IPAddress HostA = IPAddress.Parse("10.1.2.3");
        private static readonly IPAddress Six = IPAddress.Parse("fd00::1");
        private static readonly IPAddress Nameless = IPAddress.Parse("10.9.9.9");
        // Generous: Resolve returns as soon as every lookup is done, so this only bounds a broken run.
        private static readonly TimeSpan Patient = TimeSpan.FromSeconds(10);

        private static ReverseDnsOptions Against(IPEndPoint server) => new ReverseDnsOptions { Servers = new[] { server } };

        [LinuxFact]
        public void Names_IPv4_and_IPv6_addresses_and_IPv4_mapped_ones_as_IPv4()
        {
            using (var dnsmasq = new DnsmasqServer(Hosts))
            using (var resolver = new ReverseDnsResolver(Against(dnsmasq.EndPoint)))
            {
                var mapped = HostA.MapToIPv6();
                var names = resolver.Resolve(new[] { HostA, Six, mapped, Nameless }, Patient);

                Assert.Equal("host-a.test", names[HostA]);
                Assert.Equal("six.test", names[Six]);
                Assert.Equal("host-a.test", names[mapped]);
                Assert.False(names.ContainsKey(Nameless));
                Assert.Equal(3, names.Count);
                // The mapped address is the same question as its IPv4 form: one query, not two.
                Assert.Equal(1, dnsmasq.PtrQueriesFor(HostA));
                Assert.Equal(1, dnsmasq.PtrQueriesFor(Six));
            }
        }

        [LinuxFact]
        public void A_name_that_does_not_exist_is_cached_and_not_asked_again()
        {
            using (var dnsmasq = new DnsmasqServer(Hosts))
            using (var resolver = new ReverseDnsResolver(Against(dnsmasq.EndPoint)))
            {
                Assert.Empty(resolver.Resolve(new[] { Nameless }, Patient));
                Assert.Empty(resolver.Resolve(new[] { Nameless }, Patient));
                Assert.Empty(resolver.Resolve(new[] { Nameless }, Patient));

                Assert.Equal(1, dnsmasq.PtrQueriesFor(Nameless));
                var statistics = resolver.Statistics;
                Assert.Equal(1, statistics.QueriesSent);
                Assert.Equal(2, statistics.NegativeHits);
                Assert.Equal(0, statistics.Failures);
            }
        }

        [LinuxFact]
        public void Every_address_cached_means_no_query_and_no_wait()
        {
            using (var dnsmasq = new DnsmasqServer(Hosts))
            using (var resolver = new ReverseDnsResolver(Against(dnsmasq.EndPoint)))
            {
                resolver.Resolve(new[] { HostA, Six, Nameless }, Patient);
                var clock = Stopwatch.StartNew();
                // An hour's deadline: a call that waited at all would hang the test.
                var names = resolver.Resolve(new[] { HostA, Six, Nameless }, TimeSpan.FromHours(1));
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), "took " + clock.Elapsed);
                Assert.Equal(2, names.Count);
                Assert.Equal(3, dnsmasq.PtrQueryCount());
                Assert.Equal(2, resolver.Statistics.CacheHits);
            }
        }

        private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);

        /// <summary>
        /// Asks for HostA, then checks that the answer is served from the cache until a millisecond before
        /// <paramref name="lifetime"/> has passed on the resolver's clock and asked again a millisecond after.
        /// </summary>
        private static void AssertNameCachedFor(DnsmasqServer dnsmasq, ReverseDnsOptions options, TimeSpan lifetime)
        {
            var clock = new ManualClock();
            using (var resolver = new ReverseDnsResolver(options, clock.Read))
            {
                Assert.Equal("host-a.test", resolver.Resolve(new[] { HostA }, Patient)[HostA]);
                clock.Advance(lifetime - Millisecond);
                Assert.Equal("host-a.test", resolver.Resolve(new[] { HostA }, Patient)[HostA]);
                Assert.Equal(1, dnsmasq.PtrQueriesFor(HostA));
                Assert.Equal(1, resolver.Statistics.CacheHits);

                clock.Advance(Millisecond + Millisecond);
                Assert.Equal("host-a.test", resolver.Resolve(new[] { HostA }, Patient)[HostA]);
                Assert.Equal(2, dnsmasq.PtrQueriesFor(HostA));
                Assert.Equal(2, resolver.Statistics.QueriesSent);
            }
        }

        [LinuxFact]
        public void A_name_is_asked_again_once_its_ttl_has_passed()
        {
            using (var dnsmasq = new DnsmasqServer(Hosts, extraArguments: new[] { "--local-ttl=2" }))
                AssertNameCachedFor(dnsmasq, new ReverseDnsOptions { Servers = new[] { dnsmasq.EndPoint }, MinimumTtl = TimeSpan.Zero }, TimeSpan.FromSeconds(2));
        }

        [LinuxFact]
        public void A_ttl_below_five_seconds_is_raised_to_five_seconds()
        {
            // README: "Answers are cached for their TTL (5 s to 1 day)". The default options, TTL 1 s on the wire.
            using (var dnsmasq = new DnsmasqServer(Hosts, extraArguments: new[] { "--local-ttl=1" }))
                AssertNameCachedFor(dnsmasq, Against(dnsmasq.EndPoint), TimeSpan.FromSeconds(5));
        }

        [LinuxFact]
        public void A_ttl_above_one_day_is_cut_to_one_day()
        {
            // TTL two days on the wire; the default options keep it one day.
            using (var dnsmasq = new DnsmasqServer(Hosts, extraArguments: new[] { "--local-ttl=172800" }))
                AssertNameCachedFor(dnsmasq, Against(dnsmasq.EndPoint), TimeSpan.FromDays(1));
        }

        private static string NumberedHosts(int count) =>
            string.Concat(Enumerable.Range(1, count).Select(i => "10.1.2." + i + " h" + i + ".test\n"));

        private static IPAddress Numbered(int i) => IPAddress.Parse("10.1.2." + i);

        [LinuxFact]
        public void A_full_cache_evicts_the_oldest_answers()
        {
            using (var dnsmasq = new DnsmasqServer(NumberedHosts(5)))
            using (var resolver = new ReverseDnsResolver(new ReverseDnsOptions { Servers = new[] { dnsmasq.EndPoint }, MaxCacheEntries = 3 }))
            {
                for (int i = 1; i <= 5; i++) Assert.Equal("h" + i + ".test", resolver.Resolve(new[] { Numbered(i) }, Patient)[Numbered(i)]);
                var statistics = resolver.Statistics;
                Assert.Equal(3, statistics.CachedEntries);
                Assert.Equal(2, statistics.Evictions);

                // The newest answer is still cached; the oldest was evicted and is asked again.
                Assert.Equal("h5.test", resolver.Resolve(new[] { Numbered(5) }, Patient)[Numbered(5)]);
                Assert.Equal("h1.test", resolver.Resolve(new[] { Numbered(1) }, Patient)[Numbered(1)]);
                Assert.Equal(1, dnsmasq.PtrQueriesFor(Numbered(5)));
                Assert.Equal(2, dnsmasq.PtrQueriesFor(Numbered(1)));
                Assert.True(resolver.Statistics.CachedEntries <= 3);
            }
        }

        [LinuxFact]
        public void Lookups_under_way_are_never_evicted_and_addresses_beyond_the_room_wait_for_a_later_call()
        {
            using (var dnsmasq = new DnsmasqServer(NumberedHosts(5)))
            using (var resolver = new ReverseDnsResolver(new ReverseDnsOptions { Servers = new[] { dnsmasq.EndPoint }, MaxCacheEntries = 3 }))
            {
                var all = Enumerable.Range(1, 5).Select(Numbered).ToArray();
                var names = resolver.Resolve(all, Patient);
                Assert.Equal(new[] { "h1.test", "h2.test", "h3.test" }, all.Where(names.ContainsKey).Select(a => names[a]));
                Assert.Equal(2, resolver.Statistics.NotStarted);
                Assert.Equal(3, dnsmasq.PtrQueryCount());

                // Now the three are answers, which may be evicted to make room for the other two.
                names = resolver.Resolve(all.Skip(3).ToArray(), Patient);
                Assert.Equal(new[] { "h4.test", "h5.test" }, names.Values.OrderBy(n => n));
            }
        }

        [LinuxFact]
        public void Odd_characters_in_a_served_name_come_back_escaped()
        {
            // dnsmasq refuses control characters in a PTR target but serves these as they are; it turns the
            // Unicode label into its IDN (xn--) form itself.
            const string hostile = "a b<script>\"q\";\\027[31m.test";
            using (var dnsmasq = new DnsmasqServer(Hosts, extraArguments: new[]
            {
                "--ptr-record=4.3.2.10.in-addr.arpa," + hostile,
                "--ptr-record=5.3.2.10.in-addr.arpa,\u00fctf.test",
            }))
            using (var resolver = new ReverseDnsResolver(Against(dnsmasq.EndPoint)))
            {
                var odd = IPAddress.Parse("10.2.3.4");
                var idn = IPAddress.Parse("10.2.3.5");
                var names = resolver.Resolve(new[] { odd, idn }, Patient);

                Assert.Equal(@"a\032b\060script\062\034q\034\059\092027\09131m.test", names[odd]);
                Assert.Equal("xn--tf-wka.test", names[idn]);
            }
        }

        [LinuxFact]
        public void Control_characters_in_a_name_on_the_wire_never_come_out()
        {
            // Bytes dnsmasq will not serve, from a hand-built answer: ESC [ 3 1 m, BEL, NUL, DEL, UTF-8 'ü'.
            using (var server = CraftedDnsServer.AnsweringPtr(
                new byte[] { (byte)'e', (byte)'v', 0x1B, (byte)'[', (byte)'3', (byte)'1', (byte)'m' },
                new byte[] { 0x07, 0x00, 0x7F, 0xC3, 0xBC },
                new byte[] { (byte)'t', (byte)'e', (byte)'s', (byte)'t' }))
            using (var resolver = new ReverseDnsResolver(Against(server.EndPoint)))
            {
                var address = IPAddress.Parse("192.0.2.7");
                var names = resolver.Resolve(new[] { address }, Patient);

                Assert.Equal(@"ev\027\09131m.\007\000\127\195\188.test", names[address]);
                Assert.All(names[address], c => Assert.True(c > 0x20 && c < 0x7F, "character " + (int)c));
            }
        }

        /// <summary>Asks for an address the server says does not exist, then checks the "no name" is kept for exactly <paramref name="lifetime"/>.</summary>
        private static void AssertNoNameCachedFor(CraftedDnsServer server, ReverseDnsOptions options, TimeSpan lifetime)
        {
            var clock = new ManualClock();
            using (var resolver = new ReverseDnsResolver(options, clock.Read))
            {
                var address = IPAddress.Parse("192.0.2.8");
                Assert.Empty(resolver.Resolve(new[] { address }, Patient));
                clock.Advance(lifetime - Millisecond);
                Assert.Empty(resolver.Resolve(new[] { address }, Patient));
                Assert.Equal(1, server.Received);
                Assert.Equal(1, resolver.Statistics.NegativeHits);

                clock.Advance(Millisecond + Millisecond);
                Assert.Empty(resolver.Resolve(new[] { address }, Patient));
                Assert.Equal(2, server.Received);
                Assert.Equal(0, resolver.Statistics.Failures); // "no name" is an answer, not a failure
            }
        }

        [LinuxFact]
        public void A_negative_answer_lives_as_long_as_its_SOA_says()
        {
            // RFC 2308: the negative TTL is the smaller of the SOA's TTL (here 3600 s) and its MINIMUM (here 7 s).
            using (var server = CraftedDnsServer.AnsweringNxDomain(soaTtl: 3600, soaMinimum: 7))
                AssertNoNameCachedFor(server, new ReverseDnsOptions { Servers = new[] { server.EndPoint } }, TimeSpan.FromSeconds(7));
        }

        [LinuxFact]
        public void A_negative_answer_without_an_SOA_lives_five_minutes()
        {
            // README: "NXDOMAIN for the zone's negative TTL (RFC 2308; 5 min without an SOA)". Default options.
            using (var server = CraftedDnsServer.AnsweringError(3))
                AssertNoNameCachedFor(server, new ReverseDnsOptions { Servers = new[] { server.EndPoint } }, TimeSpan.FromMinutes(5));
        }

        [LinuxFact]
        public void A_negative_answer_with_a_short_SOA_is_raised_to_five_seconds()
        {
            using (var server = CraftedDnsServer.AnsweringNxDomain(soaTtl: 3600, soaMinimum: 1))
                AssertNoNameCachedFor(server, new ReverseDnsOptions { Servers = new[] { server.EndPoint } }, TimeSpan.FromSeconds(5));
        }
    }
}
