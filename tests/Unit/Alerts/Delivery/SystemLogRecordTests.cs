using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Text;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Tracking;
using Xunit;

namespace ConnectionsMonitor.Tests.Alerts.Delivery
{
    /// <summary>
    /// The pure parts of the system logs: connection records as exact RFC 5424 text, the datagram cap's cuts, the
    /// Windows Event Log entries (event IDs, types, insertion strings) and registration values, and the two-lane queue.
    /// </summary>
    public class SystemLogRecordTests
    {
        private static readonly DateTime Time = new DateTime(2026, 3, 1, 12, 0, 3, 250, DateTimeKind.Utc);

        private static ConnectionRecord Row(string process = "cu\"rl]") => new ConnectionRecord
        {
            Protocol = TransportProtocol.Tcp,
            LocalAddress = IPAddress.Parse("192.0.2.10"),
            LocalPort = 40000,
            RemoteAddress = IPAddress.Parse("2001:db8::5"),
            RemotePort = 443,
            State = TcpState.Established,
            ProcessId = 4242,
            ProcessName = process,
            BytesSent = 1000,
            BytesReceived = 500,
            Country = "DE",
            Asn = 64500,
            RemoteHostName = "www.example.net",
        };

        [Fact]
        public void AnOpenedConnectionIsAnInformationalCONN_OPENWithItsFields()
        {
            var e = new ConnectionEvent(ConnectionChange.Opened, Time, Row(), null);
            var text = Encoding.UTF8.GetString(SyslogSender.Format(SystemLogRecord.ForConnection(e, "rdp,scan", "web1"), 16, "connectionsmonitor", 77, 2048));
            Assert.Equal("<134>1 2026-03-01T12:00:03.250000Z web1 connectionsmonitor 77 CONN_OPEN [connection@32473 change=\"opened\" protocol=\"TCP\" " +
                "localAddress=\"192.0.2.10\" localPort=\"40000\" remoteAddress=\"2001:db8::5\" remotePort=\"443\" state=\"Established\" pid=\"4242\" " +
                "process=\"cu\\\"rl\\]\" bytesSent=\"1000\" bytesReceived=\"500\" remoteHost=\"www.example.net\" country=\"DE\" asn=\"64500\" flags=\"rdp,scan\"] " +
                "\uFEFFOpened TCP 192.0.2.10:40000 -> [2001:db8::5]:443 by cu\"rl] (PID 4242)", text);
        }

        [Fact]
        public void AClosedConnectionSaysWhetherItsCountsAreFinalAndNamesTheBytes()
        {
            var r = Row("nginx");
            r.State = TcpState.TimeWait;
            var e = new ConnectionEvent(ConnectionChange.Closed, Time, r, null, betweenSamples: false, finalCounters: true);
            var text = Encoding.UTF8.GetString(SyslogSender.Format(SystemLogRecord.ForConnection(e, null, "web1"), 1, "cm", 5, 2048));
            Assert.Equal("<14>1 2026-03-01T12:00:03.250000Z web1 cm 5 CONN_CLOSE [connection@32473 change=\"closed\" protocol=\"TCP\" " +
                "localAddress=\"192.0.2.10\" localPort=\"40000\" remoteAddress=\"2001:db8::5\" remotePort=\"443\" state=\"TimeWait\" pid=\"4242\" " +
                "process=\"nginx\" bytesSent=\"1000\" bytesReceived=\"500\" finalCounters=\"true\" remoteHost=\"www.example.net\" country=\"DE\" asn=\"64500\"] " +
                "\uFEFFClosed TCP 192.0.2.10:40000 -> [2001:db8::5]:443 by nginx (PID 4242) (sent 1000 B, received 500 B)", text);
        }

