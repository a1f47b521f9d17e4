using System;
using System.Collections.Generic;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Finds the process that holds each socket (inode → PID) by reading /proc/&lt;pid&gt;/fd/* links,
    /// as ss -p does, and remembers the answers (PID and fd number) so that a repeated read walks /proc
    /// only for sockets it has not seen before. Not thread-safe: the connection table serialises calls.
    /// </summary>
    /// <remarks>
    /// A remembered owner can go stale while it lives: a server forks a worker and closes its own copy
    /// of the listener. So owners are re-checked, each with one readlinkat of /proc/&lt;pid&gt;/fd/&lt;fd&gt;
    /// (does it still read socket:[inode]?); a failed check makes the socket one to seek afresh. At
    /// about 4–6 µs per readlinkat, checking every owner on every read would cost as much as the owner
    /// walk it saves, so each read first asks every owning process for its open-fd count (one statx of
    /// /proc/&lt;pid&gt;/fd, whose size procfs reports as that count since Linux 6.2): a process whose
    /// count moved has its fd table read whole, which checks all its cached sockets at once and finds any socket
    /// it received that the cache gives to another process. A handover to a new process (a fork-per-connection
    /// server's worker, a pre-fork server's, a daemon's double-forked grandchild) need not move the old owner's
    /// count: the parent that closes its copy and blocks in accept() again is back at the same count, since the
    /// blocking accept() reserves an fd. So each process new since the last read has its fds read once too (see
    /// <see cref="NoteNewProcesses"/>). A cached socket that a process read whole holds while the cache gives it to
    /// another is checked at that read and at every read for <see cref="HandoverWatchPeriod"/> after, however long
    /// its first owner takes to close its copy.
    /// The sockets of a process whose count did not move are spot
    /// checked: an owner is checked when it is due, once every <see cref="SpotCheckPeriod"/> (first due
    /// at a point spread over one period from when it was found, so the checks do not come all at once),
    /// and its turn has come in a rotation over <see cref="SpotCheckReads"/> reads (its inode's slice),
    /// so no read checks more than about 1/SpotCheckReads of the owners. That catches a close followed by
    /// an open that left the count as it was within about one period plus SpotCheckReads reads when reads
    /// come often (once a second: about 40 s, some 330 checks a read at 10,000 sockets), and within
    /// SpotCheckReads reads when they come more than a period apart.
    /// Where the count is unknown (older kernels, a tree that is not procfs) every owner is checked on
    /// every read.
    /// </remarks>
    internal sealed class SocketOwnerResolver
    {
        /// <summary>What the last <see cref="Resolve"/> had to do; tests and benchmarks look at it.</summary>
        internal enum WalkKind { None, Partial, Full }

        private sealed class Owner
        {
            internal int Pid;
            internal int Fd; // where the socket was found in the owner's fd table; -1 when the entry name was not a number
            internal byte Kind;
            internal int SeenInRead;
            internal long NextSpotCheckMs; // on ClockMs; see SpotCheckPeriod
            internal long WatchUntilMs;    // on ClockMs: a process read whole holds it too, so it is checked at every read until then
        }

        private sealed class OwningProcess
        {
            internal ulong StartTicks;
            internal int FdCount;          // fds seen by its last complete scan: orders the walk
            internal int OpenFds = -2;     // open-fd count at the last check (-1 unknown, -2 never asked)
        }

        private sealed class Unattributed
        {
            internal byte Kind;
            internal int SeenInRead;
            internal int LastSoughtInRead;
        }

        private readonly Dictionary<ulong, Owner> _owners = new Dictionary<ulong, Owner>();
        // Sockets a full walk could not attribute (other users' processes when unprivileged, fds held
        // by processes in other PID namespaces, sockets only the kernel holds). Seeking them on every
        // read would make every read a full walk, so they wait for RecheckInterval reads.
        private readonly Dictionary<ulong, Unattributed> _unattributed = new Dictionary<ulong, Unattributed>();
        // Start time of each owning PID when it was attributed: a changed or missing start time means
        // the process exited (and perhaps the PID was reused), so its cache entries are stale. The fd
        // count from its last scan orders the next partial walk.
        private readonly Dictionary<int, OwningProcess> _owningProcesses = new Dictionary<int, OwningProcess>();
        private readonly ProcFs _proc;
        private int _read;
        // Processes seen by the last read (null before the first); and owners to read whole at this read and the next, by
        // the read that noted them: parents of new processes whose fds we may not read (NoteNewProcesses), and owners that
        // share many sockets with one scanned process (Resolve).
        private HashSet<int> _knownPids;
        // This read's whole-table scans (processes new since the last read, and owners whose open-fd count moved), by PID:
        // the row checks and the walk use them rather than read the fds again. The last read's are kept for their tables.
        private readonly Dictionary<int, FdScan> _scans = new Dictionary<int, FdScan>();
        private readonly Dictionary<int, FdScan> _spareScans = new Dictionary<int, FdScan>();
        // Owners whose count moved but whose fds could not be read whole: each cached socket is checked on its own.
        private readonly HashSet<int> _checkEach = new HashSet<int>();
        // Socket inode → the scanned process holding it (-1 when more than one does).
        private readonly Dictionary<ulong, int> _heldByScanned = new Dictionary<ulong, int>();

        private sealed class FdScan
        {
            internal readonly Dictionary<ulong, int> Held = new Dictionary<ulong, int>(); // socket inode → fd
            internal int Fds;        // fds looked at
            internal int OpenBefore; // open-fd count just before the scan
        }
        private readonly Dictionary<int, int> _forkedInRead = new Dictionary<int, int>();
        // Each process's open-fd count from just before its last complete scan, by PID (dropped with the PID): a recheck of
        // unattributed sockets skips a process whose count has not moved since, as it cannot have gained them without
        // opening or receiving an fd (but for a close-then-receive that kept the count, which every FullRecheckEvery-th
        // recheck covers).
        private readonly Dictionary<int, ScannedCount> _scannedOpenFds = new Dictionary<int, ScannedCount>();

        private struct ScannedCount
        {
            internal int OpenFds;
            internal ulong StartTicks; // which process had the PID (a PID reused between two reads is another process)
        }
        private int _rechecks;

        /// <summary>Resolves against the running system's /proc.</summary>
        internal SocketOwnerResolver() : this(ProcFs.Default) { }

        /// <summary>Resolves against the given procfs tree (tests pass a fake one).</summary>
        internal SocketOwnerResolver(ProcFs proc)
        {
            _proc = proc ?? throw new ArgumentNullException(nameof(proc));
        }

        /// <summary>Reads between searches for sockets whose owner a full walk did not find.</summary>
        internal int RecheckInterval { get; set; } = 10;

        /// <summary>
        /// Every how many of those searches reads every process again, even those whose open-fd count has not moved
        /// since their last complete scan (the others skip them: a socket that only a process we may not read holds —
        /// PID 1 in a container, another user's when unprivileged — would otherwise have each search read the fds of
        /// every process, 10,000 readlinkat for one process holding 10,000 sockets).
        /// </summary>
        internal int FullRecheckEvery { get; set; } = 6;

        /// <summary>
        /// On the first read (no earlier listing of /proc), processes started this recently count as new since the last
        /// read (their fds are read, and the sockets they hold watched).
        /// </summary>
        internal TimeSpan FirstReadNewWindow { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>
        /// How long a cached socket that a new process was seen holding is checked at every read (one readlinkat a
        /// read): its first owner may close its copy any time after the fork, and its count need not move when it does.
        /// After that, the spot checks cover it.
        /// </summary>
        internal TimeSpan HandoverWatchPeriod { get; set; } = TimeSpan.FromSeconds(60);

        /// <summary>Processes new since the last read whose fds the last <see cref="Resolve"/> read; for tests.</summary>
        internal int LastNewProcessesScanned { get; private set; }

        /// <summary>Whether the last <see cref="Resolve"/> read the process's whole fd table (it was new, or an owner whose count moved); for tests.</summary>
        internal bool LastReadWhole(int pid) => _lastReadWhole.Contains(pid);

        /// <summary>PIDs whose fds the last walk read; for tests.</summary>
        internal IReadOnlyCollection<int> LastWalkScanned => _lastWalkScanned;
        private readonly List<int> _lastWalkScanned = new List<int>();

        /// <summary>
        /// How often each cached owner of a process whose open-fd count stayed the same is checked (zero: at
        /// each of its turns in the <see cref="SpotCheckReads"/> rotation). With the rotation, the bound on how
        /// long a close-then-open that kept the count can leave a stale owner.
        /// </summary>
        internal TimeSpan SpotCheckPeriod { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>
        /// Reads over which every cached owner has one turn to be spot checked (1: a turn on every read): a read
        /// checks at most the owners whose turn it is, about 1/SpotCheckReads of them, so reads that come seldom
        /// cost no more than that, and each owner that is due is checked within that many reads.
        /// </summary>
        internal int SpotCheckReads { get; set; } = 8;

        /// <summary>Milliseconds of a monotonic clock for <see cref="SpotCheckPeriod"/>; tests substitute their own.</summary>
        internal Func<long> ClockMs { get; set; } = () => (long)(System.Diagnostics.Stopwatch.GetTimestamp() / (double)System.Diagnostics.Stopwatch.Frequency * 1000);

        /// <summary>Cached owners the last <see cref="Resolve"/> checked with a readlinkat; for tests and benchmarks.</summary>
        internal int LastOwnerChecks { get; private set; }

        internal WalkKind LastWalk { get; private set; }
        internal int LastWalkProcesses { get; private set; }
        internal int LastWalkFds { get; private set; }
        /// <summary>Cached owners the last <see cref="Resolve"/> found no longer holding their socket.</summary>
        internal int LastStaleOwners { get; private set; }
        /// <summary>The PID cached for a socket inode, or null; for tests.</summary>
        internal int? CachedOwner(ulong inode) => _owners.TryGetValue(inode, out var o) ? o.Pid : (int?)null;
        internal int CachedOwnerCount => _owners.Count;
        internal int UnattributedCount => _unattributed.Count;
        internal bool IsCached(ulong inode) => _owners.ContainsKey(inode) || _unattributed.ContainsKey(inode);

        /// <summary>
        /// Sets ProcessId on each row whose owner can be found. <paramref name="kindsRead"/> says which
        /// protocol/family combinations this read covered (see <see cref="KindOf"/>), so cache entries of
        /// other kinds survive a narrower read while vanished sockets of the covered kinds are dropped.
        /// </summary>
        internal void Resolve(List<SocketEntry> rows, byte kindsRead)
        {
            _read++;
            RecycleScans(); // a read that failed part way left its scans behind: none may be trusted now
            DropExitedProcesses();
            NoteNewProcesses();
            ScanMovedOwners();
            bool anyScanned = _heldByScanned.Count > 0;

            var mustFind = new HashSet<ulong>();
            var mayFind = new HashSet<ulong>();
            bool recheckDue = false;
            int stale = 0;
            var checks = new OwnerChecks(this);
            int lastScanPid = -1;
            FdScan lastScan = null;
            try
            {
                foreach (var row in rows)
                {
                    if (row.Inode == null) continue;
                    ulong inode = row.Inode.Value;
                    if (_owners.TryGetValue(inode, out var owner))
                    {
                        // Trust the cache only while the owner's fd still is this socket: it may have
                        // handed the socket to a child and closed its own copy, or reused the fd number.
                        // An owner whose fds were read whole at this read answers from that scan.
                        bool holds;
                        var scan = owner.Pid == lastScanPid ? lastScan : ScanOf(owner.Pid, ref lastScanPid, ref lastScan);
                        if (scan != null)
                        {
                            holds = scan.Held.TryGetValue(inode, out int fd);
                            if (holds) owner.Fd = fd;
                        }
                        else holds = owner.Fd < 0 || !checks.ShouldCheck(owner, inode, anyScanned && HeldByAnotherScannedProcess(inode, owner.Pid), out int fdDirectory)
                            || ProcFs.HoldsSocket(fdDirectory, owner.Fd, inode);
                        if (holds)
                        {
                            owner.SeenInRead = _read;
                            continue;
                        }
                        _owners.Remove(inode);
                        stale++;
                        _unattributed[inode] = new Unattributed { Kind = owner.Kind, SeenInRead = _read, LastSoughtInRead = 0 };
                        mustFind.Add(inode);
                        continue;
                    }
                    if (_unattributed.TryGetValue(inode, out var u))
                    {
                        u.SeenInRead = _read;
                        mayFind.Add(inode);
                        if (_read - u.LastSoughtInRead >= RecheckInterval) recheckDue = true;
                        continue;
                    }
                    _unattributed[inode] = new Unattributed { Kind = KindOf(row), SeenInRead = _read, LastSoughtInRead = 0 };
                    mustFind.Add(inode);
                }
            }
            finally
            {
                checks.Dispose();
            }
            LastStaleOwners = stale;
            LastOwnerChecks = checks.Count;
            // A process read whole had its moved count taken, which its other cached sockets will no longer be checked
            // for: those this read did not cover (another protocol's) and that it no longer holds are forgotten, to be
            // sought afresh when a read covers them.
            if (_scans.Count > 0)
            {
                List<ulong> dropped = null;
                foreach (var kv in _owners)
                    if (kv.Value.SeenInRead != _read && _scans.TryGetValue(kv.Value.Pid, out var scan) && !scan.Held.ContainsKey(kv.Key))
                        (dropped ?? (dropped = new List<ulong>())).Add(kv.Key);
                if (dropped != null) foreach (ulong inode in dropped) _owners.Remove(inode);
            }

            // Only sockets sought before (no new one, no stale owner): processes whose fds have not moved may be skipped.
            bool skipUnmoved = false;
            if (recheckDue)
            {
                skipUnmoved = mustFind.Count == 0 && _rechecks++ % Math.Max(1, FullRecheckEvery) != Math.Max(1, FullRecheckEvery) - 1;
                mustFind.UnionWith(mayFind);
                mayFind.Clear();
            }
            LastWalk = WalkKind.None;
            LastWalkProcesses = LastWalkFds = 0;
            _lastWalkScanned.Clear();
            if (mustFind.Count > 0) Walk(mustFind, mayFind, skipUnmoved);

            // Sockets that a scanned process holds while the cache (or this walk) gives them to another process are watched
            // from now on: a new process shares them with its parent, a process whose count moved may have received them.
            // A process that shares many with one other (a fork that hands nothing over: a Redis BGSAVE, a shell that
            // inherited the sockets) would make every read check them all for the watch's length; their owner is read
            // whole at the next read instead, and spot checks cover the rest.
            if (anyScanned)
            {
                long until = ClockMs() + (long)HandoverWatchPeriod.TotalMilliseconds;
                var sharedBy = new Dictionary<int, int>();
                foreach (var kv in _heldByScanned)
                    if (kv.Value >= 0 && _owners.TryGetValue(kv.Key, out var o) && o.Pid != kv.Value)
                        sharedBy[kv.Value] = sharedBy.TryGetValue(kv.Value, out int n) ? n + 1 : 1;
                foreach (var kv in _heldByScanned)
                {
                    if (!_owners.TryGetValue(kv.Key, out var o) || !HeldByAnotherScannedProcess(kv.Key, o.Pid)) continue;
                    if (kv.Value >= 0 && sharedBy[kv.Value] > MaxWatchedPerSharer) _forkedInRead[o.Pid] = _read;
                    else o.WatchUntilMs = until;
                }
            }
            RecycleScans();

            foreach (var row in rows)
                if (row.Inode != null && _owners.TryGetValue(row.Inode.Value, out var owner))
                    row.ProcessId = owner.Pid;

            Prune(kindsRead);
        }

        /// <summary>
        /// Whether a process whose fds this read scanned whole holds the socket and is not its cached owner
        /// <paramref name="ownerPid"/> (a process's own sockets need no watch; one it shares with, or received from,
        /// another does).
        /// </summary>
        private bool HeldByAnotherScannedProcess(ulong inode, int ownerPid) => _heldByScanned.TryGetValue(inode, out int pid) && pid != ownerPid;

        /// <summary>Sockets one scanned process may share with other owners and still have each watched; see Resolve.</summary>
        internal const int MaxWatchedPerSharer = 32;

        /// <summary>This read's scans become the spares whose tables the next read's scans of the same processes reuse.</summary>
        private void RecycleScans()
        {
            _heldByScanned.Clear();
            _lastReadWhole.Clear();
            if (_scans.Count == 0) return;
            _spareScans.Clear();
            foreach (var kv in _scans)
            {
                _spareScans[kv.Key] = kv.Value;
                _lastReadWhole.Add(kv.Key);
            }
            _scans.Clear();
        }

        private readonly HashSet<int> _lastReadWhole = new HashSet<int>();

        private FdScan ScanOf(int pid, ref int lastPid, ref FdScan last)
        {
            _scans.TryGetValue(pid, out last);
            lastPid = pid;
            return last;
        }

        /// <summary>
        /// Reads every fd of the process (one getdents and a readlinkat per fd) into this read's scans and
        /// <see cref="_heldByScanned"/>; null when the fds cannot be read (exited, another user's process).
        /// </summary>
        private FdScan ScanWhole(int pid, int openBefore)
        {
            if (_spareScans.TryGetValue(pid, out var scan)) { _spareScans.Remove(pid); scan.Held.Clear(); }
            else scan = new FdScan();
            scan.OpenBefore = openBefore;
            scan.Fds = _proc.ScanSocketInodes(pid, (fd, inode) =>
            {
                scan.Held[inode] = fd;
                _heldByScanned[inode] = _heldByScanned.TryGetValue(inode, out int other) && other != pid ? -1 : pid;
                return true;
            });
            if (scan.Fds < 0) return null;
            _scans[pid] = scan;
            return scan;
        }

        /// <summary>
        /// Asks every owning process for its open-fd count (one statx of /proc/&lt;pid&gt;/fd each) and reads whole the
        /// fd table of each whose count moved (or which was noted for it: a new child whose fds we may not read, or one
        /// that shares many of its sockets): that one scan checks all its cached sockets, and finds sockets it gained that
        /// the cache gives to another process (passed over a Unix socket), whose owner is then checked. Where the count
        /// is unknown (kernels before 6.2) each of its cached sockets in the rows is checked instead.
        /// </summary>
        private void ScanMovedOwners()
        {
            _checkEach.Clear();
            foreach (var kv in _owningProcesses)
            {
                int pid = kv.Key;
                if (_scans.ContainsKey(pid)) continue; // new since the last read (a reused PID): read already
                int open = _proc.OpenFdCount(pid);
                bool moved = open < 0 || open != kv.Value.OpenFds || _forkedInRead.ContainsKey(pid);
                kv.Value.OpenFds = open;
                if (!moved) continue;
                // No count (a kernel before 6.2): each cached socket in the rows is checked, one readlinkat each, rather than
                // every fd (files included) read at every read.
                if (open < 0 || ScanWhole(pid, open) == null) _checkEach.Add(pid);
            }
        }

        /// <summary>
        /// Walks /proc until every inode in mustFind is attributed (or all processes are read).
        /// Owners of mayFind inodes met on the way are recorded too, for free.
        /// </summary>
        private void Walk(HashSet<ulong> mustFind, HashSet<ulong> mayFind, bool skipUnmoved)
        {
            int remaining = mustFind.Count;
            // A complete scan vouches that a process holds none of the unattributed sockets only when the walk sought them all
            // (a TCP-only read does not seek the UDP ones, nor any read those of sockets gone since the last).
            bool seeksAll = mustFind.Count + mayFind.Count == _unattributed.Count;
            var allPids = _knownPids; // this read's listing of /proc (NoteNewProcesses, at the start of Resolve)
            // PIDs that already own sockets first (new sockets mostly come from servers accepting and
            // clients connecting again), those with fewest fds first, so that one process holding
            // thousands of sockets is not re-read to find a socket some small process opened.
            var known = new List<KeyValuePair<int, OwningProcess>>(_owningProcesses);
            known.Sort((a, b) => a.Value.FdCount.CompareTo(b.Value.FdCount));
            var order = new List<int>(allPids.Count);
            foreach (var kv in known) order.Add(kv.Key);
            foreach (int pid in allPids) if (!_owningProcesses.ContainsKey(pid)) order.Add(pid);

            int processes = 0, fds = 0, next = 0;
            long now = ClockMs();
            while (next < order.Count && remaining > 0)
            {
                int pid = order[next++];
                bool foundHere = false;
                // The open-fd count from before the scan: the next read compares against it, so a process found now is not
                // checked whole at the next read for want of a count (10,000 readlinkat, 57 ms of a first
                // Get-MonitoredConnection), and an fd that changes during or after the scan still moves the count.
                // A process whose fds were read whole at the start of this read (new, or its count moved): that scan is
                // replayed, with the count from before it.
                _scans.TryGetValue(pid, out var scanned);
                int openBefore = scanned != null ? scanned.OpenBefore : _proc.OpenFdCount(pid);
                if (skipUnmoved && openBefore >= 0 && _scannedOpenFds.TryGetValue(pid, out var counted) && counted.OpenFds == openBefore
                    && _proc.TryReadStartTicks(pid, out ulong startNow) && startNow == counted.StartTicks) continue; // the same process, its fds unmoved
                _lastWalkScanned.Add(pid);
                ProcFs.SocketInodeVisitor visit = (fd, inode) =>
                {
                    bool must = mustFind.Remove(inode);
                    if (must || mayFind.Remove(inode))
                    {
                        _unattributed.TryGetValue(inode, out var u);
                        _unattributed.Remove(inode);
                        _owners[inode] = new Owner { Pid = pid, Fd = fd, Kind = u?.Kind ?? 0, SeenInRead = _read, NextSpotCheckMs = FirstSpotCheck(inode, now) };
                        foundHere = true;
                        if (must && --remaining == 0) return false;
                    }
                    return true;
                };
                int n;
                if (scanned == null) n = _proc.ScanSocketInodes(pid, visit);
                else
                {
                    n = scanned.Fds;
                    foreach (var socket in scanned.Held) if (!visit(socket.Value, socket.Key)) break;
                }
                if (n < 0) continue; // exited, or another user's process we may not read
                processes++;
                fds += n;
                // A scan cut short by the last find saw only part of the fds: keep the old count then.
                bool complete = remaining > 0;
                bool vouches = complete && seeksAll && openBefore >= 0;
                bool owner = _owningProcesses.TryGetValue(pid, out var owning);
                // One read of the start time serves both uses: which process the count belongs to, and a new owner's identity.
                ulong start = 0;
                bool alive = (vouches || (!owner && foundHere)) && _proc.TryReadStartTicks(pid, out start);
                if (vouches && alive) _scannedOpenFds[pid] = new ScannedCount { OpenFds = openBefore, StartTicks = start };
                if (owner) { if (complete) owning.FdCount = n; }
                else if (foundHere)
                {
                    if (alive) _owningProcesses[pid] = new OwningProcess { StartTicks = start, FdCount = n, OpenFds = openBefore };
                    else ForgetPid(pid); // exited while we looked: its sockets are someone else's now, or gone
                }
            }
            bool stoppedEarly = next < order.Count;

            // What is still unattributed was sought in this read; if the walk covered every process,
            // the may-find ones were effectively sought as well.
            foreach (ulong inode in mustFind)
                if (_unattributed.TryGetValue(inode, out var u)) u.LastSoughtInRead = _read;
            if (!stoppedEarly)
                foreach (ulong inode in mayFind)
                    if (_unattributed.TryGetValue(inode, out var u)) u.LastSoughtInRead = _read;

            LastWalk = stoppedEarly ? WalkKind.Partial : WalkKind.Full;
            LastWalkProcesses = processes;
            LastWalkFds = fds;
        }

        /// <summary>When an owner found now is first spot checked: a point within one period that the inode decides, so owners found together are checked spread over the period.</summary>
        private long FirstSpotCheck(ulong inode, long now)
        {
            long period = (long)SpotCheckPeriod.TotalMilliseconds;
            return period <= 0 ? now : now + (long)((inode * 0x9E3779B97F4A7C15UL) >> 40) % period;
        }

        /// <summary>
        /// Reads the fds of each process the last read did not see (one getdents of /proc a read, then one getdents and a
        /// readlinkat per fd of each new process) and keeps the sockets they hold in <see cref="_heldByScanned"/>. A new
        /// process is how most sockets change hands: a server forks a worker (or a child that forks the worker and exits,
        /// leaving it to PID 1) and closes its copy, and its open-fd count does not show that when it goes straight back
        /// to a blocking accept(), which reserves an fd. The cached owner of such a socket is checked at this read and, for
        /// <see cref="HandoverWatchPeriod"/>, at every read. A new process whose fds we may not read has all its parent's
        /// sockets checked at this read and the next instead.
        /// </summary>
        private void NoteNewProcesses()
        {
            var pids = new HashSet<int>(_proc.ListProcessIds());
            List<int> fresh = null;
            if (_knownPids != null)
            {
                foreach (int pid in pids)
                    if (!_knownPids.Contains(pid)) (fresh ?? (fresh = new List<int>())).Add(pid);
            }
            else if (_proc.TryReadUptimeTicks(out ulong now))
            {
                // The first read has no earlier listing to tell new processes by: their start times do (one stat per process, once).
                ulong recent = (ulong)(FirstReadNewWindow.TotalSeconds * LinuxNative.ClockTicksPerSecond);
                foreach (int pid in pids)
                    if (_proc.TryReadStartTicks(pid, out ulong start) && start + recent >= now) (fresh ?? (fresh = new List<int>())).Add(pid);
            }
            int scanned = 0;
            if (fresh != null)
            {
                foreach (int pid in fresh)
                {
                    if (ScanWhole(pid, _proc.OpenFdCount(pid)) != null) scanned++;
                    else if (_proc.TryReadParentAndStart(pid, out int parent, out _)) _forkedInRead[parent] = _read;
                }
            }
            LastNewProcessesScanned = scanned;
            if (_scannedOpenFds.Count > 0)
            {
                // Gone, or new since the last read (a reused PID): its count belongs to another process.
                List<int> gone = null;
                foreach (int pid in _scannedOpenFds.Keys)
                    if (!pids.Contains(pid) || (_knownPids != null && !_knownPids.Contains(pid))) (gone ?? (gone = new List<int>())).Add(pid);
                if (gone != null) foreach (int pid in gone) _scannedOpenFds.Remove(pid);
            }
            _knownPids = pids;
            if (_forkedInRead.Count == 0) return;
            var done = new List<int>();
            foreach (var kv in _forkedInRead) if (_read - kv.Value > 1) done.Add(kv.Key);
            foreach (int pid in done) _forkedInRead.Remove(pid);
        }

        /// <summary>One stat read per distinct owning PID: cheap, and it catches exits and PID reuse.</summary>
        private void DropExitedProcesses()
        {
            List<int> gone = null;
            foreach (var kv in _owningProcesses)
                if (!_proc.TryReadStartTicks(kv.Key, out ulong start) || start != kv.Value.StartTicks)
                    (gone ?? (gone = new List<int>())).Add(kv.Key);
            if (gone == null) return;
            foreach (int pid in gone) ForgetPid(pid);
        }

        private void ForgetPid(int pid)
        {
            _owningProcesses.Remove(pid);
            var stale = new List<ulong>();
            foreach (var kv in _owners) if (kv.Value.Pid == pid) stale.Add(kv.Key);
            foreach (ulong inode in stale) _owners.Remove(inode);
        }

        /// <summary>Forgets sockets of the kinds just read that were not in the table (keeps memory flat).</summary>
        private void Prune(byte kindsRead)
        {
            var drop = new List<ulong>();
            foreach (var kv in _owners)
                if (kv.Value.SeenInRead != _read && (kv.Value.Kind & kindsRead) != 0) drop.Add(kv.Key);
            foreach (ulong inode in drop) _owners.Remove(inode);
            drop.Clear();
            foreach (var kv in _unattributed)
                if (kv.Value.SeenInRead != _read && (kv.Value.Kind & kindsRead) != 0) drop.Add(kv.Key);
            foreach (ulong inode in drop) _unattributed.Remove(inode);

            // PIDs that no longer own any socket need no liveness check.
            if (_owningProcesses.Count == 0) return;
            var live = new HashSet<int>();
            foreach (var kv in _owners) live.Add(kv.Value.Pid);
            var idle = new List<int>();
            foreach (int pid in _owningProcesses.Keys) if (!live.Contains(pid)) idle.Add(pid);
            foreach (int pid in idle) _owningProcesses.Remove(pid);
        }

        /// <summary>
        /// One read's decisions on which cached owners to check (see the class remarks), and the fd
        /// directories of owning processes, opened once per read. Consecutive rows mostly share an
        /// owner, so the last one is kept at hand.
        /// </summary>
        private sealed class OwnerChecks : IDisposable
        {
            private sealed class ProcessCheck
            {
                internal bool All;
                internal int FdDirectory = -2; // -2 not opened yet, -1 could not be opened
            }

            private readonly SocketOwnerResolver _resolver;
            private readonly Dictionary<int, ProcessCheck> _byPid = new Dictionary<int, ProcessCheck>();
            private readonly long _now, _period;
            private readonly int _every, _slice;
            private int _lastPid = -1;
            private ProcessCheck _last;

            internal OwnerChecks(SocketOwnerResolver resolver)
            {
                _resolver = resolver;
                _now = resolver.ClockMs();
                _period = Math.Max(0, (long)resolver.SpotCheckPeriod.TotalMilliseconds);
                _every = Math.Max(1, resolver.SpotCheckReads);
                _slice = resolver._read % _every;
            }

            /// <summary>readlinkat checks made.</summary>
            internal int Count { get; private set; }

            /// <summary>
            /// Whether this read checks the socket's cached owner; if so, the owner's fd directory (-1 when it cannot be
            /// opened). A spot check needs both the owner's turn in the rotation (its inode's slice of SpotCheckReads,
            /// so no read checks more than about that share and every owner has a turn within that many reads) and
            /// its due time (so reads that come often check each owner about once a period).
            /// </summary>
            internal bool ShouldCheck(Owner owner, ulong inode, bool heldByNew, out int fdDirectory)
            {
                fdDirectory = -1;
                int pid = owner.Pid;
                var c = pid == _lastPid ? _last : Lookup(pid);
                bool due = _now >= owner.NextSpotCheckMs;
                bool watched = heldByNew || owner.WatchUntilMs > _now;
                if (!c.All && !watched && (!due || (int)(inode % (ulong)_every) != _slice)) return false;
                // A passed check makes the owner due a period on, at the same phase, so the owners found together stay
                // spread over the period; a check the moved fd count forced leaves the phase alone. A failed check
                // drops the owner.
                if (due)
                {
                    if (_period <= 0) owner.NextSpotCheckMs = _now;
                    else
                    {
                        long behind = _now - owner.NextSpotCheckMs;
                        owner.NextSpotCheckMs += (behind / _period + 1) * _period;
                    }
                }
                if (c.FdDirectory == -2) c.FdDirectory = _resolver._proc.OpenFdDirectory(pid);
                fdDirectory = c.FdDirectory;
                Count++;
                return true;
            }

            private ProcessCheck Lookup(int pid)
            {
                if (!_byPid.TryGetValue(pid, out var c))
                {
                    // Owners whose count moved were read whole (ScanMovedOwners) and do not come here, unless that failed.
                    c = new ProcessCheck { All = !_resolver._owningProcesses.ContainsKey(pid) || _resolver._checkEach.Contains(pid) };
                    _byPid[pid] = c;
                }
                _lastPid = pid;
                _last = c;
                return c;
            }

            public void Dispose()
            {
                foreach (var c in _byPid.Values) if (c.FdDirectory >= 0) ProcFs.CloseFdDirectory(c.FdDirectory);
                _byPid.Clear();
            }
        }

        internal const byte TcpV4 = 1, TcpV6 = 2, UdpV4 = 4, UdpV6 = 8;

        internal static byte KindOf(SocketEntry e)
        {
            bool v6 = e.LocalAddress != null && e.LocalAddress.AddressFamily == AddressFamily.InterNetworkV6;
            return e.Protocol == TransportProtocol.Tcp ? (v6 ? TcpV6 : TcpV4) : (v6 ? UdpV6 : UdpV4);
        }
    }
}
