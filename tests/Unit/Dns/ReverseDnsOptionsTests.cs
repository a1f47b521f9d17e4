using System;
using System.Net;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment.Dns;
using Xunit;

namespace ConnectionsMonitor.Tests.Dns
{
    public sealed class ReverseDnsOptionsTests
    {
        private static DnsConfig Config(params string[] servers) => new DnsConfig
        {
            Servers = Array.ConvertAll(servers, IPEndPoint.Parse), TimeoutMs = 750, MaxConcurrent = 4, SnapshotDeadlineMs = 100,
        };

        [Fact]
        public void From_takes_servers_timeout_and_concurrency_from_the_dns_section()
        {
            var options = ReverseDnsOptions.From(Config("127.0.0.1:5353", "[::1]:53"));
            Assert.Equal(new[] { IPEndPoint.Parse("127.0.0.1:5353"), IPEndPoint.Parse("[::1]:53") }, options.Servers);
            Assert.Equal(TimeSpan.FromMilliseconds(750), options.QueryTimeout);
            Assert.Equal(4, options.MaxConcurrent);
            Assert.Equal(TimeSpan.FromSeconds(30), options.FailureRetry);
        }

        [Fact]
        public void Options_compare_by_value_so_a_changed_configuration_shows()
        {
            var a = ReverseDnsOptions.From(Config("127.0.0.1:5353"));
            var b = ReverseDnsOptions.From(Config("127.0.0.1:5353"));
            Assert.Equal(a, b);
            Assert.Equal(a.GetHashCode(), b.GetHashCode());

            Assert.NotEqual(a, ReverseDnsOptions.From(Config("127.0.0.1:5354")));
            Assert.NotEqual(a, ReverseDnsOptions.From(Config()));
            b.FailureRetry = TimeSpan.FromSeconds(5);
            Assert.NotEqual(a, b);
            Assert.Equal(new ReverseDnsOptions(), new ReverseDnsOptions { Servers = null });
        }

        [Fact]
        public void A_resolver_keeps_its_own_copy_and_refuses_settings_out_of_range()
        {
            var options = new ReverseDnsOptions { MaxConcurrent = 3 };
            using (var resolver = new ReverseDnsResolver(options))
            {
                options.MaxConcurrent = 9;
                Assert.Equal(3, resolver.Options.MaxConcurrent);
            }
            Assert.Throws<ArgumentException>(() => new ReverseDnsResolver(new ReverseDnsOptions { MaxConcurrent = 0 }));
            Assert.Throws<ArgumentException>(() => new ReverseDnsResolver(new ReverseDnsOptions { QueryTimeout = TimeSpan.Zero }));
            Assert.Throws<ArgumentException>(() => new ReverseDnsResolver(new ReverseDnsOptions { MinimumTtl = TimeSpan.FromDays(2) }));
        }
    }
}
