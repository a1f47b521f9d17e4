using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>
    /// ProcessName must be what Get-Process shows (.NET's Process.ProcessName on Linux) however the
    /// process was started: through a #! line, directly under a long file name, or renamed with prctl.
    /// Real children; each is compared with .NET's answer and with the literal name a user would type.
    /// </summary>
    [Collection(LinuxSocketsCollection.Name)]
    public class ProcessNameTests : IDisposable
    {
        private const string ListenAndWait =
            "import socket,sys\n" +
            "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\n" +
            "print(s.getsockname()[1],flush=True)\n" +
            "sys.stdin.read()\n";

        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-names-" + Guid.NewGuid().ToString("N"));
        private readonly List<Process> _children = new List<Process>();

        public ProcessNameTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            foreach (var p in _children)
            {
                try { if (!p.HasExited) p.Kill(); p.WaitForExit(); } catch (InvalidOperationException) { }
                p.Dispose();
            }
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private Process Start(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            var p = Process.Start(psi);
            _children.Add(p);
            return p;
        }

        private string Script(string fileName, string text)
        {
            string path = Path.Combine(_dir, fileName);
            File.WriteAllText(path, text);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return path;
        }

        private static string Comm(int pid) => File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n');

        private static string DotNetName(int pid)
        {
            using var p = Process.GetProcessById(pid);
            return p.ProcessName;
        }

        [LinuxFact]
        public void PythonScriptStartedThroughItsShebangLineKeepsItsWholeName()
        {
            // ansible-playbook is a #!/usr/bin/python3 script of 16 bytes' name: the kernel's comm is
            // "ansible-playboo", argv is [/usr/bin/python3, /…/ansible-playbook].
            string script = Script("ansible-playbook", "#!/usr/bin/python3\n" + ListenAndWait);
            var child = Start(script);
            int port = int.Parse(child.StandardOutput.ReadLine());
            Assert.Equal("ansible-playboo", Comm(child.Id));

            using var engine = new MonitorEngine(new LinuxPlatform());
            var row = engine.TakeSnapshot().Connections
                .Single(c => c.Protocol == TransportProtocol.Tcp && c.LocalPort == port && c.LocalAddress.Equals(IPAddress.Loopback));
            Assert.Equal(child.Id, row.ProcessId);
            Assert.Equal("ansible-playbook", row.ProcessName);
            Assert.Equal(DotNetName(child.Id), row.ProcessName);

            // What -ProcessName ansible-playbook asks for finds it (and the cut name does not).
            var byName = engine.TakeSnapshot(new ConnectionQuery { ProcessNames = new[] { new Wildcard("ansible-playbook") } }).Connections;
            Assert.Contains(byName, c => c.LocalPort == port && c.ProcessId == child.Id);
            var byCutName = engine.TakeSnapshot(new ConnectionQuery { ProcessNames = new[] { new Wildcard("ansible-playboo") } }).Connections;
            Assert.DoesNotContain(byCutName, c => c.LocalPort == port);
        }

        [LinuxFact]
        public void ShellScriptStartedThroughItsShebangLineKeepsItsWholeName()
        {
            string script = Script("nightly-backup-rotation.sh", "#!/bin/sh\necho ready\nread line\n");
            var child = Start(script);
            Assert.Equal("ready", child.StandardOutput.ReadLine());
            Assert.Equal("nightly-backup-", Comm(child.Id));

            var info = new LinuxProcessCatalog().Lookup(new[] { child.Id })[child.Id];
            Assert.Equal("nightly-backup-rotation.sh", info.Name);
            Assert.Equal(DotNetName(child.Id), info.Name);
        }

        [LinuxFact]
        public void BinaryStartedDirectlyUnderALongNameKeepsItsWholeName()
        {
            string copy = Path.Combine(_dir, "sleep-for-a-very-long-time");
            File.Copy("/usr/bin/sleep", copy);
            File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var child = Start(copy, "60");
            LoopbackSockets.WaitUntil(() => Comm(child.Id) == "sleep-for-a-ver");

            var info = new LinuxProcessCatalog().Lookup(new[] { child.Id })[child.Id];
            Assert.Equal("sleep-for-a-very-long-time", info.Name);
            Assert.Equal(DotNetName(child.Id), info.Name);
            Assert.Equal(copy, info.Path);
        }

        [LinuxTheory]
        [InlineData("renamed-worker")]   // argv[0] python3 does not start with it: .NET shows comm
        [InlineData("py")]               // argv[0] python3 starts with it: .NET shows python3
        [InlineData("abcdefghijklmno")]  // 15 bytes, prefix of no argument: comm
        [InlineData("PYTHON")]           // the prefix test ignores case, as .NET's does
        public void ProcessRenamedWithPrctlShowsWhatDotNetShows(string newName)
        {
            // Listen first, so the name is looked up through the connection table the way cmdlets do;
            // the catalog has already cached the process under its old name when it renames itself.
            var child = Start("/usr/bin/python3", "-c",
                "import ctypes,socket,sys\n" +
                "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\n" +
                "print(s.getsockname()[1],flush=True)\n" +
                "sys.stdin.readline()\n" +
                "ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)\n" +  // PR_SET_NAME
                "print('renamed',flush=True)\n" +
                "sys.stdin.read()\n",
                newName);
            int port = int.Parse(child.StandardOutput.ReadLine());
            using var engine = new MonitorEngine(new LinuxPlatform());
            Func<ConnectionRecord> row = () => engine.TakeSnapshot().Connections
                .Single(c => c.Protocol == TransportProtocol.Tcp && c.LocalPort == port && c.LocalAddress.Equals(IPAddress.Loopback));
            Assert.Equal("python3", row().ProcessName);

            child.StandardInput.WriteLine("go");
            child.StandardInput.Flush();
            Assert.Equal("renamed", child.StandardOutput.ReadLine());
            Assert.Equal(newName, Comm(child.Id));

            string expected = DotNetName(child.Id);
            Assert.Equal(newName == "py" || newName == "PYTHON" ? "python3" : newName, expected); // pins .NET's rule
            Assert.Equal(expected, row().ProcessName);
        }

        [Theory]
        [InlineData("/usr/bin/python3\0/opt/x/ansible-playbook\0--check\0", "ansible-playboo", "ansible-playbook")]
        [InlineData("/usr/bin/python3\0-c\0print()\0", "python3", "python3")]
        [InlineData("/tmp/sleep-for-a-very-long-time\060\0", "sleep-for-a-ver", "sleep-for-a-very-long-time")]
        [InlineData("/usr/bin/python3\0-c\0", "renamed-worker", "renamed-worker")]
        [InlineData("/usr/bin/python3\0-c\0", "py", "python3")]
        [InlineData("/usr/bin/Python3\0", "pyth", "Python3")]              // case-insensitive prefix, argv's spelling
        [InlineData("", "kworker/0:1", "kworker/0:1")]                      // kernel thread: no cmdline
        [InlineData("/usr/bin/no-terminator", "no-terminat", "no-terminat")] // argv[0] not NUL-terminated: comm
        [InlineData("a\0b\0c/ansible-playbook\0", "ansible-playboo", "ansible-playboo")] // only argv[0] and argv[1] count
        [InlineData("nginx: worker process\0\0", "nginx", "nginx: worker process")]     // rewritten argv that still starts with comm
        [InlineData("/usr/bin/x\0/usr/bin/\0", "", "x")]                      // empty comm is a prefix of anything
        public void NameFromCmdlineFollowsDotNet(string cmdline, string comm, string expected)
        {
            Assert.Equal(expected, LinuxProcessCatalog.NameFromCmdline(Encoding.UTF8.GetBytes(cmdline), comm));
        }

        /// <summary>
        /// A name whose 16th byte falls inside a character: the kernel's comm ends in half of it (decoded as U+FFFD), and the
        /// name is still untruncated from argv[0] (a newcomer's trial: "ééééééé�" stayed cut, and -ProcessName '*fam*' found nothing).
        /// </summary>
        [Theory]
        [InlineData("éééééééélong")]
        [InlineData("👨‍👩‍👧fam")]
        public void ANameTheKernelCutInsideACharacterIsUntruncatedToo(string name)
        {
            byte[] full = Encoding.UTF8.GetBytes(name);
            string comm = ProcFs.DecodeLenient(new ReadOnlySpan<byte>(full, 0, 15));
            Assert.EndsWith("\uFFFD", comm);
            Assert.Equal(name, LinuxProcessCatalog.NameFromCmdline(Encoding.UTF8.GetBytes("/usr/local/bin/" + name + "\0-x\0"), comm));
            // A process that rewrote its argv to something else keeps its (cut) comm.
            Assert.Equal(comm, LinuxProcessCatalog.NameFromCmdline(Encoding.UTF8.GetBytes("/usr/bin/other\0-x\0"), comm));
        }

        [Fact]
        public void NameFromCmdlineDecodesInvalidUtf8Leniently()
        {
            var cmdline = new byte[] { (byte)'/', (byte)'b', (byte)'/', (byte)'a', (byte)'b', 0xFF, (byte)'c', 0 };
            Assert.Equal("ab\uFFFDc", LinuxProcessCatalog.NameFromCmdline(cmdline, "ab"));
        }
    }
}
