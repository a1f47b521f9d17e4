using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.History;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Tracking;
using ConnectionsMonitor.Tests.Display;
using ConnectionsMonitor.Tests.TestSupport;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ConnectionsMonitor.Tests.History
{
    /// <summary>The SQLite history: exact rows back from real files, roll-ups and retention on a given clock, damaged files, one writer.</summary>
    public sealed class HistoryStoreTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-history-" + Guid.NewGuid().ToString("N"));
        private string DbPath => Path.Combine(_dir, "history.db");
        private static readonly DateTime T0 = new DateTime(2026, 11, 24, 10, 0, 0, DateTimeKind.Utc); // a Tuesday

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private static ConnectionRecord WithBytes(ConnectionRecord r, long? sent, long? received)
        {
            r.BytesSent = sent;
            r.BytesReceived = received;
            return r;
        }

        private static ConnectionSnapshot Snap(DateTime t, params ConnectionRecord[] rows) => new ConnectionSnapshot(t, rows, new string[0]);

        /// <summary>Feeds scripted samples through the builder and tracker, as the recorder does, and writes each.</summary>
        private static void Record(HistoryStore store, params ConnectionSnapshot[] samples)
        {
            var tracker = new ConnectionTracker();
            var builder = new HistoryBatchBuilder();
            bool first = true;
            foreach (var s in samples)
            {
                var events = tracker.Update(s, first);
                first = false;
                Assert.True(store.Write(builder.Add(s, events, TimeSpan.FromSeconds(2))));
            }
            Assert.True(store.Write(builder.Finish()));
        }

        [Fact]
        public void SamplesComeBackAsExactTotalsProcessMinutesAndConnectionLives()
        {
            var web = DisplayTestSupport.Tcp(50000, 443, TcpState.Established, "curl", 100, "10.0.0.5", "203.0.113.5");
            web.Country = "US"; web.Asn = 64500; web.AsnOrganization = "Example Net";
            var listener = DisplayTestSupport.Tcp(8080, 0, TcpState.Listen, "nginx", 200, "0.0.0.0", "0.0.0.0");
            var dns = DisplayTestSupport.Udp(53, "dnsmasq");
            using (var store = HistoryStore.OpenWriter(DbPath, null))
                Record(store,
                    Snap(T0, WithBytes(web, 1000, 5000), listener, dns),                        // baseline: bytes before the recording are not counted
                    Snap(T0.AddSeconds(2), WithBytes(Clone(web), 1500, 9000), listener, dns),   // +500 / +4000
                    Snap(T0.AddSeconds(4), listener, dns),                                      // curl's connection closed
                    Snap(T0.AddSeconds(62), listener));                                         // next minute; dnsmasq's socket gone

            using (var reader = HistoryStore.OpenReader(DbPath))
            {
                var totals = reader.QueryTotals(new HistoryQuery());
                Assert.Equal(new[] { T0, T0.AddSeconds(2), T0.AddSeconds(4), T0.AddSeconds(62) }, totals.Select(t => t.TimeUtc));
                Assert.Equal(new double[] { 2, 2, 1, 1 }, totals.Select(t => t.Tcp));
                Assert.Equal(new double[] { 1, 1, 1, 0 }, totals.Select(t => t.Udp));
                Assert.Equal(new double[] { 1, 1, 0, 0 }, totals.Select(t => t.Established));
                Assert.Equal(new long?[] { null, 500, null, null }, totals.Select(t => t.BytesSent));
                Assert.Equal(new long?[] { null, 4000, null, null }, totals.Select(t => t.BytesReceived));
                Assert.Equal(TimeSpan.FromSeconds(58), totals[3].Period);

                var minute = reader.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process, UntilUtc = T0.AddMinutes(1) });
                Assert.Equal(new[] { "curl", "dnsmasq", "nginx" }, minute.Select(p => p.ProcessName));
                var curl = minute[0];
                Assert.Equal(2, curl.Samples);
                Assert.Equal(1.0, curl.Connections);
                Assert.Equal(500, curl.BytesSent);
                Assert.Equal(4000, curl.BytesReceived);
                Assert.Equal(3, minute.Single(p => p.ProcessName == "nginx").Samples);
                var last = reader.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process, SinceUtc = T0.AddMinutes(1), ProcessNames = new[] { "ng*" } });
                Assert.Equal("nginx", Assert.Single(last).ProcessName);

                var lives = reader.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection, RemoteAddresses = new[] { AddressPattern.Parse("203.0.113.5") } });
                var life = Assert.Single(lives);
                Assert.Equal(T0, life.OpenedUtc);
                Assert.Equal(T0.AddSeconds(4), life.ClosedUtc);
                Assert.False(life.ClosedByRecorderStop);
                Assert.Equal(("TCP", "10.0.0.5", 50000, 443, "Established", 100, "curl", "US", 64500L, "Example Net"),
                    (life.Protocol, life.LocalAddress, life.LocalPort.Value, life.RemotePort.Value, life.State, life.ProcessId.Value, life.ProcessName, life.Country, life.Asn.Value, life.AsnOrganization));
                Assert.Equal(1500, life.BytesSent);     // its counters when last seen
                Assert.Equal(9000, life.BytesReceived);

                var inNet = reader.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection, RemoteAddresses = new[] { AddressPattern.Parse("203.0.113.0/24") }, Countries = new[] { "us" } });
                Assert.Single(inNet);
                Assert.Empty(reader.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection, Countries = new[] { "DE" } }));
                var dnsLife = reader.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection, ProcessNames = new[] { "dnsmasq" } }).Single();
                Assert.Null(dnsLife.RemoteAddress);
                Assert.Null(dnsLife.RemotePort);
                Assert.Null(dnsLife.State);
                Assert.Equal(T0.AddSeconds(62), dnsLife.ClosedUtc);
                // The listener outlived the recording: closed by its stop, at the last sample.
                var nginx = reader.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection, ProcessNames = new[] { "nginx" } }).Single();
                Assert.Null(nginx.ClosedUtc); // the writer was disposed without Stop: closed when the file is next opened to write
            }
            using (HistoryStore.OpenWriter(DbPath, null)) { }
            using (var reader = HistoryStore.OpenReader(DbPath))
            {
                var nginx = reader.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection, ProcessNames = new[] { "nginx" } }).Single();
                Assert.Equal(T0.AddSeconds(62), nginx.ClosedUtc);
                Assert.True(nginx.ClosedByRecorderStop);
            }
        }

        private static ConnectionRecord Clone(ConnectionRecord r) => new ConnectionRecord
        {
            Key = r.Key, Protocol = r.Protocol, LocalAddress = r.LocalAddress, LocalPort = r.LocalPort, RemoteAddress = r.RemoteAddress, RemotePort = r.RemotePort,
            State = r.State, ProcessId = r.ProcessId, ProcessName = r.ProcessName, Country = r.Country, Asn = r.Asn, AsnOrganization = r.AsnOrganization,
        };

        [Fact]
        public void RollUpsKeepSumsAndAveragesAndRetentionPrunes()
        {
            var options = new HistoryOptions { RawRetention = TimeSpan.FromHours(1), Retention = TimeSpan.FromDays(2), ConnectionRetention = TimeSpan.FromDays(1) };
            var a = DisplayTestSupport.Tcp(50000, 443, TcpState.Established, "app", 1);
            var b = DisplayTestSupport.Tcp(50001, 443, TcpState.Established, "app", 1);
            using (var store = HistoryStore.OpenWriter(DbPath, options))
            {
                // Two minutes at 10 s: 1 connection the first minute, 2 the second; 100 bytes sent per sample after the first.
                var samples = new List<ConnectionSnapshot>();
                for (int i = 0; i < 12; i++)
                {
                    var rows = new List<ConnectionRecord> { WithBytes(Clone(a), 100L * i, 0) };
                    if (i >= 6) rows.Add(Clone(b));
                    samples.Add(Snap(T0.AddSeconds(10 * i), rows.ToArray()));
                }
                Record(store, samples.ToArray());
                store.CloseLeftOpen(); // as a stop does: the two lives end at the last sample, 10:01:50
                store.Maintain(T0.AddHours(2).AddMinutes(5)); // raw hour back to 11:05: both minutes roll up, and the process minutes of the hour before 11:00
                var totals = store.QueryTotals(new HistoryQuery());
                Assert.Equal(new[] { T0, T0.AddMinutes(1) }, totals.Select(t => t.TimeUtc));
                Assert.All(totals, t => Assert.Equal(TimeSpan.FromMinutes(1), t.Period));
                Assert.Equal(new[] { 6, 6 }, totals.Select(t => t.Samples));
                Assert.Equal(new[] { 1.0, 2.0 }, totals.Select(t => t.Tcp));
                Assert.Equal(new long?[] { 500, 600 }, totals.Select(t => t.BytesSent));
                var hourly = store.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process });
                // Process minutes before 11:00 → one hourly row: 12 samples, 1.5 connections on average, max 2.
                var app = Assert.Single(hourly);
                Assert.Equal((T0, TimeSpan.FromHours(1), 12, 1.5, 2, 1100L), (app.TimeUtc, app.Period, app.Samples, app.Connections, app.MaxConnections, app.BytesSent.Value));
                var asked = store.QueryTotals(new HistoryQuery { Interval = TimeSpan.FromMinutes(5) });
                var five = Assert.Single(asked);
                Assert.Equal((12, 1.5, 2, 1100L), (five.Samples, five.Tcp, five.MaxConnections, five.BytesSent.Value));
                // Shorter periods than the stored minutes (the dashboard's 10 s): each minute stays one, labelled a minute, never
                // counted as 10 s of bytes.
                var tens = store.QueryTotals(new HistoryQuery { Interval = TimeSpan.FromSeconds(10) });
                Assert.Equal(new[] { (T0, TimeSpan.FromMinutes(1), 6, 500L), (T0.AddMinutes(1), TimeSpan.FromMinutes(1), 6, 600L) },
                    tens.Select(t => (t.TimeUtc, t.Period, t.Samples, t.BytesSent.Value)));
                var appMinutes = store.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process, Interval = TimeSpan.FromMinutes(1) });
                Assert.Equal((T0, TimeSpan.FromHours(1)), (Assert.Single(appMinutes).TimeUtc, appMinutes[0].Period));

                // Lives older than the raw hour are one hourly roll-up per process, addresses and service port.
                var rolled = Assert.Single(store.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection }));
                Assert.Equal((2, T0, T0.AddSeconds(110), (int?)null, (int?)443, (int?)null, "app"),
                    (rolled.Lives, rolled.OpenedUtc, rolled.ClosedUtc.Value, rolled.LocalPort, rolled.RemotePort, rolled.ProcessId, rolled.ProcessName));
                store.Maintain(T0.AddDays(1).AddHours(1)); // connection lives closed (by the stop, at 10:01:50) over a day ago go
                Assert.Empty(store.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection }));
                Assert.Equal(2, store.QueryTotals(new HistoryQuery()).Count);
                store.Maintain(T0.AddDays(2).AddHours(1)); // and everything after two days
                Assert.Empty(store.QueryTotals(new HistoryQuery()));
                Assert.Empty(store.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process }));
            }
        }

        [Fact]
        public void AnActiveClosersLifeEndsAtTheSampleThatShowsItClosedNotAtTheStop()
        {
            // The client closes first: its row becomes an ownerless TIME_WAIT remnant, which stays a minute. A newcomer's trial
            // read 'Closed 14:51:18, ClosedByRecordingStop True, State TimeWait' for a connection closed at 14:51:14.
            var client = DisplayTestSupport.Tcp(44538, 5555, TcpState.Established, "genpy", 300, "127.0.0.1", "127.0.0.1");
            ConnectionRecord Remnant()
            {
                var r = Clone(client);
                r.State = TcpState.TimeWait; r.ProcessId = null; r.ProcessName = null;
                r.Key = new ConnectionKey(TransportProtocol.Tcp, r.LocalAddress, r.LocalPort, r.RemoteAddress, r.RemotePort, null, null);
                return r;
            }
            var listener = DisplayTestSupport.Tcp(5555, 0, TcpState.Listen, "srv", 200, "127.0.0.1", "0.0.0.0");
            // What a connection closed before the recording left: no life of the recording (it said closed at its start).
            var before = Remnant(); before.LocalPort = 44000;
            before.Key = new ConnectionKey(TransportProtocol.Tcp, before.LocalAddress, 44000, before.RemoteAddress, before.RemotePort, null, null);
            using (var store = HistoryStore.OpenWriter(DbPath, null))
                Record(store,
                    Snap(T0, listener, before),
                    Snap(T0.AddSeconds(2), listener, Clone(client)),
                    Snap(T0.AddSeconds(4), listener, Remnant()),   // closed: its life ends here
                    Snap(T0.AddSeconds(6), listener, Remnant()));  // the remnant is still there when the recording stops
            using (var reader = HistoryStore.OpenReader(DbPath))
            {
                var lives = reader.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection });
                var life = Assert.Single(lives, l => l.LocalPort == 44538);
                Assert.Equal((T0.AddSeconds(2), T0.AddSeconds(4), false, "TimeWait", "genpy"), (life.OpenedUtc, life.ClosedUtc.Value, life.ClosedByRecorderStop, life.State, life.ProcessName));
                Assert.DoesNotContain(lives, l => l.LocalPort == 44000);
                Assert.Equal(2, lives.Count);
                var server = Assert.Single(lives, l => l.LocalPort == 5555);
                Assert.Null(server.ClosedUtc); // the listener is left open, for the store to close as the recording's
            }
        }

        [Fact]
        public void SinceInsideAMinuteIncludesThatMinutesProcessRow()
        {
            var web = DisplayTestSupport.Tcp(50000, 443, TcpState.Established, "curl", 100, "10.0.0.5", "203.0.113.5");
            using (var store = HistoryStore.OpenWriter(DbPath, null))
                Record(store,
                    Snap(T0.AddSeconds(3), WithBytes(web, 0, 0)),
                    Snap(T0.AddSeconds(5), WithBytes(Clone(web), 1234567, 0)),
                    Snap(T0.AddSeconds(7), WithBytes(Clone(web), 1234567, 0)));
            using (var reader = HistoryStore.OpenReader(DbPath))
            {
                // A recording begun at 10:00:03, asked what its process did since then: the minute 10:00 holds it (a
                // newcomer's trial got nothing: the row's time, 10:00:00, is before 10:00:03).
                var row = Assert.Single(reader.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process, SinceUtc = T0.AddSeconds(3) }));
                Assert.Equal((T0, "curl", 1234567L), (row.TimeUtc, row.ProcessName, row.BytesSent.Value));
                Assert.Single(reader.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process, SinceUtc = T0.AddSeconds(59.9) }));
                // A minute that ended at -Since is not in it; the per-sample totals are those at or after it.
                Assert.Empty(reader.QueryProcesses(new HistoryQuery { Kind = HistoryKind.Process, SinceUtc = T0.AddMinutes(1) }));
                Assert.Equal(new[] { T0.AddSeconds(5), T0.AddSeconds(7) }, reader.QueryTotals(new HistoryQuery { SinceUtc = T0.AddSeconds(5) }).Select(t => t.TimeUtc));
            }
        }

        [Fact]
        public void QuestionsReachingPastTheFineTierGetTheCoarseOneThenTheFineRowsNotYetRolledUp()
        {
            var options = new HistoryOptions { RawRetention = TimeSpan.FromHours(1) };
            using (var store = HistoryStore.OpenWriter(DbPath, options))
            {
                var a = DisplayTestSupport.Tcp(50000, 443, TcpState.Established, "app", 1);
                Record(store, Enumerable.Range(0, 60).Select(i => Snap(T0.AddSeconds(10 * i), Clone(a))).ToArray()); // 10:00:00 … 10:09:50
                store.Maintain(T0.AddMinutes(10)); // minutes that ended two minutes ago (10:00 … 10:07) are rolled up; nothing is old enough to go
                var recent = store.QueryTotals(new HistoryQuery { SinceUtc = T0.AddMinutes(5) });
                Assert.Equal(30, recent.Count); // inside the fine tier: every sample from 10:05
                Assert.All(recent, r => Assert.Equal(1, r.Samples));
                var all = store.QueryTotals(new HistoryQuery());
                Assert.Equal(Enumerable.Range(0, 8).Select(m => T0.AddMinutes(m)).Concat(Enumerable.Range(48, 12).Select(i => T0.AddSeconds(10 * i))), all.Select(r => r.TimeUtc));
                Assert.Equal(60, all.Sum(r => r.Samples)); // no sample twice, none lost
                var summed = Assert.Single(store.QueryTotals(new HistoryQuery { SinceUtc = T0.AddMinutes(5), Interval = TimeSpan.FromMinutes(5) }));
                Assert.Equal((T0.AddMinutes(5), 30), (summed.TimeUtc, summed.Samples));
                // A range reaching back before the recording began (the dashboard's hour, ten minutes in) is answered by the
                // fine tier alone while it holds everything: 10 s periods all along (a newcomer's trial got the minutes rolled
                // up so far instead, counted as 10 s each: six times the real rate).
                var hour = store.QueryTotals(new HistoryQuery { SinceUtc = T0.AddMinutes(-50), Interval = TimeSpan.FromSeconds(10) });
                Assert.Equal(Enumerable.Range(0, 60).Select(i => (T0.AddSeconds(10 * i), TimeSpan.FromSeconds(10), 1)), hour.Select(r => (r.TimeUtc, r.Period, r.Samples)));
            }
        }

        [Fact]
        public void OldLivesRollUpPerHourProcessAddressAndServicePortKeepingCountsAndBytes()
        {
            ConnectionRow Life(int localPort, string remote, int remotePort, string process, int minute) => new ConnectionRow
            {
                OpenedUtc = T0.AddMinutes(minute), Protocol = "TCP", LocalAddress = "10.0.0.5", LocalPort = localPort, RemoteAddress = remote, RemotePort = remotePort,
                State = "Established", ProcessId = 7, ProcessName = process, Country = "NL", Asn = 64501, AsnOrganization = "Example",
            };
            var opened = new[]
            {
                Life(22, "198.51.100.9", 40000, "sshd", 1), Life(22, "198.51.100.9", 40001, "sshd", 2),   // inbound to port 22: one row, LocalPort 22
                Life(50000, "203.0.113.5", 443, "curl", 3), Life(50001, "203.0.113.5", 443, "curl", 4),  // outbound to 443: one row, RemotePort 443
                Life(50002, "203.0.113.6", 443, "curl", 5),                                            // another address: a row of its own
                Life(50003, "203.0.113.5", 443, "curl", 65),                                           // the next hour: a row of its own
            }.Select(r => new OpenedConnection { Row = r }).ToList();
            using var store = HistoryStore.OpenWriter(DbPath, new HistoryOptions { RawRetention = TimeSpan.FromHours(1), ConnectionRetention = TimeSpan.FromDays(1) });
            var open = new HistoryBatch();
            open.Opened.AddRange(opened);
            Assert.True(store.Write(open));
            var close = new HistoryBatch();
            close.Closed.AddRange(opened.Select((o, i) => new ClosedConnection { Connection = o, ClosedUtc = o.Row.OpenedUtc.AddSeconds(30), BytesSent = 100 * (i + 1), BytesReceived = 1000 }));
            Assert.True(store.Write(close));
            store.Maintain(T0.AddHours(3));
            var rows = store.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection });
            Assert.True(rows.Count == 4, string.Join(" | ", rows.Select(r => $"{r.ProcessName} {r.OpenedUtc:HH:mm} {r.RemoteAddress}:{r.RemotePort} {r.LocalPort} x{r.Lives} {r.BytesSent}")));
            var ssh = rows.Single(r => r.ProcessName == "sshd");
            Assert.Equal((2, (int?)22, (int?)null, "198.51.100.9", 300L, 2000L, T0, T0.AddMinutes(2).AddSeconds(30)),
                (ssh.Lives, ssh.LocalPort, ssh.RemotePort, ssh.RemoteAddress, ssh.BytesSent.Value, ssh.BytesReceived.Value, ssh.OpenedUtc, ssh.ClosedUtc.Value));
            Assert.Null(ssh.State);
            Assert.Null(ssh.ProcessId);
            Assert.Equal(("NL", 64501L), (ssh.Country, ssh.Asn.Value));
            var curl = rows.Where(r => r.ProcessName == "curl").OrderBy(r => r.OpenedUtc).ThenBy(r => r.RemoteAddress).ToList();
            Assert.Equal(new[] { (T0, "203.0.113.5", 2, 700L), (T0, "203.0.113.6", 1, 500L), (T0.AddHours(1), "203.0.113.5", 1, 600L) },
                curl.Select(r => (r.OpenedUtc, r.RemoteAddress, r.Lives, r.BytesSent.Value)));
            Assert.All(curl, r => Assert.Equal(((int?)null, (int?)443), (r.LocalPort, r.RemotePort)));
            // The address question still finds them.
            Assert.Equal(2, store.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection, RemoteAddresses = new[] { AddressPattern.Parse("203.0.113.5") } }).Count);
        }

        [Fact]
        public void ADamagedHistoryIsSetAsideWithAWarningAndANewOneStarted()
        {
            using (var store = HistoryStore.OpenWriter(DbPath, null)) Record(store, Snap(T0, DisplayTestSupport.Udp(53)));
            File.WriteAllText(DbPath, "this was a history until something wrote over it\n" + new string('x', 5000));
            using (var store = HistoryStore.OpenWriter(DbPath, null))
            {
                var warning = Assert.Single(store.TakeWarnings());
                Assert.Contains("was damaged", warning);
                string aside = Directory.GetFiles(_dir, "history.db.corrupt-*").Single();
                Assert.Contains(aside, warning);
                Assert.StartsWith("this was a history", File.ReadAllText(aside));
                Record(store, Snap(T0, DisplayTestSupport.Udp(53)));
                Assert.Single(store.QueryTotals(new HistoryQuery()));
            }
        }

        /// <summary>
        /// A history whose pages are damaged is set aside with a plain reason: SQLite's integrity report ("*** in database
        /// main ***", page numbers) or error text ("SQLite Error 11") was the reason a trial's warning gave.
        /// </summary>
        [Fact]
        public void ADamagedHistorysWarningSaysItFailedItsIntegrityCheckWithoutSqlitesReport()
        {
            using (var store = HistoryStore.OpenWriter(DbPath, null))
                Record(store, Enumerable.Range(0, 50).Select(i => Snap(T0.AddMinutes(i), Enumerable.Range(0, 20).Select(p => DisplayTestSupport.Udp(1000 + p + 20 * i)).ToArray())).ToArray());
            Assert.False(File.Exists(DbPath + "-wal") && new FileInfo(DbPath + "-wal").Length > 0, "the writer left a write-ahead log: the damage below would not be in the file it reads");
            long length = new FileInfo(DbPath).Length;
            Assert.True(length >= 3 * 4096, "the history is too small to damage a page past its header: " + length);
            using (var f = new FileStream(DbPath, FileMode.Open, FileAccess.Write))
            {
                f.Position = length - 4096; // the last page: a b-tree page of a table, never the header
                var garbage = new byte[4096];
                for (int i = 0; i < garbage.Length; i++) garbage[i] = (byte)(i * 37 + 11);
                f.Write(garbage, 0, garbage.Length);
            }
            using (var store = HistoryStore.OpenWriter(DbPath, null))
            {
                var warning = Assert.Single(store.TakeWarnings());
                string aside = Directory.GetFiles(_dir, "history.db.corrupt-*").Single();
                Assert.Equal("The history file '" + DbPath + "' was damaged (failed its integrity check); it was moved to '" + aside + "' and a new one started.", warning);
            }
        }

        [Fact]
        public void AFileThatIsNotAHistoryOfOursIsNeverWrittenInto()
        {
            Directory.CreateDirectory(_dir);
            string text = Path.Combine(_dir, "notes.txt");
            File.WriteAllText(text, "my notes");
            var notOurs = Assert.Throws<HistoryException>(() => HistoryStore.OpenWriter(text, null));
            Assert.Contains("is not a ConnectionsMonitor history (not an SQLite database): nothing was written to it", notOurs.Message);
            Assert.Equal("my notes", File.ReadAllText(text));
            Assert.Empty(Directory.GetFiles(_dir, "notes.txt.corrupt-*"));

            string other = Path.Combine(_dir, "places.sqlite");
            using (var db = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + other + ";Pooling=False"))
            {
                db.Open();
                using var c = new Microsoft.Data.Sqlite.SqliteCommand("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); INSERT INTO moz_places (url) VALUES ('https://example.org/')", db);
                c.ExecuteNonQuery();
            }
            byte[] before = File.ReadAllBytes(other);
            var foreign = Assert.Throws<HistoryException>(() => HistoryStore.OpenWriter(other, null));
            Assert.Contains("is an SQLite database of another program (application id 0)", foreign.Message);
            Assert.Equal(before, File.ReadAllBytes(other)); // not even switched to WAL
            Assert.Equal("'" + other + "' is an SQLite database of another program (application id 0), not a ConnectionsMonitor history: nothing was written to it. Choose another path.", foreign.Message);
            // The reader says the same (a newcomer's trial got "holds no connection history yet", as if it were an empty history).
            var read = Assert.Throws<HistoryException>(() => HistoryStore.OpenReader(other));
            Assert.Equal("'" + other + "' is an SQLite database of another program (application id 0), not a ConnectionsMonitor history. Choose another path.", read.Message);
            Assert.Equal(before, File.ReadAllBytes(other));

            var folder = Assert.Throws<HistoryException>(() => HistoryStore.OpenWriter(_dir, null));
            Assert.Contains("is a folder", folder.Message);
            // Refused, and nothing of ours left beside them (a newcomer's trial found other.db.lock beside a foreign database).
            Assert.Equal(new[] { "notes.txt", "places.sqlite" }, Directory.GetFiles(_dir).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal("'" + text + "' is not a ConnectionsMonitor history (not an SQLite database): nothing was written to it. Choose another path.", notOurs.Message);
            // The reader says it as the writer does (it said "SQLite Error 26: 'file is not a database'").
            var unreadable = Assert.Throws<HistoryException>(() => HistoryStore.OpenReader(text));
            Assert.Equal("'" + text + "' is not a ConnectionsMonitor history (not an SQLite database). Choose another path.", unreadable.Message);
            Assert.Equal("my notes", File.ReadAllText(text));
        }

        [Fact]
        public void HistoryPathExpandsTheHomeFolderAndEnvironmentVariables()
        {
            // "~/h.db" made a folder named "~" in the current folder (a newcomer's trial); now it is the home folder's file,
            // as the module's other configured paths are. A relative path stays relative, for the caller to anchor.
            string home = Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            var config = ConfigLoader.LoadText("history:\n  path: ~/cm-h.db\n", "config.yml").Config;
            Assert.Equal(Path.Combine(home, "cm-h.db"), HistoryOptions.PathFrom(config));
            Environment.SetEnvironmentVariable("CM_TEST_HISTORY_DIR", "/srv/cm");
            try { Assert.Equal("/srv/cm/h.db", HistoryOptions.ExpandConfigured("%CM_TEST_HISTORY_DIR%/h.db")); }
            finally { Environment.SetEnvironmentVariable("CM_TEST_HISTORY_DIR", null); }
            Assert.Equal("rel/h.db", HistoryOptions.ExpandConfigured("rel/h.db"));
            Assert.Equal(HistoryOptions.DefaultPath(), HistoryOptions.PathFrom(ConfigLoader.LoadText("resolveDNS: false\n", "config.yml").Config));
        }

        [LinuxFact]
        public void ADeviceIsRefusedBeforeAnythingIsMadeBesideIt()
        {
            // /dev/null took a lock file and an SQLite journal beside it, and the refusal was SQLite's "disk I/O error".
            bool lockBefore = File.Exists("/dev/null.lock"), journalBefore = File.Exists("/dev/null-journal");
            var ex = Assert.Throws<HistoryException>(() => HistoryStore.OpenWriter("/dev/null", null));
            Assert.Equal("'/dev/null' is not a regular file (a device, pipe or socket): name a file for the history.", ex.Message);
            Assert.Equal(lockBefore, File.Exists("/dev/null.lock"));
            Assert.Equal(journalBefore, File.Exists("/dev/null-journal"));
        }

        /// <summary>
        /// A folder where no file can be made (/proc): the error names the file the user gave and the OS's reason, not the
        /// lock file beside it ("Could not find file '/proc/x.db.lock'", a newcomer's trial).
        /// </summary>
        [LinuxFact]
        public void AFolderThatRefusesNewFilesIsSaidOfTheHistoryFileWithTheOsReason()
        {
            string path = "/proc/cm-test-" + Guid.NewGuid().ToString("N") + ".db";
            var ex = Assert.Throws<HistoryException>(() => HistoryStore.OpenWriter(path, null));
            Assert.Equal("The history file '" + path + "' cannot be created there: No such file or directory (errno 2). Name a file in a folder you may write to.", ex.Message);
            Assert.False(File.Exists(path + ".lock"));
        }

        [Fact]
        public void OpenLivesCatchUpWithTheirCountersAndStateEveryMinuteAndTheRecordingsStartIsMarked()
        {
            var early = DisplayTestSupport.Tcp(50000, 443, TcpState.Established, "app", 1);     // open before the recording
            var late = DisplayTestSupport.Tcp(50001, 443, TcpState.Established, "app", 1);      // opens while recording
            using (var store = HistoryStore.OpenWriter(DbPath, null))
            {
                var tracker = new ConnectionTracker();
                var builder = new HistoryBatchBuilder();
                void Sample(DateTime t, bool first, params ConnectionRecord[] rows)
                {
                    var snap = Snap(t, rows);
                    Assert.True(store.Write(builder.Add(snap, tracker.Update(snap, first), TimeSpan.FromSeconds(10))));
                }
                Sample(T0, true, WithBytes(Clone(early), 100, 100));
                Sample(T0.AddSeconds(10), false, WithBytes(Clone(early), 5000, 100), WithBytes(Clone(late), 10, 20));
                var lateClosing = WithBytes(Clone(late), 700, 20);
                lateClosing.State = TcpState.FinWait2;
                Sample(T0.AddSeconds(20), false, WithBytes(Clone(early), 6000, 100), lateClosing);
                Sample(T0.AddSeconds(70), false, WithBytes(Clone(early), 6000, 100), lateClosing); // next minute: the rows catch up
                var rows = store.QueryConnections(new HistoryQuery { Kind = HistoryKind.Connection }).OrderBy(r => r.LocalPort).ToList();
                Assert.Equal((T0, true, 6000L, "Established"), (rows[0].OpenedUtc, rows[0].OpenedBeforeRecording, rows[0].BytesSent.Value, rows[0].State));
                Assert.Equal((T0.AddSeconds(10), false, 700L, "FinWait2"), (rows[1].OpenedUtc, rows[1].OpenedBeforeRecording, rows[1].BytesSent.Value, rows[1].State));
                Assert.All(rows, r => Assert.Null(r.ClosedUtc));
                // Totals count what moved while recording: early's 4900 + 1000, late's 10 + 690.
                Assert.Equal(4900 + 10 + 1000 + 690, store.QueryTotals(new HistoryQuery()).Sum(t => t.BytesSent ?? 0));
            }
        }

        [Fact]
        public void ASecondWriterIsRefusedWithTheFirstOnesProcessIdAndTheFileStaysWhole()
        {
            using (var first = HistoryStore.OpenWriter(DbPath, null))
            {
                Record(first, Snap(T0, DisplayTestSupport.Udp(53)));
                var refused = Assert.Throws<HistoryLockedException>(() => HistoryStore.OpenWriter(DbPath, null));
                Assert.Equal(Environment.ProcessId, refused.OwnerProcessId);
                Assert.Contains("one recorder per file", refused.Message);
                // Reading meanwhile is fine.
                using (var reader = HistoryStore.OpenReader(DbPath)) Assert.Single(reader.QueryTotals(new HistoryQuery()));
            }
            using (var again = HistoryStore.OpenWriter(DbPath, null)) Assert.Single(again.QueryTotals(new HistoryQuery()));
        }

        [Fact]
        public void ConnectionLivesFilterByProtocolProcessIdAndPortsAtEitherEnd()
        {
            var web = DisplayTestSupport.Tcp(50000, 443, TcpState.Established, "curl", 100, "10.0.0.5", "203.0.113.5");
            var ssh = DisplayTestSupport.Tcp(22, 51000, TcpState.Established, "sshd", 300, "10.0.0.5", "198.51.100.7");
            var dns = DisplayTestSupport.Udp(53, "dnsmasq");
            using (var store = HistoryStore.OpenWriter(DbPath, null))
                Record(store, Snap(T0, web, ssh, dns), Snap(T0.AddSeconds(2), web, ssh, dns));
            using var reader = HistoryStore.OpenReader(DbPath);
            IReadOnlyList<string> Names(HistoryQuery q) { q.Kind = HistoryKind.Connection; return reader.QueryConnections(q).Select(c => c.ProcessName).OrderBy(n => n).ToList(); }
            Assert.Equal(new[] { "curl", "sshd" }, Names(new HistoryQuery { Protocols = new[] { "tcp" } }));
            Assert.Equal(new[] { "dnsmasq" }, Names(new HistoryQuery { Protocols = new[] { "UDP" } }));
            Assert.Equal(new[] { "sshd" }, Names(new HistoryQuery { ProcessIds = new[] { 300 } }));
            Assert.Equal(new[] { "curl", "sshd" }, Names(new HistoryQuery { Ports = new[] { 443, 22 } }));  // the peer's 443, this host's 22
            Assert.Equal(new[] { "sshd" }, Names(new HistoryQuery { LocalPorts = new[] { 22 } }));
            Assert.Empty(Names(new HistoryQuery { RemotePorts = new[] { 22 } }));
            Assert.Equal(new[] { "curl" }, Names(new HistoryQuery { RemotePorts = new[] { 443 }, Protocols = new[] { "TCP" } }));
            Assert.Empty(Names(new HistoryQuery { RemotePorts = new[] { 443 }, ProcessIds = new[] { 300 } })); // filters combine with AND
        }

        [Fact]
        public void AlertsAreKeptARowPerItemFilteredLikeLivesAndPrunedWithTheHistory()
        {
            var opts = new HistoryOptions { Retention = TimeSpan.FromDays(2), RawRetention = TimeSpan.FromDays(1), ConnectionRetention = TimeSpan.FromDays(2) };
            var scan = new AlertEvent("scans", AlertKind.PortScan, AlertStatus.Firing, T0, "Port scan from 198.51.100.9: ports 22,80", new[]
            {
                new AlertItem { Protocol = TransportProtocol.Tcp, LocalAddress = "10.0.0.5", LocalPort = 22, RemoteAddress = "198.51.100.9", RemotePort = 40000, State = TcpState.SynReceived, Country = "NL", Asn = 64501, Detail = "ports 22,80" },
                new AlertItem { Protocol = TransportProtocol.Tcp, LocalAddress = "10.0.0.5", LocalPort = 80, RemoteAddress = "198.51.100.9", RemotePort = 40001, ProcessId = 200, ProcessName = "=HYPERLINK(\"x\")" },
            }) { Subject = "198.51.100.9" };
            var level = new AlertEvent("busy", AlertKind.MaxConnections, AlertStatus.Resolved, T0.AddMinutes(1), "Connections back to 12 (threshold 1000)", null) { Value = 12, Threshold = 1000 };
            using (var store = HistoryStore.OpenWriter(DbPath, opts))
            {
                var b = new HistoryBatch();
                b.Alerts.AddRange(AlertRow.From(scan));
                b.Alerts.AddRange(AlertRow.From(level));
                Assert.True(store.Write(b));
                using (var reader = HistoryStore.OpenReader(DbPath))
                {
                    var all = reader.QueryAlerts(new HistoryQuery { Kind = HistoryKind.Alert });
                    Assert.Equal(3, all.Count);
                    Assert.Equal(new[] { scan.Id, scan.Id, level.Id }, all.Select(a => a.AlertId));
                    var first = all[0];
                    Assert.Equal((T0, "scans", "PortScan", "Firing", "Port scan from 198.51.100.9: ports 22,80", "198.51.100.9"),
                        (first.TimeUtc, first.RuleName, first.AlertKind, first.Status, first.Summary, first.Subject));
                    Assert.Equal(("TCP", "10.0.0.5", 22, "198.51.100.9", 40000, "SynReceived", "NL", 64501L, "ports 22,80"),
                        (first.Protocol, first.LocalAddress, first.LocalPort.Value, first.RemoteAddress, first.RemotePort.Value, first.State, first.Country, first.Asn.Value, first.Detail));
                    Assert.Null(first.ProcessId);
                    Assert.Equal("=HYPERLINK(\"x\")", all[1].ProcessName); // kept as found; outputs make it inert
                    var resolved = all[2];
                    Assert.Equal((12.0, 1000.0, "Resolved"), (resolved.Value.Value, resolved.Threshold.Value, resolved.Status));
                    Assert.Null(resolved.Protocol);
                    Assert.Null(resolved.RemoteAddress);

                    Assert.Equal(new[] { 80 }, reader.QueryAlerts(new HistoryQuery { ProcessNames = new[] { "=HYPER*" } }).Select(a => a.LocalPort.Value));
                    Assert.Equal(new[] { 22 }, reader.QueryAlerts(new HistoryQuery { Countries = new[] { "nl" } }).Select(a => a.LocalPort.Value));
                    Assert.Equal(2, reader.QueryAlerts(new HistoryQuery { RemoteAddresses = new[] { AddressPattern.Parse("198.51.100.0/24") } }).Count);
                    Assert.Equal(new[] { 80 }, reader.QueryAlerts(new HistoryQuery { Ports = new[] { 80 } }).Select(a => a.LocalPort.Value));
                    Assert.Equal(new[] { level.Id }, reader.QueryAlerts(new HistoryQuery { SinceUtc = T0.AddSeconds(30) }).Select(a => a.AlertId));
                    Assert.Equal(new[] { level.Id }, reader.QueryAlerts(new HistoryQuery { Limit = 1 }).Select(a => a.AlertId));
                }
                store.Maintain(T0.AddDays(2).AddSeconds(30)); // the scan is older than the retention, the level not
                using (var reader = HistoryStore.OpenReader(DbPath))
                    Assert.Equal(new[] { level.Id }, reader.QueryAlerts(new HistoryQuery()).Select(a => a.AlertId));
            }
        }

        [Fact]
        public void AFileWrittenBeforeAlertsWereRecordedReadsAsNoAlertsAndGetsTheTableFromItsNextWriter()
        {
            using (HistoryStore.OpenWriter(DbPath, null)) { }
            using (var db = new SqliteConnection("Data Source=" + DbPath))
            {
                db.Open();
                using var drop = new SqliteCommand("DROP TABLE alert", db);
                drop.ExecuteNonQuery();
            }
            SqliteConnection.ClearAllPools();
            using (var reader = HistoryStore.OpenReader(DbPath))
                Assert.Empty(reader.QueryAlerts(new HistoryQuery { Kind = HistoryKind.Alert }));
            using (var store = HistoryStore.OpenWriter(DbPath, null))
            {
                var b = new HistoryBatch();
                b.Alerts.AddRange(AlertRow.From(new AlertEvent("r", AlertKind.NewListeningPort, AlertStatus.Firing, T0, "New listening port 8080/TCP", null)));
                Assert.True(store.Write(b));
            }
            using (var reader = HistoryStore.OpenReader(DbPath))
                Assert.Equal("r", Assert.Single(reader.QueryAlerts(new HistoryQuery())).RuleName);
        }

        /// <summary>An empty file (a recording's file before its first write) is a history not begun, not another program's database.</summary>
        [Fact]
        public void ReadingAnEmptyFileSaysItHoldsNoHistoryYet()
        {
            Directory.CreateDirectory(_dir);
            File.WriteAllBytes(DbPath, Array.Empty<byte>());
            var ex = Assert.Throws<HistoryException>(() => HistoryStore.OpenReader(DbPath));
            Assert.Equal("'" + DbPath + "' holds no connection history yet.", ex.Message);
        }

        [Fact]
        public void ReadingAFileThatIsNotThereSaysSo()
        {
            var ex = Assert.Throws<HistoryFileNotFoundException>(() => HistoryStore.OpenReader(DbPath));
            Assert.Contains("There is no history file at", ex.Message);
            Assert.Equal(System.IO.Path.GetFullPath(DbPath), ex.Path);
            Directory.CreateDirectory(_dir);
            var folder = Assert.Throws<HistoryException>(() => HistoryStore.OpenReader(_dir)); // not "no history file"
            Assert.Equal("'" + System.IO.Path.GetFullPath(_dir) + "' is a folder: name a history file.", folder.Message);
        }
    }
}
