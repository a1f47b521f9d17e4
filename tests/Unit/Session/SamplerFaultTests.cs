using System;
using System.Collections.Generic;
using System.Threading;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Session;
using Xunit;

namespace ConnectionsMonitor.Tests.Session
{
    public class SamplerFaultTests
    {
        // A closing feed that starts and, once armed (after the subscription, whose probe drains it too), fails at every
        // drain, as a platform's broken feed (or a fault of the module's own) would.
        private sealed class FailingClosings : IClosedConnectionFeed
        {
            public volatile bool Armed;
            public int Failed;
            public string Start() => null;
            public IReadOnlyList<SocketEntry> DrainClosed()
            {
                if (!Armed) return Array.Empty<SocketEntry>();
                Interlocked.Increment(ref Failed);
                throw new InvalidCastException("a test's fault");
            }
            public void Stop() { }
            public long LostReports => 0;
        }

        // The replay's table and processes with that feed.
        private sealed class WithClosings : IPlatform
        {
            private readonly ReplayPlatform _replay;
            private readonly IClosedConnectionFeed _feed;
            public WithClosings(ReplayPlatform replay, IClosedConnectionFeed feed) { _replay = replay; _feed = feed; }
            public string Name => "replay, with a failing closing feed";
            public IConnectionTable Connections => _replay;
            public IProcessCatalog Processes => _replay;
            public IClosedConnectionFeed ClosedConnections => _feed;
            public INetworkInterfaceCatalog Interfaces => _replay.Interfaces;
        }

        /// <summary>
        /// A fault in the closing reports loses that tick's reports, which every subscriber hears of as a lost report (once
        /// for a run of failing ticks); the samples still come and the sampler goes on. Left unhandled on the sampler's thread the exception would end the
        /// test host here, and PowerShell for a user.
        /// </summary>
        [Fact]
        public void AFaultInTheClosingReportsLosesThemNotTheSamplerNorTheProcess()
        {
            var feed = new FailingClosings();
            using var session = new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => new WithClosings(ReplayPlatform.Parse(ReplayScripts.Traffic), feed) });
            using var sub = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(200));
            feed.Armed = true;
            int samples = 0;
            long lost = 0;
            void Take()
            {
                if (!sub.TryNext(TimeSpan.FromSeconds(1), CancellationToken.None, out var s)) return;
                samples++;
                lost += s.ClosingsLostBefore;
                Assert.NotEmpty(s.Snapshot.Connections);
            }
            // Samples go on through at least two failing ticks (the tick running while the feed was armed may have drained
            // before it was: a CI run saw one failure in three samples), and one more sample carries what they lost.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while ((samples < 3 || Volatile.Read(ref feed.Failed) < 2) && DateTime.UtcNow < until) Take();
            int before = samples;
            while (samples == before && DateTime.UtcNow < until) Take();
            Assert.True(samples >= 4, "samples: " + samples);
            Assert.True(feed.Failed >= 2, "drains failed: " + feed.Failed);
            Assert.Equal(1, lost); // one lost report for the run of failing ticks, not one a tick
            Assert.True(session.IsSampling);
        }
    }
}
