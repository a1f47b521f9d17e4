using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    [Collection(LinuxSocketsCollection.Name)]
    public class LinuxProcessCatalogTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-catalog-" + Guid.NewGuid().ToString("N"));

        public LinuxProcessCatalogTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private static Process Start(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            return Process.Start(psi);
        }

        [LinuxFact]
        public void LongNamesAreUntruncatedLikeDotNetDoes()
        {
            // The kernel keeps 15 bytes of the name in comm; argv[0] has the rest.
            string link = Path.Combine(_dir, "averyveryverylongprogramname");
            File.CreateSymbolicLink(link, "/usr/bin/sleep");
            using var p = Start(link, "30");
            try
            {
                // Both in place: during execve the kernel sets comm before the new program's arguments (a loaded run read
                // an empty cmdline after comm had changed, and so the truncated name).
                LoopbackSockets.WaitUntil(() => File.ReadAllText($"/proc/{p.Id}/comm").Trim() == "averyveryverylo" &&
                                                File.ReadAllText($"/proc/{p.Id}/cmdline").StartsWith(link + "\0", StringComparison.Ordinal));
                var info = new LinuxProcessCatalog().Lookup(new[] { p.Id })[p.Id];
                Assert.Equal("averyveryverylongprogramname", info.Name);
                Assert.Equal(Process.GetProcessById(p.Id).ProcessName, info.Name);
                Assert.Equal(new FileInfo("/usr/bin/sleep").ResolveLinkTarget(true)?.FullName ?? "/usr/bin/sleep", info.Path);
            }
            finally { p.Kill(); p.WaitForExit(); }
        }

        [LinuxFact]
        public void DeletedExecutableKeepsItsPathWithoutTheSuffix()
        {
            string copy = Path.Combine(_dir, "sleepcopy");
            File.Copy("/usr/bin/sleep", copy);
            File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
            using var p = Start(copy, "30");
            try
            {
                LoopbackSockets.WaitUntil(() => File.ReadAllText($"/proc/{p.Id}/comm").Trim() == "sleepcopy");
                File.Delete(copy);
                var info = new LinuxProcessCatalog().Lookup(new[] { p.Id })[p.Id];
                Assert.Equal("sleepcopy", info.Name);
                Assert.Equal(copy, info.Path);
            }
            finally { p.Kill(); p.WaitForExit(); }
        }

        [LinuxFact]
        public void OddBytesInTheNameDoNotThrow()
        {
            using var p = Start("/usr/bin/python3", "-c",
                "import sys\nopen('/proc/self/comm','wb').write(b'\\xff\\xfebad\\x1b[31m')\nprint('ok',flush=True)\nsys.stdin.read()");
            try
            {
                Assert.Equal("ok", p.StandardOutput.ReadLine());
                var info = new LinuxProcessCatalog().Lookup(new[] { p.Id })[p.Id];
                // Kept as it is (display layers sanitise), invalid UTF-8 replaced rather than thrown on.
                Assert.Equal("\uFFFD\uFFFDbad\u001b[31m", info.Name);
            }
            finally { p.Kill(); p.WaitForExit(); }
        }

        [LinuxFact]
        public void CachesByPidAndDropsExitedProcesses()
        {
            var catalog = new LinuxProcessCatalog();
            using var p = Start("/usr/bin/sleep", "30");
            var first = catalog.Lookup(new[] { p.Id, Environment.ProcessId, 1 << 30 });
            Assert.True(first.ContainsKey(p.Id));
            Assert.True(first.ContainsKey(Environment.ProcessId));
            Assert.False(first.ContainsKey(1 << 30)); // no such process: absent, not an error
            Assert.Same(first[p.Id], catalog.Lookup(new[] { p.Id })[p.Id]);
            Assert.Equal("sleep", first[p.Id].Name);
            Assert.Equal(Environment.UserName, first[p.Id].UserName);
            p.Kill();
            p.WaitForExit();
            Assert.Empty(catalog.Lookup(new[] { p.Id }));
        }

        [LinuxFact]
        public void StartTimeMatchesDotNet()
        {
            var info = new LinuxProcessCatalog().Lookup(new[] { Environment.ProcessId })[Environment.ProcessId];
            var expected = Process.GetCurrentProcess().StartTime.ToUniversalTime();
            Assert.Equal(DateTimeKind.Utc, info.StartTime.Value.Kind);
            Assert.InRange(info.StartTime.Value, expected.AddSeconds(-1), expected.AddSeconds(1));
        }

        /// <summary>PID 2 is kthreadd outside PID namespaces; a container may not show it.</summary>
        public sealed class KthreaddFactAttribute : PrerequisiteFactAttribute
        {
            public KthreaddFactAttribute() : base(() =>
                File.Exists("/proc/2/comm") && File.ReadAllText("/proc/2/comm").Trim() == "kthreadd" ? null : "PID 2 is not kthreadd here (a PID namespace): no kernel thread to look at") { }
        }

        [KthreaddFact]
        public void KernelThreadHasNoPath()
        {
            var info = new LinuxProcessCatalog().Lookup(new[] { 2 })[2];
            Assert.Equal("kthreadd", info.Name);
            Assert.Null(info.Path);
            Assert.Equal("root", info.UserName);
        }

        [Fact]
        public void ParsesPasswd()
        {
            var map = LinuxProcessCatalog.ParsePasswd("root:x:0:0:root:/root:/bin/bash\n# comment\n\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\nbroken\nbad:x:notanumber:0::/:\n");
            Assert.Equal("root", map[0]);
            Assert.Equal("alice", map[1000]); // first entry wins, like getpwuid
            Assert.Equal(2, map.Count);
        }

        [Fact]
        public void UnknownUidIsShownAsItsNumber()
        {
            Assert.Equal("4000000001", new LinuxProcessCatalog().UserName(4000000001));
        }

        [Fact]
        public void ParsesEffectiveUidFromStatus()
        {
            var status = Encoding.ASCII.GetBytes("Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n");
            Assert.True(LinuxProcessCatalog.TryParseEffectiveUid(status, out uint uid));
            Assert.Equal(0u, uid);
            Assert.False(LinuxProcessCatalog.TryParseEffectiveUid(Encoding.ASCII.GetBytes("Name:\tx\n"), out _));
        }
    }
}
