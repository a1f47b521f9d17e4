using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.NetworkInformation;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment.Vpn;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using Xunit;
using TcpState = ConnectionsMonitor.Engine.Model.TcpState;

namespace ConnectionsMonitor.Tests.Vpn
{
    /// <summary>The detector's rules on given interfaces and rows (the live tests use the kernel's).</summary>
    public class VpnDetectorTests
    {
        private sealed class Catalog : INetworkInterfaceCatalog
        {
            public List<NetworkInterfaceInfo> Interfaces = new List<NetworkInterfaceInfo>();
            public Exception Failure;
            public int Reads;

            public IReadOnlyList<NetworkInterfaceInfo> Read()
            {
                Reads++;
                if (Failure != null) throw Failure;
                return Interfaces.ToList();
            }
        }

        private static NetworkInterfaceInfo Nic(string name, string kind, params string[] addresses) =>
            new NetworkInterfaceInfo(name, null, "test", kind, false, true, addresses.Select(IPAddress.Parse).ToList());

        private static NetworkInterfaceInfo Nic(IPAddress address, string name, string kind) =>
            new NetworkInterfaceInfo(name, null, "test", kind, false, true, new[] { address });

        private static ConnectionRecord Row(string local, int localPort, string remote, int? remotePort,
            TransportProtocol protocol = TransportProtocol.Tcp, TcpState? state = TcpState.Established, string process = "curl") =>
            new ConnectionRecord
            {
                Protocol = protocol,
                LocalAddress = IPAddress.Parse(local),
                LocalPort = localPort,
                RemoteAddress = remote == null ? null : IPAddress.Parse(remote),
                RemotePort = remotePort,
                State = protocol == TransportProtocol.Tcp ? state : null,
                ProcessName = process,
            };

        private static VpnConfig NoPorts(VpnConfig c = null)
        {
            c = c ?? new VpnConfig();
            c.Ports = new int[0];
            return c;
        }

        private static Catalog Machine()
        {
            var c = new Catalog();
            c.Interfaces.Add(Nic("lo", null, "127.0.0.1", "::1"));
            c.Interfaces.Add(Nic("eth0", null, "192.168.1.20", "2001:db8::20"));
            c.Interfaces.Add(Nic("tun7", "tun", "10.8.0.6", "fd00:8::6"));
            c.Interfaces.Add(Nic("wg0", "WireGuard", "10.66.0.2"));
            return c;
        }

        [Fact]
        public void TheLocalAddressesInterfaceDecides()
        {
            var d = new VpnDetector(Machine(), NoPorts());
            Assert.Equal("interface tun7 (tun)", d.Classify(Row("10.8.0.6", 40000, "10.8.0.1", 443)).Reason);
            Assert.Equal("interface tun7 (tun)", d.Classify(Row("fd00:8::6", 40000, "fd00:8::1", 443)).Reason);
            Assert.Equal("interface wg0 (WireGuard)", d.Classify(Row("10.66.0.2", 40000, "10.66.0.1", 22)).Reason);
            // IPv4-mapped IPv6 (a dual-stack socket) is the IPv4 address.
            Assert.Equal("interface wg0 (WireGuard)", d.Classify(Row("::ffff:10.66.0.2", 40000, "::ffff:10.66.0.1", 22)).Reason);

            var eth = d.Classify(Row("192.168.1.20", 40000, "93.184.216.34", 443));
            Assert.False(eth.IsVpn);
            Assert.Null(eth.Reason);
            Assert.False(d.Classify(Row("127.0.0.1", 40000, "127.0.0.1", 8080)).IsVpn);
        }

        [Fact]
        public void WildcardBindingsBelongToNoInterface()
        {
            var d = new VpnDetector(Machine(), NoPorts());
            Assert.Same(VpnVerdict.NotVpn, d.Classify(Row("0.0.0.0", 8080, "0.0.0.0", 0, state: TcpState.Listen)));
            Assert.Same(VpnVerdict.NotVpn, d.Classify(Row("::", 8080, "::", 0, state: TcpState.Listen)));
            Assert.Same(VpnVerdict.NotVpn, d.Classify(Row("::ffff:0.0.0.0", 8080, null, null, TransportProtocol.Udp)));
        }

