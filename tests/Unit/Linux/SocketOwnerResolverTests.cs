using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Text.RegularExpressions;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>
    /// A socket no process holds as an fd: a child passes its TCP listener over a Unix socketpair
    /// (SCM_RIGHTS) and closes its own fd, so the listener lives only in the queued message. To the
    /// owner walk it looks exactly like another user's socket seen without privilege.
    /// </summary>
    [Collection(LinuxSocketsCollection.Name)]
    public class SocketOwnerResolverTests : IDisposable
    {
        private readonly Process _child;
        private readonly int _port;

        public SocketOwnerResolverTests()
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(
                "import socket,sys\n" +
                "l=socket.socket(); l.bind(('127.0.0.1',0)); l.listen()\n" +
                "a,b=socket.socketpair()\n" +
                "socket.send_fds(a,[b'x'],[l.fileno()])\n" +
                "port=l.getsockname()[1]; l.close()\n" +
                "print(port,flush=True)\n" +
                "sys.stdin.read()");
            _child = Process.Start(psi);
            _port = int.Parse(_child.StandardOutput.ReadLine());
        }

        public void Dispose()
        {
            if (!_child.HasExited) _child.Kill();
            _child.WaitForExit();
            _child.Dispose();
        }

        private SocketEntry InFlight(ConnectionTableResult r) =>
            r.Entries.Single(e => e.Protocol == TransportProtocol.Tcp && e.LocalPort == _port && e.LocalAddress.Equals(IPAddress.Loopback));

        [LinuxFact]
        public void UnattributedSocketsDoNotTriggerAWalkOnEveryRead()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
            var rows = table.Read(new ConnectionQuery { ResolveOwners = false }).Entries.ToList();
            var orphan = rows.Single(e => e.Protocol == TransportProtocol.Tcp && e.LocalPort == _port && e.LocalAddress.Equals(IPAddress.Loopback));
            Assert.NotNull(orphan.Inode);
            // The orphan alone: other sockets of the machine (and of the tests running beside this one) come and go, and a
            // cached owner whose descriptor closed between two reads makes a walk of its own (seen in a loaded run).
            rows = new System.Collections.Generic.List<SocketEntry> { orphan };

            var resolver = new SocketOwnerResolver { RecheckInterval = 3 };
            resolver.Resolve(rows, 0xF);
            Assert.Equal(SocketOwnerResolver.WalkKind.Full, resolver.LastWalk); // the orphan can never be found
            Assert.Null(orphan.ProcessId);
            Assert.True(resolver.IsCached(orphan.Inode.Value));

            resolver.Resolve(rows, 0xF);
            Assert.Equal(SocketOwnerResolver.WalkKind.None, resolver.LastWalk);
            resolver.Resolve(rows, 0xF);
            Assert.Equal(SocketOwnerResolver.WalkKind.None, resolver.LastWalk);
            resolver.Resolve(rows, 0xF); // third read since it was sought: look again
            Assert.Equal(SocketOwnerResolver.WalkKind.Full, resolver.LastWalk);
            resolver.Resolve(rows, 0xF);
            Assert.Equal(SocketOwnerResolver.WalkKind.None, resolver.LastWalk);

            // Gone from the table: gone from the cache.
            rows.Remove(orphan);
            resolver.Resolve(rows, 0xF);
            Assert.False(resolver.IsCached(orphan.Inode.Value));
        }

        [LinuxFact]
        public void UnprivilegedCallerGetsOneWarningAboutOtherUsersSockets()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag) { EffectiveUserId = 4242 };
            var result = table.Read(new ConnectionQuery());
            Assert.Null(InFlight(result).ProcessId);
            var warning = Assert.Single(result.Warnings);
            var m = Regex.Match(warning, @"^The owners of (\d+) sockets? belonging to other users could not be read; run as root \(sudo\), or with the capabilities CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, to see every process\.$");
            Assert.True(m.Success, warning);
            Assert.InRange(int.Parse(m.Groups[1].Value), 1, result.Entries.Count);
        }

        [LinuxFact]
        public void NoWarningForRoot()
        {
            using var asRoot = new LinuxConnectionTable(LinuxTableMode.SockDiag) { EffectiveUserId = 0 };
            var result = asRoot.Read(new ConnectionQuery());
            Assert.Null(InFlight(result).ProcessId); // unattributed, yet root has nothing more to ask for
            Assert.Empty(result.Warnings);
        }
    }
}
