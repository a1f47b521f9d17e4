using System;
using System.Collections.Generic;
using System.Net;

namespace ConnectionsMonitor.Engine.Model
{
    /// <summary>
    /// Identity of a connection across samples: protocol, both endpoints and owning process, plus the
    /// socket inode where the OS has one (so a 4-tuple reused by a new socket is a new connection).
    /// Where the kernel gives a socket cookie (Linux sock_diag: 64 bits, never reused) the cookie and
    /// the owning process decide, which makes the tracker's, the rates' and the sample windows'
    /// dictionaries several times cheaper at 10,000 connections.
    /// </summary>
    public readonly struct ConnectionKey : IEquatable<ConnectionKey>
    {
        public ConnectionKey(TransportProtocol protocol, IPAddress localAddress, int localPort,
            IPAddress remoteAddress, int? remotePort, int? processId, ulong? inode, ulong cookie = 0)
        {
            Cookie = cookie;
            Protocol = protocol;
            LocalAddress = localAddress;
            LocalPort = localPort;
            RemoteAddress = remoteAddress;
            RemotePort = remotePort;
            ProcessId = processId;
            Inode = inode;
        }

        public static ConnectionKey Of(SocketEntry e) =>
            new ConnectionKey(e.Protocol, e.LocalAddress, e.LocalPort, e.RemoteAddress, e.RemotePort, e.ProcessId, e.Inode, e.SockDiagCookie);

        /// <summary>The kernel's socket cookie; 0 when the OS gives none.</summary>
        public ulong Cookie { get; }

        public TransportProtocol Protocol { get; }
        public IPAddress LocalAddress { get; }
        public int LocalPort { get; }
        public IPAddress RemoteAddress { get; }
        public int? RemotePort { get; }
        public int? ProcessId { get; }
        public ulong? Inode { get; }

        /// <summary>
        /// Protocol and the two ends (local address and port, remote address and port): what names a connection across a
        /// change of its owner or socket identity (an exiting process leaving its FIN_WAIT2 socket ownerless, a closing
        /// report of a socket the table showed). The one form the tracker, the history and the traffic windows match on;
        /// the rate memory, which keeps no events, follows an owner change by <see cref="Cookie"/> alone, the socket itself
        /// (RateTracker), so a new socket on the same four numbers is never taken for the old one there.
        /// </summary>
        internal (TransportProtocol, IPAddress, int, IPAddress, int?) Endpoints => (Protocol, LocalAddress, LocalPort, RemoteAddress, RemotePort);

        public bool Equals(ConnectionKey o) =>
            Cookie != 0 || o.Cookie != 0
                ? Cookie == o.Cookie && ProcessId == o.ProcessId
                : Protocol == o.Protocol && LocalPort == o.LocalPort && RemotePort == o.RemotePort &&
            ProcessId == o.ProcessId && Inode == o.Inode &&
            Equals(LocalAddress, o.LocalAddress) && Equals(RemoteAddress, o.RemoteAddress);

        public override bool Equals(object obj) => obj is ConnectionKey k && Equals(k);

        public override int GetHashCode()
        {
            unchecked
            {
                if (Cookie != 0) return Cookie.GetHashCode() * 31 + (ProcessId ?? -1);
                int h = (int)Protocol;
                h = h * 31 + LocalPort;
                h = h * 31 + (RemotePort ?? -1);
                h = h * 31 + (ProcessId ?? -1);
                h = h * 31 + (Inode?.GetHashCode() ?? 0);
                h = h * 31 + (LocalAddress?.GetHashCode() ?? 0);
                h = h * 31 + (RemoteAddress?.GetHashCode() ?? 0);
                return h;
            }
        }

        private static bool Equals(IPAddress a, IPAddress b) => a == null ? b == null : a.Equals(b);

        /// <summary>
        /// The comparer every dictionary and set of keys is made with: the default one for a struct of ours is built by
        /// reflection and compiled unoptimized at first use, which a first 10,000-row read then calls 20,000 times; this one
        /// is precompiled with the module (ReadyToRun) and calls <see cref="Equals(ConnectionKey)"/> and <see cref="GetHashCode"/>.
        /// </summary>
        public static IEqualityComparer<ConnectionKey> Comparer { get; } = new KeyComparer();

        private sealed class KeyComparer : IEqualityComparer<ConnectionKey>
        {
            public bool Equals(ConnectionKey x, ConnectionKey y) => x.Equals(y);
            public int GetHashCode(ConnectionKey k) => k.GetHashCode();
        }
    }
}