        [Fact]
        public void LinkLocalAddressesAreMatchedWithTheirScope()
        {
            var c = new Catalog();
            c.Interfaces.Add(Nic(new IPAddress(IPAddress.Parse("fe80::1").GetAddressBytes(), 5), "tun7", "tun"));
            c.Interfaces.Add(Nic(new IPAddress(IPAddress.Parse("fe80::1").GetAddressBytes(), 2), "eth0", null));
            var d = new VpnDetector(c, NoPorts());
            var onTun = Row("fe80::1", 5000, "fe80::2", 6000); onTun.LocalAddress = new IPAddress(onTun.LocalAddress.GetAddressBytes(), 5);
            var onEth = Row("fe80::1", 5000, "fe80::2", 6000); onEth.LocalAddress = new IPAddress(onEth.LocalAddress.GetAddressBytes(), 2);
            Assert.True(d.Classify(onTun).IsVpn);
            Assert.False(d.Classify(onEth).IsVpn);
        }

        [Fact]
        public void WindowsAdaptersAreNamedByDescriptionAndNameGuessesSayTheyAreGuesses()
        {
            var c = new Catalog();
            c.Interfaces.Add(new NetworkInterfaceInfo("wg0", "WireGuard Tunnel", "53", "WireGuard", false, true, new[] { IPAddress.Parse("10.6.0.2") }));
            c.Interfaces.Add(new NetworkInterfaceInfo("tun3", null, "unknown", "tun", true, false, new[] { IPAddress.Parse("10.7.0.2") }));
            var d = new VpnDetector(c, NoPorts());
            Assert.Equal("adapter 'WireGuard Tunnel' (WireGuard)", d.Classify(Row("10.6.0.2", 1, "10.6.0.1", 2)).Reason);
            Assert.Equal("interface tun3 (tun, by name)", d.Classify(Row("10.7.0.2", 1, "10.7.0.1", 2)).Reason);
        }

        [Fact]
        public void ConfiguredInterfaceNamesCountByNameOrDescription()
        {
            var c = Machine();
            c.Interfaces.Add(Nic("corp0", null, "172.20.0.5"));
            c.Interfaces.Add(new NetworkInterfaceInfo("Ethernet 7", "Acme Secure Access Adapter", "Ethernet", null, false, true, new[] { IPAddress.Parse("172.21.0.5") }));
            var config = NoPorts();
            config.Interfaces = new[] { new Wildcard("corp*"), new Wildcard("*Secure Access*") };
            var d = new VpnDetector(c, config);
            Assert.Equal("interface corp0 (configured 'corp*')", d.Classify(Row("172.20.0.5", 1, "172.20.0.1", 2)).Reason);
            Assert.Equal("interface Ethernet 7 (configured '*Secure Access*')", d.Classify(Row("172.21.0.5", 1, "172.21.0.1", 2)).Reason);
            Assert.False(d.Classify(Row("192.168.1.20", 1, "1.1.1.1", 2)).IsVpn);
        }

        [Theory]
        [InlineData("openvpn", "process openvpn")]
        [InlineData("OpenVPN.exe", "process OpenVPN.exe")]   // a catalogue that keeps ".exe"
        [InlineData("nordvpnd", null)]                        // "nordvpn" is not a wildcard
        [InlineData("openvpn-helper", null)]
        [InlineData("firefox", null)]
        [InlineData(null, null)]
        public void TheOwningProcessDecidesWithTheDefaultList(string process, string reason)
        {
            var d = new VpnDetector(Machine(), NoPorts());
            var v = d.Classify(Row("192.168.1.20", 40000, "203.0.113.9", 443, process: process));
            Assert.Equal(reason, v.Reason);
            Assert.Equal(reason != null, v.IsVpn);
        }