        [Fact]
        public void AStateChangeAndAListenerWithUnknownsLeaveThemOut()
        {
            var r = new ConnectionRecord { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("127.0.0.1"), LocalPort = 5000, RemoteAddress = IPAddress.Parse("127.0.0.1"), RemotePort = 6000, State = TcpState.CloseWait };
            var e = new ConnectionEvent(ConnectionChange.StateChanged, Time, r, TcpState.Established);
            var rec = SystemLogRecord.ForConnection(e, null, "h");
            Assert.Equal("<134>1 2026-03-01T12:00:03.250000Z h a 1 CONN_STATE [connection@32473 change=\"stateChanged\" protocol=\"TCP\" localAddress=\"127.0.0.1\" " +
                "localPort=\"5000\" remoteAddress=\"127.0.0.1\" remotePort=\"6000\" state=\"CloseWait\" previousState=\"Established\"] " +
                "\uFEFFState TCP 127.0.0.1:5000 -> 127.0.0.1:6000 Established -> CloseWait", Encoding.UTF8.GetString(SyslogSender.Format(rec, 16, "a", 1, 2048)));
            var listener = new ConnectionRecord { Protocol = TransportProtocol.Udp, LocalAddress = IPAddress.IPv6Any, LocalPort = 53, RemoteAddress = IPAddress.IPv6Any, RemotePort = 0, ProcessId = 9 };
            var open = SystemLogRecord.ForConnection(new ConnectionEvent(ConnectionChange.Opened, Time, listener, null), null, "h");
            Assert.Equal("Opened UDP [::]:53 by an unnamed process (PID 9)", open.Message);
            Assert.Null(open.Fields.Single(f => f.Key == "remoteAddress").Value);
            Assert.Equal(SystemLogRecord.ConnectionFieldNames, open.Fields.Select(f => f.Key).ToArray());
        }

        // ---- the datagram cap ----

        private static SystemLogRecord LongAlert(string summary) =>
            SystemLogRecord.ForAlert(new AlertEvent("r", AlertKind.RemotePort, AlertStatus.Firing, Time, summary, new[]
            {
                new AlertItem { Protocol = TransportProtocol.Tcp, LocalAddress = "10.0.0.1", LocalPort = 1, RemoteAddress = "10.0.0.2", RemotePort = 3389, ProcessId = 7, ProcessName = "p", Country = "US", Asn = 1 },
            }) { HostName = "h" });

        [Fact]
        public void UnderTheCapNothingChanges()
        {
            var rec = LongAlert("short");
            var whole = SyslogSender.Format(rec, 16, "a", 1, int.MaxValue);
            Assert.Equal(whole, SyslogSender.Format(rec, 16, "a", 1, whole.Length));
            Assert.DoesNotContain("truncated", Encoding.UTF8.GetString(whole));
        }

        [Fact]
        public void OverTheCapMsgIsCutOnACharacterBoundaryAndMarked()
        {
            // "é" is two bytes, "€" three: the cut must never land inside either.
            var rec = LongAlert(new string('x', 10) + "é€" + new string('y', 100));
            var whole = SyslogSender.Format(rec, 16, "a", 1, int.MaxValue);
            string head = Encoding.UTF8.GetString(whole).Substring(0, Encoding.UTF8.GetString(whole).IndexOf(']'));
            int fixedPart = Encoding.UTF8.GetByteCount(head + " truncated=\"true\"] \uFEFF");
            // room for 10 x's and one byte of é: the cut goes back to before é.
            var cut = SyslogSender.Format(rec, 16, "a", 1, fixedPart + 11);
            Assert.Equal(head + " truncated=\"true\"] \uFEFF" + new string('x', 10), Encoding.UTF8.GetString(cut));
            Assert.Equal(fixedPart + 10, cut.Length);
            // room for x's, é and two bytes of €: € is left out whole.
            cut = SyslogSender.Format(rec, 16, "a", 1, fixedPart + 14);
            Assert.Equal(head + " truncated=\"true\"] \uFEFF" + new string('x', 10) + "é", Encoding.UTF8.GetString(cut));
            cut = SyslogSender.Format(rec, 16, "a", 1, fixedPart + 15);
            Assert.Equal(head + " truncated=\"true\"] \uFEFF" + new string('x', 10) + "é€", Encoding.UTF8.GetString(cut));
        }

