using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>Byte-exact netlink buffers, laid out by hand from linux/netlink.h and linux/inet_diag.h.</summary>
    public class SockDiagParserTests
    {
        /// <summary>Builds a stream of netlink messages the way the kernel writes them (little-endian host).</summary>
        internal sealed class NetlinkBuffer
        {
            private readonly List<byte> _bytes = new List<byte>();

            public NetlinkBuffer InetDiag(uint seq, byte family, byte state, byte[] src, ushort sport, byte[] dst, ushort dport,
                uint ifIndex, uint uid, uint inode, byte[] attributes = null, ushort type = 20 /* SOCK_DIAG_BY_FAMILY */)
            {
                var body = new byte[72 + (attributes?.Length ?? 0)];
                body[0] = family;
                body[1] = state;
                body[2] = 1; // timer
                body[3] = 0; // retrans
                BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(4), sport);
                BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(6), dport);
                Array.Copy(src, 0, body, 8, src.Length);
                Array.Copy(dst, 0, body, 24, dst.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(40), ifIndex);
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(44), 0xDEADBEEF); // cookie
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(48), 0x01020304);
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(52), 200); // expires
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(56), 3);   // rqueue
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(60), 4);   // wqueue
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(64), uid);
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(68), inode);
                attributes?.CopyTo(body, 72);
                return Message(type, 2 /* NLM_F_MULTI */, seq, body);
            }

            public NetlinkBuffer Done(uint seq) => Message(3, 2, seq, new byte[4]);

            public NetlinkBuffer Error(uint seq, int negativeErrno)
            {
                var body = new byte[4 + 16];
                BinaryPrimitives.WriteInt32LittleEndian(body, negativeErrno);
                return Message(2, 0, seq, body);
            }

            public NetlinkBuffer Message(ushort type, ushort flags, uint seq, byte[] body)
            {
                var header = new byte[16];
                BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)(16 + body.Length));
                BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), type);
                BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), flags);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), seq);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), 4242);
                _bytes.AddRange(header);
                _bytes.AddRange(body);
                while (_bytes.Count % 4 != 0) _bytes.Add(0);
                return this;
            }

            public byte[] ToArray() => _bytes.ToArray();
        }

        internal static byte[] V4(string a) => IPAddress.Parse(a).GetAddressBytes().Concat12Zeros();
        internal static byte[] V6(string a) => IPAddress.Parse(a).GetAddressBytes();

        [Fact]
        public void WritesAByteExactDumpRequest()
        {
            var buf = new byte[72];
            int n = SockDiagParser.WriteDumpRequest(buf, 7, 10, 6, 1 << (SockDiagParser.INET_DIAG_INFO - 1), 0xFFFFFFFF);
            Assert.Equal(72, n);
            Assert.Equal(72u, BinaryPrimitives.ReadUInt32LittleEndian(buf));
            Assert.Equal(20, BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(4)));           // SOCK_DIAG_BY_FAMILY
            Assert.Equal(0x301, BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(6)));        // REQUEST | DUMP
            Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(8)));
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(12)));
            Assert.Equal(new byte[] { 10, 6, 2, 0 }, buf.AsSpan(16, 4).ToArray());
            Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(20)));
            Assert.All(buf.AsSpan(24, 40).ToArray(), b => Assert.Equal(0, b));                  // sockid: ports, addresses, if
            Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(64))); // INET_DIAG_NOCOOKIE
            Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(68)));
        }

        [Fact]
        public void WritesAByteExactTcpDumpRequestForBothFamilies()
        {
            var buf = new byte[80];
            Array.Fill(buf, (byte)0xAA); // every byte the request covers is written; the rest is left alone
            int n = SockDiagParser.WriteTcpDumpRequest(buf, 9, 1 << (SockDiagParser.INET_DIAG_INFO - 1), 0xFFFFFFFF);
            Assert.Equal(76, n);
            Assert.Equal(76u, BinaryPrimitives.ReadUInt32LittleEndian(buf));
            Assert.Equal(18, BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(4)));           // TCPDIAG_GETSOCK
            Assert.Equal(0x301, BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(6)));        // REQUEST | DUMP
            Assert.Equal(9u, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(8)));
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(12)));
            Assert.Equal(new byte[] { 0, 0, 0, 2 }, buf.AsSpan(16, 4).ToArray());                // AF_UNSPEC, src_len, dst_len, ext
            Assert.All(buf.AsSpan(20, 40).ToArray(), b => Assert.Equal(0, b));                  // sockid: ports, addresses, if
            Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(60))); // INET_DIAG_NOCOOKIE
            Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(64)));
            Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(68))); // states
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(72)));          // dbs
            Assert.Equal(new byte[] { 0xAA, 0xAA, 0xAA, 0xAA }, buf.AsSpan(76).ToArray());
            Assert.Throws<ArgumentException>(() => SockDiagParser.WriteTcpDumpRequest(new byte[75], 1, 0, 0xFFFFFFFF));
        }

        [Fact]
        public void ParsesAnswersToTheTcpRequestOfBothFamilies()
        {
            var buf = new NetlinkBuffer()
                .InetDiag(9, 2, 1, V4("10.1.2.3"), 51000, V4("93.184.216.34"), 443, 0, 0, 777, type: 18)
                .InetDiag(9, 10, 10, V6("::1"), 8443, V6("::"), 0, 0, 1000, 778, type: 18)
                .Done(9)
                .ToArray();
            var rows = new List<SocketEntry>();
            Assert.True(SockDiagParser.Parse(buf, tcp: true, sequence: 9, rows));
            Assert.Equal(2, rows.Count);
            Assert.Equal(IPAddress.Parse("93.184.216.34"), rows[0].RemoteAddress);
            Assert.Equal(TcpState.Established, rows[0].State);
            Assert.Equal(777ul, rows[0].Inode);
            Assert.Equal(IPAddress.IPv6Loopback, rows[1].LocalAddress);
            Assert.Equal(8443, rows[1].LocalPort);
            Assert.Equal(TcpState.Listen, rows[1].State);
            Assert.Equal(778ul, rows[1].Inode);
        }

        [Fact]
        public void ParsesSeveralMessagesInOneDatagram()
        {
            var buf = new NetlinkBuffer()
                .InetDiag(5, 2, 10, V4("127.0.0.1"), 8080, V4("0.0.0.0"), 0, 0, 1000, 12345)
                .InetDiag(5, 2, 1, V4("10.1.2.3"), 51000, V4("93.184.216.34"), 443, 0, 0, 777)
                .InetDiag(5, 2, 6, V4("10.1.2.3"), 51001, V4("93.184.216.34"), 443, 0, 0, 0)
                .InetDiag(5, 2, 12, V4("10.1.2.3"), 22, V4("10.9.9.9"), 40000, 0, 0, 0)
                .ToArray();
            var rows = new List<SocketEntry>();
            Assert.False(SockDiagParser.Parse(buf, tcp: true, sequence: 5, rows));
            Assert.Equal(4, rows.Count);

            var listen = rows[0];
            Assert.Equal(TransportProtocol.Tcp, listen.Protocol);
            Assert.Equal(IPAddress.Parse("127.0.0.1"), listen.LocalAddress);
            Assert.Equal(8080, listen.LocalPort);
            Assert.Equal(IPAddress.Any, listen.RemoteAddress);
            Assert.Equal(0, listen.RemotePort);
            Assert.Equal(TcpState.Listen, listen.State);
            Assert.Equal(1000u, listen.UserId);
            Assert.Equal(12345ul, listen.Inode);
            Assert.Null(listen.ProcessId);

            Assert.Equal(IPAddress.Parse("93.184.216.34"), rows[1].RemoteAddress);
            Assert.Equal(51000, rows[1].LocalPort);
            Assert.Equal(443, rows[1].RemotePort);
            Assert.Equal(TcpState.Established, rows[1].State);
            Assert.Equal(777ul, rows[1].Inode);

            Assert.Equal(TcpState.TimeWait, rows[2].State);
            Assert.Null(rows[2].Inode);
            Assert.Equal(TcpState.SynReceived, rows[3].State); // NEW_SYN_RECV
        }

        [Fact]
        public void DoneEndsTheDumpAndLaterBytesAreNotRead()
        {
            var buf = new NetlinkBuffer()
                .InetDiag(9, 2, 10, V4("0.0.0.0"), 22, V4("0.0.0.0"), 0, 0, 0, 1)
                .Done(9)
                .InetDiag(9, 2, 10, V4("0.0.0.0"), 23, V4("0.0.0.0"), 0, 0, 0, 2)
                .ToArray();
            var rows = new List<SocketEntry>();
            Assert.True(SockDiagParser.Parse(buf, true, 9, rows));
            Assert.Single(rows);
            Assert.Equal(22, rows[0].LocalPort);
        }

        [Fact]
        public void MessagesOfAnotherSequenceAreSkipped()
        {
            var buf = new NetlinkBuffer()
                .InetDiag(1, 2, 10, V4("0.0.0.0"), 22, V4("0.0.0.0"), 0, 0, 0, 1)
                .Done(1)
                .InetDiag(2, 2, 10, V4("0.0.0.0"), 23, V4("0.0.0.0"), 0, 0, 0, 2)
                .ToArray();
            var rows = new List<SocketEntry>();
            Assert.False(SockDiagParser.Parse(buf, true, 2, rows));
            Assert.Equal(23, Assert.Single(rows).LocalPort);
        }

        [Fact]
        public void ErrorBecomesAnExceptionWithTheErrnoText()
        {
            var buf = new NetlinkBuffer()
                .InetDiag(3, 2, 10, V4("0.0.0.0"), 22, V4("0.0.0.0"), 0, 0, 0, 1)
                .Error(3, -2) // ENOENT: e.g. udp_diag not loaded
                .ToArray();
            var ex = Assert.Throws<NetlinkException>(() => SockDiagParser.Parse(buf, true, 3, new List<SocketEntry>()));
            Assert.Equal(2, ex.Errno);
            Assert.Contains("No such file or directory", ex.Message);
        }

        [Fact]
        public void ErrorZeroIsAnAcknowledgement()
        {
            var buf = new NetlinkBuffer().Error(3, 0).Done(3).ToArray();
            Assert.True(SockDiagParser.Parse(buf, true, 3, new List<SocketEntry>()));
        }

        [Fact]
        public void TruncatedMessageIsRejected()
        {
            var buf = new NetlinkBuffer().InetDiag(3, 2, 10, V4("0.0.0.0"), 22, V4("0.0.0.0"), 0, 0, 0, 1).ToArray();
            Assert.Throws<InvalidDataException>(() => SockDiagParser.Parse(buf.AsSpan(0, 60), true, 3, new List<SocketEntry>()));
        }

        [Fact]
        public void IPv6LinkLocalKeepsTheInterfaceAsScopeId()
        {
            var buf = new NetlinkBuffer()
                .InetDiag(4, 10, 1, V6("fe80::1"), 5000, V6("fe80::2"), 6000, 3, 1000, 99)
                .InetDiag(4, 10, 10, V6("::1"), 7000, V6("::"), 0, 0, 1000, 100)
                .InetDiag(4, 10, 1, V6("::ffff:192.0.2.7"), 7001, V6("::ffff:192.0.2.8"), 80, 0, 1000, 101)
                .Done(4)
                .ToArray();
            var rows = new List<SocketEntry>();
            Assert.True(SockDiagParser.Parse(buf, true, 4, rows));
            Assert.Equal(3, rows.Count);

            Assert.Equal(IPAddress.Parse("fe80::1%3"), rows[0].LocalAddress);
            Assert.Equal(3, rows[0].LocalAddress.ScopeId);
            Assert.Equal(IPAddress.Parse("fe80::2%3"), rows[0].RemoteAddress);
            Assert.Equal(6000, rows[0].RemotePort);

            Assert.Equal(IPAddress.IPv6Loopback, rows[1].LocalAddress);
            Assert.Equal(IPAddress.IPv6Any, rows[1].RemoteAddress);
            Assert.Equal(0, rows[1].RemotePort);
            Assert.Equal(TcpState.Listen, rows[1].State);

            // Mapped addresses stay as the kernel has them.
            Assert.Equal(System.Net.Sockets.AddressFamily.InterNetworkV6, rows[2].LocalAddress.AddressFamily);
            Assert.Equal("::ffff:192.0.2.7", rows[2].LocalAddress.ToString());
        }

        [Fact]
        public void UdpRowsHaveNoStateAndNoRemoteUnlessConnected()
        {
            var buf = new NetlinkBuffer()
                .InetDiag(8, 2, 7, V4("127.0.0.1"), 5353, V4("0.0.0.0"), 0, 0, 0, 10)
                .InetDiag(8, 2, 1, V4("127.0.0.1"), 40000, V4("127.0.0.53"), 53, 0, 0, 11)
                .Done(8)
                .ToArray();
            var rows = new List<SocketEntry>();
            Assert.True(SockDiagParser.Parse(buf, tcp: false, sequence: 8, rows));
            Assert.Equal(TransportProtocol.Udp, rows[0].Protocol);
            Assert.Null(rows[0].State);
            Assert.Null(rows[0].RemoteAddress);
            Assert.Null(rows[0].RemotePort);
            Assert.Null(rows[1].State);
            Assert.Equal(IPAddress.Parse("127.0.0.53"), rows[1].RemoteAddress);
            Assert.Equal(53, rows[1].RemotePort);
        }

        [Fact]
        public void AttributesAreHandedToTheHook()
        {
            // rtattr: len 4+5=9 (padded to 12), type INET_DIAG_INFO; then len 8, type 1 (MEMINFO-ish).
            var attrs = new byte[] { 9, 0, 2, 0, 1, 2, 3, 4, 5, 0, 0, 0, 8, 0, 1, 0, 9, 9, 9, 9 };
            var buf = new NetlinkBuffer()
                .InetDiag(6, 2, 1, V4("127.0.0.1"), 1, V4("127.0.0.1"), 2, 0, 0, 5, attrs)
                .Done(6).ToArray();
            var seen = new List<(ushort, byte[])>();
            var rows = new List<SocketEntry>();
            SockDiagParser.Parse(buf, true, 6, rows, (e, type, payload) => seen.Add((type, payload.ToArray())));
            Assert.Equal(2, seen.Count);
            Assert.Equal((ushort)2, seen[0].Item1);
            Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, seen[0].Item2);
            Assert.Equal((ushort)1, seen[1].Item1);
            Assert.Equal(new byte[] { 9, 9, 9, 9 }, seen[1].Item2);
        }
    }

    internal static class ByteArrayExtensions
    {
        /// <summary>An IPv4 address in the 16-byte idiag_src/idiag_dst slot: four bytes, then zeros.</summary>
        public static byte[] Concat12Zeros(this byte[] four)
        {
            var b = new byte[16];
            four.CopyTo(b, 0);
            return b;
        }
    }
}
