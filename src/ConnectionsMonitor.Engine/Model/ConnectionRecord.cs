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

        // Enrichment (filled by later stages; null until then).
        public string RemoteHostName { get; set; }
        public string Country { get; set; }
        public string CountryName { get; set; }
        /// <summary>From a City database only (geoip.cityDatabase or a downloaded city.mmdb).</summary>
        public string City { get; set; }
        public double? Latitude { get; set; }
        public double? Longitude { get; set; }
        public long? Asn { get; set; }
        public string AsnOrganization { get; set; }
        public string AddressScope { get; set; }
        public bool? IsVpn { get; set; }
        public string VpnReason { get; set; }
        public string Flags { get; set; }
        public long? BytesSent { get; set; }
        public long? BytesReceived { get; set; }
        public double? SendRate { get; set; }
        public double? ReceiveRate { get; set; }

        /// <summary>A shallow copy (the addresses are immutable), for a changed view of a record other consumers still hold.</summary>
        public ConnectionRecord Copy() => (ConnectionRecord)MemberwiseClone();

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
