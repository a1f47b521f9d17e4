using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.History;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Tests.Session;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.History
{
    /// <summary>The session's recorder on real loopback sockets, into a real SQLite file, read back while and after it writes.</summary>
    [Collection(SamplerThreads.Name)]
    public sealed class HistoryRecorderTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-recorder-" + Guid.NewGuid().ToString("N"));

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        // Waits for a sample written after the latest one: its read started after that one's ended.
        private static void NextSample(MonitorSession session)
        {
            var last = session.History.State.LastSampleUtc;
            Assert.True(SpinWait.SpinUntil(() => session.History.State.LastSampleUtc > last, TimeSpan.FromSeconds(20)), "no sample after " + last?.ToString("HH:mm:ss.fff") + " within 20 s");
        }

        [Fact]
        public void AConnectionsLifeBytesAndOwnerAreRecordedAndReadableWhileRecording()
        {
            string db = Path.Combine(_dir, "h.db");
            using var session = new MonitorSession(new MonitorSessionOptions());
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var started = session.History.Start(db, new HistoryOptions(), TimeSpan.FromMilliseconds(200), null);
            Assert.True(started.IsRecording);
            Assert.Equal(1, SamplerThreads.Count("cmon-history"));
            Assert.Throws<InvalidOperationException>(() => session.History.Start(db, null, null, null));
            Assert.True(SpinWait.SpinUntil(() => session.History.State.SamplesWritten >= 2, TimeSpan.FromSeconds(10)));

            int clientPort;
            using (var client = new TcpClient())
            {
                client.Connect(IPAddress.Loopback, port);
                clientPort = ((IPEndPoint)client.Client.LocalEndPoint).Port;
                using var server = listener.AcceptTcpClient();
                client.GetStream().Write(new byte[70000], 0, 70000);
                var buffer = new byte[70000];
                int got = 0;
                while (got < 70000) got += server.GetStream().Read(buffer, got, 70000 - got);
                server.GetStream().Write(new byte[1234], 0, 1234);
                int back = 0;
                while (back < 1234) back += client.GetStream().Read(buffer, back, 1234 - back);
                // Samples taken after the connection opened are written (the recorder may still be writing queued ones).
                var opened = DateTime.UtcNow + TimeSpan.FromMilliseconds(600);
                Assert.True(SpinWait.SpinUntil(() => session.History.State.LastSampleUtc >= opened, TimeSpan.FromSeconds(20)));
                NextSample(session); // (a sample's time is stamped when its read ends: its dump may predate the connect)
                // Read while the recorder writes.
                using (var reader = HistoryStore.OpenReader(db))
                {
                    var open = reader.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection }).Where(c => c.LocalPort == clientPort && c.RemotePort == port).ToList();
                    var row = Assert.Single(open);
                    Assert.Null(row.ClosedUtc);
                }
                client.Client.LingerState = new LingerOption(true, 0); // RST: the row goes at once, no TIME_WAIT under the same ends
            }
            var closed = DateTime.UtcNow + TimeSpan.FromMilliseconds(600);
            Assert.True(SpinWait.SpinUntil(() => session.History.State.LastSampleUtc >= closed, TimeSpan.FromSeconds(20)));
            NextSample(session);
            var final = session.History.Stop();
            Assert.False(final.IsRecording);
            Assert.Null(session.History.Stop());
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count("cmon-history") == 0, TimeSpan.FromSeconds(2)), "the recorder thread did not end");
            listener.Stop();

            using var read = HistoryStore.OpenReader(db);
            var life = read.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection, RemoteAddresses = new[] { AddressPattern.Parse("127.0.0.1") } })
                .Single(c => c.LocalPort == clientPort && c.RemotePort == port);
            Assert.Equal(("TCP", "127.0.0.1", Environment.ProcessId), (life.Protocol, life.LocalAddress, life.ProcessId.Value));
            Assert.NotNull(life.ClosedUtc);
            Assert.False(life.ClosedByRecorderStop);
            Assert.Equal(70000, life.BytesSent);      // tcp_info bytes_acked
            // tcp_info bytes_received at close (the sock_diag destroy report): the server closed first, and a destroyed
            // socket's count includes the peer's FIN unless a read saw it in CLOSE_WAIT.
            Assert.InRange(life.BytesReceived.Value, 1234, 1235);
            var listenerLife = read.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection }).Single(c => c.LocalPort == port && c.State == "Listen" && c.LocalAddress == "127.0.0.1");
            Assert.True(listenerLife.ClosedByRecorderStop); // it outlived the recording
            Assert.True(listenerLife.OpenedBeforeRecording); // and was there before it: Opened is the recording's start
            Assert.False(life.OpenedBeforeRecording);
            Assert.Null(listenerLife.RemoteAddress);
            var totals = read.QueryTotals(new HistoryQuery());
            Assert.Equal(final.SamplesWritten, totals.Count);
            Assert.True(totals.Sum(t => t.BytesSent ?? 0) >= 70000, "the totals count the bytes moved while recording");
            var mine = read.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process, ProcessNames = new[] { System.Diagnostics.Process.GetCurrentProcess().ProcessName } });
            Assert.NotEmpty(mine);
            Assert.True(mine.Sum(p => p.BytesSent ?? 0) >= 70000 + 1234, "both ends are this process");
        }

        [Fact]
        public void AnAlertOfTheRecordingSessionIsRecordedWithItsListenerAndATestMessageIsNot()
        {
            string db = Path.Combine(_dir, "alerts.db");
            TestEnvironment.Isolate();
            using var session = new MonitorSession(new MonitorSessionOptions());
            session.Alerts.Interval = TimeSpan.FromMilliseconds(200);
            session.History.Start(db, new HistoryOptions(), TimeSpan.FromMilliseconds(200), null);
            int port = ConnectionsMonitor.Tests.Alerts.AlertMonitorTests.FreePort();
            var rule = new AlertRule("listen", new[] { new AlertCondition(AlertKind.NewListeningPort) { Ports = new[] { port } } })
            { Filter = new ConnectionQuery { ProcessIds = new[] { Environment.ProcessId } } };
            session.Alerts.Register(rule);
            Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 1, TimeSpan.FromSeconds(20)), "no sample was evaluated");
            // A Test message (Test-ConnectionAlert) reaches listeners but is no firing: not recorded.
            session.History.OnAlert(rule, new AlertEvent("listen", AlertKind.NewListeningPort, AlertStatus.Test, DateTime.UtcNow, "Test message", null));
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            try
            {
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.Find("listen").Fired >= 1, TimeSpan.FromSeconds(20)), "no alert for the new listener");
                long seen = session.History.State.SamplesWritten;
                Assert.True(SpinWait.SpinUntil(() => session.History.State.SamplesWritten >= seen + 2, TimeSpan.FromSeconds(10)));
                using (var reader = HistoryStore.OpenReader(db)) // read while recording
                {
                    var row = Assert.Single(reader.QueryAlerts(new HistoryQuery { Kind = HistoryKind.Alert }));
                    Assert.Equal(("listen", "NewListeningPort", "Firing", "TCP", port, Environment.ProcessId),
                        (row.RuleName, row.AlertKind, row.Status, row.Protocol, row.LocalPort.Value, row.ProcessId.Value));
                    Assert.InRange((session.Alerts.Find("listen").LastFiredUtc.Value - row.TimeUtc).TotalMilliseconds, 0, 1); // kept to the millisecond
                    Assert.StartsWith("New listening port " + port + "/TCP by ", row.Summary);
                    Assert.Null(row.RemoteAddress);
                }
            }
            finally
            {
                listener.Stop();
                session.Alerts.Unregister("listen");
            }
            session.History.Stop();
            using var read = HistoryStore.OpenReader(db);
            Assert.Single(read.QueryAlerts(new HistoryQuery()));
        }

        [Fact]
        public void ClosingTheSessionStopsTheRecorderAndLetsGoOfTheFile()
        {
            string db = Path.Combine(_dir, "s.db");
            var session = new MonitorSession(new MonitorSessionOptions());
            session.History.Start(db, null, TimeSpan.FromMilliseconds(200), null);
            Assert.True(SpinWait.SpinUntil(() => session.History.State.SamplesWritten >= 1, TimeSpan.FromSeconds(10)));
            session.Dispose();
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count("cmon-history") == 0, TimeSpan.FromSeconds(2)), "the recorder thread did not end");
            using (HistoryStore.OpenWriter(db, null)) { } // the lock is free again
        }
    }
}
