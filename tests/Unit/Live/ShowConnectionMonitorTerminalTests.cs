using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Live
{
    /// <summary>A fact that needs Linux and tmux (CI installs tmux; .ci/run).</summary>
    public sealed class TmuxFactAttribute : FactAttribute
    {
        public TmuxFactAttribute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Skip = "needs Linux";
            else if (!TmuxTerminal.Available) Skip = "needs tmux (apt-get install tmux)";
        }
    }

    /// <summary>
    /// Show-ConnectionMonitor through cmon in a real terminal (tmux): configured columns, order and
    /// widths; a highlighted port's colour; a state colour; a process name with an escape sequence
    /// shown without it; q and Ctrl+C leave the terminal as it was.
    /// </summary>
    public class ShowConnectionMonitorTerminalTests
    {
        private static readonly Regex Escapes = new Regex("\u001b\\[[0-9;?]*[A-Za-z]");

        private static readonly Regex Sgr = new Regex("\u001b\\[([0-9;]*)m");

        /// <summary>
        /// The foreground colour (SGR parameters, "" for the default) in force at the start of each
        /// captured line. capture-pane -e emits a colour only where it changes, so a row may inherit
        /// the colour of the row above.
        /// </summary>
        private static string[] ForegroundAtLineStart(string[] lines)
        {
            var result = new string[lines.Length];
            string current = "";
            for (int i = 0; i < lines.Length; i++)
            {
                int pos = 0;
                Match m;
                // Sequences before the first character of the line set its colour.
                while ((m = Sgr.Match(lines[i], pos)).Success && m.Index == pos)
                {
                    current = Apply(current, m.Groups[1].Value);
                    pos = m.Index + m.Length;
                }
                result[i] = current;
                foreach (Match rest in Sgr.Matches(lines[i].Substring(pos))) current = Apply(current, rest.Groups[1].Value);
            }
            return result;
        }

        private static string Apply(string current, string parameters)
        {
            var parts = parameters.Length == 0 ? new[] { "0" } : parameters.Split(';');
            for (int i = 0; i < parts.Length; i++)
            {
                string p = parts[i];
                if (p == "0" || p == "39") current = "";
                else if ((p == "38") && i + 1 < parts.Length)
                {
                    int n = parts[i + 1] == "2" ? 5 : 3;
                    current = string.Join(";", parts, i, Math.Min(n, parts.Length - i));
                    i += n - 1;
                }
                else if (int.TryParse(p, out int code) && ((code >= 30 && code <= 37) || (code >= 90 && code <= 97))) current = p;
                else if (p == "48" && i + 1 < parts.Length) i += parts[i + 1] == "2" ? 4 : 2; // background: skip
            }
            return current;
        }

        private static string Cmon => Path.Combine(Repo.Root, "src", "ConnectionsMonitor.Host", "bin", Repo.Configuration, "net10.0", "cmon.dll");

        private static string WriteConfig(int highlighted)
        {
            string path = Path.Combine(Path.GetTempPath(), "cmon-live-" + Guid.NewGuid().ToString("N") + ".yml");
            File.WriteAllText(path,
                "refreshInterval: 500\n" +
                "columnOrder: ['Port', 'Proto', 'Process', 'State', 'Local']\n" +
                "columns:\n  Geo: false\n" +
                "columnWidths:\n  Port: 7\n  Process: 24\n" +
                "highlightedPorts:\n  '" + highlighted + "': '#FFA500'\n" +
                "colors:\n  tcp:\n    listening: 'blue'\n" +
                "monitoring:\n  showTopTalkers: false\n");
            return path;
        }

        private static string CommandLine(string config, params int[] ports) =>
            "env COLORTERM=truecolor TERM=tmux-256color dotnet '" + Cmon + "' Show-ConnectionMonitor -ConfigPath '" + config +
            "' -LocalPort " + string.Join(",", ports) + "; echo \"EXIT:$?\"";

        [TmuxFact]
        public void ShowsConfiguredColumnsColoursAndSafeNamesAndQRestoresTheTerminal()
        {
            using var highlighted = new TcpListener(IPAddress.Loopback, 0);
            highlighted.Start();
            using var plain = new TcpListener(IPAddress.Loopback, 0);
            plain.Start();
            int hPort = ((IPEndPoint)highlighted.LocalEndpoint).Port, pPort = ((IPEndPoint)plain.LocalEndpoint).Port;
            using var evil = NamedListener.Start("evil\u001b[31mname");
            string config = WriteConfig(hPort);
            try
            {
                using var term = new TmuxTerminal(160, 30);
                term.Run(CommandLine(config, hPort, pPort, evil.Port));
                string screen = term.WaitFor(s => s.Contains("rows 1-3 of 3"), "three rows", escapes: true);
                var lines = screen.Split('\n');
                string Plain(string l) => Escapes.Replace(l, "").TrimEnd();

                // Header: columnOrder minus switched-off columns, at the configured widths (default 5 and 12 for Proto and State).
                Assert.Contains(lines, l => Plain(l) == "Port    Proto Process                  State        Local");
                var colours = ForegroundAtLineStart(lines);
                int At(int port) => Array.FindIndex(lines, l => Plain(l).StartsWith(port + " "));
                string hRow = lines[At(hPort)];
                Assert.Matches("^(38;2;255;165;0|38;5;214)$", colours[At(hPort)]);
                Assert.Matches("^" + hPort + @"\s+TCP\s+\S+\s+Listen\s+127\.0\.0\.1:" + hPort + "$", Plain(hRow));
                Assert.Equal("34", colours[At(pPort)]); // colors.tcp.listening: blue

                // The escape sequence in the process name does not reach the terminal as a colour change: its ESC is shown as ␛.
                string eRow = lines[At(evil.Port)];
                Assert.Contains("evil\u241B[31mname", Plain(eRow));
                Assert.DoesNotContain("\u001b[31m", eRow, StringComparison.Ordinal);
                Assert.Equal("34", colours[At(evil.Port)]);
                Assert.Equal("1", term.Query("#{alternate_on}"));

                term.SendKeys("q");
                string after = term.WaitFor(s => System.Text.RegularExpressions.Regex.IsMatch(s, @"EXIT:\d"), "cmon to exit") /* the typed command line itself shows EXIT:$? */;
                Assert.Contains("EXIT:0", after);
                Assert.Equal("0", term.Query("#{alternate_on}"));
                Assert.Equal("1", term.Query("#{cursor_flag}"));
                Assert.DoesNotContain("Proto", after); // the main screen holds only the shell
            }
            finally
            {
                File.Delete(config);
            }
        }

        [TmuxFact]
        public void CtrlCAlsoRestoresTheTerminal()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            string config = WriteConfig(port);
            try
            {
                using var term = new TmuxTerminal(120, 20);
                term.Run(CommandLine(config, port));
                term.WaitFor(s => s.Contains("row 1 of 1"), "the view");
                term.SendKeys("s", "p"); // sort and pause still draw
                term.WaitFor(s => s.Contains("[PAUSED]") && s.Contains("sort: Process"), "sort and pause");
                term.SendKeys("C-c");
                string after = term.WaitFor(s => System.Text.RegularExpressions.Regex.IsMatch(s, @"EXIT:\d"), "cmon to exit") /* the typed command line itself shows EXIT:$? */;
                Assert.Equal("0", term.Query("#{alternate_on}"));
                Assert.Equal("1", term.Query("#{cursor_flag}"));
            }
            finally
            {
                File.Delete(config);
            }
        }
    }
}
