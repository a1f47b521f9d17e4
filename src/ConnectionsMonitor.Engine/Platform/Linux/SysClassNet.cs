using System;
using System.Globalization;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// What the kernel says about one link in /sys/class/net/IF: "type" (the ARPHRD_* hardware type),
    /// "uevent" (DEVTYPE= of drivers that set a device type) and "tun_flags" (present only on tun/tap devices).
    /// </summary>
    internal sealed class LinuxLinkFacts
    {
        public LinuxLinkFacts(int? hardwareType, string deviceType, int? tunFlags)
        {
            HardwareType = hardwareType;
            DeviceType = deviceType;
            TunFlags = tunFlags;
        }

        /// <summary>ARPHRD_* from /sys/class/net/IF/type; null when unreadable.</summary>
        public int? HardwareType { get; }

        /// <summary>DEVTYPE= from uevent ("wireguard", "ppp", "xfrm", "bridge", "wwan" …); null when the driver sets none.</summary>
        public string DeviceType { get; }

        /// <summary>IFF_* flags from tun_flags (tun/tap devices only); null on every other link.</summary>
        public int? TunFlags { get; }

        /// <summary>Whether the kernel's facts were read at all (the type file is there for every netdev).</summary>
        public bool Known => HardwareType != null;

        public override string ToString()
        {
            if (!Known) return "unknown";
            var s = "type " + HardwareType.Value.ToString(CultureInfo.InvariantCulture);
            if (TunFlags != null) s += ", tun_flags 0x" + TunFlags.Value.ToString("x4", CultureInfo.InvariantCulture);
            if (DeviceType != null) s += ", devtype " + DeviceType;
            return s;
        }
    }

    /// <summary>
    /// Parses the text of /sys/class/net/IF files and decides from it whether the link is a tunnel
    /// (kept apart from the file reads in <see cref="LinuxNetworkInterfaceCatalog"/> so it is tested on fixed text).
    /// </summary>
    internal static class SysClassNet
    {
        // include/uapi/linux/if_arp.h
        internal const int ArphrdEther = 1;
        internal const int ArphrdPpp = 512;
        internal const int ArphrdRawIp = 519;
        internal const int ArphrdTunnel = 768;   // ipip, vti
        internal const int ArphrdTunnel6 = 769;  // ip6tnl, vti6
        internal const int ArphrdSit = 776;      // sit (IPv6-in-IPv4)
        internal const int ArphrdIpGre = 778;    // gre
        internal const int ArphrdLoopback = 772;
        internal const int ArphrdIp6Gre = 823;   // ip6gre
        internal const int ArphrdNone = 65534;   // no link layer: tun (IFF_TUN), wireguard, xfrm, raw-IP modems

        // include/uapi/linux/if_tun.h
        internal const int IffTun = 0x0001;
        internal const int IffTap = 0x0002;

        /// <summary>Parses the three files' text (null for a file that is absent or unreadable).</summary>
        public static LinuxLinkFacts Parse(string typeText, string ueventText, string tunFlagsText)
        {
            int? type = null;
            if (typeText != null && int.TryParse(typeText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int t)) type = t;
            return new LinuxLinkFacts(type, ParseDevType(ueventText), ParseTunFlags(tunFlagsText));
        }

        /// <summary>DEVTYPE= of a uevent file ("KEY=value" lines), lower-cased; null when absent.</summary>
        internal static string ParseDevType(string uevent)
        {
            if (uevent == null) return null;
            foreach (var raw in uevent.Split('\n'))
            {
                var line = raw.Trim();
                if (line.StartsWith("DEVTYPE=", StringComparison.Ordinal))
                {
                    var value = line.Substring("DEVTYPE=".Length).Trim();
                    return value.Length == 0 ? null : value.ToLowerInvariant();
                }
            }
            return null;
        }

        /// <summary>tun_flags is printed by the kernel as "0x%x"; null when absent or malformed.</summary>
        internal static int? ParseTunFlags(string text)
        {
            if (text == null) return null;
            var s = text.Trim();
            if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) s = s.Substring(2);
            return int.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v) ? v : (int?)null;
        }

        /// <summary>
        /// The tunnel kind the kernel facts show, or null for an ordinary link. Order matters: tun_flags
        /// and DEVTYPE name the driver exactly; the hardware type is the broader fact behind them.
        /// </summary>
        public static string TunnelKind(LinuxLinkFacts facts)
        {
            if (facts == null || !facts.Known) return null;
            if (facts.TunFlags != null)
                return (facts.TunFlags.Value & (IffTun | IffTap)) == IffTap ? "tap" : "tun";
            switch (facts.DeviceType)
            {
                case "wireguard": return "WireGuard";
                case "ppp": return "PPP";
                // Recognised if a kernel reports them; xfrm and vti links are ARPHRD_NONE / ARPHRD_TUNNEL anyway.
                case "xfrm": return "IPsec xfrm";
                case "vti": return "IPsec vti";
                // Cellular modems in raw-IP mode have no link layer either (ARPHRD_NONE) but are not tunnels.
                case "wwan": return null;
            }
            switch (facts.HardwareType.Value)
            {
                case ArphrdPpp: return "PPP";
                case ArphrdTunnel: return "IP tunnel";
                case ArphrdTunnel6: return "IPv6 tunnel";
                case ArphrdSit: return "SIT tunnel";
                case ArphrdIpGre: return "GRE tunnel";
                case ArphrdIp6Gre: return "IPv6 GRE tunnel";
                case ArphrdNone: return "layer-3 tunnel";
                default: return null;
            }
        }

        // Names VPN software gives its interfaces; used only when the kernel facts cannot be read
        // (no /sys in a container, a race with the interface going away).
        private static readonly (Wildcard Pattern, string Kind)[] KnownNames =
        {
            (new Wildcard("tun*"), "tun"),
            (new Wildcard("tap*"), "tap"),
            (new Wildcard("wg*"), "WireGuard"),
            (new Wildcard("nordlynx"), "WireGuard"),
            (new Wildcard("ppp*"), "PPP"),
            (new Wildcard("ipsec*"), "IPsec"),
            (new Wildcard("vti*"), "IPsec vti"),
            (new Wildcard("xfrm*"), "IPsec xfrm"),
            (new Wildcard("utun*"), "tun"),
            (new Wildcard("nordtun"), "tun"),
            (new Wildcard("tailscale*"), "Tailscale"),
            (new Wildcard("zt*"), "ZeroTier"),
            (new Wildcard("proton*"), "ProtonVPN"),
            (new Wildcard("pvpn*"), "ProtonVPN"),
            (new Wildcard("cscotun*"), "Cisco AnyConnect"),
            (new Wildcard("gpd*"), "GlobalProtect"),
        };

        /// <summary>The tunnel kind a well-known VPN interface name suggests, or null.</summary>
        public static string KindFromName(string name)
        {
            if (string.IsNullOrEmpty(name)) return null;
            foreach (var (pattern, kind) in KnownNames)
                if (pattern.IsMatch(name)) return kind;
            return null;
        }

        /// <summary>
        /// The /sys/class/net directory name for a name from getifaddrs: an IPv4 address label
        /// ("eth0:1") belongs to the device before the colon (device names cannot contain ':' or '/').
        /// Null when the name cannot be a device name.
        /// </summary>
        public static string DeviceName(string name)
        {
            if (string.IsNullOrEmpty(name)) return null;
            int colon = name.IndexOf(':');
            var dev = colon >= 0 ? name.Substring(0, colon) : name;
            if (dev.Length == 0 || dev == "." || dev == ".." || dev.IndexOf('/') >= 0 || dev.IndexOf('\0') >= 0) return null;
            return dev;
        }
    }
}
