using System;
using System.Linq;
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

        private static int CellsBefore(string line, string marker)
        {
            int at = line.IndexOf(marker, StringComparison.Ordinal);
            Assert.True(at >= 0, marker + " not in: " + line);
            return CellWidth.Of(line.Substring(0, at));
        }
    }
}
