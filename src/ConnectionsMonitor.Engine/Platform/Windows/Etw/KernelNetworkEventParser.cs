using System;
using System.Buffers.Binary;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>
    /// Decodes the kernel's classic (MOF) TcpIp and UdpIp send/receive events into <see cref="NetworkEvent"/>,
    /// and TcpIp accept events into <see cref="TcpAcceptEvent"/>. Pure byte work, apart from the ETW session,
    /// so it is tested on any OS with hand-built UserData.
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
    /// count the same bytes twice (TCP copy), and are ignored by <see cref="TryParse"/>.
    /// <para>
    /// Accepts have a method of their own, <see cref="TryParseAccept"/>, and a type of their own,
    /// <see cref="TcpAcceptEvent"/>, so the byte counters never see them. Their classes are
    /// TcpIp_TypeGroup2 (EventType 12 ConnectIPV4, 15 AcceptIPV4) and TcpIp_TypeGroup4 (28 ConnectIPV6,
    /// 31 AcceptIPV6), documented on learn.microsoft.com ("TcpIp_TypeGroup2 class", "TcpIp_TypeGroup4
    /// class", and the "TcpIp class" table: EVENT_TRACE_TYPE_ACCEPT = 15 for IPv4, 31 for IPv6):
    /// <code>
    ///   uint32 PID; uint32 size; daddr; saddr; dport; sport; uint16 mss; uint16 sackopt; uint16 tsopt;
    ///   uint16 wsopt; uint32 rcvwin; sint16 rcvwinscale; sint16 sndwinscale; uint32 seqnum; connid (pointer)
    /// </code>
    /// the same first six fields as send/receive, so the same offsets: PID 0, size 4, daddr 8, saddr 12
    /// (IPv6: 24), dport 16 (IPv6: 40), sport 18 (IPv6: 42); 20 bytes (IPv6: 44) are needed. TraceEvent's
    /// KernelTraceEventParser reads TcpIpAccept / TcpIpAcceptIPV6 (TcpIpConnectTraceData,
    /// TcpIpV6ConnectTraceData) at exactly these offsets and byte-swaps the ports. Which end is local
    /// is not stated by Microsoft's pages (they say only "destination" and "source" address): this
    /// parser takes saddr/sport as this host's end and daddr/dport as the peer, the convention of the
    /// send/receive events, which public consumers of accept events follow too (a TraceEvent-based tool
    /// that watches accepts from an external address compares daddr with it and reports sport as the
    /// local port). tests/Windows checks it on an elevated Windows machine with a loopback connection.
    /// </para>
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

        /// <summary>EVENT_TRACE_TYPE_ACCEPT: TcpIp_TypeGroup2 AcceptIPV4.</summary>
        public const byte OpcodeAcceptIPv4 = 15;

        /// <summary>TcpIp_TypeGroup4 AcceptIPV6.</summary>
        public const byte OpcodeAcceptIPv6 = 31;

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

            if (!TryReadCommonFields(userData, v6, out uint pid, out uint size, out var local, out int localPort, out var remote, out int remotePort))
                return false;
            parsed = new NetworkEvent(protocol, direction, pid, size, local, localPort, remote, remotePort,
                v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
            return true;
        }

        /// <summary>
        /// Decodes one TcpIp Accept event (opcode 15, AcceptIPV4; opcode 31, AcceptIPV6). Returns false for
        /// anything else: other classes (UdpIp has no accepts) and opcodes, EventVersion 0, and UserData
        /// shorter than the six leading fields (20 bytes IPv4, 44 bytes IPv6). The fields after sport (mss,
        /// window options, seqnum, connid) are not read, so the logger's pointer size never matters.
        /// </summary>
        public static bool TryParseAccept(Guid classGuid, byte opcode, byte version, ReadOnlySpan<byte> userData, out TcpAcceptEvent parsed)
        {
            parsed = default;
            if (classGuid != TcpIpGuid || version < 1) return false;
            bool v6;
            switch (opcode)
            {
                case OpcodeAcceptIPv4: v6 = false; break;
                case OpcodeAcceptIPv6: v6 = true; break;
                default: return false;
            }
            if (!TryReadCommonFields(userData, v6, out uint pid, out _, out var local, out int localPort, out var remote, out int remotePort))
                return false;
            parsed = new TcpAcceptEvent(pid, local, localPort, remote, remotePort, v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
            return true;
        }

        /// <summary>The six leading fields every TcpIp/UdpIp class of EventVersion 1+ shares; false when UserData is too short.</summary>
        private static bool TryReadCommonFields(ReadOnlySpan<byte> userData, bool v6, out uint pid, out uint size,
            out AddressBits local, out int localPort, out AddressBits remote, out int remotePort)
        {
            int addressSize = v6 ? 16 : 4;
            int sourceAddressOffset = DestinationAddressOffset + addressSize;
            int destinationPortOffset = sourceAddressOffset + addressSize;
            int sourcePortOffset = destinationPortOffset + 2;
            if (userData.Length < sourcePortOffset + 2)
            {
                pid = size = 0;
                local = remote = default;
                localPort = remotePort = 0;
                return false;
            }

            pid = BinaryPrimitives.ReadUInt32LittleEndian(userData.Slice(PidOffset, 4));
            size = BinaryPrimitives.ReadUInt32LittleEndian(userData.Slice(SizeOffset, 4));
            remote = ReadAddress(userData.Slice(DestinationAddressOffset, addressSize), v6);
            local = ReadAddress(userData.Slice(sourceAddressOffset, addressSize), v6);
            remotePort = BinaryPrimitives.ReadUInt16BigEndian(userData.Slice(destinationPortOffset, 2));
            localPort = BinaryPrimitives.ReadUInt16BigEndian(userData.Slice(sourcePortOffset, 2));
            return true;
        }

        private static AddressBits ReadAddress(ReadOnlySpan<byte> bytes, bool v6) =>
            v6 ? AddressBits.FromIPv6(bytes) : AddressBits.FromIPv4(bytes);
    }
}
