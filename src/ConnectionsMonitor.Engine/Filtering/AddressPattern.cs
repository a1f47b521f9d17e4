using System;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ConnectionsMonitor.Engine.Filtering
{
    /// <summary>
    /// Matches an IP address against a single address (10.1.2.3, ::1), a CIDR block (10.0.0.0/8,
    /// 2001:db8::/32) or a wildcard over the canonical text form (192.168.*). IPv4-mapped IPv6
    /// addresses (::ffff:10.0.0.1) match IPv4 patterns.
    /// </summary>
    public sealed class AddressPattern
    {
        private readonly byte[] _network;
        private readonly int _prefixLength;
        private readonly AddressFamily _family;
        private readonly Wildcard _wildcard;

        private AddressPattern(string text, byte[] network, int prefixLength, AddressFamily family, Wildcard wildcard)
        {
            Text = text;
            _network = network;
            _prefixLength = prefixLength;
            _family = family;
            _wildcard = wildcard;
        }

        public string Text { get; }

        public const string ExpectedForms = "an IP address (10.1.2.3, ::1), a CIDR block (10.0.0.0/8, fd00::/8) or a wildcard (192.168.*)";

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

            int slash = text.IndexOf('/');
            if (slash >= 0)
            {
                string addressPart = text.Substring(0, slash);
                string prefixPart = text.Substring(slash + 1);
                if (!IPAddress.TryParse(addressPart, out var address) || !LooksLikeAddress(addressPart))
                {
                    error = "'" + text + "' is not a valid CIDR block: '" + addressPart + "' is not an IP address. Expected " + ExpectedForms + ".";
                    return false;
                }
                address = Normalize(address);
                int maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
                if (!int.TryParse(prefixPart, NumberStyles.None, CultureInfo.InvariantCulture, out int prefix) || prefix > maxPrefix)
                {
                    error = "'" + text + "' is not a valid CIDR block: the prefix length must be a whole number from 0 to " + maxPrefix + ".";
                    return false;
                }
                byte[] bytes = address.GetAddressBytes();
                Mask(bytes, prefix);
                pattern = new AddressPattern(text, bytes, prefix, address.AddressFamily, null);
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
                    pattern = new AddressPattern(text, null, 0, AddressFamily.Unspecified, new Wildcard(text));
                    return true;
                }
                catch (ArgumentException ex)
                {
                    error = ex.Message;
                    return false;
                }
            }

            if (!IPAddress.TryParse(text, out var single) || !LooksLikeAddress(text))
            {
                error = "'" + text + "' is not an IP address. Expected " + ExpectedForms + ".";
                return false;
            }
            single = Normalize(single);
            byte[] singleBytes = single.GetAddressBytes();
            pattern = new AddressPattern(text, singleBytes, singleBytes.Length * 8, single.AddressFamily, null);
            return true;
        }

        public static AddressPattern Parse(string text)
        {
            if (!TryParse(text, out var pattern, out var error)) throw new FormatException(error);
            return pattern;
        }

        public bool IsMatch(IPAddress address)
        {
            if (address == null) return false;
            address = Normalize(address);
            if (_wildcard != null) return _wildcard.IsMatch(FormatAddress(address));
            if (address.AddressFamily != _family) return false;
            byte[] bytes = address.GetAddressBytes();
            int full = _prefixLength / 8;
            for (int i = 0; i < full; i++)
                if (bytes[i] != _network[i]) return false;
            int rest = _prefixLength % 8;
            if (rest == 0) return true;
            int mask = 0xFF << (8 - rest) & 0xFF;
            return (bytes[full] & mask) == _network[full];
        }

        /// <summary>
        /// The canonical text form used everywhere an address becomes a string: RFC 5952 for IPv6,
        /// without a scope id; an IPv4-mapped address keeps its mapped form, as the kernel reports it.
        /// </summary>
        public static string FormatAddress(IPAddress address)
        {
            if (address == null) return null;
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
                address = new IPAddress(address.GetAddressBytes());
            return address.ToString();
        }

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
