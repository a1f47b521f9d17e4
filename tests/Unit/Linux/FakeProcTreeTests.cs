using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>
    /// The Linux platform pointed at a fake procfs tree of ordinary files and symlinks: the /proc/net
    /// parser, the owner walk, the cached-owner check and the process catalogue, with no real
    /// process behind any of it.
    /// </summary>
    public class FakeProcTreeTests : IDisposable
    {
        private const ulong ListenerInode = 424242;
        private readonly string _root = Path.Combine(Path.GetTempPath(), "cm-fakeproc-" + Guid.NewGuid().ToString("N"));

        public FakeProcTreeTests()
        {
            Directory.CreateDirectory(Path.Combine(_root, "net"));
            File.WriteAllText(Path.Combine(_root, "stat"), "cpu  1 2 3 4\nbtime 1700000000\nprocesses 99\n");
            const string header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
            File.WriteAllText(Path.Combine(_root, "net", "tcp"), header +
                "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 424242 1 0000000000000000 100 0 0 10 0\n");
            foreach (var f in new[] { "tcp6", "udp", "udp6" }) File.WriteAllText(Path.Combine(_root, "net", f), header);
            AddProcess(4242, "fake-daemon-with-long-name", "/opt/fake/fake-daemon-with-long-name\0--serve\0", startTicks: 500,
                ("0", "/dev/null"), ("3", "socket:[" + ListenerInode + "]"));
            AddProcess(77, "idle", "/usr/bin/idle\0", startTicks: 20, ("0", "/dev/null"));
        }

        public void Dispose()
        {
            try { Directory.Delete(_root, true); } catch (IOException) { }
        }

        private void AddProcess(int pid, string name, string cmdline, ulong startTicks, params (string Fd, string Target)[] fds)
        {
            string dir = Path.Combine(_root, pid.ToString());
            Directory.CreateDirectory(Path.Combine(dir, "fd"));
            string comm = Encoding.UTF8.GetByteCount(name) > 15 ? name.Substring(0, 15) : name; // the kernel's cut
            File.WriteAllText(Path.Combine(dir, "stat"),
                $"{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 {startTicks} 1000000 100 18446744073709551615\n");
            File.WriteAllText(Path.Combine(dir, "cmdline"), cmdline);
            File.WriteAllText(Path.Combine(dir, "status"), $"Name:\t{comm}\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t0\t0\t0\t0\n");
            File.CreateSymbolicLink(Path.Combine(dir, "exe"), cmdline.Split('\0')[0]);
            foreach (var (fd, target) in fds) File.CreateSymbolicLink(Path.Combine(dir, "fd", fd), target);
        }

        private void Relink(int pid, string fd, string target)
        {
            string link = Path.Combine(_root, pid.ToString(), "fd", fd);
            File.Delete(link);
            File.CreateSymbolicLink(link, target);
        }

        [LinuxFact]
        public void PlatformReadsTablesOwnersAndProcessesFromTheGivenRoot()
        {
            using var platform = new LinuxPlatform(LinuxTableMode.ProcNet, _root);
            Assert.Equal(_root, platform.ProcRoot);

            var row = Assert.Single(platform.Connections.Read(new ConnectionQuery()).Entries);
            Assert.Equal(TransportProtocol.Tcp, row.Protocol);
            Assert.Equal(IPAddress.Loopback, row.LocalAddress);
            Assert.Equal(8080, row.LocalPort);
            Assert.Equal(TcpState.Listen, row.State);
            Assert.Equal(ListenerInode, row.Inode);
            Assert.Equal(4242, row.ProcessId);

            var info = platform.Processes.Lookup(new[] { 4242, 77, 5 });
            Assert.Equal(new[] { 77, 4242 }, info.Keys.OrderBy(k => k));   // 5 is not in the tree: absent
            Assert.Equal("fake-daemon-with-long-name", info[4242].Name);     // comm "fake-daemon-wit" untruncated from argv[0]
            Assert.Equal("/opt/fake/fake-daemon-with-long-name", info[4242].Path);
            Assert.Equal("root", info[4242].UserName);
            var boot = new DateTime(2023, 11, 14, 22, 13, 20, DateTimeKind.Utc);   // btime 1700000000
            Assert.Equal(boot.AddSeconds(500.0 / LinuxNative.ClockTicksPerSecond), info[4242].StartTime);
            Assert.Equal("idle", info[77].Name);
        }

        [LinuxFact]
        public void CachedOwnerIsCheckedAgainstTheFdItWasFoundAt()
        {
            using var table = new LinuxConnectionTable(LinuxTableMode.ProcNet, _root);
            Assert.Equal(4242, Assert.Single(table.Read(new ConnectionQuery()).Entries).ProcessId);
            Assert.Equal(4242, Assert.Single(table.Read(new ConnectionQuery()).Entries).ProcessId);
            Assert.Equal(SocketOwnerResolver.WalkKind.None, table.OwnerResolver.LastWalk);

            // 4242 forks 4300, which keeps the listener at fd 4; 4242 closes fd 3 and reuses the number.
            AddProcess(4300, "fake-daemon-with-long-name", "/opt/fake/fake-daemon-with-long-name\0--worker\0", startTicks: 900,
                ("4", "socket:[" + ListenerInode + "]"));
            Relink(4242, "3", "socket:[999]");

            Assert.Equal(4300, Assert.Single(table.Read(new ConnectionQuery()).Entries).ProcessId);
            Assert.Equal(1, table.OwnerResolver.LastStaleOwners);
            Assert.NotEqual(SocketOwnerResolver.WalkKind.None, table.OwnerResolver.LastWalk);

            // Settled: checked, trusted, no walk.
            Assert.Equal(4300, Assert.Single(table.Read(new ConnectionQuery()).Entries).ProcessId);
            Assert.Equal(0, table.OwnerResolver.LastStaleOwners);
            Assert.Equal(SocketOwnerResolver.WalkKind.None, table.OwnerResolver.LastWalk);

            // The holder vanishes from the tree altogether: the socket has no owner to show.
            Directory.Delete(Path.Combine(_root, "4300"), true);
            Assert.Null(Assert.Single(table.Read(new ConnectionQuery()).Entries).ProcessId);
        }

        /// <summary>Linux 6.2+ shows the number of open fds as the size of /proc/PID/fd.</summary>
        public sealed class FdCountingKernelFactAttribute : PrerequisiteFactAttribute
        {
            public FdCountingKernelFactAttribute() : base(() =>
                ProcFs.Default.OpenFdCount(Environment.ProcessId) >= 0 ? null : "this kernel (before 6.2) does not count open fds in /proc/PID/fd: the resolver then checks every owner") { }
        }

        [LinuxFact]
        public void OpenFdCountOfAFakeTreeIsUnknown()
        {
            Assert.False(new ProcFs(_root).CountsOpenFds);             // ordinary directories: sizes mean nothing
            Assert.Equal(-1, new ProcFs(_root).OpenFdCount(4242));
            Assert.True(ProcFs.Default.CountsOpenFds);
        }

        [FdCountingKernelFact]
        public void OpenFdCountComesFromProcfs()
        {
            int before = ProcFs.Default.OpenFdCount(Environment.ProcessId);
            var extra = Enumerable.Range(0, 40).Select(_ => new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp)).ToList();
            try
            {
                // Other threads of this test host may open or close an fd meanwhile: allow a little slack.
                Assert.InRange(ProcFs.Default.OpenFdCount(Environment.ProcessId) - before, 36, 44);
            }
            finally { extra.ForEach(x => x.Dispose()); }
        }

        [Fact]
        public void RootMustBeAPath()
        {
            Assert.Throws<ArgumentException>(() => new LinuxProcessCatalog(""));
            Assert.Throws<ArgumentException>(() => new LinuxConnectionTable(LinuxTableMode.ProcNet, null));
            Assert.Equal("/srv/fake", new LinuxConnectionTable(LinuxTableMode.ProcNet, "/srv/fake/").ProcRoot);
            Assert.Equal("/proc", new LinuxConnectionTable().ProcRoot);
        }
    }
}
