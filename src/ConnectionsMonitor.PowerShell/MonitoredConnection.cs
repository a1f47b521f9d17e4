using System;

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
        /// <summary>"TCP" or "UDP".</summary>
        public string Protocol { get; set; }
        public string LocalAddress { get; set; }
        public int LocalPort { get; set; }

        /// <summary>The unspecified address for TCP listeners (as Get-NetTCPConnection shows); null for UDP endpoints with no remote end.</summary>
        public string RemoteAddress { get; set; }
        public int? RemotePort { get; set; }

        /// <summary>The TCP state (Listen, Established, TimeWait …); null for UDP, which has none.</summary>
        public string State { get; set; }

        public int? ProcessId { get; set; }
        public string ProcessName { get; set; }
        public string ProcessPath { get; set; }
        public string UserName { get; set; }

        /// <summary>When the OS created the connection (local time), where the OS records it (Windows).</summary>
        public DateTime? CreationTime { get; set; }

        /// <summary>
        /// When this PowerShell session first saw the connection (local time): when it appeared between
        /// two reads, or the session's first read for connections that were already there (see
        /// <see cref="AgeIsLowerBound"/>). Null for reads that do not track (none today).
        /// </summary>
        public DateTime? FirstSeen { get; set; }

        /// <summary>
        /// Whole seconds the connection has existed at the snapshot: since CreationTime where the OS
        /// records it (Windows), else since FirstSeen; null when neither is known. A number rather than
        /// a TimeSpan so CSV and JSON carry one plain value.
        /// </summary>
        public long? AgeSeconds { get; set; }

        /// <summary>
        /// True when AgeSeconds is a lower bound: the connection was already open when the session first
        /// looked, so it is at least that old (the table views mark it with '>'). Null when the age is unknown.
        /// </summary>
        public bool? AgeIsLowerBound { get; set; }

        /// <summary>The remote address's name from reverse DNS (-ResolveDns or resolveDNS); null until known.</summary>
        public string RemoteHostName { get; set; }

        /// <summary>ISO 3166-1 alpha-2 code of the remote address (public addresses only).</summary>
        public string Country { get; set; }
        public string CountryName { get; set; }

        /// <summary>City and coordinates: only when a City database is configured or downloaded.</summary>
        public string City { get; set; }
        public double? Latitude { get; set; }
        public double? Longitude { get; set; }

        public long? Asn { get; set; }
        public string AsnOrganization { get; set; }

        /// <summary>Loopback, Private, LinkLocal, Multicast, Broadcast, Unspecified, Documentation, Reserved or Public.</summary>
        public string AddressScope { get; set; }
        public bool? IsVpn { get; set; }
        public string VpnReason { get; set; }
        public string Flags { get; set; }
        public long? BytesSent { get; set; }
        public long? BytesReceived { get; set; }
        public double? SendRate { get; set; }
        public double? ReceiveRate { get; set; }

        public override string ToString()
        {
            return Protocol + " " + DisplayFormat.Endpoint(LocalAddress, LocalPort) + " -> " +
                   DisplayFormat.Endpoint(RemoteAddress, RemotePort) + (State != null ? " " + State : "") +
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
