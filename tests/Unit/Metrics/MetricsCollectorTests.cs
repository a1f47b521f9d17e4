using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Metrics;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Tracking;
using ConnectionsMonitor.Tests.Session;
using Xunit;

namespace ConnectionsMonitor.Tests.Metrics
{
    /// <summary>The metrics collector and its exposition: exact lines for scripted samples, monotonic counters, bounded labels.</summary>
    [Collection(SamplerThreads.Name)]
    public sealed class MetricsCollectorTests
    {
        private static readonly SamplerFigures Self = new SamplerFigures { Reads = 4, ReadSeconds = 0.5, LastReadSeconds = 0.125 };

        /// <summary>Every sample of the replay session's sampler into a collector, as the endpoint's thread does.</summary>
        private static MetricsCollector Collect(string script, int samples, int top = 10)
        {
            using var session = new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => ReplayPlatform.Parse(script) });
            // Room for every scripted step: a queue of the default 4 would drop one a loaded machine kept this reader from.
            using var feed = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(50), capacity: 64);
            var collector = new MetricsCollector(top);
            for (int i = 0; i < samples; i++)
            {
                Assert.True(feed.TryNext(TimeSpan.FromSeconds(10), CancellationToken.None, out var s));
                collector.Add(s.Snapshot, s.Events, Self);
            }
            return collector;
        }

        [Fact]
        public void TheExpositionOfScriptedSamplesHasExactlyTheseLines()
        {
            // ReplayScripts.Traffic: web's client sends 1000 -> 5000 -> 9000 (received 100 -> 1100 -> 2100); a second client
            // opens at t=4 with 300/40 and is gone at t=6. The first sample is the baseline: nothing of its past counts.
            var text = Collect(ReplayScripts.Traffic, 4).Render(ExpositionFormat.PrometheusText);
            Assert.Equal(@"# HELP connectionsmonitor_connections Connections open at the latest sample, by protocol and state (TCP states as node_exporter's tcpstat names them; UDP: established or unconnected).
# TYPE connectionsmonitor_connections gauge
connectionsmonitor_connections{protocol=""tcp"",state=""established""} 0
connectionsmonitor_connections{protocol=""tcp"",state=""syn_sent""} 0
connectionsmonitor_connections{protocol=""tcp"",state=""syn_recv""} 0
connectionsmonitor_connections{protocol=""tcp"",state=""fin_wait1""} 0
connectionsmonitor_connections{protocol=""tcp"",state=""fin_wait2""} 0
connectionsmonitor_connections{protocol=""tcp"",state=""time_wait""} 0
connectionsmonitor_connections{protocol=""tcp"",state=""close""} 0
connectionsmonitor_connections{protocol=""tcp"",state=""close_wait""} 1
connectionsmonitor_connections{protocol=""tcp"",state=""last_ack""} 0
connectionsmonitor_connections{protocol=""tcp"",state=""listen""} 1
connectionsmonitor_connections{protocol=""tcp"",state=""closing""} 0
connectionsmonitor_connections{protocol=""udp"",state=""established""} 0
connectionsmonitor_connections{protocol=""udp"",state=""unconnected""} 1
# HELP connectionsmonitor_listening_ports Distinct local ports with a TCP listener or an unconnected UDP socket at the latest sample.
# TYPE connectionsmonitor_listening_ports gauge
connectionsmonitor_listening_ports{protocol=""tcp""} 1
connectionsmonitor_listening_ports{protocol=""udp""} 1
# HELP connectionsmonitor_process_connections Connections open at the latest sample, by process name (the top names; other for the rest, none for connections no process owns).
# TYPE connectionsmonitor_process_connections gauge
connectionsmonitor_process_connections{process=""none""} 0
connectionsmonitor_process_connections{process=""other""} 0
connectionsmonitor_process_connections{process=""resolver""} 1
connectionsmonitor_process_connections{process=""web""} 2
# HELP connectionsmonitor_process_transmit_bytes_total Payload bytes sent and acknowledged by the peer, by process name, since the endpoint started (TCP; from the OS's per-connection counters).
# TYPE connectionsmonitor_process_transmit_bytes_total counter
connectionsmonitor_process_transmit_bytes_total{process=""none""} 0
connectionsmonitor_process_transmit_bytes_total{process=""other""} 0
connectionsmonitor_process_transmit_bytes_total{process=""resolver""} 0
connectionsmonitor_process_transmit_bytes_total{process=""web""} 8300
# HELP connectionsmonitor_process_receive_bytes_total Payload bytes received, by process name, since the endpoint started (TCP; from the OS's per-connection counters).
# TYPE connectionsmonitor_process_receive_bytes_total counter
connectionsmonitor_process_receive_bytes_total{process=""none""} 0
connectionsmonitor_process_receive_bytes_total{process=""other""} 0
connectionsmonitor_process_receive_bytes_total{process=""resolver""} 0
connectionsmonitor_process_receive_bytes_total{process=""web""} 2040
# HELP connectionsmonitor_connections_opened_total Connections seen opening since the endpoint started, by protocol.
# TYPE connectionsmonitor_connections_opened_total counter
connectionsmonitor_connections_opened_total{protocol=""tcp""} 1
connectionsmonitor_connections_opened_total{protocol=""udp""} 0
# HELP connectionsmonitor_connections_closed_total Connections seen closing since the endpoint started, by protocol.
# TYPE connectionsmonitor_connections_closed_total counter
connectionsmonitor_connections_closed_total{protocol=""tcp""} 1
connectionsmonitor_connections_closed_total{protocol=""udp""} 0
# HELP connectionsmonitor_alerts_fired_total Alerts raised by each alert rule of the session since the endpoint started.
# TYPE connectionsmonitor_alerts_fired_total counter
# HELP connectionsmonitor_alert_webhook_deliveries_total Webhook messages of each alert rule accepted by their target (HTTP 2xx), counted per target.
# TYPE connectionsmonitor_alert_webhook_deliveries_total counter
# HELP connectionsmonitor_alert_webhook_failures_total Webhook messages of each alert rule given up on after their retries, counted per target.
# TYPE connectionsmonitor_alert_webhook_failures_total counter
# HELP connectionsmonitor_alert_webhook_dropped_total Webhook messages of each alert rule dropped because the delivery queue was full.
# TYPE connectionsmonitor_alert_webhook_dropped_total counter
# HELP connectionsmonitor_samples_total Connection table reads made by the session's sampler (for every subscriber).
# TYPE connectionsmonitor_samples_total counter
connectionsmonitor_samples_total 4
# HELP connectionsmonitor_sample_seconds_total Wall-clock seconds the session's sampler spent reading the connection table.
# TYPE connectionsmonitor_sample_seconds_total counter
connectionsmonitor_sample_seconds_total 0.5
# HELP connectionsmonitor_sample_duration_seconds Wall-clock seconds of the sampler's latest connection table read.
# TYPE connectionsmonitor_sample_duration_seconds gauge
connectionsmonitor_sample_duration_seconds 0.125
# HELP connectionsmonitor_last_sample_timestamp_seconds Time of the sample these metrics come from, in seconds since the Unix epoch.
# TYPE connectionsmonitor_last_sample_timestamp_seconds gauge
connectionsmonitor_last_sample_timestamp_seconds 1767225606
".Replace("\r\n", "\n"), text);
        }

        [Fact]
        public void OpenMetricsNamesCountersWithoutTotalOnTheirTypeLineAndEndsWithEof()
        {
            var text = Collect(ReplayScripts.Traffic, 2).Render(ExpositionFormat.OpenMetrics);
            var lines = text.Split('\n');
            Assert.Contains("# TYPE connectionsmonitor_process_transmit_bytes counter", lines);
            Assert.Contains("connectionsmonitor_process_transmit_bytes_total{process=\"web\"} 4000", lines);
            Assert.Contains("# TYPE connectionsmonitor_connections gauge", lines);
            Assert.DoesNotContain(lines, l => l.StartsWith("# TYPE") && l.Contains("_total"));
            Assert.EndsWith("\n# EOF\n", text);
            Assert.Equal(ExpositionFormat.OpenMetrics, ExpositionWriter.Negotiate("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
            Assert.Equal(ExpositionFormat.PrometheusText, ExpositionWriter.Negotiate("text/plain"));
            Assert.Equal(ExpositionFormat.PrometheusText, ExpositionWriter.Negotiate("application/openmetrics-text; q=0"));
            Assert.Equal(ExpositionFormat.PrometheusText, ExpositionWriter.Negotiate(null));
        }

        private static readonly DateTime T0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);

        private static ConnectionRecord Tcp(int localPort, int remotePort, string process, long? sent, long? received, TcpState state = TcpState.Established) => new ConnectionRecord
        {
            Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, LocalPort = localPort, RemoteAddress = IPAddress.Loopback, RemotePort = remotePort,
            State = state, ProcessId = process == null ? (int?)null : 1000 + process.Length, ProcessName = process, BytesSent = sent, BytesReceived = received,
        };

        private static ConnectionSnapshot Snap(int second, params ConnectionRecord[] rows) => new ConnectionSnapshot(T0.AddSeconds(second), rows, new string[0]);

        /// <summary>The value of one sample line, e.g. Value(text, "connectionsmonitor_process_transmit_bytes_total{process=\"app\"}").</summary>
        internal static double Value(string text, string series)
        {
            var line = Assert.Single(text.Split('\n'), l => l.StartsWith(series + " ", StringComparison.Ordinal));
            return double.Parse(line.Substring(series.Length + 1), CultureInfo.InvariantCulture);
        }

        [Fact]
        public void ByteCountersNeverGoDownWhenAProcessesConnectionsCloseAndCountTheFinalBytes()
        {
            var c = new MetricsCollector(10);
            var none = new ConnectionEvent[0];
            const string sent = "connectionsmonitor_process_transmit_bytes_total{process=\"app\"}";
            const string received = "connectionsmonitor_process_receive_bytes_total{process=\"app\"}";
            var seen = new List<(double Sent, double Received)>();
            void Step(ConnectionSnapshot s, params ConnectionEvent[] events)
            {
                c.Add(s, events, default);
                var text = c.Render(ExpositionFormat.PrometheusText);
                seen.Add((Value(text, sent), Value(text, received)));
            }

            // Baseline: a connection with a past (1,000,000 bytes before the endpoint started) counts nothing of it.
            Step(Snap(0, Tcp(40000, 443, "app", 1_000_000, 50)));
            // It moves 500 / 20; a second one of app opens within the interval (all of its 70 / 7 count).
            Step(Snap(15, Tcp(40000, 443, "app", 1_000_500, 70), Tcp(40001, 443, "app", 70, 7)));
            // The first closes: the OS's final counters add what it moved after its last sample (300 / 30); it leaves the table.
            var closed = Tcp(40000, 443, "app", 1_000_800, 100, TcpState.Closed);
            Step(Snap(30, Tcp(40001, 443, "app", 90, 9)), new ConnectionEvent(ConnectionChange.Closed, T0.AddSeconds(30), closed, TcpState.Established, false, true));
            // One that opened and closed between two samples adds all it moved; the last one closes with no final counters (adds nothing more).
            var between = Tcp(40002, 443, "app", 4_000, 400, TcpState.Closed);
            Step(Snap(45),
                new ConnectionEvent(ConnectionChange.Opened, T0.AddSeconds(45), between, null, true, false),
                new ConnectionEvent(ConnectionChange.Closed, T0.AddSeconds(45), between, null, true, true),
                new ConnectionEvent(ConnectionChange.Closed, T0.AddSeconds(45), Tcp(40001, 443, "app", 90, 9), TcpState.Established, false, false));
            // No connections of app any more: its series stays, at the same totals, with 0 connections.
            Step(Snap(60, Tcp(40003, 80, "other-app", 10, 1)));

            Assert.Equal(new[] { 0.0, 570, 870 + 20, 890 + 4_000, 4_890 }, seen.Select(v => v.Sent));
            Assert.Equal(new[] { 0.0, 27, 57 + 2, 59 + 400, 459 }, seen.Select(v => v.Received));
            for (int i = 1; i < seen.Count; i++)
            {
                Assert.True(seen[i].Sent >= seen[i - 1].Sent, "sent went down at sample " + i);
                Assert.True(seen[i].Received >= seen[i - 1].Received, "received went down at sample " + i);
            }
            var last = c.Render(ExpositionFormat.PrometheusText);
            Assert.Equal(0, Value(last, "connectionsmonitor_process_connections{process=\"app\"}"));
            // other-app opened after the baseline: its whole counters count, in a series of its own (there is room).
            Assert.Equal(10, Value(last, "connectionsmonitor_process_transmit_bytes_total{process=\"other-app\"}"));
        }

        [Fact]
        public void AnOrphanedConnectionsLastBytesAndItsFinalCountersGoToTheProcessThatOwnedIt()
        {
            // A client sends, then close()s with bytes still leaving: its socket goes on ownerless in FIN_WAIT2 (counted as
            // no process's connection), then closes with the OS's final counters and no owner on the closing record.
            var c = new MetricsCollector(10);
            const string appSent = "connectionsmonitor_process_transmit_bytes_total{process=\"python3\"}";
            const string noneSent = "connectionsmonitor_process_transmit_bytes_total{process=\"none\"}";
            c.Add(Snap(0, Tcp(40000, 18020, "python3", 0, 0)), new ConnectionEvent[0], default);
            c.Add(Snap(5, Tcp(40000, 18020, "python3", 100_000, 0)), new ConnectionEvent[0], default);
            c.Add(Snap(10, Tcp(40000, 18020, null, 1_100_000, 0, TcpState.FinWait2)), new ConnectionEvent[0], default);
            var text = c.Render(ExpositionFormat.PrometheusText);
            Assert.Equal(1_100_000, Value(text, appSent));
            Assert.Equal(0, Value(text, noneSent));
            Assert.Equal(1, Value(text, "connectionsmonitor_process_connections{process=\"none\"}"));
            Assert.Equal(0, Value(text, "connectionsmonitor_process_connections{process=\"python3\"}"));
            var closed = Tcp(40000, 18020, null, 1_100_040, 0, TcpState.Closed);
            c.Add(Snap(15), new[] { new ConnectionEvent(ConnectionChange.Closed, T0.AddSeconds(15), closed, TcpState.FinWait2, false, true) }, default);
            text = c.Render(ExpositionFormat.PrometheusText);
            Assert.Equal(1_100_040, Value(text, appSent));
            Assert.Equal(0, Value(text, noneSent));
            // A connection no process ever owned stays none's.
            c.Add(Snap(20, Tcp(40001, 18020, null, 500, 0, TcpState.TimeWait)), new ConnectionEvent[0], default);
            Assert.Equal(500, Value(c.Render(ExpositionFormat.PrometheusText), noneSent));
        }

        [Fact]
        public void FiveHundredProcessNamesGiveTopNSeriesPlusOtherAndAnAdmittedNameKeepsItsSeries()
        {
            var c = new MetricsCollector(10);
            int port = 10000;
            ConnectionSnapshot Names(int second, int from, int count, string big)
            {
                var rows = new List<ConnectionRecord>();
                // big has 5 connections: it ranks first while there is room.
                if (big != null) for (int i = 0; i < 5; i++) rows.Add(Tcp(port++, 443, big, 0, 0));
                for (int i = from; i < from + count; i++) rows.Add(Tcp(port++, 443, "proc" + i.ToString("D3"), 100, 10));
                rows.Add(Tcp(port++, 443, null, null, null, TcpState.TimeWait)); // no owner
                return new ConnectionSnapshot(T0.AddSeconds(second), rows, new string[0]);
            }
            c.Add(Names(0, 0, 500, "big"), new ConnectionEvent[0], default);
            var text = c.Render(ExpositionFormat.PrometheusText);
            var series = text.Split('\n').Where(l => l.StartsWith("connectionsmonitor_process_connections{")).ToList();
            Assert.Equal(12, series.Count); // 10 names + other + none
            Assert.Equal(5, Value(text, "connectionsmonitor_process_connections{process=\"big\"}"));
            // The rest of the room by connections (1 each), then bytes (equal), then name: proc000..proc008.
            for (int i = 0; i < 9; i++) Assert.Equal(1, Value(text, "connectionsmonitor_process_connections{process=\"proc" + i.ToString("D3") + "\"}"));
            Assert.Equal(491, Value(text, "connectionsmonitor_process_connections{process=\"other\"}"));
            Assert.Equal(1, Value(text, "connectionsmonitor_process_connections{process=\"none\"}"));

            // 500 other names later: still 12 series; big is gone from the table but keeps its series; the new names count in other.
            c.Add(Names(15, 500, 500, null), new ConnectionEvent[0], default);
            text = c.Render(ExpositionFormat.PrometheusText);
            foreach (var family in new[] { "connectionsmonitor_process_connections{", "connectionsmonitor_process_transmit_bytes_total{", "connectionsmonitor_process_receive_bytes_total{" })
                Assert.Equal(12, text.Split('\n').Count(l => l.StartsWith(family)));
            Assert.Equal(0, Value(text, "connectionsmonitor_process_connections{process=\"big\"}"));
            Assert.Equal(500, Value(text, "connectionsmonitor_process_connections{process=\"other\"}"));
            Assert.Equal(500 * 100, Value(text, "connectionsmonitor_process_transmit_bytes_total{process=\"other\"}")); // new after the baseline: whole counters
            Assert.Equal(10, c.AdmittedProcesses);
        }

        [Fact]
        public void LabelValuesAreCleanedAndEscaped()
        {
            var c = new MetricsCollector(10);
            c.Add(Snap(0, Tcp(1, 2, "we\"ird\\na\u001b[31mme\nx", 0, 0)), new ConnectionEvent[0], default);
            var text = c.Render(ExpositionFormat.PrometheusText);
            // Control characters shown as Control Pictures (UntrustedText: ␛ for ESC, ␊ for a newline), then quote and backslash escaped.
            Assert.Contains("\nconnectionsmonitor_process_connections{process=\"we\\\"ird\\\\na\u241B[31mme\u240Ax\"} 1\n", text);
        }
    }
}
