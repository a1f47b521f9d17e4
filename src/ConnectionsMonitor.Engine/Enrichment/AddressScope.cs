using System.Net;
using System.Net.Sockets;

namespace ConnectionsMonitor.Engine.Enrichment
{
    /// <summary>Where an address can be reached from: the seed showed "Unknown" for everything but public addresses.</summary>
    public enum AddressScope
    {
        /// <summary>0.0.0.0 or :: (a listener bound to every address, or no peer).</summary>
        Unspecified,
        /// <summary>127.0.0.0/8, ::1.</summary>
        Loopback,
        /// <summary>RFC 1918 (10/8, 172.16/12, 192.168/16), carrier-grade NAT 100.64/10, unique local fc00::/7, site-local fec0::/10.</summary>
        Private,
        /// <summary>169.254/16, fe80::/10.</summary>
        LinkLocal,
        /// <summary>224.0.0.0/4, ff00::/8.</summary>
        Multicast,
        /// <summary>255.255.255.255.</summary>
        Broadcast,
        /// <summary>192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20 (RFC 5737, 3849, 9637).</summary>
        Documentation,
        /// <summary>Special-purpose blocks that are neither private nor routable on the internet: 0/8, 192.0.0/24, 198.18/15 (benchmarking), 240/4, 100::/64, and IPv6 outside 2000::/3.</summary>
        Reserved,
        /// <summary>Globally routable: the only scope that GeoIP lookups and, by default, reverse DNS apply to.</summary>
        Public,
    }

    /// <summary>Classifies addresses by scope (IANA special-purpose registries). Allocation-free for IPv4.</summary>
    public static class AddressScopes
    {
        /// <summary>The scope of an address; IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::/96) addresses are classified as their IPv4 form.</summary>
        public static AddressScope Classify(IPAddress address)
        {
            if (address == null) return AddressScope.Unspecified;
            if (address.AddressFamily == AddressFamily.InterNetwork) return ClassifyIPv4(IPv4Value(address));
            if (address.AddressFamily != AddressFamily.InterNetworkV6) return AddressScope.Reserved;
            byte[] b = address.GetAddressBytes();
            if (IsMappedIPv4(b) || IsNat64(b))
                return ClassifyIPv4(((uint)b[12] << 24) | ((uint)b[13] << 16) | ((uint)b[14] << 8) | b[15]);
            return ClassifyIPv6(b);
        }

        /// <summary>The address in host order (a.b.c.d → a&lt;&lt;24 | …).</summary>
        internal static uint IPv4Value(IPAddress v4)
        {
#pragma warning disable 618 // Address is the one allocation-free accessor netstandard2.0 has; network order in the low 32 bits.
            uint n = (uint)v4.Address;
#pragma warning restore 618
            return (n >> 24) | ((n >> 8) & 0xFF00) | ((n << 8) & 0xFF0000) | (n << 24);
        }

        internal static AddressScope ClassifyIPv4(uint a)
        {
            if (a == 0) return AddressScope.Unspecified;
            if (a == 0xFFFFFFFF) return AddressScope.Broadcast;
            switch (a >> 24)
            {
                case 0: return AddressScope.Reserved;        // "this network" 0.0.0.0/8
                case 10: return AddressScope.Private;
                case 127: return AddressScope.Loopback;
            }
            if ((a & 0xFFC00000) == 0x64400000) return AddressScope.Private;       // 100.64.0.0/10 CGNAT
            if ((a & 0xFFFF0000) == 0xA9FE0000) return AddressScope.LinkLocal;     // 169.254.0.0/16
            if ((a & 0xFFF00000) == 0xAC100000) return AddressScope.Private;       // 172.16.0.0/12
            if ((a & 0xFFFF0000) == 0xC0A80000) return AddressScope.Private;       // 192.168.0.0/16
            if ((a & 0xFFFFFF00) == 0xC0000200) return AddressScope.Documentation; // 192.0.2.0/24 TEST-NET-1
            if ((a & 0xFFFFFF00) == 0xC6336400) return AddressScope.Documentation; // 198.51.100.0/24 TEST-NET-2
            if ((a & 0xFFFFFF00) == 0xCB007100) return AddressScope.Documentation; // 203.0.113.0/24 TEST-NET-3
            if ((a & 0xFFFFFF00) == 0xC0000000) return AddressScope.Reserved;      // 192.0.0.0/24 IETF assignments
            if ((a & 0xFFFE0000) == 0xC6120000) return AddressScope.Reserved;      // 198.18.0.0/15 benchmarking
            if ((a & 0xF0000000) == 0xE0000000) return AddressScope.Multicast;     // 224.0.0.0/4
            if ((a & 0xF0000000) == 0xF0000000) return AddressScope.Reserved;      // 240.0.0.0/4
            return AddressScope.Public;
        }

        private static AddressScope ClassifyIPv6(byte[] b)
        {
            bool zeroTo14 = true;
            for (int i = 0; i < 15; i++) if (b[i] != 0) { zeroTo14 = false; break; }
            if (zeroTo14 && b[15] == 0) return AddressScope.Unspecified;
            if (zeroTo14 && b[15] == 1) return AddressScope.Loopback;
            if (b[0] == 0xFF) return AddressScope.Multicast;
            if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return AddressScope.LinkLocal;   // fe80::/10
            if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) return AddressScope.Private;     // fec0::/10 (deprecated site-local)
            if ((b[0] & 0xFE) == 0xFC) return AddressScope.Private;                     // fc00::/7 ULA
            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return AddressScope.Documentation; // 2001:db8::/32
            if (b[0] == 0x3F && b[1] == 0xFF && (b[2] & 0xF0) == 0) return AddressScope.Documentation;           // 3fff::/20
            if ((b[0] & 0xE0) == 0x20) return AddressScope.Public;                       // 2000::/3 global unicast
            return AddressScope.Reserved;
        }

        private static bool IsMappedIPv4(byte[] b)
        {
            for (int i = 0; i < 10; i++) if (b[i] != 0) return false;
            return b[10] == 0xFF && b[11] == 0xFF;
        }

        private static bool IsNat64(byte[] b) // 64:ff9b::/96, the well-known NAT64 prefix
        {
            if (b[0] != 0 || b[1] != 0x64 || b[2] != 0xFF || b[3] != 0x9B) return false;
            for (int i = 4; i < 12; i++) if (b[i] != 0) return false;
            return true;
        }
    }
}
