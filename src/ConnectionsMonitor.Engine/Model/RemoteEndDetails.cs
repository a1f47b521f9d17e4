namespace ConnectionsMonitor.Engine.Model
{
    /// <summary>
    /// Storage, not a result: the remote end's details that most rows of a busy table lack — its name (reverse DNS), place
    /// and network (GeoIP, public addresses only) and the VPN verdict's reason — kept by <see cref="ConnectionRecord"/> and
    /// the cmdlets' MonitoredConnection in one object that a row without any of them does not have (loopback and private
    /// peers with no -ResolveDns: ten fields, about 90 bytes, less per row; 0.9 MB less per 10,000 rows for the GC to
    /// copy). Each owner exposes the values as its own properties; null means not known.
    /// </summary>
    public sealed class RemoteEndDetails
    {
        /// <summary>Reverse DNS name of the remote address.</summary>
        public string HostName;
        /// <summary>ISO 3166-1 alpha-2 code and English name (GeoIP Country or City database).</summary>
        public string Country, CountryName;
        /// <summary>City name (GeoIP City database).</summary>
        public string City;
        /// <summary>Degrees, WGS 84 (GeoIP City database).</summary>
        public double? Latitude, Longitude;
        /// <summary>Autonomous system number and its organisation (GeoIP ASN database).</summary>
        public long? Asn;
        /// <summary>The organisation of <see cref="Asn"/>.</summary>
        public string AsnOrganization;
        /// <summary>Why the connection counts as VPN traffic (interface, process, port); null when it does not, or is not known.</summary>
        public string VpnReason;

        /// <summary>
        /// The object a setter stores its value in: <paramref name="details"/> when there is one; else, when the value set is
        /// not null, a new one stored in <paramref name="details"/>; else null (no object is made to hold a null).
        /// </summary>
        public static RemoteEndDetails ToSet(ref RemoteEndDetails details, bool valueIsNull) =>
            details ?? (valueIsNull ? null : details = new RemoteEndDetails());

        /// <summary>A copy that shares nothing mutable with this one.</summary>
        public RemoteEndDetails Clone() => (RemoteEndDetails)MemberwiseClone();
    }
}
