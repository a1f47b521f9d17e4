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
        public TransportProtocol Protocol { get; set; }

        /// <summary>Local address; IPv6 addresses carry their scope id where the OS reports one.</summary>
        public IPAddress LocalAddress { get; set; }

        public int LocalPort { get; set; }

        /// <summary>
        /// Remote address. For TCP listeners it is the unspecified address (as Get-NetTCPConnection
        /// shows it); for UDP endpoints that are not connected it is null (there is no remote end).
        /// </summary>
        public IPAddress RemoteAddress { get; set; }

        public int? RemotePort { get; set; }

        /// <summary>TCP state; null for UDP, which has none.</summary>
        public TcpState? State { get; set; }

        /// <summary>Owning process id, null when the OS does not tell us (no privilege, no owner).</summary>
        public int? ProcessId { get; set; }

        /// <summary>Socket inode (Linux); null elsewhere or when the kernel reports none (TIME_WAIT).</summary>
        public ulong? Inode { get; set; }

        /// <summary>Owning user id as the kernel reports it (Linux); null elsewhere.</summary>
        public uint? UserId { get; set; }

        /// <summary>When the socket was created (UTC), where the OS records it (Windows OWNER_MODULE tables).</summary>
        public DateTime? CreationTime { get; set; }

        /// <summary>
        /// Payload bytes sent, cumulative. Linux: tcp_info bytes_acked over the socket's life (TCP only).
        /// Windows: bytes the module's ETW session saw since it started. Null where not counted (UDP on
        /// Linux, no privilege for ETW on Windows).
        /// </summary>
        public long? BytesSent { get; set; }

        /// <summary>Payload bytes received, cumulative; same sources and rules as <see cref="BytesSent"/>.</summary>
        public long? BytesReceived { get; set; }

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
