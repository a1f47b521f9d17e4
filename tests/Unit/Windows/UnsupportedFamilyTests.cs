using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;
using System.Net.Sockets;

namespace ConnectionsMonitor.Tests.Windows
{
    /// <summary>
    /// Issue #11 (Windows first run): with IPv6 disabled GetExtendedTcpTable/GetExtendedUdpTable(AF_INET6)
    /// fail, which used to keep every read "incomplete" so counters of closed connections were never
    /// released. A scripted table source stands in for IP Helper; a scripted event source for ETW.
    /// </summary>
    public class UnsupportedFamilyTests
    {
        private const uint NotSupported = 50, AfNotSupported = 10047, InvalidParameter = 87;
        private static readonly IPEndPoint Local = new IPEndPoint(IPAddress.Parse("10.0.0.5"), 50001);
        private static readonly IPEndPoint Remote = new IPEndPoint(IPAddress.Parse("93.184.216.34"), 443);

        /// <summary>IP Helper with IPv4 tables (one TCP connection while <see cref="Connected"/>) and IPv6 tables answering <see cref="V6Error"/>.</summary>
        private sealed class NoIPv6IpHelper
        {
            public bool Connected = true;
            public uint V6Error = NotSupported;
            public readonly List<IpHelperTableLayout> Calls = new List<IpHelperTableLayout>();

            public uint Fill(IpHelperTableLayout layout, byte[] buffer, ref uint size)
            {
                Calls.Add(layout);
                if (layout.Family == System.Net.Sockets.AddressFamily.InterNetworkV6) return V6Error;
                byte[] table = layout == IpHelperTableLayout.TcpV4Module && Connected
                    ? NativeTable.OneEstablishedV4(Local, Remote, 100)
                    : new byte[4];
                return NativeTable.Answer(table, buffer, ref size);
            }
        }

        private sealed class ScriptedSource : INetworkEventSource
        {
            public Action<NetworkEvent> Sink;
            public string Failure => null;
            public string Start(Action<NetworkEvent> sink) { Sink = sink; return null; }
            public void Dispose() { }
        }

        [Theory]
        [InlineData(NotSupported)]
        [InlineData(AfNotSupported)]
        public void An_unsupported_family_is_an_empty_table_without_warning(uint error)
        {
            var ip = new NoIPv6IpHelper { V6Error = error };
            var result = new WindowsConnectionTable(4096, ip.Fill).Read(new ConnectionQuery());
            var row = Assert.Single(result.Entries);
            Assert.Equal(50001, row.LocalPort);
            Assert.Empty(result.Warnings);
            // Both classes were tried for each IPv6 table before calling it absent.
            Assert.Contains(IpHelperTableLayout.TcpV6Module, ip.Calls);
            Assert.Contains(IpHelperTableLayout.TcpV6Pid, ip.Calls);
        }

        [Fact]
        public void Any_other_ipv6_error_is_still_a_warning()
        {
            var ip = new NoIPv6IpHelper { V6Error = InvalidParameter };
            var result = new WindowsConnectionTable(4096, ip.Fill).Read(new ConnectionQuery());
            Assert.Single(result.Entries);
            Assert.Equal(2, result.Warnings.Count);
            Assert.All(result.Warnings, w => Assert.Contains("IPv6 table not read", w));
        }

        [Fact]
        public void Every_family_unsupported_is_an_empty_read_not_an_exception()
        {
            uint Fill(IpHelperTableLayout layout, byte[] buffer, ref uint size) => NotSupported;
            var result = new WindowsConnectionTable(4096, Fill).Read(new ConnectionQuery());
            Assert.Empty(result.Entries);
            Assert.Empty(result.Warnings);
        }

        [Fact]
        public void With_ipv6_disabled_a_closed_connection_still_reaches_the_closed_feed()
        {
            var source = new ScriptedSource();
            var traffic = new WindowsTrafficCounters(source, new TrafficAggregator());
            var ip = new NoIPv6IpHelper();
            var table = new WindowsConnectionTable(4096, ip.Fill, traffic);

            table.Read(new ConnectionQuery());
            source.Sink(NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Send, 100, 700, Local, Remote));
            Assert.Equal(700, Assert.Single(table.Read(new ConnectionQuery()).Entries).BytesSent);

            ip.Connected = false;
            Assert.Empty(table.Read(new ConnectionQuery()).Entries);
            var closed = Assert.Single(traffic.DrainClosed());
            Assert.Equal(700, closed.BytesSent);
            Assert.Equal(0, traffic.Aggregator.OpenCounterCount);
        }