        [Fact]
        public void ProcessPatternsTakeWildcardsAndExe()
        {
            var config = NoPorts();
            config.Processes = new[] { new Wildcard("nord*"), new Wildcard("wireguard.exe") };
            var d = new VpnDetector(Machine(), config);
            Assert.Equal("process nordvpnd", d.Classify(Row("192.168.1.20", 1, "1.2.3.4", 2, process: "nordvpnd")).Reason);
            Assert.Equal("process wireguard", d.Classify(Row("192.168.1.20", 1, "1.2.3.4", 2, process: "wireguard")).Reason);
            Assert.False(d.Classify(Row("192.168.1.20", 1, "1.2.3.4", 2, process: "openvpn")).IsVpn);
        }

        [Fact]
        public void PortsCountOnTheServersEnd()
        {
            var d = new VpnDetector(Machine(), new VpnConfig());
            // Alone: the remote port of a client, a low local port of a server.
            Assert.Equal("remote port 1194 (OpenVPN)", d.Classify(Row("192.168.1.20", 45000, "198.51.100.7", 1194)).Reason);
            Assert.Equal("remote port 51820 (WireGuard)", d.Classify(Row("192.168.1.20", 45000, "198.51.100.7", 51820, TransportProtocol.Udp)).Reason);
            Assert.Equal("local port 1723 (PPTP)", d.Classify(Row("192.168.1.20", 1723, "198.51.100.7", 50123)).Reason);
            Assert.Equal("local port 500 (IKE)", d.Classify(Row("0.0.0.0", 500, null, null, TransportProtocol.Udp)).Reason);
            Assert.Equal("local port 51820 (WireGuard)", d.Classify(Row("0.0.0.0", 51820, null, null, TransportProtocol.Udp)).Reason);
            // An ephemeral local port that happens to be 51820 on the way to a web server says nothing.
            Assert.False(d.Classify(Row("192.168.1.20", 51820, "93.184.216.34", 443)).IsVpn);

            // In a batch the listeners show which end serves: our SSH server's client came from port 51820 — not a VPN;
            // our WireGuard-port TCP server's accepted connection is.
            var sshListener = Row("0.0.0.0", 22, "0.0.0.0", 0, state: TcpState.Listen, process: "sshd");
            var sshSession = Row("192.168.1.20", 22, "198.51.100.7", 51820, process: "sshd");
            var wgListener = Row("0.0.0.0", 51820, "0.0.0.0", 0, state: TcpState.Listen, process: "relay");
            var wgAccepted = Row("192.168.1.20", 51820, "198.51.100.7", 40001, process: "relay");
            d.Apply(new[] { sshListener, sshSession, wgListener, wgAccepted });
            Assert.Equal((false, (string)null), (sshListener.IsVpn.Value, sshListener.VpnReason));
            Assert.Equal((false, (string)null), (sshSession.IsVpn.Value, sshSession.VpnReason));
            Assert.Equal("local port 51820 (WireGuard)", wgListener.VpnReason);
            Assert.Equal("local port 51820 (WireGuard)", wgAccepted.VpnReason);
        }

        [Fact]
        public void SeveralReasonsAreJoined()
        {
            var d = new VpnDetector(Machine(), new VpnConfig());
            var v = d.Classify(Row("10.8.0.6", 40000, "10.8.0.1", 1194, TransportProtocol.Udp, process: "openvpn"));
            Assert.True(v.IsVpn);
            Assert.Equal("interface tun7 (tun); process openvpn; remote port 1194 (OpenVPN)", v.Reason);
        }

        [Fact]
        public void UntrustedNamesCannotPutControlCharactersIntoReasons()
        {
            var c = new Catalog();
            c.Interfaces.Add(Nic("tun\u001b[31m\r\nX", "tun", "10.9.0.2"));
            c.Interfaces.Add(new NetworkInterfaceInfo("x", "Evil\u202Egnp.exe\u200B\u0007 Adapter", "53", "Wintun", false, true, new[] { IPAddress.Parse("10.9.0.3") }));
            c.Interfaces.Add(Nic(new string('w', 300), "WireGuard", "10.9.0.4"));
            var d = new VpnDetector(c, NoPorts());
            var a = d.Classify(Row("10.9.0.2", 1, "10.9.0.1", 2, process: "open\tvpn\u0000")).Reason;
            var b = d.Classify(Row("10.9.0.3", 1, "10.9.0.1", 2)).Reason;
            var l = d.Classify(Row("10.9.0.4", 1, "10.9.0.1", 2)).Reason;
            Assert.Equal("interface tun?[31m??X (tun)", a);
            Assert.Equal("adapter 'Evil?gnp.exe?? Adapter' (Wintun)", b);
            Assert.True(l.Length < 100, l);
            Assert.EndsWith("… (WireGuard)", l);
            foreach (var s in new[] { a, b, l })
                Assert.DoesNotContain(s, ch => char.IsControl(ch) || char.GetUnicodeCategory(ch) == System.Globalization.UnicodeCategory.Format);
            Assert.Equal("a?b", VpnDetector.Clean("a\ud800b"));       // a lone surrogate
            Assert.Equal("a😀b", VpnDetector.Clean("a😀b"));          // a pair is text
        }

