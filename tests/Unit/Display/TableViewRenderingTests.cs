using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>
    /// The default table view (ConnectionsMonitor.Format.ps1xml) as PowerShell renders it in a hosted runspace
    /// at 80, 120 and 200 columns: which columns show, exact header lines, IPv4-mapped addresses in IPv4 form,
    /// and names in Chinese, with emoji or combining marks taking exactly their column.
    /// </summary>
    public class TableViewRenderingTests
    {
        // A MonitoredConnection as a dual-stack socket reports an IPv4 loopback connection.
        private const string Make =
            "function mk($n) { [ConnectionsMonitor.MonitoredConnection]@{ Protocol='TCP'; LocalAddress='::ffff:127.0.0.1'; LocalPort=8080; " +
            "RemoteAddress='::ffff:127.0.0.1'; RemotePort=50000; State='Established'; ProcessId=4242; ProcessName=$n; AddressScope='Loopback'; " +
            "BytesSent=1024; BytesReceived=2048; AgeSeconds=75; AgeIsLowerBound=$false } }\n";

        private static string[] Lines(string rendered) =>
            rendered.Replace("\r", "").Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToArray();

        [Theory]
        [InlineData(80,
            "Proto Local                 Foreign               State       Process",
            "----- -----                 -------               -----       -------",
            "TCP   127.0.0.1:8080        127.0.0.1:50000       Established python3")]
        [InlineData(120,
            "Proto Local                 Foreign               State       Process               PID Geo          Bytes     Age Port",
            "----- -----                 -------               -----       -------               --- ---          -----     --- ----",
            "TCP   127.0.0.1:8080        127.0.0.1:50000       Established python3              4242 Loopback     3.0KB   1m15s 8080")]
        [InlineData(200,
            "Proto Local                 Foreign               State       Process               PID Geo          Bytes     Age  Port",
            "----- -----                 -------               -----       -------               --- ---          -----     ---  ----",
            "TCP   127.0.0.1:8080        127.0.0.1:50000       Established python3              4242 Loopback     3.0KB   1m15s  8080")]
        public void DefaultViewAt80And120And200Columns(int width, string header, string rule, string row)
        {
            using var ps = new ModuleSession(width);
            var lines = Lines(ps.Render(Make + "mk 'python3'"));
            Assert.Equal(new[] { header, rule, row }, lines);
            Assert.All(lines, l => Assert.True(CellWidth.Of(l) <= width, l));
            // The object keeps the address as the socket reported it.
            Assert.Equal("::ffff:127.0.0.1", ps.Invoke(Make + "(mk 'x').RemoteAddress").Single().BaseObject);
        }

        /// <summary>
        /// A top talker's PID list longer than what is left of the line keeps the whole ids that fit and says how many more,
        /// never cut inside an id (a newcomer's trial: "25761, 25762, 26011, 26012, 26013, 260…" at 120 columns).
        /// </summary>
        [Fact]
        public void ALongTalkerPidListKeepsWholeIds()
        {
            using var ps = new ModuleSession(120);
            string ids = string.Join(", ", Enumerable.Range(25761, 30));
            var lines = Lines(ps.Render("[ConnectionsMonitor.TopTalker]@{ Rank = 1; Name = '127.0.0.1'; GroupBy = 'RemoteAddress'; ProcessIds = '" + ids +
                "'; Connections = 28; Share = 75.7 }"));
            Assert.Equal(3, lines.Length);
            Assert.EndsWith(" 25761, 25762, 25763, 25764, 25765, +25", lines[2]);
            Assert.True(CellWidth.Of(lines[2]) <= 120, lines[2]);
            string IdList(string list, int cells) => (string)ps.Invoke("[ConnectionsMonitor.DisplayFormat]::IdList('" + list + "', " + cells + ")").Single().BaseObject;
            Assert.Equal("25761, +29", IdList(ids, 12));
            Assert.Equal("+30", IdList(ids, 4));
            Assert.Equal("", IdList(ids, 2));
            Assert.Equal("25761, 25762", IdList("25761, 25762", 12));
            Assert.Equal(ids, IdList(ids, 0));
        }

        /// <summary>
        /// Long IPv6 endpoints keep their ports in the table view: a plain cut at the column's end made the two ends of one
        /// connection print as the same "[2001:db8:1234:5678:…" (a newcomer's trial, at 80 and 120 columns).
        /// </summary>
        [Fact]
        public void LongIPv6EndpointsKeepTheirPorts()
        {
            using var ps = new ModuleSession(80);
            var lines = Lines(ps.Render(Make + "$o = mk 'python3'; $o.LocalAddress = '2001:db8:1234:5678:9abc:def0:1234:5678'; $o.LocalPort = 47400; " +
                "$o.RemoteAddress = '2001:db8:1234:5678:9abc:def0:1234:5679'; $o.RemotePort = 443; $o"));
            Assert.Equal("TCP   [2001:d\u20264:5678]:47400 [2001:db\u202634:5679]:443 Established python3", lines[2]);
        }

        /// <summary>
        /// The widest ages fit the Age column whole: a bound of ten minutes or more (">13m58s") was cut on the left to "3m58s"
        /// in a column of 6, reading as three minutes (a newcomer's trial).
        /// </summary>
        [Theory]
        [InlineData(838, ">13m58s")]
        [InlineData(86399, ">23h59m")]
        [InlineData(8639999, ">99d23h")]
        public void TheWidestAgesFitTheirColumn(long seconds, string shown)
        {
            using var ps = new ModuleSession(200);
            var row = Lines(ps.Render(Make + "$o = mk 'python3'; $o.AgeSeconds = " + seconds + "; $o.AgeIsLowerBound = $true; $o"))[2];
            Assert.Contains("3.0KB " + shown + " ", row);
        }

        /// <summary>The talker table names the process group with no known owner "(no owner)"; its Name stays $null.</summary>
        [Fact]
        public void TheTalkerWithNoKnownOwnerIsShownAsNoOwner()
        {
            using var ps = new ModuleSession(120);
            var lines = Lines(ps.Render("[ConnectionsMonitor.TopTalker]@{ Rank = 1; Name = $null; GroupBy = 'Process'; Connections = 2 }, " +
                "[ConnectionsMonitor.TopTalker]@{ Rank = 2; Name = 'app'; GroupBy = 'Process'; Connections = 1 }, " +
                "[ConnectionsMonitor.TopTalker]@{ Rank = 3; Name = $null; GroupBy = 'Country'; Connections = 1 }"));
            Assert.StartsWith("   1 (no owner)", lines[2]);
            Assert.StartsWith("   2 app ", lines[3]);
            Assert.DoesNotContain("(no owner)", lines[4]);
        }

        [LinuxFact]
        public void ARealLoopbackListenerAt80Columns()
        {
            using var sockets = new LoopbackSockets();
            using var ps = new ModuleSession(80);
            // (By address too: another socket of this process may have the same port on another address.)
            const string OnLoopback = " -State Listen -ProcessId $PID | Where-Object LocalAddress -eq '127.0.0.1'";
            string name = (string)ps.Invoke("(Get-MonitoredConnection -LocalPort " + sockets.ListenPort + OnLoopback + ").ProcessName").Single().BaseObject;
            var lines = Lines(ps.Render("Get-MonitoredConnection -LocalPort " + sockets.ListenPort + OnLoopback));
            string local = ("127.0.0.1:" + sockets.ListenPort).PadRight(21);
            Assert.Equal(new[]
            {
                "Proto Local                 Foreign               State       Process",
                "----- -----                 -------               -----       -------",
                ("TCP   " + local + " 0.0.0.0:0             Listen      " + name).TrimEnd(),
            }, lines);
        }

        [Theory]
        [InlineData("\u4E2D\u6587\u8FDB\u7A0B")]                           // 中文进程: 8 cells
        [InlineData("\u4E2D\u6587\u8FDB\u7A0B\u540D\u79F0\u5F88\u957F\u5F88\u957F")] // 20 cells: cut at 15 + "…"
        [InlineData("py\U0001F40Dsnake")]                                    // emoji: 2 cells
        [InlineData("e\u0301cole\u0300")]                                    // combining marks: 0 cells
        [InlineData("caf\u0065\u0301-\u4E2D-\U0001F40D-\u00E9")]            // a mix
        public void WideAndCombiningNamesFillExactlyTheirColumn(string name)
        {
            using var ps = new ModuleSession(120);
            var lines = Lines(ps.Render(Make + "mk 'python3'; mk '" + name + "'"));
            Assert.Equal(4, lines.Length);
            // Process starts at cell 62 and is 17 cells wide; PID is right-aligned in the 7 cells after one space.
            string reference = lines[2];
            string wide = lines[3];
            int pidEnd = CellsBefore(reference, "4242") + 4;
            Assert.Equal(62 + 17 + 1 + 7, pidEnd);
            Assert.Equal(pidEnd, CellsBefore(wide, "4242") + 4);
            Assert.Equal(CellsBefore(reference, "Loopback"), CellsBefore(wide, "Loopback"));
            Assert.Equal(CellWidth.Of(reference), CellWidth.Of(wide));
            // The cell holds the name (cut at a character boundary with "…" only when it is wider than 17 cells).
            string cell = TextFormat.Cell(name, 17);
            Assert.Equal(17, CellWidth.Of(cell));
            Assert.StartsWith("TCP   127.0.0.1:8080        127.0.0.1:50000       Established " + cell + "    4242 ", wide);
        }

        /// <summary>One object (or a few) of each type a table view in ConnectionsMonitor.Format.ps1xml selects, with long values.</summary>
        private static readonly Dictionary<string, string> Samples = new Dictionary<string, string>
        {
            ["MonitoredConnection"] = Make + "mk 'python3'",
            ["TopTalker"] = "[ConnectionsMonitor.TopTalker]@{ Rank = 1; Name = 'firefox-esr'; GroupBy = 'Process'; ProcessIds = '1234, 5678, 91011'; Connections = 42; BytesSent = 123456789; BytesReceived = 987654321; SendRate = 12345.6; ReceiveRate = 1234567.8; Share = 55.5 }",
            ["ConnectionEvent"] = "[ConnectionsMonitor.ConnectionEvent]@{ ChangeType = 'StateChanged'; TimeStamp = $T; Protocol = 'TCP'; LocalAddress = '192.168.100.200'; LocalPort = 54321; RemoteAddress = '203.0.113.250'; RemotePort = 443; State = 'Established'; PreviousState = 'SynSent'; ProcessId = 4194303; ProcessName = 'firefox-esr' }",
            ["GeoDatabaseInfo"] = "[ConnectionsMonitor.GeoDatabaseInfo]@{ Database = 'Country'; Source = 'Download'; DatabaseType = 'GeoLite2-Country'; BuildDate = $T; SizeBytes = 9876543; Path = '/root/.local/share/ConnectionsMonitor/GeoLite2-Country.mmdb' }",
            ["ConnectionAlertInfo"] = "[ConnectionsMonitor.ConnectionAlertInfo]@{ Name = 'a1-with-a-rather-long-name'; Kind = 'RemotePort, NewPublicAddress'; LastFired = $T; Delivered = 12; Failed = 3; LastError = 'webhook https://hooks.example.com/x: 503 Service Unavailable' }",
            ["ConnectionAlertTestResult"] = "[ConnectionsMonitor.ConnectionAlertTestResult]@{ Rule = 'leak'; Target = 'https://hooks.example.com/services/T000/B000/XXXX'; Delivered = $false; StatusCode = 503; Attempts = 3; Error = '503 Service Unavailable' }",
            ["ConnectionBaselineInfo"] = "[ConnectionsMonitor.ConnectionBaselineInfo]@{ Created = $T; HostName = 'build-server-01'; Listeners = 12; Outbound = 34; Vpn = 1; Path = '/home/user/baselines/b1.json' }",
            ["ConnectionBaselineDifference"] =
                "[ConnectionsMonitor.ConnectionBaselineDifference]@{ Change = 'Added'; Kind = 'Listener'; Protocol = 'TCP'; LocalAddress = '127.0.0.1'; LocalPort = 45347; ProcessName = 'dotnet'; ProcessPath = '/usr/share/dotnet/dotnet'; ProcessId = 29181 }, " +
                "[ConnectionsMonitor.ConnectionBaselineDifference]@{ Change = 'Removed'; Kind = 'Outbound'; Protocol = 'TCP'; RemotePort = 443; AddressScope = 'Public'; Asn = 15169; Country = 'US'; ProcessName = 'python3'; ProcessPath = '/usr/bin/python3.11' }, " +
                "[ConnectionsMonitor.ConnectionBaselineDifference]@{ Change = 'Added'; Kind = 'Vpn'; ProcessName = 'openvpn'; VpnReason = 'interface tun0 (tun)' }",
            ["ConnectionDashboard"] = "[ConnectionsMonitor.ConnectionDashboard]@{ IsRunning = $true; IntervalSeconds = 2; Clients = 1; Connections = 123; Refused = 0; Url = 'http://127.0.0.1:8765/'; LaunchUrl = 'http://127.0.0.1:8765/#token=0123456789abcdef0123456789abcdef' }",
            ["ConnectionMetricsEndpoint"] = "[ConnectionsMonitor.ConnectionMetricsEndpoint]@{ IsRunning = $true; IntervalSeconds = 15; ScrapesServed = 1234; LastScrape = $T; RequiresBearerToken = $true; Url = 'http://127.0.0.1:9184/metrics' }",
            ["ConnectionRecording"] = "[ConnectionsMonitor.ConnectionRecording]@{ IsRecording = $true; IntervalSeconds = 5; SamplesWritten = 12345; SamplesLost = 0; LastSample = $T; SizeBytes = 123456789; Path = '/home/user/recordings/h.db' }",
            ["ConnectionHistoryTotals"] = "[ConnectionsMonitor.ConnectionHistoryTotals]@{ Time = $T; Tcp = 123.4; Udp = 12.5; Established = 100.2; Listening = 20; MaxConnections = 150; BytesSent = 123456789; BytesReceived = 987654321 }",
            ["ConnectionHistoryProcess"] = "[ConnectionsMonitor.ConnectionHistoryProcess]@{ Time = $T; ProcessName = 'firefox-esr'; Connections = 12.5; MaxConnections = 20; BytesSent = 123456789; BytesReceived = 987654321 }",
            ["ConnectionHistoryConnection"] = "[ConnectionsMonitor.ConnectionHistoryConnection]@{ Opened = $T; Closed = $T; Protocol = 'TCP'; LocalAddress = '192.168.100.200'; LocalPort = 54321; RemoteAddress = '203.0.113.250'; RemotePort = 443; ProcessName = 'firefox-esr'; BytesSent = 123456789; BytesReceived = 987654321 }",
            ["ConnectionHistoryAlert"] = "[ConnectionsMonitor.ConnectionHistoryAlert]@{ Time = $T; RuleName = 'exposed-listener'; Status = 'Delivered'; ProcessName = 'python3'; Message = 'TCP 0.0.0.0:8080 listens on all addresses' }",
            ["ConnectionBlock"] = "[ConnectionsMonitor.ConnectionBlock]@{ RemoteAddress = '2001:db8:1234:5678::/64'; Direction = 'Outbound'; Created = $T; Expires = $T.AddHours(1); RemainingSeconds = 3599; Reason = 'scan from alert exposed-listener' }",
        };

        /// <summary>The table views of ConnectionsMonitor.Format.ps1xml: name, column labels and widths (null: no width, it takes what is left).</summary>
        private static IEnumerable<(string Name, string[] Labels, int?[] Widths)> TableViews() =>
            XDocument.Load(Path.Combine(Repo.Root, "src", "ConnectionsMonitor.PowerShell", "ConnectionsMonitor.Format.ps1xml"))
                .Descendants("View").Where(v => v.Element("TableControl") != null)
                .Select(v => ((string)v.Element("Name"),
                    v.Descendants("TableColumnHeader").Select(h => (string)h.Element("Label")).ToArray(),
                    v.Descendants("TableColumnHeader").Select(h => (int?)h.Element("Width")).ToArray()));

        public static TheoryData<string, int> ViewsAndWidths()
        {
            var data = new TheoryData<string, int>();
            foreach (var view in TableViews())
                foreach (int width in new[] { 80, 120 })
                    data.Add(view.Name, width);
            return data;
        }

        /// <summary>
        /// Every table view at 80 and 120 columns (a newcomer's trial: the alert table's LastError header came one letter per
        /// line at 80, the baseline comparison's 'Process' header split into 'Proc'/'ess' with 'dot…' for dotnet, and at 120 its
        /// 'Path / VPN reason' header still wrapped). PowerShell narrows the last column that does not fit down to one cell
        /// before it drops it, so each view is laid out for it: lines fit, the header is one line with every shown label whole,
        /// no column with a width is narrowed, a last column without one (a path, a URL, a message) gets 12 cells or more or is
        /// dropped, and at 120 every column shows.
        /// </summary>
        [Theory]
        [MemberData(nameof(ViewsAndWidths))]
        public void EveryTableViewFits80And120Columns(string view, int width)
        {
            var (_, labels, widths) = TableViews().Single(v => v.Name == view);
            Assert.True(Samples.ContainsKey(view), "no sample object for the table view " + view + ": add one to Samples");
            using var ps = new ModuleSession(width);
            string text = (string)ps.Invoke("$T = [datetime]'2026-03-01 14:05:09'\n" + Samples[view] + " | Out-String -Width " + width).Single().BaseObject;
            var lines = Lines(text);
            string all = string.Join(Environment.NewLine, lines);
            Assert.All(lines, l => Assert.True(CellWidth.Of(l) <= width, "wider than " + width + ":" + Environment.NewLine + all));
            // The header is one line: the second is the rule under it, one run of dashes per column shown, as long as its label.
            Assert.True(lines[1].Trim(' ', '-').Length == 0, "the header takes more than one line:" + Environment.NewLine + all);
            var rules = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int shown = rules.Length;
            for (int i = 0; i < shown; i++)
                Assert.True(rules[i].Length == CellWidth.Of(labels[i]), "the header '" + labels[i] + "' is cut:" + Environment.NewLine + all);
            if (width >= 120) Assert.True(shown == labels.Length, "at " + width + " columns not every column shows:" + Environment.NewLine + all);
            // No column with a width was narrowed to make room: those shown add up to no more than the line.
            int used = widths.Take(shown).Sum(w => w ?? 0) + shown - 1;
            int? last = widths[shown - 1];
            if (last != null)
                Assert.True(used <= width, "'" + labels[shown - 1] + "' is narrowed from " + last + " cells:" + Environment.NewLine + all);
            else
                Assert.True(width - used >= 12, "'" + labels[shown - 1] + "' has only " + (width - used) + " cells:" + Environment.NewLine + all);
        }

        /// <summary>The views the newcomer's trial found unreadable, exactly, at 80 and 120 columns.</summary>
        [Theory]
        [InlineData("ConnectionAlertInfo", 80,
            "Name              Kind                     LastFired           Delivered Failed",
            "a1-with-a-rather… RemotePort, NewPublicAd… 2026-03-01 14:05:09        12      3")]
        [InlineData("ConnectionAlertInfo", 120,
            "Name              Kind                     LastFired           Delivered Failed LastError",
            "a1-with-a-rather… RemotePort, NewPublicAd… 2026-03-01 14:05:09        12      3 webhook https://hooks.example.com/x: 50…")]
        [InlineData("ConnectionBaselineDifference", 80,
            "Change  Kind     Proto Process             Local                 RPort Scope",
            "Added   Listener TCP   dotnet              127.0.0.1:45347")]
        [InlineData("ConnectionBaselineDifference", 120,
            "Change  Kind     Proto Process             Local                 RPort Scope          ASN Geo     PID Path / VPN reason",
            "Added   Listener TCP   dotnet              127.0.0.1:45347                                      29181 /usr/share/dotnet…")]
        [InlineData("TopTalker", 80,
            "Rank Name                    Conns    Send/s    Recv/s Share%     Sent Received",
            "   1 firefox-esr                42    12KB/s   1.2MB/s   55.5    118MB    942MB")]
        [InlineData("TopTalker", 120,
            "Rank Name                    Conns    Send/s    Recv/s Share%     Sent Received PIDs",
            "   1 firefox-esr                42    12KB/s   1.2MB/s   55.5    118MB    942MB 1234, 5678, 91011")]
        [InlineData("ConnectionAlertTestResult", 80,
            "Rule             Target                           Delivered StatusCode Attempts",
            "leak             https://hooks.example.com/servi… False            503        3")]
        public void TheViewsTheTrialFoundUnreadable(string view, int width, string header, string firstRow)
        {
            using var ps = new ModuleSession(width);
            var lines = Lines((string)ps.Invoke("$T = [datetime]'2026-03-01 14:05:09'\n" + Samples[view] + " | Out-String -Width " + width).Single().BaseObject);
            Assert.Equal(header, lines[0]);
            Assert.Equal(firstRow, lines[2]);
        }

        private static int CellsBefore(string line, string marker)
        {
            int at = line.IndexOf(marker, StringComparison.Ordinal);
            Assert.True(at >= 0, marker + " not in: " + line);
            return CellWidth.Of(line.Substring(0, at));
        }
    }
}
