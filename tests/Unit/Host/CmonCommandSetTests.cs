using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Host
{
    /// <summary>
    /// cmon carries PowerShell's whole command set (Microsoft.PowerShell.SDK): the built executable,
    /// run as a child process, pipes the module's objects into Export-Csv, Format-List,
    /// ConvertTo-Json, Sort-Object and Start-Sleep. Each test asks about sockets it opened itself.
    /// </summary>
    public sealed class CmonCommandSetTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-cmon-" + Guid.NewGuid().ToString("N"));
        private readonly string _config;
        private readonly int _pid = Environment.ProcessId;

        public CmonCommandSetTests()
        {
            Directory.CreateDirectory(_dir);
            // Not this machine's config: no reverse DNS, an empty GeoIP folder.
            _config = Path.Combine(_dir, "config.yml");
            File.WriteAllText(_config, "resolveDNS: false\ngeoip:\n  directory: '" + Path.Combine(_dir, "geo") + "'\n");
        }

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private (int ExitCode, string Out, string Err) Cmon(string script) => CmonArgs("-Command", script);

        private (int ExitCode, string Out, string Err) CmonArgs(params string[] args)
        {
            string exe = Path.Combine(Repo.Root, "src", "ConnectionsMonitor.Host", "bin", Repo.Configuration, "net10.0",
                RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "cmon.exe" : "cmon");
            Assert.True(File.Exists(exe), "cmon not built: " + exe);
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["CONNECTIONSMONITOR_CONFIG"] = _config;
            psi.Environment["NO_COLOR"] = "1";
            using var p = Process.Start(psi);
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(120_000), "cmon did not finish within 2 minutes");
            return (p.ExitCode, stdout.Result, stderr.Result);
        }

        private static string[] Lines(string text) =>
            text.Split('\n').Select(l => l.TrimEnd('\r', ' ')).Where(l => l.Length > 0).ToArray();

        [Theory]
        [InlineData("--help")]
        [InlineData("-h")]
        public void HelpPrintsUsageAndExitsZero(string flag)
        {
            var (code, output, error) = CmonArgs(flag);
            Assert.Equal(0, code);
            Assert.StartsWith("Usage: cmon [COMMAND LINE | -Command SCRIPT | --service [--config PATH] [--history PATH] | --help]", output);
            Assert.Equal("", error);
        }

        [Fact]
        public void CommandWithNothingAfterItIsAUsageError()
        {
            var (code, output, error) = CmonArgs("-Command");
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.StartsWith("cmon: -Command needs a script after it", error);
        }

        [Fact]
        public void TheUtilityCommandsAreThere()
        {
            var (code, output, error) = Cmon(
                "(Get-Command Export-Csv, Import-Csv, Format-Table, Format-List, Select-Object, Sort-Object, Group-Object, ConvertTo-Json, Start-Sleep, Measure-Object).Source | Sort-Object -Unique");
            Assert.True(code == 0, error);
            Assert.Equal(new[] { "Microsoft.PowerShell.Utility" }, Lines(output));
            Assert.Equal("", error);
        }

        [Fact]
        public void ExportCsvWritesTheRowsToAFile()
        {
            using var sockets = new LoopbackSockets();
            string csv = Path.Combine(_dir, "x.csv");
            var (code, output, error) = Cmon(
                $"Get-MonitoredConnection -Protocol TCP -LocalPort {sockets.ListenPort} -State Listen | Export-Csv x.csv -NoTypeInformation");
            Assert.True(code == 0, error);
            Assert.Equal("", output.Trim());
            Assert.True(File.Exists(csv), "Export-Csv wrote no file (relative to cmon's working folder)");

            var lines = File.ReadAllLines(csv);
            Assert.Equal(2, lines.Length);
            var header = lines[0].Split(',').Select(h => h.Trim('"')).ToList();
            var row = lines[1].Split(',').Select(v => v.Trim('"')).ToList();
            Assert.Equal(header.Count, row.Count);
            string Field(string name) => row[header.IndexOf(name)];
            Assert.Equal("TCP", Field("Protocol"));
            Assert.Equal("127.0.0.1", Field("LocalAddress"));
            Assert.Equal(sockets.ListenPort.ToString(), Field("LocalPort"));
            Assert.Equal("0.0.0.0", Field("RemoteAddress"));
            Assert.Equal("Listen", Field("State"));
            Assert.Equal(_pid.ToString(), Field("ProcessId"));
            Assert.Equal("", Field("Country"));
        }

        [Fact]
        public void FormatListShowsChosenProperties()
        {
            using var sockets = new LoopbackSockets();
            var (code, output, error) = Cmon(
                $"Get-MonitoredConnection -Protocol TCP -LocalPort {sockets.ListenPort} -State Listen | Format-List LocalAddress, LocalPort, State, ProcessId");
            Assert.True(code == 0, error);
            Assert.Equal(new[]
            {
                "LocalAddress : 127.0.0.1",
                "LocalPort    : " + sockets.ListenPort,
                "State        : Listen",
                "ProcessId    : " + _pid,
            }, Lines(output));
        }

        [Fact]
        public void ConvertToJsonGivesFlatValues()
        {
            using var sockets = new LoopbackSockets();
            var (code, output, error) = Cmon(
                $"Get-MonitoredConnection -Protocol TCP -LocalPort {sockets.ListenPort} -State Listen | Select-Object Protocol, LocalPort, State, ProcessId, Country | ConvertTo-Json -Compress");
            Assert.True(code == 0, error);
            Assert.Equal(
                $"{{\"Protocol\":\"TCP\",\"LocalPort\":{sockets.ListenPort},\"State\":\"Listen\",\"ProcessId\":{_pid},\"Country\":null}}",
                output.Trim());
        }

        [Fact]
        public void SortObjectOrdersTheRows()
        {
            using var sockets = new LoopbackSockets();
            var (code, output, error) = Cmon(
                $"Get-MonitoredConnection -Protocol TCP -Port {sockets.ListenPort} -ProcessId {_pid} | Sort-Object LocalPort, State -Descending | ForEach-Object {{ \"$($_.LocalPort) $($_.State)\" }}");
            Assert.True(code == 0, error);
            var expected = new[]
            {
                (Port: sockets.ListenPort, State: "Listen"),
                (Port: sockets.ListenPort, State: "Established"),
                (Port: sockets.ClientPort, State: "Established"),
            }.OrderByDescending(r => r.Port).ThenByDescending(r => r.State, StringComparer.OrdinalIgnoreCase)
             .Select(r => r.Port + " " + r.State).ToArray();
            Assert.Equal(expected, Lines(output));
        }

        [Fact]
        public void StartSleepWaits()
        {
            var watch = Stopwatch.StartNew();
            var (code, output, error) = Cmon(
                "$w = [Diagnostics.Stopwatch]::StartNew(); Start-Sleep -Milliseconds 400; $w.ElapsedMilliseconds -ge 390; 'slept'");
            Assert.True(code == 0, error);
            Assert.Equal(new[] { "True", "slept" }, Lines(output));
            Assert.True(watch.ElapsedMilliseconds >= 400);
        }

        [Fact]
        public void AnUnknownCommandIsStillAnError()
        {
            var (code, _, error) = Cmon("Get-NoSuchThing");
            Assert.Equal(1, code);
            Assert.Contains("Get-NoSuchThing", error);
            Assert.Contains("not recognized", error);
        }
    }
}
