using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;
using Xunit;

namespace ConnectionsMonitor.Tests.Windows
{
    /// <summary>The Windows event-to-counter aggregation, fed with event sequences built here.</summary>
    public class TrafficAggregatorTests
    {
        private static readonly IPEndPoint Local4 = Ep("10.0.0.5", 50001);
        private static readonly IPEndPoint Remote4 = Ep("93.184.216.34", 443);
        private static readonly IPEndPoint Local6 = Ep("2001:db8::5", 50002);
        private static readonly IPEndPoint Remote6 = Ep("2606:4700::1", 443);

        private static IPEndPoint Ep(string address, int port) => new IPEndPoint(IPAddress.Parse(address), port);

        private static NetworkEvent Tcp(TrafficDirection d, uint pid, uint size, IPEndPoint local, IPEndPoint remote) =>
            NetworkEvent.Create(TransportProtocol.Tcp, d, pid, size, local, remote);

        private static NetworkEvent Udp(TrafficDirection d, uint pid, uint size, IPEndPoint local, IPEndPoint remote) =>
            NetworkEvent.Create(TransportProtocol.Udp, d, pid, size, local, remote);

        private static SocketEntry TcpRow(int pid, IPEndPoint local, IPEndPoint remote, TcpState state = TcpState.Established) =>
            new SocketEntry
            {
                Protocol = TransportProtocol.Tcp, LocalAddress = local.Address, LocalPort = local.Port,
                RemoteAddress = remote.Address, RemotePort = remote.Port, State = state, ProcessId = pid,
            };

        private static SocketEntry UdpRow(int? pid, IPEndPoint local) =>
            new SocketEntry { Protocol = TransportProtocol.Udp, LocalAddress = local.Address, LocalPort = local.Port, ProcessId = pid };

        private static List<SocketEntry> Rows(params SocketEntry[] rows) => rows.ToList();

        /// <summary>One snapshot the way WindowsConnectionTable takes it: mark, (read), merge the whole table.</summary>
        private static void Snapshot(TrafficAggregator agg, List<SocketEntry> rows) => agg.Merge(rows, agg.MarkTableRead(), completeTable: true);

        [Fact]
        public void Tcp_ipv4_and_ipv6_send_and_receive_land_on_their_rows()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Tcp(TrafficDirection.Send, 100, 1000, Local4, Remote4));
            agg.Apply(Tcp(TrafficDirection.Send, 100, 500, Local4, Remote4));
            agg.Apply(Tcp(TrafficDirection.Receive, 100, 7000, Local4, Remote4));
            agg.Apply(Tcp(TrafficDirection.Send, 200, 60, Local6, Remote6));
            agg.Apply(Tcp(TrafficDirection.Receive, 200, 4000, Local6, Remote6));

            var rows = Rows(TcpRow(100, Local4, Remote4), TcpRow(200, Local6, Remote6), TcpRow(300, Ep("10.0.0.5", 50003), Remote4));
            Snapshot(agg, rows);

            Assert.Equal((1500L, 7000L), (rows[0].BytesSent.Value, rows[0].BytesReceived.Value));
            Assert.Equal((60L, 4000L), (rows[1].BytesSent.Value, rows[1].BytesReceived.Value));
            // Observed since the session started and nothing seen: 0, not null.
            Assert.Equal((0L, 0L), (rows[2].BytesSent.Value, rows[2].BytesReceived.Value));
            Assert.Empty(agg.DrainClosed());

