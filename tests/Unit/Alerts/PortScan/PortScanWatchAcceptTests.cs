using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Alerts.PortScan;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;
using ConnectionsMonitor.Engine.Tracking;
using ConnectionsMonitor.Tests.Windows;
using Xunit;

namespace ConnectionsMonitor.Tests.Alerts.PortScan
{
    /// <summary>
    /// The Windows port-scan source: a watch fed by ETW accept events (a scripted event feed through the
    /// session's real router and parser, no ETW here) and its fall-back to the socket table.
    /// </summary>
    public class PortScanWatchAcceptTests
    {
        private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
        private static readonly DateTime T0 = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        private static readonly IPAddress Here = IPAddress.Parse("10.0.0.5");
        private static readonly IPAddress Scanner = IPAddress.Parse("203.0.113.9");

        /// <summary>Only the name matters to the watch (it words the socket table's limitation by it).</summary>
        private sealed class WindowsNamedPlatform : IPlatform
        {
            public string Name => "Windows";
            public IConnectionTable Connections => null;
            public IProcessCatalog Processes => null;
            public IClosedConnectionFeed ClosedConnections => null;
            public INetworkInterfaceCatalog Interfaces => null;
        }

        /// <summary>A watch on an accept source fed by a script; Clock sets the time the source stamps on what it reads next.</summary>
        private static (PortScanWatch Watch, ScriptedAcceptEvents Events, Action<DateTime> Clock) AcceptWatch(string startResult = null)
        {
            var events = new ScriptedAcceptEvents(startResult);
            DateTime now = T0;
            var source = new EtwAcceptSource(events, 100, () => now);
            var watch = new PortScanWatch(new WindowsNamedPlatform(), 6, Window, source);
            return (watch, events, t => now = t);
        }

        [Fact]
        public void Six_ports_accepted_from_one_remote_within_the_window_are_one_finding()
        {
            var (watch, events, clock) = AcceptWatch();
            using (watch)
            {
                Assert.True(watch.IsCapturing);
                Assert.Equal(PortScanWatch.AcceptEventsLimitation, watch.Limitation);
                int[] ports = { 22, 80, 135, 443, 445, 3389 };
                for (int i = 0; i < ports.Length; i++)
                {
                    clock(T0.AddSeconds(i)); // 5 s in all, inside the 10 s window
                    events.Accept(new IPEndPoint(Here, ports[i]), new IPEndPoint(Scanner, 41000 + i));
                }

                var finding = Assert.Single(watch.TakeFindings(T0.AddSeconds(6)));
                Assert.Equal("203.0.113.9", finding.RemoteAddress);
                Assert.Equal(ports, finding.Ports);
                Assert.Equal(6, finding.Attempts);
                Assert.Equal(T0, finding.FirstUtc);
                Assert.Equal(T0.AddSeconds(5), finding.LastUtc);
                Assert.Equal(PortScanFinding.AcceptEvents, finding.Source);
                Assert.Equal("ETW accept events", finding.Source);
                Assert.Contains("(ETW accept events)", finding.ToString());

                // The episode goes on: more accepts say nothing more.
                events.Accept(new IPEndPoint(Here, 8080), new IPEndPoint(Scanner, 41010));
                Assert.Empty(watch.TakeFindings(T0.AddSeconds(7)));
            }
            Assert.True(events.Disposed); // the watch disposed its source, and so the session
        }

        [Fact]
        public void Six_accepts_on_one_port_are_no_scan()
        {
            var (watch, events, clock) = AcceptWatch();
            using (watch)
            {
                for (int i = 0; i < 6; i++)
                {
                    clock(T0.AddSeconds(i));
                    events.Accept(new IPEndPoint(Here, 443), new IPEndPoint(Scanner, 41000 + i));
                }
                Assert.Empty(watch.TakeFindings(T0.AddSeconds(6)));
            }
        }

        [Fact]
        public void Six_ports_spread_wider_than_the_window_are_no_scan_and_ipv6_counts_too()
        {
            var (watch, events, clock) = AcceptWatch();
            using (watch)
            {
                var v6Here = IPAddress.Parse("2001:db8::5");
                var v6Scanner = IPAddress.Parse("2001:db8:bad::1");
                for (int i = 0; i < 6; i++)
                {
                    clock(T0.AddSeconds(i * 2.5)); // 12.5 s from first to last
                    events.Accept(new IPEndPoint(Here, 1000 + i), new IPEndPoint(Scanner, 41000 + i));
                }
                Assert.Empty(watch.TakeFindings(T0.AddSeconds(13)));

                for (int i = 0; i < 6; i++)
                {
                    clock(T0.AddSeconds(20 + i));
                    events.Accept(new IPEndPoint(v6Here, 2000 + i), new IPEndPoint(v6Scanner, 42000 + i));
                }
                var finding = Assert.Single(watch.TakeFindings(T0.AddSeconds(26)));
                Assert.Equal("2001:db8:bad::1", finding.RemoteAddress);
            }
        }

