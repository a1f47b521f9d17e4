using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>
    /// Start-/Stop-/Get-ConnectionRecording and Get-ConnectionHistory in a real runspace with the built module (SQLite
    /// loaded through the module's own resolver), on real loopback sockets and a real file.
    /// </summary>
    [Collection(ConnectionsMonitor.Tests.Session.SamplerThreads.Name)]
    public sealed class HistoryCmdletTests : IDisposable
    {
        private readonly ModuleSession _ps = new ModuleSession();
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-history-cmdlet-" + Guid.NewGuid().ToString("N"));
        private string Db => Path.Combine(_dir, "h.db");

        public void Dispose()
        {
            _ps.Dispose();
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

        private long Written() => Prop<long>(Assert.Single(_ps.Invoke("Get-ConnectionRecording")), "SamplesWritten");

        /// <summary>
        /// Waits until a sample taken at least <paramref name="span"/> after now is written: the recorder may be writing
        /// samples it queued earlier (a loaded machine), so a count of samples written says nothing of when they were taken.
        /// </summary>
        private void WaitForSamplesTakenWithin(TimeSpan span)
        {
            var after = DateTime.Now + span;
            Assert.True(SpinWait.SpinUntil(() => LastSample() >= after, TimeSpan.FromSeconds(20)),
                "no sample taken after " + after.ToString("HH:mm:ss.fff") + " was written within 20 s");
            // A sample's time is stamped when its whole read ends, after the table dump and the owners' walk: on a loaded
            // machine that sample's dump may still predate what the caller did. The next one's read starts after it.
            var that = LastSample();
            Assert.True(SpinWait.SpinUntil(() => LastSample() > that, TimeSpan.FromSeconds(20)), "no sample after " + that?.ToString("HH:mm:ss.fff") + " was written within 20 s");
        }

        private DateTime? LastSample() => Prop<DateTime?>(Assert.Single(_ps.Invoke("Get-ConnectionRecording")), "LastSample");

        [Fact]
        public void RecordAConnectionThenFindItByAddressProcessAndTime()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var started = Assert.Single(_ps.Invoke("Start-ConnectionRecording -Path $args[0] -Interval 00:00:00.2 -PassThru", Db));
            Assert.Equal("ConnectionsMonitor.ConnectionRecording", started.TypeNames[0]);
            Assert.True(Prop<bool>(started, "IsRecording"));
            Assert.Equal(0.2, Prop<double>(started, "IntervalSeconds"), 6);
            Assert.True(SpinWait.SpinUntil(() => Written() >= 2, TimeSpan.FromSeconds(10)));
            DateTime before = DateTime.Now;
            int clientPort;
            using (var client = new TcpClient())
            {
                client.Connect(IPAddress.Loopback, port);
                clientPort = ((IPEndPoint)client.Client.LocalEndPoint).Port;
                using var server = listener.AcceptTcpClient();
                client.GetStream().Write(new byte[5000], 0, 5000);
                var buffer = new byte[5000];
                int got = 0;
                while (got < 5000) got += server.GetStream().Read(buffer, got, 5000 - got);
                WaitForSamplesTakenWithin(TimeSpan.FromMilliseconds(600)); // the recorder has seen the connection, with its owner
                client.Client.LingerState = new LingerOption(true, 0);
            }
            WaitForSamplesTakenWithin(TimeSpan.FromMilliseconds(600));
            var final = Assert.Single(_ps.Invoke("Stop-ConnectionRecording -PassThru"));
            Assert.False(Prop<bool>(final, "IsRecording"));
            var stopped = Assert.Single(_ps.Invoke("Get-ConnectionRecording")); // the last recording's state stays to be seen
            Assert.Equal((false, Prop<long>(final, "SamplesWritten")), (Prop<bool>(stopped, "IsRecording"), Prop<long>(stopped, "SamplesWritten")));
            listener.Stop();

            // -RemoteAddress alone means connection lives.
            var lives = _ps.Invoke("Get-ConnectionHistory -Path $args[0] -RemoteAddress 127.0.0.0/8 -Since $args[1]", Db, before)
                .Where(o => Prop<int>(o, "LocalPort") == clientPort && Prop<int?>(o, "RemotePort") == port).ToList();
            var life = Assert.Single(lives);
            Assert.Equal("ConnectionsMonitor.ConnectionHistoryConnection", life.TypeNames[0]);
            Assert.Equal(Environment.ProcessId, Prop<int?>(life, "ProcessId"));
            Assert.Equal(5000L, Prop<long?>(life, "BytesSent"));
            Assert.NotNull(life.Properties["Closed"].Value);
            Assert.Equal(DateTimeKind.Local, Prop<DateTime>(life, "Opened").Kind);

            // Totals by default; -Interval sums them.
            var totals = _ps.Invoke("Get-ConnectionHistory -Path $args[0]", Db);
            Assert.Equal(Prop<long>(final, "SamplesWritten"), totals.Count);
            Assert.All(totals, t => Assert.Equal("ConnectionsMonitor.ConnectionHistoryTotals", t.TypeNames[0]));
            var summed = _ps.Invoke("Get-ConnectionHistory -Path $args[0] -Interval 1.00:00:00", Db);
            Assert.Equal(totals.Sum(t => Prop<int>(t, "Samples")), summed.Sum(t => Prop<int>(t, "Samples")));
            Assert.Equal(2, _ps.Invoke("Get-ConnectionHistory -Path $args[0] -Last 2", Db).Count);

            // -ProcessName alone means process rows: this process moved those 5000 bytes (and received them).
            string me = System.Diagnostics.Process.GetCurrentProcess().ProcessName;
            var mine = _ps.Invoke("Get-ConnectionHistory -Path $args[0] -ProcessName $args[1]", Db, me);
            Assert.NotEmpty(mine);
            Assert.All(mine, p => Assert.Equal(me, Prop<string>(p, "ProcessName")));
            Assert.True(mine.Sum(p => Prop<long?>(p, "BytesSent") ?? 0) >= 5000);

            // Flat objects: a CSV of connection lives has one header row and their fields.
            var csv = _ps.Invoke("Get-ConnectionHistory -Path $args[0] -Kind Connection | ConvertTo-Csv -NoTypeInformation", Db).Select(o => o.ToString()).ToList();
            Assert.StartsWith("\"Opened\",\"OpenedBeforeRecording\",\"Closed\",\"ClosedByRecordingStop\",\"Protocol\"", csv[0]);
        }

        [Fact]
        public void ASecondRecorderOnTheSameFileIsRefusedWithTheFirstOnesProcessId()
        {
            _ps.Invoke("Start-ConnectionRecording -Path $args[0] -Interval 00:00:00.5", Db);
            try
            {
                using var other = new ModuleSession();
                var errors = other.InvokeExpectingErrors("Start-ConnectionRecording -Path $args[0]", Db);
                var error = Assert.Single(errors);
                Assert.Equal("HistoryFileInUse,ConnectionsMonitor.Commands.StartConnectionRecordingCommand", error.FullyQualifiedErrorId);
                Assert.Contains("(PID " + Environment.ProcessId + ")", error.Exception.Message);
                // The same session asked twice: a clear error too.
                var twice = Assert.Single(_ps.InvokeExpectingErrors("Start-ConnectionRecording -Path $args[0]", Path.Combine(_dir, "other.db")));
                Assert.Equal("RecordingAlreadyRunning,ConnectionsMonitor.Commands.StartConnectionRecordingCommand", twice.FullyQualifiedErrorId);
            }
            finally
            {
                _ps.Invoke("Stop-ConnectionRecording");
            }
            var (_, warnings) = _ps.InvokeWithWarnings("Stop-ConnectionRecording");
            Assert.Equal("This session is not recording (Start-ConnectionRecording starts it).", Assert.Single(warnings));
        }

        [Fact]
        public void BadQuestionsGetErrorsThatSayWhatIsExpected()
        {
            var missing = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionHistory -Path $args[0]", Path.Combine(_dir, "none.db")));
            Assert.StartsWith("There is no history file at '", missing.Exception.Message);
            Assert.Equal("HistoryFileNotFound,ConnectionsMonitor.Commands.GetConnectionHistoryCommand", missing.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, missing.CategoryInfo.Category);
            var kind = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionHistory -Path $args[0] -Kind Process -RemoteAddress 10.0.0.1", Db));
            Assert.Equal("-RemoteAddress filters connection lives and alerts; Process rows have no such field. Use -Kind Connection or Alert (or leave -Kind out).", kind.Exception.Message);
            Assert.Equal("FilterNeedsConnectionKind,ConnectionsMonitor.Commands.GetConnectionHistoryCommand", kind.FullyQualifiedErrorId);
            var ports = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionHistory -Path $args[0] -Kind Totals -Port 443 -Protocol TCP", Db));
            Assert.Equal("-Protocol, -Port filter connection lives and alerts; Totals rows have no such field. Use -Kind Connection or Alert (or leave -Kind out).", ports.Exception.Message);
            var totalsByName = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionHistory -Path $args[0] -Kind Totals -ProcessName sshd", Db));
            Assert.Equal("FilterNeedsProcessKind,ConnectionsMonitor.Commands.GetConnectionHistoryCommand", totalsByName.FullyQualifiedErrorId);
            var alertInterval = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionHistory -Path $args[0] -Kind Alert -Interval 00:05:00", Db));
            Assert.StartsWith("-Interval sums totals and process rows; alerts are not summed.", alertInterval.Exception.Message);
            var badPort = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionHistory -Path $args[0] -Port 70000", Db));
            Assert.StartsWith("ParameterArgumentValidationError", badPort.FullyQualifiedErrorId);
            var interval = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionHistory -Path $args[0] -Kind Connection -Interval 00:05:00", Db));
            Assert.Equal("IntervalNeedsRollupKind,ConnectionsMonitor.Commands.GetConnectionHistoryCommand", interval.FullyQualifiedErrorId);
            var (rows, errors, _) = _ps.InvokeCollecting("Get-ConnectionHistory -Path $args[0] -RemoteAddress 300.1.1.1", Db);
            Assert.Contains(errors, e => e.FullyQualifiedErrorId.StartsWith("InvalidRemoteAddress", StringComparison.Ordinal) && e.Exception.Message.Contains("300.1.1.1"));
            Assert.Empty(rows); // a mistyped filter asks for nothing, never for the whole machine's totals
            Assert.Empty(_ps.Invoke("Get-Process -Id 2147483647 -ErrorAction SilentlyContinue | Get-ConnectionHistory -Path $args[0]", Db)); // nothing piped in
            var range = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionHistory -Path $args[0] -Since (Get-Date) -Until (Get-Date).AddHours(-1)", Db));
            Assert.Equal("EmptyRange,ConnectionsMonitor.Commands.GetConnectionHistoryCommand", range.FullyQualifiedErrorId);
            Assert.False(File.Exists(Db)); // nothing was created by asking
        }

        [Fact]
        public void ASinceInTheFutureIsSaidNotSilentlyEmpty()
        {
            Directory.CreateDirectory(_dir);
            using (ConnectionsMonitor.Engine.History.HistoryStore.OpenWriter(Db, null)) { }
            var (rows, warnings) = _ps.InvokeWithWarnings("Get-ConnectionHistory -Path $args[0] -Since (Get-Date).AddDays(1)", Db);
            Assert.Empty(rows);
            Assert.Matches(@"^-Since \(.+\) is in the future: nothing has been recorded after it yet\. Did you mean \(Get-Date\)\.AddDays\(-1\) rather than AddDays\(1\)\?$", Assert.Single(warnings));
            (rows, warnings) = _ps.InvokeWithWarnings("Get-ConnectionHistory -Path $args[0] -Since (Get-Date).AddDays(-1)", Db);
            Assert.Empty(warnings);
        }

        [Fact]
        public void AlertsComeBackAsFlatRowsFilteredByPortAndProcess()
        {
            Directory.CreateDirectory(_dir);
            var t = new DateTime(2026, 11, 30, 22, 15, 0, DateTimeKind.Utc);
            var scan = new ConnectionsMonitor.Engine.Alerts.AlertEvent("scans", ConnectionsMonitor.Engine.Alerts.AlertKind.PortScan, ConnectionsMonitor.Engine.Alerts.AlertStatus.Firing, t,
                "Port scan from 198.51.100.9", new[]
                {
                    new ConnectionsMonitor.Engine.Alerts.AlertItem { Protocol = ConnectionsMonitor.Engine.Model.TransportProtocol.Tcp, LocalAddress = "10.0.0.5", LocalPort = 22, RemoteAddress = "198.51.100.9", RemotePort = 40000 },
                    new ConnectionsMonitor.Engine.Alerts.AlertItem { Protocol = ConnectionsMonitor.Engine.Model.TransportProtocol.Tcp, LocalAddress = "10.0.0.5", LocalPort = 80, RemoteAddress = "198.51.100.9", RemotePort = 40001, ProcessId = 4242, ProcessName = "=HYPERLINK(\"x\")" },
                }) { Subject = "198.51.100.9" };
            using (var store = ConnectionsMonitor.Engine.History.HistoryStore.OpenWriter(Db, null))
            {
                var b = new ConnectionsMonitor.Engine.History.HistoryBatch();
                b.Alerts.AddRange(ConnectionsMonitor.Engine.History.AlertRow.From(scan));
                Assert.True(store.Write(b));
            }
            var rows = _ps.Invoke("Get-ConnectionHistory -Path $args[0] -Kind Alert", Db);
            Assert.Equal(2, rows.Count);
            Assert.All(rows, r => Assert.Equal("ConnectionsMonitor.ConnectionHistoryAlert", r.TypeNames[0]));
            Assert.Equal((t.ToLocalTime(), scan.Id.ToString("D"), "scans", "PortScan", "Firing", "Port scan from 198.51.100.9", "198.51.100.9"),
                (Prop<DateTime>(rows[0], "Time"), Prop<string>(rows[0], "AlertId"), Prop<string>(rows[0], "RuleName"), Prop<string>(rows[0], "Kind"),
                 Prop<string>(rows[0], "Status"), Prop<string>(rows[0], "Message"), Prop<string>(rows[0], "Subject")));
            var web = Assert.Single(_ps.Invoke("Get-ConnectionHistory -Path $args[0] -Kind Alert -Port 80 -ProcessId 4242", Db));
            Assert.Equal("'=HYPERLINK(\"x\")", Prop<string>(web, "ProcessName")); // never a formula in a spreadsheet
            // -ProcessId has Get-MonitoredConnection's aliases (a newcomer's trial: -PID 1 was refused), and is not taken from
            // piped objects by property name (a piped process's Id would narrow -ProcessName's question to one id).
            foreach (var alias in new[] { "Id", "PID", "OwningProcess" })
                Assert.Equal(Prop<string>(web, "AlertId"), Prop<string>(Assert.Single(_ps.Invoke("Get-ConnectionHistory -Path $args[0] -Kind Alert -Port 80 -" + alias + " 4242", Db)), "AlertId"));
            Assert.Empty(_ps.Invoke("Get-ConnectionHistory -Path $args[0] -Kind Alert -PID 4243", Db));
            Assert.Equal("Id,PID,OwningProcess False", _ps.Invoke(
                "$p = (Get-Command Get-ConnectionHistory).Parameters['ProcessId']; ($p.Aliases -join ',') + ' ' + [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.ValueFromPipelineByPropertyName })").Single().ToString());
            Assert.Equal(_ps.Invoke("(Get-Command Get-MonitoredConnection).Parameters['ProcessId'].Aliases -join ','").Single().ToString(),
                _ps.Invoke("(Get-Command Get-ConnectionHistory).Parameters['ProcessId'].Aliases -join ','").Single().ToString());
            Assert.Empty(_ps.Invoke("Get-ConnectionHistory -Path $args[0] -Kind Alert -Protocol UDP", Db));
            // A CSV of alerts: one header and the row's fields.
            var csv = _ps.Invoke("Get-ConnectionHistory -Path $args[0] -Kind Alert -LocalPort 22 | ConvertTo-Csv -NoTypeInformation", Db).Select(o => o.ToString()).ToList();
            Assert.Equal(2, csv.Count);
            Assert.StartsWith("\"Time\",\"AlertId\",\"RuleName\",\"Kind\",\"Status\",\"Message\"", csv[0]);
        }

        [Fact]
        public void WhatIfStartsNothingAndCreatesNoFile()
        {
            _ps.Invoke("Start-ConnectionRecording -Path $args[0] -WhatIf", Db);
            Assert.Empty(_ps.Invoke("Get-ConnectionRecording"));
            Assert.False(File.Exists(Db));
        }
    }
}
