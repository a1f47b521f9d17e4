using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;

namespace ConnectionsMonitor.Tests.Windows
{
    public unsafe class IpHelperTableParserTests
    {
        private static readonly DateTime Created = new DateTime(2024, 3, 5, 14, 7, 9, DateTimeKind.Utc).AddTicks(1234567);

        private static List<SocketEntry> Parse(byte[] buffer, IpHelperTableLayout layout)
        {
            var rows = new List<SocketEntry>();
            IpHelperTableParser.Parse(buffer, layout, rows);
            return rows;
        }

        public static TheoryData<string, int, int> Layouts => new TheoryData<string, int, int>
        {
            // struct, documented row size, offset of the first row after dwNumEntries
            { "TcpV4Pid", 24, 4 }, { "TcpV4Module", 160, 8 }, { "TcpV6Pid", 56, 4 }, { "TcpV6Module", 192, 8 },
            { "UdpV4Pid", 12, 4 }, { "UdpV4Module", 160, 8 }, { "UdpV6Pid", 28, 4 }, { "UdpV6Module", 176, 8 },
        };

        private static IpHelperTableLayout LayoutNamed(string name) =>
            (IpHelperTableLayout)typeof(IpHelperTableLayout).GetField(name).GetValue(null);

        [Theory]
        [MemberData(nameof(Layouts))]
        public void Layout_matches_documented_row_size_and_alignment(string name, int rowSize, int firstRowOffset)
        {
            var layout = LayoutNamed(name);
            Assert.Equal(rowSize, layout.RowSize);
            Assert.Equal(firstRowOffset, layout.FirstRowOffset);
            Assert.Same(layout, IpHelperTableLayout.For(layout.Protocol, layout.Family, layout.OwnerModule));
        }

        [Fact]
        public void Mirrors_of_the_C_structs_have_the_documented_sizes()
        {
            // Independent check: the C declarations compiled with natural alignment give these sizes.
            Assert.Equal(24, sizeof(MIB_TCPROW_OWNER_PID));
            Assert.Equal(160, sizeof(MIB_TCPROW_OWNER_MODULE));
            Assert.Equal(56, sizeof(MIB_TCP6ROW_OWNER_PID));
            Assert.Equal(192, sizeof(MIB_TCP6ROW_OWNER_MODULE));
            Assert.Equal(12, sizeof(MIB_UDPROW_OWNER_PID));
            Assert.Equal(160, sizeof(MIB_UDPROW_OWNER_MODULE));
            Assert.Equal(28, sizeof(MIB_UDP6ROW_OWNER_PID));
            Assert.Equal(176, sizeof(MIB_UDP6ROW_OWNER_MODULE));
            // The padding the MODULE rows carry: the timestamp is 8-byte aligned.
            Assert.Equal(16, (int)Marshal.OffsetOf<MIB_UDPROW_OWNER_MODULE>("liCreateTimestamp"));
            Assert.Equal(32, (int)Marshal.OffsetOf<MIB_UDP6ROW_OWNER_MODULE>("liCreateTimestamp"));
            Assert.Equal(56, (int)Marshal.OffsetOf<MIB_TCP6ROW_OWNER_MODULE>("liCreateTimestamp"));
        }

