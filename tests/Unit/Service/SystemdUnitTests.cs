using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using ConnectionsMonitor.Engine.Service;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Service
{
    /// <summary>The service's systemd unit: its content, its quoting of untrusted paths, and systemd's own verdict on it (systemd-analyze verify).</summary>
    public class SystemdUnitTests
    {
        private const string SystemdAnalyze = "/usr/bin/systemd-analyze";

        private static string Cmon => Path.Combine(Repo.Root, "src", "ConnectionsMonitor.Host", "bin", Repo.Configuration, "net10.0", "cmon");

        private static SystemdUnitOptions Options(string host = "/opt/connectionsmonitor/cmon") =>
            new SystemdUnitOptions { HostPath = host, ConfigPath = "/etc/connectionsmonitor/config.yml" };

        private static Dictionary<string, List<string>> Keys(string unit)
        {
            var keys = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var line in unit.Split('\n'))
            {
                if (line.Length == 0 || line[0] == '#' || line[0] == '[') continue;
                int eq = line.IndexOf('=');
                Assert.True(eq > 0, "not a key=value line: " + line);
                string k = line.Substring(0, eq);
                if (!keys.TryGetValue(k, out var list)) keys[k] = list = new List<string>();
                list.Add(line.Substring(eq + 1));
            }
            return keys;
        }

        /// <summary>systemd-analyze verify's complaints about a unit file (empty: none), plus its exit status when non-zero.</summary>
        private static string Verify(string unitFile)
        {
            Assert.True(File.Exists(SystemdAnalyze), SystemdAnalyze + " is missing: install Debian's systemd package (tests/run.sh does as root).");
            var psi = new ProcessStartInfo(SystemdAnalyze) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("verify");
            psi.ArgumentList.Add(unitFile);
            using var p = Process.Start(psi);
            var err = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            string said = (output + err.Result).Trim();
            return p.ExitCode != 0 ? "exit " + p.ExitCode + ": " + said : said;
        }

        [Fact]
        public void TheUnitRunsTheServiceModeWithTheMeasuredCapabilitiesOnly()
        {
            var keys = Keys(SystemdUnit.Render(Options()));
            // No --history unless one is given: the service then takes the configuration's history.path, else its default file.
            Assert.Equal("\"/opt/connectionsmonitor/cmon\" \"--service\" \"--config\" \"/etc/connectionsmonitor/config.yml\"", keys["ExecStart"].Single());
            Assert.Equal("simple", keys["Type"].Single());
            Assert.Equal("on-failure", keys["Restart"].Single());
            Assert.Equal("2", keys["RestartPreventExitStatus"].Single());
            Assert.Equal("yes", keys["DynamicUser"].Single());
            Assert.False(keys.ContainsKey("User"));
            Assert.Equal("CAP_DAC_READ_SEARCH CAP_SYS_PTRACE", keys["AmbientCapabilities"].Single());
            Assert.Equal("CAP_DAC_READ_SEARCH CAP_SYS_PTRACE", keys["CapabilityBoundingSet"].Single());
            Assert.DoesNotContain("AF_PACKET", keys["RestrictAddressFamilies"].Single());
            Assert.Equal("connectionsmonitor", keys["StateDirectory"].Single());
            Assert.Equal("strict", keys["ProtectSystem"].Single());
            Assert.Equal("yes", keys["NoNewPrivileges"].Single());
            Assert.Equal("journal", keys["StandardError"].Single());
            Assert.False(keys.ContainsKey("ReadWritePaths"), "the default history is in the state directory");
            // Settings that would blind the service must not be there.
            foreach (var k in new[] { "PrivateNetwork", "ProtectProc", "ProcSubset", "PrivateUsers", "MemoryDenyWriteExecute" })
                Assert.False(keys.ContainsKey(k), k + " would stop the service from seeing connections or running .NET");
        }

        [Fact]
        public void PortScanCaptureAddsNetRawAndPacketSocketsAUserReplacesTheDynamicOne()
        {
            var o = Options();
            o.PacketCapture = true;
            o.User = "cmon-svc";
            o.HistoryPath = "/srv/history/cm.db";
            var keys = Keys(SystemdUnit.Render(o));
            Assert.Equal("CAP_DAC_READ_SEARCH CAP_SYS_PTRACE CAP_NET_RAW", keys["AmbientCapabilities"].Single());
            Assert.EndsWith(" AF_PACKET", keys["RestrictAddressFamilies"].Single());
            Assert.Equal("cmon-svc", keys["User"].Single());
            Assert.False(keys.ContainsKey("DynamicUser"));
            Assert.Equal("\"/srv/history\"", keys["ReadWritePaths"].Single());
            Assert.EndsWith("\"--history\" \"/srv/history/cm.db\"", keys["ExecStart"].Single());
        }

        [Fact]
        public void QuotingEscapesWhatSystemdWouldOtherwiseInterpret()
        {
            Assert.Equal("\"/a b/c\"", SystemdUnit.QuoteArgument("/a b/c"));
            Assert.Equal("\"/x/100%%/$$HOME/\\\"q\\\"/back\\\\slash\"", SystemdUnit.QuoteArgument("/x/100%/$HOME/\"q\"/back\\slash"));
        }

        [Theory]
        [InlineData("/etc/cm\n/config.yml", "U+000A")]
        [InlineData("/etc/cm\r.yml", "U+000D")]
        [InlineData("/etc/cm\t.yml", "U+0009")]
        [InlineData("/etc/cm\u001b[2J.yml", "U+001B")]
        [InlineData("/etc/cm\u0085.yml", "U+0085")]
        public void ControlCharactersInAPathAreRefusedWithTheCharacterNamed(string config, string named)
        {
            var o = Options();
            o.ConfigPath = config;
            var ex = Assert.Throws<ArgumentException>(() => SystemdUnit.Render(o));
            Assert.Contains("configuration path", ex.Message);
            Assert.Contains(named, ex.Message);
            Assert.Contains("without newlines", ex.Message);
            Assert.DoesNotContain("\n", ex.Message); // the message itself shows the character as '?'
        }

        [Fact]
        public void RelativeOrMissingPathsAndBadNamesAreRefusedSayingWhatIsExpected()
        {
            var ex = Assert.Throws<ArgumentException>(() => SystemdUnit.Render(Options("cmon")));
            Assert.Contains("not an absolute path", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => SystemdUnit.Render(new SystemdUnitOptions()));
            Assert.Contains("The path of cmon is missing", ex.Message);
            foreach (var bad in new[] { "", "a/b", "cm@x", "cm.service", "has space" })
            {
                var o = Options();
                o.Name = bad;
                ex = Assert.Throws<ArgumentException>(() => SystemdUnit.Render(o));
                Assert.Contains("expected", ex.Message);
            }
            var u = Options();
            u.User = "root\nExecStartPre=/bin/sh";
            ex = Assert.Throws<ArgumentException>(() => SystemdUnit.Render(u));
            Assert.Contains("user name", ex.Message);
        }

        /// <summary>
        /// Folders the configuration writes to become ReadWritePaths= entries that a missing folder does not fail
        /// (ProtectSystem=strict makes everything else read-only); the state directory needs none; a relative one is refused.
        /// </summary>
        [Fact]
        public void FoldersTheConfigurationWritesToAreMadeWritable()
        {
            var o = Options("/opt/connectionsmonitor/cmon");
            o.WritableFolders = new[] { "/srv/cmon exports/", "/var/lib/connectionsmonitor/exports", "/srv/dead$letters" };
            string unit = SystemdUnit.Render(o);
            Assert.Contains("\nReadWritePaths=\"-/srv/cmon exports\"\n", unit);
            Assert.Contains("\nReadWritePaths=\"-/srv/dead$letters\"\n", unit);
            Assert.DoesNotContain("/var/lib/connectionsmonitor/exports", unit);
            o.WritableFolders = new[] { "exports" };
            var ex = Assert.Throws<ArgumentException>(() => SystemdUnit.Render(o));
            Assert.Contains("'exports' is not an absolute path", ex.Message);
        }

        [Theory]
        [InlineData("/home/ann/cmon", "/home")]
        [InlineData("/root/config.yml", "/root")]
        [InlineData("/run/user/1000/x", "/run/user")]
        [InlineData("/tmp/cm/config.yml", "/tmp")]
        [InlineData("/var/tmp/h.db", "/var/tmp")]
        public void PathsTheSandboxHidesAreNamedWithTheReason(string path, string under)
        {
            string why = SystemdUnit.HiddenFromService(path);
            Assert.StartsWith("it is under " + under + ",", why);
            Assert.Contains(under == "/tmp" || under == "/var/tmp" ? "PrivateTmp=yes" : "ProtectHome=yes", why);
        }

        [Theory]
        [InlineData("/opt/connectionsmonitor/cmon")]
        [InlineData("/etc/connectionsmonitor/config.yml")]
        [InlineData("/homework/x")]
        [InlineData("/tmpfiles/x")]
        [InlineData(null)]
        public void PathsTheServiceSeesAreNotFlagged(string path) => Assert.Null(SystemdUnit.HiddenFromService(path));

        [LinuxFact]
        public void TheGeneratedUnitPassesSystemdAnalyzeVerify()
        {
            Assert.True(File.Exists(Cmon), "cmon not built: " + Cmon);
            string dir = Path.Combine(Path.GetTempPath(), "cm-unit-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                foreach (bool capture in new[] { false, true })
                {
                    var o = Options(Cmon);
                    o.PacketCapture = capture;
                    o.WritableFolders = capture ? new[] { "/srv/cmon exports", "/var/lib/connectionsmonitor/exports" } : null;
                    string file = Path.Combine(dir, "connectionsmonitor.service");
                    File.WriteAllText(file, SystemdUnit.Render(o));
                    Assert.Equal("", Verify(file));
                }
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>
        /// The quoting reaches systemd's parser intact: cmon in a folder whose name has a space, '%', '$', ';' and '#' is
        /// found by systemd-analyze verify (which checks the ExecStart program exists), so systemd read the quoted word back
        /// as the path; the arguments after it carry quotes, '$' and '%' and the line still parses. A program path with a
        /// quote or backslash, which systemd refuses, is refused here first. The control shows that verify does complain:
        /// an unknown key and a program that does not exist.
        /// </summary>
        [LinuxFact]
        public void AHostPathWithSpacesPercentAndDollarReachesSystemdIntactAndVerifyCatchesMistakes()
        {
            Assert.True(File.Exists(Cmon), "cmon not built: " + Cmon);
            string dir = Path.Combine(Path.GetTempPath(), "cm unit 100% $HOME ;#x " + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string host = Path.Combine(dir, "cmon");
                File.CreateSymbolicLink(host, Cmon);
                string file = Path.Combine(dir, "connectionsmonitor.service");
                var o = Options(host);
                o.ConfigPath = "/etc/cm \"quoted\" $HOME 100%/config.yml";
                o.HistoryPath = "/srv/cm $x/h.db";
                string unit = SystemdUnit.Render(o);
                Assert.Contains("ExecStart=\"" + dir.Replace("%", "%%") + "/cmon\" \"--service\" \"--config\" \"/etc/cm \\\"quoted\\\" $$HOME 100%%/config.yml\"", unit);
                Assert.Contains("ReadWritePaths=\"/srv/cm $x\"\n", unit);
                File.WriteAllText(file, unit);
                Assert.Equal("", Verify(file));

                File.WriteAllText(file, unit.Replace("Restart=on-failure\n", "Restart=on-failure\nBogusKey=1\n"));
                Assert.Contains("Unknown key", Verify(file));
                File.WriteAllText(file, SystemdUnit.Render(Options(host + "-missing")));
                Assert.Contains("is not executable", Verify(file));
            }
            finally { Directory.Delete(dir, true); }
            foreach (var bad in new[] { "/opt/a\"b/cmon", "/opt/a'b/cmon", "/opt/a\\b/cmon" })
                Assert.Contains("which systemd refuses in a program's path", Assert.Throws<ArgumentException>(() => SystemdUnit.Render(Options(bad))).Message);
        }

        [Fact]
        public void WindowsQuotingFollowsCommandLineToArgvRules()
        {
            Assert.Equal("plain", WindowsServiceSetup.QuoteArgument("plain"));
            Assert.Equal("\"C:\\Program Files\\cm\\cmon.exe\"", WindowsServiceSetup.QuoteArgument("C:\\Program Files\\cm\\cmon.exe"));
            Assert.Equal("\"a\\\\\\\"b\"", WindowsServiceSetup.QuoteArgument("a\\\"b"));
            Assert.Equal("\"dir with trailing\\\\\"", WindowsServiceSetup.QuoteArgument("dir with trailing\\"));
            Assert.Equal("\"\"", WindowsServiceSetup.QuoteArgument(""));
        }

        /// <summary>.NET on Linux splits ProcessStartInfo.Arguments by the same rules CommandLineToArgvW follows: the words come back unchanged.</summary>
        [LinuxFact]
        public void WindowsQuotedWordsComeBackUnchangedThroughARealProcess()
        {
            var words = new[] { "C:\\Program Files\\cm\\cmon.exe", "--config", "C:\\dir with trailing\\", "a\\\"b", "", "x y\"z" };
            var psi = new ProcessStartInfo("/usr/bin/printf", "%s\\n " + string.Join(" ", words.Select(WindowsServiceSetup.QuoteArgument)))
            { RedirectStandardOutput = true };
            using var p = Process.Start(psi);
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.Equal(string.Join("\n", words) + "\n", output);
        }

        [Fact]
        public void WindowsServiceCommandLineAndScArguments()
        {
            var o = new WindowsServiceOptions { HostPath = "C:\\Program Files\\ConnectionsMonitor\\cmon.exe", ConfigPath = "C:\\ProgramData\\ConnectionsMonitor\\config.yml", HistoryPath = "D:\\cm\\history.db" };
            Assert.Equal("\"C:\\Program Files\\ConnectionsMonitor\\cmon.exe\" --service --config C:\\ProgramData\\ConnectionsMonitor\\config.yml --history D:\\cm\\history.db",
                WindowsServiceSetup.CommandLine(o));
            var create = WindowsServiceSetup.CreateArguments(o);
            Assert.Equal(new[] { "create", "ConnectionsMonitor", "binPath=" }, create.Take(3));
            Assert.Equal(WindowsServiceSetup.CommandLine(o), create[3]);
            Assert.Equal(new[] { "start=", "auto" }, create.Skip(4).Take(2));
            o.HostPath = "cmon.exe";
            Assert.Contains("not an absolute path", Assert.Throws<ArgumentException>(() => WindowsServiceSetup.CommandLine(o)).Message);
            o.HostPath = "C:\\cm\\cmon.exe";
            o.ConfigPath = "C:\\cm\nx.yml";
            Assert.Contains("control character", Assert.Throws<ArgumentException>(() => WindowsServiceSetup.CommandLine(o)).Message);
            o.ConfigPath = "C:\\cm\\config.yml";
            o.HistoryPath = null; // none given: no --history, so the service takes history.path, else its default file
            Assert.Equal("C:\\cm\\cmon.exe --service --config C:\\cm\\config.yml", WindowsServiceSetup.CommandLine(o));
            o.ConfigPath = null;
            o.Name = "bad name";
            Assert.Contains("expected 1 to 256", Assert.Throws<ArgumentException>(() => WindowsServiceSetup.CommandLine(o)).Message);
        }
    }
}
