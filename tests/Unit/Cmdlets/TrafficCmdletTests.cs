using System;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>Get-TopTalker and Get-ConnectionStatistic in a real runspace, on real sockets and processes.</summary>
    public class TrafficCmdletTests : IClassFixture<ModuleSessionFixture>
    {
        private readonly ModuleSession _ps;

        public TrafficCmdletTests(ModuleSessionFixture fixture) => _ps = fixture.Session;

        [LinuxFact]
        public void StatisticCountsOurListenerAndStatesWithoutWaiting()
        {
            using var s = new LoopbackSockets();
            var stat = Assert.Single(_ps.Invoke("Get-ConnectionStatistic -Duration 0"));
            Assert.Equal("ConnectionsMonitor.ConnectionStatistic", stat.TypeNames[0]);
            Assert.Contains(s.ListenPort.ToString(), ((string)stat.Properties["ListeningTcpPorts"].Value).Split(", "));
            Assert.Contains(s.UdpPort.ToString(), ((string)stat.Properties["ListeningUdpPorts"].Value).Split(", "));
            Assert.True((int)stat.Properties["Established"].Value >= 2);
            Assert.True((int)stat.Properties["Listen"].Value >= 1);
            Assert.Equal((int)stat.Properties["Tcp"].Value + (int)stat.Properties["Udp"].Value, (int)stat.Properties["Total"].Value);
            Assert.Null(stat.Properties["SendRate"].Value); // no window: no rate, not 0
            Assert.Null(stat.Properties["SampleSeconds"].Value);
        }

        [LinuxFact]
        public void TopTalkerByConnectionsRanksChildProcessesByTheirConnectionCount()
        {
            using var server = new DiscardServer();
            using var a = new ChildTalker("cm-three", server.Port);
            using var a2 = new ChildTalker("cm-three", server.Port);
            using var a3 = new ChildTalker("cm-three", server.Port);
            using var b = new ChildTalker("cm-one", server.Port);
            var rows = _ps.Invoke("Get-TopTalker -By Connections -Top 1000 -ProcessName 'cm-three', 'cm-one'");
            Assert.Equal(new[] { "cm-three", "cm-one" }, rows.Select(r => (string)r.Properties["Name"].Value));
            Assert.Equal(3, rows[0].Properties["Connections"].Value);
            Assert.Equal(string.Join(", ", new[] { a.ProcessId, a2.ProcessId, a3.ProcessId }.OrderBy(p => p)), rows[0].Properties["ProcessIds"].Value);
            Assert.Null(rows[0].Properties["ProcessId"].Value);
            Assert.Equal(b.ProcessId, rows[1].Properties["ProcessId"].Value);
            Assert.Null(rows[0].Properties["BytesSent"].Value); // one snapshot: bytes not measured
            Assert.Null(rows[0].Properties["DurationSeconds"].Value);
        }

        [Theory]
        [InlineData("abc")]
        [InlineData("1d")]
        public void ATextThatIsNoTimeSpanSaysWhatIsExpected(string given)
        {
            // Was PowerShell's generic "Cannot convert value to type System.TimeSpan".
            var error = Assert.Single(_ps.InvokeExpectingErrors("Get-TopTalker -Duration '" + given + "'"));
            Assert.Equal("Cannot process argument transformation on parameter 'Duration'. '" + given + "' is not a time span: expected seconds (5, 0.5), " +
                         "a number with a unit (500ms, 5s, 2m, 1h; there is no unit for days: 24h) or hh:mm:ss (00:00:05).", error.Exception.Message);
        }

        [Fact]
        public void BytesWithoutAWindowIsAClearError()
        {
            // Ranking by bytes over no time ranked by connection count and showed a 0 % share, silently.
            var error = Assert.Single(_ps.InvokeExpectingErrors("Get-TopTalker -By Bytes -Duration 0"));
            Assert.Equal("BytesNeedADuration,ConnectionsMonitor.Commands.GetTopTalkerCommand", error.FullyQualifiedErrorId);
            Assert.Equal("-By Bytes ranks the bytes moved during -Duration, and -Duration is 0: give a window (for example -Duration 5s), or rank one snapshot by connection count with -By Connections.", error.Exception.Message);
        }

        [Fact]
        public void BadDurationIsAClearError()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Get-TopTalker -Duration -00:00:01"));
            // Rejected at binding, in PowerShell's words plus what is expected (not .NET's "(Parameter 'Duration') Actual value was").
            Assert.Equal("ParameterArgumentValidationError,ConnectionsMonitor.Commands.GetTopTalkerCommand", error.FullyQualifiedErrorId);
            Assert.Equal("Cannot validate argument on parameter 'Duration'. -00:00:01 is not a valid time span here: expected from 00:00:00 up to 1.00:00:00, " +
                         "for example 00:00:05 (00:00:00 ranks one snapshot by connection count). A plain number is read as seconds; 500ms, 5s, 2m and 1h work too.", error.Exception.Message);
            error = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionStatistic -Duration 2.00:00:00"));
            Assert.Equal("Cannot validate argument on parameter 'Duration'. 2.00:00:00 is not a valid time span here: expected from 00:00:00 up to 1.00:00:00, " +
                         "for example 00:00:05 (00:00:00 counts one snapshot, with no rates). A plain number is read as seconds; 500ms, 5s, 2m and 1h work too.", error.Exception.Message);
            // A bare number is seconds, not PowerShell's ticks: 2 is two seconds (an ungiven unit read as 200 ns sampled nothing).
            var stat = Assert.Single(_ps.Invoke("Get-ConnectionStatistic -Duration 0.25"));
            Assert.InRange((double)stat.Properties["SampleSeconds"].Value, 0.25, 5);
            // 1s is PowerShell's short literal 1 (it sampled 100 ns, all rates 0, before every numeric type was seconds);
            // text with a unit is read in it, as ss, systemd and Prometheus write durations.
            stat = Assert.Single(_ps.Invoke("Get-ConnectionStatistic -Duration 1s"));
            Assert.InRange((double)stat.Properties["SampleSeconds"].Value, 1, 6);
            stat = Assert.Single(_ps.Invoke("Get-ConnectionStatistic -Duration 300ms"));
            Assert.InRange((double)stat.Properties["SampleSeconds"].Value, 0.3, 5);
            foreach (var (given, span) in new[] { ("25h", "1.01:00:00"), ("24.5h", "1.00:30:00"), ("1441m", "1.00:01:00"), ("86401000ms", "1.00:00:01"), ("86401", "1.00:00:01"), ("86401u", "1.00:00:01"), ("86401n", "1.00:00:01") })
            {
                error = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionStatistic -Duration " + given));
                Assert.StartsWith("Cannot validate argument on parameter 'Duration'. " + span + " is not a valid time span here", error.Exception.Message);
            }
            error = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionStatistic -Duration 5 minutes"));
            Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
            error = Assert.Single(_ps.InvokeExpectingErrors("Get-TopTalker -GroupBy Planet"));
            Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
        }

        [Fact]
        public void StopRequestEndsTheSampleWindowPromptly()
        {
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Get-TopTalker -Duration 00:05:00 -Verbose");
            var async = ps.BeginInvoke();
            ModuleSession.WaitUntilTheWindowOpens(ps); // stopped inside the window: the wait that must end promptly
            var clock = System.Diagnostics.Stopwatch.StartNew();
            ps.Stop();
            Assert.Throws<PipelineStoppedException>(() => ps.EndInvoke(async));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the stop took " + clock.Elapsed);
        }

        [LinuxFact]
        public void TopTalkerObjectsSurviveSerialization()
        {
            using var server = new DiscardServer();
            using var a = new ChildTalker("cm-ser", server.Port);
            var row = Assert.Single(_ps.Invoke("Get-TopTalker -By Connections -Top 1000 | Where-Object Name -eq 'cm-ser'"));
            var back = (PSObject)PSSerializer.Deserialize(PSSerializer.Serialize(row));
            Assert.Equal("Deserialized.ConnectionsMonitor.TopTalker", back.TypeNames[0]);
            Assert.Equal(a.ProcessId, back.Properties["ProcessId"].Value);
            foreach (var p in back.Properties) Assert.False(p.Value is PSObject, p.Name);
        }
    }
}