        [Fact]
        public void SwitchedOffMeansUnknownNotNo()
        {
            var config = new VpnConfig { Enabled = false };
            var d = new VpnDetector(Machine(), config);
            var r = Row("10.8.0.6", 40000, "10.8.0.1", 1194, process: "openvpn");
            Assert.Null(d.Classify(r));
            d.Apply(new[] { r });
            Assert.Null(r.IsVpn);
            Assert.Null(r.VpnReason);
        }

        [Fact]
        public void UnreadableInterfacesMakeTheInterfaceRuleUnknown()
        {
            var c = Machine();
            c.Failure = new NetworkInformationException(13);
            var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            var d = new VpnDetector(c, NoPorts(), () => now);
            Assert.Null(d.Classify(Row("10.8.0.6", 40000, "10.8.0.1", 443)));                 // cannot say
            Assert.True(d.Classify(Row("10.8.0.6", 40000, "10.8.0.1", 443, process: "openvpn")).IsVpn); // another rule can
            Assert.Same(VpnVerdict.NotVpn, d.Classify(Row("0.0.0.0", 80, "0.0.0.0", 0, state: TcpState.Listen)));
            Assert.Contains("could not be read", d.InterfaceWarning);

            var noCatalog = new VpnDetector(null, NoPorts());
            Assert.Null(noCatalog.Classify(Row("10.8.0.6", 40000, "10.8.0.1", 443)));
            Assert.NotNull(noCatalog.InterfaceWarning);

            c.Failure = null;
            now = now.AddSeconds(6);
            Assert.True(d.Classify(Row("10.8.0.6", 40000, "10.8.0.1", 443)).IsVpn);
            Assert.Null(d.InterfaceWarning);
        }

        [Fact]
        public void TheInterfaceMapIsReReadEveryFiveSecondsAndSoonerForAnUnknownAddress()
        {
            var c = Machine();
            var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            var d = new VpnDetector(c, NoPorts(), () => now);
            var known = Row("192.168.1.20", 40000, "1.1.1.1", 443);
            d.Classify(known);
            d.Apply(new[] { known, Row("10.8.0.6", 40000, "10.8.0.1", 443) });
            Assert.Equal(1, c.Reads);
            now = now.AddSeconds(4.9);
            d.Classify(known);
            Assert.Equal(1, c.Reads);
            now = now.AddSeconds(0.2);
            d.Classify(known);
            Assert.Equal(2, c.Reads);

            // A VPN comes up: its address is unknown to the map, which is re-read — but at most once a second.
            c.Interfaces.Add(Nic("wg1", "WireGuard", "10.77.0.2"));
            var onNew = Row("10.77.0.2", 40000, "10.77.0.1", 443);
            now = now.AddSeconds(0.5);
            Assert.False(d.Classify(onNew).IsVpn);
            Assert.Equal(2, c.Reads);
            now = now.AddSeconds(0.6);
            Assert.Equal("interface wg1 (WireGuard)", d.Classify(onNew).Reason);
            Assert.Equal(3, c.Reads);

            // A stray address (a socket on an address since removed) does not turn every classification into a read.
            var stray = Row("10.99.0.1", 40000, "10.99.0.2", 443);
            for (int i = 0; i < 20; i++) { now = now.AddMilliseconds(100); d.Classify(stray); }
            Assert.InRange(c.Reads, 4, 5);

            d.Refresh();
            Assert.InRange(c.Reads, 5, 6);
        }
    }
}