        [Fact]
        public void TcpV4Module_established_and_listener()
        {
            var established = new MIB_TCPROW_OWNER_MODULE
            {
                dwState = 5,
                dwLocalAddr = NativeTable.V4("192.168.1.20"),
                dwLocalPort = NativeTable.Port(50123),
                dwRemoteAddr = NativeTable.V4("93.184.216.34"),
                dwRemotePort = NativeTable.Port(443),
                dwOwningPid = 4242,
                liCreateTimestamp = Created.ToFileTimeUtc(),
            };
            NativeTable.FillModuleInfo(established.OwningModuleInfo);
            var listener = new MIB_TCPROW_OWNER_MODULE
            {
                dwState = 2,
                dwLocalAddr = NativeTable.V4("0.0.0.0"),
                dwLocalPort = NativeTable.Port(135),
                dwRemoteAddr = 0,
                dwRemotePort = 0,
                dwOwningPid = 0, // System Idle owns nothing listening, but PID 0 must stay 0 on TCP rows
                liCreateTimestamp = 0,
            };

            var rows = Parse(NativeTable.Build(8, established, listener), IpHelperTableLayout.TcpV4Module);

            Assert.Equal(2, rows.Count);
            var e = rows[0];
            Assert.Equal(TransportProtocol.Tcp, e.Protocol);
            Assert.Equal(IPAddress.Parse("192.168.1.20"), e.LocalAddress);
            Assert.Equal(50123, e.LocalPort);
            Assert.Equal(IPAddress.Parse("93.184.216.34"), e.RemoteAddress);
            Assert.Equal(443, e.RemotePort);
            Assert.Equal(TcpState.Established, e.State);
            Assert.Equal(4242, e.ProcessId);
            Assert.Equal(Created, e.CreationTime);
            Assert.Equal(DateTimeKind.Utc, e.CreationTime.Value.Kind);
            Assert.Null(e.Inode);
            Assert.Null(e.UserId);

            var l = rows[1];
            Assert.Equal(IPAddress.Any, l.LocalAddress);
            Assert.Equal(135, l.LocalPort);
            Assert.Equal(IPAddress.Any, l.RemoteAddress);
            Assert.Equal(0, l.RemotePort);
            Assert.Equal(TcpState.Listen, l.State);
            Assert.Equal(0, l.ProcessId);
            Assert.Null(l.CreationTime);
        }

        [Fact]
        public void Port_high_bits_are_ignored()
        {
            var row = new MIB_TCPROW_OWNER_PID
            {
                dwState = 11,
                dwLocalAddr = NativeTable.V4("10.0.0.1"),
                dwLocalPort = NativeTable.Port(8080, highBits: 0xBEEF),
                dwRemoteAddr = NativeTable.V4("10.0.0.2"),
                dwRemotePort = NativeTable.Port(1, highBits: 0xFFFF),
                dwOwningPid = 7,
            };
            var e = Assert.Single(Parse(NativeTable.Build(4, row), IpHelperTableLayout.TcpV4Pid));
            Assert.Equal(8080, e.LocalPort);
            Assert.Equal(1, e.RemotePort);
            Assert.Equal(TcpState.TimeWait, e.State);
        }

        [Fact]
        public void TcpV4Pid_all_fields()
        {
            var row = new MIB_TCPROW_OWNER_PID
            {
                dwState = 8,
                dwLocalAddr = NativeTable.V4("127.0.0.1"),
                dwLocalPort = NativeTable.Port(65535),
                dwRemoteAddr = NativeTable.V4("127.0.0.1"),
                dwRemotePort = NativeTable.Port(256),
                dwOwningPid = 0x7FFFFFF0,
            };
            var e = Assert.Single(Parse(NativeTable.Build(4, row), IpHelperTableLayout.TcpV4Pid));
            Assert.Equal(TransportProtocol.Tcp, e.Protocol);
            Assert.Equal(IPAddress.Loopback, e.LocalAddress);
            Assert.Equal(65535, e.LocalPort);
            Assert.Equal(IPAddress.Loopback, e.RemoteAddress);
            Assert.Equal(256, e.RemotePort); // 0x0100: byte order matters
            Assert.Equal(TcpState.CloseWait, e.State);
            Assert.Equal(0x7FFFFFF0, e.ProcessId);
            Assert.Null(e.CreationTime);
        }