        [Fact]
        public void WhenEvenNoMsgDoesNotFitOptionalFieldsGoFromTheLastBackwards()
        {
            var rec = LongAlert(new string('m', 50));
            string full = Encoding.UTF8.GetString(SyslogSender.Format(rec, 16, "a", 1, int.MaxValue));
            string sd = full.Substring(0, full.IndexOf(']'));
            // Without MSG and asn / country: the cap of that exact length.
            string without = sd.Replace(" asn=\"1\"", "").Replace(" country=\"US\"", "") + " truncated=\"true\"]";
            Assert.Equal(without, Encoding.UTF8.GetString(SyslogSender.Format(rec, 16, "a", 1, Encoding.UTF8.GetByteCount(without))));
            // The kept four (id, rule, kind, status) and no more: below that, nothing can be sent.
            string minimal = full.Substring(0, full.IndexOf(" items=")) + " truncated=\"true\"]";
            Assert.Equal(minimal, Encoding.UTF8.GetString(SyslogSender.Format(rec, 16, "a", 1, Encoding.UTF8.GetByteCount(minimal))));
            Assert.Null(SyslogSender.Format(rec, 16, "a", 1, Encoding.UTF8.GetByteCount(minimal) - 1));
        }

        [Theory]
        [InlineData(new byte[] { 0x61, 0xC3, 0xA9, 0x62 }, 2, 1)] // a|é split after its lead byte → before é
        [InlineData(new byte[] { 0x61, 0xC3, 0xA9, 0x62 }, 3, 3)]
        [InlineData(new byte[] { 0xF0, 0x9F, 0x98, 0x80, 0x61 }, 3, 0)] // an emoji's 4 bytes are one character
        [InlineData(new byte[] { 0xF0, 0x9F, 0x98, 0x80, 0x61 }, 4, 4)]
        [InlineData(new byte[] { 0x61 }, 9, 1)]
        public void Utf8BoundaryNeverSplitsASequence(byte[] text, int max, int expected) => Assert.Equal(expected, SyslogSender.Utf8Boundary(text, max));

