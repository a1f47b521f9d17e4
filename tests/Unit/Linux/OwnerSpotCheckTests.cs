using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>
    /// The spot checks of cached owners (SocketOwnerResolver's remarks) on a real process holding 80 sockets, one of
    /// which it swaps for another socket under the same fd number (dup2), so its open-fd count does not move: only a
    /// spot check can notice. Whatever the pace of reads, every owner must get its check — the one swapped last in
    /// row order too — and no read may check much more than its share.
    /// </summary>
    [Collection(LinuxSocketsCollection.Name)]
    public class OwnerSpotCheckTests
    {
        private const string Holder =
            "import os,socket,sys\n" +
            "s=[socket.socket() for _ in range(80)]\n" +
            "print(' '.join(str(x.fileno()) for x in s),flush=True)\n" +
            "sys.stdin.readline()\n" +
            "n=socket.socket(); os.dup2(n.fileno(), s[-1].fileno()); n.close()\n" +
            "print('swapped',flush=True)\n" +
            "sys.stdin.read()\n";

        [LinuxTheory]
        [InlineData(30_000, 30_000, 9)]  // reads a period apart: each owner is due at every read, its turn within 8 reads
        [InlineData(30_000, 7_500, 13)]  // reads a quarter period apart: due within a period (4 reads), then its turn
        [InlineData(0, 1_000, 9)]        // no period: every turn is a check
        public void EveryOwnerIsCheckedWithinAPeriodAndItsTurnAndNoReadChecksMuchMoreThanItsShare(int periodMs, int stepMs, int maxReads)
        {
            using (var holder = new PythonChild(Holder))
            {
                var inodes = holder.ReadLine().Split(' ').Select(fd => PythonChild.SocketInode(holder.Id, int.Parse(fd))).ToList();
                var rows = inodes.Select(i => new SocketEntry { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, Inode = i }).ToList();
                long clock = 1_000_000;
                var resolver = new SocketOwnerResolver { ClockMs = () => clock, SpotCheckPeriod = TimeSpan.FromMilliseconds(periodMs) };
                resolver.Resolve(rows, 0xF);
                Assert.Equal(holder.Id, resolver.CachedOwner(inodes[^1]));
                // The walk took the holder's open-fd count before it scanned, so the next read checks only what is due and
                // whose turn it is (nothing is due with a period: the clock stands still) instead of all 80 for want of a count.
                resolver.Resolve(rows, 0xF);
                Assert.Equal(periodMs == 0 ? inodes.Count(i => i % 8 == 2) : 0, resolver.LastOwnerChecks);

                holder.Say("swap");
                Assert.Equal("swapped", holder.ReadLine());
                int reads = 0, most = 0;
                while (reads < maxReads && resolver.CachedOwner(inodes[^1]) == holder.Id)
                {
                    clock += stepMs;
                    resolver.Resolve(rows, 0xF);
                    reads++;
                    most = Math.Max(most, resolver.LastOwnerChecks);
                }
                Assert.NotEqual(holder.Id, resolver.CachedOwner(inodes[^1]));
                // A turn is the inodes of one residue mod 8: about 10 of 80, never all of them.
                Assert.InRange(most, 1, 30);
                // The other 79 stay with the holder.
                Assert.All(inodes.Take(79), i => Assert.Equal(holder.Id, resolver.CachedOwner(i)));
            }
        }

        /// <summary>
        /// A socket no walk can attribute (here an inode no process holds; on a machine, one only an unreadable process holds:
        /// PID 1 in a container, another user's process when unprivileged) is sought again every RecheckInterval reads. Such a
        /// search skips a process whose open-fd count has not moved since its last complete scan — it cannot have gained
        /// the socket without opening or receiving an fd — except every FullRecheckEvery-th search, which reads every process.
        /// </summary>
        [LinuxFact]
        public void ASearchForUnattributedSocketsSkipsProcessesWhoseFdsHaveNotMoved()
        {
            const string holder40 =
                "import socket,sys\n" +
                "s=[socket.socket() for _ in range(40)]\n" +
                "print(' '.join(str(x.fileno()) for x in s),flush=True)\n" +
                "sys.stdin.readline()\n" +
                "s.append(socket.socket())\n" +
                "print('opened',flush=True)\n" +
                "sys.stdin.read()\n";
            using (var holder = new PythonChild(holder40))
            {
                var inodes = holder.ReadLine().Split(' ').Select(fd => PythonChild.SocketInode(holder.Id, int.Parse(fd))).ToList();
                const ulong nobodys = ulong.MaxValue - 5;
                var rows = inodes.Append(nobodys).Select(i => new SocketEntry { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, Inode = i }).ToList();
                var resolver = new SocketOwnerResolver { RecheckInterval = 1, FullRecheckEvery = 3 };

                resolver.Resolve(rows, 0xF); // a full walk: the holder's 40 found, the other one nowhere
                Assert.Contains(holder.Id, resolver.LastWalkScanned);
                Assert.Equal(holder.Id, resolver.CachedOwner(inodes[0]));
                Assert.Null(resolver.CachedOwner(nobodys));

                resolver.Resolve(rows, 0xF); // 1st search: the holder's fds have not moved
                Assert.Equal(SocketOwnerResolver.WalkKind.Full, resolver.LastWalk);
                Assert.DoesNotContain(holder.Id, resolver.LastWalkScanned);
                resolver.Resolve(rows, 0xF); // 2nd
                Assert.DoesNotContain(holder.Id, resolver.LastWalkScanned);
                resolver.Resolve(rows, 0xF); // 3rd: every process
                Assert.Contains(holder.Id, resolver.LastWalkScanned);

                holder.Say("open");
                Assert.Equal("opened", holder.ReadLine());
                resolver.Resolve(rows, 0xF); // 4th: a skipping one, but the holder opened an fd
                Assert.Contains(holder.Id, resolver.LastWalkScanned);
                resolver.Resolve(rows, 0xF); // 5th: not moved since
                Assert.DoesNotContain(holder.Id, resolver.LastWalkScanned);
                Assert.All(inodes, i => Assert.Equal(holder.Id, resolver.CachedOwner(i)));
                Assert.Null(resolver.CachedOwner(nobodys));
            }
        }
    }
}
