using System;
using System.Linq;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.WindowsTests
{
    /// <summary>
    /// The real ETW session's lifetime: started by a claim on byte counters, gone from the machine's list
    /// of sessions (QueryAllTraces) when the last claim is released. Needs an elevated session on real
    /// Windows; under Wine the claim must report why counts are off and start nothing that lingers.
    /// </summary>
    [Collection(Collection)]
    public sealed class EtwLifecycleTests
    {
        /// <summary>The tests that start ETW sessions of this process, run one at a time (this class counts them).</summary>
        internal const string Collection = "ETW sessions of this process";

        private static bool ExpectWine => Environment.GetEnvironmentVariable("CONNECTIONSMONITOR_EXPECT_WINE") == "1";

        private static string[] OwnSessions() =>
            (EtwNetworkSession.RunningSessionNames() ?? new string[0])
                .Where(n => n.StartsWith(EtwNetworkSession.SessionPrefix + Environment.ProcessId + "-", StringComparison.Ordinal))
                .ToArray();

        [Fact]
        public void The_last_released_claim_stops_the_session()
        {
            using (var platform = new WindowsPlatform())
            {
                IByteCounterUsers users = platform;
                var first = users.AcquireByteCounters(out string problem);
                if (problem != null)
                {
                    Assert.Contains("Administrator", problem);
                    first.Dispose();
                    Assert.Empty(OwnSessions()); // also runs QueryAllTraces here (under Wine: must not crash)
                    Assert.SkipWhen(true, "needs an elevated session on real Windows: " + problem);
                }
                Assert.False(ExpectWine, "Wine has no ETW, yet the session started");

                Assert.Single(OwnSessions());
                var second = users.AcquireByteCounters(out problem);
                Assert.Null(problem);
                Assert.Single(OwnSessions()); // one session for every claim, not one per claim
                first.Dispose();
                Assert.Single(OwnSessions());
                second.Dispose();
                Assert.Empty(OwnSessions());

                // A read that does not ask for bytes starts nothing.
                platform.Connections.Read(new ConnectionQuery { IncludeByteCounts = false });
                Assert.Empty(OwnSessions());
            }
        }
    }
}
