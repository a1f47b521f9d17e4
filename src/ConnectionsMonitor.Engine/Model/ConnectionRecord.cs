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
        // Which of the nullable value properties below have a value, one bit each (RemotePort, State, ProcessId,
        // CreationTime, FirstSeenUtc, BytesSent, BytesReceived, SendRate, ReceiveRate), so each is stored as its bare
        // value: a nullable long or DateTime field takes 16 bytes, its value 8, and at 10,000 rows a read this is hundreds
        // of kilobytes less for the GC to copy.
        private ushort _has;
        private int _remotePort;
        private TcpState _state;
        private int _processId;
        private DateTime _creationTime;
        private DateTime _firstSeenUtc;
        private long _bytesSent;
        private long _bytesReceived;
        private double _sendRate;
        private double _receiveRate;

        /// <summary>Identity across samples (protocol, endpoints, process, inode).</summary>
        public ConnectionKey Key { get; set; }

        public TransportProtocol Protocol { get; set; }
        public IPAddress LocalAddress { get; set; }
        public int LocalPort { get; set; }
        public IPAddress RemoteAddress { get; set; }
        public int? RemotePort { get => (_has & 1) != 0 ? _remotePort : (int?)null; set { _remotePort = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 1) : (ushort)(_has & ~1); } }
        public TcpState? State { get => (_has & 2) != 0 ? _state : (TcpState?)null; set { _state = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 2) : (ushort)(_has & ~2); } }
        public int? ProcessId { get => (_has & 4) != 0 ? _processId : (int?)null; set { _processId = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 4) : (ushort)(_has & ~4); } }
        public string ProcessName { get; set; }
        public string ProcessPath { get; set; }
        public string UserName { get; set; }
        public DateTime? CreationTime { get => (_has & 8) != 0 ? _creationTime : (DateTime?)null; set { _creationTime = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 8) : (ushort)(_has & ~8); } }

        /// <summary>
        /// When a tracker first saw the connection (UTC): set for connections that appeared while it
        /// watched; null for ones that already existed when it started (their age is unknown).
        /// </summary>
        public DateTime? FirstSeenUtc { get => (_has & 16) != 0 ? _firstSeenUtc : (DateTime?)null; set { _firstSeenUtc = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 16) : (ushort)(_has & ~16); } }

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

        // Enrichment (filled by later stages; null until then). The remote end's name, place, network and VPN reason: see RemoteEndDetails.
        private RemoteEndDetails _remote;

        /// <summary>The remote address's name from reverse DNS; null until known.</summary>
        public string RemoteHostName { get => _remote?.HostName; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.HostName = value; } }
        /// <summary>ISO 3166-1 alpha-2 code from the Country (or City) database; public addresses only.</summary>
        public string Country { get => _remote?.Country; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.Country = value; } }
        public string CountryName { get => _remote?.CountryName; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.CountryName = value; } }
        /// <summary>From a City database only (geoip.cityDatabase or a downloaded city.mmdb).</summary>
        public string City { get => _remote?.City; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.City = value; } }
        /// <summary>Degrees, WGS 84, from a City database only.</summary>
        public double? Latitude { get => _remote?.Latitude; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.Latitude = value; } }
        /// <summary>Degrees, WGS 84, from a City database only.</summary>
        public double? Longitude { get => _remote?.Longitude; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.Longitude = value; } }
        /// <summary>Autonomous system number from the ASN database.</summary>
        public long? Asn { get => _remote?.Asn; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.Asn = value; } }
        public string AsnOrganization { get => _remote?.AsnOrganization; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.AsnOrganization = value; } }
        public string AddressScope { get; set; }
        public bool? IsVpn { get; set; }
        public string VpnReason { get => _remote?.VpnReason; set { var d = RemoteEndDetails.ToSet(ref _remote, value == null); if (d != null) d.VpnReason = value; } }
        public string Flags { get; set; }
        public long? BytesSent { get => (_has & 32) != 0 ? _bytesSent : (long?)null; set { _bytesSent = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 32) : (ushort)(_has & ~32); } }
        public long? BytesReceived { get => (_has & 64) != 0 ? _bytesReceived : (long?)null; set { _bytesReceived = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 64) : (ushort)(_has & ~64); } }
        public double? SendRate { get => (_has & 128) != 0 ? _sendRate : (double?)null; set { _sendRate = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 128) : (ushort)(_has & ~128); } }
        public double? ReceiveRate { get => (_has & 256) != 0 ? _receiveRate : (double?)null; set { _receiveRate = value.GetValueOrDefault(); _has = value.HasValue ? (ushort)(_has | 256) : (ushort)(_has & ~256); } }

        /// <summary>A copy (the addresses are immutable and shared; the remote details are copied), for a changed view of a record other consumers still hold.</summary>
        /// <summary>Protocol and the two ends as this record gives them (see <see cref="ConnectionKey.Endpoints"/>).</summary>
        internal (TransportProtocol, IPAddress, int, IPAddress, int?) Endpoints => (Protocol, LocalAddress, LocalPort, RemoteAddress, RemotePort);

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
