using System;
using System.Net;

namespace ConnectionsMonitor.Engine.Model
{
    /// <summary>
    /// A connection as the engine hands it to consumers: the OS row plus its owning process and the
    /// enrichment fields of the design's MonitoredConnection. Enrichment fields stay null until an
    /// enricher fills them; null always means "not known", never a placeholder.
    /// </summary>
    public sealed class ConnectionRecord
    {
        /// <summary>Identity across samples (protocol, endpoints, process, inode).</summary>
        public ConnectionKey Key { get; set; }

        public TransportProtocol Protocol { get; set; }
        public IPAddress LocalAddress { get; set; }
        public int LocalPort { get; set; }
        public IPAddress RemoteAddress { get; set; }
        public int? RemotePort { get; set; }
        public TcpState? State { get; set; }
        public int? ProcessId { get; set; }
        public string ProcessName { get; set; }
        public string ProcessPath { get; set; }
        public string UserName { get; set; }
        public DateTime? CreationTime { get; set; }

        /// <summary>
        /// When a tracker first saw the connection (UTC): set for connections that appeared while it
        /// watched; null for ones that already existed when it started (their age is unknown).
        /// </summary>
        public DateTime? FirstSeenUtc { get; set; }

        /// <summary>
        /// True when <see cref="FirstSeenUtc"/> is only a lower bound of the connection's age: it was
        /// already there when the session first looked, so it is older than that.
        /// </summary>
        public bool FirstSeenIsLowerBound { get; set; }

        /// <summary>
        /// True when <see cref="GetAge"/> gives a lower bound (no OS creation time, and the session did
        /// not see the connection open); false when the age is measured or unknown.
        /// </summary>
        public bool AgeIsLowerBound => CreationTime == null && FirstSeenUtc != null && FirstSeenIsLowerBound;

        // Enrichment (filled by later stages; null until then). The remote end's name, place, network and VPN reason are
        // kept in one side object that a row without any of them does not have: most rows of a busy table (loopback,
        // private peers, no -ResolveDns) have none, and ten fields less per row is about 0.9 MB less to allocate (and
        // for the GC to copy) per read of 10,000 rows.
        private RemoteDetails _remote;

        private sealed class RemoteDetails
        {
            internal string HostName, Country, CountryName, City, AsnOrganization, VpnReason;
            internal double? Latitude, Longitude;
            internal long? Asn;
            internal RemoteDetails Clone() => (RemoteDetails)MemberwiseClone();
        }

        // The side object for a setter: none is made to hold a null.
        private RemoteDetails Remote(bool setsValue) => _remote ?? (setsValue ? _remote = new RemoteDetails() : null);

        /// <summary>The remote address's name from reverse DNS; null until known.</summary>
        public string RemoteHostName { get => _remote?.HostName; set { var d = Remote(value != null); if (d != null) d.HostName = value; } }
        /// <summary>ISO 3166-1 alpha-2 code from the Country (or City) database; public addresses only.</summary>
        public string Country { get => _remote?.Country; set { var d = Remote(value != null); if (d != null) d.Country = value; } }
        public string CountryName { get => _remote?.CountryName; set { var d = Remote(value != null); if (d != null) d.CountryName = value; } }
        /// <summary>From a City database only (geoip.cityDatabase or a downloaded city.mmdb).</summary>
        public string City { get => _remote?.City; set { var d = Remote(value != null); if (d != null) d.City = value; } }
        /// <summary>Degrees, WGS 84, from a City database only.</summary>
        public double? Latitude { get => _remote?.Latitude; set { var d = Remote(value != null); if (d != null) d.Latitude = value; } }
        /// <summary>Degrees, WGS 84, from a City database only.</summary>
        public double? Longitude { get => _remote?.Longitude; set { var d = Remote(value != null); if (d != null) d.Longitude = value; } }
        /// <summary>Autonomous system number from the ASN database.</summary>
        public long? Asn { get => _remote?.Asn; set { var d = Remote(value != null); if (d != null) d.Asn = value; } }
        public string AsnOrganization { get => _remote?.AsnOrganization; set { var d = Remote(value != null); if (d != null) d.AsnOrganization = value; } }
        public string AddressScope { get; set; }
        public bool? IsVpn { get; set; }
        public string VpnReason { get => _remote?.VpnReason; set { var d = Remote(value != null); if (d != null) d.VpnReason = value; } }
        public string Flags { get; set; }
        public long? BytesSent { get; set; }
        public long? BytesReceived { get; set; }
        public double? SendRate { get; set; }
        public double? ReceiveRate { get; set; }

        /// <summary>A copy (the addresses are immutable and shared; the remote details are copied), for a changed view of a record other consumers still hold.</summary>
        public ConnectionRecord Copy()
        {
            var copy = (ConnectionRecord)MemberwiseClone();
            if (_remote != null) copy._remote = _remote.Clone();
            return copy;
        }

        /// <summary>How long the connection has existed: from the OS's creation time, else from when a tracker saw it appear; null when neither is known.</summary>
        public TimeSpan? GetAge(DateTime nowUtc)
        {
            var since = CreationTime ?? FirstSeenUtc;
            if (since == null) return null;
            var age = nowUtc - since.Value;
            return age < TimeSpan.Zero ? TimeSpan.Zero : age;
        }
    }
}
