using System;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>
    /// The blocking cmdlets' contract in a real runspace with the built module: parameters, pipeline binding, ShouldProcess,
    /// and ConnectionBlock surviving remoting's serializer. Nothing here touches a firewall (the commands that would are run
    /// inside network namespaces by tests/Pester/Blocking.Tests.ps1 and tests/Unit/Blocking/NftablesLiveTests.cs).
    /// </summary>
    public sealed class BlockingCmdletTests : IClassFixture<ModuleSessionFixture>
    {
        private readonly ModuleSession _ps;

        public BlockingCmdletTests(ModuleSessionFixture fixture) => _ps = fixture.Session;

        /// <summary>A hostile reason is shown cleaned in the list view as in the table view (found by a newcomer: Format-List printed it raw).</summary>
        [Fact]
        public void TheListViewShowsAHostileReasonCleaned()
        {
            string shown = _ps.Render("[ConnectionsMonitor.ConnectionBlock]@{ RemoteAddress = '192.0.2.5'; Direction = 'Both'; Reason = \"a`e[31mRED`e[0m $([char]0x202e)bidi`nx\"; Firewall = 'nftables' } | Format-List");
            Assert.Contains("Reason           : a\u241b[31mRED\u241b[0m <U+202E>bidi\u240ax", shown);
            Assert.DoesNotContain('\u001b', shown.ToCharArray());
            Assert.DoesNotContain('\u202e', shown.ToCharArray());
        }

        /// <summary>
        /// Piped rows without a peer are skipped alike, each with a verbose line that says what it had: a UDP socket's $null and
        /// a TCP listener's unspecified address (a newcomer's trial: Get-MonitoredConnection -Port 47001 | Block-ConnectionRemote
        /// skipped the UDP row guessing "a listening socket?" but gave each real listener, 0.0.0.0 or ::, an InvalidRemoteAddress
        /// error). Typed on the command line, the unspecified address and an empty one stay errors. No firewall is read.
        /// </summary>
        [LinuxFact]
        public void PipedRowsWithoutAPeerAreSkippedAlikeAndTypedOnesAreErrors()
        {
            using var sockets = new LoopbackSockets();
            foreach (var cmdlet in new[] { "Block-ConnectionRemote", "Unblock-ConnectionRemote" })
            {
                var run = _ps.InvokeCollecting("Get-MonitoredConnection -ProcessId $PID -LocalPort $args[0], $args[1] | Where-Object { $_.LocalAddress -eq '127.0.0.1' -and $_.State -in 'Listen', $null } | Sort-Object Protocol | " + cmdlet + " -WhatIf -Verbose 4>&1 | ForEach-Object { \"$_\" }",
                    sockets.ListenPort, sockets.UdpPort);
                Assert.Empty(run.Errors);
                Assert.Equal(new[]
                {
                    "A piped object whose RemoteAddress is 0.0.0.0, the unspecified address (a listening or bound socket with no peer), is skipped.",
                    "A piped object without a remote address (RemoteAddress is $null: a socket with no peer, such as an unconnected UDP socket) is skipped.",
                }, run.Output.Select(o => o.ToString()).ToArray());
            }
            var rows = _ps.InvokeCollecting("'::', '::ffff:0.0.0.0', '' | ForEach-Object { [pscustomobject]@{ RemoteAddress = $_ } } | Block-ConnectionRemote -WhatIf -Verbose 4>&1 | ForEach-Object { \"$_\" }");
            Assert.Empty(rows.Errors);
            Assert.Equal(new[]
            {
                "A piped object whose RemoteAddress is ::, the unspecified address (a listening or bound socket with no peer), is skipped.",
                "A piped object whose RemoteAddress is ::ffff:0.0.0.0, the unspecified address (a listening or bound socket with no peer), is skipped.",
                "A piped object without a remote address (RemoteAddress is empty: a socket with no peer, such as an unconnected UDP socket) is skipped.",
            }, rows.Output.Select(o => o.ToString()).ToArray());

            foreach (var typed in new[] { "::", "0.0.0.0" })
            {
                var error = Assert.Single(_ps.InvokeExpectingErrors("Block-ConnectionRemote -RemoteAddress $args[0] -WhatIf", typed));
                Assert.Equal("InvalidRemoteAddress,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand", error.FullyQualifiedErrorId);
                Assert.StartsWith("-RemoteAddress: '" + typed + "' is the unspecified address, which no remote end has.", error.Exception.Message);
            }
        }

        [Fact]
        public void ParametersBindFromConnectionsAndBlocksAndStateChangesAskFirst()
        {
            var lines = _ps.Invoke(
                "foreach ($n in 'Block-ConnectionRemote', 'Unblock-ConnectionRemote', 'Get-ConnectionBlock') {" +
                "  $c = Get-Command $n; $p = $c.Parameters['RemoteAddress'];" +
                "  $a = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] } | Select-Object -First 1;" +
                "  '{0} SP={1} CI={2} Out={3} Type={4} ByValue={5} ByName={6} Alias={7}' -f $n, $c.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].SupportsShouldProcess," +
                "    $c.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact, ($c.OutputType.Name -join ','), $p.ParameterType.Name, $a.ValueFromPipeline, $a.ValueFromPipelineByPropertyName, ($p.Aliases -join ',') }")
                .Select(o => o.ToString()).ToArray();
            Assert.Equal(new[]
            {
                "Block-ConnectionRemote SP=True CI=Medium Out=ConnectionsMonitor.ConnectionBlock Type=String[] ByValue=True ByName=True Alias=IPAddress",
                "Unblock-ConnectionRemote SP=True CI=Medium Out=System.Void Type=String[] ByValue=True ByName=True Alias=IPAddress",
                "Get-ConnectionBlock SP=False CI=None Out=ConnectionsMonitor.ConnectionBlock Type=String[] ByValue=True ByName=True Alias=IPAddress",
            }, lines);
            var set = _ps.Invoke("(Get-Command Block-ConnectionRemote).Parameters['Direction'].Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | ForEach-Object { $_.ValidValues -join ',' }");
            Assert.Equal("Inbound,Outbound,Both", Assert.Single(set).ToString());
            var sets = _ps.Invoke("(Get-Command Unblock-ConnectionRemote).ParameterSets | ForEach-Object { $_.Name + ':' + (($_.Parameters | Where-Object IsMandatory).Name -join ',') }");
            Assert.Equal(new[] { "Address:RemoteAddress", "All:All" }, sets.Select(o => o.ToString()).OrderBy(s => s, StringComparer.Ordinal).ToArray());
        }

        /// <summary>
        /// -Duration takes seconds as every other time span of the module does (a newcomer's trial: 3600 bound as 3600 ticks, so a
        /// block meant for an hour lasted one second, and 2m was refused). What -WhatIf would do shows in the rounding message.
        /// </summary>
        [Theory]
        [InlineData("3600", null)]
        [InlineData("2m", null)]
        [InlineData("1.5h", null)]
        [InlineData("'01:00:00'", null)]
        [InlineData("2.5", "-Duration 00:00:02.5000000 is rounded up to whole seconds: 00:00:03.")]
        [InlineData("0.0001", "-Duration 00:00:00.0001000 is rounded up to whole seconds: 00:00:01.")]
        public void DurationIsSecondsOrANumberWithAUnit(string duration, string rounded)
        {
            var run = _ps.InvokeCollecting("Block-ConnectionRemote 192.0.2.77 -Duration " + duration + " -WhatIf -Verbose 4>&1 | ForEach-Object { \"$_\" }");
            Assert.Empty(run.Errors);
            var verbose = run.Output.Select(o => o.ToString()).Where(t => t.StartsWith("-Duration", StringComparison.Ordinal)).ToArray();
            Assert.Equal(rounded == null ? Array.Empty<string>() : new[] { rounded }, verbose);
            var refused = _ps.InvokeExpectingErrors("Block-ConnectionRemote 192.0.2.77 -Duration 0 -WhatIf");
            Assert.Contains("-Duration must be longer than zero", Assert.Single(refused).Exception.Message);
        }

        /// <summary>
        /// The time left is whole seconds, one value (a newcomer's trial: RemainingTime was a TimeSpan, and
        /// Block-ConnectionRemote -PassThru | ConvertTo-Json gave it as a nested object of 15 keys), $null for a block without
        /// an end; the table view shows it compact.
        /// </summary>
        [Fact]
        public void TheTimeLeftIsWholeSecondsInJsonAndCompactInTheTable()
        {
            var json = _ps.Invoke("[ConnectionsMonitor.ConnectionBlock]@{ RemoteAddress = '192.0.2.5'; Direction = 'Both'; Expires = [datetime]'2026-12-01T11:30:00'; RemainingSeconds = 7199 }, " +
                "[ConnectionsMonitor.ConnectionBlock]@{ RemoteAddress = '192.0.2.6'; Direction = 'Inbound' } | ConvertTo-Json -Depth 2 -Compress").Single().ToString();
            Assert.Contains("\"RemainingSeconds\":7199,", json);
            Assert.Contains("\"RemainingSeconds\":null,", json);
            string table = _ps.Render("[ConnectionsMonitor.ConnectionBlock]@{ RemoteAddress = '192.0.2.5'; Direction = 'Both'; Expires = [datetime]'2026-12-01T11:30:00'; RemainingSeconds = 7199 }, " +
                "[ConnectionsMonitor.ConnectionBlock]@{ RemoteAddress = '192.0.2.6'; Direction = 'Inbound' }");
            Assert.Contains("192.0.2.5                Both      2026-12-01 11:30:00    1h59m", table);
            Assert.Contains("192.0.2.6                Inbound   never", table);
            // What the cmdlets write: the seconds left until Expires, cut down to the second.
            var left = _ps.Invoke(
                "$now = [datetime]::new(2026, 12, 1, 10, 0, 0, [System.DateTimeKind]::Utc); $t = [ConnectionsMonitor.Engine.Blocking.BlockTarget]::Parse('192.0.2.5');" +
                "$to = [ConnectionsMonitor.Commands.BlockingCommandBase].GetMethod('ToObject', [System.Reflection.BindingFlags]'NonPublic, Static');" +
                "$timed = [ConnectionsMonitor.Engine.Blocking.BlockRecord]::new($t, 'Both', $null, $now, $now.AddSeconds(90.7), 'f');" +
                "$forever = [ConnectionsMonitor.Engine.Blocking.BlockRecord]::new($t, 'Both', $null, $now, $null, 'f');" +
                "foreach ($x in @($timed, $now), @($timed, $now.AddHours(1)), @($forever, $now)) { $r = $to.Invoke($null, $x).RemainingSeconds; if ($null -eq $r) { 'null' } else { $r.GetType().Name + ' ' + $r } }");
            Assert.Equal(new[] { "Int64 90", "Int64 0", "null" }, left.Select(o => o.ToString()).ToArray());
        }

        [Fact]
        public void AConnectionBlockIsFlatAndSurvivesRemotingsSerializer()
        {
            var types = _ps.Invoke("[ConnectionsMonitor.ConnectionBlock].GetProperties() | ForEach-Object { $_.Name + ':' + $_.PropertyType }").Select(o => o.ToString()).ToArray();
            Assert.Equal(new[]
            {
                "RemoteAddress:string", "Direction:string", "Reason:string", "Created:System.Nullable[datetime]", "Expires:System.Nullable[datetime]",
                "RemainingSeconds:System.Nullable[long]", "Firewall:string",
            }, types);
            var back = Assert.Single(_ps.Invoke(
                "$b = [ConnectionsMonitor.ConnectionBlock]@{ RemoteAddress = '2001:db8::/32'; Direction = 'Inbound'; Reason = 'r'; Created = [datetime]'2026-12-01T10:30:00'; Expires = $null; RemainingSeconds = 3600; Firewall = 'f' };" +
                "[System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($b))"));
            Assert.Equal("Deserialized.ConnectionsMonitor.ConnectionBlock", back.TypeNames[0]);
            Assert.Equal("2001:db8::/32", back.Properties["RemoteAddress"].Value);
            Assert.Equal(new DateTime(2026, 12, 1, 10, 30, 0), back.Properties["Created"].Value);
            Assert.Null(back.Properties["Expires"].Value);
            Assert.Equal(3600L, back.Properties["RemainingSeconds"].Value);
        }
    }
}
