using System;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;

namespace ConnectionsMonitor.WindowsTests
{
    /// <summary>
    /// The Event Log's P/Invoke layer against a live advapi32: the source's registration in the registry (real under Wine
    /// too: Wine keeps a full registry), and RegisterEventSourceW / ReportEventW / DeregisterEventSource through the
    /// sender. Under Wine the event log calls are stubs that return success without storing anything, so there these
    /// tests prove the registry code, the marshalling of the calls (a wrong signature crashes or fails) and the
    /// sender's counting; reading the entries back (Get-WinEvent) needs real Windows (tests/Pester/EventLog.Tests.ps1).
    /// </summary>
    public sealed class EventLogTests
    {
        private static readonly string Source = "CMTest-" + Guid.NewGuid().ToString("N").Substring(0, 8);

        [Fact]
        public void A_source_registers_reads_back_and_unregisters()
        {
            try
            {
                Assert.False(WindowsEventSource.IsRegistered("Application", Source));
                Assert.True(WindowsEventSource.Register("Application", Source));
                Assert.True(WindowsEventSource.IsRegistered("Application", Source));
                Assert.Equal(WindowsEventLogRegistration.MessageFile(Environment.Is64BitOperatingSystem), WindowsEventSource.MessageFile("Application", Source));
                Assert.False(WindowsEventSource.Register("Application", Source)); // there already: values set again
            }
            finally
            {
                WindowsEventSource.Unregister("Application", Source);
            }
            Assert.False(WindowsEventSource.IsRegistered("Application", Source));
            Assert.False(WindowsEventSource.Unregister("Application", Source));
        }

        [Fact]
        public void A_log_that_does_not_exist_is_refused_with_what_is_expected()
        {
            var ex = Assert.Throws<InvalidOperationException>(() => WindowsEventSource.Register("NoSuchLog-" + Source, Source));
            Assert.Equal("The event log 'NoSuchLog-" + Source + "' does not exist; expected an existing log such as Application.", ex.Message);
        }

        [Fact]
        public void The_sender_writes_an_alert_and_a_connection_record_through_ReportEventW()
        {
            WindowsEventSource.Register("Application", Source);
            try
            {
                var config = ConfigLoader.LoadText("alerts:\n  eventLog:\n    enabled: true\n    source: " + Source + "\n", "config.yml").Config.Alerts.EventLog;
                using var sender = new EventLogSender(config);
                Assert.Empty(sender.TakeWarnings()); // registered: nothing to say
                sender.Enqueue(new AlertEvent("wine", AlertKind.RemotePort, AlertStatus.Firing, DateTime.UtcNow, "Outbound to 3389 by \"x\" %1 %%1024", new[]
                {
                    new AlertItem { Protocol = Engine.Model.TransportProtocol.Tcp, LocalAddress = "127.0.0.1", LocalPort = 5000, RemoteAddress = "127.0.0.1", RemotePort = 3389, ProcessId = 1 },
                }));
                var row = new Engine.Model.ConnectionRecord
                {
                    Protocol = Engine.Model.TransportProtocol.Tcp, LocalAddress = System.Net.IPAddress.Loopback, LocalPort = 5000,
                    RemoteAddress = System.Net.IPAddress.Loopback, RemotePort = 3389, State = Engine.Model.TcpState.Established, ProcessId = 1, BytesSent = 10,
                };
                sender.Enqueue(SystemLogRecord.ForConnection(new Engine.Tracking.ConnectionEvent(Engine.Tracking.ConnectionChange.Closed, DateTime.UtcNow, row, null), null, "wine"));
                Assert.True(sender.Flush(TimeSpan.FromSeconds(10)));
                Assert.Null(sender.LastError);
                Assert.Equal((1L, 0L), (sender.Counts(SystemLogRecordKind.Alert).Sent, sender.Counts(SystemLogRecordKind.Alert).Failed));
                Assert.Equal((1L, 0L), (sender.Counts(SystemLogRecordKind.Connection).Sent, sender.Counts(SystemLogRecordKind.Connection).Failed));
            }
            finally { WindowsEventSource.Unregister("Application", Source); }
        }

        [Fact]
        public void An_unregistered_source_is_said_once_by_the_sender()
        {
            var config = ConfigLoader.LoadText("alerts:\n  eventLog:\n    enabled: true\n    source: " + Source + "-none\n", "config.yml").Config.Alerts.EventLog;
            using var sender = new EventLogSender(config);
            Assert.Equal(new[] { EventLogSender.NotRegisteredWarning(Source + "-none", "Application") }, sender.TakeWarnings());
        }
    }
}
