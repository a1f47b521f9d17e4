using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ConnectionsMonitor.Engine.Enrichment.Dns
{
    /// <summary>
    /// Turns a PTR answer (untrusted bytes from the network) into text that is safe to print anywhere.
    /// Policy: escape, not drop. Every octet of a label that is not an ASCII letter, digit, '-' or '_' is written as
    /// RFC 1035 §5.1 "\DDD" (three decimal digits, as dig prints it), so the result contains only
    /// <c>A-Z a-z 0-9 - _ . \</c>: no control characters, no terminal escape sequences, no spaces, no HTML
    /// metacharacters, and a hostile name stays recognisable as hostile. IDN names stay in their ASCII (xn--) form.
    /// The root's trailing dot is removed. Names that cannot be a domain name at all (empty, an empty label,
    /// a label over 63 octets, over 255 octets in all) give null.
    /// This is a DNS rule applied where names enter the module, stricter than the display rules: its output
    /// passes <see cref="ConnectionsMonitor.Engine.Display.UntrustedText"/> unchanged, and everything shown
    /// still goes through UntrustedText (one place for what may reach a terminal, a page or a chat).
    /// </summary>
    internal static class HostNameSanitizer
    {
        private const int MaxLabelOctets = 63;
        private const int MaxNameOctets = 255;

        /// <summary>
        /// A name in DNS presentation format (DnsClient's <c>DnsString.Value</c>: "\DDD" for octets outside printable
        /// ASCII, "\X" for a literal X, "." between labels) made safe; null when it is not a usable name.
        /// </summary>
        public static string FromPresentation(string presentation)
        {
            if (presentation == null) return null;
            var labels = new List<List<byte>>();
            var current = new List<byte>();
            for (int i = 0; i < presentation.Length; i++)
            {
                char c = presentation[i];
                if (c == '\\' && i + 1 < presentation.Length)
                {
                    if (i + 3 < presentation.Length && IsDigit(presentation[i + 1]) && IsDigit(presentation[i + 2]) && IsDigit(presentation[i + 3]))
                    {
                        int value = (presentation[i + 1] - '0') * 100 + (presentation[i + 2] - '0') * 10 + (presentation[i + 3] - '0');
                        if (value > 255) return null;
                        current.Add((byte)value);
                        i += 3;
                    }
                    else
                    {
                        AddChar(current, presentation[++i]);
                    }
                }
                else if (c == '.')
                {
                    labels.Add(current);
                    current = new List<byte>();
                }
                else
                {
                    AddChar(current, c);
                }
            }
            labels.Add(current);
            return Encode(labels);
        }

        /// <summary>A name from the operating system's resolver (plain text, labels separated by '.') made safe; null when it is not a usable name.</summary>
        public static string FromText(string name)
        {
            if (name == null) return null;
            var labels = new List<List<byte>>();
            foreach (var label in name.Split('.')) labels.Add(new List<byte>(Encoding.UTF8.GetBytes(label)));
            return Encode(labels);
        }

        private static void AddChar(List<byte> label, char c)
        {
            // Presentation text from DnsClient is ASCII; anything wider is encoded rather than truncated.
            if (c < 0x80) label.Add((byte)c);
            else label.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }

        private static string Encode(List<List<byte>> labels)
        {
            // A trailing dot (the root) ends the name; it is not an empty label.
            if (labels.Count > 1 && labels[labels.Count - 1].Count == 0) labels.RemoveAt(labels.Count - 1);
            int octets = 1;
            foreach (var label in labels)
            {
                if (label.Count == 0 || label.Count > MaxLabelOctets) return null;
                octets += label.Count + 1;
            }
            if (octets > MaxNameOctets) return null;

            var text = new StringBuilder(octets + 8);
            for (int l = 0; l < labels.Count; l++)
            {
                if (l > 0) text.Append('.');
                foreach (byte b in labels[l])
                {
                    if (IsHostNameOctet(b)) text.Append((char)b);
                    else text.Append('\\').Append(b.ToString("000", CultureInfo.InvariantCulture));
                }
            }
            return text.ToString();
        }

        private static bool IsHostNameOctet(byte b) =>
            (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-' || b == '_';

        private static bool IsDigit(char c) => c >= '0' && c <= '9';
    }
}
