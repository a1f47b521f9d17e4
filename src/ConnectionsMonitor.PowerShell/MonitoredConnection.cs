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

        // The remote end's name, place, network and VPN reason live in one side object that a row without any of them
        // does not have (loopback and private peers, no -ResolveDns: most rows of a busy table), so such a row is about
        // 90 bytes smaller: 0.9 MB less to allocate and for the GC to copy per 10,000 rows written.
        private RemoteDetails _remote;

        private sealed class RemoteDetails
        {
            internal string HostName, Country, CountryName, City, AsnOrganization, VpnReason;
            internal double? Latitude, Longitude;
            internal long? Asn;
        }

        // The side object for a setter: none is made to hold a null.
        private RemoteDetails Remote(bool setsValue) => _remote ?? (setsValue ? _remote = new RemoteDetails() : null);

        /// <summary>The remote address's name from reverse DNS (-ResolveDns or resolveDNS); null until known.</summary>
        public string RemoteHostName { get => _remote?.HostName; set { var d = Remote(value != null); if (d != null) d.HostName = value; } }

        /// <summary>ISO 3166-1 alpha-2 code of the remote address (public addresses only).</summary>
        public string Country { get => _remote?.Country; set { var d = Remote(value != null); if (d != null) d.Country = value; } }
        public string CountryName { get => _remote?.CountryName; set { var d = Remote(value != null); if (d != null) d.CountryName = value; } }

        /// <summary>City and coordinates: only when a City database is configured or downloaded.</summary>
        public string City { get => _remote?.City; set { var d = Remote(value != null); if (d != null) d.City = value; } }
        /// <summary>Degrees (WGS 84); City database only.</summary>
        public double? Latitude { get => _remote?.Latitude; set { var d = Remote(value != null); if (d != null) d.Latitude = value; } }
        /// <summary>Degrees (WGS 84); City database only.</summary>
        public double? Longitude { get => _remote?.Longitude; set { var d = Remote(value != null); if (d != null) d.Longitude = value; } }

        /// <summary>Autonomous system number of the remote address (ASN database; public addresses only).</summary>
        public long? Asn { get => _remote?.Asn; set { var d = Remote(value != null); if (d != null) d.Asn = value; } }
        public string AsnOrganization { get => _remote?.AsnOrganization; set { var d = Remote(value != null); if (d != null) d.AsnOrganization = value; } }

        /// <summary>Loopback, Private, LinkLocal, Multicast, Broadcast, Unspecified, Documentation, Reserved or Public.</summary>
        public string AddressScope { get; set; }
        public bool? IsVpn { get; set; }
        public string VpnReason { get => _remote?.VpnReason; set { var d = Remote(value != null); if (d != null) d.VpnReason = value; } }
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
