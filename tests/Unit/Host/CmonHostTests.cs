using System.Diagnostics;
using System.IO;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Host
{
    /// <summary>cmon, the host for machines without PowerShell, run as a real process the way the README runs it.</summary>
    public class CmonHostTests
    {
        private static (int ExitCode, string Out, string Err) Run(params string[] args)
        {
            string cmon = Path.Combine(Repo.Root, "src", "ConnectionsMonitor.Host", "bin", Repo.Configuration, "net10.0", "cmon.dll");
            Assert.True(File.Exists(cmon), "cmon not built: " + cmon);
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(cmon);
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi);
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            return (p.ExitCode, stdout.Result, stderr.Result);
        }

        [LinuxFact]
        public void RunsACommandLineThroughTheModuleViews()
        {
            using var sockets = new LoopbackSockets();
            var (code, output, error) = Run("Get-MonitoredConnection", "-LocalPort", sockets.ListenPort.ToString());
            Assert.True(code == 0, error);
            Assert.Matches(@"Proto\s+Local\s+Foreign\s+State\s+Process\s+PID\s+Geo\s+Bytes\s+Age\s+Port", output);
            Assert.Contains("127.0.0.1:" + sockets.ListenPort, output);
            Assert.Contains("Listen", output);
        }

        [Fact]
        public void ErrorsSetTheExitCode()
        {
            var (code, _, error) = Run("Get-MonitoredConnection", "-Port", "70000");
            Assert.Equal(1, code);
            Assert.Contains("65535", error + "");
        }

        [Fact]
        public void CommandOptionTakesAWholeScript()
        {
            var (code, output, error) = Run("-Command", "(Get-Command -Module ConnectionsMonitor).Name -join ','");
            Assert.True(code == 0, error);
            Assert.Contains("Get-MonitoredConnection", output);
        }

        [Fact]
        public void ArgumentsWithSpacesAreQuotedOnce()
        {
            Assert.Equal("Get-MonitoredConnection -ProcessName 'my app'",
                ConnectionsMonitor.Host.Program.BuildScript(new[] { "Get-MonitoredConnection", "-ProcessName", "my app" }));
            Assert.Equal("Show-ConnectionMonitor", ConnectionsMonitor.Host.Program.BuildScript(new string[0])); // the main job
        }
    }
}
