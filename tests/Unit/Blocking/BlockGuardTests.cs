using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Blocking;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>The guard's refusals, the routing-table parsers it reads gateways with, and the SSH client address.</summary>
    public class BlockGuardTests
    {
        private static readonly List<ProtectedAddress> Protected = new List<ProtectedAddress>
        {
            new ProtectedAddress(IPAddress.Parse("192.0.2.10"), BlockRefusal.RemotingClient),
            new ProtectedAddress(IPAddress.Parse("10.0.0.1"), BlockRefusal.DefaultGateway),
            new ProtectedAddress(IPAddress.Parse("fe80::1"), BlockRefusal.DefaultGateway),
            new ProtectedAddress(IPAddress.Parse("10.0.0.5"), BlockRefusal.LocalAddress),
        };

        [Theory]
        [InlineData("127.0.0.1", BlockRefusal.Loopback, "127.0.0.1")]
        [InlineData("127.255.0.9", BlockRefusal.Loopback, "127.0.0.1")]
        [InlineData("0.0.0.0/0", BlockRefusal.Loopback, "127.0.0.1")]
        [InlineData("::1", BlockRefusal.Loopback, "::1")]
        [InlineData("::/0", BlockRefusal.Loopback, "::1")]
        [InlineData("::ffff:127.0.0.1", BlockRefusal.Loopback, "127.0.0.1")]
        [InlineData("192.0.2.10", BlockRefusal.RemotingClient, "192.0.2.10")]
        [InlineData("192.0.2.0/24", BlockRefusal.RemotingClient, "192.0.2.10")]
        [InlineData("10.0.0.1", BlockRefusal.DefaultGateway, "10.0.0.1")]
        [InlineData("10.0.0.0/29", BlockRefusal.DefaultGateway, "10.0.0.1")]
        [InlineData("fe80::/10", BlockRefusal.DefaultGateway, "fe80::1")]
        [InlineData("10.0.0.5", BlockRefusal.LocalAddress, "10.0.0.5")]
        public void RefusesWhatWouldCutThisMachineOff(string target, BlockRefusal why, string address)
        {
            var verdict = BlockGuard.Check(BlockTarget.Parse(target), Protected);
            Assert.NotNull(verdict);
            Assert.Equal(why, verdict.Why);
            Assert.Equal(IPAddress.Parse(address), verdict.Address);
        }

        [Theory]
        [InlineData("203.0.113.7")]
        [InlineData("10.0.0.2")]
        [InlineData("10.0.0.8/29")]
        [InlineData("2001:db8::/32")]
        public void LetsOtherAddressesThrough(string target) => Assert.Null(BlockGuard.Check(BlockTarget.Parse(target), Protected));

        private sealed class Facts : INetworkRouteFacts
        {
            public Func<IReadOnlyList<IPAddress>> Gateways = () => new[] { IPAddress.Parse("10.0.0.1") };
            public Func<IReadOnlyList<IPAddress>> Locals = () => new[] { IPAddress.Parse("10.0.0.5") };
            public IReadOnlyList<IPAddress> DefaultGateways() => Gateways();
            public IReadOnlyList<IPAddress> LocalAddresses() => Locals();
        }

        [Fact]
        public void ProtectedAddressesComeFromTheRoutesAndInterfacesAndSayWhatCouldNotBeRead()
        {
            var list = BlockGuard.ProtectedAddresses(new Facts(), out var unreadable);
            Assert.Empty(unreadable);
            Assert.Equal(new[] { "10.0.0.1 DefaultGateway", "10.0.0.5 LocalAddress" }, list.Select(p => p.Address + " " + p.Why).ToArray());

            var broken = new Facts { Gateways = () => throw new System.IO.IOException("no /proc") };
            list = BlockGuard.ProtectedAddresses(broken, out unreadable);
            Assert.Equal(new[] { "the default gateways (no /proc)" }, unreadable);
            Assert.Equal(new[] { "10.0.0.5 LocalAddress" }, list.Select(p => p.Address + " " + p.Why).ToArray());
        }

        [Fact]
        public void ReadsDefaultGatewaysFromProcNetRoute()
        {
            const string route =
                "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
                "eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
                "eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n" +
                "wg0\t00000000\t00000000\t0001\t0\t0\t50\t00000000\t0\t0\t0\n" +        // default route without gateway (a tunnel)
                "eth1\t00000000\t0102000A\t0003\t0\t0\t200\t00000000\t0\t0\t0\n" +
                "eth1\t00000000\t0102000A\t0003\t0\t0\t300\t00000000\t0\t0\t0\n";        // the same gateway twice
            Assert.Equal(new[] { IPAddress.Parse("192.168.0.1"), IPAddress.Parse("10.0.2.1") }, ProcNetRoute.DefaultGateways4(route));
            Assert.Empty(ProcNetRoute.DefaultGateways4("Iface\tDestination\tGateway\n"));
        }

        [Fact]
        public void ReadsDefaultGatewaysFromProcNetIpv6Route()
        {
            const string route =
                "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n" +
                "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n" +
                "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
            Assert.Equal(new[] { IPAddress.Parse("fe80::1") }, ProcNetRoute.DefaultGateways6(route));
        }

        [Theory]
        [InlineData("192.0.2.10 50022 192.0.2.1 22", null, "192.0.2.10")]
        [InlineData(null, "2001:db8::10 50022 22", "2001:db8::10")]
        [InlineData("fe80::10%eth0 50022 fe80::1%eth0 22", null, "fe80::10")]
        [InlineData("", "", null)]
        [InlineData("garbage", "1 2 3", null)]
        public void TheSshClientAddressIsTheFirstField(string connection, string client, string expected)
        {
            var a = BlockGuard.SshClientAddress(connection, client);
            Assert.Equal(expected, a?.ToString());
        }
    }
}
