using System.Collections.Generic;
using System.IO;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    public class ProcNetParserTests
    {
        private const string Tcp4 =
"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 100 0 0 10 0\n" +
"   1: 0302010A:C738 22D8B85D:01BB 01 00000000:00000000 02:000A7D8A 00000000     0        0 777 2 0000000000000000 20 4 30 10 -1\n" +
"   2: 0302010A:C739 22D8B85D:01BB 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n";

        // ::1 is words 00000000 00000000 00000000 01000000 on a little-endian host;
        // fe80::1 is 000080FE 00000000 00000000 01000000.
        private const string Tcp6 =
"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
"   0: 00000000000000000000000001000000:1B58 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 100 1 0000000000000000 100 0 0 10 0\n" +
"   1: 000080FE000000000000000001000000:1388 000080FE000000000000000002000000:1770 01 00000000:00000000 00:00000000 00000000  1000        0 99 1 0000000000000000 20 4 30 10 -1\n" +
"   2: 0000000000000000FFFF0000070200C0:1B59 0000000000000000FFFF0000080200C0:0050 01 00000000:00000000 00:00000000 00000000  1000        0 101 1 0000000000000000 20 4 30 10 -1\n";

        private const string Udp4 =
"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
"  100: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 10 2 0000000000000000 0\n" +
"  101: 0100007F:9C40 3500007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 11 2 0000000000000000 0\n";

        [Fact]
        public void ParsesTcp4WithBigEndianPortsAndHostOrderAddresses()
        {
            var rows = new List<SocketEntry>();
            ProcNetParser.Parse(Tcp4, true, 2, rows);
            Assert.Equal(3, rows.Count);
            Assert.Equal(IPAddress.Parse("127.0.0.1"), rows[0].LocalAddress);
            Assert.Equal(8080, rows[0].LocalPort);
            Assert.Equal(IPAddress.Any, rows[0].RemoteAddress);
            Assert.Equal(0, rows[0].RemotePort);
            Assert.Equal(TcpState.Listen, rows[0].State);
            Assert.Equal(1000u, rows[0].UserId);
            Assert.Equal(12345ul, rows[0].Inode);

            Assert.Equal(IPAddress.Parse("10.1.2.3"), rows[1].LocalAddress);
            Assert.Equal(51000, rows[1].LocalPort);
            Assert.Equal(IPAddress.Parse("93.184.216.34"), rows[1].RemoteAddress);
            Assert.Equal(443, rows[1].RemotePort);
            Assert.Equal(TcpState.Established, rows[1].State);

            Assert.Equal(TcpState.TimeWait, rows[2].State);
            Assert.Null(rows[2].Inode);
        }

        [Fact]
        public void ParsesTcp6WordOrder()
        {
            Assert.True(System.BitConverter.IsLittleEndian, "the literal table is what a little-endian kernel prints");
            var rows = new List<SocketEntry>();
            ProcNetParser.Parse(Tcp6, true, 10, rows);
            Assert.Equal(3, rows.Count);
            Assert.Equal(IPAddress.IPv6Loopback, rows[0].LocalAddress);
            Assert.Equal(7000, rows[0].LocalPort);
            Assert.Equal(IPAddress.IPv6Any, rows[0].RemoteAddress);
            Assert.Equal(0, rows[0].RemotePort);
            Assert.Equal(TcpState.Listen, rows[0].State);

            // /proc has no interface index, so no scope id on this path.
            Assert.Equal(IPAddress.Parse("fe80::1"), rows[1].LocalAddress);
            Assert.Equal(IPAddress.Parse("fe80::2"), rows[1].RemoteAddress);
            Assert.Equal(5000, rows[1].LocalPort);
            Assert.Equal(6000, rows[1].RemotePort);

            Assert.Equal("::ffff:192.0.2.7", rows[2].LocalAddress.ToString());
            Assert.Equal("::ffff:192.0.2.8", rows[2].RemoteAddress.ToString());
            Assert.Equal(80, rows[2].RemotePort);
        }

        [Fact]
        public void ParsesUdp()
        {
            var rows = new List<SocketEntry>();
            ProcNetParser.Parse(Udp4, false, 2, rows);
            Assert.Equal(2, rows.Count);
            Assert.Equal(TransportProtocol.Udp, rows[0].Protocol);
            Assert.Equal(5353, rows[0].LocalPort);
            Assert.Null(rows[0].State);
            Assert.Null(rows[0].RemoteAddress);
            Assert.Null(rows[0].RemotePort);
            Assert.Equal(IPAddress.Parse("127.0.0.53"), rows[1].RemoteAddress);
            Assert.Equal(53, rows[1].RemotePort);
            Assert.Equal(40000, rows[1].LocalPort);
        }

        [Theory]
        [InlineData("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000\n")]
        [InlineData("   0: 0100007G:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 1\n")]
        [InlineData("   0: 0100007F1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 1\n")]
        public void MalformedLinesSayWhere(string line)
        {
            var ex = Assert.Throws<InvalidDataException>(() => ProcNetParser.Parse("header\n" + line, true, 2, new List<SocketEntry>()));
            Assert.Contains("line 2", ex.Message);
        }

        [Fact]
        public void ParsesStatLineWithAwkwardComm()
        {
            var stat = System.Text.Encoding.ASCII.GetBytes("4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n");
            Assert.True(ProcFs.TryParseStat(stat, out var comm, out ulong start));
            Assert.Equal("a) b (c)", System.Text.Encoding.ASCII.GetString(comm.ToArray()));
            Assert.Equal(987654ul, start);
        }

        [Theory]
        [InlineData("4242 (a) b (c)) S 31337 4242 4242 0 -1\n", true, 31337)]
        [InlineData("1 (systemd) S 0 1 1 0 -1\n", true, 0)]
        [InlineData("7 (x 9 9) R 12", true, 12)]
        [InlineData("7 (x) R\n", false, 0)]
        [InlineData("7 (x) R -1 7", false, 0)]
        [InlineData("7 x R 12", false, 0)]
        public void ParsesTheParentPidAfterTheLastParenthesis(string stat, bool ok, int parent)
        {
            Assert.Equal(ok, ProcFs.TryParseParentPid(System.Text.Encoding.ASCII.GetBytes(stat), out int got));
            Assert.Equal(parent, got);
        }

        [Theory]
        [InlineData("socket:[12345]", true, 12345ul)]
        [InlineData("socket:[1]", true, 1ul)]
        [InlineData("pipe:[12345]", false, 0ul)]
        [InlineData("/dev/null", false, 0ul)]
        [InlineData("socket:[12a45]", false, 0ul)]
        [InlineData("socket:[]", false, 0ul)]
        public void ParsesSocketLinks(string link, bool ok, ulong inode)
        {
            Assert.Equal(ok, ProcFs.TryParseSocketLink(System.Text.Encoding.ASCII.GetBytes(link), out ulong got));
            if (ok) Assert.Equal(inode, got);
        }
    }
}
