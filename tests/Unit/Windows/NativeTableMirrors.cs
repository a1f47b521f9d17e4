using System;
using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;

namespace ConnectionsMonitor.Tests.Windows
{
    // Test-side mirrors of the tcpmib.h / udpmib.h structs, written field by field from the documented
    // C declarations. Sequential layout gives them the same alignment and padding MSVC gives the C structs,
    // so writing them into a byte array produces the buffer Windows would hand back. They are deliberately
    // independent of the engine's IpHelperTableLayout offsets, which the tests check against them.

    [StructLayout(LayoutKind.Sequential)]
    internal struct MIB_TCPROW_OWNER_PID
    {
        public uint dwState, dwLocalAddr, dwLocalPort, dwRemoteAddr, dwRemotePort, dwOwningPid;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MIB_TCPROW_OWNER_MODULE
    {
        public uint dwState, dwLocalAddr, dwLocalPort, dwRemoteAddr, dwRemotePort, dwOwningPid;
        public long liCreateTimestamp;
        public fixed ulong OwningModuleInfo[16];
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MIB_TCP6ROW_OWNER_PID
    {
        public fixed byte ucLocalAddr[16];
        public uint dwLocalScopeId, dwLocalPort;
        public fixed byte ucRemoteAddr[16];
        public uint dwRemoteScopeId, dwRemotePort, dwState, dwOwningPid;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MIB_TCP6ROW_OWNER_MODULE
    {
        public fixed byte ucLocalAddr[16];
        public uint dwLocalScopeId, dwLocalPort;
        public fixed byte ucRemoteAddr[16];
        public uint dwRemoteScopeId, dwRemotePort, dwState, dwOwningPid;
        public long liCreateTimestamp;
        public fixed ulong OwningModuleInfo[16];
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct MIB_UDPROW_OWNER_PID
    {
        public uint dwLocalAddr, dwLocalPort, dwOwningPid;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MIB_UDPROW_OWNER_MODULE
    {
        public uint dwLocalAddr, dwLocalPort, dwOwningPid;
        public long liCreateTimestamp;
        public int dwFlags;
        public fixed ulong OwningModuleInfo[16];
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MIB_UDP6ROW_OWNER_PID
    {
        public fixed byte ucLocalAddr[16];
        public uint dwLocalScopeId, dwLocalPort, dwOwningPid;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MIB_UDP6ROW_OWNER_MODULE
    {
        public fixed byte ucLocalAddr[16];
        public uint dwLocalScopeId, dwLocalPort, dwOwningPid;
        public long liCreateTimestamp;
        public int dwFlags;
        public fixed ulong OwningModuleInfo[16];
    }

    /// <summary>Builds MIB_*TABLE_* buffers: DWORD dwNumEntries, then the rows at the row struct's alignment.</summary>
    internal static class NativeTable
    {
        public static unsafe byte[] Build<TRow>(int firstRowOffset, params TRow[] rows) where TRow : unmanaged
        {
            var buffer = new byte[firstRowOffset + rows.Length * sizeof(TRow)];
            // Padding between dwNumEntries and the first row is garbage on Windows; make it visibly so.
            buffer.AsSpan(4, firstRowOffset - 4).Fill(0xCC);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)rows.Length);
            for (int i = 0; i < rows.Length; i++)
                MemoryMarshal.Write(buffer.AsSpan(firstRowOffset + i * sizeof(TRow)), in rows[i]);
            return buffer;
        }

        /// <summary>
        /// Answers a GetExtendedTcpTable / GetExtendedUdpTable call with <paramref name="table"/> as Windows
        /// does: ERROR_INSUFFICIENT_BUFFER (122) and the size needed when it does not fit, else the table
        /// copied into a cleared buffer and NO_ERROR.
        /// </summary>
        public static uint Answer(byte[] table, byte[] buffer, ref uint size)
        {
            if (table.Length > buffer.Length)
            {
                size = (uint)table.Length;
                return 122;
            }
            Array.Clear(buffer, 0, buffer.Length);
            table.CopyTo(buffer, 0);
            return 0;
        }

        /// <summary>A TCP_TABLE_OWNER_MODULE_ALL table of one established IPv4 connection owned by <paramref name="pid"/>.</summary>
        public static byte[] OneEstablishedV4(IPEndPoint local, IPEndPoint remote, uint pid) =>
            Build(8, new MIB_TCPROW_OWNER_MODULE
            {
                dwState = 5,
                dwLocalAddr = V4(local.Address.ToString()),
                dwLocalPort = Port(local.Port),
                dwRemoteAddr = V4(remote.Address.ToString()),
                dwRemotePort = Port(remote.Port),
                dwOwningPid = pid,
            });

        /// <summary>A port DWORD as Windows fills it: network-order port in the low 16 bits, anything above.</summary>
        public static uint Port(int port, ushort highBits = 0) =>
            BinaryPrimitives.ReverseEndianness((ushort)port) | ((uint)highBits << 16);

        /// <summary>An IPv4 DWORD as Windows fills it: the address bytes in network order in memory.</summary>
        public static uint V4(string address) => BinaryPrimitives.ReadUInt32LittleEndian(IPAddress.Parse(address).GetAddressBytes());

        public static unsafe void V6(byte* destination, string address)
        {
            byte[] bytes = IPAddress.Parse(address).GetAddressBytes();
            for (int i = 0; i < 16; i++) destination[i] = bytes[i];
        }

        /// <summary>Fills the opaque OwningModuleInfo with a pattern the parser must not mistake for anything.</summary>
        public static unsafe void FillModuleInfo(ulong* info)
        {
            for (int i = 0; i < 16; i++) info[i] = 0xDEADBEEF00000000UL | (uint)i;
        }
    }
}
