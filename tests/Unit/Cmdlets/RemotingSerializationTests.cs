using System;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>
    /// Every type the module's cmdlets write, through PowerShell's own serializer (PSSerializer: the CLIXML
    /// remoting and Export-Clixml use) in a real runspace with the built module: what arrives is a
    /// Deserialized.ConnectionsMonitor.* object with exactly the class's properties, each still a plain value,
    /// and it formats through the module's table and list views exactly as the live object does.
    /// Tests/Pester/Remoting.Tests.ps1 does the same over real SSH remoting.
    /// </summary>
    public sealed class RemotingSerializationTests : IClassFixture<ModuleSessionFixture>
    {
        private readonly ModuleSession _ps;

        public RemotingSerializationTests(ModuleSessionFixture fixture) => _ps = fixture.Session;

        // Builds one object of a type with every settable property given a distinct non-null value, so a
        // property lost, renamed or turned into text on the way shows. Enum properties get their last value.
        private const string Build = @"
param($typeName)
$type = [type]""ConnectionsMonitor.$typeName""
$o = [Activator]::CreateInstance($type)
$i = 0
foreach ($p in $type.GetProperties()) {
    if (-not $p.CanWrite) { continue }
    $i++
    $t = [Nullable]::GetUnderlyingType($p.PropertyType); if ($null -eq $t) { $t = $p.PropertyType }
    $value = switch ($t) {
        ([string])   { ""$($p.Name)-$i"" }
        ([int])      { 40 + $i }
        ([long])     { [long]4000000000 + $i }
        ([double])   { 1.5 + $i }
        ([bool])     { $true }
        ([datetime]) { [datetime]::new(2026, 11, 30, 12, 34, $i % 60, [DateTimeKind]::Local) }
        ([timespan]) { [timespan]::FromSeconds(3600 + $i) }
        ([ConnectionsMonitor.ConnectionAlertItem[]]) { $null } # set below: a switch would unroll the array
        default { if ($t.IsEnum) { [enum]::GetValues($t)[-1] } else { throw ""no sample value for $($p.Name) of type $t"" } }
    }
    if ($t -eq [ConnectionsMonitor.ConnectionAlertItem[]]) { $value = [ConnectionsMonitor.ConnectionAlertItem[]]@([ConnectionsMonitor.ConnectionAlertItem]@{ Protocol = 'TCP'; LocalAddress = '127.0.0.1'; LocalPort = 8080; ProcessId = 4242; ProcessName = 'web' }) }
    $p.SetValue($o, $value)
}
";

        /// <summary>The types the module's cmdlets declare as output (OutputType), and the alert event and its items (event data).</summary>
        private static readonly string[] TypeNames =
        {
                "MonitoredConnection", "ConnectionEvent", "TopTalker", "ConnectionStatistic", "GeoDatabaseInfo",
                "ConnectionAlertInfo", "ConnectionAlertTestResult", "ConnectionAlertEvent", "ConnectionAlertItem",
                "ConnectionRecording", "ConnectionHistoryTotals", "ConnectionHistoryProcess", "ConnectionHistoryConnection",
                "ConnectionHistoryAlert", "ConnectionMetricsEndpoint", "ConnectionBaselineInfo", "ConnectionBaselineDifference", "ConnectionDashboard", "ConnectionBlock",
                "ConnectionMonitorService",
        };

        public static TheoryData<string> OutputTypes() => new TheoryData<string>(TypeNames);

        [Fact]
        public void TheListCoversEveryDeclaredOutputType()
        {
            var declared = _ps.Invoke(
                "Get-Command -Module ConnectionsMonitor | ForEach-Object { $_.OutputType } | ForEach-Object { $_.Name } | " +
                "Where-Object { $_ -like 'ConnectionsMonitor.*' } | Sort-Object -Unique")
                .Select(o => ((string)o.BaseObject).Substring("ConnectionsMonitor.".Length)).ToList();
            Assert.NotEmpty(declared);
            Assert.Empty(declared.Except(TypeNames));
        }

        [Theory]
        [MemberData(nameof(OutputTypes))]
        public void ArrivesWithTheClassPropertiesAsPlainValues(string typeName)
        {
            var result = _ps.Invoke(Build + @"
$d = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($o))
$d.PSObject.TypeNames[0]
($type.GetProperties() | ForEach-Object Name) -join ','
($d.PSObject.Properties | ForEach-Object Name) -join ','
foreach ($p in $type.GetProperties()) {
    $live = $p.GetValue($o); $back = $d.($p.Name)
    if ($live -is [array]) {
        foreach ($item in @($back)) { if ($item -isnot [psobject] -or $item.PSObject.TypeNames[0] -notlike 'Deserialized.ConnectionsMonitor.*') { ""$($p.Name): an item arrived as $($item.GetType().FullName) '$item'"" } }
        if (@($back).Count -ne $live.Count) { ""$($p.Name): $($live.Count) items sent, $(@($back).Count) arrived"" }
    }
    elseif ($live -is [enum]) { if (""$back"" -ne ""$live"") { ""$($p.Name): '$live' sent, '$back' arrived"" } }
    elseif ($null -eq $back -or $back.GetType() -ne $live.GetType() -or $back -ne $live) { ""$($p.Name): '$live' ($($live.GetType().Name)) sent, '$back' ($(if ($null -ne $back) { $back.GetType().Name })) arrived"" }
}
", typeName);
            Assert.Equal("Deserialized.ConnectionsMonitor." + typeName, (string)result[0].BaseObject);
            // Exactly the class's properties: no hidden alias (OwningProcess, PID) sent along as an extra column.
            Assert.Equal((string)result[1].BaseObject, (string)result[2].BaseObject);
            Assert.Empty(result.Skip(3).Select(r => (string)r.BaseObject));
        }

        [Theory]
        [MemberData(nameof(OutputTypes))]
        public void FormatsThroughTheModuleViewsAsTheLiveObjectDoes(string typeName)
        {
            var result = _ps.Invoke(Build + @"
$d = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($o))
$o | Format-Table | Out-String -Width 400
$d | Format-Table | Out-String -Width 400
$o | Format-List | Out-String -Width 400
$d | Format-List | Out-String -Width 400
", typeName);
            Assert.Equal(4, result.Count);
            Assert.Equal((string)result[0].BaseObject, (string)result[1].BaseObject);
            Assert.Equal((string)result[2].BaseObject, (string)result[3].BaseObject);
        }

        [Fact]
        public void AConnectionKeepsItsAliasesAfterTheTrip()
        {
            var result = _ps.Invoke(@"
$d = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize([ConnectionsMonitor.MonitoredConnection]@{ Protocol = 'TCP'; ProcessId = 4242 }))
$d.OwningProcess; $d.PID
($d | ConvertTo-Csv -NoTypeInformation)[0]");
            Assert.Equal(4242, (int)result[0].BaseObject);
            Assert.Equal(4242, (int)result[1].BaseObject);
            Assert.DoesNotContain("\"PID\"", (string)result[2].BaseObject);
            Assert.DoesNotContain("OwningProcess", (string)result[2].BaseObject);
        }
    }
}
