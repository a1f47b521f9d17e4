using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Text;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>Which kernel interface a <see cref="LinuxConnectionTable"/> reads.</summary>
    public enum LinuxTableMode
    {
        /// <summary>netlink sock_diag, falling back to /proc/net (with a warning) when netlink fails.</summary>
        Auto,
        /// <summary>netlink sock_diag only; failures are exceptions.</summary>
        SockDiag,
        /// <summary>/proc/net/{tcp,tcp6,udp,udp6} only.</summary>
        ProcNet,
    }

    /// <summary>
    /// The Linux TCP/UDP connection table: sockets from netlink sock_diag (or /proc/net), owners from
    /// /proc/&lt;pid&gt;/fd. Keep one instance for the life of a monitor: the netlink socket and the
    /// inode → PID cache live in it and make repeated reads cheap.
    /// </summary>
    /// <remarks>
    /// Byte counters: TCP rows read through sock_diag carry BytesSent/BytesReceived from tcp_info
    /// (payload acknowledged by the peer / payload received; see <see cref="TcpInfoParser"/>). They stay
    /// null for UDP (the kernel keeps no per-socket UDP counters), for listeners (they move no payload),
    /// for TIME_WAIT and SYN_RECV entries (minisockets without tcp_info), and for every row read from
    /// /proc/net (which has no counters).
    /// </remarks>
    public sealed class LinuxConnectionTable : IConnectionTable, IDisposable
    {
        private readonly object _lock = new object();
        private readonly ProcFs _proc;
        private readonly SocketOwnerResolver _owners;
        private SockDiagSocket _sockDiag;
        private bool _disposed;
        private int _lastRowCount;

        /// <summary>Reads the running system's sockets (sock_diag, /proc/net as fallback) and owners (/proc).</summary>
        public LinuxConnectionTable() : this(LinuxTableMode.Auto) { }

        /// <summary>Reads through the given kernel interface; owners come from /proc.</summary>
        public LinuxConnectionTable(LinuxTableMode mode) : this(mode, ProcFs.DefaultRoot) { }

        /// <summary>
        /// Reads owners (ROOT/&lt;pid&gt;/fd/*) and, in <see cref="LinuxTableMode.ProcNet"/> mode or as the
        /// fallback, the tables (ROOT/net/{tcp,tcp6,udp,udp6}) from the procfs tree at
        /// <paramref name="procRoot"/> instead of /proc; tests point it at a fake tree. sock_diag
        /// always asks the running kernel.
        /// </summary>
        /// <exception cref="ArgumentException"><paramref name="procRoot"/> is null or empty.</exception>
        public LinuxConnectionTable(LinuxTableMode mode, string procRoot)
        {
            Mode = mode;
            _proc = new ProcFs(procRoot);
            _owners = new SocketOwnerResolver(_proc);
        }

        /// <summary>Which kernel interface the rows come from.</summary>
        public LinuxTableMode Mode { get; }

        /// <summary>The directory read as /proc ("/proc" unless a test chose another tree).</summary>
        public string ProcRoot => _proc.Root;

        /// <summary>
        /// Whether TCP dumps ask for INET_DIAG_INFO (struct tcp_info) to fill BytesSent/BytesReceived
        /// (see <see cref="TcpInfoParser"/>). Always on in the product; the benchmark switches it off to
        /// measure what the counters cost.
        /// </summary>
        internal bool ReadByteCounters { get; set; } = true;

        /// <summary>The TCP rows of recent reads by sock_diag cookie, for the closed-connection feed.</summary>
        internal RecentTcpSockets Recent { get; } = new RecentTcpSockets();

        internal SocketOwnerResolver OwnerResolver => _owners;

        /// <summary>Opens the netlink socket; tests substitute a failing one to exercise the fallback.</summary>
        internal Func<SockDiagSocket> OpenSockDiag { get; set; } = () => new SockDiagSocket();

        /// <summary>The effective uid decides whether unattributed sockets deserve a "run as root" warning; tests override it.</summary>
        internal uint EffectiveUserId { get; set; } = LinuxNative.geteuid();

        /// <inheritdoc/>
        /// <exception cref="ObjectDisposedException">The table was disposed.</exception>
        /// <exception cref="NetlinkException">In <see cref="LinuxTableMode.SockDiag"/> mode, when netlink fails.</exception>
        public ConnectionTableResult Read(ConnectionQuery request)
        {
            request = request ?? new ConnectionQuery();
            lock (_lock)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(LinuxConnectionTable));
                var warnings = new List<string>();
                // Sized from the previous read: growing a list of 10,000 rows by doubling copies it 6 times.
                var rows = new List<SocketEntry>(Math.Max(256, _lastRowCount + _lastRowCount / 8));

                bool leftOutBound = false;
                if (Mode == LinuxTableMode.ProcNet) ReadProcNet(request, rows);
                else
                {
                    try
                    {
                        ReadSockDiag(request, rows);
                        DropRepeats(rows, _cookies);
                        leftOutBound = !request.IncludeBoundSockets && request.Reads(TransportProtocol.Tcp);
                    }
                    catch (Exception ex) when (Mode == LinuxTableMode.Auto && (ex is NetlinkException || ex is InvalidDataException))
                    {
                        rows.Clear();
                        warnings.Add("Reading sockets through netlink sock_diag failed (" + ex.Message + "); the connection table was read from /proc/net instead.");
                        ReadProcNet(request, rows);
                    }
                }

                if (request.ResolveOwners)
                {
                    _owners.Resolve(rows, KindsOf(request));
                    string warning = OwnerWarning(rows);
                    if (warning != null) warnings.Add(warning);
                }
                if (request.Reads(TransportProtocol.Tcp)) Recent.Remember(rows);
                _lastRowCount = rows.Count;
                return new ConnectionTableResult(rows, warnings) { LeftOutBoundSockets = leftOutBound };
            }
        }

        // Cookies of the rows of one read (see DropRepeats), kept from read to read so its table is not grown again.
        private readonly HashSet<ulong> _cookies = new HashSet<ulong>();

        /// <summary>
        /// Drops the second and later rows of a socket in one read: the kernel resumes a dump at each receive from a
        /// position (hash bucket, index in its chain), so a socket added to or removed from that chain between two receives
        /// shifts the walk and the socket at the edge is sent twice. (Wine's table, read from /proc/net/tcp a page at a
        /// time, showed one such repeat in CI; sock_diag resumes the same way.) The kernel's socket cookie names one socket
        /// (one counter for TCP and UDP), so equal cookies are one socket; rows without a cookie are all kept.
        /// </summary>
        internal static void DropRepeats(List<SocketEntry> rows, HashSet<ulong> seen)
        {
            seen.Clear();
            int kept = 0;
            for (int i = 0; i < rows.Count; i++)
            {
                var r = rows[i];
                if (r.SockDiagCookie != 0 && !seen.Add(r.SockDiagCookie)) continue;
                rows[kept++] = r;
            }
            if (kept < rows.Count) rows.RemoveRange(kept, rows.Count - kept);
        }

        private void ReadSockDiag(ConnectionQuery request, List<SocketEntry> rows)
        {
            if (_sockDiag == null) _sockDiag = OpenSockDiag();
            byte tcpExtensions = ReadByteCounters ? TcpInfoExtension : (byte)0;
            SockDiagAttributeHandler onTcpAttribute = ReadByteCounters ? TcpInfoParser.OnAttribute : null;
            uint tcpStates = request.IncludeBoundSockets ? SockDiagParser.AllStates : SockDiagParser.AllStatesButBoundInactive;
            bool tcpDone = false;
            if (CombinedTcpDump && request.Reads(TransportProtocol.Tcp) && request.Reads(AddressFamily.InterNetwork) && request.Reads(AddressFamily.InterNetworkV6))
            {
                try
                {
                    _sockDiag.DumpTcp(tcpExtensions, rows, onTcpAttribute, tcpStates);
                    tcpDone = true;
                }
                catch (NetlinkException ex) when (ex.Errno == LinuxNative.EINVAL || ex.Errno == LinuxNative.ENOENT || ex.Errno == LinuxNative.EOPNOTSUPP)
                {
                    // A kernel that refuses the request asked this way (no inet_diag compatibility path): one dump per
                    // family from now on.
                    CombinedTcpDump = false;
                }
            }
            foreach (var (tcp, family) in Dumps(request))
            {
                if (tcp && tcpDone) continue;
                // UDP has no per-socket byte counters (udp_diag reports none): its rows keep null.
                if (tcp) _sockDiag.Dump(family, LinuxSocketRow.IPPROTO_TCP, tcpExtensions, rows, onTcpAttribute, tcpStates);
                else _sockDiag.Dump(family, LinuxSocketRow.IPPROTO_UDP, 0, rows);
            }
        }

        /// <summary>
        /// Whether a read of TCP in both families asks for them in one dump (TCPDIAG_GETSOCK, see
        /// <see cref="SockDiagSocket.DumpTcp"/>) rather than one per family. Switched off for good when the kernel
        /// refuses it; tests switch it off to compare the two.
        /// </summary>
        internal bool CombinedTcpDump { get; set; } = true;

        /// <summary>inet_diag_req_v2.idiag_ext bit (n - 1) asks for attribute n: here struct tcp_info.</summary>
        private const byte TcpInfoExtension = 1 << (SockDiagParser.INET_DIAG_INFO - 1);

        /// <summary>/proc/net has no byte counters: these rows keep BytesSent/BytesReceived null.</summary>
        private void ReadProcNet(ConnectionQuery request, List<SocketEntry> rows)
        {
            foreach (var (tcp, family) in Dumps(request))
            {
                string file = _proc.Path("net/" + (tcp ? "tcp" : "udp") + (family == LinuxSocketRow.AF_INET6 ? "6" : ""));
                string text;
                try { text = File.ReadAllText(file, Encoding.ASCII); }
                catch (FileNotFoundException) { continue; } // a kernel without IPv6 has no tcp6/udp6
                catch (DirectoryNotFoundException) { continue; }
                ProcNetParser.Parse(text, tcp, family, rows);
            }
        }

        private static IEnumerable<(bool tcp, byte family)> Dumps(ConnectionQuery r)
        {
            if (r.Reads(TransportProtocol.Tcp) && r.Reads(AddressFamily.InterNetwork)) yield return (true, LinuxSocketRow.AF_INET);
            if (r.Reads(TransportProtocol.Tcp) && r.Reads(AddressFamily.InterNetworkV6)) yield return (true, LinuxSocketRow.AF_INET6);
            if (r.Reads(TransportProtocol.Udp) && r.Reads(AddressFamily.InterNetwork)) yield return (false, LinuxSocketRow.AF_INET);
            if (r.Reads(TransportProtocol.Udp) && r.Reads(AddressFamily.InterNetworkV6)) yield return (false, LinuxSocketRow.AF_INET6);
        }

        private static byte KindsOf(ConnectionQuery r)
        {
            byte k = 0;
            if (r.Reads(TransportProtocol.Tcp) && r.Reads(AddressFamily.InterNetwork)) k |= SocketOwnerResolver.TcpV4;
            if (r.Reads(TransportProtocol.Tcp) && r.Reads(AddressFamily.InterNetworkV6)) k |= SocketOwnerResolver.TcpV6;
            if (r.Reads(TransportProtocol.Udp) && r.Reads(AddressFamily.InterNetwork)) k |= SocketOwnerResolver.UdpV4;
            if (r.Reads(TransportProtocol.Udp) && r.Reads(AddressFamily.InterNetworkV6)) k |= SocketOwnerResolver.UdpV6;
            return k;
        }

        /// <summary>
        /// Unprivileged callers cannot read other users' /proc/&lt;pid&gt;/fd (listing it needs
        /// CAP_DAC_READ_SEARCH, reading its links CAP_SYS_PTRACE), so their sockets stay without owner:
        /// say so once, naming both ways to see them (the service's unit grants the two capabilities). Root sees everything it can; what it cannot attribute
        /// (sockets held only by the kernel or another namespace) has no owner to show.
        /// </summary>
        private string OwnerWarning(List<SocketEntry> rows)
        {
            uint euid = EffectiveUserId;
            if (euid == 0) return null;
            int missing = 0;
            foreach (var row in rows)
                if (row.Inode != null && row.ProcessId == null && row.UserId != euid) missing++;
            if (missing == 0) return null;
            return string.Format(CultureInfo.InvariantCulture,
                "The owners of {0} socket{1} belonging to other users could not be read; run as root (sudo), or with the capabilities CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, to see every process.",
                missing, missing == 1 ? "" : "s");
        }

        /// <summary>Closes the netlink socket; later reads throw.</summary>
        public void Dispose()
        {
            lock (_lock)
            {
                _disposed = true;
                _sockDiag?.Dispose();
                _sockDiag = null;
            }
        }
    }
}
