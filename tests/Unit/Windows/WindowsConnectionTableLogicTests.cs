using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Windows
{
    /// <summary>
    /// The retry / fallback / warning logic of WindowsConnectionTable, driven on any OS by a scripted
    /// table source that answers the way GetExtendedTcpTable / GetExtendedUdpTable do.
    /// </summary>
    public class WindowsConnectionTableLogicTests
    {
        private const uint Success = 0, InsufficientBuffer = 122, InvalidParameter = 87, NotSupported = 50;

        /// <summary>Per table: a queue of forced error codes, then the table's bytes (copied when they fit).</summary>
        private sealed class ScriptedIpHelper
        {
            public readonly Dictionary<IpHelperTableLayout, byte[]> Tables = new Dictionary<IpHelperTableLayout, byte[]>();
            public readonly Dictionary<IpHelperTableLayout, Queue<(uint error, uint reportedSize)>> Script =
                new Dictionary<IpHelperTableLayout, Queue<(uint, uint)>>();
            public readonly List<(IpHelperTableLayout layout, int bufferLength)> Calls = new List<(IpHelperTableLayout, int)>();

            public uint Fill(IpHelperTableLayout layout, byte[] buffer, ref uint size)
            {
                Calls.Add((layout, buffer.Length));
                Assert.Equal((uint)buffer.Length, size);
                if (Script.TryGetValue(layout, out var queue) && queue.Count > 0)
                {
                    var (error, reported) = queue.Dequeue();
                    if (error == InsufficientBuffer) size = reported;
                    return error;
                }
                if (!Tables.TryGetValue(layout, out byte[] table)) return InvalidParameter;
                if (table.Length > buffer.Length)
                {
                    size = (uint)table.Length;
                    return InsufficientBuffer;
                }
                table.CopyTo(buffer, 0);
                return Success;
            }

            public void Enqueue(IpHelperTableLayout layout, uint error, uint reportedSize = 0)
            {
                if (!Script.TryGetValue(layout, out var queue)) Script[layout] = queue = new Queue<(uint, uint)>();
                queue.Enqueue((error, reportedSize));
            }
        }

        private static byte[] TcpV4ModuleTable(int rows)
        {
            var list = Enumerable.Range(0, rows).Select(i => new MIB_TCPROW_OWNER_MODULE
            {
                dwState = 2,
                dwLocalAddr = NativeTable.V4("127.0.0.1"),
                dwLocalPort = NativeTable.Port(10000 + i),
                dwOwningPid = 100,
            }).ToArray();
            return NativeTable.Build(8, list);
        }

        private static byte[] UdpV6PidTable(int port) =>
            NativeTable.Build(4, new MIB_UDP6ROW_OWNER_PID { dwLocalPort = NativeTable.Port(port), dwOwningPid = 7 });

        private static ConnectionQuery TcpV4Only => new ConnectionQuery { Protocols = new[] { TransportProtocol.Tcp }, AddressFamilies = new[] { System.Net.Sockets.AddressFamily.InterNetwork } };

        [Fact]
        public void Table_that_keeps_growing_is_retried_until_it_fits_and_the_buffer_is_kept()
        {
            var ip = new ScriptedIpHelper();
            ip.Tables[IpHelperTableLayout.TcpV4Module] = TcpV4ModuleTable(40);
            // The size query says 2 KB, but by the fill the table has grown: 122 again, twice.
            ip.Enqueue(IpHelperTableLayout.TcpV4Module, InsufficientBuffer, 2048);
            ip.Enqueue(IpHelperTableLayout.TcpV4Module, InsufficientBuffer, 4096);
            var table = new WindowsConnectionTable(64, ip.Fill);

            var result = table.Read(TcpV4Only);

            Assert.Empty(result.Warnings);
            Assert.Equal(40, result.Entries.Count);
            Assert.Equal(Enumerable.Range(10000, 40), result.Entries.Select(e => e.LocalPort));
            Assert.Equal(new[] { 64, 2048 + 512 + 160 * 16, 4096 + 1024 + 160 * 16 }, ip.Calls.Select(c => c.bufferLength));

            ip.Calls.Clear();
            Assert.Equal(40, table.Read(TcpV4Only).Entries.Count);
            Assert.Single(ip.Calls); // the retained buffer fits at once: one system call per table
            Assert.Equal(table.BufferSize, ip.Calls[0].bufferLength);
        }

        [Fact]
        public void Module_class_failure_falls_back_to_pid_class_with_a_warning()
        {
            var ip = new ScriptedIpHelper();
            ip.Tables[IpHelperTableLayout.UdpV6Pid] = UdpV6PidTable(5353);
            var request = new ConnectionQuery { Protocols = new[] { TransportProtocol.Udp }, AddressFamilies = new[] { System.Net.Sockets.AddressFamily.InterNetworkV6 } };

            var result = new WindowsConnectionTable(1024, ip.Fill).Read(request);

            var entry = Assert.Single(result.Entries);
            Assert.Equal(TransportProtocol.Udp, entry.Protocol);
            Assert.Equal(5353, entry.LocalPort);
            Assert.Null(entry.CreationTime);
            var warning = Assert.Single(result.Warnings);
            Assert.Contains("MIB_UDP6TABLE_OWNER_MODULE", warning);
            Assert.Contains("MIB_UDP6TABLE_OWNER_PID", warning);
            Assert.Contains("error 87", warning);
            Assert.Contains("creation time", warning);
            Assert.Equal(new[] { IpHelperTableLayout.UdpV6Module, IpHelperTableLayout.UdpV6Pid }, ip.Calls.Select(c => c.layout));
        }

        [Fact]
        public void One_unreadable_table_is_a_warning_and_the_others_still_arrive()
        {
            var ip = new ScriptedIpHelper();
            ip.Tables[IpHelperTableLayout.TcpV4Module] = TcpV4ModuleTable(2);
            // (ERROR_NOT_SUPPORTED would mean "no IPv6 here": an empty table, see UnsupportedFamilyTests.)
            ip.Enqueue(IpHelperTableLayout.TcpV6Module, InvalidParameter);
            ip.Enqueue(IpHelperTableLayout.TcpV6Pid, 31); // ERROR_GEN_FAILURE

            var result = new WindowsConnectionTable(4096, ip.Fill).Read(new ConnectionQuery { Protocols = new[] { TransportProtocol.Tcp } });

            Assert.Equal(2, result.Entries.Count);
            var warning = Assert.Single(result.Warnings);
            Assert.Contains("Tcp IPv6 table not read", warning);
            Assert.Contains("error 87", warning);
            Assert.Contains("error 31", warning);
        }

        [Fact]
        public void Every_table_failing_is_a_clear_exception()
        {
            var ip = new ScriptedIpHelper(); // knows no tables: every call answers ERROR_INVALID_PARAMETER
            var ex = Assert.Throws<InvalidOperationException>(() => new WindowsConnectionTable(4096, ip.Fill).Read(new ConnectionQuery()));
            Assert.Contains("No connection table could be read", ex.Message);
            foreach (var name in new[] { "Tcp IPv4", "Tcp IPv6", "Udp IPv4", "Udp IPv6" }) Assert.Contains(name, ex.Message);
            Assert.Equal(8, ip.Calls.Count);
        }

        [Fact]
        public void Endless_growth_gives_up_after_a_bounded_number_of_attempts()
        {
            var ip = new ScriptedIpHelper();
            for (int i = 0; i < 100; i++) ip.Enqueue(IpHelperTableLayout.TcpV4Module, InsufficientBuffer, (uint)(1000 + i * 1000));
            ip.Tables[IpHelperTableLayout.TcpV4Pid] = NativeTable.Build(4, new MIB_TCPROW_OWNER_PID { dwState = 2, dwLocalPort = NativeTable.Port(80) });

            var result = new WindowsConnectionTable(64, ip.Fill).Read(TcpV4Only);

            Assert.Equal(80, Assert.Single(result.Entries).LocalPort);
            Assert.Contains("error 122", Assert.Single(result.Warnings));
            Assert.InRange(ip.Calls.Count(c => c.layout == IpHelperTableLayout.TcpV4Module), 2, 10);
        }

        [Fact]
        public void Only_the_requested_tables_are_read()
        {
            var ip = new ScriptedIpHelper();
            ip.Tables[IpHelperTableLayout.TcpV4Module] = TcpV4ModuleTable(1);
            new WindowsConnectionTable(4096, ip.Fill).Read(TcpV4Only);
            Assert.Equal(new[] { IpHelperTableLayout.TcpV4Module }, ip.Calls.Select(c => c.layout));
            Assert.Empty(new WindowsConnectionTable(4096, ip.Fill).Read(new ConnectionQuery { AddressFamilies = new[] { System.Net.Sockets.AddressFamily.Unspecified } }).Entries);
        }

        [Fact]
        public void Windows_platform_exposes_one_table_and_one_catalogue()
        {
            var platform = new WindowsPlatform();
            Assert.Equal("Windows", platform.Name);
            Assert.IsType<WindowsConnectionTable>(platform.Connections);
            Assert.IsType<WindowsProcessCatalog>(platform.Processes);
            Assert.Same(platform.Connections, platform.Connections);
            Assert.Same(platform.Processes, platform.Processes);
        }
    }
}
