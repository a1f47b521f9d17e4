using System;
using System.Net;

namespace ConnectionsMonitor.Engine.Model
{
    /// <summary>
    /// One row of an operating system's connection table, as a platform source reports it,
    /// before process names and enrichment are attached. Unknown values are null.
    /// </summary>
    public sealed class SocketEntry
    {
        // Which of the nullable value properties below have a value, one bit each (RemotePort, State, ProcessId, Inode,
        // UserId, CreationTime, BytesSent, BytesReceived), so each is stored as its bare value: a nullable long or
        // DateTime field takes 16 bytes, its value 8, and at 10,000 rows a read this is hundreds of kilobytes less for the
        // GC to copy.
        private byte _has;
        private int _remotePort;
        private TcpState _state;
        private int _processId;
        private ulong _inode;
        private uint _userId;
        private DateTime _creationTime;
        private long _bytesSent;
        private long _bytesReceived;

        public TransportProtocol Protocol { get; set; }

        /// <summary>Local address; IPv6 addresses carry their scope id where the OS reports one.</summary>
        public IPAddress LocalAddress { get; set; }

        public int LocalPort { get; set; }

        /// <summary>
        /// Remote address. For TCP listeners it is the unspecified address (as Get-NetTCPConnection
        /// shows it); for UDP endpoints that are not connected it is null (there is no remote end).
        /// </summary>
        public IPAddress RemoteAddress { get; set; }

        public int? RemotePort { get => (_has & 1) != 0 ? _remotePort : (int?)null; set { _remotePort = value.GetValueOrDefault(); _has = value.HasValue ? (byte)(_has | 1) : (byte)(_has & ~1); } }

        /// <summary>TCP state; null for UDP, which has none.</summary>
        public TcpState? State { get => (_has & 2) != 0 ? _state : (TcpState?)null; set { _state = value.GetValueOrDefault(); _has = value.HasValue ? (byte)(_has | 2) : (byte)(_has & ~2); } }

        /// <summary>Owning process id, null when the OS does not tell us (no privilege, no owner).</summary>
        public int? ProcessId { get => (_has & 4) != 0 ? _processId : (int?)null; set { _processId = value.GetValueOrDefault(); _has = value.HasValue ? (byte)(_has | 4) : (byte)(_has & ~4); } }

        /// <summary>Socket inode (Linux); null elsewhere or when the kernel reports none (TIME_WAIT).</summary>
        public ulong? Inode { get => (_has & 8) != 0 ? _inode : (ulong?)null; set { _inode = value.GetValueOrDefault(); _has = value.HasValue ? (byte)(_has | 8) : (byte)(_has & ~8); } }

        /// <summary>Owning user id as the kernel reports it (Linux); null elsewhere.</summary>
        public uint? UserId { get => (_has & 16) != 0 ? _userId : (uint?)null; set { _userId = value.GetValueOrDefault(); _has = value.HasValue ? (byte)(_has | 16) : (byte)(_has & ~16); } }

        /// <summary>When the socket was created (UTC), where the OS records it (Windows OWNER_MODULE tables).</summary>
        public DateTime? CreationTime { get => (_has & 32) != 0 ? _creationTime : (DateTime?)null; set { _creationTime = value.GetValueOrDefault(); _has = value.HasValue ? (byte)(_has | 32) : (byte)(_has & ~32); } }

        /// <summary>
        /// Payload bytes sent, cumulative. Linux: tcp_info bytes_acked over the socket's life (TCP only).
        /// Windows: bytes the module's ETW session saw since it started. Null where not counted (UDP on
        /// Linux, no privilege for ETW on Windows).
        /// </summary>
        public long? BytesSent { get => (_has & 64) != 0 ? _bytesSent : (long?)null; set { _bytesSent = value.GetValueOrDefault(); _has = value.HasValue ? (byte)(_has | 64) : (byte)(_has & ~64); } }

        /// <summary>Payload bytes received, cumulative; same sources and rules as <see cref="BytesSent"/>.</summary>
        public long? BytesReceived { get => (_has & 128) != 0 ? _bytesReceived : (long?)null; set { _bytesReceived = value.GetValueOrDefault(); _has = value.HasValue ? (byte)(_has | 128) : (byte)(_has & ~128); } }

        /// <summary>
        /// Linux sock_diag idiag_cookie: the kernel's id of the socket, unique in its network namespace for
        /// the socket's life. Destroy events carry it (but no inode), so closed connections are matched to
        /// the rows a read saw. 0 where unknown.
        /// </summary>
        internal ulong SockDiagCookie { get; set; }

        public override string ToString()
        {
            return string.Format("{0} {1}:{2} -> {3}:{4} {5} pid={6}",
                Protocol, LocalAddress, LocalPort, RemoteAddress, RemotePort, State, ProcessId);
        }
    }
}
