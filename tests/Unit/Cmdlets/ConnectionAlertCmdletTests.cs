using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>
    /// Register-, Get-, Unregister- and Test-ConnectionAlert in a real runspace with the built module: each
    /// test its own runspace (rules live as long as the session), so no test sees another's rules.
    /// </summary>
    // Registering a rule starts the session's alert thread and sampler: kept apart from the tests that count those threads.
    [Collection(ConnectionsMonitor.Tests.Session.SamplerThreads.Name)]
    public sealed class ConnectionAlertCmdletTests : IDisposable
    {
        /// <summary>A webhook URL whose token must never be shown.</summary>
        private const string Token = "T0pS3cretT0ken4242";
        private const string SecretUrl = "https://discord.com/api/webhooks/123456/" + Token;

        private readonly ModuleSession _ps = new ModuleSession();

        public void Dispose() => _ps.Dispose();

        private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

        private List<string> Names() => _ps.Invoke("Get-ConnectionAlert").Select(o => Prop<string>(o, "Name")).ToList();

        [Fact]
        public void RegisterGetUnregisterRoundTrip()
        {
            var passThru = Assert.Single(_ps.Invoke(
                "Register-ConnectionAlert -Name rdp -RemotePort 3389, 23 -Webhook $args[0] -ProcessName ng* -Protocol TCP -RemoteAddress 10.0.0.0/8 -Country de -PassThru", SecretUrl));
            Assert.Equal("ConnectionsMonitor.ConnectionAlertInfo", passThru.TypeNames[0]);

            var rule = Assert.Single(_ps.Invoke("Get-ConnectionAlert -Name rdp"));
            Assert.Equal("rdp", Prop<string>(rule, "Name"));
            Assert.Equal("RemotePort", Prop<string>(rule, "Kind"));
            Assert.Equal("RemotePort 3389,23", Prop<string>(rule, "Conditions"));
            // The shared filter parameters mapped as Get-MonitoredConnection maps them; -RemotePort is the condition, not a filter.
            Assert.Equal("-Protocol TCP -RemoteAddress 10.0.0.0/8 -ProcessName ng* -Country DE", Prop<string>(rule, "Filter"));
            Assert.Equal("Discord https://discord.com/…", Prop<string>(rule, "Targets"));
            Assert.Equal("cmdlet", Prop<string>(rule, "Origin"));
            Assert.Null(rule.Properties["LastFired"].Value);
            Assert.Equal(0L, Prop<long>(rule, "Fired"));

            _ps.Invoke("Register-ConnectionAlert busy -MaxConnections 500 -MaxBandwidth 10MB -PerProcess");
            var busy = Assert.Single(_ps.Invoke("Get-ConnectionAlert busy"));
            Assert.Equal("MaxConnections, MaxBandwidth", Prop<string>(busy, "Kind"));
            Assert.Equal("MaxConnections 500 per process; MaxBandwidth 10485760 B/s per process", Prop<string>(busy, "Conditions"));

            Assert.Equal(new[] { "busy", "rdp" }, Names());
            _ps.Invoke("Unregister-ConnectionAlert rdp");
            Assert.Equal(new[] { "busy" }, Names());
        }

        [Fact]
        public void WhatIfChangesNothingAndShowsTheWebhookRedacted()
        {
            _ps.Invoke("Register-ConnectionAlert keep -VpnChange");
            string shown = _ps.Render("Register-ConnectionAlert -Name rdp -RemotePort 3389 -Webhook '" + SecretUrl + "' -WhatIf; Unregister-ConnectionAlert keep -WhatIf");
            Assert.Contains("What if: Performing the operation \"Register alert rule\" on target \"alert rule 'rdp' (RemotePort 3389; to Discord https://discord.com/…)\"", shown);
            Assert.Contains("alert rule 'keep' (VpnChange)", shown);
            Assert.DoesNotContain(Token, shown);
            Assert.Equal(new[] { "keep" }, Names());
        }

        [Fact]
        public void WildcardsSelectAndThePipelineUnregisters()
        {
            _ps.Invoke("Register-ConnectionAlert web-a -NewPublicAddress; Register-ConnectionAlert web-b -NewRemoteAsn -ExcludeAsn 15169; Register-ConnectionAlert other -PortScan");
            Assert.Equal(new[] { "web-a", "web-b" }, _ps.Invoke("Get-ConnectionAlert web-*").Select(o => Prop<string>(o, "Name")));
            Assert.Empty(_ps.Invoke("Get-ConnectionAlert nomatch*"));
            Assert.Equal("NewRemoteAsn except 15169", Prop<string>(_ps.Invoke("Get-ConnectionAlert web-b")[0], "Conditions"));
            Assert.Equal("PortScan 6 ports/10s", Prop<string>(_ps.Invoke("Get-ConnectionAlert other")[0], "Conditions"));
            // No filter, no webhook: $null, as an unset SourceIdentifier is (not "" in one column and null in the next).
            var plain = _ps.Invoke("Get-ConnectionAlert other")[0];
            Assert.Null(plain.Properties["Filter"].Value);
            Assert.Null(plain.Properties["Targets"].Value);
            Assert.Null(plain.Properties["SourceIdentifier"].Value);

            _ps.Invoke("Get-ConnectionAlert WEB-* | Unregister-ConnectionAlert");
            Assert.Equal(new[] { "other" }, Names());
            // Plain names come down the pipeline too, as with Get-Service | Stop-Service's 'name' | Stop-Service.
            _ps.Invoke("Register-ConnectionAlert piped-1 -PortScan; Register-ConnectionAlert piped-2 -PortScan");
            Assert.Equal(new[] { "piped-1" }, _ps.Invoke("'piped-1' | Get-ConnectionAlert").Select(o => Prop<string>(o, "Name")));
            _ps.Invoke("'piped-1', 'PIPED-*' | Unregister-ConnectionAlert");
            Assert.Equal(new[] { "other" }, Names());

            var errors = _ps.InvokeExpectingErrors("Unregister-ConnectionAlert nosuch");
            Assert.Equal("No alert rule named 'nosuch' is registered in this session. Get-ConnectionAlert lists the registered rules.", Assert.Single(errors).Exception.Message);
            Assert.Equal(new[] { "other" }, Names());
        }

        [Fact]
        public void ADuplicateNameSaysToUnregisterOrChooseAnother()
        {
            _ps.Invoke("Register-ConnectionAlert rdp -RemotePort 3389");
            var error = Assert.Single(_ps.InvokeExpectingErrors("Register-ConnectionAlert RDP -InboundPort 445"));
            Assert.Equal("AlertRuleExists,ConnectionsMonitor.Commands.RegisterConnectionAlertCommand", error.FullyQualifiedErrorId);
            Assert.Equal("An alert rule named 'RDP' is already registered in this session. Choose another -Name, or remove the existing rule first: Unregister-ConnectionAlert -Name RDP.", error.Exception.Message);
            Assert.Equal("RemotePort 3389", Prop<string>(_ps.Invoke("Get-ConnectionAlert rdp")[0], "Conditions"));
        }

        [Theory]
        [InlineData("-RemotePort 0", "0 is not a port an alert can watch: expected a number from 1 to 65535, such as 3389 or 445.")]
        [InlineData("-InboundPort 70000", "70000 is not a port an alert can watch: expected a number from 1 to 65535, such as 3389 or 445.")]
        [InlineData("", "The rule 'x' has no condition: give at least one of -RemotePort")]
        [InlineData("-PerProcess -VpnChange", "-PerProcess applies to -MaxConnections and -MaxBandwidth")]
        [InlineData("-VpnChange -SourceIdentifier PowerShell.Exiting", "starts with 'PowerShell.', which PowerShell keeps for its own events")]
        [InlineData("-VpnChange -ExcludeCountry USA", "'USA' is not a country code: expected two letters")]
        [InlineData("-Country us -ExcludeCountry US, DE", "-Country US keeps only connections to that country, and -ExcludeCountry leaves it out of -NewRemoteCountry: that condition could never fire.")]
        public void BadInputSaysWhatIsWrongAndWhatIsExpected(string parameters, string expected)
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Register-ConnectionAlert -Name x " + parameters));
            Assert.Contains(expected, error.Exception.Message);
            Assert.Empty(Names());
        }

        /// <summary>A webhook with a user name and password in its URL is refused (they were never sent), without showing either.</summary>
        [Fact]
        public void AWebhookWithCredentialsInItsUrlIsRejectedWithoutShowingIt()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Register-ConnectionAlert -Name x -VpnChange -Webhook $args[0]", "http://hookuser:" + Token + "@127.0.0.1:41871/x"));
            Assert.Contains("A webhook URL must not carry a user name or password", error.Exception.Message);
            Assert.Contains("put the secret in the URL's path or query instead", error.Exception.Message);
            foreach (var secret in new[] { Token, "hookuser" })
            {
                Assert.DoesNotContain(secret, error.ToString());
                Assert.DoesNotContain(secret, error.Exception.ToString());
                Assert.DoesNotContain(secret, error.TargetObject?.ToString() ?? "");
            }
            Assert.Empty(Names());
        }

        [Theory]
        [InlineData("ftp://files.example/" + Token)]
        [InlineData("discord.com/api/webhooks/1/" + Token)]
        [InlineData("file:///tmp/" + Token)]
        public void AWebhookThatIsNotHttpIsRejectedWithoutShowingIt(string url)
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Register-ConnectionAlert -Name x -VpnChange -Webhook $args[0]", url));
            Assert.Contains("A webhook must be an absolute http:// or https:// URL", error.Exception.Message);
            Assert.DoesNotContain(Token, error.ToString());
            Assert.DoesNotContain(Token, error.Exception.ToString());
            Assert.DoesNotContain(Token, error.TargetObject?.ToString() ?? "");
            Assert.Empty(Names());
        }

        [Fact]
        public void NoTokenInAnyStreamOrExport()
        {
            var (output, errors, _) = _ps.InvokeCollecting(
                "$url = $args[0]; $VerbosePreference = 'Continue'; $DebugPreference = 'Continue'; & { " +
                "Register-ConnectionAlert -Name leak -RemotePort 3389 -Webhook $url -SourceIdentifier CM.Leak -Verbose -PassThru; " +
                "Get-ConnectionAlert -Verbose | Format-List * | Out-String; " +
                "Get-ConnectionAlert | ConvertTo-Json; Get-ConnectionAlert | ConvertTo-Csv; " +
                "Test-ConnectionAlert leak -Verbose; (Wait-Event -SourceIdentifier CM.Leak -Timeout 10) | ConvertTo-Json -Depth 5; " +
                "Unregister-ConnectionAlert leak -WhatIf -Verbose; Unregister-ConnectionAlert leak -Verbose } *>&1 | Out-String -Width 500", SecretUrl);
            string all = string.Join("\n", output.Select(o => o?.ToString())) + string.Join("\n", errors.Select(e => e.ToString()));
            Assert.Contains("Discord https://discord.com/…", all); // the test saw the webhook's output at all
            Assert.Contains("Test message", all);                  // and the test event
            Assert.DoesNotContain(Token, all);
        }

        [Fact]
        public void TestConnectionAlertRaisesTheTestEventToTheSourceIdentifier()
        {
            _ps.Invoke("Register-ConnectionAlert -Name firstuse -NewProcessTalkingOut -SourceIdentifier CM.FirstUse");
            var e = Assert.Single(_ps.Invoke("Test-ConnectionAlert firstuse | Out-Null; Wait-Event -SourceIdentifier CM.FirstUse -Timeout 10"));
            var alert = PSObject.AsPSObject(((object[])e.Properties["SourceArgs"].Value)[0]);
            Assert.Equal("ConnectionsMonitor.ConnectionAlertEvent", alert.TypeNames[0]);
            Assert.Equal("firstuse", Prop<string>(alert, "RuleName"));
            Assert.Equal("Test", Prop<string>(alert, "Status"));
            Assert.Equal("NewProcessTalkingOut", Prop<string>(alert, "Kind"));
            Assert.Contains("Test", Prop<string>(alert, "Message"));
            Assert.Equal(DateTimeKind.Local, Prop<DateTime>(alert, "TimeStamp").Kind);
            Assert.Same(((object[])e.Properties["SourceArgs"].Value)[0], PSObject.AsPSObject(e.Properties["MessageData"].Value).BaseObject);
            _ps.Invoke("Get-Event -SourceIdentifier CM.FirstUse -ErrorAction Ignore | Remove-Event");
        }

        [Fact]
        public void TheActionRunsOnThePipelineThreadAndItsErrorsShowInGetConnectionAlert()
        {
            // The action signals through an event of its own (New-Event), so the test waits for it instead of sleeping.
            _ps.Invoke("Register-ConnectionAlert -Name scan -PortScan -Action { param($alert) " +
                       "New-Event -SourceIdentifier CM.Ran -MessageData ([pscustomobject]@{ Thread = [Threading.Thread]::CurrentThread.ManagedThreadId; Rule = $alert.RuleName; Status = $Event.SourceArgs[0].Status }) | Out-Null; " +
                       "Write-Error 'first failure'; throw 'second failure' }");
            var result = Assert.Single(_ps.Invoke(
                "Test-ConnectionAlert scan | Out-Null; $ran = Wait-Event -SourceIdentifier CM.Ran -Timeout 10; Remove-Event -SourceIdentifier CM.Ran; " +
                "[pscustomobject]@{ Pipeline = [Threading.Thread]::CurrentThread.ManagedThreadId; Ran = $ran.MessageData }"));
            var ran = PSObject.AsPSObject(result.Properties["Ran"].Value);
            Assert.NotNull(ran.BaseObject);
            Assert.Equal(Prop<int>(result, "Pipeline"), Prop<int>(ran, "Thread"));
            Assert.Equal("scan", Prop<string>(ran, "Rule"));
            Assert.Equal("Test", Prop<string>(ran, "Status"));

            var rule = Assert.Single(_ps.Invoke("Get-ConnectionAlert scan"));
            Assert.Equal(2L, Prop<long>(rule, "ActionErrors"));
            Assert.StartsWith("second failure (line 1)", Prop<string>(rule, "LastActionError"));

            // A failed action is not dead: the next alert runs it again.
            _ps.Invoke("Test-ConnectionAlert scan | Out-Null; $null = Wait-Event -SourceIdentifier CM.Ran -Timeout 10; Remove-Event -SourceIdentifier CM.Ran");
            Assert.Equal(4L, Prop<long>(_ps.Invoke("Get-ConnectionAlert scan")[0], "ActionErrors"));
        }

        private int ActionSubscriptions() =>
            _ps.Invoke("@(Get-EventSubscriber -Force | Where-Object SourceIdentifier -like 'ConnectionsMonitor.Alert.*').Count").Select(o => (int)o.BaseObject).Single();

        [Fact]
        public void UnregisterAndRemoveModuleRemoveTheActionSubscriptions()
        {
            _ps.Invoke("Register-ConnectionAlert a -VpnChange -Action { 'a' }; Register-ConnectionAlert b -VpnChange -Action { 'b' }; Register-ConnectionAlert c -VpnChange");
            Assert.Equal(2, ActionSubscriptions());
            Assert.Empty(_ps.Invoke("Get-EventSubscriber")); // hidden: support events
            _ps.Invoke("Unregister-ConnectionAlert a");
            Assert.Equal(1, ActionSubscriptions());
            _ps.Invoke("Remove-Module ConnectionsMonitor");
            Assert.Equal(0, ActionSubscriptions());
        }

        [Fact]
        public void AFlaggedRowShowsTheMarkerBeforeItsProcess()
        {
            string shown = _ps.Render(
                "[ConnectionsMonitor.MonitoredConnection]@{ Protocol = 'TCP'; LocalAddress = '10.0.0.5'; LocalPort = 50000; RemoteAddress = '203.0.113.9'; RemotePort = 3389; State = 'Established'; ProcessName = 'mstsc'; ProcessId = 42; Flags = 'rdp' }, " +
                "[ConnectionsMonitor.MonitoredConnection]@{ Protocol = 'TCP'; LocalAddress = '10.0.0.5'; LocalPort = 50001; RemoteAddress = '203.0.113.9'; RemotePort = 443; State = 'Established'; ProcessName = 'curl'; ProcessId = 43 }");
            var lines = shown.Split('\n');
            Assert.Contains(lines, l => l.Contains("203.0.113.9:3389") && l.Contains("[!] mstsc"));
            Assert.Contains(lines, l => l.Contains("203.0.113.9:443") && l.Contains(" curl") && !l.Contains("[!]"));
            Assert.Equal("[!] [VPN] openvpn", _ps.Invoke("[ConnectionsMonitor.DisplayFormat]::Process('openvpn', $true, 'rdp,scan', 17)")[0].ToString().TrimEnd());
        }

        [Fact]
        public void AFlaggedWatchEventShowsTheMarkerToo()
        {
            string shown = _ps.Render(
                "[ConnectionsMonitor.ConnectionEvent]@{ ChangeType = 'Opened'; TimeStamp = [datetime]'2026-11-30 12:00:00'; Protocol = 'TCP'; LocalAddress = '10.0.0.5'; LocalPort = 50000; RemoteAddress = '203.0.113.9'; RemotePort = 3389; State = 'Established'; ProcessName = 'mstsc'; ProcessId = 42; Flags = 'rdp' }, " +
                "[ConnectionsMonitor.ConnectionEvent]@{ ChangeType = 'Opened'; TimeStamp = [datetime]'2026-11-30 12:00:01'; Protocol = 'TCP'; LocalAddress = '10.0.0.5'; LocalPort = 50001; RemoteAddress = '203.0.113.9'; RemotePort = 443; State = 'Established'; ProcessName = 'curl'; ProcessId = 43 }");
            var lines = shown.Split('\n');
            Assert.Contains(lines, l => l.Contains("203.0.113.9:3389") && l.Contains("[!] mstsc"));
            Assert.Contains(lines, l => l.Contains("203.0.113.9:443") && l.Contains(" curl") && !l.Contains("[!]"));
        }
    }
}
