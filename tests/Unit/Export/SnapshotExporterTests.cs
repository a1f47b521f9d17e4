using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.Json;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Export;
using ConnectionsMonitor.Engine.Model;
using Microsoft.VisualBasic.FileIO;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Export
{
    /// <summary>
    /// The auto-export on real files in a temporary folder, with a clock the test moves: when it writes, that a file is
    /// whole or absent, how old files go, and what the CSV and JSON say (read back with .NET's TextFieldParser and
    /// System.Text.Json's reader, independent of the writer's code).
    /// </summary>
    public sealed class SnapshotExporterTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-export-" + Guid.NewGuid().ToString("N"));
        private DateTime _now = new DateTime(2026, 12, 1, 10, 0, 0, 500, DateTimeKind.Utc);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private SnapshotExporter Exporter(TimeSpan interval, int keep = 0, TimeSpan? maxAge = null, bool csv = true, bool json = true) =>
            new SnapshotExporter(new ExportOptions { Folder = _dir, Interval = interval, Keep = keep, MaxAge = maxAge ?? TimeSpan.Zero, Csv = csv, Json = json }, () => _now);

        private static ConnectionRecord Row(string processName, int localPort = 8080) => new ConnectionRecord
        {
            Protocol = TransportProtocol.Tcp,
            LocalAddress = IPAddress.Loopback,
            LocalPort = localPort,
            RemoteAddress = IPAddress.Any,
            RemotePort = 0,
            State = TcpState.Listen,
            ProcessId = 4242,
            ProcessName = processName,
        };

        private ConnectionSnapshot Snapshot(params ConnectionRecord[] rows) => new ConnectionSnapshot(_now, rows, new string[0]);

        private string[] Files() => Directory.Exists(_dir) ? Directory.GetFiles(_dir).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToArray() : new string[0];

        private static List<Dictionary<string, string>> ReadCsv(string path)
        {
            using var parser = new TextFieldParser(path, Encoding.UTF8) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true, TrimWhiteSpace = false };
            parser.SetDelimiters(",");
            var header = parser.ReadFields();
            var rows = new List<Dictionary<string, string>>();
            while (!parser.EndOfData)
            {
                var fields = parser.ReadFields();
                rows.Add(header.Select((h, i) => (h, fields[i])).ToDictionary(p => p.h, p => p.Item2));
            }
            return rows;
        }

        [Fact]
        public void WritesOnWholeMultiplesOfTheIntervalAndSkipsMomentsItMissed()
        {
            var exporter = Exporter(TimeSpan.FromSeconds(1));
            Assert.False(exporter.Offer(Snapshot(Row("a"))));            // 10:00:00.5: the first moment is 10:00:01
            Assert.Empty(Files());
            _now = _now.AddMilliseconds(400);                             // 10:00:00.9
            Assert.False(exporter.Offer(Snapshot(Row("a"))));
            _now = _now.AddMilliseconds(100);                             // 10:00:01.0
            Assert.True(exporter.Offer(Snapshot(Row("a"))));
            Assert.Equal(new[] { "connections-20261201T100001Z.csv", "connections-20261201T100001Z.json" }, Files());
            _now = _now.AddMilliseconds(700);                             // 10:00:01.7: not yet
            Assert.False(exporter.Offer(Snapshot(Row("a"))));
            _now = _now.AddMilliseconds(1500);                            // 10:00:03.2: 10:00:02 was missed, not caught up
            Assert.True(exporter.Offer(Snapshot(Row("a"))));
            Assert.Equal(new DateTime(2026, 12, 1, 10, 0, 4, DateTimeKind.Utc), exporter.NextExportUtc);
            Assert.Equal(4, Files().Length);
            Assert.Equal(4, exporter.FilesWritten);
        }

        /// <summary>
        /// The files hold what the history holds, and are made as it is: never readable by other users, whatever the umask
        /// (they were 0644 under the usual umask 022 while the history beside them was 0640).
        /// </summary>
        [LinuxFact]
        public void TheFilesAreNotReadableByOtherUsers()
        {
            var exporter = Exporter(TimeSpan.FromSeconds(1));
            _now = _now.AddMilliseconds(500);
            Assert.True(exporter.Offer(Snapshot(Row("a"))));
            Assert.Equal(2, exporter.LastFiles.Count);
            foreach (var file in exporter.LastFiles)
            {
                var mode = File.GetUnixFileMode(file);
                Assert.True((mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) == 0, file + " is " + mode);
                Assert.True((mode & (UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.UserExecute)) == 0, file + " is " + mode);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode & (UnixFileMode.UserRead | UnixFileMode.UserWrite));
            }
        }

        [Fact]
        public void HourlyExportsLandOnTheHourAndOnlyTheConfiguredFormatIsWritten()
        {
            _now = new DateTime(2026, 12, 1, 10, 17, 3, DateTimeKind.Utc);
            var exporter = Exporter(TimeSpan.FromHours(1), json: false);
            Assert.False(exporter.Offer(Snapshot()));
            Assert.Equal(new DateTime(2026, 12, 1, 11, 0, 0, DateTimeKind.Utc), exporter.NextExportUtc);
            _now = new DateTime(2026, 12, 1, 11, 0, 2, DateTimeKind.Utc);
            Assert.True(exporter.Offer(Snapshot()));
            Assert.Equal(new[] { "connections-20261201T110002Z.csv" }, Files());
        }

        [Fact]
        public void AClockThatGoesBackDoesNotStopExports()
        {
            var exporter = Exporter(TimeSpan.FromSeconds(10));
            exporter.Offer(Snapshot());
            _now = _now.AddHours(-3);                                     // set back by NTP or a user
            exporter.Offer(Snapshot());
            Assert.Equal(new DateTime(2026, 12, 1, 7, 0, 10, DateTimeKind.Utc), exporter.NextExportUtc);
        }

        [Fact]
        public void FormulasAreInertInCsvAndExactInJson()
        {
            string[] names = { "=HYPERLINK(\"x\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tTAB", "plain" };
            var exporter = Exporter(TimeSpan.FromSeconds(1));
            _now = _now.AddMilliseconds(500);
            var rows = names.Select((n, i) => Row(n, 9000 + i)).ToArray();
            rows[0].ProcessPath = "=cmd|' /C calc'!A0";
            rows[0].RemoteHostName = "@evil.example";
            rows[0].Latitude = -33.86;                                    // a number: never prefixed
            Assert.True(exporter.Offer(Snapshot(rows)));

            var csv = ReadCsv(exporter.LastFiles.Single(f => f.EndsWith(".csv", StringComparison.Ordinal)));
            Assert.Equal(new[] { "'=HYPERLINK(\"x\")", "'+cmd|' /C calc'!A0", "'@SUM(1)", "'-2+3", "\u2409TAB", "plain" }, csv.Select(r => r["ProcessName"])); // a leading tab is written as ␉, which starts no formula
            Assert.Equal("'=cmd|' /C calc'!A0", csv[0]["ProcessPath"]);
            Assert.Equal("'@evil.example", csv[0]["RemoteHostName"]);
            Assert.Equal("-33.86", csv[0]["Latitude"]);
            Assert.Equal("9000", csv[0]["LocalPort"]);
            Assert.All(csv.SelectMany(r => r.Values), v => Assert.False(v.Length > 0 && "=+-@\t\r".IndexOf(v[0]) >= 0 && !double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _), v));

            using var json = JsonDocument.Parse(File.ReadAllBytes(exporter.LastFiles.Single(f => f.EndsWith(".json", StringComparison.Ordinal))));
            Assert.Equal(names, json.RootElement.EnumerateArray().Select(e => e.GetProperty("ProcessName").GetString()));
            Assert.Equal("=cmd|' /C calc'!A0", json.RootElement[0].GetProperty("ProcessPath").GetString());
            Assert.Equal(-33.86, json.RootElement[0].GetProperty("Latitude").GetDouble());
        }

        [Fact]
        public void UnicodeQuotesAndLineBreaksComeBackAsTheFormatPromises()
        {
            string name = "进程 \"quoted\", émoji 👩‍💻";
            string withBreak = "two\nlines\u001b[31m";
            var exporter = Exporter(TimeSpan.FromSeconds(1));
            _now = _now.AddMilliseconds(500);
            var a = Row(name, 1);
            var b = Row(withBreak, 2);
            b.UserName = "Ünïcødé";
            Assert.True(exporter.Offer(Snapshot(a, b)));

            string csvPath = exporter.LastFiles.Single(f => f.EndsWith(".csv", StringComparison.Ordinal));
            byte[] bytes = File.ReadAllBytes(csvPath);
            Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes.Take(3));       // UTF-8 with a BOM
            string text = Encoding.UTF8.GetString(bytes);
            Assert.Equal(3, text.TrimEnd('\r', '\n').Split("\r\n").Length);       // header and two rows, CRLF-ended
            Assert.Equal(3, text.Count(c => c == '\n'));                          // no line break inside a cell
            var csv = ReadCsv(csvPath);
            Assert.Equal(name, csv[0]["ProcessName"]);                           // quotes, commas, CJK and a ZWJ emoji intact
            Assert.Equal("two\u240Alines\u241B[31m", csv[1]["ProcessName"]);     // control characters shown as ␊ and ␛, nothing deleted
            Assert.Equal("Ünïcødé", csv[1]["UserName"]);

            string jsonPath = exporter.LastFiles.Single(f => f.EndsWith(".json", StringComparison.Ordinal));
            Assert.All(File.ReadAllBytes(jsonPath), x => Assert.True(x < 0x80 && (x >= 0x20 || x == '\n' || x == '\r'))); // plain ASCII, no ESC
            using var json = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
            Assert.Equal(name, json.RootElement[0].GetProperty("ProcessName").GetString());
            Assert.Equal(withBreak, json.RootElement[1].GetProperty("ProcessName").GetString()); // exact
            Assert.Equal("Ünïcødé", json.RootElement[1].GetProperty("UserName").GetString());
        }

        [Fact]
        public void ANameWithAnUnpairedSurrogateDoesNotCostTheExport()
        {
            // Windows file names (and so process names) may hold UTF-16 that is not valid Unicode.
            var exporter = Exporter(TimeSpan.FromSeconds(1));
            _now = _now.AddMilliseconds(500);
            Assert.True(exporter.Offer(Snapshot(Row("bad\uD800name", 1), Row("good", 2))));
            Assert.Empty(exporter.TakeWarnings());
            var csv = ReadCsv(exporter.LastFiles.Single(f => f.EndsWith(".csv", StringComparison.Ordinal)));
            Assert.Equal(new[] { "bad\uFFFDname", "good" }, csv.Select(r => r["ProcessName"])); // the lone half shown as U+FFFD
            using var json = JsonDocument.Parse(File.ReadAllBytes(exporter.LastFiles.Single(f => f.EndsWith(".json", StringComparison.Ordinal))));
            Assert.Equal("good", json.RootElement[1].GetProperty("ProcessName").GetString());
            Assert.StartsWith("bad", json.RootElement[0].GetProperty("ProcessName").GetString());
        }

        [Fact]
        public void ColumnsAreMonitoredConnectionsAndUnknownIsEmptyOrNull()
        {
            var exporter = Exporter(TimeSpan.FromSeconds(1));
            _now = _now.AddMilliseconds(500);
            var udp = new ConnectionRecord { Protocol = TransportProtocol.Udp, LocalAddress = IPAddress.IPv6Any, LocalPort = 5353 };
            var tcp = Row("web", 443);
            tcp.RemoteAddress = IPAddress.Parse("2001:db8::5");
            tcp.RemotePort = 51000;
            tcp.State = TcpState.Established;
            tcp.FirstSeenUtc = _now.AddSeconds(-90.6);
            tcp.BytesSent = 1234;
            tcp.BytesReceived = 0;
            tcp.SendRate = 12.5;
            tcp.IsVpn = false;
            Assert.True(exporter.Offer(Snapshot(udp, tcp)));

            var csv = ReadCsv(exporter.LastFiles.Single(f => f.EndsWith(".csv", StringComparison.Ordinal)));
            Assert.Equal(ConnectionFileFormat.ColumnNames, csv[0].Keys);
            Assert.Equal(new[] { "Protocol", "LocalAddress", "LocalPort", "RemoteAddress", "RemotePort", "State", "ProcessId", "ProcessName", "ProcessPath", "UserName",
                "CreationTime", "FirstSeen", "AgeSeconds", "AgeIsLowerBound", "RemoteHostName", "Country", "CountryName", "City", "Latitude", "Longitude", "Asn",
                "AsnOrganization", "AddressScope", "IsVpn", "VpnReason", "Flags", "BytesSent", "BytesReceived", "SendRate", "ReceiveRate" }, ConnectionFileFormat.ColumnNames);
            Assert.Equal("UDP", csv[0]["Protocol"]);
            Assert.Equal("::", csv[0]["LocalAddress"]);
            Assert.Equal("", csv[0]["RemoteAddress"]);
            Assert.Equal("", csv[0]["RemotePort"]);
            Assert.Equal("", csv[0]["State"]);
            Assert.Equal("", csv[0]["BytesSent"]);
            Assert.Equal("", csv[0]["AgeSeconds"]);
            Assert.Equal("Established", csv[1]["State"]);
            Assert.Equal("2001:db8::5", csv[1]["RemoteAddress"]);
            Assert.Equal("90", csv[1]["AgeSeconds"]);
            Assert.Equal("False", csv[1]["AgeIsLowerBound"]);
            Assert.Equal("0", csv[1]["BytesReceived"]);                          // a real zero stays a zero
            Assert.Equal("12.5", csv[1]["SendRate"]);
            Assert.Equal("False", csv[1]["IsVpn"]);
            var firstSeen = DateTimeOffset.Parse(csv[1]["FirstSeen"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(tcp.FirstSeenUtc.Value, firstSeen.UtcDateTime);

            byte[] jsonBytes = File.ReadAllBytes(exporter.LastFiles.Single(f => f.EndsWith(".json", StringComparison.Ordinal)));
            // The time is written as the CSV has it, its offset's sign and all (not "\u002B00:00").
            Assert.Contains("\"FirstSeen\": \"" + csv[1]["FirstSeen"] + "\"", System.Text.Encoding.UTF8.GetString(jsonBytes));
            using var json = JsonDocument.Parse(jsonBytes);
            var u = json.RootElement[0];
            Assert.Equal(ConnectionFileFormat.ColumnNames, u.EnumerateObject().Select(p => p.Name));
            Assert.Equal(JsonValueKind.Null, u.GetProperty("RemoteAddress").ValueKind);
            Assert.Equal(JsonValueKind.Null, u.GetProperty("BytesSent").ValueKind);
            Assert.Equal(JsonValueKind.Null, u.GetProperty("ProcessName").ValueKind);
            var t = json.RootElement[1];
            Assert.Equal(443, t.GetProperty("LocalPort").GetInt32());
            Assert.Equal(90, t.GetProperty("AgeSeconds").GetInt64());
            Assert.Equal(0, t.GetProperty("BytesReceived").GetInt64());
            Assert.False(t.GetProperty("IsVpn").GetBoolean());
            Assert.Equal(tcp.FirstSeenUtc.Value, t.GetProperty("FirstSeen").GetDateTimeOffset().UtcDateTime);
        }

        [Fact]
        public void KeepsTheNewestFilesPerFormatAndLeavesOtherFilesAlone()
        {
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "notes.txt"), "mine");
            File.WriteAllText(Path.Combine(_dir, "connections-old.csv"), "not an export of the module's naming");
            File.WriteAllText(Path.Combine(_dir, "connections-20261399T999999Z.csv"), "digits that are no time");
            var exporter = Exporter(TimeSpan.FromSeconds(1), keep: 3);
            _now = _now.AddMilliseconds(500);
            for (int i = 0; i < 6; i++)
            {
                Assert.True(exporter.Offer(Snapshot(Row("a"))));
                _now = _now.AddSeconds(1);
            }
            Assert.Equal(new[]
            {
                "connections-20261201T100004Z.csv", "connections-20261201T100004Z.json",
                "connections-20261201T100005Z.csv", "connections-20261201T100005Z.json",
                "connections-20261201T100006Z.csv", "connections-20261201T100006Z.json",
                "connections-20261399T999999Z.csv", "connections-old.csv", "notes.txt",
            }, Files());
        }

        [Fact]
        public void DeletesFilesOlderThanMaxAgeByTheTimeInTheirName()
        {
            Directory.CreateDirectory(_dir);
            foreach (var stamp in new[] { "20261130T090000Z", "20261201T085959Z", "20261201T093000Z" })
                File.WriteAllText(Path.Combine(_dir, "connections-" + stamp + ".json"), "[]");
            var exporter = Exporter(TimeSpan.FromSeconds(1), maxAge: TimeSpan.FromHours(1), csv: false);
            _now = new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc);      // on a moment: exports at once
            Assert.True(exporter.Offer(Snapshot()));
            Assert.Equal(new[] { "connections-20261201T093000Z.json", "connections-20261201T100000Z.json" }, Files());
        }

        [Fact]
        public void AWriteThatFailsHalfwayLeavesNoFileAndRecordingGoesOn()
        {
            var exporter = Exporter(TimeSpan.FromSeconds(1));
            var real = exporter.OpenTemporary;
            bool full = true;
            exporter.OpenTemporary = path => full ? new FailingStream(real(path), failAfter: 100) : real(path);
            _now = _now.AddMilliseconds(500);
            var many = Enumerable.Range(0, 200).Select(i => Row("p" + i, 10000 + i)).ToArray();
            Assert.False(exporter.Offer(Snapshot(many)));
            Assert.Empty(Files());                                              // neither the target nor the temporary file
            Assert.Equal(2, exporter.Failures);
            var warning = Assert.Single(exporter.TakeWarnings());                // the same reason twice is said once
            Assert.Contains("No space left on device", warning);
            Assert.Contains("Recording goes on", warning);

            _now = _now.AddSeconds(1);
            Assert.False(exporter.Offer(Snapshot(many)));
            Assert.Empty(exporter.TakeWarnings());                               // still full: not said again

            full = false;
            _now = _now.AddSeconds(1);
            Assert.True(exporter.Offer(Snapshot(many)));
            Assert.Equal(200, ReadCsv(exporter.LastFiles[0]).Count);
        }

        [Fact]
        public void ARenameThatFailsLeavesNoTemporaryFile()
        {
            _now = new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc);
            Directory.CreateDirectory(Path.Combine(_dir, "connections-20261201T100000Z.csv")); // a folder where the file must go
            var exporter = Exporter(TimeSpan.FromSeconds(1), json: false);
            Assert.False(exporter.Offer(Snapshot(Row("a"))));
            Assert.Empty(Directory.GetFiles(_dir));                                // no temporary file left behind
            Assert.Equal(new[] { "connections-20261201T100000Z.csv" }, Directory.GetDirectories(_dir).Select(Path.GetFileName));
            Assert.Contains("was not written", Assert.Single(exporter.TakeWarnings()));
        }

        [Fact]
        public void AFolderThatCannotBeMadeIsAWarning()
        {
            Directory.CreateDirectory(_dir);
            string blocker = Path.Combine(_dir, "file");
            File.WriteAllText(blocker, "x");
            var exporter = new SnapshotExporter(new ExportOptions { Folder = Path.Combine(blocker, "exports"), Interval = TimeSpan.FromSeconds(1) }, () => _now);
            _now = _now.AddMilliseconds(500);
            Assert.False(exporter.Offer(Snapshot()));
            Assert.Contains("cannot be made", Assert.Single(exporter.TakeWarnings()));
        }

        [Fact]
        public void TemporaryFilesOfAKilledWriterAreDeletedOnceOldAndNeverCountAsExports()
        {
            Directory.CreateDirectory(_dir);
            string stale = Path.Combine(_dir, ".connections-20261201T090000Z.csv.0123456789ab.tmp");
            string fresh = Path.Combine(_dir, ".connections-20261201T100000Z.json.ba9876543210.tmp");
            File.WriteAllText(stale, "\"Protocol\",\"Loc");
            File.WriteAllText(fresh, "[{\"Proto");
            _now = DateTime.UtcNow;
            File.SetLastWriteTimeUtc(stale, _now - TimeSpan.FromMinutes(11));
            File.SetLastWriteTimeUtc(fresh, _now - TimeSpan.FromMinutes(1));  // maybe another process writing it now
            var exporter = Exporter(TimeSpan.FromSeconds(1), keep: 1);
            _now = new DateTime(_now.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, DateTimeKind.Utc).AddSeconds(1);
            Assert.True(exporter.Offer(Snapshot()));
            Assert.False(File.Exists(stale));
            Assert.True(File.Exists(fresh));
            Assert.Equal(3, Files().Length);                                      // the fresh temporary file and one export of each format
        }

        [Fact]
        public void OptionsComeFromTheConfigurationAndRelativePathsFromItsFolder()
        {
            Directory.CreateDirectory(_dir);
            string config = Path.Combine(_dir, "config.yml");
            string yaml = "dashboard:\n  export:\n    autoExport: true\n    formats: [json]\n    exportInterval: 5000\n    exportPath: ./out/x\n    keep: 7\n    maxAge: 60000\n";
            var load = Engine.Configuration.ConfigLoader.LoadText(yaml, config);
            var options = ExportOptions.From(load, moduleConfigPath: Path.Combine(_dir, "module", "config.yml"));
            Assert.Equal(Path.Combine(_dir, "out", "x"), options.Folder);
            Assert.False(options.Csv);
            Assert.True(options.Json);
            Assert.Equal(TimeSpan.FromSeconds(5), options.Interval);
            Assert.Equal(7, options.Keep);
            Assert.Equal(TimeSpan.FromMinutes(1), options.MaxAge);

            // The module's own config.yml (and the built-in defaults) put relative folders in the user's data folder, not the module's.
            var fromModule = ExportOptions.From(Engine.Configuration.ConfigLoader.LoadText(yaml, config), moduleConfigPath: config);
            Assert.EndsWith(Path.Combine("ConnectionsMonitor", "out", "x"), fromModule.Folder);
            Assert.NotEqual(options.Folder, fromModule.Folder);

            Assert.Null(ExportOptions.From(Engine.Configuration.ConfigLoader.LoadText(yaml.Replace("autoExport: true", "autoExport: false"), config), null));
            Assert.Null(ExportOptions.From(Engine.Configuration.ConfigLoader.LoadText(yaml.Replace("  export:\n", "  export:\n    enabled: false\n"), config), null));
            Assert.Null(ExportOptions.From(Engine.Configuration.ConfigLoader.LoadText(yaml.Replace("formats: [json]", "formats: []"), config), null));
        }

        /// <summary>A real file stream that fails like a full disk after some bytes.</summary>
        private sealed class FailingStream : Stream
        {
            private readonly Stream _inner;
            private long _left;
            public FailingStream(Stream inner, long failAfter) { _inner = inner; _left = failAfter; }
            public override void Write(byte[] buffer, int offset, int count)
            {
                if (count > _left) { _inner.Write(buffer, offset, (int)_left); _left = 0; throw new IOException("No space left on device"); }
                _left -= count;
                _inner.Write(buffer, offset, count);
            }
            public override void Flush() => _inner.Flush();
            protected override void Dispose(bool disposing) { if (disposing) _inner.Dispose(); base.Dispose(disposing); }
            public override bool CanRead => false;
            public override bool CanSeek => false;
            public override bool CanWrite => true;
            public override long Length => _inner.Length;
            public override long Position { get => _inner.Position; set => throw new NotSupportedException(); }
            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
        }
    }
}