        [Fact]
        public void With_an_unreadable_ipv6_table_the_closed_connection_is_not_claimed_closed()
        {
            // The IPv6 table could hold the connection (a dual-mode socket's IPv4 peer): no proof it closed.
            var source = new ScriptedSource();
            var traffic = new WindowsTrafficCounters(source, new TrafficAggregator());
            var ip = new NoIPv6IpHelper { V6Error = InvalidParameter };
            var table = new WindowsConnectionTable(4096, ip.Fill, traffic);
            table.Read(new ConnectionQuery());
            source.Sink(NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Send, 100, 700, Local, Remote));
            table.Read(new ConnectionQuery());
            ip.Connected = false;
            table.Read(new ConnectionQuery());
            Assert.Empty(traffic.DrainClosed());
            Assert.Equal(1, traffic.Aggregator.OpenCounterCount);
        }

        [Fact]
        public void A_read_of_both_tcp_tables_closes_tcp_counters_and_leaves_udp_ones()
        {
            var agg = new TrafficAggregator();
            agg.Apply(NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Send, 100, 20, Local, Remote));
            agg.Apply(NetworkEvent.Create(TransportProtocol.Udp, TrafficDirection.Send, 100, 10, Local, Remote));
            agg.Merge(new List<SocketEntry>(), agg.MarkTableRead(), TableCoverage.Tcp);
            var closed = Assert.Single(agg.DrainClosed());
            Assert.Equal(TransportProtocol.Tcp, closed.Protocol);
            Assert.Equal(20, closed.BytesSent);
            Assert.Equal(1, agg.OpenCounterCount);
        }

        [Fact]
        public void One_family_of_a_protocol_proves_nothing_closed()
        {
            var agg = new TrafficAggregator();
            agg.Apply(NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Send, 100, 20, Local, Remote));
            agg.Merge(new List<SocketEntry>(), agg.MarkTableRead(), TableCoverage.TcpV4 | TableCoverage.Udp);
            Assert.Empty(agg.DrainClosed());
            Assert.Equal(1, agg.OpenCounterCount);
        }

        private static NetworkEvent Connection(int i) =>
            NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Send, 100, 1,
                new IPEndPoint(IPAddress.Parse("10.0.0.5"), 20000 + i), Remote);

        [Fact]
        public void Counters_no_read_can_close_are_bounded_keeping_the_most_recently_active()
        {
            var agg = new TrafficAggregator(closedCapacity: 100, unmatchedCapacity: 5);
            for (int i = 0; i < 10; i++)
            {
                agg.MarkTableRead(); // each connection's last event is one mark later than the previous one's
                agg.Apply(Connection(i));
            }
            // Nothing ever covered (every read failed somewhere), nothing matched: only the bound frees memory.
            agg.Merge(new List<SocketEntry>(), agg.MarkTableRead(), TableCoverage.None);
            Assert.Equal(0, agg.UncountedEventCount); // ten counters fit under twice the bound
            Assert.Equal(5, agg.OpenCounterCount);
            Assert.Equal(5, agg.EvictedCounterCount);
            Assert.Empty(agg.DrainClosed()); // given up, not reported as closed with partial bytes

            // The five kept are the latest: a row for connection 9 finds its byte, one for connection 4 finds none.
            var row = new SocketEntry
            {
                Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("10.0.0.5"), LocalPort = 20009,
                RemoteAddress = Remote.Address, RemotePort = Remote.Port, ProcessId = 100, State = TcpState.Established,
            };
            var evictedRow = new SocketEntry
            {
                Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("10.0.0.5"), LocalPort = 20004,
                RemoteAddress = Remote.Address, RemotePort = Remote.Port, ProcessId = 100, State = TcpState.Established,
            };
            var rows = new List<SocketEntry> { row, evictedRow };
            agg.Merge(rows, agg.MarkTableRead(), TableCoverage.None);
            Assert.Equal(1, row.BytesSent);
            Assert.Equal(0, evictedRow.BytesSent);
        }

        [Fact]
        public void Matched_counters_are_never_evicted_however_many()
        {
            var agg = new TrafficAggregator(closedCapacity: 100, unmatchedCapacity: 3);
            var rows = new List<SocketEntry>();
            for (int i = 0; i < 5; i++)
            {
                agg.Apply(Connection(i));
                rows.Add(new SocketEntry
                {
                    Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("10.0.0.5"), LocalPort = 20000 + i,
                    RemoteAddress = Remote.Address, RemotePort = Remote.Port, ProcessId = 100, State = TcpState.Established,
                });
            }
            agg.Merge(rows, agg.MarkTableRead(), TableCoverage.None);
            Assert.Equal(5, agg.OpenCounterCount);
            Assert.Equal(0, agg.EvictedCounterCount);
            Assert.All(rows, r => Assert.Equal(1, r.BytesSent));
        }

        [Fact]
        public void Without_any_merge_events_of_new_connections_stop_being_counted_at_twice_the_bound()
        {
            var agg = new TrafficAggregator(closedCapacity: 100, unmatchedCapacity: 2);
            for (int i = 0; i < 10; i++) agg.Apply(Connection(i));
            Assert.Equal(4, agg.OpenCounterCount);
            Assert.Equal(6, agg.UncountedEventCount);
            agg.Apply(Connection(0)); // a connection that has a counter keeps counting
            Assert.Equal(6, agg.UncountedEventCount);
        }
    }
}
