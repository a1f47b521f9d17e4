using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Reads the default routes' gateways from the kernel's route listings (text of the calling process's network
    /// namespace). /proc/net/route: a header line, then tab-separated "Iface Destination Gateway Flags RefCnt Use
    /// Metric Mask ..." with addresses as 8 hex digits of the 32-bit value in host byte order; a default route has
    /// Destination and Mask 00000000, the flag RTF_GATEWAY (0x2) and a non-zero Gateway. /proc/net/ipv6_route: no
    /// header, space-separated "dest(32 hex, network order) dest_prefix(2 hex) src src_prefix next_hop metric refcnt
    /// use flags iface"; a default route has dest all zeros, prefix 00 and a non-zero next hop.
    /// </summary>
    public static class ProcNetRoute
    {
        private const int RtfGateway = 0x2;

        /// <summary>The IPv4 default gateways in /proc/net/route text, each once, in file order. Lines that do not parse are skipped.</summary>
        public static List<IPAddress> DefaultGateways4(string text)
        {
            var list = new List<IPAddress>();
            foreach (var line in Lines(text))
            {
                var f = line.Split(new[] { '\t', ' ' }, StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 8 || f[1].Length != 8) continue;
                if (!uint.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint dest) ||
                    !uint.TryParse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint gw) ||
                    !int.TryParse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int flags) ||
                    !uint.TryParse(f[7], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint mask)) continue;
                if (dest != 0 || mask != 0 || gw == 0 || (flags & RtfGateway) == 0) continue;
                byte[] b = BitConverter.GetBytes(gw); // the kernel printed the value in host order; these are its bytes in memory order = network order
                if (!BitConverter.IsLittleEndian) Array.Reverse(b);
                var a = new IPAddress(b);
                if (!list.Contains(a)) list.Add(a);
            }
            return list;
        }

        /// <summary>The IPv6 default gateways in /proc/net/ipv6_route text, each once, in file order. Lines that do not parse are skipped.</summary>
        public static List<IPAddress> DefaultGateways6(string text)
        {
            var list = new List<IPAddress>();
            foreach (var line in Lines(text))
            {
                var f = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 10 || f[0].Length != 32 || f[4].Length != 32) continue;
                if (f[0] != new string('0', 32) || f[1] != "00") continue;
                byte[] hop = Hex16(f[4]);
                if (hop == null || Array.TrueForAll(hop, x => x == 0)) continue;
                var a = new IPAddress(hop);
                if (!list.Contains(a)) list.Add(a);
            }
            return list;
        }

        private static IEnumerable<string> Lines(string text) => (text ?? "").Split('\n');

        private static byte[] Hex16(string hex)
        {
            var b = new byte[16];
            for (int i = 0; i < 16; i++)
                if (!byte.TryParse(hex.Substring(i * 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out b[i])) return null;
            return b;
        }
    }
}
