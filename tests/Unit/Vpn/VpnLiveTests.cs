using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment.Vpn;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Vpn
{
    /// <summary>
    /// Real interfaces made in the kernel, real sockets on them, real snapshots through the engine, and
    /// the detector's verdict on the rows the kernel reported.
    /// </summary>
    [Collection(LinuxSocketsCollection.Name)]
    public class VpnLiveTests
    {
        private const string Tun = "tuntap add dev {0} mode tun";
        private const string Tap = "tuntap add dev {0} mode tap";
        private const string WireGuard = "link add dev {0} type wireguard";
        private const string IpIp = "link add {0} type ipip local 198.19.255.1 remote 198.19.255.2";
        private const string Veth = "link add {0} type veth peer name {0}p";

        private static readonly int Me = Environment.ProcessId;

        // Interface rule alone: the processes and ports of these tests must not be what marks them.
        private static VpnConfig InterfacesOnly() => new VpnConfig { Processes = new Engine.Filtering.Wildcard[0], Ports = new int[0] };

        /// <summary>A listener on the address, a client connected to it, and the accepted end: three rows of this process.</summary>
        private sealed class TcpTrio : IDisposable
        {
            public readonly Socket Listener, Client, Server;
            public readonly IPEndPoint Bound;

            public TcpTrio(IPAddress address)
            {
                Listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                Listener.Bind(new IPEndPoint(address, 0));
                Listener.Listen(4);
                Bound = (IPEndPoint)Listener.LocalEndPoint;
                Client = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                Client.Connect(Bound);
                Server = Listener.Accept();
            }

            public int ClientPort => ((IPEndPoint)Client.LocalEndPoint).Port;

            /// <summary>This trio's rows: the listener, the accepted end, the client end.</summary>
            public List<ConnectionRecord> Rows(IEnumerable<ConnectionRecord> all) =>
                all.Where(r => r.Protocol == TransportProtocol.Tcp && r.ProcessId == Me
                               && (r.LocalPort == Bound.Port || (r.LocalPort == ClientPort && r.RemotePort == Bound.Port))).ToList();

            public void Dispose()
            {
                Client.Dispose();
                Server.Dispose();
                Listener.Dispose();
            }
        }

        private static IReadOnlyList<ConnectionRecord> Snapshot(MonitorEngine engine) => engine.TakeSnapshot().Connections;

        [LinuxLinkTheory(Tun)]
        [InlineData(Tun, "tun", true)]
        // IPv6 on a tap: with no program attached the tap has no carrier, and connecting to its own IPv6
        // address fails with "No route to host" (the tun, with no link layer, does not), so IPv4 only.
        [InlineData(Tap, "tap", false)]
        public void ConnectionsOnATunOrTapAddressAreVpnAndLoopbackOnesAreNot(string create, string kind, bool ipv6)
        {
            using var link = KernelLink.Create(create);
            using var engine = new MonitorEngine(new LinuxPlatform());
            var detector = new VpnDetector(engine.Platform.Interfaces, InterfacesOnly());
            using var onTun = new TcpTrio(IPAddress.Parse(link.Address));
            using var onTun6 = ipv6 ? new TcpTrio(IPAddress.Parse(link.Address6)) : null;
            using var onLoopback = new TcpTrio(IPAddress.Loopback);
            using var anywhere = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            anywhere.Bind(new IPEndPoint(IPAddress.Any, 0));
            anywhere.Listen(1);
            int anywherePort = ((IPEndPoint)anywhere.LocalEndPoint).Port;

            var rows = Snapshot(engine);
            detector.Apply(rows);

            var tunRows = onTun.Rows(rows).Concat(onTun6?.Rows(rows) ?? new List<ConnectionRecord>()).ToList();
            Assert.Equal(ipv6 ? 6 : 3, tunRows.Count);
            foreach (var r in tunRows)
            {
                Assert.Contains(r.LocalAddress.ToString(), new[] { link.Address, link.Address6 });
                Assert.True(r.IsVpn, r.LocalAddress + ":" + r.LocalPort);
                Assert.Equal("interface " + link.Name + " (" + kind + ")", r.VpnReason);
            }

            var loRows = onLoopback.Rows(rows);
            Assert.Equal(3, loRows.Count);
            Assert.All(loRows, r => Assert.Equal((false, (string)null), (r.IsVpn.Value, r.VpnReason)));

            // A listener on 0.0.0.0 accepts on the tun address too, but is bound to no interface.
            // (by address too: IPv6 ports are bound apart, and another test's [::] listener may have the same number)
            var any = rows.Single(r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == anywherePort && r.ProcessId == Me && IPAddress.Any.Equals(r.LocalAddress));
            Assert.False(any.IsVpn);

            // What the catalogue itself says about the link: the kernel's facts, not the name.
            var nic = engine.Platform.Interfaces.Read().Single(i => i.Name == link.Name);
            Assert.Equal(kind, nic.TunnelKind);
            Assert.False(nic.TunnelKindFromNameOnly);
            Assert.Contains("tun_flags 0x", nic.LinkType);
            Assert.Contains(IPAddress.Parse(link.Address), nic.Addresses);
            Assert.Contains(IPAddress.Parse(link.Address6), nic.Addresses);
        }

        [LinuxLinkFact(Tun)]
        public void AnIPv4MappedSocketOnATunAddressMatchesTheTun()
        {
            using var link = KernelLink.Create(Tun);
            using var engine = new MonitorEngine(new LinuxPlatform());
            var detector = new VpnDetector(engine.Platform.Interfaces, InterfacesOnly());
            using var dual = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
            dual.Bind(new IPEndPoint(IPAddress.Parse(link.Address).MapToIPv6(), 0));
            dual.Listen(1);
            int port = ((IPEndPoint)dual.LocalEndPoint).Port;

            var row = Snapshot(engine).Single(r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == port && r.ProcessId == Me && r.LocalAddress.AddressFamily == AddressFamily.InterNetworkV6);
            Assert.True(row.LocalAddress.IsIPv4MappedToIPv6, row.LocalAddress.ToString());
            var v = detector.Classify(row);
            Assert.True(v.IsVpn);
            Assert.Equal("interface " + link.Name + " (tun)", v.Reason);
        }

        [LinuxLinkFact(Tun)]
        public void ATunThatAppearsAfterTheFirstReadIsFoundWithoutWaitingForTheFullInterval()
        {
            using var engine = new MonitorEngine(new LinuxPlatform());
            var detector = new VpnDetector(engine.Platform.Interfaces, InterfacesOnly());
            detector.Apply(Snapshot(engine));                                 // the map is read now, before the tun exists
            System.Threading.Thread.Sleep(VpnDetector.MissRefreshInterval);   // the early re-read is rate-limited to once a second
            using var link = KernelLink.Create(Tun);
            using var onTun = new TcpTrio(IPAddress.Parse(link.Address));
            var rows = onTun.Rows(Snapshot(engine));
            detector.Apply(rows);
            Assert.All(rows, r => Assert.Equal("interface " + link.Name + " (tun)", r.VpnReason));
        }

        [LinuxLinkFact(Veth)]
        public void AnOrdinaryVirtualEthernetLinkIsNotAVpn()
        {
            using var link = KernelLink.Create(Veth);
            using var engine = new MonitorEngine(new LinuxPlatform());
            var detector = new VpnDetector(engine.Platform.Interfaces, InterfacesOnly());
            using var trio = new TcpTrio(IPAddress.Parse(link.Address));
            var rows = trio.Rows(Snapshot(engine));
            Assert.Equal(3, rows.Count);
            detector.Apply(rows);
            Assert.All(rows, r => Assert.Equal((false, (string)null), (r.IsVpn.Value, r.VpnReason)));
            var nic = engine.Platform.Interfaces.Read().Single(i => i.Name == link.Name);
            Assert.Null(nic.TunnelKind);
            Assert.StartsWith("type 1", nic.LinkType);
        }

        [LinuxLinkFact(WireGuard)]
        public void ConnectionsOnAWireGuardAddressAreVpn()
        {
            using var link = KernelLink.Create(WireGuard);
            AssertTrioOn(link, "WireGuard");
        }

        [LinuxLinkFact(IpIp)]
        public void ConnectionsOnAnIpInIpTunnelAreVpn()
        {
            using var link = KernelLink.Create(IpIp);
            AssertTrioOn(link, "IP tunnel");
        }

        private static void AssertTrioOn(KernelLink link, string kind)
        {
            using var engine = new MonitorEngine(new LinuxPlatform());
            var detector = new VpnDetector(engine.Platform.Interfaces, InterfacesOnly());
            using var trio = new TcpTrio(IPAddress.Parse(link.Address));
            var rows = trio.Rows(Snapshot(engine));
            Assert.Equal(3, rows.Count);
            detector.Apply(rows);
            Assert.All(rows, r => Assert.Equal("interface " + link.Name + " (" + kind + ")", r.VpnReason));
        }

        [LinuxFact]
        public void AProcessNamedOpenvpnMakesItsConnectionVpn()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(4);
            int port = ((IPEndPoint)listener.LocalEndPoint).Port;
            using var child = new ChildTalker("openvpn", port);
            using var accepted = listener.Accept();
            using var engine = new MonitorEngine(new LinuxPlatform());
            var detector = new VpnDetector(engine.Platform.Interfaces, new VpnConfig { Ports = new int[0] });

            var rows = Snapshot(engine);
            detector.Apply(rows);
            var theirs = rows.Single(r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == child.LocalPort && r.RemotePort == port);
            Assert.Equal(child.ProcessId, theirs.ProcessId);
            Assert.Equal("openvpn", theirs.ProcessName);
            Assert.Equal((true, "process openvpn"), (theirs.IsVpn.Value, theirs.VpnReason));

            // Our end of the same connection belongs to the test host: not a VPN.
            var ours = rows.Single(r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == port && r.RemotePort == child.LocalPort);
            Assert.Equal(Me, ours.ProcessId);
            Assert.Equal((false, (string)null), (ours.IsVpn.Value, ours.VpnReason));
        }

        [LinuxFact]
        public void AWellKnownVpnPortCountsOnTheServersEnd()
        {
            var config = new VpnConfig { Processes = new Engine.Filtering.Wildcard[0] };
            using var listener = BindFirstFree(SocketType.Stream, ProtocolType.Tcp, config.Ports, out int tcpPort);
            listener.Listen(4);
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(new IPEndPoint(IPAddress.Loopback, tcpPort));
            int clientPort = ((IPEndPoint)client.LocalEndPoint).Port;
            using var accepted = listener.Accept();
            // A UDP "server" waiting on a VPN port, and a UDP client of it.
            using var udpServer = BindFirstFree(SocketType.Dgram, ProtocolType.Udp, config.Ports, out int udpPort);
            using var udpClient = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udpClient.Connect(new IPEndPoint(IPAddress.Loopback, udpPort));
            int udpClientPort = ((IPEndPoint)udpClient.LocalEndPoint).Port;

            using var engine = new MonitorEngine(new LinuxPlatform());
            var detector = new VpnDetector(engine.Platform.Interfaces, config);
            var rows = Snapshot(engine).Where(r => r.ProcessId == Me).ToList();
            detector.Apply(rows);

            string tcpName = VpnDetector.PortName(tcpPort), udpName = VpnDetector.PortName(udpPort);
            Assert.Equal("local port " + tcpName, rows.Single(r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == tcpPort && r.State == TcpState.Listen).VpnReason);
            Assert.Equal("local port " + tcpName, rows.Single(r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == tcpPort && r.RemotePort == clientPort).VpnReason);
            Assert.Equal("remote port " + tcpName, rows.Single(r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == clientPort && r.RemotePort == tcpPort).VpnReason);
            Assert.Equal("local port " + udpName, rows.Single(r => r.Protocol == TransportProtocol.Udp && r.LocalPort == udpPort).VpnReason);
            Assert.Equal("remote port " + udpName, rows.Single(r => r.Protocol == TransportProtocol.Udp && r.LocalPort == udpClientPort).VpnReason);
            Assert.All(rows.Where(r => r.VpnReason != null), r => Assert.True(r.IsVpn));
        }

        // Binds 127.0.0.1 on the first configured VPN port that nothing else here holds.
        private static Socket BindFirstFree(SocketType type, ProtocolType protocol, IReadOnlyList<int> ports, out int port)
        {
            foreach (int p in ports)
            {
                var s = new Socket(AddressFamily.InterNetwork, type, protocol);
                try
                {
                    s.Bind(new IPEndPoint(IPAddress.Loopback, p));
                    port = p;
                    return s;
                }
                catch (SocketException)
                {
                    s.Dispose();
                }
            }
            throw new InvalidOperationException("every configured VPN port (" + string.Join(", ", ports) + ") is taken on 127.0.0.1 (" + protocol + ")");
        }
    }
}
