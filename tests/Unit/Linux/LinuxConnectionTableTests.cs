using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Linux
{
    [Collection(LinuxSocketsCollection.Name)]
    public class LinuxConnectionTableTests
    {
        private static readonly int Me = Environment.ProcessId;

        [LinuxFact]
        public void ABoundSocketThatNeitherListensNorConnectsIsReadOnlyWhenAskedFor()
        {
            // sock_diag answers such sockets from Linux 6.7 (TCP_BOUND_INACTIVE), in state TCP_CLOSE; older kernels never do.
            bool answered = Environment.OSVersion.Version >= new Version(6, 7);
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            using var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)bound.LocalEndPoint).Port;
            bool Ours(SocketEntry e) => e.Protocol == TransportProtocol.Tcp && e.LocalPort == port && e.LocalAddress.Equals(IPAddress.Loopback);

            Assert.DoesNotContain(table.Read(new ConnectionQuery()).Entries, Ours);
            var asked = table.Read(new ConnectionQuery { IncludeBoundSockets = true }).Entries.Where(Ours).ToList();
            if (!answered)
            {
                Assert.Empty(asked);
                return;
            }
            var row = Assert.Single(asked);
            Assert.Equal(TcpState.Closed, row.State);
            Assert.Equal(Me, row.ProcessId);
            Assert.DoesNotContain(table.Read(new ConnectionQuery()).Entries, Ours);

            // Through the engine, as Get-MonitoredConnection -State Closed asks.
            using var engine = new ConnectionsMonitor.Engine.MonitorEngine(new LinuxPlatform(LinuxTableMode.SockDiag));
            var closedQuery = new ConnectionQuery { States = new[] { TcpState.Closed } };
            var first = Assert.Single(engine.TakeSnapshot(closedQuery).Connections, r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == port);
            Assert.Equal(TcpState.Closed, first.State);
            Assert.True(first.AgeIsLowerBound); // bound before the first read that looked for bound sockets
            Assert.DoesNotContain(engine.TakeSnapshot().Connections, r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == port);
            // A read that leaves bound sockets out does not make this one gone: asked again, it keeps its first sighting (a
            // newcomer's trial saw FirstSeen start again, as an exact creation time, at every -State Closed between plain reads).
            var again = Assert.Single(engine.TakeSnapshot(closedQuery).Connections, r => r.Protocol == TransportProtocol.Tcp && r.LocalPort == port);
            Assert.Equal(first.FirstSeenUtc, again.FirstSeenUtc);
            Assert.True(again.AgeIsLowerBound);
        }

        [LinuxTheory]
        [InlineData(LinuxTableMode.Auto)]
        [InlineData(LinuxTableMode.SockDiag)]
        [InlineData(LinuxTableMode.ProcNet)]
        public void FindsExactlyOurSocketsWithOurPidAndTheyGoAwayWhenClosed(LinuxTableMode mode)
        {
            using var table = new LinuxConnectionTable(mode);
            var sockets = new LoopbackSockets();
            try
            {
                var result = table.Read(new ConnectionQuery());
                Assert.Empty(result.Warnings);
                Assert.Equal(sockets.ExpectedOpenRows(Me), sockets.Actual(result.Entries));
                foreach (var row in result.Entries.Where(sockets.IsOurs))
                {
                    Assert.NotNull(row.Inode);
                    Assert.Equal(LinuxNative.geteuid(), row.UserId);
                }

                var info = new LinuxProcessCatalog().Lookup(new[] { Me })[Me];
                Assert.Equal(Process.GetCurrentProcess().ProcessName, info.Name);
                Assert.Equal(Environment.ProcessPath, info.Path);

                sockets.CloseInOrder(() => table.Read(new ConnectionQuery()).Entries);
            }
            finally
            {
                sockets.Dispose();
            }

            // The active closer's half stays in TIME_WAIT, owned by nobody; nothing else of ours remains.
            var timeWait = LoopbackSockets.Key(TransportProtocol.Tcp, "127.0.0.1", sockets.ClientPort, "127.0.0.1", sockets.ListenPort, TcpState.TimeWait, null);
            List<string> after = null;
            LoopbackSockets.WaitUntil(() =>
            {
                after = sockets.Actual(table.Read(new ConnectionQuery()).Entries);
                return after.Count == 1 && after[0] == timeWait;
            });
            var tw = table.Read(new ConnectionQuery()).Entries.Single(e => sockets.IsOurs(e));
            Assert.Null(tw.Inode);
            Assert.Null(tw.ProcessId);
        }

        [LinuxFact]
        public void SockDiagAndProcNetAgreeRowForRow()
        {
            using var diag = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            using var proc = new LinuxConnectionTable(LinuxTableMode.ProcNet);
            using var sockets = new LoopbackSockets();
            // FullKey is every field but BytesSent/BytesReceived: only sock_diag has counters (/proc/net rows keep null).
            var a = diag.Read(new ConnectionQuery()).Entries.Where(sockets.IsOurs).Select(LoopbackSockets.FullKey).OrderBy(k => k, StringComparer.Ordinal).ToList();
            var b = proc.Read(new ConnectionQuery()).Entries.Where(sockets.IsOurs).Select(LoopbackSockets.FullKey).OrderBy(k => k, StringComparer.Ordinal).ToList();
            Assert.Equal(sockets.ExpectedOpenRows(Me).Count, a.Count);
            Assert.Equal(a, b);
        }

        // The TCP rows of both families come from one TCPDIAG_GETSOCK dump; a dump per family (SOCK_DIAG_BY_FAMILY) must
        // give exactly the same rows, byte counters included. Skipped, saying so, on a machine without IPv6.
        [IPv6Fact]
        public async System.Threading.Tasks.Task OneTcpDumpOfBothFamiliesGivesWhatADumpPerFamilyGives()
        {
            using var combined = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            using var perFamily = new LinuxConnectionTable(LinuxTableMode.SockDiag) { CombinedTcpDump = false };
            using var sockets = new LoopbackSockets();
            using var pair6 = new TcpPair(ipv6: true);
            await pair6.ExchangeAsync(3000, 5);
            await TcpPair.ExchangeAsync(sockets.Client, sockets.Server, 10, 20);
            var ports = new HashSet<int> { pair6.ListenPort, pair6.ClientPort };
            bool Ours(SocketEntry e) => sockets.IsOurs(e) || (e.Protocol == TransportProtocol.Tcp && ports.Contains(e.LocalPort));
            List<string> Rows(LinuxConnectionTable t) => t.Read(new ConnectionQuery()).Entries.Where(Ours)
                .Select(e => LoopbackSockets.FullKey(e) + $" sent={e.BytesSent} received={e.BytesReceived}").OrderBy(k => k, StringComparer.Ordinal).ToList();
            // Counters settle once the last ACKs are in (bytes_acked moves on the ACK, after the peer's bytes_received):
            // wait for all four connected ends to show their final counts, in both reads, before comparing.
            string[] settled =
            {
                "Tcp ::1:" + pair6.ClientPort + " -> ::1:" + pair6.ListenPort + " Established", " sent=3000 received=5",
                "Tcp ::1:" + pair6.ListenPort + " -> ::1:" + pair6.ClientPort + " Established", " sent=5 received=3000",
                "Tcp 127.0.0.1:" + sockets.ClientPort + " -> 127.0.0.1:" + sockets.ListenPort + " Established", " sent=10 received=20",
                "Tcp 127.0.0.1:" + sockets.ListenPort + " -> 127.0.0.1:" + sockets.ClientPort + " Established", " sent=20 received=10",
            };
            bool Settled(List<string> rows)
            {
                for (int i = 0; i < settled.Length; i += 2)
                {
                    string start = settled[i], end = settled[i + 1];
                    if (!rows.Any(k => k.StartsWith(start, StringComparison.Ordinal) && k.EndsWith(end, StringComparison.Ordinal))) return false;
                }
                return true;
            }
            LoopbackSockets.WaitUntil(() => Settled(Rows(combined)) && Settled(Rows(perFamily)));
            var a = Rows(combined);
            var b = Rows(perFamily);
            Assert.Equal(b, a);
            Assert.True(combined.CombinedTcpDump); // the kernel took the one request: the rows above came from it
            Assert.Equal(sockets.ExpectedOpenRows(Me).Count + 3, a.Count);
            Assert.Contains(a, k => k.StartsWith("Tcp ::1:" + pair6.ListenPort + " -> ::1:" + pair6.ClientPort + " Established", StringComparison.Ordinal) && k.EndsWith(" sent=5 received=3000", StringComparison.Ordinal));
            Assert.Contains(a, k => k.StartsWith("Tcp 127.0.0.1:" + sockets.ClientPort + " -> 127.0.0.1:" + sockets.ListenPort + " Established", StringComparison.Ordinal) && k.EndsWith(" sent=10 received=20", StringComparison.Ordinal));
        }

        [LinuxFact]
        public void BothSourcesSeeTheSameListenersMachineWide()
        {
            // Listeners and bound UDP sockets are steady on a machine, but other tests (and other
            // programs) open and close theirs meanwhile: interleave the reads, d1 p1 d2 p2, and
            // require what one source saw both times to be in the other source's read in between.
            using var diag = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            using var proc = new LinuxConnectionTable(LinuxTableMode.ProcNet);
            using var sockets = new LoopbackSockets();
            Func<SocketEntry, bool> steady = e => e.State == TcpState.Listen || (e.Protocol == TransportProtocol.Udp && e.RemoteAddress == null);
            var req = new ConnectionQuery { ResolveOwners = false };
            HashSet<string> Keys(LinuxConnectionTable t) => t.Read(req).Entries.Where(steady).Select(LoopbackSockets.FullKey).ToHashSet(StringComparer.Ordinal);
            var d1 = Keys(diag);
            var p1 = Keys(proc);
            var d2 = Keys(diag);
            var p2 = Keys(proc);
            var steadyDiag = d1.Intersect(d2).ToList();
            var steadyProc = p1.Intersect(p2).ToList();
            Assert.Empty(steadyDiag.Except(p1));
            Assert.Empty(steadyProc.Except(d2));
            Assert.Contains(steadyDiag, k => k.StartsWith("Tcp 127.0.0.1:" + sockets.ListenPort + " -> 0.0.0.0:0 Listen", StringComparison.Ordinal));
            Assert.All(diag.Read(req).Entries, e => Assert.Null(e.ProcessId)); // ResolveOwners false: no walk, no PIDs
        }

        [LinuxTheory]
        [InlineData(LinuxTableMode.SockDiag)]
        [InlineData(LinuxTableMode.ProcNet)]
        public void RequestSelectsProtocolsAndFamilies(LinuxTableMode mode)
        {
            using var table = new LinuxConnectionTable(mode);
            using var sockets = new LoopbackSockets();
            var udpOnly = table.Read(new ConnectionQuery { Protocols = new[] { TransportProtocol.Udp } }).Entries;
            Assert.All(udpOnly, e => Assert.Equal(TransportProtocol.Udp, e.Protocol));
            Assert.Equal(2, udpOnly.Count(sockets.IsOurs));
            var v6TcpOnly = table.Read(new ConnectionQuery { Protocols = new[] { TransportProtocol.Tcp }, AddressFamilies = new[] { AddressFamily.InterNetworkV6 } }).Entries;
            Assert.All(v6TcpOnly, e => Assert.Equal(AddressFamily.InterNetworkV6, e.LocalAddress.AddressFamily));
            Assert.All(v6TcpOnly, e => Assert.Equal(TransportProtocol.Tcp, e.Protocol));
            Assert.Equal(sockets.Listener6 != null ? 1 : 0, v6TcpOnly.Count(sockets.IsOurs));
        }

        [LinuxFact]
        public void AutoFallsBackToProcNetWithAWarningWhenNetlinkFails()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.Auto)
            {
                OpenSockDiag = () => throw new NetlinkException("Cannot open a netlink sock_diag socket: Address family not supported by protocol (errno 97)", 97),
            };
            using var sockets = new LoopbackSockets();
            var result = table.Read(new ConnectionQuery());
            var warning = Assert.Single(result.Warnings);
            Assert.Contains("netlink sock_diag failed", warning);
            Assert.Contains("Address family not supported", warning);
            Assert.Contains("/proc/net", warning);
            Assert.Equal(sockets.ExpectedOpenRows(Me), sockets.Actual(result.Entries));
        }

        [LinuxFact]
        public void ForcedSockDiagDoesNotFallBack()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag)
            {
                OpenSockDiag = () => throw new NetlinkException("nope", 97),
            };
            Assert.Throws<NetlinkException>(() => table.Read(new ConnectionQuery()));
        }

        [LinuxFact]
        public void ChildProcessOwnsItsListener()
        {
            Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is needed for this test");
            var psi = new ProcessStartInfo("/usr/bin/python3")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()");
            using var child = Process.Start(psi);
            try
            {
                int port = int.Parse(child.StandardOutput.ReadLine());
                using var table = new LinuxConnectionTable();
                var row = table.Read(new ConnectionQuery()).Entries
                    .Single(e => e.Protocol == TransportProtocol.Tcp && e.LocalPort == port && e.LocalAddress.Equals(IPAddress.Loopback));
                Assert.Equal(TcpState.Listen, row.State);
                Assert.Equal(child.Id, row.ProcessId);

                var info = new LinuxProcessCatalog().Lookup(new[] { child.Id })[child.Id];
                Assert.Equal("python3", info.Name);
                string expectedPath = new FileInfo("/usr/bin/python3").ResolveLinkTarget(true)?.FullName ?? "/usr/bin/python3";
                Assert.Equal(expectedPath, info.Path);
                Assert.Equal(Environment.UserName, info.UserName);
                Assert.NotNull(info.StartTime);
                Assert.InRange(info.StartTime.Value, child.StartTime.ToUniversalTime().AddSeconds(-2), child.StartTime.ToUniversalTime().AddSeconds(2));

                child.Kill();
                child.WaitForExit();
                Assert.DoesNotContain(table.Read(new ConnectionQuery()).Entries,
                    e => e.Protocol == TransportProtocol.Tcp && e.LocalPort == port && e.State == TcpState.Listen);
                Assert.Empty(new LinuxProcessCatalog().Lookup(new[] { child.Id }));
            }
            finally
            {
                if (!child.HasExited) child.Kill();
            }
        }

        [LinuxFact]
        public void WarmReadFindsNewSocketsAndForgetsClosedOnes()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            var resolver = table.OwnerResolver;
            using var steady = new LoopbackSockets();
            table.Read(new ConnectionQuery());
            Assert.NotEqual(SocketOwnerResolver.WalkKind.None, resolver.LastWalk);

            // Unchanged set: everything comes from the cache. Another test may open sockets meanwhile,
            // so allow a walk, but our rows must carry our PID either way.
            var warm = table.Read(new ConnectionQuery());
            Assert.Equal(steady.ExpectedOpenRows(Me), steady.Actual(warm.Entries));

            var extra = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            extra.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            extra.Listen(1);
            int port = ((IPEndPoint)extra.LocalEndPoint).Port;
            var after = table.Read(new ConnectionQuery());
            Assert.NotEqual(SocketOwnerResolver.WalkKind.None, resolver.LastWalk);
            var row = after.Entries.Single(e => e.Protocol == TransportProtocol.Tcp && e.LocalPort == port && e.LocalAddress.Equals(IPAddress.Loopback));
            Assert.Equal(Me, row.ProcessId);
            ulong inode = row.Inode.Value;
            Assert.True(resolver.IsCached(inode));

            // Closed, it is forgotten at the next read that no longer finds it. (Not always the very next read: a process another
            // test forks at that moment holds a copy of every fd until its exec, so the socket can outlive the close briefly.)
            extra.Dispose();
            Assert.True(System.Threading.SpinWait.SpinUntil(() => { table.Read(new ConnectionQuery()); return !resolver.IsCached(inode); }, TimeSpan.FromSeconds(5)),
                "the closed listener's socket is still cached after 5 s of reads");
        }

        [LinuxFact]
        public void SocketHandedToAnotherProcessIsReattributedWhenTheFirstOwnerExits()
        {
            // python holds a listener, hands it to a `sleep` child (inherited fd) and exits: the cached
            // owner is gone, so the next read must find the new holder rather than report a dead PID.
            var psi = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(
                "import socket,subprocess,sys\n" +
                "l=socket.socket(); l.bind(('127.0.0.1',0)); l.listen()\n" +
                "print(l.getsockname()[1],flush=True)\n" +
                "sys.stdin.readline()\n" +
                "c=subprocess.Popen(['/usr/bin/sleep','30'],pass_fds=[l.fileno()])\n" +
                "print(c.pid,flush=True)");
            using var first = Process.Start(psi);
            Process heir = null;
            try
            {
                int port = int.Parse(first.StandardOutput.ReadLine());
                using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
                Func<SocketEntry> row = () => table.Read(new ConnectionQuery()).Entries
                    .Single(e => e.Protocol == TransportProtocol.Tcp && e.LocalPort == port && e.LocalAddress.Equals(IPAddress.Loopback));
                Assert.Equal(first.Id, row().ProcessId);

                first.StandardInput.WriteLine("go");
                first.StandardInput.Flush();
                heir = Process.GetProcessById(int.Parse(first.StandardOutput.ReadLine()));
                first.WaitForExit();

                Assert.Equal(heir.Id, row().ProcessId);
            }
            finally
            {
                if (!first.HasExited) first.Kill();
                if (heir != null && !heir.HasExited) heir.Kill();
            }
        }

        [LinuxFact]
        public void UnchangedSocketSetNeedsNoWalk()
        {
            // A resolver fed the same rows twice: the second call must not touch /proc/*/fd.
            var resolver = new SocketOwnerResolver();
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            using var sockets = new LoopbackSockets();
            var rows = table.Read(new ConnectionQuery { ResolveOwners = false }).Entries.ToList();
            resolver.Resolve(rows, 0xF);
            Assert.NotEqual(SocketOwnerResolver.WalkKind.None, resolver.LastWalk);
            int cached = resolver.CachedOwnerCount;
            Assert.True(cached >= sockets.ExpectedOpenRows(Me).Count);
            foreach (var r in rows) r.ProcessId = null;
            resolver.Resolve(rows, 0xF);
            Assert.Equal(SocketOwnerResolver.WalkKind.None, resolver.LastWalk);
            Assert.Equal(sockets.ExpectedOpenRows(Me), sockets.Actual(rows));
        }

        [LinuxFact]
        public void ReceiveBufferGrowsWhenADatagramDoesNotFit()
        {
            using var sockets = new LoopbackSockets();
            using var small = new SockDiagSocket(64);
            using var normal = new SockDiagSocket();
            var a = new List<SocketEntry>();
            var b = new List<SocketEntry>();
            small.Dump(2, 6, 0, a);
            normal.Dump(2, 6, 0, b);
            Assert.True(small.BufferSize > 64);
            Assert.True(small.Restarts >= 1, "a cut datagram starts the dump again");
            Assert.Equal(0, normal.Restarts);
            Assert.Equal(3, a.Count(sockets.IsOurs));
            Assert.Equal(b.Where(sockets.IsOurs).Select(LoopbackSockets.FullKey).OrderBy(k => k), a.Where(sockets.IsOurs).Select(LoopbackSockets.FullKey).OrderBy(k => k));
        }

        [LinuxFact]
        public void ReadAfterDisposeThrows()
        {
            var table = new LinuxConnectionTable();
            table.Read(new ConnectionQuery { ResolveOwners = false });
            table.Dispose();
            Assert.Throws<ObjectDisposedException>(() => table.Read(new ConnectionQuery()));
        }

        [LinuxFact]
        public void PlatformHandsOutLongLivedParts()
        {
            var platform = new LinuxPlatform();
            Assert.Equal("Linux", platform.Name);
            Assert.Same(platform.Connections, platform.Connections);
            Assert.Same(platform.Processes, platform.Processes);
            Assert.IsType<LinuxConnectionTable>(platform.Connections);
            Assert.IsType<LinuxProcessCatalog>(platform.Processes);
        }
    }
}
