using System;
using System.Collections.Generic;
using System.Net;

namespace ConnectionsMonitor.Engine.Alerts.PortScan
{
    /// <summary>
    /// Counts inbound connection attempts per remote address and reports a remote that reaches
    /// <see cref="ScanPorts"/> distinct local ports within <see cref="Window"/> (a sliding window: an
    /// attempt counts while it is less than one window older than the newest one). Pure: no OS, time
    /// comes from the caller.
    /// <para>Episodes: a remote is reported once when it reaches the threshold; further attempts keep the
    /// episode going without a new finding. Only after the remote has been quiet (no attempt at all) for
    /// a whole window does its next attempt start a new episode that may be reported again.</para>
    /// <para>Memory is bounded: at most <see cref="MaxRemotes"/> remotes are tracked (the one quiet the
    /// longest is forgotten to make room for a new one, so a flood of spoofed sources can push out an
    /// ongoing count, never grow memory), and per remote at most <see cref="ScanPorts"/> ports are held
    /// until it is reported, none after. <see cref="Expire"/> forgets remotes whose episode is over.</para>
    /// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are the IPv4 address. Not thread-safe.
    /// </summary>
    public sealed class PortScanDetector
    {
        /// <summary>Default cap on remotes tracked at once.</summary>
        public const int DefaultMaxRemotes = 4096;

        private sealed class Remote
        {
            public IPAddress Address;
            public LinkedListNode<Remote> Node;
            public DateTime LastUtc;
            public bool Reported;
            // Ports tried within the window (until reported): port → (first, last, attempts).
            public readonly Dictionary<int, (DateTime First, DateTime Last, int Attempts)> Ports = new Dictionary<int, (DateTime, DateTime, int)>();
        }

        private readonly Dictionary<IPAddress, Remote> _remotes = new Dictionary<IPAddress, Remote>();
        private readonly LinkedList<Remote> _byActivity = new LinkedList<Remote>(); // least recently active first
        private readonly List<int> _stale = new List<int>();

        /// <param name="scanPorts">Distinct local ports that make a scan (at least 2).</param>
        /// <param name="window">The window they must fall within (positive).</param>
        /// <param name="maxRemotes">Remotes tracked at once (at least 1).</param>
        public PortScanDetector(int scanPorts = AlertCondition.DefaultScanPorts, TimeSpan? window = null, int maxRemotes = DefaultMaxRemotes)
        {
            if (scanPorts < 2) throw new ArgumentOutOfRangeException(nameof(scanPorts), "A port scan is at least 2 distinct ports.");
            var w = window ?? AlertCondition.DefaultScanWindow;
            if (w <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(window), "The port-scan window must be positive.");
            if (maxRemotes < 1) throw new ArgumentOutOfRangeException(nameof(maxRemotes));
            ScanPorts = scanPorts;
            Window = w;
            MaxRemotes = maxRemotes;
        }

        /// <summary>Distinct local ports that make a scan.</summary>
        public int ScanPorts { get; }

        /// <summary>The sliding window.</summary>
        public TimeSpan Window { get; }

        /// <summary>Remotes tracked at once at most.</summary>
        public int MaxRemotes { get; }

        /// <summary>Remotes tracked now.</summary>
        public int TrackedRemotes => _remotes.Count;

        /// <summary>Remotes forgotten to stay within <see cref="MaxRemotes"/> (their counts started over).</summary>
        public long Evicted { get; private set; }

        /// <summary>What findings say saw the attempts (<see cref="PortScanFinding.SocketTable"/> by default).</summary>
        public string Source { get; set; } = PortScanFinding.SocketTable;

        /// <summary>The canonical form of an address: IPv4-mapped IPv6 becomes IPv4.</summary>
        public static IPAddress Canonical(IPAddress address) =>
            address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

        /// <summary>
        /// One inbound attempt from <paramref name="remote"/> to <paramref name="localPort"/> at
        /// <paramref name="timeUtc"/>. Returns the finding when this attempt makes the remote's episode a
        /// scan, else null. Times going backwards (two sources) count as the newest time seen for that remote.
        /// An attempt from a loopback address (127.0.0.0/8, ::1, their IPv4-mapped forms) is this host connecting to itself
        /// — its own clients, a local proxy, the module's own webhook posts to a local receiver — and never counts (a
        /// newcomer's trial: "Port scan from 127.0.0.1" on a machine with a few local services).
        /// </summary>
        public PortScanFinding Observe(IPAddress remote, int localPort, DateTime timeUtc)
        {
            if (remote == null) throw new ArgumentNullException(nameof(remote));
            remote = Canonical(remote);
            if (IPAddress.IsLoopback(remote)) return null;
            if (!_remotes.TryGetValue(remote, out var r))
            {
                if (_remotes.Count >= MaxRemotes)
                {
                    var oldest = _byActivity.First.Value;
                    Forget(oldest);
                    Evicted++;
                }
                r = new Remote { Address = remote, LastUtc = timeUtc };
                r.Node = _byActivity.AddLast(r);
                _remotes.Add(remote, r);
            }
            else
            {
                if (timeUtc < r.LastUtc) timeUtc = r.LastUtc;
                else if (timeUtc - r.LastUtc >= Window)
                {
                    // Quiet for a whole window: the episode is over, this attempt starts the next one.
                    r.Reported = false;
                    r.Ports.Clear();
                }
                _byActivity.Remove(r.Node);
                _byActivity.AddLast(r.Node);
            }
            r.LastUtc = timeUtc;
            if (r.Reported) return null;

            // Slide: ports whose last attempt is a window old or more no longer count.
            _stale.Clear();
            foreach (var p in r.Ports)
                if (timeUtc - p.Value.Last >= Window) _stale.Add(p.Key);
            foreach (int p in _stale) r.Ports.Remove(p);

            r.Ports[localPort] = r.Ports.TryGetValue(localPort, out var seen)
                ? (seen.First, timeUtc, seen.Attempts + 1)
                : (timeUtc, timeUtc, 1);
            if (r.Ports.Count < ScanPorts) return null;

            r.Reported = true;
            var ports = new List<int>(r.Ports.Keys);
            ports.Sort();
            DateTime first = timeUtc;
            int attempts = 0;
            foreach (var p in r.Ports.Values)
            {
                if (p.First < first) first = p.First;
                attempts += p.Attempts;
            }
            r.Ports.Clear(); // nothing more is counted in this episode; only its last activity matters
            return new PortScanFinding(remote.ToString(), ports.AsReadOnly(), first, timeUtc, attempts, Source);
        }

        /// <summary>Forgets remotes quiet for a whole window at <paramref name="nowUtc"/> (their episodes are over).</summary>
        public void Expire(DateTime nowUtc)
        {
            while (_byActivity.First != null && nowUtc - _byActivity.First.Value.LastUtc >= Window)
                Forget(_byActivity.First.Value);
        }

        private void Forget(Remote r)
        {
            _byActivity.Remove(r.Node);
            _remotes.Remove(r.Address);
        }
    }
}
