using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;
using Xunit;

namespace ConnectionsMonitor.Tests.Windows
{
    /// <summary>
    /// Byte-exact UserData of the kernel TcpIp / UdpIp send and receive events, laid out field by field as
    /// the MSNT_SystemTrace MOF classes document them (EventVersion 2), including the trailing fields the
    /// parser does not read.
    /// </summary>
    public class KernelNetworkEventParserTests
    {
        private static readonly Guid TcpIp = new Guid("9a280ac0-c8e0-11d1-84e2-00c04fb998a2");
        private static readonly Guid UdpIp = new Guid("bf3a50c5-a9c9-4988-a005-2df0b7c80f80");

        /// <summary>
        /// PID, size (little-endian uint32), daddr, saddr (network order), dport, sport (network order),
        /// then startime/endtime on TCP sends, seqnum, and connid (a pointer of the logger's size).
        /// </summary>
        internal static byte[] UserData(bool tcp, bool send, uint pid, uint size, IPEndPoint local, IPEndPoint remote, int pointerSize = 8)
        {
            var b = new List<byte>();
            b.AddRange(BitConverter.GetBytes(pid));          // little-endian on every Windows architecture
            b.AddRange(BitConverter.GetBytes(size));
            b.AddRange(remote.Address.GetAddressBytes());    // daddr, network byte order
            b.AddRange(local.Address.GetAddressBytes());     // saddr
            b.Add((byte)(remote.Port >> 8)); b.Add((byte)remote.Port);   // dport, network byte order
            b.Add((byte)(local.Port >> 8)); b.Add((byte)local.Port);     // sport
            if (tcp && send)
            {
                b.AddRange(BitConverter.GetBytes(0x11111111u)); // startime
                b.AddRange(BitConverter.GetBytes(0x22222222u)); // endtime
            }
            b.AddRange(BitConverter.GetBytes(0x33333333u));     // seqnum
            b.AddRange(new byte[pointerSize]);                   // connid
            return b.ToArray();
        }

        [Fact]
        public void Tcp_ipv4_send_is_decoded_byte_exactly()
        {
            // 10.1.2.3:50000 -> 93.184.216.34:443, PID 4242, 1460 bytes, written out by hand.
            byte[] data =
            {
                0x92, 0x10, 0x00, 0x00,             // PID 4242
                0xB4, 0x05, 0x00, 0x00,             // size 1460
                93, 184, 216, 34,                   // daddr
                10, 1, 2, 3,                        // saddr
                0x01, 0xBB,                         // dport 443
                0xC3, 0x50,                         // sport 50000
                0, 0, 0, 0, 0, 0, 0, 0,             // startime, endtime
                0, 0, 0, 0,                         // seqnum
                0, 0, 0, 0, 0, 0, 0, 0,             // connid (64-bit)
            };
            Assert.True(KernelNetworkEventParser.TryParse(TcpIp, 10, 2, data, out var e));
            Assert.Equal(TransportProtocol.Tcp, e.Protocol);
            Assert.Equal(TrafficDirection.Send, e.Direction);
            Assert.Equal(4242u, e.ProcessId);
            Assert.Equal(1460u, e.Size);
            Assert.Equal(IPAddress.Parse("10.1.2.3"), e.LocalAddress.ToIPAddress());
            Assert.Equal(50000, e.LocalPort);
            Assert.Equal(IPAddress.Parse("93.184.216.34"), e.RemoteAddress.ToIPAddress());
            Assert.Equal(443, e.RemotePort);
            Assert.Equal(AddressFamily.InterNetwork, e.Family);
        }

        public static IEnumerable<object[]> AllTraffic()
        {
            foreach (bool tcp in new[] { true, false })
            foreach (bool v6 in new[] { false, true })
            foreach (bool send in new[] { true, false })
            foreach (int pointerSize in new[] { 4, 8 })
                yield return new object[] { tcp, v6, send, pointerSize };
        }

        [Theory]
        [MemberData(nameof(AllTraffic))]
        public void Tcp_and_udp_v4_and_v6_send_and_receive(bool tcp, bool v6, bool send, int pointerSize)
        {
            var local = v6 ? new IPEndPoint(IPAddress.Parse("2001:db8::10"), 51515) : new IPEndPoint(IPAddress.Parse("192.168.7.9"), 51515);
            var remote = v6 ? new IPEndPoint(IPAddress.Parse("2606:4700::1111"), 53) : new IPEndPoint(IPAddress.Parse("1.1.1.1"), 53);
            byte opcode = (byte)((v6 ? 26 : 10) + (send ? 0 : 1));
            byte[] data = UserData(tcp, send, 777, 65000, local, remote, pointerSize);

            Assert.True(KernelNetworkEventParser.TryParse(tcp ? TcpIp : UdpIp, opcode, 2, data, out var e));
            Assert.Equal(tcp ? TransportProtocol.Tcp : TransportProtocol.Udp, e.Protocol);
            Assert.Equal(send ? TrafficDirection.Send : TrafficDirection.Receive, e.Direction);
            Assert.Equal(777u, e.ProcessId);
            Assert.Equal(65000u, e.Size);
            Assert.Equal(local.Address, e.LocalAddress.ToIPAddress());
            Assert.Equal(local.Port, e.LocalPort);
            Assert.Equal(remote.Address, e.RemoteAddress.ToIPAddress());
            Assert.Equal(remote.Port, e.RemotePort);
            Assert.Equal(v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, e.Family);
        }

        [Theory]
        [InlineData(12)] // connect
        [InlineData(13)] // disconnect
        [InlineData(14)] // retransmit: bytes already counted by the send
        [InlineData(15)] // accept
        [InlineData(17)] // fail
        [InlineData(18)] // TCP copy: the same received bytes again
        [InlineData(28)]
        [InlineData(34)]
        public void Other_opcodes_are_ignored(byte opcode)
        {
            var ep = new IPEndPoint(IPAddress.Loopback, 80);
            Assert.False(KernelNetworkEventParser.TryParse(TcpIp, opcode, 2, UserData(true, false, 1, 1, ep, ep), out _));
        }

        [Fact]
        public void Other_classes_version_0_and_short_payloads_are_ignored()
        {
            var ep = new IPEndPoint(IPAddress.Loopback, 80);
            byte[] data = UserData(true, true, 1, 1, ep, ep);
            Assert.False(KernelNetworkEventParser.TryParse(Guid.NewGuid(), 10, 2, data, out _));
            Assert.False(KernelNetworkEventParser.TryParse(TcpIp, 10, 0, data, out _)); // XP layout: PID last
            Assert.False(KernelNetworkEventParser.TryParse(TcpIp, 10, 2, new ReadOnlySpan<byte>(data, 0, 19), out _));
            Assert.True(KernelNetworkEventParser.TryParse(TcpIp, 10, 2, new ReadOnlySpan<byte>(data, 0, 20), out _));
            // An IPv6 opcode needs 44 bytes up to sport.
            Assert.False(KernelNetworkEventParser.TryParse(UdpIp, 27, 2, new byte[43], out _));
            Assert.True(KernelNetworkEventParser.TryParse(UdpIp, 27, 2, new byte[44], out _));
        }

        [Fact]
        public void Pid_0xFFFFFFFF_is_unknown()
        {
            var ep = new IPEndPoint(IPAddress.Loopback, 80);
            Assert.True(KernelNetworkEventParser.TryParse(UdpIp, 11, 2, UserData(false, false, uint.MaxValue, 5, ep, ep), out var e));
            Assert.False(e.HasKnownProcess);
        }
    }
}
