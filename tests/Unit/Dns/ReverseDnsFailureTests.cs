using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Enrichment.Dns;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Dns
{
    /// <summary>The resolver against a server that never answers: deadlines, the failure cache, bounded concurrency, disposal.</summary>
    public sealed class ReverseDnsFailureTests
    {
        private static readonly IPAddress HostA = IPAddress.Parse("10.1.2.3");
        // What a noisy shared machine may add to a deadline before the call returns.
        private static readonly TimeSpan Margin = TimeSpan.FromSeconds(5); // well under the 30 s a lookup left alone would take; room for a loaded machine

        private static void WaitFor(Func<bool> condition, TimeSpan limit, string what)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.Elapsed > limit) throw new TimeoutException("waited " + limit + " for " + what);
                Thread.Sleep(20);
            }
        }

        [LinuxFact]
        public void A_silent_server_costs_a_snapshot_no_more_than_its_deadline_and_its_address_is_retried_after_FailureRetry()
        {
            var retry = TimeSpan.FromSeconds(2);
            // Deadlines are real time (the resolver waits on the wall clock); the failure cache runs on a clock the test moves.
            var cacheClock = new ManualClock();
            using (var silent = new SilentUdpServer())
            using (var resolver = new ReverseDnsResolver(new ReverseDnsOptions
            {
                Servers = new[] { silent.EndPoint }, QueryTimeout = TimeSpan.FromSeconds(3), FailureRetry = retry,
            }, cacheClock.Read))
            {
                var clock = Stopwatch.StartNew();
                var names = resolver.Resolve(new[] { HostA }, TimeSpan.FromMilliseconds(200));
                var took = clock.Elapsed;
                Assert.Empty(names);
                Assert.True(took >= TimeSpan.FromMilliseconds(190), "returned before its deadline: " + took);
                Assert.True(took < Margin, "took " + took);

                // A zero deadline does not wait at all: it returns while the lookup is still under way.
                clock.Restart();
                Assert.Empty(resolver.Resolve(new[] { HostA }, TimeSpan.Zero));
                Assert.True(clock.Elapsed < Margin, "took " + clock.Elapsed);
                var statistics = resolver.Statistics;
                Assert.Equal(1, statistics.QueriesSent);
                Assert.Equal(1, statistics.InFlight);
                Assert.Equal(0, statistics.Failures);

                // The server comes back on the same port; the resolver learns of it only once the failure is due for a retry.
                WaitFor(() => silent.Received >= 1, TimeSpan.FromSeconds(10), "the query to reach the silent server");
                silent.Dispose();
                using (var dnsmasq = new DnsmasqServer("10.1.2.3 host-a.test\n", silent.Port))
                {
                    WaitFor(() => resolver.Statistics.Failures == 1, TimeSpan.FromSeconds(15), "the query to time out");
                    cacheClock.Advance(retry - TimeSpan.FromMilliseconds(1));
                    Assert.Empty(resolver.Resolve(new[] { HostA }, TimeSpan.FromSeconds(5)));
                    Assert.Equal(0, dnsmasq.PtrQueriesFor(HostA));
                    Assert.Equal(1, resolver.Statistics.NegativeHits);

                    cacheClock.Advance(TimeSpan.FromMilliseconds(2));
                    Assert.Equal("host-a.test", resolver.Resolve(new[] { HostA }, TimeSpan.FromSeconds(10))[HostA]);
                    Assert.Equal(1, dnsmasq.PtrQueriesFor(HostA));
                    Assert.Equal(2, resolver.Statistics.QueriesSent);
                }
            }
        }

        [LinuxTheory]
        [InlineData(2)]   // SERVFAIL
        [InlineData(5)]   // REFUSED
        public void An_error_answer_is_remembered_for_FailureRetry_only(int rcode)
        {
            var retry = TimeSpan.FromSeconds(30); // the default
            var clock = new ManualClock();
            using (var server = CraftedDnsServer.AnsweringError(rcode))
            using (var resolver = new ReverseDnsResolver(new ReverseDnsOptions { Servers = new[] { server.EndPoint } }, clock.Read))
            {
                Assert.Equal(retry, resolver.Options.FailureRetry);
                Assert.Empty(resolver.Resolve(new[] { HostA }, TimeSpan.FromSeconds(10)));
                Assert.Equal(1, resolver.Statistics.Failures);

                clock.Advance(retry - TimeSpan.FromMilliseconds(1));
                Assert.Empty(resolver.Resolve(new[] { HostA }, TimeSpan.FromSeconds(10)));
                Assert.Equal(1, server.Received);
                Assert.Equal(1, resolver.Statistics.NegativeHits);

                clock.Advance(TimeSpan.FromMilliseconds(2));
                Assert.Empty(resolver.Resolve(new[] { HostA }, TimeSpan.FromSeconds(10)));
                Assert.Equal(2, server.Received);
                Assert.Equal(2, resolver.Statistics.Failures);
            }
        }

        [LinuxFact]
        public void At_most_MaxConcurrent_lookups_are_in_flight_and_the_rest_queue()
        {
            const int addresses = 20;
            using (var silent = new SilentUdpServer())
            using (var resolver = new ReverseDnsResolver(new ReverseDnsOptions
            {
                Servers = new[] { silent.EndPoint }, MaxConcurrent = 2, QueryTimeout = TimeSpan.FromSeconds(1), FailureRetry = TimeSpan.FromMinutes(5),
            }))
            {
                var many = Enumerable.Range(1, addresses).Select(i => IPAddress.Parse("10.0.0." + i)).ToArray();
                Assert.Empty(resolver.Resolve(many, TimeSpan.Zero));
                var first = resolver.Statistics;
                Assert.Equal(2, first.QueriesSent);
                Assert.Equal(2, first.InFlight);
                Assert.Equal(addresses - 2, first.Queued);

                // Over a few query timeouts, watch the queue drain two at a time. The server's own count bounds what
                // was sent: a query starts only when one before it has finished (here: failed), so by the time the
                // server has seen n queries, at least n - 2 have failed.
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromSeconds(3.5))
                {
                    int received = silent.Received;
                    var now = resolver.Statistics;
                    Assert.True(now.InFlight <= 2, now.ToString());
                    Assert.True(received <= 2 + now.Failures, "the server saw " + received + " queries; " + now);
                    Assert.Equal(addresses, now.InFlight + now.Queued + now.Failures);
                    Thread.Sleep(10);
                }
                WaitFor(() => resolver.Statistics.Failures >= 4, TimeSpan.FromSeconds(10), "two waves of timeouts");
                Assert.True(resolver.Statistics.Queued <= addresses - 6, resolver.Statistics.ToString());
            }
        }

        [LinuxFact]
        public async Task Dispose_cancels_lookups_under_way_and_wakes_a_waiting_caller()
        {
            using (var silent = new SilentUdpServer())
            {
                var resolver = new ReverseDnsResolver(new ReverseDnsOptions { Servers = new[] { silent.EndPoint }, QueryTimeout = TimeSpan.FromSeconds(30) });
                var waiting = Task.Run(() => resolver.Resolve(new[] { HostA }, TimeSpan.FromSeconds(30)));
                WaitFor(() => resolver.Statistics.InFlight == 1, TimeSpan.FromSeconds(10), "the lookup to start");
                Thread.Sleep(100);

                var clock = Stopwatch.StartNew();
                resolver.Dispose();
                Assert.Same(waiting, await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromSeconds(10))));
                Assert.True(clock.Elapsed < Margin, "took " + clock.Elapsed);
                Assert.Empty(await waiting);
                // DnsClient gives up the 30 s query when cancelled.
                WaitFor(() => resolver.Statistics.InFlight == 0, Margin, "the cancelled lookup to end");
                Assert.Throws<ObjectDisposedException>(() => resolver.Resolve(new[] { HostA }, TimeSpan.Zero));
            }
        }

        [LinuxFact]
        public void A_cancelled_caller_gets_OperationCanceledException_and_the_lookup_goes_on()
        {
            using (var silent = new SilentUdpServer())
            using (var resolver = new ReverseDnsResolver(new ReverseDnsOptions { Servers = new[] { silent.EndPoint }, QueryTimeout = TimeSpan.FromSeconds(30) }))
            using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
            {
                var clock = Stopwatch.StartNew();
                Assert.ThrowsAny<OperationCanceledException>(() => resolver.Resolve(new[] { HostA }, TimeSpan.FromSeconds(30), cancel.Token));
                Assert.True(clock.Elapsed < Margin, "took " + clock.Elapsed);
                Assert.Equal(1, resolver.Statistics.InFlight);
            }
        }
    }
}
