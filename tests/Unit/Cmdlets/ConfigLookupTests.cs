using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>
    /// README "Configuration": read from the first of -ConfigPath, $env:CONNECTIONSMONITOR_CONFIG, the user's
    /// config folder ($XDG_CONFIG_HOME/ConnectionsMonitor/config.yml), the module's own config.yml. Through
    /// Get-MonitoredConnection in cmon child processes, each with an environment of its own (changing this test
    /// process's environment would reach every test running beside it).
    /// </summary>
    public sealed class ConfigLookupTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("cm-config-lookup-").FullName;
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly int _port;

        public ConfigLookupTests()
        {
            _listener.Start();
            _port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        }

        public void Dispose()
        {
            _listener.Stop();
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private string Write(string relative, string text)
        {
            string path = Path.Combine(_dir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path));
            File.WriteAllText(path, text);
            return path;
        }

        /// <summary>A config that shows only TCP rows on this test's listener port: a visible effect of being read.</summary>
        private string OnlyOurPort => "resolveDNS: false\ngeoip:\n  directory: '" + Path.Combine(_dir, "geo") + "'\n" +
                                      "connectionFiltering:\n  enabled: true\n  protocols: ['TCP']\n  ports: [" + _port + "]\n";

        private const string Broken = "resolveDNS: false\nrefreshInterval: fast\n";

        private static string Expected(string path) =>
            path + ", line 2, key 'refreshInterval': expected a whole number of milliseconds of at least 100, found 'fast'.";

        /// <summary>cmon with exactly these variables for the lookup (nothing of this process's own set leaks in).</summary>
        private (int ExitCode, string Out, string Err) Cmon(string script, string envConfig, string xdgConfigHome)
        {
            string exe = Path.Combine(Repo.Root, "src", "ConnectionsMonitor.Host", "bin", Repo.Configuration, "net10.0",
                RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "cmon.exe" : "cmon");
            Assert.True(File.Exists(exe), "cmon not built: " + exe);
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
            psi.ArgumentList.Add("-Command");
            psi.ArgumentList.Add(script);
            psi.Environment.Remove("CONNECTIONSMONITOR_CONFIG");
            if (envConfig != null) psi.Environment["CONNECTIONSMONITOR_CONFIG"] = envConfig;
            psi.Environment["XDG_CONFIG_HOME"] = xdgConfigHome ?? Path.Combine(_dir, "no-config-home");
            psi.Environment["XDG_DATA_HOME"] = Path.Combine(_dir, "data-home");
            psi.Environment["HOME"] = Path.Combine(_dir, "home");
            psi.Environment["NO_COLOR"] = "1";
            using var p = Process.Start(psi);
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(120_000), "cmon did not finish within 2 minutes");
            return (p.ExitCode, stdout.Result, stderr.Result);
        }

        private const string Ports = "Get-MonitoredConnection | ForEach-Object { '{0} {1}' -f $_.LocalPort, $_.RemotePort } | Sort-Object -Unique";

        private string[] Lines(string text) => text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();

        // The listener's row, and no row without its port: the file's filter (TCP, port P) applied. (Without it the test
        // host's own connection to its runner would show. A connection to port P is a row of the filter too: another test
        // or program may connect to it, or hold the same number on ::1, as a loaded run showed.)
        private void OnlyOurPortShown(string output)
        {
            var lines = Lines(output);
            Assert.Contains(_port + " 0", lines);
            Assert.All(lines, l => Assert.Contains(_port.ToString(), l.Split(' ')));
        }

        [Fact]
        public void TheEnvironmentVariableNamesTheFileRead()
        {
            string config = Write("env.yml", OnlyOurPort);
            var (code, output, error) = Cmon(Ports, config, null);
            Assert.True(code == 0, "exit " + code + ": " + error);
            OnlyOurPortShown(output); // the file's filter applied
        }

        [Fact]
        public void TheUsersConfigFolderIsReadWhenTheVariableIsUnset()
        {
            string home = Path.Combine(_dir, "xdg");
            Write(Path.Combine("xdg", "ConnectionsMonitor", "config.yml"), OnlyOurPort);
            var (code, output, error) = Cmon(Ports, null, home);
            Assert.True(code == 0, "exit " + code + ": " + error);
            OnlyOurPortShown(output);
        }

        [Fact]
        public void TheVariableComesBeforeTheUsersFolderAndAMistakeNamesItsFile()
        {
            string home = Path.Combine(_dir, "xdg");
            Write(Path.Combine("xdg", "ConnectionsMonitor", "config.yml"), OnlyOurPort);
            string broken = Write("broken.yml", Broken);
            var (code, output, error) = Cmon("Get-MonitoredConnection", broken, home);
            Assert.Equal(1, code);
            Assert.Equal("", output);
            Assert.Contains(Expected(broken), error);
        }

        [Fact]
        public void ConfigPathComesBeforeTheVariable()
        {
            string broken = Write("broken.yml", Broken);
            string good = Write("good.yml", OnlyOurPort);
            var (code, output, error) = Cmon(Ports.Replace("Get-MonitoredConnection", "Get-MonitoredConnection -ConfigPath '" + good + "'"), broken, null);
            Assert.True(code == 0, "exit " + code + ": " + error);
            OnlyOurPortShown(output);
        }

        [Fact]
        public void ThisTestProcessReadsNeitherTheMachinesVariableNorItsConfigFolder()
        {
            Assert.Null(Environment.GetEnvironmentVariable("CONNECTIONSMONITOR_CONFIG"));
            Assert.Equal(TestEnvironment.ConfigHome, Environment.GetEnvironmentVariable("XDG_CONFIG_HOME"));
            Assert.Equal(TestEnvironment.DataHome, Environment.GetEnvironmentVariable("XDG_DATA_HOME"));
            Assert.Empty(Directory.GetFileSystemEntries(TestEnvironment.ConfigHome));
        }
    }
}
