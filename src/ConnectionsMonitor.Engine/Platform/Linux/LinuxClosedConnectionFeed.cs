using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// TCP connections as the kernel destroys them, with their final byte counters: a second sock_diag
    /// socket subscribed to the destroy multicast groups (SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET6_TCP_DESTROY),
    /// read by a background thread so that bursts of closes are taken off the kernel's queue promptly and
    /// matched while the table's recent rows still know them.
    /// </summary>
    /// <remarks>
    /// Measured on kernel 6.18: a destroy message is an inet_diag_msg in state CLOSE with idiag_inode 0 and
    /// the socket's idiag_cookie, followed by INET_DIAG_PROTOCOL and INET_DIAG_INFO (the full tcp_info).
    /// So the owner comes from <see cref="RecentTcpSockets"/> by cookie: connections opened and closed
    /// between two reads were never attributed and come without ProcessId. Listeners and sockets that never
    /// connected (remote port 0) moved no payload and are not reported.
    /// Privilege, also measured on 6.18: any user may subscribe (sock_diag's netlink family accepts
    /// non-root multicast listeners) and then hears every TCP socket of the network namespace, like an
    /// unprivileged dump. Where a kernel or security module refuses the subscription (EPERM/EACCES),
    /// <see cref="Start"/> says that root is needed.
    /// </remarks>
    internal sealed unsafe class LinuxClosedConnectionFeed : LinuxSocketReader<SocketEntry>, IClosedConnectionFeed
    {
        // Once started, the listener hears every TCP socket that closes on the machine, also between
        // sample windows, and only a window drains it. The cap bounds what an idle session holds
        // (about 3 MB); a window that overflows it says so (LostReports) rather than growing.
        internal const int MaxPending = 20_000;

        // enum sknetlink_groups (linux/sock_diag.h); bind()'s nl_groups has bit (group - 1) per group.
        private const int SKNLGRP_INET_TCP_DESTROY = 1;
        private const int SKNLGRP_INET6_TCP_DESTROY = 3;
        internal const uint DestroyGroups = (1u << (SKNLGRP_INET_TCP_DESTROY - 1)) | (1u << (SKNLGRP_INET6_TCP_DESTROY - 1));

        // Room for bursts between thread wake-ups; a destroy message takes about 1 KiB of skb memory.
        private const int ReceiveBufferBytes = 8 * 1024 * 1024;

        private readonly RecentTcpSockets _recent;
        private readonly SockDiagAttributeHandler _onAttribute;
        private readonly byte[] _buffer = new byte[64 * 1024]; // a destroy message is a few hundred bytes; one per datagram
        private readonly List<SocketEntry> _rows = new List<SocketEntry>();
        private long _overruns;

        internal LinuxClosedConnectionFeed(RecentTcpSockets recent) : base("ConnectionsMonitor sock_diag destroy events", MaxPending)
        {
            _recent = recent;
            _recent.Wanted = () => IsRunning; // the table's reads remember rows only while this listens
            _onAttribute = OnAttribute;
        }

        /// <summary>Opens the subscribed socket and returns its fd; tests substitute a failing one.</summary>
        internal Func<int> OpenSubscription { get; set; } = OpenDestroySubscription;

        /// <summary>
        /// Times the kernel's queue for this socket overflowed (recv failed with ENOBUFS). Each overrun lost
        /// at least one closed connection; netlink does not say how many.
        /// </summary>
        public long Overruns => Interlocked.Read(ref _overruns);

        /// <summary>Overruns count at least one lost event each (netlink does not say how many); <see cref="LinuxSocketReader{T}.Dropped"/> counts what the cap of <see cref="MaxPending"/> turned away.</summary>
        public long LostReports => Overruns + Dropped;

        private const int EACCES = 13;

        /// <summary>The closed connections heard since the previous call.</summary>
        public IReadOnlyList<SocketEntry> DrainClosed() => Drain();

        protected override int Open() => OpenSubscription();

        /// <summary>The reads' memory of rows serves only this listener: it goes with it.</summary>
        protected override void OnStopped() => _recent.Forget();

        protected override string DescribeOpenFailure(Exception e)
        {
            if (!(e is NetlinkException ex)) return null;
            return ex.Errno == LinuxNative.EPERM || ex.Errno == EACCES
                ? "Traffic of connections that close between samples is counted only when running as root (CAP_NET_ADMIN): " +
                  "the kernel refused the subscription to sock_diag destroy events (" + LinuxNative.ErrnoText(ex.Errno) + ")."
                : "Traffic of connections that close between samples is not counted: " + ex.Message;
        }

        protected override string DescribeStop(Exception e) =>
            "Traffic of connections that close between samples is no longer counted: " + e.Message;

        private static int OpenDestroySubscription()
        {
            int fd = LinuxNative.socket(LinuxNative.AF_NETLINK, LinuxNative.SOCK_RAW | LinuxNative.SOCK_CLOEXEC, LinuxNative.NETLINK_SOCK_DIAG);
            if (fd < 0)
            {
                int errno = LinuxNative.LastErrno;
                throw new NetlinkException("Cannot open a netlink sock_diag socket: " + LinuxNative.ErrnoText(errno), errno);
            }
            // SO_RCVBUFFORCE passes net.core.rmem_max (root only, as is the subscription); else what rmem_max allows.
            int size = ReceiveBufferBytes;
            if (LinuxNative.setsockopt(fd, LinuxNative.SOL_SOCKET, LinuxNative.SO_RCVBUFFORCE, &size, sizeof(int)) != 0)
                LinuxNative.setsockopt(fd, LinuxNative.SOL_SOCKET, LinuxNative.SO_RCVBUF, &size, sizeof(int));

            // struct sockaddr_nl { u16 nl_family; u16 nl_pad; u32 nl_pid (0: the kernel picks); u32 nl_groups; }
            byte* addr = stackalloc byte[12];
            new Span<byte>(addr, 12).Clear();
            *(ushort*)addr = LinuxNative.AF_NETLINK;
            *(uint*)(addr + 8) = DestroyGroups;
            if (LinuxNative.bind(fd, addr, 12) != 0)
            {
                int errno = LinuxNative.LastErrno;
                LinuxNative.close(fd);
                throw new NetlinkException("Cannot subscribe to sock_diag destroy events: " + LinuxNative.ErrnoText(errno), errno);
            }
            return fd;
        }

        protected override string ReadQueued(int fd, Func<bool> stopping)
        {
            while (!stopping())
            {
                long n;
                fixed (byte* b = _buffer) n = (long)LinuxNative.recv(fd, b, (UIntPtr)_buffer.Length, LinuxNative.MSG_DONTWAIT);
                if (n < 0)
                {
                    int errno = LinuxNative.LastErrno;
                    if (errno == LinuxNative.ENOBUFS) { Interlocked.Increment(ref _overruns); continue; }
                    if (errno == LinuxNative.EINTR) continue;
                    return null; // EAGAIN: queue empty
                }
                if (n == 0) return null;
                _rows.Clear();
                try
                {
                    SockDiagParser.Parse(new ReadOnlySpan<byte>(_buffer, 0, (int)n), tcp: true, sequence: null, _rows, _onAttribute);
                }
                catch (InvalidDataException) { continue; } // a message we cannot read: skip it, keep listening
                catch (NetlinkException) { continue; }
                foreach (var row in _rows) Accept(row);
            }
            return null;
        }

        /// <summary>Final counters; the peer's FIN is subtracted when a read saw it arrive (the CLOSE state cannot tell).</summary>
        private void OnAttribute(SocketEntry entry, ushort type, ReadOnlySpan<byte> payload)
        {
            if (type != SockDiagParser.INET_DIAG_INFO) return;
            _recent.TryGet(entry.SockDiagCookie, out var known);
            TcpInfoParser.Apply(entry, payload, known.FinReceived);
        }

        private void Accept(SocketEntry row)
        {
            bool seen = _recent.TryGet(row.SockDiagCookie, out var known);
            if ((seen && known.Listening) || row.RemotePort == 0) return;
            row.ProcessId = known.ProcessId;
            Add(row);
        }
    }
}
