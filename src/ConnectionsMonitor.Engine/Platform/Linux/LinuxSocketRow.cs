using System.Collections.Generic;
using System;
using System.Collections.Concurrent;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Turns the kernel's view of one socket into a <see cref="SocketEntry"/>. Both sources
    /// (sock_diag and /proc/net) go through here so their rows agree field for field.
    /// </summary>
    internal static class LinuxSocketRow
    {
        internal const byte AF_INET = 2;
        internal const byte AF_INET6 = 10;
        internal const byte IPPROTO_TCP = 6;
        internal const byte IPPROTO_UDP = 17;

        /// <summary>Linux TCP state numbers (include/net/tcp_states.h) to the Get-NetTCPConnection names.</summary>
        internal static TcpState? MapTcpState(int linuxState)
        {
            switch (linuxState)
            {
                case 1: return TcpState.Established;
                case 2: return TcpState.SynSent;
                case 3: return TcpState.SynReceived;
                case 4: return TcpState.FinWait1;
                case 5: return TcpState.FinWait2;
                case 6: return TcpState.TimeWait;
                case 7: return TcpState.Closed;
                case 8: return TcpState.CloseWait;
                case 9: return TcpState.LastAck;
                case 10: return TcpState.Listen;
                case 11: return TcpState.Closing;
                case 12: return TcpState.SynReceived; // NEW_SYN_RECV: a request socket, still SYN_RECV to the peer
                default: return null;
            }
        }

        /// <param name="local">4 or 16 address bytes in network order, as the kernel stores them.</param>
        /// <param name="interfaceIndex">The socket's bound interface; becomes the scope id of link-local addresses.</param>
        internal static SocketEntry Create(bool tcp, byte family, int linuxState,
            ReadOnlySpan<byte> local, int localPort, ReadOnlySpan<byte> remote, int remotePort,
            uint interfaceIndex, uint uid, ulong inode)
        {
            var e = new SocketEntry
            {
                Protocol = tcp ? TransportProtocol.Tcp : TransportProtocol.Udp,
                LocalAddress = MakeAddress(family, local, interfaceIndex),
                LocalPort = localPort,
                UserId = uid,
                Inode = inode == 0 ? (ulong?)null : inode,
            };
            if (tcp)
            {
                e.State = MapTcpState(linuxState);
                // A listener has no remote end; the kernel reports zeros, which is also what
                // Get-NetTCPConnection shows (0.0.0.0 / :: and port 0).
                e.RemoteAddress = MakeAddress(family, remote, interfaceIndex);
                e.RemotePort = remotePort;
            }
            else if (remotePort != 0 || !IsAllZero(remote))
            {
                e.RemoteAddress = MakeAddress(family, remote, interfaceIndex);
                e.RemotePort = remotePort;
            }
            return e;
        }

        internal static IPAddress MakeAddress(byte family, ReadOnlySpan<byte> bytes, uint interfaceIndex)
        {
            if (family == AF_INET)
            {
                if (bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0) return IPAddress.Any;
                // IPAddress(long) takes the address as the bytes lie in memory (network order).
                uint value = bytes[0] | (uint)bytes[1] << 8 | (uint)bytes[2] << 16 | (uint)bytes[3] << 24;
                return Ipv4Addresses.GetOrAdd(value);
            }
            if (IsAllZero(bytes.Slice(0, 16))) return IPAddress.IPv6Any;
            var raw = bytes.Slice(0, 16).ToArray();
            bool linkLocal = raw[0] == 0xFE && (raw[1] & 0xC0) == 0x80;
            return linkLocal && interfaceIndex != 0 ? new IPAddress(raw, interfaceIndex) : new IPAddress(raw);
        }

        /// <summary>
        /// A table of 10,000 connections names few distinct IPv4 addresses (one local address, shared
        /// peers): hand out one immutable instance per address instead of two allocations per row.
        /// </summary>
        private static readonly AddressInterner Ipv4Addresses = new AddressInterner();

        private sealed class AddressInterner
        {
            private const int Capacity = 8192;
            // Lock-free reads: every row asks for its two addresses, and the pipeline thread, the session's sampler and a
            // preparing pool thread may read at once; a lock taken 20,000 times a read was inflated by the first contention
            // and then cost its slow path every time.
            private readonly ConcurrentDictionary<uint, IPAddress> _addresses = new ConcurrentDictionary<uint, IPAddress>();
            private int _count;

            internal IPAddress GetOrAdd(uint value)
            {
                if (_addresses.TryGetValue(value, out var known)) return known;
                if (Interlocked.Increment(ref _count) > Capacity)
                {
                    // Bounded: start over (a racing add may land in the new table; the count is a bound, not an exact size).
                    _addresses.Clear();
                    Interlocked.Exchange(ref _count, 1);
                }
                return _addresses.GetOrAdd(value, new IPAddress(value));
            }
        }

        private static bool IsAllZero(ReadOnlySpan<byte> b)
        {
            foreach (byte x in b) if (x != 0) return false;
            return true;
        }
    }
}