        [Fact]
        public void TcpV6Module_link_local_with_scope_and_listener()
        {
            var connected = new MIB_TCP6ROW_OWNER_MODULE
            {
                dwLocalScopeId = 12,
                dwLocalPort = NativeTable.Port(49700, highBits: 0x1234),
                dwRemoteScopeId = 12,
                dwRemotePort = NativeTable.Port(22),
                dwState = 5,
                dwOwningPid = 900,
                liCreateTimestamp = Created.ToFileTimeUtc(),
            };
            NativeTable.V6(connected.ucLocalAddr, "fe80::1c2b:3a4d:5e6f:7081");
            NativeTable.V6(connected.ucRemoteAddr, "fe80::aa:bb");
            NativeTable.FillModuleInfo(connected.OwningModuleInfo);

            var listener = new MIB_TCP6ROW_OWNER_MODULE
            {
                dwLocalScopeId = 0,
                dwLocalPort = NativeTable.Port(445),
                dwState = 2,
                dwOwningPid = 4,
                liCreateTimestamp = Created.AddDays(-1).ToFileTimeUtc(),
            };

            var global = new MIB_TCP6ROW_OWNER_MODULE
            {
                dwLocalScopeId = 4096, // Wine stamps ::1 like this; a scope on a non-link-local address is dropped
                dwLocalPort = NativeTable.Port(5000),
                dwRemoteScopeId = 3,
                dwRemotePort = NativeTable.Port(6000),
                dwState = 3,
                dwOwningPid = 1,
            };
            NativeTable.V6(global.ucLocalAddr, "::1");
            NativeTable.V6(global.ucRemoteAddr, "2001:db8::5");

            var rows = Parse(NativeTable.Build(8, connected, listener, global), IpHelperTableLayout.TcpV6Module);
            Assert.Equal(3, rows.Count);

            var c = rows[0];
            Assert.Equal(TransportProtocol.Tcp, c.Protocol);
            Assert.Equal(IPAddress.Parse("fe80::1c2b:3a4d:5e6f:7081%12"), c.LocalAddress);
            Assert.Equal(12, c.LocalAddress.ScopeId);
            Assert.Equal(49700, c.LocalPort);
            Assert.Equal(IPAddress.Parse("fe80::aa:bb%12"), c.RemoteAddress);
            Assert.Equal(22, c.RemotePort);
            Assert.Equal(TcpState.Established, c.State);
            Assert.Equal(900, c.ProcessId);
            Assert.Equal(Created, c.CreationTime);

            var l = rows[1];
            Assert.Equal(IPAddress.IPv6Any, l.LocalAddress);
            Assert.Equal(445, l.LocalPort);
            Assert.Equal(IPAddress.IPv6Any, l.RemoteAddress);
            Assert.Equal(0, l.RemotePort);
            Assert.Equal(TcpState.Listen, l.State);
            Assert.Equal(4, l.ProcessId);
            Assert.Equal(Created.AddDays(-1), l.CreationTime);

            var g = rows[2];
            Assert.Equal("::1", g.LocalAddress.ToString());
            Assert.Equal(0, g.LocalAddress.ScopeId);
            Assert.Equal("2001:db8::5", g.RemoteAddress.ToString());
            Assert.Equal(TcpState.SynSent, g.State);
            Assert.Null(g.CreationTime);
        }

        [Fact]
        public void TcpV6Pid_all_fields()
        {
            var row = new MIB_TCP6ROW_OWNER_PID
            {
                dwLocalScopeId = 0,
                dwLocalPort = NativeTable.Port(3389, highBits: 0xFFFF),
                dwRemoteScopeId = 0,
                dwRemotePort = NativeTable.Port(61000),
                dwState = 12,
                dwOwningPid = 31337,
            };
            NativeTable.V6(row.ucLocalAddr, "2001:db8:1:2::10");
            NativeTable.V6(row.ucRemoteAddr, "::ffff:192.0.2.7");

            var e = Assert.Single(Parse(NativeTable.Build(4, row), IpHelperTableLayout.TcpV6Pid));
            Assert.Equal(TransportProtocol.Tcp, e.Protocol);
            Assert.Equal(IPAddress.Parse("2001:db8:1:2::10"), e.LocalAddress);
            Assert.Equal(3389, e.LocalPort);
            Assert.Equal(IPAddress.Parse("::ffff:192.0.2.7"), e.RemoteAddress);
            Assert.Equal(61000, e.RemotePort);
            Assert.Equal(TcpState.DeleteTcb, e.State);
            Assert.Equal(31337, e.ProcessId);
            Assert.Null(e.CreationTime);
        }

        [Theory]
        [InlineData(0u)]
        [InlineData(13u)]
        [InlineData(0xFFFFFFFFu)]
        public void Unknown_tcp_state_is_null_not_a_guess(uint state)
        {
            var row = new MIB_TCPROW_OWNER_PID { dwState = state, dwLocalPort = NativeTable.Port(1) };
            Assert.Null(Assert.Single(Parse(NativeTable.Build(4, row), IpHelperTableLayout.TcpV4Pid)).State);
        }

