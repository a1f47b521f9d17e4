using System;
using System.Collections.Generic;
using System.Net;
using System.Threading;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Inbound TCP SYNs from an AF_PACKET SOCK_DGRAM socket (bytes start at the IP header) with a classic
    /// BPF filter (<see cref="SynPacketParser.FilterProgram"/>), read by a background thread named
    /// <see cref="ThreadName"/>. Sees connection attempts to closed ports and half-open (SYN) scans,
    /// which leave no socket behind. Needs CAP_NET_RAW (root); without it <see cref="Start"/> says so.
    /// </summary>
    /// <remarks>
    /// The socket is made with protocol 0 (it receives nothing), given its filter, and only then bound to
    /// ETH_P_ALL, so no unfiltered packet is ever queued. Outgoing packets (sll_pkttype PACKET_OUTGOING)
    /// are skipped twice over, in the filter and again here, so our own SYNs never count; on loopback,
    /// where each packet passes once outgoing and once incoming, the incoming copy is the one kept. A SYN
    /// counts only when its destination is an address of this host (forwarded or bridged traffic is
    /// someone else's): the addresses are read from the interface catalogue and read again, at most once
    /// a second, when a destination is not among them.
    /// </remarks>
    internal sealed unsafe class LinuxSynCapture : LinuxSocketReader<InboundSyn>, IInboundSynSource
    {
        /// <summary>The capture thread's name (Linux keeps 15 bytes).</summary>
        internal const string ThreadName = "cmon-syncap";

        internal const int AF_PACKET = 17;
        internal const int SOCK_DGRAM = 2;
        internal const ushort ETH_P_ALL = 0x0003;
        internal const int SO_ATTACH_FILTER = 26;
        internal const byte PACKET_OUTGOING = 4;
        internal const int SockaddrLlSize = 20;
        internal const int MaxPending = 10_000;
        private const int ReceiveBufferBytes = 1024 * 1024;
        private const int EACCES = 13;

        private readonly Func<IReadOnlyCollection<IPAddress>> _localAddresses;
        private HashSet<IPAddress> _local = new HashSet<IPAddress>();
        private DateTime _localReadUtc = DateTime.MinValue;

        /// <param name="localAddresses">This host's addresses now (IPv6 link-local scope ids are ignored).</param>
        internal LinuxSynCapture(Func<IReadOnlyCollection<IPAddress>> localAddresses) : base(ThreadName, MaxPending)
        {
            _localAddresses = localAddresses ?? throw new ArgumentNullException(nameof(localAddresses));
        }

        /// <summary>Opens the filtered, bound socket and returns its fd, or throws with the errno; tests substitute a failing one.</summary>
        internal Func<int> OpenSocket { get; set; } = OpenFilteredSocket;

        protected override int Open() => OpenSocket();

        /// <summary>SYNs: also probes of closed ports and half-open scans.</summary>
        public InboundAttemptKind Kind => InboundAttemptKind.Syn;

        protected override string DescribeOpenFailure(Exception e)
        {
            if (!(e is CaptureException ex)) return null;
            return ex.Errno == LinuxNative.EPERM || ex.Errno == EACCES
                ? "Probes of closed ports and half-open SYN scans are seen only with packet capture, which needs root (CAP_NET_RAW): " +
                  "the kernel refused the packet socket (" + LinuxNative.ErrnoText(ex.Errno) + "); watching accepted connections in the socket table instead."
                : "Packet capture of inbound SYNs is not available (" + ex.Message + "); watching accepted connections in the socket table instead.";
        }

        protected override void OnOpened() => RefreshLocal(DateTime.UtcNow);

        protected override string DescribeStop(Exception e) =>
            "Packet capture of inbound SYNs stopped: " + e.Message + "; watching accepted connections in the socket table instead.";

        internal sealed class CaptureException : Exception
        {
            internal CaptureException(string message, int errno) : base(message) { Errno = errno; }
            internal int Errno { get; }
        }

        private static int OpenFilteredSocket()
        {
            // Protocol 0: nothing is delivered before bind, so the filter is in place for the first packet.
            int fd = LinuxNative.socket(AF_PACKET, SOCK_DGRAM | LinuxNative.SOCK_CLOEXEC, 0);
            if (fd < 0)
            {
                int errno = LinuxNative.LastErrno;
                throw new CaptureException("cannot open a packet socket: " + LinuxNative.ErrnoText(errno), errno);
            }
            try
            {
                var program = SynPacketParser.FilterProgram();
                byte* filter = stackalloc byte[program.Length * 8];
                for (int i = 0; i < program.Length; i++)
                {
                    *(ushort*)(filter + i * 8) = program[i].Code;
                    filter[i * 8 + 2] = program[i].Jt;
                    filter[i * 8 + 3] = program[i].Jf;
                    *(uint*)(filter + i * 8 + 4) = program[i].K;
                }
                // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (pointer-aligned).
                int size = IntPtr.Size * 2;
                byte* fprog = stackalloc byte[size];
                new Span<byte>(fprog, size).Clear();
                *(ushort*)fprog = (ushort)program.Length;
                *(byte**)(fprog + IntPtr.Size) = filter;
                if (LinuxNative.setsockopt(fd, LinuxNative.SOL_SOCKET, SO_ATTACH_FILTER, fprog, (uint)size) != 0)
                {
                    int errno = LinuxNative.LastErrno;
                    throw new CaptureException("cannot attach the SYN filter: " + LinuxNative.ErrnoText(errno), errno);
                }
                int rcvbuf = ReceiveBufferBytes;
                if (LinuxNative.setsockopt(fd, LinuxNative.SOL_SOCKET, LinuxNative.SO_RCVBUFFORCE, &rcvbuf, sizeof(int)) != 0)
                    LinuxNative.setsockopt(fd, LinuxNative.SOL_SOCKET, LinuxNative.SO_RCVBUF, &rcvbuf, sizeof(int));

                // struct sockaddr_ll { u16 family; be16 protocol; int ifindex (0: all); u16 hatype; u8 pkttype; u8 halen; u8 addr[8]; }
                byte* addr = stackalloc byte[SockaddrLlSize];
                new Span<byte>(addr, SockaddrLlSize).Clear();
                *(ushort*)addr = AF_PACKET;
                addr[2] = (byte)(ETH_P_ALL >> 8);
                addr[3] = (byte)ETH_P_ALL;
                if (LinuxNative.bind(fd, addr, SockaddrLlSize) != 0)
                {
                    int errno = LinuxNative.LastErrno;
                    throw new CaptureException("cannot bind the packet socket: " + LinuxNative.ErrnoText(errno), errno);
                }
                return fd;
            }
            catch
            {
                LinuxNative.close(fd);
                throw;
            }
        }

        private readonly byte[] _buffer = new byte[(int)SynPacketParser.SnapLength];

        protected override string ReadQueued(int fd, Func<bool> stopping)
        {
            byte* from = stackalloc byte[SockaddrLlSize];
            while (!stopping())
            {
                uint fromLength = SockaddrLlSize;
                long n;
                fixed (byte* b = _buffer)
                    n = (long)LinuxNative.recvfrom(fd, b, (UIntPtr)_buffer.Length, LinuxNative.MSG_DONTWAIT, from, &fromLength);
                if (n < 0)
                {
                    int errno = LinuxNative.LastErrno;
                    if (errno == LinuxNative.EINTR || errno == LinuxNative.ENOBUFS) continue;
                    if (errno == LinuxNative.EAGAIN) return null;
                    return "Packet capture of inbound SYNs stopped: " + LinuxNative.ErrnoText(errno) + "; watching accepted connections in the socket table instead.";
                }
                if (from[10] == PACKET_OUTGOING) continue; // our own SYNs (and loopback's outgoing copy)
                int ifindex = *(int*)(from + 4);
                if (!SynPacketParser.TryParseSyn(new ReadOnlySpan<byte>(_buffer, 0, (int)n), ifindex,
                        out var source, out int sourcePort, out var destination, out int destinationPort))
                    continue;
                var now = DateTime.UtcNow;
                if (!IsLocal(destination, now)) continue;
                Add(new InboundSyn(source, sourcePort, destination, destinationPort, now));
            }
            return null;
        }

        private bool IsLocal(IPAddress destination, DateTime now)
        {
            if (IPAddress.IsLoopback(destination)) return true; // all of 127/8 and ::1 are this host's
            var key = WithoutScope(destination);
            if (_local.Contains(key)) return true;
            if (now - _localReadUtc < TimeSpan.FromSeconds(1)) return false;
            RefreshLocal(now);
            return _local.Contains(key);
        }

        private void RefreshLocal(DateTime now)
        {
            _localReadUtc = now;
            var set = new HashSet<IPAddress>();
            try
            {
                foreach (var a in _localAddresses()) set.Add(WithoutScope(a));
            }
            catch (Exception) { return; } // keep the addresses known so far; try again in a second
            _local = set;
        }

        private static IPAddress WithoutScope(IPAddress a) =>
            a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && a.ScopeId != 0 ? new IPAddress(a.GetAddressBytes()) : a;
    }
}
