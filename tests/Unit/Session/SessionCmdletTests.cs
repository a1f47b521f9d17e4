using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using ConnectionsMonitor.Tests.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Session
{
    /// <summary>
    /// The cmdlets over the runspace's session, in real hosted runspaces: on the replay platform
    /// (exact scripted rows, counters and rates) and on real sockets.
    /// </summary>
    [Collection(SamplerThreads.Name)]
    public sealed class SessionCmdletTests : IDisposable
    {
        private readonly string _replay = ReplayScripts.ToFile(ReplayScripts.Traffic);

        public void Dispose() => File.Delete(_replay);

        private ModuleSession ReplaySession()
        {
            var ps = new ModuleSession();
            ps.Invoke("$global:ConnectionsMonitorReplayPath = $args[0]", _replay);
            return ps;
        }

        private static PSObject Row(System.Collections.ObjectModel.Collection<PSObject> rows, int remotePort) =>
            Assert.Single(rows, r => remotePort.Equals(r.Properties["RemotePort"].Value));

        [Fact]
        public void GetMonitoredConnectionWritesTheScriptedRowsOwnersCountersAndRates()
        {
            using var ps = ReplaySession();
            var first = ps.Invoke("Get-MonitoredConnection");
            Assert.Equal(3, first.Count);
            var c = Row(first, 50001);
            Assert.Equal("TCP", c.Properties["Protocol"].Value);
            Assert.Equal("127.0.0.1", c.Properties["LocalAddress"].Value);
            Assert.Equal("Established", c.Properties["State"].Value);
            Assert.Equal("web", c.Properties["ProcessName"].Value);
            Assert.Equal(100, c.Properties["ProcessId"].Value);
            Assert.Equal(1000L, c.Properties["BytesSent"].Value);
            Assert.Null(c.Properties["SendRate"].Value);
            Assert.Equal(true, c.Properties["AgeIsLowerBound"].Value);

            var second = Row(ps.Invoke("Get-MonitoredConnection -ProcessName web -State Established"), 50001);
            Assert.Equal(5000L, second.Properties["BytesSent"].Value);
            Assert.Equal(2000.0, second.Properties["SendRate"].Value);
            Assert.Equal(500.0, second.Properties["ReceiveRate"].Value);
            Assert.Equal(2L, second.Properties["AgeSeconds"].Value);
        }

        // The first import in a process prepares its runspace's session in the background (see
        // SessionRegistry.PrepareInBackground); which test imports first is not known, so this one
        // asks for the preparation itself, the way the module initializer does.
        private const string PrepareLikeTheImport =
            "[ConnectionsMonitor.Loading.ModuleInitializer].Assembly.GetType('ConnectionsMonitor.Session.SessionRegistry')" +
            ".GetMethod('PrepareInBackground', [Reflection.BindingFlags]'NonPublic,Static').Invoke($null, @())";

        [Fact]
        public void AReplayPathSetAfterThePreparedImportStillReplays()
        {
            using var ps = new ModuleSession();
            ps.Invoke(PrepareLikeTheImport);
            ps.Invoke("$global:ConnectionsMonitorReplayPath = $args[0]", _replay);
            var rows = ps.Invoke("Get-MonitoredConnection");
            Assert.Equal(3, rows.Count);
            Assert.Equal(1000L, Row(rows, 50001).Properties["BytesSent"].Value); // the script's first sample: the prepared read did not consume it
        }

        [LinuxFact]
        public void ThePreparedSessionIsTheOneTheFirstCallUsesAndItsRatesStartThere()
        {
            using var ps = new ModuleSession();
            ps.Invoke(PrepareLikeTheImport);
            using var sockets = new LoopbackSockets();
            var rows = ps.Invoke("Get-MonitoredConnection -LocalPort $args[0] -Protocol TCP -ProcessId $PID", sockets.ClientPort);
            var row = Assert.Single(rows, r => "Established".Equals(r.Properties["State"].Value));
            Assert.Null(row.Properties["SendRate"].Value); // the background read left no sample: unknown, not a rate
            Assert.Equal(true, row.Properties["AgeIsLowerBound"].Value);
            Assert.Equal(System.Environment.ProcessId, row.Properties["ProcessId"].Value);
        }

        [Fact]
        public void ASampleWindowSaysWhenItOpensAndShowsItsProgressOnThePipelineThread()
        {
            using var ps = ReplaySession();
            using var call = System.Management.Automation.PowerShell.Create();
            call.Runspace = ps.Runspace;
            call.AddScript("Get-ConnectionStatistic -Duration 00:00:02 -Verbose");
            var stat = Assert.Single(call.Invoke());
            Assert.True((double)stat.Properties["SampleSeconds"].Value >= 2.0); // the window is never shorter than asked
            Assert.Equal(new[] { "First snapshot taken; counting traffic for 2 s." }, call.Streams.Verbose.Select(v => v.Message).ToArray());
            var progress = call.Streams.Progress.ToList();
            // Opened, about one a second, full, completed: no burst of records at the window's end.
            Assert.True(progress.Count >= 3 && progress.Count <= 6, "progress records: " + string.Join(",", progress.Select(p => p.PercentComplete)));
            Assert.All(progress, p => Assert.Equal("Measuring traffic", p.Activity));
            Assert.Equal(System.Management.Automation.ProgressRecordType.Completed, progress[^1].RecordType);
            var percents = progress.Take(progress.Count - 1).Select(p => p.PercentComplete).ToList();
            Assert.Equal(0, percents[0]);
            Assert.True(100 == percents[^1], "percents: " + string.Join(",", progress.Select(p => p.PercentComplete + "/" + p.RecordType + "/" + p.StatusDescription)));
            Assert.Equal(percents.OrderBy(p => p), percents); // never goes back
            // No window, no progress: ranking by connections is one snapshot.
            call.Commands.Clear();
            call.Streams.ClearStreams();
            call.AddScript("Get-TopTalker -By Connections -Verbose");
            call.Invoke();
            Assert.Empty(call.Streams.Progress);
            Assert.Empty(call.Streams.Verbose);
        }

        [Fact]
        public void ASampleWindowUsesTheRunspacesSessionNotAFreshOne()
        {
            // The window runs on a pool thread; the session must still be the runspace's (it was a
            // fresh, never-disposed one per call: replay from its start, a thread and sockets leaked).
            using var ps = ReplaySession();
            ps.Invoke("$null = Get-MonitoredConnection; $null = Get-MonitoredConnection"); // t=0, t=2
            var stat = Assert.Single(ps.Invoke("Get-ConnectionStatistic -Duration 00:00:00.2"));     // t=4 .. t=6
            Assert.Equal(9000L, stat.Properties["BytesSent"].Value); // the counters at t=6; a fresh session would have ended at t=2 (5,000)
            var talkers = ps.Invoke("Get-TopTalker -Duration 00:00:00.2 -GroupBy Process");          // t=6 .. t=6 (the last repeats)
            Assert.Equal(0L, Assert.Single(talkers, t => "web".Equals(t.Properties["Name"].Value)).Properties["BytesSent"].Value);
        }

        [Fact]
        public void TabCompletionBeforeTheFirstCallDoesNotStopAReplay()
        {
            using var ps = new ModuleSession();
            ps.Invoke("$global:ConnectionsMonitorReplayPath = $args[0]", _replay);
            ps.Invoke("$line = 'Get-MonitoredConnection -ProcessName w'; $null = TabExpansion2 $line $line.Length");
            var rows = ps.Invoke("Get-MonitoredConnection");
            Assert.Equal(3, rows.Count);
            Assert.Equal(1000L, Row(rows, 50001).Properties["BytesSent"].Value);
        }

        [Fact]
        public void TwoRunspacesHaveIndependentTrackersAndRates()
        {
            using var a = ReplaySession();
            using var b = ReplaySession();
            a.Invoke("Get-MonitoredConnection");
            var inA = Row(a.Invoke("Get-MonitoredConnection"), 50001);
            var inB = Row(b.Invoke("Get-MonitoredConnection"), 50001);
            Assert.Equal(2000.0, inA.Properties["SendRate"].Value);
            Assert.Null(inB.Properties["SendRate"].Value);   // b's first read: its own memory is empty
            Assert.Equal(1000L, inB.Properties["BytesSent"].Value); // and its own platform is at the first sample
        }

        [Fact]
        public void WatchConnectionStreamsTheScriptedChanges()
        {
            using var ps = ReplaySession();
            var events = ps.Invoke("Watch-Connection -RefreshInterval 400 -Count 3");
            Assert.Equal(new object[] { "Opened", "StateChanged", "Closed" }, events.Select(e => e.Properties["ChangeType"].Value));
            Assert.Equal(50002, events[0].Properties["RemotePort"].Value);
            Assert.Equal("Established", events[1].Properties["PreviousState"].Value);
            Assert.Equal("CloseWait", events[1].Properties["State"].Value);
            Assert.Equal(false, events[0].Properties["AgeIsLowerBound"].Value);
        }

        [Fact]
        public void ShowConnectionMonitorWritesPlainFramesToAVariable()
        {
            using var ps = ReplaySession();
            var frames = ps.Invoke("$x = Show-ConnectionMonitor -Count 2 -RefreshInterval 100 -Protocol TCP; $x");
            Assert.Equal(2, frames.Count);
            Assert.All(frames, f => Assert.IsType<string>(f.BaseObject));
            var lines = ((string)frames[1].BaseObject).Split('\n');
            Assert.StartsWith("ConnectionsMonitor  ", lines[0]);
            Assert.Equal("TCP: 2  UDP: 0  Total: 2  Bandwidth: sent 2.0KB/s, received 500B/s", lines[1].TrimEnd());
            Assert.DoesNotContain('\u001b', (string)frames[1].BaseObject); // plain text: no escape sequences
        }

        [Theory]
        [InlineData("LISTENING", "Listen", 1)]      // netstat
        [InlineData("ESTAB", "Established", 1)]     // ss
        [InlineData("close_wait", "CloseWait", 0)]
        [InlineData("Time-Wait", "TimeWait", 0)]
        public void StateTakesTheNamesOtherToolsPrint(string given, string state, int rows)
        {
            using var ps = ReplaySession();
            var found = ps.Invoke("Get-MonitoredConnection -State " + given);
            Assert.Equal(rows, found.Count);
            Assert.All(found, r => Assert.Equal(state, r.Properties["State"].Value));
            var error = Assert.Single(ps.InvokeExpectingErrors("Get-MonitoredConnection -State Lisen"));
            Assert.Contains("Listen", error.Exception.Message); // PowerShell's own error lists the valid names
        }

        [Theory]
        [InlineData("@() | Get-MonitoredConnection")]
        [InlineData("[System.Diagnostics.Process]::GetProcessesByName('no-such-process-here') | Get-MonitoredConnection")]
        [InlineData("@() | Get-TopTalker")]
        [InlineData("@() | Get-ConnectionStatistic")]
        [InlineData("@() | Watch-Connection")]
        [InlineData("@() | Show-ConnectionMonitor")]
        public void EmptyPipelineInputMeansNoRows(string script)
        {
            using var ps = ReplaySession();
            var clock = Stopwatch.StartNew();
            Assert.Empty(ps.Invoke(script));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "took " + clock.Elapsed); // Watch/Show return at once, they do not wait for Ctrl+C
            Assert.Equal(3, ps.Invoke("Get-MonitoredConnection").Count); // while a call with no input gets everything
        }

        [LinuxFact]
        public void TabCompletionBetweenTwoCallsDoesNotChangeTheSecondCallsRates()
        {
            using var ps = new ModuleSession();
            using var pair = new TcpPair();
            const string get = "Get-MonitoredConnection -LocalPort $args[0] -RemotePort $args[1]";
            var before = Assert.Single(ps.Invoke(get, pair.ClientPort, pair.ListenPort));
            var sinceBefore = Stopwatch.StartNew();
            pair.ExchangeAsync(65536, 0).GetAwaiter().GetResult();
            var completion = ps.Invoke("$s = 'Get-MonitoredConnection -ProcessName '; (TabExpansion2 -inputScript $s -cursorColumn $s.Length).CompletionMatches.CompletionText");
            Assert.Contains(completion, c => (string)c.BaseObject == Process.GetCurrentProcess().ProcessName);
            // (a rate window is at least half a second: MonitorEngine.MinSnapshotWindow)
            while (sinceBefore.Elapsed < TimeSpan.FromMilliseconds(600)) Thread.Sleep(20);
            var after = Assert.Single(ps.Invoke(get, pair.ClientPort, pair.ListenPort));
            Assert.Equal((long)before.Properties["BytesSent"].Value + 65536, (long)after.Properties["BytesSent"].Value);
            // Rates since the first call: had completion taken a sample, no byte would have moved since it and the rate would be 0.
            Assert.True((double)after.Properties["SendRate"].Value > 0, "SendRate " + after.Properties["SendRate"].Value);
        }

        [LinuxFact]
        public void TheLiveViewsFirstFrameRightAfterASnapshotHasNoRateOverAFractionOfASecond()
        {
            // Get-MonitoredConnection, bytes, then the live view at once: its sampler's first read comes a tenth of a second
            // after the snapshot's, and a rate over that window is several times the real one (or 0). A window is at least
            // half a second (MonitorEngine.MinSnapshotWindow), so the cell is blank, or at most 64 KB over 0.5 s.
            using var ps = new ModuleSession();
            using var pair = new TcpPair();
            ps.Invoke("$null = Get-MonitoredConnection -LocalPort $args[0] -RemotePort $args[1]", pair.ClientPort, pair.ListenPort);
            pair.ExchangeAsync(65536, 0).GetAwaiter().GetResult();
            var lines = string.Join("\n", ps.Invoke("Show-ConnectionMonitor -Count 1 -LocalPort $args[0] -RemotePort $args[1]", pair.ClientPort, pair.ListenPort)
                .Select(o => (string)o.BaseObject)).Split('\n');
            string header = Assert.Single(lines, l => l.StartsWith("Proto ", StringComparison.Ordinal));
            int at = header.IndexOf(" Rate ", StringComparison.Ordinal) + 1;
            Assert.True(at > 0, header);
            string row = Assert.Single(lines, l => l.Contains(":" + pair.ClientPort + " ", StringComparison.Ordinal));
            string cell = row.Substring(at, 8).Trim();
            if (cell.Length == 0) return;
            var m = System.Text.RegularExpressions.Regex.Match(cell, @"^([0-9.]+)(B|KB|MB|GB)/s$");
            Assert.True(m.Success, "Rate cell '" + cell + "' in: " + row);
            double rate = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
                * (m.Groups[2].Value == "B" ? 1 : m.Groups[2].Value == "KB" ? 1024 : m.Groups[2].Value == "MB" ? 1 << 20 : 1 << 30);
            Assert.True(rate <= 65536 / 0.5 * 1.05, "a rate over less than half a second: " + cell);
        }

        [LinuxFact]
        public void ClosingTheRunspaceStopsARunningWatchsSampler()
        {
            var ps = new ModuleSession();
            var pipeline = System.Management.Automation.PowerShell.Create();
            pipeline.Runspace = ps.Runspace;
            pipeline.AddScript("Watch-Connection -RefreshInterval 100");
            var async = pipeline.BeginInvoke();
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count() == 1, TimeSpan.FromSeconds(20)), "the sampler did not start");
            pipeline.Stop();
            ps.Dispose();
            Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count() == 0, TimeSpan.FromSeconds(10)), "a sampler thread is left");
        }

        [Fact]
        public void RemoveModuleDisposesTheSessionAndAReimportStartsAFreshOne()
        {
            using var ps = ReplaySession();
            ps.Invoke("Watch-Connection -RefreshInterval 100 -Count 1"); // the sampler ran
            Assert.Equal(9000L, Row(ps.Invoke("Get-MonitoredConnection"), 50001).Properties["BytesSent"].Value); // the platform is past t=4
            ps.Invoke("Remove-Module ConnectionsMonitor; Import-Module $args[0]", Repo.ModuleManifest);
            var fresh = Row(ps.Invoke("Get-MonitoredConnection"), 50001);
            Assert.Equal(1000L, fresh.Properties["BytesSent"].Value); // a new platform, from the first sample
            Assert.Null(fresh.Properties["SendRate"].Value);          // and a new, empty memory
            if (OperatingSystem.IsLinux()) Assert.True(SpinWait.SpinUntil(() => SamplerThreads.Count() == 0, TimeSpan.FromSeconds(10)));
        }
    }
}
