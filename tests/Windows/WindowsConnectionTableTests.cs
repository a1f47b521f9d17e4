using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.WindowsTests
{
    public sealed class WindowsConnectionTableTests : IClassFixture<LiveSockets>
    {
        // Wine reports PID 0 and no creation time for every row; those checks need real Windows.
        internal const string NeedsRealWindows = "Wine's IP Helper reports no owning PID or creation time";

        private readonly LiveSockets _sockets;

        public WindowsConnectionTableTests(LiveSockets sockets)
        {
            _sockets = sockets;
        }

        private static ConnectionTableResult ReadAll() => new WindowsConnectionTable().Read(new ConnectionQuery());

        /// <summary>
        /// Under Wine, rows equal in every field fold into one. Wine builds the table from /proc/net/tcp and
        /// /proc/net/udp read a page at a time, and the kernel resumes each read by position, so a socket another test
        /// opens or closes between two reads can show a row twice (seen in CI: the same 127.0.0.1 client row twice).
        /// Real Windows copies one consistent table, so there every count stays exact.
        /// </summary>
        private static IEnumerable<SocketEntry> FoldWineRepeats(IEnumerable<SocketEntry> rows) =>
            WineDetection.IsRunningUnderWine ? rows.GroupBy(r => r.ToString()).Select(g => g.First()) : rows;

        private static SocketEntry Single(IEnumerable<SocketEntry> rows, TransportProtocol protocol, IPAddress local, int localPort, int? remotePort)
        {
            var matches = FoldWineRepeats(rows).Where(r => r.Protocol == protocol && r.LocalPort == localPort && r.LocalAddress.Equals(local)
                                          && (remotePort == null || r.RemotePort == remotePort)).ToList();
            Assert.True(matches.Count == 1, string.Format("expected one {0} row {1}:{2} -> :{3}, found {4}: {5}",
                protocol, local, localPort, remotePort, matches.Count, string.Join(" | ", matches)));
            return matches[0];
        }

        private IEnumerable<SocketEntry> OwnRows(ConnectionTableResult result)
        {
            // TCP by both ends: an ephemeral client port may be reused at once by another test's connection to another
            // port (the kernel shares it between different destinations), which a match on the local port alone counted.
            var udpPorts = new HashSet<int> { LiveSockets.PortOf(_sockets.UdpV4), LiveSockets.PortOf(_sockets.UdpV6) };
            bool Ours(SocketEntry r)
            {
                if (r.Protocol != TransportProtocol.Tcp) return udpPorts.Contains(r.LocalPort);
                foreach (var trio in new[] { _sockets.V4, _sockets.V6 })
                {
                    if (r.LocalPort == trio.ListenPort && (r.RemotePort == null || r.RemotePort == 0 || r.RemotePort == trio.ClientPort)) return true;
                    if (r.LocalPort == trio.ClientPort && r.RemotePort == trio.ListenPort) return true;
                }
                return false;
            }
            return FoldWineRepeats(result.Entries.Where(r => Ours(r) && IPAddress.IsLoopback(r.LocalAddress)));
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void Tcp_listener_and_both_ends_of_a_connection(bool v6)
        {
            var trio = v6 ? _sockets.V6 : _sockets.V4;
            var unspecified = v6 ? IPAddress.IPv6Any : IPAddress.Any;
            var result = ReadAll();
            Assert.Empty(result.Warnings);

            var listener = Single(result.Entries, TransportProtocol.Tcp, trio.Address, trio.ListenPort, 0);
            Assert.Equal(TcpState.Listen, listener.State);
            Assert.Equal(unspecified, listener.RemoteAddress);
            Assert.Equal(0, listener.RemotePort);

            var client = Single(result.Entries, TransportProtocol.Tcp, trio.Address, trio.ClientPort, trio.ListenPort);
            Assert.Equal(TcpState.Established, client.State);
            Assert.Equal(trio.Address, client.RemoteAddress);

            var accepted = Single(result.Entries, TransportProtocol.Tcp, trio.Address, trio.ListenPort, trio.ClientPort);
            Assert.Equal(TcpState.Established, accepted.State);
            Assert.Equal(trio.Address, accepted.RemoteAddress);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void Udp_endpoint_has_no_remote_end_and_no_state(bool v6)
        {
            var socket = v6 ? _sockets.UdpV6 : _sockets.UdpV4;
            var row = Single(ReadAll().Entries, TransportProtocol.Udp, v6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, LiveSockets.PortOf(socket), null);
            Assert.Null(row.RemoteAddress);
            Assert.Null(row.RemotePort);
            Assert.Null(row.State);
        }

        [Fact]
        public void Request_selects_protocols_and_families()
        {
            var table = new WindowsConnectionTable();
            var tcpV4 = table.Read(new ConnectionQuery { Protocols = new[] { TransportProtocol.Tcp }, AddressFamilies = new[] { System.Net.Sockets.AddressFamily.InterNetwork } });
            Assert.NotEmpty(OwnRows(tcpV4));
            Assert.All(tcpV4.Entries, r =>
            {
                Assert.Equal(TransportProtocol.Tcp, r.Protocol);
                Assert.Equal(System.Net.Sockets.AddressFamily.InterNetwork, r.LocalAddress.AddressFamily);
            });

            var udpV6 = table.Read(new ConnectionQuery { Protocols = new[] { TransportProtocol.Udp }, AddressFamilies = new[] { System.Net.Sockets.AddressFamily.InterNetworkV6 } });
            Assert.Single(OwnRows(udpV6));
            Assert.All(udpV6.Entries, r =>
            {
                Assert.Equal(TransportProtocol.Udp, r.Protocol);
                Assert.Equal(System.Net.Sockets.AddressFamily.InterNetworkV6, r.LocalAddress.AddressFamily);
            });

            Assert.Empty(table.Read(new ConnectionQuery { AddressFamilies = new[] { System.Net.Sockets.AddressFamily.Unspecified } }).Entries);
        }

        [Fact]
        public void A_too_small_buffer_grows_through_ERROR_INSUFFICIENT_BUFFER_and_is_kept()
        {
            var table = new WindowsConnectionTable(initialBufferSize: 256);
            var first = table.Read(new ConnectionQuery());
            Assert.Empty(first.Warnings);
            Assert.Equal(6, OwnRows(first).Count(r => r.Protocol == TransportProtocol.Tcp));
            Assert.Equal(2, OwnRows(first).Count(r => r.Protocol == TransportProtocol.Udp));
            int grown = table.BufferSize;
            Assert.True(grown > 256);

            // A second read of an unchanged system reuses the buffer it already has.
            table.Read(new ConnectionQuery());
            Assert.Equal(grown, table.BufferSize);
        }

        [Fact]
        public void Own_rows_carry_own_pid_and_a_recent_creation_time()
        {
            Assert.SkipWhen(WineDetection.IsRunningUnderWine, NeedsRealWindows);
            int self = Environment.ProcessId;
            var own = OwnRows(ReadAll()).ToList();
            Assert.Equal(8, own.Count);
            foreach (var row in own)
            {
                Assert.Equal(self, row.ProcessId);
                Assert.NotNull(row.CreationTime);
                Assert.Equal(DateTimeKind.Utc, row.CreationTime.Value.Kind);
                Assert.InRange(row.CreationTime.Value, _sockets.CreatedUtc.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));
            }
        }

        [Fact]
        public void Platform_services_pick_Windows_and_keep_one_table_and_catalogue()
        {
            var platform = PlatformServices.CreateForCurrentOS();
            Assert.IsType<WindowsPlatform>(platform);
            Assert.Equal("Windows", platform.Name);
            Assert.IsType<WindowsConnectionTable>(platform.Connections);
            Assert.IsType<WindowsProcessCatalog>(platform.Processes);
            Assert.Same(platform.Connections, platform.Connections);
            Assert.Same(platform.Processes, platform.Processes);
        }
    }
}
