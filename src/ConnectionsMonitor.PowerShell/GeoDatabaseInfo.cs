using System;

namespace ConnectionsMonitor
{
    /// <summary>
    /// One GeoIP database file that Update-ConnectionGeoDatabase installed. Flat primitives, so it
    /// exports and survives remoting unchanged.
    /// </summary>
    public sealed class GeoDatabaseInfo
    {
        /// <summary>"Country", "Asn" or "City": which file it is (country.mmdb, asn.mmdb, city.mmdb).</summary>
        public string Database { get; set; }

        /// <summary>The full path of the installed .mmdb file.</summary>
        public string Path { get; set; }

        /// <summary>"DbIpLite", "MaxMind", "IpInfo" or "Url".</summary>
        public string Source { get; set; }

        /// <summary>database_type from the file's metadata, e.g. GeoLite2-Country or DBIP-Country-Lite.</summary>
        public string DatabaseType { get; set; }

        /// <summary>When the provider built the database (metadata build_epoch), in UTC.</summary>
        public DateTime BuildDate { get; set; }

        public long SizeBytes { get; set; }

        /// <summary>SHA-256 of the installed .mmdb file, lower-case hex.</summary>
        public string Sha256 { get; set; }
    }
}
