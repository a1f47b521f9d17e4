using System;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ConnectionsMonitor.Engine.Filtering
{
    /// <summary>
    /// Matches an IP address against a single address (10.1.2.3, ::1), a CIDR block (10.0.0.0/8,
    /// 2001:db8::/32) or a wildcard over the canonical text form (192.168.*). IPv4-mapped IPv6
    /// addresses (::ffff:10.0.0.1) match IPv4 patterns. An IPv6 address or block may carry a zone
    /// (RFC 4007: fe80::1%eth1, fe80::%eth1/64, or the interface index: fe80::1%3): then only
    /// addresses with that zone match; a pattern without a zone matches an address in any zone.
    /// </summary>
    public sealed class AddressPattern
    {
        private readonly byte[] _network;
        private readonly int _prefixLength;
        private readonly AddressFamily _family;
        private readonly Wildcard _wildcard;
        private readonly string _zone;      // as written after '%', null when none
        private readonly uint? _zoneIndex;  // the zone when it is a number

        private AddressPattern(string text, byte[] network, int prefixLength, AddressFamily family, Wildcard wildcard, string zone)
        {
            Text = text;
            _network = network;
            _prefixLength = prefixLength;
            _family = family;
            _wildcard = wildcard;
            _zone = zone;
            if (zone != null && uint.TryParse(zone, NumberStyles.None, CultureInfo.InvariantCulture, out uint index)) _zoneIndex = index;
        }

        /// <summary>The pattern as the user wrote it (trimmed).</summary>
        public string Text { get; }

        /// <summary>The zone the pattern demands (interface name or index, without '%'); null when any zone matches.</summary>
        public string Zone => _zone;

        /// <summary>The accepted forms, for error messages.</summary>
        public const string ExpectedForms = "an IP address (10.1.2.3, ::1, fe80::1%eth0), a CIDR block (10.0.0.0/8, fd00::/8) or a wildcard (192.168.*)";

        /// <summary>Parses a pattern, or returns false with a message that says what is wrong and what is expected.</summary>
        public static bool TryParse(string text, out AddressPattern pattern, out string error)
        {
            pattern = null;
            error = null;
            if (string.IsNullOrWhiteSpace(text))
            {
                error = "The address pattern is empty; expected " + ExpectedForms + ".";
                return false;
            }
            text = text.Trim();
            text = WithoutBrackets(text);

            int slash = text.IndexOf('/');
            if (slash >= 0)
            {
                string addressPart = text.Substring(0, slash);
                string prefixPart = text.Substring(slash + 1);
                if (!SplitZone(text, ref addressPart, out string blockZone, out error)) return false;
                if (!IPAddress.TryParse(addressPart, out var address) || !LooksLikeAddress(addressPart))
                {
                    error = "'" + text + "' is not a valid CIDR block: '" + addressPart + "' is not an IP address. Expected " + ExpectedForms + ".";
                    return false;
                }
                // An IPv4-mapped block (::ffff:10.0.0.0/104) is written over 128 bits; it matches as the
                // IPv4 block it maps (10.0.0.0/8), since addresses are compared in their IPv4 form.
                bool mapped = address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6;
                address = Normalize(address);
                if (!ZoneFits(text, address, blockZone, out error)) return false;
                int maxPrefix = address.AddressFamily == AddressFamily.InterNetwork && !mapped ? 32 : 128;
                if (!int.TryParse(prefixPart, NumberStyles.None, CultureInfo.InvariantCulture, out int prefix) || prefix > maxPrefix)
                {
                    error = "'" + text + "' is not a valid CIDR block: the prefix length must be a whole number from 0 to " + maxPrefix + ".";
                    return false;
                }
                if (mapped)
                {
                    if (prefix < 96)
                    {
                        error = "'" + text + "' is not a usable CIDR block: an IPv4-mapped block needs a prefix length from 96 to 128 (or write it in IPv4 form, e.g. 10.0.0.0/8).";
                        return false;
                    }
                    prefix -= 96;
                }
                byte[] bytes = address.GetAddressBytes();
                Mask(bytes, prefix);
                pattern = new AddressPattern(text, bytes, prefix, address.AddressFamily, null, blockZone);
                return true;
            }

            if (Wildcard.ContainsWildcard(text))
            {
                foreach (char c in text)
                {
                    bool ok = char.IsLetterOrDigit(c) || c == '.' || c == ':' || c == '*' || c == '?' || c == '[' || c == ']' || c == '-' || c == '%';
                    if (!ok)
                    {
                        error = "'" + text + "' is not a valid address wildcard: '" + c + "' cannot appear in an IP address. Expected " + ExpectedForms + ".";
                        return false;
                    }
                }
                try
                {
                    pattern = new AddressPattern(text, null, 0, AddressFamily.Unspecified, new Wildcard(text), null);
                    return true;
                }
                catch (ArgumentException ex)
                {
                    error = ex.Message;
                    return false;
                }
            }

            string singlePart = text;
            if (!SplitZone(text, ref singlePart, out string zone, out error)) return false;
            if (!IPAddress.TryParse(singlePart, out var single) || !LooksLikeAddress(singlePart))
            {
                error = "'" + text + "' is not an IP address. Expected " + ExpectedForms + ".";
                return false;
            }
            single = Normalize(single);
            if (!ZoneFits(text, single, zone, out error)) return false;
            byte[] singleBytes = single.GetAddressBytes();
            pattern = new AddressPattern(text, singleBytes, singleBytes.Length * 8, single.AddressFamily, null, zone);
            return true;
        }

        /// <summary>
        /// "[::1]" and "[fe80::1%eth0]/64" (the bracketed form of URLs and of "[addr]:port") as the
        /// address inside; a wildcard's character class ("10.0.0.[1-5]") is left alone.
        /// </summary>
        private static string WithoutBrackets(string text)
        {
            if (text.Length < 3 || text[0] != '[') return text;
            int slash = text.IndexOf('/');
            string head = slash < 0 ? text : text.Substring(0, slash);
            if (head[head.Length - 1] != ']') return text;
            string inside = head.Substring(1, head.Length - 2);
            int percent = inside.IndexOf('%');
            string bare = percent < 0 ? inside : inside.Substring(0, percent);
            // An IPv6 literal, or an IPv4 one written the same way ([127.0.0.1]): as a wildcard it was a character class
            // that matched nothing, silently (a newcomer's trial).
            if (!IPAddress.TryParse(bare, out _) || (bare.IndexOf(':') < 0 && !LooksLikeAddress(bare))) return text;
            return slash < 0 ? inside : inside + text.Substring(slash);
        }

        /// <summary>Cuts "%zone" off an address; false with a message when the zone is empty or malformed.</summary>
        private static bool SplitZone(string text, ref string address, out string zone, out string error)
        {
            zone = null;
            error = null;
            int percent = address.IndexOf('%');
            if (percent < 0) return true;
            zone = address.Substring(percent + 1);
            address = address.Substring(0, percent);
            foreach (char c in zone)
            {
                if (char.IsWhiteSpace(c) || char.IsControl(c) || c == '%' || c == '/')
                {
                    error = "'" + text + "' has an invalid zone '" + zone + "': a zone is an interface name or index, as in fe80::1%eth0 or fe80::1%2.";
                    return false;
                }
            }
            if (zone.Length == 0)
            {
                error = "'" + text + "' has an empty zone after '%': write an interface name or index (fe80::1%eth0, fe80::1%2), or leave the '%' out to match any zone.";
                return false;
            }
            return true;
        }

        /// <summary>Zones belong to IPv6 addresses (link-local ones, in practice).</summary>
        private static bool ZoneFits(string text, IPAddress address, string zone, out string error)
        {
            error = null;
            if (zone == null || address.AddressFamily == AddressFamily.InterNetworkV6) return true;
            error = "'" + text + "' gives a zone to an IPv4 address; zones (%eth0) apply to IPv6 addresses only.";
            return false;
        }

        /// <summary>Parses a pattern (see <see cref="TryParse"/> for the forms).</summary>
        /// <exception cref="FormatException">The text is not a pattern; the message says what is wrong and what is expected.</exception>
        public static AddressPattern Parse(string text)
        {
            if (!TryParse(text, out var pattern, out var error)) throw new FormatException(error);
            return pattern;
        }

        /// <summary>
        /// Whether <paramref name="address"/> lies in the pattern. Zones: a pattern with a zone matches
        /// only addresses whose scope id is that interface (by index, or by the name the interface
        /// has now); a pattern without one ignores the address's scope id. Wildcards match the text of
        /// <see cref="FormatAddress"/>, zone included.
        /// </summary>
        public bool IsMatch(IPAddress address)
        {
            if (address == null) return false;
            var given = address;
            address = Normalize(address);
            // An IPv4-mapped address matches a wildcard in its IPv4 form (8.8.*) or as shown (::ffff:8.8.*).
            if (_wildcard != null) return _wildcard.IsMatch(FormatAddress(address)) || (!ReferenceEquals(given, address) && _wildcard.IsMatch(FormatAddress(given)));
            if (address.AddressFamily != _family) return false;
            if (_zone != null && !ZoneMatches(address)) return false;
            byte[] bytes = address.GetAddressBytes();
            int full = _prefixLength / 8;
            for (int i = 0; i < full; i++)
                if (bytes[i] != _network[i]) return false;
            int rest = _prefixLength % 8;
            if (rest == 0) return true;
            int mask = 0xFF << (8 - rest) & 0xFF;
            return (bytes[full] & mask) == _network[full];
        }

        private bool ZoneMatches(IPAddress address)
        {
            long scope = address.ScopeId;
            if (scope == 0) return false;
            if (_zoneIndex != null) return scope == _zoneIndex.Value;
            return string.Equals(ZoneText((uint)scope), _zone, StringComparison.Ordinal);
        }

        /// <summary>
        /// The canonical text form used everywhere an address becomes a string: RFC 5952 for IPv6; an
        /// IPv4-mapped address keeps its mapped form, as the kernel reports it. An IPv6 address with a
        /// scope id (link-local ones) keeps it as "%zone": on Linux the interface's name as ss prints
        /// it (fe80::c%eth1), or the index when no interface has it now; elsewhere the index
        /// (fe80::c%12), as netstat prints it.
        /// </summary>
        /// <returns>null for a null address.</returns>
        public static string FormatAddress(IPAddress address)
        {
            if (address == null) return null;
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
            {
                uint scope = (uint)address.ScopeId;
                return new IPAddress(address.GetAddressBytes()).ToString() + "%" + ZoneText(scope);
            }
            return address.ToString();
        }

        /// <summary>The zone text of a scope id: the interface name on Linux when one has that index, else the number.</summary>
        private static string ZoneText(uint scopeId)
        {
            if (IsLinux)
            {
                string name = Platform.Linux.InterfaceNames.NameOf(scopeId);
                if (name != null) return name;
            }
            return scopeId.ToString(CultureInfo.InvariantCulture);
        }

        private static readonly bool IsLinux = System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux);

        /// <summary>IPv4-mapped IPv6 addresses become their IPv4 form; everything else is returned as is.</summary>
        public static IPAddress Normalize(IPAddress address)
        {
            if (address != null && address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6)
                return address.MapToIPv4();
            return address;
        }

        private static bool LooksLikeAddress(string text)
        {
            // IPAddress.TryParse accepts "1" or "1.2" as IPv4 shorthand; a filter of "10" is far more
            // likely a mistake than a request for 0.0.0.10.
            if (text.IndexOf(':') >= 0) return true;
            return text.Split('.').Length == 4;
        }

        private static void Mask(byte[] bytes, int prefix)
        {
            for (int i = 0; i < bytes.Length; i++)
            {
                int bitsHere = Math.Max(0, Math.Min(8, prefix - i * 8));
                bytes[i] = (byte)(bytes[i] & (0xFF << (8 - bitsHere) & 0xFF));
            }
        }

        public override string ToString() => Text;
    }
}