        [Fact]
        public void UdpV4Module_all_fields()
        {
            var bound = new MIB_UDPROW_OWNER_MODULE
            {
                dwLocalAddr = NativeTable.V4("0.0.0.0"),
                dwLocalPort = NativeTable.Port(53, highBits: 0xABCD),
                dwOwningPid = 2012,
                liCreateTimestamp = Created.ToFileTimeUtc(),
                dwFlags = 1, // SpecificPortBind
            };
            NativeTable.FillModuleInfo(bound.OwningModuleInfo);
            var ownerless = new MIB_UDPROW_OWNER_MODULE
            {
                dwLocalAddr = NativeTable.V4("192.168.0.5"),
                dwLocalPort = NativeTable.Port(5353),
                dwOwningPid = 0,
            };

            var rows = Parse(NativeTable.Build(8, bound, ownerless), IpHelperTableLayout.UdpV4Module);
            Assert.Equal(2, rows.Count);
            var u = rows[0];
            Assert.Equal(TransportProtocol.Udp, u.Protocol);
            Assert.Equal(IPAddress.Any, u.LocalAddress);
            Assert.Equal(53, u.LocalPort);
            Assert.Null(u.RemoteAddress);
            Assert.Null(u.RemotePort);
            Assert.Null(u.State);
            Assert.Equal(2012, u.ProcessId);
            Assert.Equal(Created, u.CreationTime);

            // udpmib.h: PID 0 means "unavailable" on UDP rows.
            Assert.Null(rows[1].ProcessId);
            Assert.Equal(IPAddress.Parse("192.168.0.5"), rows[1].LocalAddress);
            Assert.Equal(5353, rows[1].LocalPort);
            Assert.Null(rows[1].CreationTime);
        }

        [Fact]
        public void UdpV4Pid_all_fields()
        {
            var row = new MIB_UDPROW_OWNER_PID
            {
                dwLocalAddr = NativeTable.V4("127.0.0.1"),
                dwLocalPort = NativeTable.Port(123, highBits: 0x0001),
                dwOwningPid = 600,
            };
            var e = Assert.Single(Parse(NativeTable.Build(4, row, row), IpHelperTableLayout.UdpV4Pid).GetRange(1, 1));
            Assert.Equal(TransportProtocol.Udp, e.Protocol);
            Assert.Equal(IPAddress.Loopback, e.LocalAddress);
            Assert.Equal(123, e.LocalPort);
            Assert.Null(e.RemoteAddress);
            Assert.Null(e.RemotePort);
            Assert.Null(e.State);
            Assert.Equal(600, e.ProcessId);
            Assert.Null(e.CreationTime);
        }

        [Fact]
        public void UdpV6Module_all_fields()
        {
            var row = new MIB_UDP6ROW_OWNER_MODULE
            {
                dwLocalScopeId = 7,
                dwLocalPort = NativeTable.Port(546, highBits: 0x8000),
                dwOwningPid = 1500,
                liCreateTimestamp = Created.ToFileTimeUtc(),
                dwFlags = 1,
            };
            NativeTable.V6(row.ucLocalAddr, "fe80::2");
            NativeTable.FillModuleInfo(row.OwningModuleInfo);
            var any = new MIB_UDP6ROW_OWNER_MODULE { dwLocalPort = NativeTable.Port(500), dwOwningPid = 3 };

            var rows = Parse(NativeTable.Build(8, row, any), IpHelperTableLayout.UdpV6Module);
            Assert.Equal(2, rows.Count);
            var u = rows[0];
            Assert.Equal(TransportProtocol.Udp, u.Protocol);
            Assert.Equal(IPAddress.Parse("fe80::2%7"), u.LocalAddress);
            Assert.Equal(7, u.LocalAddress.ScopeId);
            Assert.Equal(546, u.LocalPort);
            Assert.Null(u.RemoteAddress);
            Assert.Null(u.RemotePort);
            Assert.Null(u.State);
            Assert.Equal(1500, u.ProcessId);
            Assert.Equal(Created, u.CreationTime);

            Assert.Equal(IPAddress.IPv6Any, rows[1].LocalAddress);
            Assert.Equal(500, rows[1].LocalPort);
            Assert.Equal(3, rows[1].ProcessId);
            Assert.Null(rows[1].CreationTime);
        }