        /// <summary>A sample in which the scanner opened one accepted connection to each of <paramref name="ports"/>, all listening.</summary>
        private static (ConnectionSnapshot Sample, List<ConnectionEvent> Events) TableSample(DateTime t, params int[] ports)
        {
            var rows = new List<ConnectionRecord>();
            var events = new List<ConnectionEvent>();
            for (int i = 0; i < ports.Length; i++)
            {
                rows.Add(new ConnectionRecord { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Any, LocalPort = ports[i], State = TcpState.Listen });
                var c = new ConnectionRecord
                {
                    Protocol = TransportProtocol.Tcp, LocalAddress = Here, LocalPort = ports[i], RemoteAddress = Scanner,
                    RemotePort = 45000 + i, State = TcpState.Established,
                };
                rows.Add(c);
                events.Add(new ConnectionEvent(ConnectionChange.Opened, t, c, null));
            }
            return (new ConnectionSnapshot(t, rows, new string[0]), events);
        }

        [Fact]
        public void While_accept_events_run_the_socket_table_is_not_used()
        {
            var (watch, _, _) = AcceptWatch();
            using (watch)
            {
                // Six accepted connections in the table: the accept events saw them (or will), the table adds nothing.
                var (sample, evs) = TableSample(T0, 21, 22, 23, 25, 80, 443);
                watch.Observe(sample, evs);
                Assert.Empty(watch.TakeFindings(T0.AddSeconds(1)));
            }
        }

        [Fact]
        public void A_refused_start_leaves_the_watch_on_the_socket_table_with_the_reason_as_limitation()
        {
            string refusal = EtwAcceptSource.ElevationWarning.TrimEnd('.') + " (OpenTrace: access denied; Wine does not implement ETW).";
            var (watch, events, _) = AcceptWatch(refusal);
            using (watch)
            {
                Assert.False(watch.IsCapturing);
                Assert.Equal(refusal, watch.Limitation);
                Assert.True(events.Disposed); // a refused source is disposed at once
                Assert.Equal(1, events.Starts);

                var (sample, evs) = TableSample(T0, 21, 22, 23, 25, 80, 443);
                watch.Observe(sample, evs);
                var finding = Assert.Single(watch.TakeFindings(T0.AddSeconds(1)));
                Assert.Equal(PortScanFinding.SocketTable, finding.Source);
                Assert.Equal(6, finding.Ports.Count);
            }
        }

        [Fact]
        public void A_session_that_stops_falls_back_to_the_socket_table_and_says_why()
        {
            var (watch, events, clock) = AcceptWatch();
            using (watch)
            {
                Assert.True(watch.IsCapturing);
                events.Accept(new IPEndPoint(Here, 22), new IPEndPoint(Scanner, 41000));
                events.Failure = EtwAcceptSource.DescribeStop("the ETW session was stopped by someone else");

                Assert.Empty(watch.TakeFindings(T0.AddSeconds(1))); // drains what came, then sees the stop
                Assert.False(watch.IsCapturing);
                Assert.Equal(events.Failure, watch.Limitation);

                var (sample, evs) = TableSample(T0.AddSeconds(2), 23, 25, 80, 443, 8080);
                watch.Observe(sample, evs);
                // Port 22 from the accept events and five from the table: six ports within the window.
                var finding = Assert.Single(watch.TakeFindings(T0.AddSeconds(3)));
                Assert.Equal(new[] { 22, 23, 25, 80, 443, 8080 }, finding.Ports);
                Assert.Equal(PortScanFinding.SocketTable, finding.Source);
            }
        }

        [Fact]
        public void A_source_whose_start_throws_is_a_limitation_not_an_exception()
        {
            var source = new ThrowingSource();
            using var watch = new PortScanWatch(new WindowsNamedPlatform(), 6, Window, source);
            Assert.False(watch.IsCapturing);
            Assert.Equal("ETW accept events could not start (boom); watching accepted connections in the socket table instead.", watch.Limitation);
            Assert.True(source.Disposed);
        }

        [Fact]
        public void The_windows_platform_offers_ETW_accept_events_not_started()
        {
            var platform = new ConnectionsMonitor.Engine.Platform.Windows.WindowsPlatform(
                new WindowsTrafficCounters(new ScriptedTrafficSource(), new TrafficAggregator()));
            using (platform)
            {
                var capture = Assert.IsAssignableFrom<IInboundSynCapture>(platform);
                using var source = capture.CreateInboundSynSource();
                Assert.IsType<EtwAcceptSource>(source);
                Assert.Equal(InboundAttemptKind.AcceptedConnection, source.Kind);
                Assert.Null(source.Failure); // nothing started yet: no ETW call here
            }
        }

        private sealed class ScriptedTrafficSource : INetworkEventSource
        {
            public string Failure => null;
            public string Start(Action<NetworkEvent> sink) => null;
            public void Dispose() { }
        }

        private sealed class ThrowingSource : IInboundSynSource
        {
            public bool Disposed;
            public InboundAttemptKind Kind => InboundAttemptKind.AcceptedConnection;
            public string Start() => throw new InvalidOperationException("boom.");
            public IReadOnlyList<InboundSyn> Drain() => Array.Empty<InboundSyn>();
            public string Failure => null;
            public long Dropped => 0;
            public void Dispose() => Disposed = true;
        }
    }
}
