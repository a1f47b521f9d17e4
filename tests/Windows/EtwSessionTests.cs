using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.WindowsTests
{
    /// <summary>
    /// The real ETW session. Under Wine (StartTrace/OpenTrace/ProcessTrace are stubs) and on Windows without
    /// elevation it must degrade to null byte fields plus one warning naming elevation, quickly and without
    /// crashing (the port-scan accept source likewise: one sentence, no exception); elevated on real Windows
    /// it must count this process's own loopback traffic and report its own loopback accept, listener local.
    /// </summary>
    // One collection with EtwLifecycleTests: that class counts this process's ETW sessions, and the
    // sessions started here (byte counters, accept events) must not run meanwhile.
    [Collection(EtwLifecycleTests.Collection)]
    public sealed class EtwSessionTests : IClassFixture<LiveSockets>
    {
        private readonly LiveSockets _sockets;

        public EtwSessionTests(LiveSockets sockets)
        {
            _sockets = sockets;
        }

        private static bool ExpectWine => Environment.GetEnvironmentVariable("CONNECTIONSMONITOR_EXPECT_WINE") == "1";

        private SocketEntry OwnClientRow(ConnectionTableResult result) =>
            result.Entries.Single(r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == _sockets.V4.ClientPort
                                       && r.RemotePort == _sockets.V4.ListenPort && IPAddress.IsLoopback(r.LocalAddress));

        [Fact]
        public void Platform_without_a_usable_session_reports_null_bytes_and_one_elevation_warning()
        {
            // No time bound here: a table read under Wine scans /proc and is slow on a busy machine; hangs are
            // caught by the runner's timeout, and the session's own start/stop is timed below.
            using (var platform = new WindowsPlatform())
            {
                var result = platform.Connections.Read(new ConnectionQuery());
                string etwWarning = result.Warnings.SingleOrDefault(w => w.Contains("ETW"));
                if (etwWarning == null)
                {
                    Assert.False(ExpectWine, "Wine has no ETW, yet the session started: " + string.Join(" | ", result.Warnings));
                    return; // elevated real Windows: covered by the counting test below
                }

                Assert.Single(result.Warnings, w => w.Contains("ETW"));
                Assert.Contains("Administrator", etwWarning);
                Assert.Contains("elevated", etwWarning);
                Assert.All(result.Entries, r => Assert.Null(r.BytesSent));
                Assert.All(result.Entries, r => Assert.Null(r.BytesReceived));
                Assert.NotEmpty(result.Entries);

                // Later reads repeat the same reason (the cmdlets tell the user once) and never retry the start.
                var again = platform.Connections.Read(new ConnectionQuery());
                Assert.Equal(etwWarning, Assert.Single(again.Warnings, w => w.Contains("ETW")));
                Assert.Equal(etwWarning, platform.ClosedConnections.Start());
                Assert.Empty(platform.ClosedConnections.DrainClosed());
            }
        }

        [Fact]
        public void Session_start_under_wine_fails_with_a_reason_and_disposes_cleanly()
        {
            Assert.SkipUnless(ExpectWine, "Wine only: on Windows the outcome depends on elevation");
            var watch = Stopwatch.StartNew();
            var session = new EtwNetworkSession();
            Assert.StartsWith(EtwNetworkSession.SessionPrefix, session.SessionName);
            string reason = session.Start(_ => { });
            Assert.NotNull(reason);
            Assert.Contains("Administrator", reason);
            Assert.Contains("Wine", reason);
            session.Dispose();
            session.Dispose();

            // The port-scan source on the same session class refuses as cleanly, in its own words.
            using (var platform = new WindowsPlatform())
            using (var accepts = platform.CreateInboundSynSource())
            {
                string refused = accepts.Start();
                Assert.StartsWith(EtwAcceptSource.ElevationWarning.TrimEnd('.'), refused);
                Assert.Contains("Wine", refused);
                Assert.Null(accepts.Failure);
                Assert.Empty(accepts.Drain());
            }
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "start and stop took " + watch.Elapsed);
        }

        [Fact]
        public void Elevated_accept_events_name_the_listening_port_as_local()
        {
            // Which end of an accept event is local is not stated by Microsoft's pages; this pins it: the
            // accepted connection's local end must be the listener, the remote end the client.
            using (var platform = new WindowsPlatform())
            using (var source = platform.CreateInboundSynSource())
            {
                string refused = source.Start();
                Assert.SkipWhen(refused != null, "needs an elevated session on real Windows: " + refused);
                Assert.False(ExpectWine, "Wine has no ETW, yet the accept session started");

                using (var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
                using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
                {
                    listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                    listener.Listen(4);
                    client.Connect(listener.LocalEndPoint);
                    using (listener.Accept())
                    {
                        int listenPort = LiveSockets.PortOf(listener), clientPort = LiveSockets.PortOf(client);
                        var seen = new List<InboundSyn>();
                        // The session flushes about once a second.
                        for (var wait = Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(10); Thread.Sleep(250))
                        {
                            seen.AddRange(source.Drain());
                            if (seen.Any(a => a.LocalPort == listenPort || a.RemotePort == listenPort)) break;
                        }
                        var accept = Assert.Single(seen, a => a.LocalPort == listenPort || a.RemotePort == listenPort);
                        Assert.Equal(listenPort, accept.LocalPort);
                        Assert.Equal(clientPort, accept.RemotePort);
                        Assert.Equal(IPAddress.Loopback, accept.LocalAddress);
                        Assert.Equal(IPAddress.Loopback, accept.RemoteAddress);
                    }
                }
            }
        }

        [Fact]
        public void Elevated_session_counts_own_loopback_traffic()
        {
            using (var platform = new WindowsPlatform())
            {
                var first = platform.Connections.Read(new ConnectionQuery());
                Assert.SkipWhen(first.Warnings.Any(w => w.Contains("ETW")), "needs an elevated session on real Windows");

                var payload = new byte[4096];
                _sockets.V4.Client.Send(payload);
                var buffer = new byte[payload.Length];
                int got = 0;
                while (got < payload.Length) got += _sockets.V4.Accepted.Receive(buffer, got, buffer.Length - got, 0);

                // The session flushes about once a second.
                SocketEntry row = null;
                for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(10); Thread.Sleep(250))
                {
                    row = OwnClientRow(platform.Connections.Read(new ConnectionQuery()));
                    if (row.BytesSent >= payload.Length) break;
                }
                Assert.True(row.BytesSent >= payload.Length, "client row BytesSent = " + row.BytesSent);
            }
        }
    }
}
