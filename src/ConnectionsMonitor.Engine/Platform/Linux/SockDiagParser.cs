using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>Called for each rtattr that follows an inet_diag_msg (e.g. INET_DIAG_INFO carrying tcp_info).</summary>
    internal delegate void SockDiagAttributeHandler(SocketEntry entry, ushort type, ReadOnlySpan<byte> payload);

    /// <summary>An NLMSG_ERROR answer from the kernel, or a netlink call that failed.</summary>
    public sealed class NetlinkException : IOException
    {
        public NetlinkException(string message, int errno) : base(message) { Errno = errno; }
        public int Errno { get; }
    }

    /// <summary>
    /// Builds sock_diag dump requests and parses the answers (linux/netlink.h, linux/inet_diag.h).
    /// No system calls here: tests feed it byte-exact buffers. Netlink headers and inet_diag fields
    /// are in host byte order, except ports and addresses, which are in network order.
    /// </summary>
    internal static class SockDiagParser
    {
        internal const int NlmsgHeaderLength = 16;
        internal const ushort NLMSG_NOOP = 1;
        internal const ushort NLMSG_ERROR = 2;
        internal const ushort NLMSG_DONE = 3;
        internal const ushort SOCK_DIAG_BY_FAMILY = 20;
        /// <summary>
        /// The original inet_diag request type for TCP (linux/inet_diag.h), still served by the kernel's compatibility
        /// path: a dump asked this way covers AF_INET and AF_INET6 in one walk of the TCP hash tables (it dumps as
        /// family AF_UNSPEC), where SOCK_DIAG_BY_FAMILY walks them once per family. Answers carry this type too.
        /// </summary>
        internal const ushort TCPDIAG_GETSOCK = 18;
        internal const ushort NLM_F_REQUEST = 0x1;
        internal const ushort NLM_F_MULTI = 0x2;
        internal const ushort NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH

        /// <summary>sizeof(struct inet_diag_req_v2): family, protocol, ext, pad, states, inet_diag_sockid.</summary>
        internal const int RequestBodyLength = 56;
        internal const int RequestLength = NlmsgHeaderLength + RequestBodyLength;

        /// <summary>sizeof(struct inet_diag_req), the TCPDIAG_GETSOCK request: family, src_len, dst_len, ext, inet_diag_sockid, states, dbs.</summary>
        internal const int TcpRequestBodyLength = 60;
        internal const int TcpRequestLength = NlmsgHeaderLength + TcpRequestBodyLength;

        /// <summary>sizeof(struct inet_diag_msg).</summary>
        internal const int InetDiagMsgLength = 72;

        /// <summary>Bit n set asks for sockets in TCP state n; all bits: every state, including TIME_WAIT and NEW_SYN_RECV.</summary>
        internal const uint AllStates = 0xFFFFFFFF;

        /// <summary>
        /// TCPF_BOUND_INACTIVE (1 &lt;&lt; TCP_BOUND_INACTIVE, state 13; Linux 6.7+): TCP sockets bound to a port but neither
        /// listening nor connecting, answered in state TCP_CLOSE. Asking for them makes the kernel walk its bind hash table
        /// (every bound socket of the namespace) besides the established one; older kernels ignore the bit.
        /// </summary>
        internal const uint TcpBoundInactive = 1u << 13;

        /// <summary>Every TCP state but <see cref="TcpBoundInactive"/>: the sockets <c>ss -ta</c> lists.</summary>
        internal const uint AllStatesButBoundInactive = AllStates & ~TcpBoundInactive;

        /// <summary>INET_DIAG_INFO: the attribute that carries struct tcp_info; ask for it with ext bit (1 &lt;&lt; (INET_DIAG_INFO - 1)).</summary>
        internal const ushort INET_DIAG_INFO = 2;

        internal static int Align(int length) => (length + 3) & ~3;

        /// <summary>Writes one SOCK_DIAG_BY_FAMILY dump request (NLM_F_REQUEST | NLM_F_DUMP) into dest.</summary>
        internal static int WriteDumpRequest(Span<byte> dest, uint sequence, byte family, byte protocol, byte extensions, uint states)
        {
            if (dest.Length < RequestLength) throw new ArgumentException("buffer too small for a sock_diag request", nameof(dest));
            WriteDumpHeader(dest, RequestLength, SOCK_DIAG_BY_FAMILY, sequence);
            dest[16] = family;
            dest[17] = protocol;
            dest[18] = extensions;
            WriteHost(dest, 20, states);
            // inet_diag_sockid stays zero: a dump does not match on it. Cookie "none" so nothing filters.
            WriteHost(dest, 16 + 8 + 40, 0xFFFFFFFFu);
            WriteHost(dest, 16 + 8 + 44, 0xFFFFFFFFu);
            return RequestLength;
        }

        /// <summary>Zeroes the request's <paramref name="length"/> bytes and writes its nlmsghdr: a dump request (NLM_F_REQUEST | NLM_F_DUMP) to the kernel (nlmsg_pid 0).</summary>
        private static void WriteDumpHeader(Span<byte> dest, int length, ushort type, uint sequence)
        {
            dest.Slice(0, length).Clear();
            WriteHost(dest, 0, (uint)length);
            WriteHost(dest, 4, type);
            WriteHost(dest, 6, (ushort)(NLM_F_REQUEST | NLM_F_DUMP));
            WriteHost(dest, 8, sequence);
        }

        /// <summary>
        /// Writes one TCPDIAG_GETSOCK dump request (NLM_F_REQUEST | NLM_F_DUMP) into dest: every TCP socket of both
        /// address families in one dump. The answers are inet_diag_msg, as for <see cref="WriteDumpRequest"/>.
        /// </summary>
        internal static int WriteTcpDumpRequest(Span<byte> dest, uint sequence, byte extensions, uint states)
        {
            if (dest.Length < TcpRequestLength) throw new ArgumentException("buffer too small for an inet_diag request", nameof(dest));
            WriteDumpHeader(dest, TcpRequestLength, TCPDIAG_GETSOCK, sequence);
            // idiag_family (16) stays AF_UNSPEC, which the kernel uses for a dump asked this way anyway; src_len and
            // dst_len (17, 18) zero.
            dest[19] = extensions;
            // inet_diag_sockid (20..67) stays zero but for the cookie "none", as in WriteDumpRequest.
            WriteHost(dest, 16 + 4 + 40, 0xFFFFFFFFu);
            WriteHost(dest, 16 + 4 + 44, 0xFFFFFFFFu);
            WriteHost(dest, 16 + 52, states);
            // idiag_dbs (72) zero: not used by the kernel.
            return TcpRequestLength;
        }

        /// <summary>
        /// Appends the sockets in <paramref name="buffer"/> (one or more netlink messages) to rows.
        /// Returns true when NLMSG_DONE was seen (the dump is complete). Messages with another
        /// sequence number (when <paramref name="sequence"/> is given) are ignored.
        /// </summary>
        /// <exception cref="NetlinkException">The kernel answered NLMSG_ERROR.</exception>
        /// <exception cref="InvalidDataException">A message's length does not fit the buffer.</exception>
        internal static bool Parse(ReadOnlySpan<byte> buffer, bool tcp, uint? sequence, List<SocketEntry> rows,
            SockDiagAttributeHandler onAttribute = null)
        {
            int offset = 0;
            while (buffer.Length - offset >= NlmsgHeaderLength)
            {
                var msg = buffer.Slice(offset);
                uint length = ReadHost<uint>(msg, 0);
                ushort type = ReadHost<ushort>(msg, 4);
                uint seq = ReadHost<uint>(msg, 8);
                if (length < NlmsgHeaderLength || length > (uint)msg.Length)
                    throw new InvalidDataException("Malformed netlink message: length " + length + " at offset " + offset +
                        " with " + msg.Length + " bytes left.");
                var body = msg.Slice(NlmsgHeaderLength, (int)length - NlmsgHeaderLength);
                offset += Math.Min(Align((int)length), msg.Length);

                if (sequence.HasValue && seq != sequence.Value) continue;
                switch (type)
                {
                    case NLMSG_DONE:
                        return true;
                    case NLMSG_ERROR:
                        if (body.Length < 4) throw new InvalidDataException("Malformed NLMSG_ERROR: " + body.Length + " bytes, expected at least 4.");
                        int error = ReadHost<int>(body, 0);
                        if (error == 0) continue; // an acknowledgement, not an error
                        int errno = -error;
                        throw new NetlinkException("The kernel refused the sock_diag request: " + LinuxNative.ErrnoText(errno), errno);
                    case SOCK_DIAG_BY_FAMILY:
                    case TCPDIAG_GETSOCK:
                        if (body.Length < InetDiagMsgLength)
                            throw new InvalidDataException("Malformed inet_diag_msg: " + body.Length + " bytes, expected at least " + InetDiagMsgLength + ".");
                        var entry = ParseInetDiagMsg(body, tcp);
                        rows.Add(entry);
                        if (onAttribute != null) ParseAttributes(body.Slice(InetDiagMsgLength), entry, onAttribute);
                        break;
                    default:
                        break; // NLMSG_NOOP and anything newer: nothing to read
                }
            }
            return false;
        }

        private static SocketEntry ParseInetDiagMsg(ReadOnlySpan<byte> m, bool tcp)
        {
            byte family = m[0];
            byte state = m[1];
            // m[2] timer, m[3] retrans; inet_diag_sockid at 4.
            int sport = BinaryPrimitives.ReadUInt16BigEndian(m.Slice(4));
            int dport = BinaryPrimitives.ReadUInt16BigEndian(m.Slice(6));
            var src = m.Slice(8, 16);
            var dst = m.Slice(24, 16);
            uint ifIndex = ReadHost<uint>(m, 40);
            // idiag_cookie is __u32[2], low word first, each in host order.
            ulong cookie = ReadHost<uint>(m, 44) | (ulong)ReadHost<uint>(m, 48) << 32;
            // expires 52, rqueue 56, wqueue 60.
            uint uid = ReadHost<uint>(m, 64);
            uint inode = ReadHost<uint>(m, 68);
            if (family != LinuxSocketRow.AF_INET && family != LinuxSocketRow.AF_INET6)
                throw new InvalidDataException("inet_diag_msg with unexpected address family " + family + ".");
            var entry = LinuxSocketRow.Create(tcp, family, state, src, sport, dst, dport, ifIndex, uid, inode);
            entry.SockDiagCookie = cookie;
            return entry;
        }

        /// <summary>Walks the rtattr list (struct rtattr: u16 len, u16 type, payload, 4-byte aligned).</summary>
        private static void ParseAttributes(ReadOnlySpan<byte> attrs, SocketEntry entry, SockDiagAttributeHandler onAttribute)
        {
            int offset = 0;
            while (attrs.Length - offset >= 4)
            {
                int len = ReadHost<ushort>(attrs, offset);
                ushort type = ReadHost<ushort>(attrs, offset + 2);
                if (len < 4 || len > attrs.Length - offset) return; // truncated tail: stop, the row itself is fine
                onAttribute(entry, (ushort)(type & 0x3FFF), attrs.Slice(offset + 4, len - 4)); // strip NLA_F_NESTED / NET_BYTEORDER
                offset += Align(len);
            }
        }

        internal static T ReadHost<T>(ReadOnlySpan<byte> b, int offset) where T : struct => MemoryMarshal.Read<T>(b.Slice(offset));

        internal static void WriteHost<T>(Span<byte> b, int offset, T value) where T : struct => MemoryMarshal.Write(b.Slice(offset), ref value);
    }
}