        [Fact]
        public void UdpV6Pid_all_fields()
        {
            var row = new MIB_UDP6ROW_OWNER_PID
            {
                dwLocalScopeId = 0,
                dwLocalPort = NativeTable.Port(5355, highBits: 0x7777),
                dwOwningPid = 4444,
            };
            NativeTable.V6(row.ucLocalAddr, "::1");
            var e = Assert.Single(Parse(NativeTable.Build(4, row), IpHelperTableLayout.UdpV6Pid));
            Assert.Equal(TransportProtocol.Udp, e.Protocol);
            Assert.Equal(IPAddress.IPv6Loopback, e.LocalAddress);
            Assert.Equal(5355, e.LocalPort);
            Assert.Null(e.RemoteAddress);
            Assert.Null(e.RemotePort);
            Assert.Null(e.State);
            Assert.Equal(4444, e.ProcessId);
            Assert.Null(e.CreationTime);
        }

        [Fact]
        public void Empty_tables_parse_to_nothing()
        {
            // A zero-row table may be just dwNumEntries, or sizeof(table) with one unused row.
            Assert.Empty(Parse(new byte[4], IpHelperTableLayout.TcpV6Module));
            Assert.Empty(Parse(new byte[8 + 192], IpHelperTableLayout.TcpV6Module));
        }

        [Fact]
        public void Trailing_bytes_after_the_counted_rows_are_ignored()
        {
            var row = new MIB_UDPROW_OWNER_PID { dwLocalAddr = NativeTable.V4("1.2.3.4"), dwLocalPort = NativeTable.Port(9) };
            byte[] exact = NativeTable.Build(4, row);
            var larger = new byte[exact.Length + 100];
            exact.CopyTo(larger, 0);
            larger.AsSpan(exact.Length).Fill(0xFF);
            Assert.Single(Parse(larger, IpHelperTableLayout.UdpV4Pid));
        }

        [Theory]
        [MemberData(nameof(Layouts))]
        public void Truncated_buffer_is_a_clear_error(string name, int rowSize, int firstRowOffset)
        {
            var layout = LayoutNamed(name);
            var buffer = new byte[firstRowOffset + 2 * rowSize - 1]; // claims 2 rows, one byte short
            buffer[0] = 2;
            var ex = Assert.Throws<InvalidDataException>(() => Parse(buffer, layout));
            Assert.Contains(layout.StructName, ex.Message);
            Assert.Contains("2 rows", ex.Message);
            Assert.Contains(buffer.Length + " bytes", ex.Message);
        }

        [Fact]
        public void Huge_row_count_does_not_overflow_the_length_check()
        {
            var buffer = new byte[64];
            BitConverter.GetBytes(uint.MaxValue).CopyTo(buffer, 0);
            Assert.Throws<InvalidDataException>(() => Parse(buffer, IpHelperTableLayout.TcpV6Module));
        }

        [Fact]
        public void Buffer_shorter_than_dwNumEntries_is_a_clear_error()
        {
            var ex = Assert.Throws<InvalidDataException>(() => Parse(new byte[3], IpHelperTableLayout.UdpV4Pid));
            Assert.Contains("dwNumEntries", ex.Message);
        }

        [Fact]
        public void Row_of_the_wrong_size_is_rejected()
        {
            Assert.Throws<InvalidDataException>(() => IpHelperTableParser.ParseRow(new byte[23], IpHelperTableLayout.TcpV4Pid));
        }

        [Theory]
        [InlineData("notepad.exe", "notepad")]
        [InlineData("SVCHOST.EXE", "SVCHOST")]
        [InlineData("System", "System")]
        [InlineData("Registry", "Registry")]
        [InlineData("my.exe.tool.exe", "my.exe.tool")]
        public void Process_names_drop_exe_like_Get_Process(string exeFile, string expected)
        {
            Assert.Equal(expected, WindowsProcessCatalog.DisplayName(exeFile));
        }
    }
}
