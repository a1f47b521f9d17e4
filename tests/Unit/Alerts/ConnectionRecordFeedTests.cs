using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Tests.Session;
using Xunit;

namespace ConnectionsMonitor.Tests.Alerts
{
    public class ConnectionRecordFeedTests
    {
        /// <summary>
        /// A fault in making a sample's records for the system log (a bug of the module's own; here the flags of a connection
        /// throw) costs that sample's records only: left unhandled on the feed's thread it would end the test host here, and
        /// PowerShell or the service for a user. It is said once, and the next samples are diffed as usual.
        /// </summary>
        [Fact]
        public void AFaultInMakingASamplesRecordsIsSaidAndTheNextSamplesGoOn()
        {
            using var session = new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => ReplayPlatform.Parse(ReplayScripts.Traffic) });
            using var sink = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)); // where the records would go
            using var syslog = new SyslogSender("udp", "127.0.0.1", ((IPEndPoint)sink.Client.LocalEndPoint).Port, 16, "connectionsmonitor");
            var feed = session.SubscribeInternal(session.Plan(new ConnectionQuery()), TimeSpan.FromMilliseconds(200), reportExistingAsOpened: true, capacity: 4, watcher: false);
            var warnings = new List<string>();
            int faults = 0;
            using (var records = new ConnectionRecordFeed(feed, syslog, ConnectionEventKinds.Opened, null, ConnectionEventKinds.None,
                _ => { Interlocked.Increment(ref faults); throw new InvalidOperationException("a test's fault"); },
                w => { lock (warnings) warnings.Add(w); }))
            {
                // The first sample reports the rows there as opened (its records fail), the second has no change.
                Assert.True(SpinWait.SpinUntil(() => records.Samples >= 2, TimeSpan.FromSeconds(30)), "the samples after the fault were not diffed");
                Assert.Equal(0, records.Records);
            }
            Assert.True(faults >= 1);
            lock (warnings)
                Assert.Contains("Connection records for the system log: making a sample's records failed (InvalidOperationException: a test's fault); the next samples are recorded as usual.", warnings);
        }
    }
}
