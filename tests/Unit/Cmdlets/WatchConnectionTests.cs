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

        /// <summary>
        /// Starts the watch (its script must pass <c>-Verbose</c>) and waits for its "Baseline taken" verbose record:
        /// a connection opened before that is part of the baseline and never reported, and one opened while the
        /// baseline is read may be half in it (the client's end read, the server's end not yet accepted and so not yet
        /// owned by this process). Fails, naming what the watch said, when no baseline comes within ten seconds.
        /// </summary>
        internal static IAsyncResult StartAfterBaseline(System.Management.Automation.PowerShell ps, PSDataCollection<PSObject> output)
        {
            var baseline = new ManualResetEventSlim();
            ps.Streams.Verbose.DataAdded += (_, e) =>
            {
                if (ps.Streams.Verbose[e.Index].Message.StartsWith("Baseline taken", StringComparison.Ordinal)) baseline.Set();
            };
            var async = ps.BeginInvoke<PSObject, PSObject>(null, output);
            // Waits for the baseline, or for the command to end first (it failed: no use waiting on).
            WaitHandle.WaitAny(new[] { baseline.WaitHandle, async.AsyncWaitHandle }, TimeSpan.FromSeconds(10));
            if (!baseline.IsSet)
            {
                bool ended = async.IsCompleted;
                if (!ended) ps.Stop();
                Assert.Fail("the watch took no baseline " + (ended ? "before it ended (" + ps.InvocationStateInfo.State + ": " + ps.InvocationStateInfo.Reason?.Message + ")" : "within 10 s")
                    + "; it said: " + string.Join(" | ", ps.Streams.Verbose.Select(v => v.Message).Concat(ps.Streams.Error.Select(x => x.ToString()))));
            }
            return async;
        }

        /// <summary>What is left of <paramref name="limit"/> since <paramref name="since"/> started; never negative (a wait of 0 polls).</summary>
        internal static TimeSpan Remaining(Stopwatch since, TimeSpan limit) => since.Elapsed >= limit ? TimeSpan.Zero : limit - since.Elapsed;

        /// <summary>Opens one connection to the listener; both ends go into <paramref name="keep"/> (client, then server).</summary>
        internal static (TcpClient Client, TcpClient Server) Open(TcpListener listener, System.Collections.Generic.List<IDisposable> keep)
        {
            var client = new TcpClient(AddressFamily.InterNetwork);
            keep.Add(client);
            client.Connect(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            var server = listener.AcceptTcpClient();
            keep.Add(server);
            return (client, server);
        }

        [LinuxFact]
        public void EventsStreamBeforeTheCommandEndsAndCountEndsIt()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Watch-Connection -Port $args[0] -ProcessId $PID -State Established -RefreshInterval 200 -Count 2 -Verbose").AddArgument(port);
            var output = new PSDataCollection<PSObject>();
            var first = new ManualResetEventSlim();
            output.DataAdded += (s, e) => first.Set();
            var async = StartAfterBaseline(ps, output);
            var open = new System.Collections.Generic.List<IDisposable>();
            try
            {
                // An event streams while the command still runs (-Count 2 is not reached by the first one alone
                // before it is written: the handler sees it as it is written).
                Open(listener, open);
                Assert.True(first.Wait(TimeSpan.FromSeconds(10)), "no event within 10 s of opening a connection after the baseline");
                EndWithin(ps, async, TimeSpan.FromSeconds(10));
            }
            finally
            {
                foreach (var d in open) d.Dispose();
            }
            Assert.Equal(2, output.Count); // -Count 2: both ends of the new connection opened, then it stopped
            Assert.All(output, o => Assert.Equal("Opened", o.Properties["ChangeType"].Value));
            Assert.Equal("ConnectionsMonitor.ConnectionEvent", output[0].TypeNames[0]);
            // The two ends of one connection: the server's end (local port = the listener's) and the client's.
            var server = Assert.Single(output, o => (int)o.Properties["LocalPort"].Value == port);
            var client = Assert.Single(output, o => (int)o.Properties["RemotePort"].Value == port);
            Assert.Equal(server.Properties["RemotePort"].Value, client.Properties["LocalPort"].Value);
            Assert.All(output, o => Assert.Equal("Established", o.Properties["State"].Value));
            Assert.All(output, o => Assert.NotNull(o.Properties["AgeSeconds"].Value)); // opened while watched: it has an age
            Assert.All(output, o => Assert.Equal(false, o.Properties["AgeIsLowerBound"].Value)); // ... measured, not a lower bound
        }

        /// <summary>Two samples: a listener, then the listener and a new connection.</summary>
        private const string OneConnectionOpens = @"
