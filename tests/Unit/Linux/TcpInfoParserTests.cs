using System;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>struct tcp_info byte counters, decoded by offset from buffers laid out by hand after linux/tcp.h.</summary>
    public class TcpInfoParserTests
    {
        /// <summary>A tcp_info as kernel 6.x fills it (280 bytes), with a distinct value in every field around the counters.</summary>
        internal static byte[] TcpInfo(byte state, ulong acked, ulong received, ulong sent, ulong retrans, int length = 280)
        {
            var b = new byte[280];
            b[0] = state;
            for (int i = 8; i < 104; i += 4) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(i), 0xA0000000u + (uint)i); // rto … total_retrans
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(104), 0x1111111111111111); // pacing_rate
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(112), 0x2222222222222222); // max_pacing_rate
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(120), acked);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(128), received);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(136), 0x33333333); // segs_out
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(140), 0x44444444); // segs_in
            for (int i = 144; i < 200; i += 4) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(i), 0xB0000000u + (uint)i); // notsent … delivered_ce
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(200), sent);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(208), retrans);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(216), 0x55555555); // dsack_dups
            return b.AsSpan(0, length).ToArray();
        }

        private const byte Established = 1, FinWait1 = 4, FinWait2 = 5, Close = 7, CloseWait = 8, LastAck = 9, Listen = 10, Closing = 11;

        [Fact]
        public void ReadsEachCounterAtItsOffset()
        {
            var c = TcpInfoParser.Read(TcpInfo(Established, 0x0102030405060708, 0x1112131415161718, 0x2122232425262728, 0x3132333435363738));
            Assert.Equal((byte)Established, c.State);
            Assert.Equal(0x0102030405060708ul, c.BytesAcked);
            Assert.Equal(0x1112131415161718ul, c.BytesReceived);
            Assert.Equal(0x2122232425262728ul, c.BytesSent);
            Assert.Equal(0x3132333435363738ul, c.BytesRetrans);
        }

        [Theory]
        // The lengths at which each field appears: 4.1 adds bytes_received after bytes_acked (both at once
        // in practice), 4.19 bytes_sent and bytes_retrans; older and shorter structs leave them out.
        [InlineData(0, false, false, false, false)]
        [InlineData(104, false, false, false, false)]   // 3.x: up to total_retrans
        [InlineData(127, false, false, false, false)]   // one byte short of bytes_acked
        [InlineData(128, true, false, false, false)]
        [InlineData(135, true, false, false, false)]
        [InlineData(136, true, true, false, false)]     // 4.1/4.2
        [InlineData(160, true, true, false, false)]     // 4.6-ish
        [InlineData(207, true, true, false, false)]
        [InlineData(208, true, true, true, false)]
        [InlineData(215, true, true, true, false)]
        [InlineData(216, true, true, true, true)]       // 4.19
        [InlineData(280, true, true, true, true)]       // 6.x
        public void AFieldIsReadOnlyWhenTheAttributeHoldsAllOfIt(int length, bool acked, bool received, bool sent, bool retrans)
        {
            var c = TcpInfoParser.Read(TcpInfo(Established, 10, 20, 30, 0, length));
            Assert.Equal(acked ? 10ul : (ulong?)null, c.BytesAcked);
            Assert.Equal(received ? 20ul : (ulong?)null, c.BytesReceived);
            Assert.Equal(sent ? 30ul : (ulong?)null, c.BytesSent);
            Assert.Equal(retrans ? 0ul : (ulong?)null, c.BytesRetrans);
            var e = new SocketEntry();
            TcpInfoParser.Apply(e, TcpInfo(Established, 10, 20, 30, 0, length));
            Assert.Equal(acked ? 10L : (long?)null, e.BytesSent);
            Assert.Equal(received ? 20L : (long?)null, e.BytesReceived);
        }

        [Theory]
        // state, acked, sent, retrans -> payload acknowledged
        [InlineData(Established, 1001, 1000, 0, 1000)]        // opener, quiet: acked holds the SYN
        [InlineData(Established, 1000, 1000, 0, 1000)]        // accepter, quiet
        [InlineData(Established, 501, 1000, 0, 501)]          // opener, 500 acked, 500 in flight: over by the SYN (the documented ≤ 2 case)
        [InlineData(Established, 500, 1000, 0, 500)]          // accepter, 500 in flight: exact
        [InlineData(FinWait2, 1002, 1000, 0, 1000)]           // our FIN acknowledged too
        [InlineData(Close, 8, 7, 0, 7)]                       // destroyed accepter after LAST_ACK: FIN counted in acked
        [InlineData(Established, 1000, 1500, 500, 1000)]      // retransmissions do not count
        [InlineData(Established, 1, 0, 0, 0)]                 // opener that sent nothing
        public void SentIsPayloadAcknowledgedWithoutSynFinOrRetransmissions(byte state, ulong acked, ulong sent, ulong retrans, long expected)
        {
            var c = TcpInfoParser.Read(TcpInfo(state, acked, 0, sent, retrans));
            Assert.Equal(expected, TcpInfoParser.PayloadSent(c));
        }

        [Fact]
        public void WithoutBytesSentTheAckedCounterIsReportedAsIs()
        {
            // 4.2–4.18: nothing to tell the SYN from payload, so acked stands (documented: up to 2 over).
            Assert.Equal(1001L, TcpInfoParser.PayloadSent(TcpInfoParser.Read(TcpInfo(Established, 1001, 0, 1000, 0, 200))));
        }

        [Theory]
        [InlineData(Established, false, 1000)]
        [InlineData(FinWait1, false, 1000)]
        [InlineData(CloseWait, false, 999)]   // the peer's FIN took one sequence number
        [InlineData(LastAck, false, 999)]
        [InlineData(Closing, false, 999)]
        [InlineData(Close, false, 1000)]      // destroyed: the state cannot tell
        [InlineData(Close, true, 999)]        // … but a read saw the FIN arrive
        public void ReceivedLeavesOutThePeersFin(byte state, bool finKnown, long expected)
        {
            Assert.Equal(expected, TcpInfoParser.PayloadReceived(TcpInfoParser.Read(TcpInfo(state, 0, 1000, 0, 0)), finKnown));
        }

        [Fact]
        public void ListenersHaveNoCounters()
        {
            var e = new SocketEntry();
            TcpInfoParser.Apply(e, TcpInfo(Listen, 0, 0, 0, 0));
            Assert.Null(e.BytesSent);
            Assert.Null(e.BytesReceived);
        }

        [Fact]
        public void TheHookIgnoresOtherAttributes()
        {
            var e = new SocketEntry();
            TcpInfoParser.OnAttribute(e, 1 /* INET_DIAG_MEMINFO */, TcpInfo(Established, 5, 6, 5, 0));
            Assert.Null(e.BytesSent);
            TcpInfoParser.OnAttribute(e, SockDiagParser.INET_DIAG_INFO, TcpInfo(Established, 5, 6, 5, 0));
            Assert.Equal(5L, e.BytesSent);
            Assert.Equal(6L, e.BytesReceived);
        }

        /// <summary>
        /// The offsets against the running kernel: getsockopt(TCP_INFO) hands out the same struct, so after
        /// moving known amounts each raw field must hold exactly what the kernel counts (SYN included).
        /// </summary>
        [LinuxFact]
        public async Task OffsetsMatchTheRunningKernel()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(listener.LocalEndPoint);
            using var server = listener.Accept();
            await TcpPair.ExchangeAsync(client, server, 123_457, 4_321);

            TcpInfoParser.Counters c = default, s = default;
            LoopbackSockets.WaitUntil(() =>
            {
                c = TcpInfoParser.Read(GetTcpInfo(client));
                s = TcpInfoParser.Read(GetTcpInfo(server));
                return c.BytesAcked == 123_457 + 1 && s.BytesAcked == 4_321;
            });
            Assert.Equal((byte)Established, c.State);
            Assert.Equal(123_457ul + 1, c.BytesAcked);   // the opener's counter holds its SYN
            Assert.Equal(4_321ul, c.BytesReceived);
            Assert.Equal(123_457ul, c.BytesSent - c.BytesRetrans);
            Assert.Equal(4_321ul, s.BytesAcked);
            Assert.Equal(123_457ul, s.BytesReceived);
            Assert.Equal(4_321ul, s.BytesSent - s.BytesRetrans);
            Assert.Equal(123_457L, TcpInfoParser.PayloadSent(c));
            Assert.Equal(4_321L, TcpInfoParser.PayloadSent(s));
        }

        private static byte[] GetTcpInfo(Socket s)
        {
            var buf = new byte[512];
            int n = s.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, buf);
            return buf.AsSpan(0, n).ToArray();
        }
    }
}
