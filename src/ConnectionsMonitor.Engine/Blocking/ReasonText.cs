using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ConnectionsMonitor.Engine.Blocking
{
    /// <summary>
    /// How a block's reason is stored inside firewall text (an nftables element comment, a Windows Firewall rule
    /// description): printable ASCII other than % " \ | is kept, every other byte of the reason's UTF-8 form is written
    /// %XX (upper-case hex). So a reason cannot end a quoted string, start another statement, carry a character the
    /// firewall forbids (Windows refuses '|') or put a control character on an administrator's terminal, and it
    /// reads back exactly.
    /// </summary>
    public static class ReasonText
    {
        /// <summary>The stored form of <paramref name="reason"/>.</summary>
        public static string Encode(string reason)
        {
            var sb = new StringBuilder(reason.Length);
            foreach (byte b in new UTF8Encoding(false, false).GetBytes(reason))
            {
                if (b >= 0x20 && b < 0x7F && b != (byte)'%' && b != (byte)'"' && b != (byte)'\\' && b != (byte)'|') sb.Append((char)b);
                else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            return sb.ToString();
        }

        /// <summary>The reason a stored form holds; null when the text is not well-formed (a bad escape, a raw control or non-ASCII character, bytes that are not UTF-8).</summary>
        public static string Decode(string encoded)
        {
            if (encoded == null) return null;
            var bytes = new List<byte>(encoded.Length);
            for (int i = 0; i < encoded.Length; i++)
            {
                char c = encoded[i];
                if (c == '%')
                {
                    if (i + 2 >= encoded.Length) return null;
                    if (!byte.TryParse(encoded.Substring(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b)) return null;
                    bytes.Add(b);
                    i += 2;
                }
                else if (c >= 0x20 && c < 0x7F) bytes.Add((byte)c);
                else return null;
            }
            try { return new UTF8Encoding(false, true).GetString(bytes.ToArray()); }
            catch (System.ArgumentException) { return null; }
        }
    }
}
