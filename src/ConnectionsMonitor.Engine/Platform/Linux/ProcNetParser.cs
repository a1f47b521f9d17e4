using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Parses /proc/net/{tcp,tcp6,udp,udp6}: the fallback when netlink sock_diag is unavailable.
    /// Text only, no file access, so tests feed it literal tables.
    /// </summary>
    /// <remarks>
    /// Each address is printed as 32-bit words with %08X of the word as it lies in memory (host order;
    /// little-endian here), so "0100007F" is 127.0.0.1 and IPv6 is four such words. Ports are %04X of
    /// the host-order port number, i.e. plain big-endian hex. The file has no interface index, so
    /// link-local addresses come without a scope id on this path.
    /// </remarks>
    internal static class ProcNetParser
    {
        /// <summary>Appends the rows of one /proc/net table. <paramref name="family"/> is AF_INET (tcp, udp) or AF_INET6 (tcp6, udp6).</summary>
        internal static void Parse(string text, bool tcp, byte family, List<SocketEntry> rows)
        {
            int addressBytes = family == LinuxSocketRow.AF_INET6 ? 16 : 4;
            Span<byte> local = stackalloc byte[16];
            Span<byte> remote = stackalloc byte[16];
            int lineNumber = 0;
            int pos = 0;
            while (pos < text.Length)
            {
                int end = text.IndexOf('\n', pos);
                if (end < 0) end = text.Length;
                var line = text.AsSpan(pos, end - pos);
                pos = end + 1;
                lineNumber++;
                if (lineNumber == 1 || line.Trim().IsEmpty) continue; // header: "  sl  local_address rem_address ..."

                // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
                var rest = line;
                NextField(ref rest); // "0:"
                var localField = NextField(ref rest);
                var remoteField = NextField(ref rest);
                var stateField = NextField(ref rest);
                NextField(ref rest); NextField(ref rest); NextField(ref rest);
                var uidField = NextField(ref rest);
                NextField(ref rest);
                var inodeField = NextField(ref rest);
                if (inodeField.IsEmpty)
                    throw Malformed(lineNumber, "it has fewer than 10 fields");

                int localPort = ParseEndpoint(localField, addressBytes, local, lineNumber);
                int remotePort = ParseEndpoint(remoteField, addressBytes, remote, lineNumber);
                int state = (int)ParseHex(stateField, lineNumber);
                uint uid = (uint)ParseDecimal(uidField, lineNumber);
                ulong inode = ParseDecimal(inodeField, lineNumber);
                rows.Add(LinuxSocketRow.Create(tcp, family, state, local.Slice(0, addressBytes), localPort,
                    remote.Slice(0, addressBytes), remotePort, 0, uid, inode));
            }
        }

        private static ReadOnlySpan<char> NextField(ref ReadOnlySpan<char> rest)
        {
            rest = rest.TrimStart();
            int i = 0;
            while (i < rest.Length && !char.IsWhiteSpace(rest[i])) i++;
            var field = rest.Slice(0, i);
            rest = rest.Slice(i);
            return field;
        }

        /// <summary>"0100007F:1F90" → address bytes in network order and the port.</summary>
        private static int ParseEndpoint(ReadOnlySpan<char> field, int addressBytes, Span<byte> address, int lineNumber)
        {
            int colon = field.IndexOf(':');
            if (colon != addressBytes * 2 || field.Length - colon - 1 != 4)
                throw Malformed(lineNumber, "'" + field.ToString() + "' is not an ADDRESS:PORT pair of " + addressBytes + " bytes");
            for (int word = 0; word < addressBytes / 4; word++)
            {
                uint value = (uint)ParseHex(field.Slice(word * 8, 8), lineNumber);
                MemoryMarshal.Write(address.Slice(word * 4), ref value); // back to the bytes as the kernel held them
            }
            return (int)ParseHex(field.Slice(colon + 1), lineNumber);
        }

        private static ulong ParseHex(ReadOnlySpan<char> s, int lineNumber)
        {
            if (s.IsEmpty || s.Length > 16) throw Malformed(lineNumber, "'" + s.ToString() + "' is not a hex number");
            ulong v = 0;
            foreach (char c in s)
            {
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                if (d < 0) throw Malformed(lineNumber, "'" + s.ToString() + "' is not a hex number");
                v = v << 4 | (uint)d;
            }
            return v;
        }

        private static ulong ParseDecimal(ReadOnlySpan<char> s, int lineNumber)
        {
            if (s.IsEmpty || s.Length > 20) throw Malformed(lineNumber, "'" + s.ToString() + "' is not a number");
            ulong v = 0;
            foreach (char c in s)
            {
                if (c < '0' || c > '9') throw Malformed(lineNumber, "'" + s.ToString() + "' is not a number");
                v = v * 10 + (uint)(c - '0');
            }
            return v;
        }

        private static InvalidDataException Malformed(int lineNumber, string why) =>
            new InvalidDataException("Unexpected /proc/net line " + lineNumber.ToString(CultureInfo.InvariantCulture) + ": " + why + ".");
    }
}
