using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;
using Xunit;
using static ConnectionsMonitor.Engine.Platform.Windows.Interop.Etw;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Windows
{
    /// <summary>
    /// Byte counters wired into WindowsConnectionTable, with a scripted event source in place of the ETW
    /// session and a scripted IP Helper: the start-once / warning / merge / closed-feed behaviour on any OS.
    /// </summary>
    public class WindowsTrafficCountersTests
    {
        private static readonly IPEndPoint Local = new IPEndPoint(IPAddress.Parse("10.0.0.5"), 50001);
        private static readonly IPEndPoint Remote = new IPEndPoint(IPAddress.Parse("93.184.216.34"), 443);

        private sealed class ScriptedSource : INetworkEventSource
        {
            private readonly string _startResult;
            public Action<NetworkEvent> Sink;
            public int Starts;
            public bool Disposed;
            public string Failure { get; set; }

            public ScriptedSource(string startResult) => _startResult = startResult;

            public string Start(Action<NetworkEvent> sink)
            {
                Starts++;
                Sink = sink;
                return _startResult;
            }

            public void Dispose() => Disposed = true;
        }

        /// <summary>IP Helper with one established TCP IPv4 connection (while <see cref="Connected"/>) and empty other tables.</summary>
        private sealed class OneConnectionIpHelper
        {
            public bool Connected = true;

            public uint Fill(IpHelperTableLayout layout, byte[] buffer, ref uint size)
            {
                byte[] table = layout == IpHelperTableLayout.TcpV4Module && Connected
                    ? NativeTable.OneEstablishedV4(Local, Remote, 100)
                    : new byte[4];
                return NativeTable.Answer(table, buffer, ref size);
            }
        }

        private static (WindowsConnectionTable table, WindowsTrafficCounters traffic, OneConnectionIpHelper ip) Build(ScriptedSource source)
        {
            var traffic = new WindowsTrafficCounters(source, new TrafficAggregator());
            var ip = new OneConnectionIpHelper();
            return (new WindowsConnectionTable(4096, ip.Fill, traffic), traffic, ip);
        }

        [Fact]
        public void Without_a_session_bytes_are_null_and_the_reason_is_one_warning_per_read()
        {
            var source = new ScriptedSource(EtwNetworkSession.ElevationWarning);
            var (table, _, _) = Build(source);

            for (int i = 0; i < 3; i++)
            {
                var result = table.Read(new ConnectionQuery());
                var row = Assert.Single(result.Entries);
                Assert.Null(row.BytesSent);
                Assert.Null(row.BytesReceived);
                Assert.Equal(EtwNetworkSession.ElevationWarning, Assert.Single(result.Warnings));
            }
            Assert.Equal(1, source.Starts); // tried once, not on every read
        }

        [Fact]
        public void Table_without_counters_never_starts_a_session_or_warns()
        {
            var ip = new OneConnectionIpHelper();
            var result = new WindowsConnectionTable(4096, ip.Fill).Read(new ConnectionQuery());
            Assert.Empty(result.Warnings);
            Assert.Null(Assert.Single(result.Entries).BytesSent);
        }

        [Fact]
        public void Events_from_the_session_fill_rows_and_a_closed_connection_reaches_the_feed()
        {
            var source = new ScriptedSource(null);
            var (table, traffic, ip) = Build(source);

            var first = table.Read(new ConnectionQuery());
            Assert.Empty(first.Warnings);
            Assert.Equal(0, Assert.Single(first.Entries).BytesSent); // session running, nothing seen yet

            source.Sink(NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Send, 100, 1200, Local, Remote));
            source.Sink(NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Receive, 100, 34000, Local, Remote));
            var second = Assert.Single(table.Read(new ConnectionQuery()).Entries);
            Assert.Equal(1200, second.BytesSent);
            Assert.Equal(34000, second.BytesReceived);

            ip.Connected = false;
            Assert.Empty(table.Read(new ConnectionQuery()).Entries);
            IClosedConnectionFeed feed = traffic;
            Assert.Null(feed.Start());
            var closed = Assert.Single(feed.DrainClosed());
            Assert.Equal(100, closed.ProcessId);
            Assert.Equal(1200, closed.BytesSent);
            Assert.Equal(34000, closed.BytesReceived);
            Assert.Empty(feed.DrainClosed());
        }

        [Fact]
        public void A_partial_read_does_not_close_connections_it_did_not_look_at()
        {
            var source = new ScriptedSource(null);
            var (table, traffic, _) = Build(source);
            table.Read(new ConnectionQuery());
            source.Sink(NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Send, 100, 5, Local, Remote));
            table.Read(new ConnectionQuery());
            table.Read(new ConnectionQuery { Protocols = new[] { TransportProtocol.Udp } });
            Assert.Empty(traffic.DrainClosed());
        }

        [Fact]
        public void A_session_that_dies_later_turns_bytes_back_to_null_with_its_reason()
        {
            var source = new ScriptedSource(null);
            var (table, _, _) = Build(source);
            Assert.Empty(table.Read(new ConnectionQuery()).Warnings);

            source.Failure = "ETW session ended: run PowerShell as Administrator.";
            var result = table.Read(new ConnectionQuery());
            Assert.Null(Assert.Single(result.Entries).BytesSent);
            Assert.Equal(source.Failure, Assert.Single(result.Warnings));
        }

        [Fact]
        public void Platform_dispose_stops_the_source()
        {
            var source = new ScriptedSource(null);
            var platform = new WindowsPlatform(new WindowsTrafficCounters(source, new TrafficAggregator()));
            Assert.NotNull(platform.ClosedConnections);
            Assert.Null(platform.ClosedConnections.Start());
            platform.Dispose();
            Assert.True(source.Disposed);
            Assert.NotNull(platform.ClosedConnections.Start()); // says it is off, does not restart
            Assert.Equal(1, source.Starts);
        }

        [Fact]
        public void Platform_dispose_before_any_use_starts_nothing()
        {
            var source = new ScriptedSource(null);
            var platform = new WindowsPlatform(new WindowsTrafficCounters(source, new TrafficAggregator()));
            platform.Dispose();
            Assert.NotNull(platform.ClosedConnections.Start());
            Assert.Equal(0, source.Starts);
        }

        [Fact]
        public void The_elevation_warning_says_how_to_get_byte_counts()
        {
            Assert.Contains("elevated", EtwNetworkSession.ElevationWarning);
            Assert.Contains("Administrator", EtwNetworkSession.ElevationWarning);
        }

        [Theory]
        [InlineData("ConnectionsMonitor-1234-1d9a0b0c0d0e0f0-1", null, true)]                 // process gone
        [InlineData("ConnectionsMonitor-1234-1d9a0b0c0d0e0f0-1", 0x1d9a0b0c0d0e0f0L, false)]  // still running
        [InlineData("ConnectionsMonitor-1234-1d9a0b0c0d0e0f0-2", 0x1d9a0b0c0d0e0f1L, true)]   // PID reused by another process
        [InlineData("ConnectionsMonitor-1234-0-1", 0x1d9a0b0c0d0e0f1L, false)]                // start unknown: PID alive is enough
        [InlineData("NT Kernel Logger", null, false)]                                          // not ours
        [InlineData("ConnectionsMonitor-something-else", null, false)]                         // not a name we write
        public void Stale_sessions_are_those_whose_process_is_gone(string name, long? runningStart, bool stale)
        {
            Assert.Equal(stale, EtwNetworkSession.IsStale(name, pid => runningStart));
        }

        [Fact]
        public void Stale_check_errors_count_as_alive()
        {
            Assert.False(EtwNetworkSession.IsStale("ConnectionsMonitor-4-1d9a0b0c0d0e0f0-1", pid => throw new InvalidOperationException()));
        }

        /// <summary>The sizes below are the x64/arm64 ones.</summary>
        public sealed class SixtyFourBitFactAttribute : FactAttribute
        {
            public SixtyFourBitFactAttribute()
            {
                if (IntPtr.Size != 8) Skip = "a 32-bit process: the sizes checked are the 64-bit ones";
            }
        }

        [SixtyFourBitFact]
        public unsafe void Etw_structures_have_their_native_64_bit_sizes()
        {
            Assert.Equal(48, sizeof(WNODE_HEADER));
            Assert.Equal(120, sizeof(EVENT_TRACE_PROPERTIES));
            Assert.Equal(48, sizeof(EVENT_TRACE_HEADER));
            Assert.Equal(88, sizeof(EVENT_TRACE));
            Assert.Equal(172, sizeof(TIME_ZONE_INFORMATION));
            Assert.Equal(280, sizeof(TRACE_LOGFILE_HEADER));
            Assert.Equal(448, sizeof(EVENT_TRACE_LOGFILEW));
            Assert.Equal(16, sizeof(EVENT_DESCRIPTOR));
            Assert.Equal(80, sizeof(EVENT_HEADER));
            Assert.Equal(112, sizeof(EVENT_RECORD));
        }
    }
}
