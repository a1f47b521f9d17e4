using System;
using System.Net;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Alerts.PortScan
{
    /// <summary>
    /// The SYN recogniser and the BPF program the packet socket runs, on byte-exact packets as an AF_PACKET
    /// SOCK_DGRAM socket delivers them (from the IP header on; checksums are correct, though not checked).
    /// </summary>
    public class PortScanSynPacketParserTests
    {
        // A Linux client's SYN: 192.168.7.2:54321 → 192.168.7.1:22, TCP options MSS, SACK-permitted, timestamps, NOP, window scale.
        private const string V4Syn =
            "4500003c1c46400040068f22c0a80702c0a80701d43100161234567800000000" +
            "a002faf09e850000020405b40402080a0001e2400000000001030307";
        private const string V4SynIpOptions =
            "460000301c464000400603790a0102030a010204010101009c401f9012345678" +
            "000000006002faf060b00000020405b4";
        private const string V4SynAck =
            "4500002c1c46400040068f32c0a80701c0a807020016d431123456789abcdef0" +
            "6012faf057300000020405b4";
        private const string V4Rst =
            "450000281c46400040068f36c0a80702c0a80701d43100161234567800000000" +
            "5004faf0e8a70000";
        private const string V4SynRst =
            "450000281c46400040068f36c0a80702c0a80701d43100161234567800000000" +
            "5006faf0e8a50000";
        private const string V4Udp =
            "450000201c46400040118f33c0a80702c0a8070114e90035000c000061626364";
        private const string V4LaterFragment =
            "450000281c4600b94006ce7dc0a80702c0a80701d43100161234567800000000" +
            "5002faf0e8a90000";
        private const string V6Syn =
            "600000000028064020010db800000000000000000000000220010db800000000" +
            "0000000000000001c35001bb1234567800000000a002faf0e1a00000020405b4" +
            "0402080a0001e2400000000001030307";
        private const string V6SynHopByHop =
            "60000000001c004020010db800000000000000000000000220010db800000000" +
            "00000000000000010600010400000000c351001912345678000000005002faf0" +
            "2d660000";
        private const string V6SynLinkLocal =
            "6000000000140640fe800000000000000000000000000002fe80000000000000" +
            "0000000000000001c352001712345678000000005002faf08bd70000";
        private const string V6SynAck =
            "600000000014064020010db800000000000000000000000120010db800000000" +
            "000000000000000201bbc350123456789abcdef05012faf0b2070000";

        private static byte[] Hex(string s) => Convert.FromHexString(s);

        private static (IPAddress Src, int SrcPort, IPAddress Dst, int DstPort)? Parse(string hex, long scope = 0)
        {
            if (!SynPacketParser.TryParseSyn(Hex(hex), scope, out var s, out int sp, out var d, out int dp)) return null;
            return (s, sp, d, dp);
        }

        [Fact]
        public void Ipv4SynWithTcpOptions()
        {
            var p = Parse(V4Syn).Value;
            Assert.Equal(IPAddress.Parse("192.168.7.2"), p.Src);
            Assert.Equal(54321, p.SrcPort);
            Assert.Equal(IPAddress.Parse("192.168.7.1"), p.Dst);
            Assert.Equal(22, p.DstPort);
        }

        [Fact]
        public void Ipv4SynWithIpOptionsFindsTcpAfterThem()
        {
            // IHL 6: four bytes of IP options (NOP NOP NOP EOL) before TCP.
            var p = Parse(V4SynIpOptions).Value;
            Assert.Equal(IPAddress.Parse("10.1.2.3"), p.Src);
            Assert.Equal(40000, p.SrcPort);
            Assert.Equal(IPAddress.Parse("10.1.2.4"), p.Dst);
            Assert.Equal(8080, p.DstPort);
        }

        [Fact]
        public void Ipv6SynWithoutExtensionHeaders()
        {
            var p = Parse(V6Syn).Value;
            Assert.Equal(IPAddress.Parse("2001:db8::2"), p.Src);
            Assert.Equal(50000, p.SrcPort);
            Assert.Equal(IPAddress.Parse("2001:db8::1"), p.Dst);
            Assert.Equal(443, p.DstPort);
        }

        [Fact]
        public void Ipv6SynAfterAHopByHopHeader()
        {
            var p = Parse(V6SynHopByHop).Value;
            Assert.Equal(50001, p.SrcPort);
            Assert.Equal(25, p.DstPort);
        }

        [Fact]
        public void Ipv6LinkLocalAddressesGetTheInterfaceAsScope()
        {
            var p = Parse(V6SynLinkLocal, scope: 7).Value;
            Assert.Equal(7, p.Src.ScopeId);
            Assert.Equal(7, p.Dst.ScopeId);
            Assert.Equal(23, p.DstPort);
            Assert.Equal(0, Parse(V6Syn, scope: 7).Value.Src.ScopeId); // global addresses have no zone
        }

        [Theory]
        [InlineData(nameof(V4SynAck))]
        [InlineData(nameof(V4Rst))]
        [InlineData(nameof(V4SynRst))]
        [InlineData(nameof(V4Udp))]
        [InlineData(nameof(V4LaterFragment))]
        [InlineData(nameof(V6SynAck))]
        public void OtherPacketsAreNoSyn(string name)
        {
            Assert.Null(Parse(Packet(name)));
        }

        [Fact]
        public void TruncatedPacketsAreRejectedWithoutThrowing()
        {
            foreach (var hex in new[] { V4Syn, V4SynIpOptions, V6Syn, V6SynHopByHop })
            {
                var whole = Hex(hex);
                int needed = hex == V4Syn ? 20 + 14 : hex == V4SynIpOptions ? 24 + 14 : hex == V6Syn ? 40 + 14 : 48 + 14;
                for (int n = 0; n < whole.Length; n++)
                    Assert.Equal(n >= needed, SynPacketParser.TryParseSyn(whole.AsSpan(0, n), 0, out _, out _, out _, out _));
            }
        }

        [Fact]
        public void GarbageIsRejectedWithoutThrowing()
        {
            var random = new Random(12);
            var buffer = new byte[300];
            for (int i = 0; i < 20000; i++)
            {
                random.NextBytes(buffer);
                int n = random.Next(buffer.Length);
                SynPacketParser.TryParseSyn(buffer.AsSpan(0, n), 3, out _, out _, out _, out _);
            }
            // Version 5, an IHL below 5, a total length shorter than the headers, an extension chain that loops on.
            var v4 = Hex(V4Syn);
            var bad = (byte[])v4.Clone(); bad[0] = 0x55;
            Assert.False(SynPacketParser.TryParseSyn(bad, 0, out _, out _, out _, out _));
            bad = (byte[])v4.Clone(); bad[0] = 0x44;
            Assert.False(SynPacketParser.TryParseSyn(bad, 0, out _, out _, out _, out _));
            bad = (byte[])v4.Clone(); bad[2] = 0; bad[3] = 30;
            Assert.False(SynPacketParser.TryParseSyn(bad, 0, out _, out _, out _, out _));
            var chain = new byte[40 + 8 * 20];
            chain[0] = 0x60; chain[6] = 0;
            for (int i = 0; i < 20; i++) chain[40 + 8 * i] = 0; // hop-by-hop after hop-by-hop …
            Assert.False(SynPacketParser.TryParseSyn(chain, 0, out _, out _, out _, out _));
        }

        // ---- The BPF program, run by a small interpreter of the instructions it uses ----

        private const uint PacketHost = 0, PacketBroadcast = 1, PacketOutgoing = 4;

        [Theory]
        [InlineData(nameof(V4Syn), 0x0800u, PacketHost, true)]
        [InlineData(nameof(V4SynIpOptions), 0x0800u, PacketHost, true)]
        [InlineData(nameof(V6Syn), 0x86ddu, PacketHost, true)]
        [InlineData(nameof(V6SynHopByHop), 0x86ddu, PacketHost, true)] // left to the parser
        [InlineData(nameof(V4Syn), 0x0800u, PacketOutgoing, false)]    // our own SYN
        [InlineData(nameof(V6Syn), 0x86ddu, PacketOutgoing, false)]
        [InlineData(nameof(V4Syn), 0x0800u, PacketBroadcast, false)]
        [InlineData(nameof(V4SynAck), 0x0800u, PacketHost, false)]
        [InlineData(nameof(V4Rst), 0x0800u, PacketHost, false)]
        [InlineData(nameof(V4Udp), 0x0800u, PacketHost, false)]
        [InlineData(nameof(V4LaterFragment), 0x0800u, PacketHost, false)]
        [InlineData(nameof(V6SynAck), 0x86ddu, PacketHost, false)]
        [InlineData(nameof(V4Syn), 0x0806u, PacketHost, false)]        // not IP (ARP's EtherType)
        public void TheFilterKeepsOnlyIncomingSyns(string name, uint protocol, uint pktType, bool kept)
        {
            uint snap = RunFilter(Hex(Packet(name)), protocol, pktType);
            Assert.Equal(kept ? SynPacketParser.SnapLength : 0u, snap);
        }

        private static string Packet(string name) =>
            (string)typeof(PortScanSynPacketParserTests).GetField(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static).GetValue(null);

        /// <summary>The classic BPF semantics (linux/filter.h) of the instructions the program uses; a load past the end drops the packet.</summary>
        private static uint RunFilter(byte[] packet, uint protocol, uint pktType)
        {
            var program = SynPacketParser.FilterProgram();
            uint a = 0, x = 0;
            for (int pc = 0; pc < program.Length; pc++)
            {
                var i = program[pc];
                switch (i.Code)
                {
                    case SynPacketParser.BPF_LD_W_ABS:
                        if (i.K == SynPacketParser.SKF_AD_OFF + SynPacketParser.SKF_AD_PROTOCOL) a = protocol;
                        else if (i.K == SynPacketParser.SKF_AD_OFF + SynPacketParser.SKF_AD_PKTTYPE) a = pktType;
                        else { if (i.K + 4 > packet.Length) return 0; a = (uint)(packet[i.K] << 24 | packet[i.K + 1] << 16 | packet[i.K + 2] << 8 | packet[i.K + 3]); }
                        break;
                    case SynPacketParser.BPF_LD_H_ABS:
                        if (i.K + 2 > packet.Length) return 0;
                        a = (uint)(packet[i.K] << 8 | packet[i.K + 1]);
                        break;
                    case SynPacketParser.BPF_LD_B_ABS:
                        if (i.K >= packet.Length) return 0;
                        a = packet[i.K];
                        break;
                    case SynPacketParser.BPF_LD_B_IND:
                        if (x + i.K >= packet.Length) return 0;
                        a = packet[x + i.K];
                        break;
                    case SynPacketParser.BPF_LDX_B_MSH:
                        if (i.K >= packet.Length) return 0;
                        x = (uint)(packet[i.K] & 0xf) * 4;
                        break;
                    case SynPacketParser.BPF_ALU_AND_K: a &= i.K; break;
                    case SynPacketParser.BPF_JMP_JEQ_K: pc += a == i.K ? i.Jt : i.Jf; break;
                    case SynPacketParser.BPF_JMP_JSET_K: pc += (a & i.K) != 0 ? i.Jt : i.Jf; break;
                    case SynPacketParser.BPF_RET_K: return i.K;
                    default: throw new InvalidOperationException("instruction 0x" + i.Code.ToString("x") + " at " + pc + " is not interpreted here");
                }
            }
            throw new InvalidOperationException("the program ran off its end");
        }
    }
}