            var totals = agg.ProcessTotals();
            Assert.Equal(1500, totals[100].Sent);
            Assert.Equal(4000, totals[200].Received);
        }

        [Fact]
        public void Counters_are_cumulative_across_snapshots()
        {
            var agg = new TrafficAggregator();
            var rows = Rows(TcpRow(100, Local4, Remote4));
            agg.Apply(Tcp(TrafficDirection.Send, 100, 10, Local4, Remote4));
            Snapshot(agg, rows);
            Assert.Equal(10, rows[0].BytesSent);

            agg.Apply(Tcp(TrafficDirection.Send, 100, 5, Local4, Remote4));
            rows = Rows(TcpRow(100, Local4, Remote4));
            Snapshot(agg, rows);
            Assert.Equal(15, rows[0].BytesSent);
        }

        [Fact]
        public void Ipv4_events_match_the_v4_mapped_row_of_a_dual_mode_socket()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Tcp(TrafficDirection.Receive, 100, 42, Ep("127.0.0.1", 50000), Ep("127.0.0.1", 8080)));
            var rows = Rows(TcpRow(100, Ep("::ffff:127.0.0.1", 50000), Ep("::ffff:127.0.0.1", 8080)));
            Snapshot(agg, rows);
            Assert.Equal(42, rows[0].BytesReceived);
        }

        [Fact]
        public void Connection_that_left_the_table_is_drained_once_with_final_counts()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Tcp(TrafficDirection.Send, 100, 300, Local4, Remote4));
            Snapshot(agg, Rows(TcpRow(100, Local4, Remote4)));
            agg.Apply(Tcp(TrafficDirection.Receive, 100, 900, Local4, Remote4));

            Snapshot(agg, Rows());
            var closed = Assert.Single(agg.DrainClosed());
            Assert.Equal(TransportProtocol.Tcp, closed.Protocol);
            Assert.Equal(Local4.Address, closed.LocalAddress);
            Assert.Equal(Local4.Port, closed.LocalPort);
            Assert.Equal(Remote4.Address, closed.RemoteAddress);
            Assert.Equal(Remote4.Port, closed.RemotePort);
            Assert.Equal(100, closed.ProcessId);
            Assert.Equal(300, closed.BytesSent);
            Assert.Equal(900, closed.BytesReceived);

            Assert.Empty(agg.DrainClosed());
            Snapshot(agg, Rows());
            Assert.Empty(agg.DrainClosed());
            Assert.Equal(0, agg.OpenCounterCount); // the closed key is forgotten
            Assert.Equal(300, agg.ProcessTotals()[100].Sent); // but its process keeps the bytes
        }

        [Fact]
        public void Short_lived_connection_between_snapshots_is_still_counted_for_its_process()
        {
            var agg = new TrafficAggregator();
            Snapshot(agg, Rows());
            agg.Apply(Tcp(TrafficDirection.Send, 100, 123, Local4, Remote4)); // opened, used and closed between reads
            Snapshot(agg, Rows());
            var closed = Assert.Single(agg.DrainClosed());
            Assert.Equal(100, closed.ProcessId);
            Assert.Equal(123, closed.BytesSent);
        }

        [Fact]
        public void Connection_with_events_after_the_table_read_gets_one_more_snapshot()
        {
            var agg = new TrafficAggregator();
            long mark = agg.MarkTableRead();                                     // table read: not there yet
            agg.Apply(Tcp(TrafficDirection.Send, 100, 10, Local4, Remote4));     // opened just after the read
            agg.Merge(Rows(), mark, completeTable: true);
            Assert.Empty(agg.DrainClosed());

            var rows = Rows(TcpRow(100, Local4, Remote4));
            Snapshot(agg, rows);
            Assert.Equal(10, rows[0].BytesSent);
        }

        [Fact]
        public void Partial_table_reads_fill_rows_but_close_nothing()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Udp(TrafficDirection.Send, 100, 10, Local4, Remote4));
            agg.Apply(Tcp(TrafficDirection.Send, 100, 20, Local4, Remote4));
            var tcpOnly = Rows(TcpRow(100, Local4, Remote4));
            agg.Merge(tcpOnly, agg.MarkTableRead(), completeTable: false);
            Assert.Equal(20, tcpOnly[0].BytesSent);
            Assert.Empty(agg.DrainClosed());
        }

        [Fact]
        public void Reuse_of_a_4_tuple_by_a_new_pid_is_a_new_connection()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Tcp(TrafficDirection.Send, 100, 1000, Local4, Remote4));
            Snapshot(agg, Rows(TcpRow(100, Local4, Remote4)));

            // Process 100 closes; process 200 gets the same local port to the same peer.
            agg.Apply(Tcp(TrafficDirection.Send, 200, 7, Local4, Remote4));
            var rows = Rows(TcpRow(200, Local4, Remote4));
            Snapshot(agg, rows);

            Assert.Equal(7, rows[0].BytesSent);
            var closed = Assert.Single(agg.DrainClosed());
            Assert.Equal(100, closed.ProcessId);
            Assert.Equal(1000, closed.BytesSent);
        }

        [Fact]
        public void Udp_events_aggregate_onto_the_local_endpoint_row_whatever_the_peer()
        {
            var agg = new TrafficAggregator();
            var dns = Ep("10.0.0.5", 53);
            agg.Apply(Udp(TrafficDirection.Receive, 300, 40, dns, Ep("10.0.0.77", 40000)));
            agg.Apply(Udp(TrafficDirection.Send, 300, 120, dns, Ep("10.0.0.77", 40000)));
            agg.Apply(Udp(TrafficDirection.Receive, 300, 41, dns, Ep("10.0.0.78", 40001)));
            agg.Apply(Udp(TrafficDirection.Send, 301, 999, Ep("2001:db8::5", 5353), Ep("ff02::fb", 5353)));

            var rows = Rows(UdpRow(300, dns), UdpRow(301, Ep("2001:db8::5", 5353)));
            Snapshot(agg, rows);
            Assert.Equal((120L, 81L), (rows[0].BytesSent.Value, rows[0].BytesReceived.Value));
            Assert.Equal(999, rows[1].BytesSent);
            Assert.Equal(2, agg.OpenCounterCount); // one counter per socket, not per peer
        }

        [Fact]
        public void Udp_wildcard_rows_take_traffic_of_any_local_address_unless_a_row_has_the_exact_one()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Udp(TrafficDirection.Send, 400, 1, Ep("192.168.1.5", 5000), Remote4));
            agg.Apply(Udp(TrafficDirection.Send, 400, 2, Ep("10.0.0.5", 5000), Remote4));
            agg.Apply(Udp(TrafficDirection.Send, 400, 4, Ep("127.0.0.1", 5000), Remote4));
            agg.Apply(Udp(TrafficDirection.Send, 500, 8, Ep("2001:db8::5", 6000), Remote6));
            agg.Apply(Udp(TrafficDirection.Send, 500, 16, Ep("10.0.0.5", 6000), Remote4)); // dual-mode socket, IPv4 traffic

            var rows = Rows(UdpRow(400, Ep("0.0.0.0", 5000)), UdpRow(400, Ep("127.0.0.1", 5000)), UdpRow(500, Ep("::", 6000)));
            Snapshot(agg, rows);
            Assert.Equal(3, rows[0].BytesSent);
            Assert.Equal(4, rows[1].BytesSent);
            Assert.Equal(24, rows[2].BytesSent);
            Assert.Empty(agg.DrainClosed());
        }

        [Fact]
        public void Closed_udp_endpoint_is_drained_with_no_remote_end()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Udp(TrafficDirection.Send, 300, 50, Local6, Remote6));
            Snapshot(agg, Rows(UdpRow(300, Local6)));
            Snapshot(agg, Rows());
            var closed = Assert.Single(agg.DrainClosed());
            Assert.Equal(TransportProtocol.Udp, closed.Protocol);
            Assert.Equal(Local6.Address, closed.LocalAddress);
            Assert.Null(closed.RemoteAddress);
            Assert.Null(closed.RemotePort);
            Assert.Equal(300, closed.ProcessId);
            Assert.Equal(50, closed.BytesSent);
        }

        [Fact]
        public void Unknown_pid_traffic_goes_to_the_row_with_the_same_endpoints_and_then_to_its_process()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Tcp(TrafficDirection.Receive, 0, 100, Local4, Remote4));          // PID 0 in the payload
            agg.Apply(Tcp(TrafficDirection.Receive, uint.MaxValue, 10, Local4, Remote4)); // PID -1
            agg.Apply(Tcp(TrafficDirection.Send, 100, 1, Local4, Remote4));
            var rows = Rows(TcpRow(100, Local4, Remote4));
            Snapshot(agg, rows);
            Assert.Equal((1L, 110L), (rows[0].BytesSent.Value, rows[0].BytesReceived.Value));
            Assert.Equal(110, agg.ProcessTotals()[100].Received);

            // Adopted for good: the row keeps its count, and the closed entry carries the PID.
            rows = Rows(TcpRow(100, Local4, Remote4));
            Snapshot(agg, rows);
            Assert.Equal(110, rows[0].BytesReceived);
            Assert.Equal(1, agg.OpenCounterCount);
            Snapshot(agg, Rows());
            var closed = Assert.Single(agg.DrainClosed());
            Assert.Equal(100, closed.ProcessId);
            Assert.Equal(110, closed.BytesReceived);
        }

        [Fact]
        public void Unknown_pid_traffic_with_no_row_is_drained_unattributed()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Udp(TrafficDirection.Receive, 0, 64, Local4, Remote4));
            Snapshot(agg, Rows());
            var closed = Assert.Single(agg.DrainClosed());
            Assert.Null(closed.ProcessId);
            Assert.Equal(64, closed.BytesReceived);
            Assert.Empty(agg.ProcessTotals());
        }

        [Fact]
        public void Known_pid_events_do_not_count_for_another_pids_row()
        {
            var agg = new TrafficAggregator();
            agg.Apply(Tcp(TrafficDirection.Send, 999, 5, Local4, Remote4));
            var rows = Rows(TcpRow(100, Local4, Remote4));
            Snapshot(agg, rows);
            Assert.Equal(0, rows[0].BytesSent);
        }

        [Fact]
        public void Closed_list_is_capped_dropping_the_oldest()
        {
            var agg = new TrafficAggregator(closedCapacity: 3);
            for (int port = 1; port <= 5; port++)
                agg.Apply(Tcp(TrafficDirection.Send, 100, (uint)port, Ep("10.0.0.5", port), Remote4));
            Snapshot(agg, Rows());
            var closed = agg.DrainClosed();
            Assert.Equal(3, closed.Count);
            Assert.Equal(2, agg.DroppedClosedCount);
            Assert.Equal(0, agg.OpenCounterCount);
        }

        [Fact]
        public void Events_applied_from_another_thread_while_merging_are_all_counted()
        {
            var agg = new TrafficAggregator();
            const int Events = 200_000;
            var rowsTemplate = Enumerable.Range(0, 8).Select(i => TcpRow(100, Ep("10.0.0.5", 40000 + i), Remote4)).ToArray();
            using var done = new ManualResetEventSlim();
            var producer = new Thread(() =>
            {
                for (int i = 0; i < Events; i++)
                    agg.Apply(Tcp(i % 2 == 0 ? TrafficDirection.Send : TrafficDirection.Receive, 100, 1,
                        Ep("10.0.0.5", 40000 + i % 8), Remote4));
                done.Set();
            });
            producer.Start();

            int merges = 0;
            while (!done.IsSet || merges == 0)
            {
                var rows = rowsTemplate.Select(r => TcpRow(100, new IPEndPoint(r.LocalAddress, r.LocalPort), Remote4)).ToList();
                Snapshot(agg, rows);
                merges++;
            }
            producer.Join();

            var final = rowsTemplate.Select(r => TcpRow(100, new IPEndPoint(r.LocalAddress, r.LocalPort), Remote4)).ToList();
            Snapshot(agg, final);
            Assert.Equal(Events / 2, final.Sum(r => r.BytesSent.Value));
            Assert.Equal(Events / 2, final.Sum(r => r.BytesReceived.Value));
            Assert.Empty(agg.DrainClosed());
            Assert.Equal(Events / 2, agg.ProcessTotals()[100].Sent);
        }
    }
}
