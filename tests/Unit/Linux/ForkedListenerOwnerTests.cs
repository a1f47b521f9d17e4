using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>
    /// A pre-fork server: the parent listens, forks a worker, closes its own copy of the listener and
    /// keeps running. A long-running table that cached the parent as owner must notice, and report the
    /// worker, as a fresh table and lsof do: at once when the parent's open-fd count moved; within
    /// about SpotCheckPeriod (on the resolver's clock, which the test moves) when the parent reopened
    /// the fd number at once, leaving the count as it was.
    /// </summary>
    [Collection(LinuxSocketsCollection.Name)]
    public class ForkedListenerOwnerTests
    {
        private const string PreForkServer =
            "import os,socket,sys,time\n" +
            "l=socket.socket(); l.bind(('127.0.0.1',0)); l.listen()\n" +
            "print(l.getsockname()[1],flush=True)\n" +
            "sys.stdin.readline()\n" +
            "pid=os.fork()\n" +
            "if pid==0:\n" +
            "    os.close(0)\n" +
            "    while True: time.sleep(60)\n" +
            "print(pid,flush=True)\n" +
            "sys.stdin.readline()\n" +
            "fd=l.fileno(); l.close()\n" +
            "if sys.argv[1]=='reuse':\n" +
            "    x=socket.socket()\n" +               // takes the freed fd number: same fd, another socket, same count
            "    print('closed', x.fileno()==fd, flush=True)\n" +
            "else:\n" +
            "    print('closed', True, flush=True)\n" +
            "sys.stdin.read()\n";

        private static void Say(Process p, string line)
        {
            p.StandardInput.WriteLine(line);
            p.StandardInput.Flush();
        }

        [LinuxTheory]
        [InlineData("close", false)]
        [InlineData("reuse", false)]
        [InlineData("reuse", true)]
        public void CachedOwnerThatClosedItsCopyIsReplacedByTheProcessThatStillHoldsTheSocket(string mode, bool everyRead)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(PreForkServer);
            psi.ArgumentList.Add(mode);
            using var parent = Process.Start(psi);
            int worker = 0;
            try
            {
                int port = int.Parse(parent.StandardOutput.ReadLine());
                using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
                long clock = 1_000_000;
                table.OwnerResolver.ClockMs = () => clock;
                if (everyRead)
                {
                    table.OwnerResolver.SpotCheckPeriod = TimeSpan.Zero;
                    table.OwnerResolver.SpotCheckReads = 1;
                }
                long period = (long)table.OwnerResolver.SpotCheckPeriod.TotalMilliseconds;
                Func<LinuxConnectionTable, SocketEntry> listener = t => t.Read(new ConnectionQuery()).Entries
                    .Single(e => e.Protocol == TransportProtocol.Tcp && e.LocalPort == port && e.LocalAddress.Equals(IPAddress.Loopback));

                // Only the parent holds it.
                Assert.Equal(parent.Id, listener(table).ProcessId);

                // Both hold it: either is a true answer (ss -p lists both).
                Say(parent, "fork");
                worker = int.Parse(parent.StandardOutput.ReadLine());
                Assert.Contains(listener(table).ProcessId, new int?[] { parent.Id, worker });

                // The parent closes its copy and keeps running (in "reuse", its fd number now holds another socket).
                Say(parent, "close");
                Assert.Equal("closed True", parent.StandardOutput.ReadLine());
                Assert.False(parent.HasExited);

                var warm = listener(table);
                // A moved fd count (or checking every owner on every read) corrects the owner at once;
                // a close-then-open that kept the count is caught by the spot check, due within a period
                // of the owner being found and once a period after (reads a quarter period apart: 4 reads),
                // made at the owner's next turn in the rotation over SpotCheckReads (8) reads.
                bool atOnce = mode == "close" || everyRead;
                int reads = 1;
                for (; !atOnce && warm.ProcessId != worker && reads <= 4 + table.OwnerResolver.SpotCheckReads; reads++)
                {
                    clock += period / 4;
                    warm = listener(table);
                }
                Assert.Equal(worker, warm.ProcessId);
                if (mode == "reuse" && !everyRead)
                {
                    // Not before its time: the same story with the clock standing still leaves the parent in place.
                    Assert.True(reads > 1, "the stale owner was caught before any time passed");
                }
                Assert.Equal(worker, table.OwnerResolver.CachedOwner(warm.Inode.Value));

                // A fresh table and lsof agree.
                using (var fresh = new LinuxConnectionTable(LinuxTableMode.SockDiag))
                    Assert.Equal(worker, listener(fresh).ProcessId);
                Assert.Equal(new[] { worker }, LsofListeners(port));

                // Nothing moved since: the next read trusts the checked cache and walks nothing.
                Assert.Equal(worker, listener(table).ProcessId);
                Assert.Equal(0, table.OwnerResolver.LastStaleOwners);
            }
            finally
            {
                if (worker != 0) try { Process.GetProcessById(worker).Kill(); } catch (ArgumentException) { }
                if (!parent.HasExited) parent.Kill();
                parent.WaitForExit();
            }
        }

        /// <summary>PIDs lsof names as holding a TCP listener on the port.</summary>
        private static int[] LsofListeners(int port)
        {
            var psi = new ProcessStartInfo("lsof", $"-nP -t -iTCP@127.0.0.1:{port} -sTCP:LISTEN") { UseShellExecute = false, RedirectStandardOutput = true };
            using var p = Process.Start(psi);
            string text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).OrderBy(x => x).ToArray();
        }
    }
}