processes:
  - { pid: 100, name: web, path: /usr/sbin/web, user: www }
samples:
  - t: 0
    rows:
      - { protocol: TCP, local: 0.0.0.0, localPort: 8080, remote: 0.0.0.0, remotePort: 0, state: Listen, pid: 100, inode: 10 }
  - t: 2
    rows:
      - { protocol: TCP, local: 0.0.0.0, localPort: 8080, remote: 0.0.0.0, remotePort: 0, state: Listen, pid: 100, inode: 10 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 0, received: 0 }
";

        [Fact]
        public void DurationEndsItAndTheLastIntervalIsReported()
        {
            // The replay platform gives the baseline (the first table read) and then the table with the new
            // connection. With a refresh interval of a minute, the only read that can see it within a
            // -Duration of 1.5 s is the last one taken when the duration ends.
            string replay = Session.ReplayScripts.ToFile(OneConnectionOpens);
            try
            {
                using var fresh = new ModuleSession();
                fresh.Invoke("$global:ConnectionsMonitorReplayPath = $args[0]", replay);
                var clock = Stopwatch.StartNew();
                var events = fresh.Invoke("Watch-Connection -RefreshInterval 60000 -Duration 00:00:01.5");
                Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), "ended after " + clock.Elapsed + ", before -Duration");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "ended after " + clock.Elapsed + ": it waited for the refresh interval");
                var opened = Assert.Single(events);
                Assert.Equal("Opened", opened.Properties["ChangeType"].Value);
                Assert.Equal(50001, opened.Properties["RemotePort"].Value);
                Assert.Equal("Established", opened.Properties["State"].Value);
            }
            finally
            {
                System.IO.File.Delete(replay);
            }
        }

        [Fact]
        public void StopFromAnotherThreadEndsItWithoutWaitingForTheInterval()
        {
            using var s = new LoopbackSockets();
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            // -IncludeExisting reports the listener at once: once it has streamed, the watch is in its loop,
            // waiting for a refresh a minute away.
            ps.AddScript("Watch-Connection -IncludeExisting -LocalPort $args[0] -ProcessId $PID -State Listen -RefreshInterval 60000").AddArgument(s.ListenPort);
            var output = new PSDataCollection<PSObject>();
            var first = new ManualResetEventSlim();
            output.DataAdded += (_, _) => first.Set();
            var async = ps.BeginInvoke<PSObject, PSObject>(null, output);
            Assert.True(first.Wait(TimeSpan.FromSeconds(15)), "the watch reported no existing listener within 15 s");
            var clock = Stopwatch.StartNew();
            ps.Stop();
            Assert.Throws<PipelineStoppedException>(() => ps.EndInvoke(async));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "stopping took " + clock.Elapsed + " (the interval is a minute)");
            Assert.Equal("Opened", Assert.Single(output).Properties["ChangeType"].Value);
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

        [LinuxFact]
        public void ClosingAConnectionStreamsStateChangedThenClosed()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Watch-Connection -LocalPort $args[0] -ProcessId $PID -RefreshInterval 100 -Verbose").AddArgument(port);
            var output = new PSDataCollection<PSObject>();
            var events = new System.Collections.Concurrent.BlockingCollection<PSObject>();
            output.DataAdded += (_, e) => events.Add(output[e.Index]);
            var async = StartAfterBaseline(ps, output);
            var open = new System.Collections.Generic.List<IDisposable>();
            try
            {
                // The server's end (local port = the listener's) is what the watch sees.
                var (client, server) = Open(listener, open);
                int clientPort = ((IPEndPoint)client.Client.LocalEndPoint).Port;
                PSObject Next(string what)
                {
                    var deadline = Stopwatch.StartNew();
                    while (events.TryTake(out var e, Remaining(deadline, TimeSpan.FromSeconds(10))))
                        if (clientPort.Equals(e.Properties["RemotePort"].Value) && what.Equals(e.Properties["ChangeType"].Value)) return e;
                    Assert.Fail("no " + what + " event for the connection from port " + clientPort + " within 10 s");
                    return null;
                }

                // The watch sees the connection open first (closed before a sample, it would be seen only as it ends).
                var opened = Next("Opened");
                Assert.Equal("Established", opened.Properties["State"].Value);

                // The peer closes: the server's end goes Established -> CloseWait.
                client.Client.Shutdown(SocketShutdown.Both);
                client.Close();
                var changed = Next("StateChanged");
                Assert.Equal("StateChanged", changed.Properties["ChangeType"].Value);
                Assert.Equal("Established", changed.Properties["PreviousState"].Value);
                Assert.Equal("CloseWait", changed.Properties["State"].Value);

                // The server closes too: its end leaves the table (a sample may first catch it in LastAck; the
                // client's end sits in TimeWait with local port clientPort, which -LocalPort does not select).
                server.Close();
                var closed = Next("Closed");
                Assert.Equal("Closed", closed.Properties["ChangeType"].Value);
                Assert.Equal(port, closed.Properties["LocalPort"].Value);
                Assert.Equal(Environment.ProcessId, closed.Properties["ProcessId"].Value);
            }
            finally
            {
                ps.Stop();
                foreach (var d in open) d.Dispose();
            }
        }

        [LinuxFact]
        public void AConnectionThatOpensAndClosesBetweenTwoSamplesIsWrittenWithItsFinalBytes()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            // -IncludeExisting: the listener's Opened says the baseline is taken; the next sample is 2 s later.
            ps.AddScript("Watch-Connection -LocalPort $args[0] -IncludeExisting -RefreshInterval 2000").AddArgument(port);
            var output = new PSDataCollection<PSObject>();
            var events = new System.Collections.Concurrent.BlockingCollection<PSObject>();
            output.DataAdded += (_, e) => events.Add(output[e.Index]);
            ps.BeginInvoke<PSObject, PSObject>(null, output);
            try
            {
                Assert.True(events.TryTake(out var baseline, TimeSpan.FromSeconds(10)), "no baseline event");
                Assert.Equal("Listen", baseline.Properties["State"].Value);

                // A request-sized exchange, over well within the interval: the client closes, the server reads the end and closes.
                int clientPort;
                using (var client = new TcpClient(AddressFamily.InterNetwork))
                {
                    client.Connect(IPAddress.Loopback, port);
                    clientPort = ((IPEndPoint)client.Client.LocalEndPoint).Port;
                    using var server = listener.AcceptSocket();
                    client.GetStream().Write(new byte[300], 0, 300);
                    var buffer = new byte[300];
                    int got = 0;
                    while (got < 300) got += server.Receive(buffer, got, 300 - got, SocketFlags.None);
                    server.Send(new byte[4567]);
                    got = 0;
                    while (got < 4567) got += client.GetStream().Read(new byte[4567], 0, 4567 - got);
                    client.Close();
                    Assert.Equal(0, server.Receive(buffer));
                }

                var mine = new System.Collections.Generic.List<PSObject>();
                var deadline = Stopwatch.StartNew();
                while (mine.Count < 2 && events.TryTake(out var e, Remaining(deadline, TimeSpan.FromSeconds(10))))
                    if (clientPort.Equals(e.Properties["RemotePort"].Value)) mine.Add(e);
                Assert.Equal(new[] { "Opened", "Closed" }, mine.Select(e => (string)e.Properties["ChangeType"].Value));
                Assert.All(mine, e => Assert.Equal(true, e.Properties["BetweenSamples"].Value));
                var closed = mine[1];
                Assert.Equal(true, closed.Properties["FinalCounters"].Value);
                Assert.Equal(4567L, closed.Properties["BytesSent"].Value);
                Assert.Equal("Closed", closed.Properties["State"].Value);
                Assert.Null(closed.Properties["AgeSeconds"].Value); // when it opened is unknown
            }
            finally
            {
                ps.Stop();
            }
        }

        [Fact]
        public void RefreshIntervalTakesMillisecondsOrAUnitAndSaysItsUnitWhenOutOfRange()
        {
            // -RefreshInterval is milliseconds (config.yml's refreshInterval); a newcomer's trial typed 2s and 00:00:02, as
            // for every other interval of the module, and got "less than the minimum allowed range of 100" and a failed
            // conversion to Int32.
            var error = Assert.Single(_ps.InvokeExpectingErrors("Watch-Connection -RefreshInterval 2 -Count 1"));
            Assert.Equal("ParameterArgumentTransformationError,ConnectionsMonitor.Commands.WatchConnectionCommand", error.FullyQualifiedErrorId);
            Assert.Equal("Cannot process argument transformation on parameter 'RefreshInterval'. 2 ms is out of range: expected milliseconds from 100 (0.1 s) to 3600000 (3600 s); " +
                         "500ms, 2s and 00:00:02 work too. Did you mean 2s (2000 ms)?", error.Exception.Message);
            // A value given with its unit is said as given, and no other unit is suggested (the trial of the first wording got
            // "99 ms ... Did you mean 99000 (99s)?" for 99ms); a fraction is not rounded away first.
            error = Assert.Single(_ps.InvokeExpectingErrors("Show-ConnectionMonitor -RefreshInterval 99ms -Count 1"));
            Assert.Equal("Cannot process argument transformation on parameter 'RefreshInterval'. 99ms (99 ms) is out of range: expected milliseconds from 100 (0.1 s) to 3600000 (3600 s); " +
                         "500ms, 2s and 00:00:02 work too.", error.Exception.Message);
            error = Assert.Single(_ps.InvokeExpectingErrors("Watch-Connection -RefreshInterval 2.5 -Count 1"));
            Assert.EndsWith("2.5 ms is out of range: expected milliseconds from 100 (0.1 s) to 3600000 (3600 s); 500ms, 2s and 00:00:02 work too. Did you mean 2.5s (2500 ms)?", error.Exception.Message);
            var converted = _ps.Invoke("foreach ($v in @(2s, '2s', '500ms', '1.5m', '00:00:02', [timespan]'00:01:00', 1500, '250')) { & { param([ConnectionsMonitor.Commands.MillisecondsTransformation(100, 3600000)][int] $ms) $ms } $v }");
            Assert.Equal(new object[] { 2000, 2000, 500, 90000, 2000, 60000, 1500, 250 }, converted.Select(o => o.BaseObject));
        }

        [Theory]
        [InlineData("Watch-Connection", "abc")]
        [InlineData("Show-ConnectionMonitor", "abc")]
        [InlineData("Watch-Connection", "2d")]
        [InlineData("Show-ConnectionMonitor", "1 minute")]
        public void RefreshIntervalTextThatIsNoTimeSpanSaysTheFormsAccepted(string cmdlet, string given)
        {
            // Was PowerShell's 'Cannot convert value "abc" to type "System.Int32"', though 2s, 500ms and 00:00:02 are accepted.
            var error = Assert.Single(_ps.InvokeExpectingErrors(cmdlet + " -RefreshInterval '" + given + "' -Count 1"));
            Assert.Equal("ParameterArgumentTransformationError,ConnectionsMonitor.Commands." + cmdlet.Replace("-", "") + "Command", error.FullyQualifiedErrorId);
            Assert.Equal("Cannot process argument transformation on parameter 'RefreshInterval'. '" + given + "' is not a time span: expected milliseconds (2000), " +
                         "a number with a unit (500ms, 5s, 2m, 1h; there is no unit for days: 24h) or hh:mm:ss (00:00:02).", error.Exception.Message);
        }

        [Fact]
        public void ZeroDurationIsAClearError()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Watch-Connection -Duration 0"));
            Assert.Equal("ParameterArgumentValidationError,ConnectionsMonitor.Commands.WatchConnectionCommand", error.FullyQualifiedErrorId);
            Assert.Equal("Cannot validate argument on parameter 'Duration'. 00:00:00 is not a valid time span here: expected longer than zero up to 365.00:00:00, " +
                         "for example 00:10:00 (leave -Duration out to watch until Ctrl+C). A plain number is read as seconds; 500ms, 5s, 2m and 1h work too.", error.Exception.Message);
        }
    }
}
