using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Model;
using Xunit;
using static ConnectionsMonitor.Tests.Display.DisplayTestSupport;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>Column layout, cell text, truncation and colour choice of the live view, without a terminal.</summary>
    public class RenderingTests
    {
        private static readonly DateTime Now = new DateTime(2025, 1, 1, 12, 0, 0, DateTimeKind.Utc);

        [Fact]
        public void ColumnsFollowColumnOrderSwitchesAndWidths()
        {
            var config = Config("columns:\n  Geo: false\n  Bytes: false\ncolumnOrder: ['Port', 'Proto', 'Process', 'Geo', 'State']\ncolumnWidths:\n  Port: 7\n  Process: 12\n");
            var layout = TableLayout.FromConfig(config, null);
            Assert.Equal(new[] { "Port:7", "Proto:5", "Process:12", "State:12" }, layout.Columns.Select(c => c.ToString()));
            // One space between columns; the last cell is not padded.
            Assert.Equal("Port    Proto Process      State", layout.Header());
            string row = layout.Row(Tcp(22, 51000, TcpState.Established, "sshd"), new RowLook(ConfigColor.Parse("red"), false, false), Now);
            Assert.Equal("22      TCP   sshd         Established", row);
        }

        [Fact]
        public void LongCellsAreCutWithEllipsisOnlyWhenTruncateOverflowIsOn()
        {
            Assert.Equal("abcdefg...", TableLayout.Fit("abcdefghijklmnop", 10, true));
            Assert.Equal("abcdefghijklmnop", TableLayout.Fit("abcdefghijklmnop", 10, false));
            Assert.Equal("short", TableLayout.Fit("short", 10, true));
            Assert.Equal("ab", TableLayout.Fit("abcdef", 2, true)); // narrower than the ellipsis: hard cut

            var on = TableLayout.FromConfig(Config("columnOrder: ['Process', 'PID']\ncolumnWidths:\n  Process: 8\n"), null);
            var look = new RowLook(ConfigColor.Parse("white"), false, false);
            Assert.Equal("very-... 100", on.Row(Tcp(1, 2, TcpState.Established, "very-long-process-name"), look, Now));
            var off = TableLayout.FromConfig(Config("truncateOverflow: false\ncolumnOrder: ['Process', 'PID']\ncolumnWidths:\n  Process: 8\n"), null);
            Assert.Equal("very-long-process-name 100", off.Row(Tcp(1, 2, TcpState.Established, "very-long-process-name"), look, Now));
        }

        [Theory]
        [InlineData("[2001:db8:1234:5678:9abc:def0:1234:5678]:47400", "[2001:d...4:5678]:47400", "[2001:d\u20264:5678]:47400")]
        [InlineData("[2001:db8:1234:5678:9abc:def0:1234:5679]:47400", "[2001:d...4:5679]:47400", "[2001:d\u20264:5679]:47400")]
        [InlineData("a-very-long-host-name.example.org:443", "a-very-long-h...:443", "a-very-long-host\u2026:443")]
        [InlineData("[fe80::aaaa:bbbb:cccc:dddd%eth0]", "[fe80::aaa...dddd%eth0]", "[fe80::aaa\u2026dddd%eth0]")]
        [InlineData("203.0.113.250:65535", "203.0.113.250:65535", "203.0.113.250:65535")]
        public void AnEndpointThatIsCutKeepsItsPort(string endpoint, string inLiveView, string inTableView)
        {
            // A plain cut at the end lost the port, and the two ends of one IPv6 connection read the same (a newcomer's
            // trial, at 80 and 120 columns): the address is cut in its middle, a host name at its end, the port kept.
            Assert.Equal(inLiveView, TextFormat.FitEndpoint(endpoint, endpoint.StartsWith("a-") ? 20 : 23, TableLayout.Ellipsis));
            Assert.Equal(inTableView, TextFormat.FitEndpoint(endpoint, 21, CellWidth.Ellipsis));
            Assert.True(CellWidth.Of(TextFormat.FitEndpoint(endpoint, 21, CellWidth.Ellipsis)) <= 21);
        }

        [Fact]
        public void TheLiveViewsLocalAndForeignCellsKeepTheirPorts()
        {
            var layout = TableLayout.FromConfig(Config("columnOrder: ['Local', 'Foreign']\ncolumnWidths:\n  Local: 21\n  Foreign: 21\n"), null);
            var r = Tcp(47400, 443, TcpState.Established, "curl", 100, "2001:db8:1234:5678:9abc:def0:1234:5678", "2001:db8:1234:5678:9abc:def0:1234:5679");
            Assert.Equal("[2001:...:5678]:47400 [2001:d...4:5679]:443", layout.Row(r, new RowLook(ConfigColor.Parse("white"), false, false), Now));
        }

        [Theory]
        [InlineData(200,
            "Proto Local                  Port   Foreign                State        PID    Process                        Geo                                 Bytes    Rate     Age",
            "TCP   127.0.0.1:8080         8080   127.0.0.1:50000        Established  4242   python3                        Loopback                            3.0KB    1.5KB/s  1m15s")]
        [InlineData(120,
            "Proto Local                 Foreign               State       PID    Process         Geo         Bytes   Rate    Age",
            "TCP   127.0.0.1:8080        127.0.0.1:50000       Established 4242   python3         Loopback    3.0KB   1.5KB/s 1m15s")]
        [InlineData(80,
            "Proto Local                 Foreign               State       Process",
            "TCP   127.0.0.1:8080        127.0.0.1:50000       Established python3")]
        public void SeedLayoutAt200And120And80Columns(int width, string header, string row)
        {
            // Default widths: the seed's 5+22+6+22+12+6+30+35+8, Rate's 8 and Age's 7 (the seed's 6 cut ">13m58s"), + 10 spaces = 171. At 120, even at their
            // useful widths (GiveWayOrder) they need 2 cells more, so Port, which Local shows anyway, is dropped, and the
            // rest give up characters in that order (Geo 35 -> 11, Process 30 -> 15; Age keeps its 7: ">11m05s"); at 80 Port, Age, Bytes, Geo, Rate and
            // PID are dropped, in that order, and Process gets back what is left.
            var layout = TableLayout.FromConfig(new MonitorConfig(), width);
            Assert.Equal(header, layout.Header());
            var r = Tcp(8080, 50000, TcpState.Established, "python3", 4242, local: "127.0.0.1", remote: "::ffff:127.0.0.1");
            r.BytesSent = 1024;
            r.BytesReceived = 2048;
            r.SendRate = 512;
            r.ReceiveRate = 1024;
            r.FirstSeenUtc = Now.AddSeconds(-75);
            r.AddressScope = "Loopback";
            Assert.Equal(row, layout.Row(r, new RowLook(ConfigColor.Parse("white"), false, false), Now));
            Assert.Equal(Math.Min(width, 171), layout.TotalWidth);
            Assert.Equal(width == 80 ? 6 : width == 120 ? 1 : 0, layout.HiddenForWidth);
        }

        /// <summary>An age seen as a lower bound of ten minutes or more (">11m05s", 7 cells) shows whole at 120 columns (a newcomer's trial: it showed as ">11...").</summary>
        [Fact]
        public void ALowerBoundAgeShowsWholeAt120Columns()
        {
            var layout = TableLayout.FromConfig(new MonitorConfig(), 120);
            var r = Tcp(8080, 50000, TcpState.Established, "python3", 4242, local: "127.0.0.1", remote: "127.0.0.1");
            r.FirstSeenUtc = Now.AddSeconds(-665);
            r.FirstSeenIsLowerBound = true;
            Assert.EndsWith(" >11m05s", layout.Row(r, new RowLook(ConfigColor.Parse("white"), false, false), Now));
        }

        [Fact]
        public void ColumnsGiveWayInTheStatedOrderWhateverTheConfiguredOrder()
        {
            // Port first in the configured order, but it is still the first to go; the rest keep their order.
            var config = Config("columnOrder: ['Port', 'Process', 'Local', 'Age']\ncolumnWidths:\n  Port: 6\n  Process: 20\n  Local: 22\n  Age: 6\n");
            Assert.Equal(new[] { "Port:6", "Process:20", "Local:22", "Age:6" }, TableLayout.FromConfig(config, 57).Columns.Select(c => c.ToString()));
            Assert.Equal(new[] { "Port:5", "Process:20", "Local:21", "Age:6" }, TableLayout.FromConfig(config, 55).Columns.Select(c => c.ToString()));
            Assert.Equal(new[] { "Port:5", "Process:19", "Local:21", "Age:6" }, TableLayout.FromConfig(config, 54).Columns.Select(c => c.ToString()));
            Assert.Equal(new[] { "Process:12", "Local:21", "Age:6" }, TableLayout.FromConfig(config, 41).Columns.Select(c => c.ToString()));
            Assert.Equal(new[] { "Process:18", "Local:21" }, TableLayout.FromConfig(config, 40).Columns.Select(c => c.ToString()));
            // A kept column (the live view's sort) is dropped after the others, but still gives up characters.
            Assert.Equal(new[] { "Process:12", "Local:21", "Age:6" }, TableLayout.FromConfig(config, 41, keep: "Age").Columns.Select(c => c.ToString()));
            Assert.Equal(new[] { "Process:20", "Age:6" }, TableLayout.FromConfig(config, 40, keep: "Age").Columns.Select(c => c.ToString()));
            Assert.Equal(new[] { "Port:5", "Process:12", "Local:21" }, TableLayout.FromConfig(config, 40, keep: "Port").Columns.Select(c => c.ToString()));
            var one = TableLayout.FromConfig(config, 10);
            Assert.Equal(new[] { "Process:10" }, one.Columns.Select(c => c.ToString()));
            Assert.Equal(3, one.HiddenForWidth);
        }

        [Fact]
        public void CellsShowRealCountersAndBlankWhenUnknown()
        {
            var r = Tcp(443, 50000, TcpState.Established);
            Assert.Equal("", TableLayout.CellText(ColumnNames.Bytes, r, Now));
            Assert.Equal("", TableLayout.CellText(ColumnNames.Age, r, Now));
            r.BytesSent = 1024;
            r.BytesReceived = 2048;
            r.FirstSeenUtc = Now.AddSeconds(-75);
            Assert.Equal("3.0KB", TableLayout.CellText(ColumnNames.Bytes, r, Now));
            Assert.Equal("1m15s", TableLayout.CellText(ColumnNames.Age, r, Now));
            Assert.Equal("10.0.0.5:443", TableLayout.CellText(ColumnNames.Local, r, Now));
            Assert.Equal("203.0.113.7:50000", TableLayout.CellText(ColumnNames.Foreign, r, Now));
            Assert.Equal("", TableLayout.CellText(ColumnNames.Foreign, Udp(53), Now));
            Assert.Equal("", TableLayout.CellText(ColumnNames.State, Udp(53), Now));
        }

        [Fact]
        public void ControlCharactersInProcessNamesNeverReachTheTerminal()
        {
            var r = Tcp(8080, 50000, TcpState.Listen, "evil\u001b[31mname\u0007\u009b2J");
            string cell = TableLayout.CellText(ColumnNames.Process, r, Now);
            Assert.Equal("evil\u241B[31mname\u2407<U+009B>2J", cell); // shown as inert text, nothing deleted
            var view = new LiveView(new MonitorConfig(), ColorDepth.TrueColor);
            view.Update(Snapshot(Now, r), null);
            var frame = view.BuildFrame(200, 20);
            // Only the view's own styling may carry ESC: it opens each styled line and resets after it.
            foreach (var line in frame) Assert.DoesNotContain('\u001b', line.Text);
        }

        [Fact]
        public void SuspiciousPortsAreRedAndFlaggedAboveHighlightsAndStateColours()
        {
            var config = Config("highlightedPorts:\n  '3389': '#00FF00'\n  '8443': '#FFA500'\ncolors:\n  tcp:\n    established: 'blue'\n");
            var suspicious = new HashSet<int>(config.Alerts.Conditions.SuspiciousPorts);

            var rdp = RowLook.For(Tcp(3389, 50000, TcpState.Established), config, suspicious); // local suspicious port
            Assert.True(rdp.Suspicious);
            Assert.Equal(ConfigColor.Parse("red"), rdp.Color);
            Assert.Equal("[!]", rdp.Markers);
            Assert.True(RowLook.For(Tcp(50000, 445, TcpState.Established), config, suspicious).Suspicious); // remote too

            var highlightedLocal = RowLook.For(Tcp(8443, 50000, TcpState.Established), config, suspicious);
            Assert.Equal(ConfigColor.Parse("#FFA500"), highlightedLocal.Color);
            Assert.False(highlightedLocal.Suspicious);
            Assert.Equal(ConfigColor.Parse("#FFA500"), RowLook.For(Tcp(50000, 8443, TcpState.Established), config, suspicious).Color);

            Assert.Equal(ConfigColor.Parse("blue"), RowLook.For(Tcp(50000, 9999, TcpState.Established), config, suspicious).Color);
            Assert.Equal(config.Colors.Tcp.Listening, RowLook.For(Tcp(9999, 0, TcpState.Listen, remote: "0.0.0.0"), config, suspicious).Color);
            Assert.Equal(config.Colors.Udp, RowLook.For(Udp(5353), config, suspicious).Color);
        }

        [Fact]
        public void MarkersLeadTheProcessCellAndVpnShowsOnlyWhenKnownTrue()
        {
            var config = Config("columnOrder: ['Port', 'Process']\ncolumnWidths:\n  Process: 20\n");
            var layout = TableLayout.FromConfig(config, null);
            var suspicious = new HashSet<int>(config.Alerts.Conditions.SuspiciousPorts);
            var vpn = Tcp(50000, 1194, TcpState.Established, "openvpn");
            vpn.IsVpn = true;
            Assert.Equal("50000  [VPN] openvpn", layout.Row(vpn, RowLook.For(vpn, config, suspicious), Now));
            vpn.IsVpn = null; // unknown: nothing
            Assert.Equal("50000  openvpn", layout.Row(vpn, RowLook.For(vpn, config, suspicious), Now));
            var both = Tcp(3389, 50000, TcpState.Established, "rdp");
            both.IsVpn = true;
            Assert.Equal("3389   [!] [VPN] rdp", layout.Row(both, RowLook.For(both, config, suspicious), Now));

            var noProcess = TableLayout.FromConfig(Config("columnOrder: ['Port', 'State']\n"), null);
            Assert.Equal("3389   Established [!] [VPN]", noProcess.Row(both, RowLook.For(both, config, suspicious), Now));
        }

        [Theory]
        [InlineData(ColorDepth.TrueColor, "#FFA500", "\u001b[38;2;255;165;0m")]
        [InlineData(ColorDepth.Palette256, "#FFA500", "\u001b[38;5;214m")]
        [InlineData(ColorDepth.Standard16, "#FFA500", "\u001b[33m")]   // nearest of the sixteen: yellow
        [InlineData(ColorDepth.Standard16, "#FF0000", "\u001b[91m")]
        [InlineData(ColorDepth.Palette256, "#808080", "\u001b[38;5;244m")] // grey ramp
        [InlineData(ColorDepth.None, "#FFA500", "")]
        [InlineData(ColorDepth.TrueColor, "green", "\u001b[32m")]       // names stay ANSI colours (the terminal's palette)
        [InlineData(ColorDepth.Palette256, "cyanBright", "\u001b[96m")]
        [InlineData(ColorDepth.None, "green", "")]
        public void ColoursDegradeToWhatTheTerminalShows(ColorDepth depth, string color, string expected)
        {
            Assert.Equal(expected, TerminalColors.Foreground(ConfigColor.Parse(color), depth));
        }

        [Theory]
        [InlineData("1", "truecolor", "xterm-256color", ColorDepth.None)]        // NO_COLOR wins
        [InlineData(null, "truecolor", "xterm", ColorDepth.TrueColor)]
        [InlineData(null, "24bit", "screen", ColorDepth.TrueColor)]
        [InlineData(null, null, "xterm-direct", ColorDepth.TrueColor)]
        [InlineData(null, null, "tmux-256color", ColorDepth.Palette256)]
        [InlineData(null, null, "xterm", ColorDepth.Standard16)]
        [InlineData(null, null, "dumb", ColorDepth.None)]
        [InlineData(null, null, null, ColorDepth.None)]
        [InlineData("", null, "xterm", ColorDepth.Standard16)]                 // empty NO_COLOR does not count
        public void ColourDepthComesFromTheEnvironment(string noColor, string colorTerm, string term, ColorDepth expected)
        {
            var env = new Dictionary<string, string> { ["NO_COLOR"] = noColor, ["COLORTERM"] = colorTerm, ["TERM"] = term };
            Assert.Equal(expected, TerminalColors.Detect(n => env.TryGetValue(n, out var v) ? v : null, isWindows: false));
        }

        [Fact]
        public void WindowsConsolesWithoutTermGetSixteenColours()
        {
            Assert.Equal(ColorDepth.Standard16, TerminalColors.Detect(_ => null, isWindows: true));
            Assert.Equal(ColorDepth.TrueColor, TerminalColors.Detect(n => n == "WT_SESSION" ? "x" : null, isWindows: true));
        }
    }
}
