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
        // A closing feed that starts and then, from its third drain on (the session's probe at subscription and the sampler's
        // opening drain pass), fails at every drain, as a platform's broken feed (or a fault of the module's own) would.
        private sealed class FailingClosings : IClosedConnectionFeed
        {
            public int Drains, Failed;
            public string Start() => null;
            public IReadOnlyList<SocketEntry> DrainClosed()
            {
                if (Interlocked.Increment(ref Drains) <= 2) return Array.Empty<SocketEntry>();
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
        /// A fault in the closing reports loses that tick's reports, which every subscriber hears of as lost reports; the
        /// samples still come and the sampler goes on. Left unhandled on the sampler's thread the exception would end the
        /// test host here, and PowerShell for a user.
        /// </summary>
        [Fact]
        public void AFaultInTheClosingReportsLosesThemNotTheSamplerNorTheProcess()
        {
            var feed = new FailingClosings();
            using var session = new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => new WithClosings(ReplayPlatform.Parse(ReplayScripts.Traffic), feed) });
            using var sub = session.Subscribe(new ConnectionQuery(), TimeSpan.FromMilliseconds(200));
            int samples = 0;
            long lost = 0;
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (samples < 3 && DateTime.UtcNow < until)
                if (sub.TryNext(TimeSpan.FromSeconds(1), CancellationToken.None, out var s))
                {
                    samples++;
                    lost += s.ClosingsLostBefore;
                    Assert.NotEmpty(s.Snapshot.Connections);
                }
            Assert.Equal(3, samples);
            Assert.True(feed.Failed >= 1, "no drain failed (drains: " + feed.Drains + ")");
            Assert.True(lost >= 1 && lost <= feed.Failed, "lost reports said: " + lost + ", failed drains: " + feed.Failed); // one for each failed tick
            Assert.True(session.IsSampling);
        }
    }
}
