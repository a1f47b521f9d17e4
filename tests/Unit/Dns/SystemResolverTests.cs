using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Text.RegularExpressions;
using ConnectionsMonitor.Engine.Enrichment.Dns;
using Xunit;

namespace ConnectionsMonitor.Tests.Dns
{
    /// <summary>With no servers configured the resolver asks the operating system, which reads /etc/hosts.</summary>
    public sealed class SystemResolverTests
    {
        /// <summary>The names /etc/hosts gives 127.0.0.1 (empty when there is no such line or no file).</summary>
        internal static string[] LoopbackNames()
        {
            const string hosts = "/etc/hosts";
            if (!File.Exists(hosts)) return new string[0];
            return File.ReadAllLines(hosts)
                .Select(line => line.Split('#')[0].Trim())
                .Select(line => Regex.Split(line, @"\s+"))
                .Where(fields => fields.Length >= 2 && fields[0] == "127.0.0.1")
                .SelectMany(fields => fields.Skip(1))
                .ToArray();
        }

        [SystemResolverFact]
        public void Loopback_resolves_to_a_name_etc_hosts_gives_it()
        {
            var expected = LoopbackNames();
            using (var resolver = new ReverseDnsResolver(new ReverseDnsOptions { Servers = new IPEndPoint[0] }))
            {
                var names = resolver.Resolve(new[] { IPAddress.Loopback }, TimeSpan.FromSeconds(10));

                Assert.True(names.ContainsKey(IPAddress.Loopback), "no name for 127.0.0.1; /etc/hosts has " + string.Join(", ", expected));
                Assert.Contains(names[IPAddress.Loopback], expected);
                // No TTL from the system: the fixed lifetime keeps it cached.
                Assert.Equal(names[IPAddress.Loopback], resolver.Resolve(new[] { IPAddress.Loopback }, TimeSpan.Zero)[IPAddress.Loopback]);
                Assert.Equal(1, resolver.Statistics.QueriesSent);
                Assert.Equal(1, resolver.Statistics.CacheHits);
            }
        }
    }

    /// <summary>Runs only where /etc/hosts names 127.0.0.1 (the expected answer comes from there).</summary>
    public sealed class SystemResolverFactAttribute : FactAttribute
    {
        public SystemResolverFactAttribute()
        {
            if (SystemResolverTests.LoopbackNames().Length == 0) Skip = "/etc/hosts has no 127.0.0.1 line to compare the system resolver's answer with";
        }
    }
}
