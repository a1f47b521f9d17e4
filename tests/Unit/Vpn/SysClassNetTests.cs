using System;
using System.IO;
using System.Net;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Vpn
{
    /// <summary>The /sys/class/net text as the kernel prints it, and what each link kind is taken for.</summary>
    public class SysClassNetTests
    {
        // type, uevent, tun_flags exactly as read from the files (null: file absent).
        [Theory]
        [InlineData("65534\n", "INTERFACE=tun0\nIFINDEX=5\n", "0x1001\n", "tun")]            // openvpn dev tun (IFF_TUN|IFF_NO_PI)
        [InlineData("65534\n", "INTERFACE=cmvpn1\nIFINDEX=5\n", "0x1801\n", "tun")]          // ip tuntap add … mode tun (persistent)
        [InlineData("1\n", "INTERFACE=tap0\nIFINDEX=6\n", "0x1802\n", "tap")]                // ip tuntap add … mode tap
        [InlineData("1\n", "INTERFACE=vnet3\nIFINDEX=9\n", "0x5002\n", "tap")]               // a VM's tap with IFF_VNET_HDR
        [InlineData("65534\n", "DEVTYPE=wireguard\nINTERFACE=wg0\nIFINDEX=7\n", null, "WireGuard")]
        [InlineData("65534\n", "DEVTYPE=wireguard\nINTERFACE=nordlynx\nIFINDEX=4\n", null, "WireGuard")]
        [InlineData("512\n", "DEVTYPE=ppp\nINTERFACE=ppp0\nIFINDEX=12\n", null, "PPP")]
        [InlineData("512\n", "INTERFACE=ppp0\nIFINDEX=12\n", null, "PPP")]                  // an older kernel without DEVTYPE
        [InlineData("768\n", "INTERFACE=ipip0\nIFINDEX=3\n", null, "IP tunnel")]
        [InlineData("768\n", "INTERFACE=vti0\nIFINDEX=3\n", null, "IP tunnel")]
        [InlineData("769\n", "INTERFACE=ip6tnl0\nIFINDEX=4\n", null, "IPv6 tunnel")]
        [InlineData("776\n", "INTERFACE=sit1\nIFINDEX=8\n", null, "SIT tunnel")]
        [InlineData("778\n", "INTERFACE=gre1\nIFINDEX=8\n", null, "GRE tunnel")]
        [InlineData("65534\n", "DEVTYPE=xfrm\nINTERFACE=ipsec0\nIFINDEX=9\n", null, "IPsec xfrm")]
        [InlineData("65534\n", "INTERFACE=xfrm0\nIFINDEX=9\n", null, "layer-3 tunnel")]      // no DEVTYPE: still no link layer
        public void TunnelLinksAreRecognisedFromKernelFacts(string type, string uevent, string tunFlags, string kind)
        {
            var facts = SysClassNet.Parse(type, uevent, tunFlags);
            Assert.True(facts.Known);
            Assert.Equal(kind, SysClassNet.TunnelKind(facts));
        }

        [Theory]
        [InlineData("1\n", "INTERFACE=eth0\nIFINDEX=2\n")]
        [InlineData("1\n", "DEVTYPE=wlan\nINTERFACE=wlp2s0\nIFINDEX=3\n")]
        [InlineData("1\n", "DEVTYPE=bridge\nINTERFACE=docker0\nIFINDEX=4\n")]
        [InlineData("1\n", "INTERFACE=veth1a2b3c\nIFINDEX=11\n")]
        [InlineData("1\n", "DEVTYPE=vxlan\nINTERFACE=flannel.1\nIFINDEX=5\n")]
        [InlineData("772\n", "INTERFACE=lo\nIFINDEX=1\n")]
        [InlineData("65534\n", "DEVTYPE=wwan\nINTERFACE=wwan0\nIFINDEX=6\n")]   // raw-IP cellular modem: no link layer, not a tunnel
        [InlineData("519\n", "INTERFACE=rmnet_data0\nIFINDEX=7\n")]             // ARPHRD_RAWIP cellular
        [InlineData("824\n", "INTERFACE=nlmon0\nIFINDEX=8\n")]
        public void OrdinaryLinksAreNotTunnels(string type, string uevent)
        {
            var facts = SysClassNet.Parse(type, uevent, null);
            Assert.True(facts.Known);
            Assert.Null(SysClassNet.TunnelKind(facts));
        }

        [Fact]
        public void FactsAreParsedExactly()
        {
            var f = SysClassNet.Parse(" 65534 \n", "DEVTYPE=WireGuard \nINTERFACE=wg0\n", "0x1801\n");
            Assert.Equal(65534, f.HardwareType);
            Assert.Equal("wireguard", f.DeviceType);
            Assert.Equal(0x1801, f.TunFlags);
            Assert.Equal("type 65534, tun_flags 0x1801, devtype wireguard", f.ToString());

            var unknown = SysClassNet.Parse(null, null, null);
            Assert.False(unknown.Known);
            Assert.Null(SysClassNet.TunnelKind(unknown));
            Assert.Equal("unknown", unknown.ToString());

            Assert.False(SysClassNet.Parse("ether\n", "", "").Known);   // garbage is "not read", not a type
            Assert.Null(SysClassNet.ParseTunFlags("0xzz"));
            Assert.Null(SysClassNet.ParseDevType("DEVTYPE=\nINTERFACE=x"));
        }

        [Theory]
        [InlineData("tun0", "tun")]
        [InlineData("tap1", "tap")]
        [InlineData("wg0", "WireGuard")]
        [InlineData("nordlynx", "WireGuard")]
        [InlineData("ppp0", "PPP")]
        [InlineData("ipsec0", "IPsec")]
        [InlineData("utun3", "tun")]
        [InlineData("tailscale0", "Tailscale")]
        [InlineData("cscotun0", "Cisco AnyConnect")]
        [InlineData("eth0", null)]
        [InlineData("enp3s0", null)]
        [InlineData("docker0", null)]
        [InlineData("", null)]
        public void NamesSuggestAKindOnlyAsAFallback(string name, string kind)
        {
            Assert.Equal(kind, SysClassNet.KindFromName(name));
        }

        [Theory]
        [InlineData("eth0", "eth0")]
        [InlineData("eth0:1", "eth0")]   // an IPv4 address label from getifaddrs
        [InlineData("..", null)]
        [InlineData("a/b", null)]
        [InlineData(":x", null)]
        public void DeviceNamesForSysPaths(string name, string device)
        {
            Assert.Equal(device, SysClassNet.DeviceName(name));
        }

        [Fact]
        public void TheCatalogReadsTheFilesOfEachLinkAndFallsBackToNamesOnlyWithoutThem()
        {
            string root = Path.Combine(Path.GetTempPath(), "cm-sys-" + Guid.NewGuid().ToString("N"));
            try
            {
                Write(root, "tun0", "type", "65534\n"); Write(root, "tun0", "uevent", "INTERFACE=tun0\nIFINDEX=5\n"); Write(root, "tun0", "tun_flags", "0x1001\n");
                Write(root, "wg0", "type", "65534\n"); Write(root, "wg0", "uevent", "DEVTYPE=wireguard\nINTERFACE=wg0\nIFINDEX=6\n");
                Write(root, "tunnel-not", "type", "1\n"); Write(root, "tunnel-not", "uevent", "INTERFACE=tunnel-not\n");
                var catalog = new LinuxNetworkInterfaceCatalog(root);
                var addr = new[] { IPAddress.Parse("10.8.0.2") };

                var tun = catalog.Describe("tun0", addr);
                Assert.Equal(("tun", false, true), (tun.TunnelKind, tun.TunnelKindFromNameOnly, tun.FactsKnown));
                Assert.Equal("type 65534, tun_flags 0x1001", tun.LinkType);
                Assert.Equal(addr, tun.Addresses);

                Assert.Equal("WireGuard", catalog.Describe("wg0", addr).TunnelKind);
                Assert.Equal("WireGuard", catalog.Describe("wg0:1", addr).TunnelKind); // label → device

                // The kernel says Ethernet: a tunnel-like name does not override it.
                Assert.Null(catalog.Describe("tunnel-not", addr).TunnelKind);

                // No /sys entry (container without sysfs, link gone): the name is all there is, and it says so.
                var guessed = catalog.Describe("tun9", addr);
                Assert.Equal(("tun", true, false), (guessed.TunnelKind, guessed.TunnelKindFromNameOnly, guessed.FactsKnown));
                Assert.Null(catalog.Describe("eth9", addr).TunnelKind);
            }
            finally
            {
                if (Directory.Exists(root)) Directory.Delete(root, true);
            }
        }

        private static void Write(string root, string dev, string file, string text)
        {
            Directory.CreateDirectory(Path.Combine(root, dev));
            File.WriteAllText(Path.Combine(root, dev, file), text);
        }
    }
}
