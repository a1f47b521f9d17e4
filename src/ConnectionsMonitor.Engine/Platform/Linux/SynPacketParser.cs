using System;
using System.Net;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Reads IP packets as an AF_PACKET SOCK_DGRAM socket hands them over (no link header: the bytes start
    /// at the IPv4 or IPv6 header) and recognises TCP connection attempts: SYN set, ACK and RST clear. Also
    /// holds the classic BPF program that lets only such packets reach the socket. No system calls here, so
    /// both are tested with byte-exact packets.
    /// </summary>
    internal static class SynPacketParser
    {
        internal const int IPPROTO_TCP = 6;
        private const byte TcpSyn = 0x02, TcpRst = 0x04, TcpAck = 0x10;

        // IPv6 extension headers walked to find TCP: hop-by-hop, routing, fragment, destination options.
        private const byte Ipv6HopByHop = 0, Ipv6Routing = 43, Ipv6Fragment = 44, Ipv6DestinationOptions = 60;
        private const int MaxExtensionHeaders = 8;

        /// <summary>
        /// True when <paramref name="packet"/> is a TCP SYN without ACK (and without RST) whose header is
        /// complete up to the flags byte; the endpoints then come out. Fragments other than the first,
        /// truncated headers, other protocols and garbage give false. <paramref name="scopeId"/> (the
        /// interface index the packet came in on) is given to IPv6 link-local addresses.
        /// </summary>
        internal static bool TryParseSyn(ReadOnlySpan<byte> packet, long scopeId,
            out IPAddress source, out int sourcePort, out IPAddress destination, out int destinationPort)
        {
            source = destination = null;
            sourcePort = destinationPort = 0;
            if (packet.Length < 1) return false;
            int version = packet[0] >> 4;
            int tcp;
            if (version == 4)
            {
                if (packet.Length < 20) return false;
                int headerLength = (packet[0] & 0x0f) * 4;
                if (headerLength < 20 || packet.Length < headerLength) return false;
                if (packet[9] != IPPROTO_TCP) return false;
                if ((((packet[6] << 8) | packet[7]) & 0x1fff) != 0) return false; // not the first fragment: no TCP header
                int totalLength = (packet[2] << 8) | packet[3];
                if (totalLength < headerLength + 14) return false;
                source = new IPAddress(packet.Slice(12, 4).ToArray());
                destination = new IPAddress(packet.Slice(16, 4).ToArray());
                tcp = headerLength;
            }
            else if (version == 6)
            {
                if (packet.Length < 40) return false;
                byte next = packet[6];
                int offset = 40;
                for (int i = 0; next != IPPROTO_TCP; i++)
                {
                    if (i == MaxExtensionHeaders || packet.Length < offset + 8) return false;
                    if (next == Ipv6Fragment)
                    {
                        if ((((packet[offset + 2] << 8) | packet[offset + 3]) & 0xfff8) != 0) return false; // a later fragment
                        next = packet[offset];
                        offset += 8;
                    }
                    else if (next == Ipv6HopByHop || next == Ipv6Routing || next == Ipv6DestinationOptions)
                    {
                        next = packet[offset];
                        offset += (packet[offset + 1] + 1) * 8;
                    }
                    else return false; // another protocol, or an extension we do not walk (AH, ESP, no next header)
                }
                source = Ipv6(packet.Slice(8, 16), scopeId);
                destination = Ipv6(packet.Slice(24, 16), scopeId);
                tcp = offset;
            }
            else return false;

            if (packet.Length < tcp + 14) { source = destination = null; return false; }
            byte flags = packet[tcp + 13];
            if ((flags & (TcpSyn | TcpAck | TcpRst)) != TcpSyn) { source = destination = null; return false; }
            sourcePort = (packet[tcp] << 8) | packet[tcp + 1];
            destinationPort = (packet[tcp + 2] << 8) | packet[tcp + 3];
            return true;
        }

        private static IPAddress Ipv6(ReadOnlySpan<byte> bytes, long scopeId)
        {
            var a = new IPAddress(bytes.ToArray());
            return a.IsIPv6LinkLocal && scopeId > 0 ? new IPAddress(bytes.ToArray(), scopeId) : a;
        }

        // ---- The classic BPF filter (linux/filter.h, linux/bpf_common.h) ----

        /// <summary>One struct sock_filter: u16 code, u8 jt, u8 jf, u32 k (8 bytes).</summary>
        internal readonly struct BpfInstruction
        {
            internal BpfInstruction(ushort code, byte jt, byte jf, uint k) { Code = code; Jt = jt; Jf = jf; K = k; }
            internal ushort Code { get; }
            internal byte Jt { get; }
            internal byte Jf { get; }
            internal uint K { get; }
        }

        internal const ushort BPF_LD_W_ABS = 0x20, BPF_LD_H_ABS = 0x28, BPF_LD_B_ABS = 0x30, BPF_LD_B_IND = 0x50;
        internal const ushort BPF_LDX_B_MSH = 0xb1, BPF_ALU_AND_K = 0x54, BPF_JMP_JEQ_K = 0x15, BPF_JMP_JSET_K = 0x45, BPF_RET_K = 0x06;
        internal const uint SKF_AD_OFF = unchecked((uint)-0x1000);
        internal const uint SKF_AD_PROTOCOL = 0, SKF_AD_PKTTYPE = 4;
        internal const uint PACKET_HOST = 0;
        internal const uint ETH_P_IP = 0x0800, ETH_P_IPV6 = 0x86dd;

        /// <summary>Bytes of an accepted packet handed to the socket: enough for IPv4 options or a few IPv6 extension headers and the TCP flags.</summary>
        internal const uint SnapLength = 256;

        /// <summary>
        /// The filter: packets addressed to this host (pkttype PACKET_HOST: not outgoing, not broadcast or
        /// another host's), IPv4 TCP, first fragment, SYN set and ACK, RST clear; IPv6 with TCP right after
        /// the fixed header, same flags; IPv6 packets with a hop-by-hop, routing, fragment or destination
        /// options header go to <see cref="TryParseSyn"/> to decide (rare, and a BPF program cannot walk a chain).
        /// Everything else is dropped in the kernel.
        /// </summary>
        internal static BpfInstruction[] FilterProgram()
        {
            const int Accept = 22, Drop = 23;
            var p = new BpfInstruction[24];
            void Put(int at, ushort code, uint k) => p[at] = new BpfInstruction(code, 0, 0, k);
            void Jump(int at, ushort code, uint k, int whenTrue, int whenFalse) =>
                p[at] = new BpfInstruction(code, (byte)(whenTrue - at - 1), (byte)(whenFalse - at - 1), k);

            Put(0, BPF_LD_W_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE);
            Jump(1, BPF_JMP_JEQ_K, PACKET_HOST, 2, Drop);
            Put(2, BPF_LD_W_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL);
            Jump(3, BPF_JMP_JEQ_K, ETH_P_IP, 5, 4);
            Jump(4, BPF_JMP_JEQ_K, ETH_P_IPV6, 13, Drop);
            // IPv4
            Put(5, BPF_LD_B_ABS, 9);                               // protocol
            Jump(6, BPF_JMP_JEQ_K, IPPROTO_TCP, 7, Drop);
            Put(7, BPF_LD_H_ABS, 6);                               // flags and fragment offset
            Jump(8, BPF_JMP_JSET_K, 0x1fff, Drop, 9);
            Put(9, BPF_LDX_B_MSH, 0);                              // X = header length
            Put(10, BPF_LD_B_IND, 13);                             // TCP flags
            Put(11, BPF_ALU_AND_K, TcpSyn | TcpAck | TcpRst);
            Jump(12, BPF_JMP_JEQ_K, TcpSyn, Accept, Drop);
            // IPv6
            Put(13, BPF_LD_B_ABS, 6);                              // next header
            Jump(14, BPF_JMP_JEQ_K, IPPROTO_TCP, 15, 18);
            Put(15, BPF_LD_B_ABS, 40 + 13);                        // TCP flags after the fixed header
            Put(16, BPF_ALU_AND_K, TcpSyn | TcpAck | TcpRst);
            Jump(17, BPF_JMP_JEQ_K, TcpSyn, Accept, Drop);
            Jump(18, BPF_JMP_JEQ_K, Ipv6HopByHop, Accept, 19);
            Jump(19, BPF_JMP_JEQ_K, Ipv6Routing, Accept, 20);
            Jump(20, BPF_JMP_JEQ_K, Ipv6DestinationOptions, Accept, 21);
            Jump(21, BPF_JMP_JEQ_K, Ipv6Fragment, Accept, Drop);
            Put(Accept, BPF_RET_K, SnapLength);
            Put(Drop, BPF_RET_K, 0);
            return p;
        }
    }
}
