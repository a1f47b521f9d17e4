using System;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ConnectionsMonitor.Engine.Blocking
{
    /// <summary>
    /// What a block applies to: one IP address or one CIDR block, IPv4 or IPv6, in canonical form. Parsing
    /// accepts "203.0.113.7", "2001:db8::1", "[2001:db8::1]", "198.51.100.0/24" and "2001:db8::/32"; an
    /// IPv4-mapped IPv6 address (::ffff:203.0.113.7) is taken as the IPv4 address it maps; host bits below a
    /// prefix are cleared ("198.51.100.9/24" becomes "198.51.100.0/24", <see cref="HostBitsCleared"/> tells);
    /// a /32 (IPv4) or /128 (IPv6) block is the single address. Refused: zones ("fe80::1%eth0": firewalls
    /// match addresses, not interfaces), the unspecified address (0.0.0.0, ::) on its own, wildcards and
    /// host names. <see cref="Text"/> is the canonical text (lower-case IPv6, compressed zeros), the form
    /// the firewall shows and the key a block is found by.
    /// </summary>
    public sealed class BlockTarget : IEquatable<BlockTarget>
    {
        private readonly byte[] _network;

        private BlockTarget(byte[] network, int prefixLength, bool hostBitsCleared)
        {
            _network = network;
            PrefixLength = prefixLength;
            HostBitsCleared = hostBitsCleared;
            var address = new IPAddress(network);
            Address = address;
            Text = IsSingleAddress ? address.ToString() : address + "/" + prefixLength.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>The accepted forms, for messages.</summary>
        public const string ExpectedForms = "an IP address (203.0.113.7, 2001:db8::7) or a CIDR block (198.51.100.0/24, 2001:db8::/32)";

        /// <summary>The address, or the first address of the block.</summary>
        public IPAddress Address { get; }

        /// <summary>The prefix length: 32 or 128 for a single address.</summary>
        public int PrefixLength { get; }

        /// <summary>InterNetwork or InterNetworkV6.</summary>
        public AddressFamily Family => Address.AddressFamily;

        /// <summary>True for IPv6 targets.</summary>
        public bool IsIPv6 => Family == AddressFamily.InterNetworkV6;

        /// <summary>True when the target is one address (prefix 32 or 128).</summary>
        public bool IsSingleAddress => PrefixLength == _network.Length * 8;

        /// <summary>True when the text given had host bits set below the prefix, which were cleared.</summary>
        public bool HostBitsCleared { get; }

        /// <summary>The canonical text: "203.0.113.7", "198.51.100.0/24", "2001:db8::/32".</summary>
        public string Text { get; }

        /// <summary>Parses a target; false with a message saying what is wrong and what is expected.</summary>
        public static bool TryParse(string text, out BlockTarget target, out string error)
        {
            target = null;
            error = null;
            if (string.IsNullOrWhiteSpace(text))
            {
                error = "The address is empty; expected " + ExpectedForms + ".";
                return false;
            }
            string t = text.Trim();
            string prefixPart = null;
            int slash = t.IndexOf('/');
            if (slash >= 0)
            {
                prefixPart = t.Substring(slash + 1);
                t = t.Substring(0, slash);
            }
            if (t.Length > 2 && t[0] == '[' && t[t.Length - 1] == ']') t = t.Substring(1, t.Length - 2);
            if (t.IndexOf('%') >= 0)
            {
                error = "'" + text.Trim() + "' has a zone (%...); a block applies to an address on every interface, so give the address without the zone.";
                return false;
            }
            // IPAddress.TryParse also takes "1" or "1.2" (inet_aton forms) and whitespace: only the written forms count.
            if (!LooksLikeAddress(t) || !IPAddress.TryParse(t, out var address))
            {
                error = "'" + text.Trim() + "' is not " + (prefixPart != null ? "a valid CIDR block: '" + t + "' is not an IP address" : "an IP address or CIDR block") + ". Expected " + ExpectedForms + ".";
                return false;
            }
            bool mapped = address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6;
            if (mapped) address = address.MapToIPv4();
            byte[] bytes = address.GetAddressBytes();
            int bits = bytes.Length * 8;
            int prefix = bits;
            if (prefixPart != null)
            {
                int max = mapped ? 128 : bits;
                if (!int.TryParse(prefixPart, NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > max || prefixPart.Length > 3)
                {
                    error = "'" + text.Trim() + "' is not a valid CIDR block: the prefix length must be a whole number from 0 to " + max + ".";
                    return false;
                }
                if (mapped)
                {
                    if (prefix < 96)
                    {
                        error = "'" + text.Trim() + "' is not a usable CIDR block: an IPv4-mapped block needs a prefix length from 96 to 128 (or write it in IPv4 form).";
                        return false;
                    }
                    prefix -= 96;
                }
            }
            bool cleared = Mask(bytes, prefix);
            if (prefix == bits && IsZero(bytes))
            {
                error = "'" + text.Trim() + "' is the unspecified address, which no remote end has. Expected " + ExpectedForms + ".";
                return false;
            }
            target = new BlockTarget(bytes, prefix, cleared);
            return true;
        }

        /// <summary>Parses a target.</summary>
        /// <exception cref="FormatException">Not an address or CIDR block; the message says what is expected.</exception>
        public static BlockTarget Parse(string text)
        {
            if (!TryParse(text, out var target, out var error)) throw new FormatException(error);
            return target;
        }

        /// <summary>The target of one address (IPv4-mapped IPv6 addresses become IPv4; a scope id is dropped).</summary>
        public static BlockTarget FromAddress(IPAddress address)
        {
            if (address == null) throw new ArgumentNullException(nameof(address));
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
            byte[] bytes = address.GetAddressBytes();
            return new BlockTarget(bytes, bytes.Length * 8, false);
        }

        /// <summary>Whether <paramref name="address"/> lies in this target (IPv4-mapped IPv6 addresses compare as IPv4; scope ids are ignored).</summary>
        public bool Contains(IPAddress address)
        {
            if (address == null) return false;
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
            if (address.AddressFamily != Family) return false;
            return PrefixEqual(_network, address.GetAddressBytes(), PrefixLength);
        }

        /// <summary>Whether the two targets share at least one address (one lies in the other).</summary>
        public bool Overlaps(BlockTarget other)
        {
            if (other == null || other.Family != Family) return false;
            return PrefixEqual(_network, other._network, Math.Min(PrefixLength, other.PrefixLength));
        }

        public bool Equals(BlockTarget other) => other != null && other.Text == Text;

        public override bool Equals(object obj) => Equals(obj as BlockTarget);

        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

        public override string ToString() => Text;

        private static bool LooksLikeAddress(string t)
        {
            if (t.Length == 0) return false;
            if (t.IndexOf(':') >= 0) return true;
            int dots = 0;
            foreach (char c in t)
            {
                if (c == '.') dots++;
                else if (c < '0' || c > '9') return false;
            }
            return dots == 3;
        }

        private static bool Mask(byte[] bytes, int prefix)
        {
            bool changed = false;
            for (int i = 0; i < bytes.Length; i++)
            {
                int keep = Math.Max(0, Math.Min(8, prefix - i * 8));
                byte mask = (byte)(keep == 0 ? 0 : 0xFF << (8 - keep));
                if ((bytes[i] & ~mask & 0xFF) != 0) changed = true;
                bytes[i] &= mask;
            }
            return changed;
        }

        private static bool IsZero(byte[] bytes)
        {
            foreach (byte b in bytes) if (b != 0) return false;
            return true;
        }

        private static bool PrefixEqual(byte[] a, byte[] b, int prefix)
        {
            for (int i = 0; i < a.Length && prefix > 0; i++, prefix -= 8)
            {
                int keep = Math.Min(8, prefix);
                byte mask = (byte)(0xFF << (8 - keep));
                if ((a[i] & mask) != (b[i] & mask)) return false;
            }
            return true;
        }
    }
}
