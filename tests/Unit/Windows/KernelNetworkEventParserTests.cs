using System;
using System.Collections.Generic;
using System.Linq;
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
        [InlineData(31)] // accept IPv6
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

        // ---- Accept events: TcpIp_TypeGroup2 (opcode 15, AcceptIPV4) and TcpIp_TypeGroup4 (opcode 31, AcceptIPV6) ----

        /// <summary>
        /// PID, size, daddr (the peer), saddr (this host), dport, sport in network order, then mss, sackopt,
        /// tsopt, wsopt (uint16), rcvwin (uint32), rcvwinscale, sndwinscale (sint16), seqnum (uint32) and
        /// connid (a pointer of the logger's size): the documented TcpIp_TypeGroup2 / TypeGroup4 layout.
        /// </summary>
        internal static byte[] AcceptUserData(uint pid, IPEndPoint local, IPEndPoint remote, int pointerSize = 8)
        {
            var b = new List<byte>();
            b.AddRange(BitConverter.GetBytes(pid));
            b.AddRange(BitConverter.GetBytes(0u));            // size: 0 for an accept
            b.AddRange(remote.Address.GetAddressBytes());    // daddr
            b.AddRange(local.Address.GetAddressBytes());     // saddr
            b.Add((byte)(remote.Port >> 8)); b.Add((byte)remote.Port);   // dport
            b.Add((byte)(local.Port >> 8)); b.Add((byte)local.Port);     // sport
            b.AddRange(BitConverter.GetBytes((ushort)1460)); // mss
            b.AddRange(BitConverter.GetBytes((ushort)1));    // sackopt
            b.AddRange(BitConverter.GetBytes((ushort)0));    // tsopt
            b.AddRange(BitConverter.GetBytes((ushort)1));    // wsopt
            b.AddRange(BitConverter.GetBytes(65535u));       // rcvwin
            b.AddRange(BitConverter.GetBytes((short)8));     // rcvwinscale
            b.AddRange(BitConverter.GetBytes((short)7));     // sndwinscale
            b.AddRange(BitConverter.GetBytes(0x44444444u));  // seqnum
            b.AddRange(new byte[pointerSize]);               // connid
            return b.ToArray();
        }

        [Fact]
        public void Tcp_ipv4_accept_is_decoded_byte_exactly()
        {
            // 198.51.100.7:40022 connected to this host's 10.1.2.3:22, accepted by PID 1234; written out by hand.
            byte[] data =
            {
                0xD2, 0x04, 0x00, 0x00,             // PID 1234
                0x00, 0x00, 0x00, 0x00,             // size 0
                198, 51, 100, 7,                    // daddr: the peer
                10, 1, 2, 3,                        // saddr: this host
                0x9C, 0x56,                         // dport 40022
                0x00, 0x16,                         // sport 22
                0xB4, 0x05, 0x01, 0x00,             // mss 1460, sackopt 1
                0x00, 0x00, 0x01, 0x00,             // tsopt 0, wsopt 1
                0xFF, 0xFF, 0x00, 0x00,             // rcvwin 65535
                0x08, 0x00, 0x07, 0x00,             // rcvwinscale 8, sndwinscale 7
                0x00, 0x00, 0x00, 0x00,             // seqnum
                0, 0, 0, 0, 0, 0, 0, 0,             // connid (64-bit)
            };
            Assert.True(KernelNetworkEventParser.TryParseAccept(TcpIp, 15, 2, data, out var a));
            Assert.Equal(1234u, a.ProcessId);
            Assert.Equal(IPAddress.Parse("10.1.2.3"), a.LocalAddress.ToIPAddress());
            Assert.Equal(22, a.LocalPort);
            Assert.Equal(IPAddress.Parse("198.51.100.7"), a.RemoteAddress.ToIPAddress());
            Assert.Equal(40022, a.RemotePort);
            Assert.Equal(AddressFamily.InterNetwork, a.Family);
        }

        [Fact]
        public void Tcp_ipv6_accept_is_decoded_byte_exactly()
        {
            var local = new IPEndPoint(IPAddress.Parse("2001:db8::10"), 443);
            var remote = new IPEndPoint(IPAddress.Parse("2001:db8:ffff::7"), 61000);
            byte[] data = AcceptUserData(0x00ABCDEF, local, remote);
            Assert.Equal(44 + 20 + 8, data.Length); // connid at 64, where TraceEvent reads it
            // The offsets the parser relies on, checked against the bytes themselves.
            Assert.Equal(0x20, data[8]);  // daddr starts at 8: 2001:db8:ffff::7
            Assert.Equal(0x07, data[23]);
            Assert.Equal(0x10, data[39]); // saddr ends at 39: 2001:db8::10
            Assert.Equal(new byte[] { 0xEE, 0x48 }, new[] { data[40], data[41] }); // dport 61000 at 40
            Assert.Equal(new byte[] { 0x01, 0xBB }, new[] { data[42], data[43] }); // sport 443 at 42

            Assert.True(KernelNetworkEventParser.TryParseAccept(TcpIp, 31, 2, data, out var a));
            Assert.Equal(0x00ABCDEFu, a.ProcessId);
            Assert.Equal(local.Address, a.LocalAddress.ToIPAddress());
            Assert.Equal(443, a.LocalPort);
            Assert.Equal(remote.Address, a.RemoteAddress.ToIPAddress());
            Assert.Equal(61000, a.RemotePort);
            Assert.Equal(AddressFamily.InterNetworkV6, a.Family);
        }

        [Theory]
        [InlineData(false, 4)]
        [InlineData(false, 8)]
        [InlineData(true, 4)]
        [InlineData(true, 8)]
        public void Accepts_of_either_logger_pointer_size_decode_alike(bool v6, int pointerSize)
        {
            var local = v6 ? new IPEndPoint(IPAddress.Parse("fe80::1"), 3389) : new IPEndPoint(IPAddress.Parse("192.168.1.20"), 3389);
            var remote = v6 ? new IPEndPoint(IPAddress.Parse("fe80::99"), 50505) : new IPEndPoint(IPAddress.Parse("192.168.1.99"), 50505);
            Assert.True(KernelNetworkEventParser.TryParseAccept(TcpIp, (byte)(v6 ? 31 : 15), 2, AcceptUserData(4, local, remote, pointerSize), out var a));
            Assert.Equal(4u, a.ProcessId);
            Assert.Equal(local.Address, a.LocalAddress.ToIPAddress());
            Assert.Equal(3389, a.LocalPort);
            Assert.Equal(remote.Address, a.RemoteAddress.ToIPAddress());
            Assert.Equal(50505, a.RemotePort);
        }

        [Fact]
        public void Accepts_too_short_of_version_0_or_of_other_classes_and_opcodes_are_ignored()
        {
            var local = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 80);
            var remote = new IPEndPoint(IPAddress.Parse("10.0.0.2"), 51000);
            byte[] v4 = AcceptUserData(1, local, remote);
            // The six leading fields are all that is read: 20 bytes (IPv4), 44 (IPv6).
            Assert.False(KernelNetworkEventParser.TryParseAccept(TcpIp, 15, 2, new ReadOnlySpan<byte>(v4, 0, 19), out _));
            Assert.True(KernelNetworkEventParser.TryParseAccept(TcpIp, 15, 2, new ReadOnlySpan<byte>(v4, 0, 20), out _));
            Assert.False(KernelNetworkEventParser.TryParseAccept(TcpIp, 31, 2, new byte[43], out _));
            Assert.True(KernelNetworkEventParser.TryParseAccept(TcpIp, 31, 2, new byte[44], out _));
            Assert.False(KernelNetworkEventParser.TryParseAccept(TcpIp, 15, 2, ReadOnlySpan<byte>.Empty, out _));
            // EventVersion 0 (Windows XP) had another layout.
            Assert.False(KernelNetworkEventParser.TryParseAccept(TcpIp, 15, 0, v4, out _));
            Assert.True(KernelNetworkEventParser.TryParseAccept(TcpIp, 15, 1, v4, out _));
            Assert.True(KernelNetworkEventParser.TryParseAccept(TcpIp, 15, 3, v4, out _));
            // UdpIp has no accepts; connects (12, 28), sends and receives are not accepts; unknown classes neither.
            Assert.False(KernelNetworkEventParser.TryParseAccept(UdpIp, 15, 2, v4, out _));
            Assert.False(KernelNetworkEventParser.TryParseAccept(Guid.NewGuid(), 15, 2, v4, out _));
            foreach (byte opcode in new byte[] { 10, 11, 12, 13, 14, 16, 17, 18, 26, 27, 28, 29, 30, 32, 34 })
                Assert.False(KernelNetworkEventParser.TryParseAccept(TcpIp, opcode, 2, v4.Concat(new byte[24]).ToArray(), out _));
        }

        [Fact]
        public void Accept_pid_0xFFFFFFFF_is_unknown()
        {
            var ep = new IPEndPoint(IPAddress.Loopback, 80);
            Assert.True(KernelNetworkEventParser.TryParseAccept(TcpIp, 15, 2, AcceptUserData(uint.MaxValue, ep, ep), out var a));
            Assert.Equal(NetworkEvent.UnknownProcessId, a.ProcessId);
        }

        [Fact]
        public void Accept_events_are_never_traffic()
        {
            // Full, valid accept payloads: the byte counters' parser refuses them, whatever their length.
            var local = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 80);
            var remote = new IPEndPoint(IPAddress.Parse("10.0.0.2"), 51000);
            var local6 = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 80);
            var remote6 = new IPEndPoint(IPAddress.Parse("2001:db8::2"), 51000);
            Assert.False(KernelNetworkEventParser.TryParse(TcpIp, 15, 2, AcceptUserData(7, local, remote), out _));
            Assert.False(KernelNetworkEventParser.TryParse(TcpIp, 31, 2, AcceptUserData(7, local6, remote6), out _));

            // And the session's router hands an accept to the accept sink only, a send to the traffic sink only,
            // with both sinks listening (a session used for both would still keep them apart).
            var traffic = new List<NetworkEvent>();
            var accepts = new List<TcpAcceptEvent>();
            EtwNetworkSession.Route(TcpIp, 15, 2, AcceptUserData(7, local, remote), traffic.Add, accepts.Add);
            EtwNetworkSession.Route(TcpIp, 31, 2, AcceptUserData(7, local6, remote6), traffic.Add, accepts.Add);
            Assert.Empty(traffic);
            Assert.Equal(2, accepts.Count);
            EtwNetworkSession.Route(TcpIp, 10, 2, UserData(true, true, 7, 100, local, remote), traffic.Add, accepts.Add);
            Assert.Single(traffic);
            Assert.Equal(2, accepts.Count);

            // A byte counter fed through the router, as WindowsTrafficCounters feeds its aggregator, counts nothing for accepts.
            var aggregator = new TrafficAggregator();
            EtwNetworkSession.Route(TcpIp, 15, 2, AcceptUserData(7, local, remote), e => aggregator.Apply(e), null);
            EtwNetworkSession.Route(TcpIp, 31, 2, AcceptUserData(7, local6, remote6), e => aggregator.Apply(e), null);
            Assert.Equal(0, aggregator.OpenCounterCount);
            // Without an accept sink, accepts go nowhere (a byte-counter session ignores them).
            EtwNetworkSession.Route(TcpIp, 15, 2, AcceptUserData(7, local, remote), null, null);
        }
    }
}
