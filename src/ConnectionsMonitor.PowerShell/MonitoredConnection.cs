using System;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor
{
    /// <summary>
    /// One connection or endpoint, as Get-MonitoredConnection writes it. Every property is a flat
    /// primitive (string, number, bool, DateTime) so the object survives Export-Csv,
    /// ConvertTo-Json and remoting unchanged. Names follow Get-NetTCPConnection where it has a
    /// counterpart. A null property means "not known" — never a placeholder.
    /// </summary>
    /// <remarks>Defined here, in the cmdlet assembly, because PowerShell 7 cannot see types from the
    /// module's private load context.</remarks>
    public class MonitoredConnection
    {
        // Which of the nullable value properties below have a value, one bit each (RemotePort, ProcessId, CreationTime,
        // FirstSeen, AgeSeconds, BytesSent, BytesReceived, SendRate, ReceiveRate), so each is stored as its bare value: a
        // nullable long or DateTime field takes 16 bytes, its value 8, and at 10,000 rows a read this is hundreds of
        // kilobytes less for the GC to copy.
        private ushort _has;
        private int _remotePort;
        private int _processId;
        private DateTime _creationTime;
        private DateTime _firstSeen;
        private long _ageSeconds;
        private long _bytesSent;
        private long _bytesReceived;
        private double _sendRate;
        private double _receiveRate;

        /// <summary>"TCP" or "UDP".</summary>
        public string Protocol { get; set; }
        /// <summary>The local address in its standard text form ("127.0.0.1", "::1"; "0.0.0.0" / "::" for a listener on every address).</summary>
        public string LocalAddress { get; set; }

        /// <summary>The local port, 0–65535.</summary>
        public int LocalPort { get; set; }

        /// <summary>The unspecified address for TCP listeners (as Get-NetTCPConnection shows); null for UDP endpoints with no remote end.</summary>
        public string RemoteAddress { get; set; }
        /// <summary>The remote port, 0 for TCP listeners (as Get-NetTCPConnection shows); null for UDP endpoints with no remote end.</summary>
        public int? RemotePort { get => (_has & 1) != 0 ? _remotePort : (int?)null; set { _remotePort = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 1) : (ushort)(_has & ~1); } }

        /// <summary>The TCP state (Listen, Established, TimeWait …); null for UDP, which has none.</summary>
        public string State { get; set; }

        /// <summary>The owning process's id (Linux: the process holding the socket's inode in /proc/&lt;pid&gt;/fd; Windows: IP Helper's owner column); null when the owner cannot be read (another user's process without privilege, a socket no process holds).</summary>
        public int? ProcessId { get => (_has & 2) != 0 ? _processId : (int?)null; set { _processId = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 2) : (ushort)(_has & ~2); } }
        /// <summary>The owning process's name (Linux: the kernel's comm from /proc/&lt;pid&gt;/stat, or the full name from /proc/&lt;pid&gt;/cmdline when comm is cut to 15 bytes; Windows: the image name), as Get-Process shows it: untrusted text, shown sanitized by the table views; null when unknown.</summary>
        public string ProcessName { get; set; }

        /// <summary>The owning process's executable (Linux: /proc/&lt;pid&gt;/exe; Windows: QueryFullProcessImageName); null when it cannot be read.</summary>
        public string ProcessPath { get; set; }

        /// <summary>The owning process's user (Linux: the effective uid in /proc/&lt;pid&gt;/status, named from /etc/passwd; Windows: the process token's account, read with OpenProcessToken); null when unknown.</summary>
        public string UserName { get; set; }

        /// <summary>When the OS created the connection (local time), where the OS records it (Windows).</summary>
        public DateTime? CreationTime { get => (_has & 4) != 0 ? _creationTime : (DateTime?)null; set { _creationTime = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 4) : (ushort)(_has & ~4); } }

        /// <summary>
        /// When this PowerShell session first saw the connection (local time): when it appeared between
        /// two reads, or the session's first read for connections that were already there (see
        /// <see cref="AgeIsLowerBound"/>). Null for reads that do not track (none today).
        /// </summary>
        public DateTime? FirstSeen { get => (_has & 8) != 0 ? _firstSeen : (DateTime?)null; set { _firstSeen = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 8) : (ushort)(_has & ~8); } }

        /// <summary>
        /// Whole seconds the connection has existed at the snapshot: since CreationTime where the OS
        /// records it (Windows), else since FirstSeen; null when neither is known. A number rather than
        /// a TimeSpan so CSV and JSON carry one plain value.
        /// </summary>
        public long? AgeSeconds { get => (_has & 16) != 0 ? _ageSeconds : (long?)null; set { _ageSeconds = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 16) : (ushort)(_has & ~16); } }

        /// <summary>
        /// True when AgeSeconds is a lower bound: the connection was already open when the session first
        /// looked, so it is at least that old (the table views mark it with '>'). Null when the age is unknown.
        /// </summary>
        public bool? AgeIsLowerBound { get; set; }

        // The remote end's name, place, network and VPN reason: see RemoteEndDetails.
        private RemoteEndDetails _remote;

        /// <summary>The remote address's name from reverse DNS (-ResolveDns or resolveDNS); null until known.</summary>
        public string RemoteHostName { get => _remote?.HostName; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.HostName = value; } }

        /// <summary>ISO 3166-1 alpha-2 code of the remote address (public addresses only).</summary>
        public string Country { get => _remote?.Country; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.Country = value; } }
        /// <summary>The English name of <see cref="Country"/> (GeoIP database).</summary>
        public string CountryName { get => _remote?.CountryName; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.CountryName = value; } }

        /// <summary>City and coordinates: only when a City database is configured or downloaded.</summary>
        public string City { get => _remote?.City; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.City = value; } }
        /// <summary>Degrees (WGS 84); City database only.</summary>
        public double? Latitude { get => _remote?.Latitude; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.Latitude = value; } }
        /// <summary>Degrees (WGS 84); City database only.</summary>
        public double? Longitude { get => _remote?.Longitude; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.Longitude = value; } }

        /// <summary>Autonomous system number of the remote address (ASN database; public addresses only).</summary>
        public long? Asn { get => _remote?.Asn; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.Asn = value; } }
        /// <summary>The organization that holds <see cref="Asn"/> (ASN database).</summary>
        public string AsnOrganization { get => _remote?.AsnOrganization; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.AsnOrganization = value; } }

        /// <summary>Loopback, Private, LinkLocal, Multicast, Broadcast, Unspecified, Documentation, Reserved or Public.</summary>
        public string AddressScope { get; set; }
        /// <summary>True when a VPN rule matched (a VPN interface, process or port; see <see cref="VpnReason"/>), false when detection ran and none did; null when it could not tell.</summary>
        public bool? IsVpn { get; set; }

        /// <summary>Why <see cref="IsVpn"/> is true ("interface tun0 (tun)", "process openvpn"; several joined with "; "); null otherwise.</summary>
        public string VpnReason { get => _remote?.VpnReason; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.VpnReason = value; } }
        /// <summary>The names of the alert rules that flag the connection, comma-separated ("exposed,rdp"); null when none.</summary>
        public string Flags { get; set; }

        /// <summary>Payload bytes sent over the connection's life (Linux: tcp_info bytes_acked through sock_diag; Windows: bytes seen by the module's ETW session since it started); null where nothing counts (UDP on Linux).</summary>
        public long? BytesSent { get => (_has & 32) != 0 ? _bytesSent : (long?)null; set { _bytesSent = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 32) : (ushort)(_has & ~32); } }
        /// <summary>Payload bytes received, from the same source as <see cref="BytesSent"/> (Linux: tcp_info bytes_received).</summary>
        public long? BytesReceived { get => (_has & 64) != 0 ? _bytesReceived : (long?)null; set { _bytesReceived = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 64) : (ushort)(_has & ~64); } }
        /// <summary>
        /// Bytes per second sent. While the session's background sampler runs (a watch, the live view, the dashboard, a
        /// recording, the metrics endpoint, alert rules), over the sampler's latest interval; otherwise since the session's
        /// previous read of the connection table, at least half a second back (a read sooner carries the previous window's
        /// rates). Null on a connection's first read, or without counters.
        /// </summary>
        public double? SendRate { get => (_has & 128) != 0 ? _sendRate : (double?)null; set { _sendRate = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 128) : (ushort)(_has & ~128); } }
        /// <summary>Bytes per second received, over the same window as <see cref="SendRate"/>.</summary>
        public double? ReceiveRate { get => (_has & 256) != 0 ? _receiveRate : (double?)null; set { _receiveRate = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 256) : (ushort)(_has & ~256); } }

        /// <summary>
        /// One line for <c>"$conn"</c>: "TCP 10.0.0.5:51234 -> 203.0.113.7:443 Established (curl 4242)"; without the arrow when
        /// there is no remote end (a UDP socket with no peer): "UDP 0.0.0.0:5353 (avahi-daemon 812)".
        /// </summary>
        public override string ToString()
        {
            string remote = DisplayFormat.Endpoint(RemoteAddress, RemotePort);
            return Protocol + " " + DisplayFormat.Endpoint(LocalAddress, LocalPort) + (remote.Length > 0 ? " -> " + remote : "") +
                   (State != null ? " " + State : "") +
                   (ProcessId != null ? " (" + (ProcessName ?? "?") + " " + ProcessId + ")" : "");
        }
    }

    /// <summary>TCP states, named as Get-NetTCPConnection names them. Used by -State.</summary>
    public enum ConnectionState
    {
        Closed = 1,
        Listen = 2,
        SynSent = 3,
        SynReceived = 4,
        Established = 5,
        FinWait1 = 6,
        FinWait2 = 7,
        CloseWait = 8,
        Closing = 9,
        LastAck = 10,
        TimeWait = 11,
        DeleteTcb = 12,
    }
}
