using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Live
{
    /// <summary>
    /// Show-ConnectionMonitor through cmon in tmux with processes named in Chinese, with an emoji and with combining
    /// marks: each name takes exactly its column, so the next column starts at the same screen column on every row;
    /// and the default layout at 80 columns.
    /// </summary>
    public class WideNamesTerminalTests
    {
        private static readonly Regex Escapes = new Regex("\u001b\\[[0-9;?]*[A-Za-z]");

        private static string Cmon => Path.Combine(Repo.Root, "src", "ConnectionsMonitor.Host", "bin", Repo.Configuration, "net10.0", "cmon.dll");

        private static string Run(TmuxTerminal term, string config, int expectedRows, params int[] ports)
        {
            term.Run("env TERM=tmux-256color dotnet '" + Cmon + "' Show-ConnectionMonitor -ConfigPath '" + config + "' -LocalPort " + string.Join(",", ports));
            string footer = expectedRows == 1 ? "row 1 of 1" : "rows 1-" + expectedRows + " of " + expectedRows;
            return term.WaitFor(s => s.Contains(footer), expectedRows + " rows");
        }

        [TmuxFact]
        public void WideAndCombiningNamesKeepTheNextColumnInPlace()
        {
            string[] names =
            {
                "ascii-name",
                "\u4E2D\u6587\u8FDB\u7A0B",                                  // 中文进程: 8 cells
                "\u4E2D\u6587\u8FDB\u7A0B\u540D\u79F0\u5F88\u957F",          // 16 cells: cut to 中文进程 + "..." (a fifth wide character would straddle the edge)
                "py\U0001F40Dsnake",                                         // emoji: 2 cells
                "e\u0301cole\u0300",                                         // combining marks: 0 cells
            };
            var listeners = names.Select(NamedListener.Start).ToList();
            string config = Path.Combine(Path.GetTempPath(), "cmon-wide-" + Guid.NewGuid().ToString("N") + ".yml");
            File.WriteAllText(config, "refreshInterval: 500\ncolumnOrder: ['Process', 'PID', 'State', 'Local']\ncolumnWidths:\n  Process: 12\n  PID: 8\n" +
                "monitoring:\n  showTopTalkers: false\n");
            try
            {
                using var term = new TmuxTerminal(100, 20);
                string screen = Run(term, config, names.Length, listeners.Select(l => l.Port).ToArray());
                var lines = screen.Split('\n').Select(l => Escapes.Replace(l, "").TrimEnd()).ToArray();
                Assert.Contains("Process      PID      State        Local", lines);
                for (int i = 0; i < names.Length; i++)
                {
                    string pid = listeners[i].ProcessId.ToString();
                    string row = Assert.Single(lines, l => l.EndsWith("127.0.0.1:" + listeners[i].Port, StringComparison.Ordinal));
                    // Process is 12 cells, then one space: the PID starts at cell 13 whatever the name.
                    int at = row.IndexOf(" " + pid + " ", StringComparison.Ordinal) + 1;
                    Assert.True(at > 0, row);
                    Assert.Equal(13, CellWidth.Of(row.Substring(0, at)));
                    Assert.Equal(13 + 9 + 13, CellWidth.Of(row.Substring(0, row.IndexOf("127.0.0.1:", StringComparison.Ordinal))));
                }
                Assert.True(lines.Any(l => l.StartsWith("\u4E2D\u6587\u8FDB\u7A0B     " + listeners[1].ProcessId + " ", StringComparison.Ordinal)), string.Join("\n", lines));
                Assert.True(lines.Any(l => l.StartsWith("\u4E2D\u6587\u8FDB\u7A0B...  " + listeners[2].ProcessId + " ", StringComparison.Ordinal)), string.Join("\n", lines));
                Assert.True(lines.Any(l => l.StartsWith("py\U0001F40Dsnake    " + listeners[3].ProcessId + " ", StringComparison.Ordinal)), string.Join("\n", lines));
                Assert.True(lines.Any(l => l.StartsWith("e\u0301cole\u0300        " + listeners[4].ProcessId + " ", StringComparison.Ordinal)), string.Join("\n", lines));
                term.SendKeys("q");
            }
            finally
            {
                File.Delete(config);
                foreach (var l in listeners) l.Dispose();
            }
        }

        [TmuxFact]
        public void DefaultLayoutAt80Columns()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            string config = Path.Combine(Path.GetTempPath(), "cmon-80-" + Guid.NewGuid().ToString("N") + ".yml");
            File.WriteAllText(config, "refreshInterval: 500\n");
            try
            {
                using var term = new TmuxTerminal(80, 20);
                string screen = Run(term, config, 1, port);
                var lines = screen.Split('\n').Select(l => l.TrimEnd()).ToArray();
                Assert.Contains("Proto Local                 Foreign               State       Process", lines);
                Assert.True(lines.Any(l => l.StartsWith("TCP   " + ("127.0.0.1:" + port).PadRight(21) + " 0.0.0.0:0             Listen      ", StringComparison.Ordinal)), string.Join("\n", lines));
                term.SendKeys("q");
            }
            finally
            {
                File.Delete(config);
            }
        }
    }
}
