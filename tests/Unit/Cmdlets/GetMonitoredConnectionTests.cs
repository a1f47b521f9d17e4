using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    public sealed class ModuleSessionFixture : IDisposable
    {
        public ModuleSession Session { get; } = new ModuleSession();
        public void Dispose() => Session.Dispose();
    }

    /// <summary>Get-MonitoredConnection inside a real PowerShell runspace, against this process's real sockets.</summary>
    public class GetMonitoredConnectionTests : IClassFixture<ModuleSessionFixture>, IDisposable
    {
        private readonly ModuleSession _ps;
        private readonly LoopbackSockets _s = new LoopbackSockets();

        public GetMonitoredConnectionTests(ModuleSessionFixture fixture)
        {
            _ps = fixture.Session;
        }

        public void Dispose() => _s.Dispose();

        private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

        [LinuxFact]
        public void ListenerRowHasStatePortsAndThisProcess()
        {
            var rows = _ps.Invoke("Get-MonitoredConnection -ProcessId $PID -LocalPort $args[0] -State Listen | Where-Object LocalAddress -eq '127.0.0.1'", _s.ListenPort);
            var row = Assert.Single(rows);
            Assert.Equal("ConnectionsMonitor.MonitoredConnection", row.TypeNames[0]);
            Assert.Equal("TCP", Prop<string>(row, "Protocol"));
            Assert.Equal("Listen", Prop<string>(row, "State"));
            Assert.Equal("127.0.0.1", Prop<string>(row, "LocalAddress"));
            Assert.Equal("0.0.0.0", Prop<string>(row, "RemoteAddress"));
            Assert.Equal(0, Prop<int?>(row, "RemotePort"));
            Assert.Equal(Environment.ProcessId, Prop<int?>(row, "ProcessId"));
            Assert.Equal(Environment.ProcessId, row.Properties["OwningProcess"].Value);
            Assert.Equal(Environment.ProcessId, row.Properties["PID"].Value);
            Assert.Equal(Process.GetCurrentProcess().ProcessName, Prop<string>(row, "ProcessName"));
            Assert.Null(row.Properties["Country"].Value);
            Assert.Null(row.Properties["BytesSent"].Value);
        }

        /// <summary>
        /// "$conn" has an arrow only when there is a remote end: an unconnected UDP socket printed a dangling one
        /// ("UDP 0.0.0.0:5002 ->  (python3.12 25761)"). A TCP listener's remote end is 0.0.0.0:0, as Get-NetTCPConnection shows it.
        /// </summary>
        [Fact]
        public void TheTextOfAConnectionHasAnArrowOnlyToARemoteEnd()
        {
            var lines = _ps.Invoke(
                "$u = @{ Protocol = 'UDP'; LocalAddress = '0.0.0.0'; LocalPort = 5002; ProcessId = 25761; ProcessName = 'python3.12' };" +
                "\"$([ConnectionsMonitor.MonitoredConnection] $u)\"; \"$([ConnectionsMonitor.ConnectionEvent] ($u + @{ ChangeType = 'Opened' }))\";" +
                "\"$([ConnectionsMonitor.MonitoredConnection] @{ Protocol = 'UDP'; LocalAddress = '::'; LocalPort = 53 })\";" +
                "\"$([ConnectionsMonitor.MonitoredConnection] @{ Protocol = 'UDP'; LocalAddress = '10.0.0.5'; LocalPort = 40000; RemoteAddress = '2001:db8::1'; RemotePort = 53 })\";" +
                "\"$([ConnectionsMonitor.MonitoredConnection] @{ Protocol = 'TCP'; LocalAddress = '0.0.0.0'; LocalPort = 22; RemoteAddress = '0.0.0.0'; RemotePort = 0; State = 'Listen'; ProcessId = 1; ProcessName = 'sshd' })\"")
                .Select(o => o.ToString()).ToList();
            Assert.Equal(new[]
            {
                "UDP 0.0.0.0:5002 (python3.12 25761)",
                "UDP 0.0.0.0:5002 (python3.12 25761)",
                "UDP [::]:53",
                "UDP 10.0.0.5:40000 -> [2001:db8::1]:53",
                "TCP 0.0.0.0:22 -> 0.0.0.0:0 Listen (sshd 1)",
            }, lines);
        }

        /// <summary>
        /// A piped row whose ProcessId is $null (TIME_WAIT, no known owner) names no process and is skipped quietly by every
        /// cmdlet that binds -ProcessId by property name (a newcomer's trial: Get-MonitoredConnection -State TimeWait |
        /// Get-MonitoredConnection gave one ParameterArgumentValidationError per row). A $null typed on the command line is
        /// still an error, and so is a negative id.
        /// </summary>
        [LinuxFact]
        public void PipedRowsWithoutAProcessAreSkippedQuietly()
        {
            const string NoOwner = "$none = 1..2 | ForEach-Object { [ConnectionsMonitor.MonitoredConnection]@{ Protocol = 'TCP'; LocalAddress = '127.0.0.1'; LocalPort = 1; RemoteAddress = '127.0.0.1'; RemotePort = 2; State = 'TimeWait'; ProcessId = $null } }\n";
            foreach (var cmdlet in new[] { "Get-MonitoredConnection", "Get-TopTalker", "Get-ConnectionStatistic" })
            {
                var run = _ps.InvokeCollecting(NoOwner + "$none | " + cmdlet);
                Assert.Empty(run.Errors);
                Assert.Empty(run.Output);
            }
            // Among rows that name processes, they add nothing and take nothing away.
            var mixed = _ps.InvokeCollecting(NoOwner + "@($none[0]; [pscustomobject]@{ ProcessId = $PID }; $none[1]) | Get-MonitoredConnection -LocalPort $args[0] -State Listen", _s.ListenPort);
            Assert.Empty(mixed.Errors);
            Assert.NotEmpty(mixed.Output);
            Assert.All(mixed.Output, r => Assert.Equal(Environment.ProcessId, Prop<int?>(r, "ProcessId")));
            var real = _ps.InvokeCollecting("Get-MonitoredConnection -State TimeWait | Get-MonitoredConnection");
            Assert.Empty(real.Errors);

            var typed = Assert.Single(_ps.InvokeExpectingErrors("Get-MonitoredConnection -ProcessId $null"));
            Assert.Equal("ProcessIdIsNull,ConnectionsMonitor.Commands.GetMonitoredConnectionCommand", typed.FullyQualifiedErrorId);
            var negative = Assert.Single(_ps.InvokeExpectingErrors("[pscustomobject]@{ ProcessId = -1 } | Get-MonitoredConnection"));
            Assert.Equal("ParameterArgumentValidationError,ConnectionsMonitor.Commands.GetMonitoredConnectionCommand", negative.FullyQualifiedErrorId);
            Assert.EndsWith("-1 is not a process id: expected a whole number of 0 or more, such as $PID or (Get-Process pwsh).Id.", negative.Exception.Message);
        }

        [LinuxFact]
        public void FiltersCombine()
        {
            int pid = Environment.ProcessId;
            // -Protocol
            Assert.Empty(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -Protocol UDP -LocalPort $args[0]", _s.ListenPort));
            var udp = Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -Protocol udp -LocalPort $args[0] | Where-Object LocalAddress -eq '127.0.0.1'", _s.UdpPort));
            Assert.Null(udp.Properties["State"].Value);
            Assert.Null(udp.Properties["RemoteAddress"].Value);
            // -State
            Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -State Established -LocalPort $args[0] | Where-Object LocalAddress -eq '127.0.0.1'", _s.ListenPort));
            Assert.Empty(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -State Listen -LocalPort $args[0]", _s.ClientPort));
            // -Port matches either end: the pair's two rows both involve the server port.
            var both = _ps.Invoke("Get-MonitoredConnection -Port $args[0] -State Established -ProcessId $args[1]", _s.ListenPort, pid);
            Assert.Equal(2, both.Count);
            // -RemotePort
            var client = Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -RemotePort $args[0] -State Established", _s.ListenPort));
            Assert.Equal(_s.ClientPort, Prop<int>(client, "LocalPort"));
            // -RemoteAddress: single, CIDR (v4 and v6), wildcard, and non-matching.
            Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -State Established -RemoteAddress 127.0.0.1 -LocalPort $args[0]", _s.ClientPort));
            Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -State Established -RemoteAddress 127.0.0.0/8 -LocalPort $args[0]", _s.ClientPort));
            Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -State Established -RemoteAddress '127.0.*' -LocalPort $args[0]", _s.ClientPort));
            Assert.Empty(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -RemoteAddress 10.0.0.0/8, fd00::/8 -LocalPort $args[0]", _s.ClientPort));
            // -ProcessName with wildcards
            string name = Process.GetCurrentProcess().ProcessName;
            Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessName ($args[1].Substring(0, 2) + '*') -LocalPort $args[0] -State Listen | Where-Object LocalAddress -eq '127.0.0.1'", _s.ListenPort, name));
            Assert.Empty(_ps.Invoke("Get-MonitoredConnection -ProcessName 'no-such-process*' -LocalPort $args[0]", _s.ListenPort));
            // -ProcessId
            Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessId $args[1] -LocalPort $args[0] -State Listen | Where-Object LocalAddress -eq '127.0.0.1'", _s.ListenPort, pid));
            Assert.Empty(_ps.Invoke("Get-MonitoredConnection -ProcessId 999999999 -LocalPort $args[0]", _s.ListenPort));
            // -ExcludeLoopback removes every loopback row of ours.
            Assert.Empty(_ps.Invoke("Get-MonitoredConnection -ExcludeLoopback -ProcessId $args[0] | Where-Object { $_.LocalAddress -like '127.*' -or $_.LocalAddress -eq '::1' }", pid));
        }

        // The listener is 127.0.0.1's: IPv6 ports are bound apart, and another test's ::1 listener may have the same number.
        [LinuxFact]
        public void ProcessIdBindsFromPipedProcessObjects()
        {
            var rows = _ps.Invoke("[System.Diagnostics.Process]::GetCurrentProcess() | Get-MonitoredConnection -LocalPort $args[0] -State Listen | Where-Object LocalAddress -eq '127.0.0.1'", _s.ListenPort);
            Assert.Single(rows);
            rows = _ps.Invoke("[pscustomobject]@{ Id = $args[1] }, [pscustomobject]@{ Id = 999999999 } | Get-MonitoredConnection -LocalPort $args[0] -State Listen | Where-Object LocalAddress -eq '127.0.0.1'", _s.ListenPort, Environment.ProcessId);
            Assert.Single(rows);
        }

        [LinuxFact]
        public void SurvivesRemotingSerialization()
        {
            var row = Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -LocalPort $args[0] -State Established | Where-Object LocalAddress -eq '127.0.0.1'", _s.ClientPort));
            string xml = PSSerializer.Serialize(row);
            var back = (PSObject)PSSerializer.Deserialize(xml);
            Assert.Equal("Deserialized.ConnectionsMonitor.MonitoredConnection", back.TypeNames[0]);
            foreach (var name in new[] { "Protocol", "LocalAddress", "LocalPort", "RemoteAddress", "RemotePort", "State", "ProcessId", "ProcessName", "ProcessPath" })
                Assert.Equal(row.Properties[name].Value, back.Properties[name].Value);
            Assert.IsType<int>(back.Properties["LocalPort"].Value);
            Assert.IsType<int>(back.Properties["ProcessId"].Value);
            // Every property is a primitive the serializer keeps as is (no nested property bags).
            foreach (var p in back.Properties)
                Assert.False(p.Value is PSObject, p.Name + " did not round-trip as a primitive");
            // The alias properties work on the deserialized object in a session that has the module.
            var viaSession = _ps.Invoke("$args[0].OwningProcess", back);
            Assert.Equal(Environment.ProcessId, Assert.Single(viaSession).BaseObject);
        }

        [LinuxFact]
        public void DefaultTableViewUsesTheSeedColumns()
        {
            string text = _ps.Render("Get-MonitoredConnection -LocalPort " + _s.ListenPort);
            var header = text.Split('\n').Select(l => l.Trim()).First(l => l.Length > 0);
            // The seed's columns, in the order PowerShell should drop them from the right on narrow consoles.
            Assert.Equal(new[] { "Proto", "Local", "Foreign", "State", "Process", "PID", "Geo", "Bytes", "Age", "Port" },
                header.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("127.0.0.1:" + _s.ListenPort, text);
            Assert.Contains("0.0.0.0:0", text);
            Assert.Contains(Environment.ProcessId.ToString(), text);
        }

        [Fact]
        public void ListViewIsDefined()
        {
            var doc = System.Xml.Linq.XDocument.Load(Path.Combine(Path.GetDirectoryName(Repo.ModuleManifest), "ConnectionsMonitor.Format.ps1xml"));
            var views = doc.Descendants("View").Where(v => v.Descendants("TypeName").Any(t => t.Value == "ConnectionsMonitor.MonitoredConnection")).ToList();
            Assert.Contains(views, v => v.Element("TableControl") != null);
            var list = Assert.Single(views, v => v.Element("ListControl") != null);
            // Every item, in order (a property by name, or Age by its label): an item dropped or renamed shows here.
            Assert.Equal(new[]
            {
                "Protocol", "LocalAddress", "LocalPort", "RemoteAddress", "RemotePort", "State", "ProcessId", "ProcessName", "ProcessPath",
                "UserName", "CreationTime", "Age", "RemoteHostName", "Country", "CountryName", "Asn", "AsnOrganization", "AddressScope",
                "IsVpn", "VpnReason", "Flags", "BytesSent", "BytesReceived", "SendRate", "ReceiveRate",
            }, list.Descendants("ListItem").Select(i => (string)i.Element("PropertyName") ?? (string)i.Element("Label")));
        }

        [Theory]
        [InlineData("Get-MonitoredConnection -RemoteAddress 10.0.0.0/33", "RemoteAddress", "prefix length")]
        [InlineData("Get-MonitoredConnection -RemoteAddress not-an-ip", "RemoteAddress", "not an IP address")]
        [InlineData("Get-MonitoredConnection -Port 70000", "Port", "65535")]
        [InlineData("Get-MonitoredConnection -LocalPort -1", "LocalPort", "minimum")]
        [InlineData("Get-MonitoredConnection -State Bogus", "State", "Bogus")]
        [InlineData("Get-MonitoredConnection -Protocol ICMP", "Protocol", "ICMP")]
        public void BadParametersGiveParameterErrors(string script, string parameter, string messagePart)
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors(script));
            Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
            Assert.Contains(parameter, error.Exception.Message);
            Assert.Contains(messagePart, error.Exception.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Contains(error.CategoryInfo.Category, new[] { ErrorCategory.InvalidData, ErrorCategory.InvalidArgument });
        }

        [Theory]
        [InlineData("'ESTAB'", "Established")]
        [InlineData("'time-wait'", "TimeWait")]
        [InlineData("'LISTENING','SYN_RECV','fin-wait-2'", "Listen SynReceived FinWait2")]
        [InlineData("5, 11", "Established TimeWait")]
        [InlineData("'closewait'", "CloseWait")]
        public void StateTakesOtherToolsNamesAndMibNumbers(string given, string expected)
        {
            // The attribute as the cmdlets bind it, on a script parameter of the same type: what reaches the query.
            var states = _ps.Invoke("& { param([ConnectionsMonitor.Commands.TcpStateNameTransformation()][ConnectionsMonitor.Engine.Model.TcpState[]] $State) $State | ForEach-Object { $_.ToString() } } " + given);
            Assert.Equal(expected, string.Join(" ", states.Select(s => (string)s.BaseObject)));
        }

        [Theory]
        [InlineData("Get-MonitoredConnection -State Establised", "'Establised' is not a TCP state; did you mean Established?")]
        [InlineData("Get-MonitoredConnection -State Listen, Wibble", "'Wibble' is not a TCP state. Expected one of Listen,")]
        [InlineData("Get-MonitoredConnection -State 99", "99 is not a TCP state number: MIB_TCP_STATE numbers run from 1 (Closed) to 12 (DeleteTcb).")]
        public void AnUnknownStateSaysWhatIsExpectedInTheFieldsWords(string script, string messageStart)
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors(script));
            Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
            Assert.Contains(messageStart, error.Exception.Message);
            Assert.Contains("ESTAB, TIME_WAIT and SYN-RECV work too", error.Exception.Message);
            Assert.DoesNotContain("ConnectionsMonitor.Engine", error.Exception.Message);
        }

        [Fact]
        public void StateAndProcessNameComplete()
        {
            var state = _ps.Invoke("$l = 'Get-MonitoredConnection -State Est'; (TabExpansion2 -inputScript $l -cursorColumn $l.Length).CompletionMatches.CompletionText");
            Assert.Contains("Established", state.Select(o => o.ToString()));
            string name = Process.GetCurrentProcess().ProcessName;
            string line = "Get-MonitoredConnection -ProcessName " + name.Substring(0, 2);
            var names = _ps.Invoke("(TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length).CompletionMatches.CompletionText", line);
            if (OperatingSystem.IsLinux()) Assert.Contains(name, names.Select(o => o.ToString()));
        }
    
        private static string WriteConfig(string text)
        {
            string path = Path.Combine(Path.GetTempPath(), "cm-test-" + Guid.NewGuid().ToString("N") + ".yml");
            File.WriteAllText(path, text);
            return path;
        }

        [Fact]
        public void InvalidConfigStopsWithFileLineAndKey()
        {
            string path = WriteConfig("resolveDNS: false\nrefreshInterval: fast\nhighlightedPorts:\n  '70000': '#FF0000'\n");
            try
            {
                var error = Assert.Single(_ps.InvokeExpectingErrors("Get-MonitoredConnection -ConfigPath $args[0]", path));
                Assert.Equal("InvalidConfiguration,ConnectionsMonitor.Commands.GetMonitoredConnectionCommand", error.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
                string message = error.Exception.Message;
                Assert.Contains(Path.GetFileName(path), message);
                Assert.Contains("line 2", message);
                Assert.Contains("refreshInterval", message);
                Assert.Contains("line 4", message);
                Assert.Contains("highlightedPorts", message);
            }
            finally { File.Delete(path); }
        }

        [Fact]
        public void MissingConfigPathIsAnError()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Get-MonitoredConnection -ConfigPath ./no-such-config.yml"));
            Assert.Contains("no-such-config.yml", error.Exception.Message);
            Assert.Contains("does not exist", error.Exception.Message);
            Assert.Equal("ConfigNotFound,ConnectionsMonitor.Commands.GetMonitoredConnectionCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        }

        [LinuxFact]
        public void UnknownConfigKeyWarnsAndTheRestApplies()
        {
            string path = WriteConfig("refreshIntervall: 1000\nconnectionFiltering:\n  enabled: true\n  protocols: ['UDP']\n");
            try
            {
                var (rows, warnings) = _ps.InvokeWithWarnings("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1], $args[2]", path, _s.ListenPort, _s.UdpPort);
                var w = Assert.Single(warnings, x => x.Contains("refreshIntervall"));
                Assert.Contains("line 1", w);
                Assert.Contains("refreshInterval'", w); // the suggestion
                var row = Assert.Single(rows);
                Assert.Equal("UDP", row.Properties["Protocol"].Value);
            }
            finally { File.Delete(path); }
        }

        [LinuxFact]
        public void SeedFilteringSectionsApplyWhenEnabled()
        {
            string name = Process.GetCurrentProcess().ProcessName;
            string processes = WriteConfig("connectionFiltering:\n  enabled: true\n  processes: ['" + name + ".exe']\n  ports: [" + _s.ListenPort + "]\n");
            string disabled = WriteConfig("connectionFiltering:\n  enabled: false\n  processes: ['nothing-runs-by-this-name']\n");
            string blocked = WriteConfig("ipFiltering:\n  enabled: true\n  blocklist: ['127.0.0.0/8']\n");
            string allowed = WriteConfig("ipFiltering:\n  enabled: true\n  allowlist: ['10.9.8.7']\n");
            try
            {
                // processes given Windows-style (name.exe) still match; the port matches either end:
                // the listener, the accepted server socket and the client connected to it.
                var rows = _ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -ProcessId $args[1]", processes, Environment.ProcessId);
                Assert.Equal(3, rows.Count);
                Assert.All(rows, r => Assert.True(_s.ListenPort.Equals(r.Properties["LocalPort"].Value) || _s.ListenPort.Equals(r.Properties["RemotePort"].Value)));
                // A disabled section changes nothing.
                Assert.Single(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1] -State Listen | Where-Object LocalAddress -eq '127.0.0.1'", disabled, _s.ListenPort));
                // The blocklist hides the loopback pair; the listener has no peer and stays.
                Assert.Empty(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1]", blocked, _s.ClientPort));
                Assert.Single(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1] | Where-Object LocalAddress -eq '127.0.0.1'", blocked, _s.ListenPort));
                // The allowlist keeps only peers it names.
                Assert.Empty(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1]", allowed, _s.ClientPort));
                Assert.Single(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1] | Where-Object LocalAddress -eq '127.0.0.1'", allowed, _s.ListenPort));
            }
            finally
            {
                File.Delete(processes); File.Delete(disabled); File.Delete(blocked); File.Delete(allowed);
            }
        }
    }
}
