using System;
using System.Net;

namespace ConnectionsMonitor.Engine.Model
{
    /// <summary>
    /// Identity of a connection across samples: protocol, both endpoints and owning process, plus the
    /// socket inode where the OS has one (so a 4-tuple reused by a new socket is a new connection).
    /// </summary>
    public readonly struct ConnectionKey : IEquatable<ConnectionKey>
    {
        public ConnectionKey(TransportProtocol protocol, IPAddress localAddress, int localPort,
            IPAddress remoteAddress, int? remotePort, int? processId, ulong? inode)
        {
            Protocol = protocol;
            LocalAddress = localAddress;
            LocalPort = localPort;
            RemoteAddress = remoteAddress;
            RemotePort = remotePort;
            ProcessId = processId;
            Inode = inode;
        }

        public static ConnectionKey Of(SocketEntry e) =>
            new ConnectionKey(e.Protocol, e.LocalAddress, e.LocalPort, e.RemoteAddress, e.RemotePort, e.ProcessId, e.Inode);

        public TransportProtocol Protocol { get; }
        public IPAddress LocalAddress { get; }
        public int LocalPort { get; }
        public IPAddress RemoteAddress { get; }
        public int? RemotePort { get; }
        public int? ProcessId { get; }
        public ulong? Inode { get; }

        public bool Equals(ConnectionKey o) =>
            Protocol == o.Protocol && LocalPort == o.LocalPort && RemotePort == o.RemotePort &&
            ProcessId == o.ProcessId && Inode == o.Inode &&
            Equals(LocalAddress, o.LocalAddress) && Equals(RemoteAddress, o.RemoteAddress);

        public override bool Equals(object obj) => obj is ConnectionKey k && Equals(k);

        public override int GetHashCode()
        {
            unchecked
            {
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
    }
}
