using System;
using System.Buffers.Binary;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>
    /// Decodes the kernel's classic (MOF) TcpIp and UdpIp send/receive events into <see cref="NetworkEvent"/>.
    /// Pure byte work, apart from the ETW session, so it is tested on any OS with hand-built UserData.
    /// </summary>
    /// <remarks>
    /// Layouts, from the MSNT_SystemTrace classes (EventVersion 1 and 2, Windows Vista and later):
    /// TcpIp_SendIPV4 (opcode 10), TcpIp_TypeGroup1 (11), TcpIp_SendIPV6 (26), TcpIp_TypeGroup3 (27),
    /// UdpIp_TypeGroup1 (10, 11), UdpIp_TypeGroup2 (26, 27). All begin with the same fields:
    /// <code>
    ///   uint32 PID; uint32 size; daddr; saddr; dport; sport; ...
    /// </code>
    /// where the addresses are 4 bytes (IPAddrV4) or 16 bytes (IPAddrV6) in network byte order and the
    /// ports are 2 bytes in network byte order. What follows (startime/endtime on TCP sends, seqnum,
    /// and connid, a pointer whose size depends on the logging machine) is not needed, so the pointer
    /// size never moves a field we read. saddr is this machine's end and daddr the peer for sends and
    /// receives alike (the kernel logs the connection's view, not the packet's).
    /// EventVersion 0 (Windows XP) put daddr first and PID last; those are ignored.
    /// Other opcodes (connect, accept, disconnect, retransmit, TCP copy, fail) are not traffic, or would
    /// count the same bytes twice (TCP copy), and are ignored.
    /// </remarks>
    internal static class KernelNetworkEventParser
    {
        /// <summary>Class GUID of the kernel TcpIp events (MSNT_SystemTrace TcpIp).</summary>
        public static readonly Guid TcpIpGuid = new Guid("9a280ac0-c8e0-11d1-84e2-00c04fb998a2");

        /// <summary>Class GUID of the kernel UdpIp events (MSNT_SystemTrace UdpIp).</summary>
        public static readonly Guid UdpIpGuid = new Guid("bf3a50c5-a9c9-4988-a005-2df0b7c80f80");

        public const byte OpcodeSendIPv4 = 10;
        public const byte OpcodeReceiveIPv4 = 11;
        public const byte OpcodeSendIPv6 = 26;
        public const byte OpcodeReceiveIPv6 = 27;

        private const int PidOffset = 0;
        private const int SizeOffset = 4;
        private const int DestinationAddressOffset = 8;

        /// <summary>
        /// Decodes one event. Returns false for events that are not TCP/UDP sends or receives, of
        /// unsupported versions, or with UserData too short for the documented layout.
        /// </summary>
        public static bool TryParse(Guid classGuid, byte opcode, byte version, ReadOnlySpan<byte> userData, out NetworkEvent parsed)
        {
            parsed = default;
            TransportProtocol protocol;
            if (classGuid == TcpIpGuid) protocol = TransportProtocol.Tcp;
            else if (classGuid == UdpIpGuid) protocol = TransportProtocol.Udp;
            else return false;
            if (version < 1) return false;

            TrafficDirection direction;
            bool v6;
            switch (opcode)
            {
                case OpcodeSendIPv4: direction = TrafficDirection.Send; v6 = false; break;
                case OpcodeReceiveIPv4: direction = TrafficDirection.Receive; v6 = false; break;
                case OpcodeSendIPv6: direction = TrafficDirection.Send; v6 = true; break;
                case OpcodeReceiveIPv6: direction = TrafficDirection.Receive; v6 = true; break;
                default: return false;
            }

            int addressSize = v6 ? 16 : 4;
            int sourceAddressOffset = DestinationAddressOffset + addressSize;
            int destinationPortOffset = sourceAddressOffset + addressSize;
            int sourcePortOffset = destinationPortOffset + 2;
            if (userData.Length < sourcePortOffset + 2) return false;

            uint pid = BinaryPrimitives.ReadUInt32LittleEndian(userData.Slice(PidOffset, 4));
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(userData.Slice(SizeOffset, 4));
            var remote = ReadAddress(userData.Slice(DestinationAddressOffset, addressSize), v6);
            var local = ReadAddress(userData.Slice(sourceAddressOffset, addressSize), v6);
            int remotePort = BinaryPrimitives.ReadUInt16BigEndian(userData.Slice(destinationPortOffset, 2));
            int localPort = BinaryPrimitives.ReadUInt16BigEndian(userData.Slice(sourcePortOffset, 2));

            parsed = new NetworkEvent(protocol, direction, pid, size, local, localPort, remote, remotePort,
                v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
            return true;
        }

        private static AddressBits ReadAddress(ReadOnlySpan<byte> bytes, bool v6) =>
            v6 ? AddressBits.FromIPv6(bytes) : AddressBits.FromIPv4(bytes);
    }
}