        [Fact]
        public void AUdpSenderCountsAMessageThatCannotFitAsFailedAndSaysSoOnce()
        {
            using var udp = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)udp.Client.LocalEndPoint).Port;
            using var sender = new SyslogSender("udp", "127.0.0.1", port, 16, "a", null, 480);
            var huge = new AlertEvent(new string('r', 500), AlertKind.RemotePort, AlertStatus.Firing, Time, "s", new AlertItem[0]) { HostName = "h" };
            sender.Enqueue(huge);
            sender.Enqueue(huge);
            sender.Enqueue(LongAlert(new string('z', 1000)));
            Assert.True(sender.Flush(TimeSpan.FromSeconds(5)));
            Assert.Equal(2, sender.TooLong);
            Assert.Equal(2, sender.Failed);
            Assert.Equal(1, sender.Sent);
            Assert.Equal("Syslog udp://127.0.0.1:" + port + ": a message did not fit in 480 bytes even without its text and optional fields, and was not sent (counted, not said again).",
                Assert.Single(sender.TakeWarnings()));
            udp.Client.ReceiveTimeout = 5000;
            IPEndPoint from = null;
            var got = udp.Receive(ref from);
            Assert.Equal(480, got.Length); // cut to the cap exactly: all x... z's are one byte each
            Assert.Contains(" truncated=\"true\"] \uFEFFzzz", Encoding.UTF8.GetString(got));
        }

        // ---- Windows Event Log (pure) ----

        [Fact]
        public void AnAlertEntryIsAWarningWithItsMessageThenItsFields()
        {
            var a = new AlertEvent("rdp", AlertKind.RemotePort, AlertStatus.Firing, Time, "Outbound to 3389\u0007", new[]
            {
                new AlertItem { Protocol = TransportProtocol.Tcp, LocalAddress = "10.0.0.1", LocalPort = 5000, RemoteAddress = "10.0.0.2", RemotePort = 3389, ProcessId = 7, ProcessName = "mstsc\u202E" },
            }) { HostName = "h" };
            var entry = WindowsEventLogEntry.From(SystemLogRecord.ForAlert(a));
            Assert.Equal(1000, entry.EventId);
            Assert.Equal(EventLogEntryKind.Warning, entry.Type);
            Assert.Equal(new[] { "Outbound to 3389\u2407", a.Id.ToString("D"), "rdp", "RemotePort", "firing", "", "", "", "1", "TCP", "10.0.0.1", "5000", "10.0.0.2", "3389", "mstsc<U+202E>", "7", "", "" },
                entry.Strings.ToArray());
            Assert.Equal(SystemLogRecord.AlertFieldNames.Count + 1, entry.Strings.Count);
        }

        [Theory]
        [InlineData(AlertStatus.Firing, 1000, EventLogEntryKind.Warning)]
        [InlineData(AlertStatus.Repeating, 1001, EventLogEntryKind.Warning)]
        [InlineData(AlertStatus.Resolved, 1002, EventLogEntryKind.Information)]
        [InlineData(AlertStatus.Test, 1003, EventLogEntryKind.Information)]
        public void AlertStatusesHaveTheirEventIds(AlertStatus status, int id, EventLogEntryKind type)
        {
            var entry = WindowsEventLogEntry.From(SystemLogRecord.ForAlert(new AlertEvent("r", AlertKind.MaxConnections, status, Time, "", new AlertItem[0])));
            Assert.Equal((id, type), (entry.EventId, entry.Type));
        }

        [Theory]
        [InlineData(ConnectionChange.Opened, 2000)]
        [InlineData(ConnectionChange.Closed, 2001)]
        [InlineData(ConnectionChange.StateChanged, 2002)]
        public void ConnectionEntriesAreInformationWithTheirEventIds(ConnectionChange change, int id)
        {
            var entry = WindowsEventLogEntry.From(SystemLogRecord.ForConnection(new ConnectionEvent(change, Time, Row(), TcpState.SynSent, false, true), null, "h"));
            Assert.Equal((id, EventLogEntryKind.Information), (entry.EventId, entry.Type));
            Assert.Equal(SystemLogRecord.ConnectionFieldNames.Count + 1, entry.Strings.Count);
            Assert.Equal("4242", entry.Strings[1 + 8]); // pid: insertion string 10, Properties[9]
            Assert.Equal("cu\"rl]", entry.Strings[1 + 9]); // no syslog escaping in the Event Log
        }

        [Fact]
        public void ALongInsertionStringIsCutWithoutHalvingASurrogatePair()
        {
            string text = new string('a', WindowsEventLogEntry.MaxStringLength - 1) + "\U0001F600";
            var e = WindowsEventLogEntry.From(SystemLogRecord.ForAlert(new AlertEvent("r", AlertKind.MaxConnections, AlertStatus.Firing, Time, text, new AlertItem[0])));
            Assert.Equal(new string('a', WindowsEventLogEntry.MaxStringLength - 1), e.Strings[0]);
        }

        [Fact]
        public void TheRegistrationIsTheFrameworksMessageFileUnderTheLogsKey()
        {
            Assert.Equal(@"SYSTEM\CurrentControlSet\Services\EventLog\Application\ConnectionsMonitor", WindowsEventLogRegistration.SourceKey("Application", "ConnectionsMonitor"));
            Assert.Equal(@"%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll", WindowsEventLogRegistration.MessageFile(true));
            Assert.Equal(@"%SystemRoot%\Microsoft.NET\Framework\v4.0.30319\EventLogMessages.dll", WindowsEventLogRegistration.MessageFile(false));
            Assert.Equal(7, WindowsEventLogRegistration.TypesSupported);
        }

        private sealed class ListWriter : IEventLogWriter
        {
            public readonly List<WindowsEventLogEntry> Written = new List<WindowsEventLogEntry>();
            public int FailNext;
            public bool Disposed;
            public void Write(WindowsEventLogEntry entry)
            {
                if (FailNext > 0) { FailNext--; throw new InvalidOperationException("Could not write event 1000 to the event log: Access is denied. (Win32 error 5); this needs an administrator."); }
                lock (Written) Written.Add(entry);
            }
            public void Dispose() => Disposed = true;
        }

        [Fact]
        public void TheEventLogSenderSaysOnceWhenTheSourceIsNotRegisteredAndCountsWhatItWrites()
        {
            var writer = new ListWriter { FailNext = 1 };
            var sender = new EventLogSender("ConnectionsMonitor", "Application", writer, () => false);
            sender.Enqueue(LongAlert("one"));
            sender.Enqueue(LongAlert("two"));
            sender.Enqueue(SystemLogRecord.ForConnection(new ConnectionEvent(ConnectionChange.Opened, Time, Row(), null), null, "h"));
            Assert.True(sender.Flush(TimeSpan.FromSeconds(5)));
            Assert.Equal((1L, 1L, 0L), (sender.Counts(SystemLogRecordKind.Alert).Sent, sender.Counts(SystemLogRecordKind.Alert).Failed, sender.Counts(SystemLogRecordKind.Alert).Dropped));
            Assert.Equal(1, sender.Counts(SystemLogRecordKind.Connection).Sent);
            Assert.Equal(new[] { 1000, 2000 }, writer.Written.Select(w => w.EventId).ToArray());
            Assert.Equal(new[]
            {
                "Event Log: the source 'ConnectionsMonitor' is not registered under the log 'Application' (registering needs an administrator): its entries go to the Application log, and Event Viewer shows \"The description for Event ID … cannot be found\" before their fields.",
                "Event Log ConnectionsMonitor in Application: Could not write event 1000 to the event log: Access is denied. (Win32 error 5); this needs an administrator. (further failures are counted, not said again).",
            }, sender.TakeWarnings().ToArray());
            sender.Dispose();
            Assert.True(writer.Disposed);
        }

        // ---- the queue ----

        [Fact]
        public void AlertsGoAheadOfQueuedConnectionRecordsAndFullLanesDropTheirOldest()
        {
            using var gate = new ManualResetEventSlim(false);
            using var started = new ManualResetEventSlim(false);
            var sent = new List<string>();
            using var q = new SystemLogQueue<string>("cmon-test-q", s => { started.Set(); gate.Wait(); lock (sent) sent.Add(s); return true; }, _ => { }, 0);
            q.Enqueue("first", SystemLogRecordKind.Connection); // taken by the thread, which then waits on the gate
            Assert.True(started.Wait(5000), "the queue's thread took nothing");
            for (int i = 0; i < SystemLogQueue<string>.LaneLimit + 5; i++) q.Enqueue("c" + i, SystemLogRecordKind.Connection);
            q.Enqueue("alert", SystemLogRecordKind.Alert);
            gate.Set();
            Assert.True(q.Flush(TimeSpan.FromSeconds(10)));
            Assert.Equal(new[] { "first", "alert", "c5" }, sent.Take(3).ToArray());
            Assert.Equal(5, q.Counts(SystemLogRecordKind.Connection).Dropped);
            Assert.Equal(SystemLogQueue<string>.LaneLimit + 1, q.Counts(SystemLogRecordKind.Connection).Sent);
            Assert.Equal(1, q.Counts(SystemLogRecordKind.Alert).Sent);
        }

        [Fact]
        public void ConnectionRecordsOverTheRatePerSecondAreDroppedButAlertsNever()
        {
            var sent = 0;
            using var q = new SystemLogQueue<string>("cmon-test-q", s => { Interlocked.Increment(ref sent); return true; }, _ => { }, 10);
            int accepted = 0;
            for (int i = 0; i < 25; i++) if (q.Enqueue("c", SystemLogRecordKind.Connection)) accepted++;
            for (int i = 0; i < 25; i++) q.Enqueue("a", SystemLogRecordKind.Alert);
            Assert.True(q.Flush(TimeSpan.FromSeconds(5)));
            // All 25 enqueued within one second (a 1-second window could end between them only on a stalled machine: then up to 20).
            Assert.InRange(accepted, 10, 20);
            Assert.Equal(25 - accepted, q.Counts(SystemLogRecordKind.Connection).Dropped);
            Assert.Equal(25, q.Counts(SystemLogRecordKind.Alert).Sent);
            Assert.Equal(0, q.Counts(SystemLogRecordKind.Alert).Dropped);
        }
    }
}
