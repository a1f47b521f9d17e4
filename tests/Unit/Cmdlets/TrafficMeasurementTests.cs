using System;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>
    /// Real traffic from real child processes, measured through the cmdlets: exact totals, ranking,
    /// a connection that closes inside the window, and a paced rate.
    /// </summary>
    [Collection("real traffic")]
    public class TrafficMeasurementTests : IClassFixture<ModuleSessionFixture>
    {
        private readonly ModuleSession _ps;

        public TrafficMeasurementTests(ModuleSessionFixture fixture) => _ps = fixture.Session;

        private static bool IsRoot => Environment.UserName == "root";

        /// <summary>Starts <paramref name="script"/> (a measurement run with -Verbose) in the shared runspace and returns once its window is open.</summary>
        private System.Management.Automation.PowerShell OpenWindow(string script, out IAsyncResult async)
        {
            var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript(script);
            async = ps.BeginInvoke();
            ModuleSession.WaitUntilTheWindowOpens(ps);
            return ps;
        }

        [LinuxFact]
        public void TopTalkersRankTwoProcessesByExactBytesIncludingAConnectionThatClosed()
        {
            using var server = new DiscardServer();
            using var big = new ChildTalker("cm-big", server.Port);
            using var small = new ChildTalker("cm-small", server.Port);
            using var ps = OpenWindow("Get-TopTalker -GroupBy Process -Top 1000 -Duration 00:00:04 -Verbose | Where-Object Name -in 'cm-big', 'cm-small'", out var async);
            big.Do("send 3000000");
            small.Do("send 1000000");
            small.Do("close"); // closes inside the window
            var rows = ps.EndInvoke(async);
            Assert.Empty(ps.Streams.Error);

            var names = rows.Select(r => (string)r.Properties["Name"].Value).ToList();
            Assert.Equal("cm-big", names[0]);
            Assert.Equal(3_000_000L, rows[0].Properties["BytesSent"].Value);
            Assert.Equal(0L, rows[0].Properties["BytesReceived"].Value);
            Assert.Equal(big.ProcessId, rows[0].Properties["ProcessId"].Value);
            double rate = (double)rows[0].Properties["SendRate"].Value;
            double seconds = (double)rows[0].Properties["DurationSeconds"].Value;
            Assert.Equal(3_000_000 / seconds, rate, 3);
            if (IsRoot)
            {
                // As root the kernel reports the closed socket's final counters (sock_diag destroy events).
                Assert.Equal(new[] { "cm-big", "cm-small" }, names);
                Assert.Equal(small.ProcessId, rows[1].Properties["ProcessId"].Value);
                var warnings = ps.Streams.Warning.Select(w => w.Message).ToList();
                // Under heavy load (the whole suite runs in parallel) the kernel can overrun the destroy-event
                // queue; the window then says so, and the closed connection's bytes are unknown (null), never a
                // wrong number. Otherwise they are exact.
                if (warnings.Any(w => w.Contains("were lost")))
                    Assert.Null(rows[1].Properties["BytesSent"].Value);
                else
                    Assert.True(Equals(1_000_000L, rows[1].Properties["BytesSent"].Value),
                        "cm-small BytesSent = " + (rows[1].Properties["BytesSent"].Value ?? "null") + "; warnings: " + string.Join(" | ", warnings));
            }
        }

        [RootFact]
        public void TopTalkersNameTheProcessOfAConnectionThatClosedAndExitedInTheWindow()
        {
            // The usual short client: connect, send, close, exit. Its closing report comes after the process is gone, so
            // its name cannot be looked up then: the window's reads (the first one, one a second) remember who held it.
            using var server = new DiscardServer();
            using var before = new ChildTalker("cm-gone-a", server.Port); // open before the window
            using var ps = OpenWindow("Get-TopTalker -GroupBy Process -Top 1000 -Duration 00:00:04 -Verbose | Where-Object Name -like 'cm-gone-*'", out var async);
            before.Do("send 500000");
            before.Quit();
            using var inside = new ChildTalker("cm-gone-b", server.Port); // opened in the window
            Thread.Sleep(1300); // a read of the window sees it
            inside.Do("send 1000000");
            inside.Quit();
            var rows = ps.EndInvoke(async);
            Assert.Empty(ps.Streams.Error);
            var warnings = ps.Streams.Warning.Select(w => w.Message).ToList();
            var byName = rows.ToDictionary(r => (string)r.Properties["Name"].Value, r => r.Properties["BytesSent"].Value);
            if (warnings.Any(w => w.Contains("were lost")))
            {
                // Under heavy load the kernel can overrun the destroy-event queue: the window says so, and what it could
                // not see is unknown (null or missing), never a wrong number.
                Assert.True(byName.All(p => p.Value == null || Equals(p.Value, p.Key == "cm-gone-a" ? 500_000L : 1_000_000L)), string.Join(", ", byName));
                return;
            }
            Assert.Equal(new[] { "cm-gone-a", "cm-gone-b" }, byName.Keys.OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(500_000L, byName["cm-gone-a"]);
            Assert.Equal(1_000_000L, byName["cm-gone-b"]);
        }

        // The rate arithmetic (bytes moved / seconds between two reads) is checked exactly on the replay
        // platform (Session/SessionCmdletTests); a paced sender measured against the wall clock belongs in the
        // benchmarks, not here. On real sockets: the counters move by exactly what was sent, a rate follows
        // traffic and is exactly zero after a quiet interval.
        [LinuxFact]
        public void RatesFollowExactByteCountsBetweenReads()
        {
            using var server = new DiscardServer();
            using var child = new ChildTalker("cm-rate", server.Port);
            using var reader = new ModuleSession(); // a runspace of its own: its reads are the only ones that count
            using var probe = new ModuleSession();  // polls the kernel's counters without touching the reader's memory
            const string row = "Get-MonitoredConnection -ProcessId $args[0] -State Established";
            PSObject Read(ModuleSession s) => Assert.Single(s.Invoke(row, child.ProcessId));
            long Sent(PSObject r) => (long)r.Properties["BytesSent"].Value;

            var first = Read(reader);
            var sinceFirst = System.Diagnostics.Stopwatch.StartNew();
            long before = Sent(first);
            Assert.Null(first.Properties["SendRate"].Value); // the reader's first look: no rate yet

            child.Do("send 1000000");
            // sendall returns before the last bytes are acknowledged: wait until the kernel counts them all.
            var deadline = System.Diagnostics.Stopwatch.StartNew();
            while (Sent(Read(probe)) != before + 1_000_000)
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(10))
                    Assert.Fail("BytesSent did not reach " + (before + 1_000_000) + " within 10 s: " + Sent(Read(probe)));
                Thread.Sleep(20);
            }

            // A rate window is at least half a second (MonitorEngine.MinSnapshotWindow): the second read comes after it.
            while (sinceFirst.Elapsed < TimeSpan.FromMilliseconds(600)) Thread.Sleep(20);
            var second = Read(reader);
            var sinceSecond = System.Diagnostics.Stopwatch.StartNew();
            Assert.Equal(before + 1_000_000, Sent(second));
            Assert.True((double)second.Properties["SendRate"].Value > 0, "SendRate after 1,000,000 bytes: " + second.Properties["SendRate"].Value);
            Assert.Equal(0.0, second.Properties["ReceiveRate"].Value);

            // Read again at once: too soon for a window of its own, so the second's rates again (not 0 over a few ms).
            var third = Read(reader);
            Assert.True(sinceSecond.Elapsed < TimeSpan.FromMilliseconds(500), "the third read came " + sinceSecond.ElapsedMilliseconds + " ms after the second");
            Assert.Equal(before + 1_000_000, Sent(third));
            Assert.Equal(second.Properties["SendRate"].Value, third.Properties["SendRate"].Value);

            while (sinceSecond.Elapsed < TimeSpan.FromMilliseconds(600)) Thread.Sleep(20);
            var fourth = Read(reader); // nothing moved since the second read
            Assert.Equal(before + 1_000_000, Sent(fourth));
            Assert.Equal(0.0, fourth.Properties["SendRate"].Value);
            Assert.Equal(0.0, fourth.Properties["ReceiveRate"].Value);
        }

        [LinuxFact]
        public void UdpByteFieldsAreNullNotZero()
        {
            using var s = new LoopbackSockets();
            var row = Assert.Single(_ps.Invoke("Get-MonitoredConnection -ProcessId $PID -Protocol UDP -LocalPort $args[0] | Where-Object LocalAddress -eq '127.0.0.1'", s.UdpPort));
            Assert.Null(row.Properties["BytesSent"].Value);
            Assert.Null(row.Properties["BytesReceived"].Value);
            Assert.Null(row.Properties["SendRate"].Value);
        }

        [LinuxFact]
        public void StatisticRatesCountTheWindowsTraffic()
        {
            using var server = new DiscardServer();
            using var child = new ChildTalker("cm-stat", server.Port);
            using var ps = OpenWindow("Get-ConnectionStatistic -Duration 00:00:03 -ExcludeLoopback:$false -Verbose", out var async);
            child.Do("send 5000000");
            var stat = Assert.Single(ps.EndInvoke(async));
            double seconds = (double)stat.Properties["SampleSeconds"].Value;
            // The child sent 5 MB and this process received them; other traffic on the machine only adds.
            Assert.True((double)stat.Properties["SendRate"].Value * seconds >= 5_000_000 - 1);
            Assert.True((double)stat.Properties["ReceiveRate"].Value * seconds >= 5_000_000 - 1);
        }
    
    }
}
