using System;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>Watch-Connection in a real runspace against real sockets.</summary>
    public class WatchConnectionTests : IClassFixture<ModuleSessionFixture>
    {
        private readonly ModuleSession _ps;

        public WatchConnectionTests(ModuleSessionFixture fixture) => _ps = fixture.Session;

        /// <summary>Waits for the command; a command that does not end is stopped and the test fails rather than hangs.</summary>
        private static System.Collections.Generic.IList<PSObject> EndWithin(System.Management.Automation.PowerShell ps, IAsyncResult async, TimeSpan limit)
        {
            if (!async.AsyncWaitHandle.WaitOne(limit))
            {
                ps.Stop();
                Assert.Fail("the command did not end within " + limit);
            }
            return ps.EndInvoke(async);
        }

        [LinuxFact]
        public void EventsStreamBeforeTheCommandEndsAndCountEndsIt()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Watch-Connection -Port $args[0] -State Established -RefreshInterval 200 -Count 2").AddArgument(port);
            var output = new PSDataCollection<PSObject>();
            var first = new ManualResetEventSlim();
            output.DataAdded += (s, e) => first.Set();
            var async = ps.BeginInvoke<PSObject, PSObject>(null, output);
            Thread.Sleep(600); // the baseline is taken
            using var client = new TcpClient(AddressFamily.InterNetwork);
            client.Connect(IPAddress.Loopback, port);
            using var accepted = listener.AcceptTcpClient();
            Assert.True(first.Wait(TimeSpan.FromSeconds(5)), "no event streamed");
            EndWithin(ps, async, TimeSpan.FromSeconds(10));
            Assert.Equal(2, output.Count); // -Count 2: both ends of the new connection opened, then it stopped
            Assert.All(output, o => Assert.Equal("Opened", o.Properties["ChangeType"].Value));
            Assert.Equal("ConnectionsMonitor.ConnectionEvent", output[0].TypeNames[0]);
            Assert.Contains(output, o => (int)o.Properties["LocalPort"].Value == port && "Established".Equals(o.Properties["State"].Value));
            Assert.All(output, o => Assert.NotNull(o.Properties["AgeSeconds"].Value)); // opened while watched: it has an age
            Assert.All(output, o => Assert.Equal(false, o.Properties["AgeIsLowerBound"].Value)); // ... measured, not a lower bound
        }

        [LinuxFact]
        public void DurationEndsItAndTheLastIntervalIsReported()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Watch-Connection -LocalPort $args[0] -RefreshInterval 60000 -Duration 00:00:01.5 -State Established").AddArgument(port);
            var clock = Stopwatch.StartNew();
            var async = ps.BeginInvoke();
            Thread.Sleep(500);
            using var client = new TcpClient(AddressFamily.InterNetwork);
            client.Connect(IPAddress.Loopback, port);
            using var accepted = listener.AcceptTcpClient();
            var events = EndWithin(ps, async, TimeSpan.FromSeconds(10));
            Assert.InRange(clock.Elapsed.TotalSeconds, 1.4, 10);
            var opened = Assert.Single(events, e => (int)e.Properties["LocalPort"].Value == port);
            Assert.Equal("Opened", opened.Properties["ChangeType"].Value);
        }

        [Fact]
        public void StopFromAnotherThreadEndsItWithinOneInterval()
        {
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Watch-Connection -RefreshInterval 1000");
            var async = ps.BeginInvoke();
            Thread.Sleep(700);
            var clock = Stopwatch.StartNew();
            ps.Stop();
            Assert.Throws<PipelineStoppedException>(() => ps.EndInvoke(async));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), "stopping took " + clock.Elapsed);
        }

        [LinuxFact]
        public void IncludeExistingReportsTheBaselineAsOpened()
        {
            using var s = new LoopbackSockets();
            // A fresh runspace: its session has never looked, so the listener was there before it did.
            using var fresh = new ModuleSession();
            var rows = fresh.Invoke("[System.Diagnostics.Process]::GetCurrentProcess() | Watch-Connection -IncludeExisting -LocalPort $args[0] -RefreshInterval 100 -Duration 00:00:00.2 -State Listen", s.ListenPort);
            var row = Assert.Single(rows);
            Assert.Equal("Opened", row.Properties["ChangeType"].Value);
            // Existed before the watch: its age is known only as a lower bound (since the session first saw it), and says so.
            Assert.Equal(0L, row.Properties["AgeSeconds"].Value);
            Assert.Equal(true, row.Properties["AgeIsLowerBound"].Value);
            Assert.Equal(Environment.ProcessId, row.Properties["OwningProcess"].Value);
        }

        [Fact]
        public void ZeroDurationIsAClearError()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Watch-Connection -Duration 0"));
            Assert.Equal("ParameterArgumentValidationError,ConnectionsMonitor.Commands.WatchConnectionCommand", error.FullyQualifiedErrorId);
            Assert.Equal("Cannot validate argument on parameter 'Duration'. 00:00:00 is not a valid time span here: expected longer than zero up to 365.00:00:00, " +
                         "for example 00:10:00 (leave -Duration out to watch until Ctrl+C). A plain number is read as seconds.", error.Exception.Message);
        }
    }
}
