using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// Turns the buffers GetExtendedTcpTable / GetExtendedUdpTable fill into SocketEntry rows.
    /// Pure byte work with no system calls, so it is tested on any OS with hand-built buffers.
    /// </summary>
    internal static class IpHelperTableParser
    {
        private const int NumEntriesSize = 4;

        // FILETIME of DateTime.MaxValue; anything larger cannot be a real timestamp.
        private static readonly long s_maxFileTime = DateTime.MaxValue.ToFileTimeUtc();

        /// <summary>Parses a whole table and appends its rows to <paramref name="into"/>.</summary>
        /// <exception cref="InvalidDataException">The buffer is shorter than its dwNumEntries says.</exception>
        public static void Parse(ReadOnlySpan<byte> table, IpHelperTableLayout layout, List<SocketEntry> into)
        {
            if (layout == null) throw new ArgumentNullException(nameof(layout));
            if (into == null) throw new ArgumentNullException(nameof(into));
            int count = CheckedRowCount(table, layout);
            for (int i = 0; i < count; i++)
                into.Add(ParseRow(table.Slice(layout.FirstRowOffset + i * layout.RowSize, layout.RowSize), layout));
        }

        /// <summary>Reads dwNumEntries and proves the buffer holds that many rows before any row is read.</summary>
        public static int CheckedRowCount(ReadOnlySpan<byte> table, IpHelperTableLayout layout)
        {
            if (table.Length < NumEntriesSize)
                throw new InvalidDataException(string.Format(
                    "{0} buffer is {1} bytes; it needs at least 4 for dwNumEntries.", layout.StructName, table.Length));
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(table);
            long needed = count == 0 ? NumEntriesSize : layout.FirstRowOffset + (long)count * layout.RowSize;
            if (needed > table.Length)
                throw new InvalidDataException(string.Format(
                    "{0} claims {1} rows of {2} bytes from offset {3} ({4} bytes) but the buffer holds only {5} bytes.",
                    layout.StructName, count, layout.RowSize, layout.FirstRowOffset, needed, table.Length));
            return (int)count;
        }

        /// <summary>Parses one row of exactly <see cref="IpHelperTableLayout.RowSize"/> bytes.</summary>
        public static SocketEntry ParseRow(ReadOnlySpan<byte> row, IpHelperTableLayout layout)
        {
            if (row.Length != layout.RowSize)
                throw new InvalidDataException(string.Format(
                    "A {0} row is {1} bytes, not {2}.", layout.StructName, layout.RowSize, row.Length));

            bool v6 = layout.Family == AddressFamily.InterNetworkV6;
            var entry = new SocketEntry
            {
                Protocol = layout.Protocol,
                LocalAddress = ReadAddress(row, layout.LocalAddressOffset, layout.LocalScopeIdOffset, v6),
                LocalPort = ReadPort(row, layout.LocalPortOffset),
            };

            uint pid = ReadUInt32(row, layout.OwningPidOffset);
            if (layout.Protocol == TransportProtocol.Tcp)
            {
                // Listeners keep the unspecified remote address and port 0, as Get-NetTCPConnection shows them.
                entry.RemoteAddress = ReadAddress(row, layout.RemoteAddressOffset, layout.RemoteScopeIdOffset, v6);
                entry.RemotePort = ReadPort(row, layout.RemotePortOffset);
                entry.State = ToState(ReadUInt32(row, layout.StateOffset));
                // PID 0 on a TCP row is real: the System Idle process owns TIME_WAIT and similar rows.
                entry.ProcessId = (int)pid;
            }
            else
            {
                // udpmib.h: "This member is set to 0 when the PID is unavailable" -- unknown, so null.
                entry.ProcessId = pid == 0 ? (int?)null : (int)pid;
            }

            if (layout.CreateTimestampOffset >= 0)
                entry.CreationTime = ToUtc(BinaryPrimitives.ReadInt64LittleEndian(row.Slice(layout.CreateTimestampOffset, 8)));
            return entry;
        }

        private static uint ReadUInt32(ReadOnlySpan<byte> row, int offset) =>
            BinaryPrimitives.ReadUInt32LittleEndian(row.Slice(offset, 4));

        // The port DWORD holds the port in network byte order in its low 16 bits, i.e. the first two
        // bytes in memory, big-endian. The upper half is not part of the port and is ignored.
        private static int ReadPort(ReadOnlySpan<byte> row, int offset) =>
            BinaryPrimitives.ReadUInt16BigEndian(row.Slice(offset, 2));

        private static IPAddress ReadAddress(ReadOnlySpan<byte> row, int addressOffset, int scopeIdOffset, bool v6)
        {
            if (!v6)
            {
                // Network byte order in memory: IPAddress(long) takes exactly this little-endian reading.
                return new IPAddress(ReadUInt32(row, addressOffset));
            }

            byte[] bytes = row.Slice(addressOffset, 16).ToArray();
            var address = new IPAddress(bytes);
            // Scope ids only mean something for link- and site-local addresses; Windows (and Wine, which
            // stamps ::1 with 4096) fill them for others too, and "::1%4096" would be a useless address string.
            // The DWORD is read as a host-order integer, the way System.Net.NetworkInformation reads it.
            uint scopeId = ReadUInt32(row, scopeIdOffset);
            if (scopeId != 0 && (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal))
                address.ScopeId = scopeId;
            return address;
        }

        private static TcpState? ToState(uint state)
        {
            // MIB_TCP_STATE runs 1..12 and TcpState uses the same numbers; anything else is not a state we know.
            return state >= (uint)TcpState.Closed && state <= (uint)TcpState.DeleteTcb ? (TcpState)state : (TcpState?)null;
        }

        private static DateTime? ToUtc(long fileTime)
        {
            // 0 means "not recorded" (and is all Wine ever reports).
            if (fileTime <= 0 || fileTime > s_maxFileTime) return null;
            return DateTime.FromFileTimeUtc(fileTime);
        }
    }
}
