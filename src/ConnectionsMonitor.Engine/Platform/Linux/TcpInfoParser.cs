using System;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Decodes the byte counters of struct tcp_info (linux/tcp.h), as INET_DIAG_INFO carries it, by
    /// offset: the struct has grown with kernel versions and the kernel copies only as much as it has,
    /// so each field is read only when the attribute is long enough to hold it. No system calls here.
    /// </summary>
    /// <remarks>
    /// What the kernel counts is sequence space, not payload:
    /// <list type="bullet">
    /// <item>tcpi_bytes_acked (4.2) is how far snd_una advanced: payload the peer acknowledged, plus
    /// one for our SYN on the side that opened the connection (the accepting side's counter starts after
    /// it), plus one once our FIN is acknowledged.</item>
    /// <item>tcpi_bytes_received (4.1) is how far rcv_nxt advanced: payload, plus one for the peer's FIN.
    /// The peer's SYN is never counted.</item>
    /// <item>tcpi_bytes_sent / tcpi_bytes_retrans (4.19) count payload only, but every transmission:
    /// sent minus retransmitted is the payload put on the wire once, acknowledged or still in flight.</item>
    /// </list>
    /// BytesSent reports what the peer acknowledged (payload delivered, not merely transmitted, and
    /// retransmissions are not traffic the application made). Both acked and (sent − retrans) are upper
    /// bounds of it: acked is over by the SYN/FIN it counted, sent − retrans by the payload in flight. Their
    /// minimum is exact whenever nothing is in flight (a quiet connection, and every connection that closed
    /// gracefully) or the counter holds no SYN/FIN; otherwise it is at most 2 over. BytesReceived is
    /// bytes_received less the peer's FIN when the state says one arrived (CLOSE_WAIT, LAST_ACK, CLOSING)
    /// or the caller knows it did; for a destroyed socket (state CLOSE) the kernel no longer tells.
    /// </remarks>
    internal static class TcpInfoParser
    {
        // Offsets in struct tcp_info (all kernels lay it out the same; later kernels only append).
        internal const int StateOffset = 0;            // __u8 tcpi_state
        internal const int BytesAckedOffset = 120;     // __u64, after pacing_rate (104) and max_pacing_rate (112)
        internal const int BytesReceivedOffset = 128;  // __u64
        internal const int BytesSentOffset = 200;      // __u64, after delivered (192) and delivered_ce (196)
        internal const int BytesRetransOffset = 208;   // __u64

        // Linux TCP states (include/net/tcp_states.h) that matter to the counters.
        internal const byte TCP_CLOSE = 7;
        internal const byte TCP_CLOSE_WAIT = 8;
        internal const byte TCP_LAST_ACK = 9;
        internal const byte TCP_LISTEN = 10;
        internal const byte TCP_CLOSING = 11;

        /// <summary>The raw fields; null where the attribute is too short to hold them.</summary>
        internal struct Counters
        {
            internal byte? State;
            internal ulong? BytesAcked;
            internal ulong? BytesReceived;
            internal ulong? BytesSent;
            internal ulong? BytesRetrans;
        }

        internal static Counters Read(ReadOnlySpan<byte> info) => new Counters
        {
            State = info.Length > StateOffset ? info[StateOffset] : (byte?)null,
            BytesAcked = U64(info, BytesAckedOffset),
            BytesReceived = U64(info, BytesReceivedOffset),
            BytesSent = U64(info, BytesSentOffset),
            BytesRetrans = U64(info, BytesRetransOffset),
        };

        private static ulong? U64(ReadOnlySpan<byte> b, int offset) =>
            b.Length >= offset + 8 ? SockDiagParser.ReadHost<ulong>(b, offset) : (ulong?)null;

        /// <summary>Payload the peer acknowledged (see the remarks); null when the kernel has no bytes_acked.</summary>
        internal static long? PayloadSent(in Counters c)
        {
            if (c.BytesAcked == null || c.State == TCP_LISTEN) return null;
            ulong acked = c.BytesAcked.Value;
            // Kernels 4.2–4.18 have no bytes_sent: acked alone, which may hold the SYN and FIN (≤ 2 over).
            if (c.BytesSent != null && c.BytesRetrans != null)
            {
                ulong once = c.BytesSent.Value >= c.BytesRetrans.Value ? c.BytesSent.Value - c.BytesRetrans.Value : 0;
                if (once < acked) acked = once;
            }
            return ToLong(acked);
        }

        /// <summary>
        /// Payload received; null when the kernel has no bytes_received. <paramref name="finReceived"/>
        /// says whether the peer's FIN is known to have arrived when the state cannot tell (a destroyed
        /// socket is in CLOSE whichever way it got there).
        /// </summary>
        internal static long? PayloadReceived(in Counters c, bool finReceived = false)
        {
            if (c.BytesReceived == null || c.State == TCP_LISTEN) return null;
            ulong received = c.BytesReceived.Value;
            bool fin = finReceived || c.State == TCP_CLOSE_WAIT || c.State == TCP_LAST_ACK || c.State == TCP_CLOSING;
            if (fin && received > 0) received--;
            return ToLong(received);
        }

        /// <summary>
        /// Sets BytesSent/BytesReceived on a TCP row from its tcp_info. Listeners stay null: a listening
        /// socket moves no payload itself (the kernel reports zeros); its accepted connections are rows of
        /// their own. Rows without tcp_info (TIME_WAIT, SYN_RECV request sockets) never get here and stay null.
        /// </summary>
        internal static void Apply(SocketEntry entry, ReadOnlySpan<byte> info, bool finReceived = false)
        {
            var c = Read(info);
            entry.BytesSent = PayloadSent(c);
            entry.BytesReceived = PayloadReceived(c, finReceived);
        }

        /// <summary>The <see cref="SockDiagAttributeHandler"/> for dumps that asked for INET_DIAG_INFO.</summary>
        internal static void OnAttribute(SocketEntry entry, ushort type, ReadOnlySpan<byte> payload)
        {
            if (type == SockDiagParser.INET_DIAG_INFO) Apply(entry, payload);
        }

        private static long ToLong(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;
    }
}
