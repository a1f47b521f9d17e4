using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using MaxMind.Db;
using MaxMind.GeoIP2;
using MaxMind.GeoIP2.Exceptions;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>The record layouts this module reads.</summary>
    public enum GeoDatabaseLayout
    {
        /// <summary>GeoLite2/GeoIP2/DB-IP Country: read with MaxMind.GeoIP2's DatabaseReader.Country.</summary>
        Country,
        /// <summary>GeoLite2/GeoIP2/DB-IP City: country plus city and coordinates (DatabaseReader.City).</summary>
        City,
        /// <summary>GeoLite2-ASN layout: autonomous system number and organisation (DatabaseReader.Asn).</summary>
        Asn,
        /// <summary>Records that are just {country_code} (the bundled ip-location-db DB-IP Lite file).</summary>
        CountryCode,
        /// <summary>IPinfo Lite: {country_code, country, asn "AS…", as_name} in one file.</summary>
        IpInfo,
    }

    /// <summary>A .mmdb file could not be used; the message says which file and why.</summary>
    public sealed class GeoDatabaseException : Exception
    {
        /// <summary>The file and why it cannot be used (a clause that follows "it", e.g. "is not a MaxMind DB file").</summary>
        public GeoDatabaseException(string path, string reason, Exception inner = null)
            : base("the GeoIP database '" + path + "' " + reason, inner)
        {
            Path = path;
            Reason = reason;
        }

        /// <summary>The database file.</summary>
        public string Path { get; }

        /// <summary>Why, without the file name (e.g. "is not a usable MaxMind DB (.mmdb) file: …").</summary>
        public string Reason { get; }
    }

    /// <summary>
    /// One opened .mmdb file. The whole file is read into memory, so the file on disk is never
    /// locked and can be replaced (Update-ConnectionGeoDatabase does that) while this copy answers.
    /// Lookups are thread-safe (the MaxMind readers are).
    /// </summary>
    public sealed class GeoDatabase : IDisposable
    {
        // Well-known public resolvers: probing them tells which fields the records carry.
        private static readonly IPAddress[] ProbeAddresses =
        {
            IPAddress.Parse("1.1.1.1"), IPAddress.Parse("8.8.8.8"), IPAddress.Parse("9.9.9.9"), IPAddress.Parse("2001:4860:4860::8888"),
        };

        // Decoded answers by data-record offset: addresses that share a record share its answer.
        private const int MaxCachedRecords = 1 << 18;

        private readonly DatabaseReader _geoIp2;
        private readonly Reader _plain;
        private MmdbSearchTree _tree;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<long, GeoInfo> _byRecord = new System.Collections.Concurrent.ConcurrentDictionary<long, GeoInfo>();

        private GeoDatabase(string path, GeoDatabaseLayout layout, Metadata metadata, DatabaseReader geoIp2, Reader plain)
        {
            Path = path;
            Layout = layout;
            DatabaseType = metadata.DatabaseType;
            BuildDateUtc = DateTime.SpecifyKind(metadata.BuildDate, DateTimeKind.Utc);
            _geoIp2 = geoIp2;
            _plain = plain;
        }

        /// <summary>The file this database was opened from.</summary>
        public string Path { get; }

        /// <summary>Which record layout the file uses, detected when it was opened.</summary>
        public GeoDatabaseLayout Layout { get; }
        /// <summary>The file's own database_type, e.g. "GeoLite2-City" or "DBIP-Country-Lite".</summary>
        public string DatabaseType { get; }
        /// <summary>build_epoch from the file's metadata, UTC.</summary>
        public DateTime BuildDateUtc { get; }

        /// <summary>Opens and identifies a database; throws GeoDatabaseException with a message fit for a user.</summary>
        public static GeoDatabase Open(string path)
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NotSupportedException || ex is ArgumentException)
            {
                throw new GeoDatabaseException(path, "cannot be read: " + ex.Message, ex);
            }
            try
            {
                return FromBytes(path, bytes);
            }
            catch (GeoDatabaseException) { throw; }
            catch (Exception ex) // the readers throw several types (InvalidDatabaseException, IndexOutOfRange …) for damaged files
            {
                throw new GeoDatabaseException(path, "is not a usable MaxMind DB (.mmdb) file: " + ex.Message, ex);
            }
        }

        private static GeoDatabase FromBytes(string path, byte[] bytes)
        {
            var plain = new Reader(new MemoryStream(bytes, writable: false));
            try
            {
                var meta = plain.Metadata;
                string type = meta.DatabaseType ?? "";
                // DatabaseReader insists on its own type names; DB-IP's monthly files say e.g.
                // "DBIP-City-Lite" and "DBIP-ASN-Lite (compat=GeoLite2-ASN)", which it accepts.
                GeoDatabaseLayout? layout = null;
                if (type.IndexOf("City", StringComparison.Ordinal) >= 0) layout = GeoDatabaseLayout.City;
                else if (type.IndexOf("ASN", StringComparison.Ordinal) >= 0) layout = GeoDatabaseLayout.Asn;
                else if (type.IndexOf("Country", StringComparison.Ordinal) >= 0) layout = GeoDatabaseLayout.Country;
                if (layout != null)
                {
                    var geo = new DatabaseReader(new MemoryStream(bytes, writable: false));
                    var db = new GeoDatabase(path, layout.Value, meta, geo, null) { _tree = MmdbSearchTree.TryCreate(bytes) };
                    plain.Dispose();
                    db.Probe();
                    return db;
                }
                var probed = Identify(plain) ?? throw new GeoDatabaseException(path,
                    "(database_type '" + type + "') has no country or ASN fields this module reads; expected a GeoLite2/GeoIP2/DB-IP Country, City or ASN database, a DB-IP Lite country_code database or IPinfo Lite.");
                var result = new GeoDatabase(path, probed, meta, null, plain) { _tree = MmdbSearchTree.TryCreate(bytes) };
                result.Probe();
                return result;
            }
            catch
            {
                plain.Dispose();
                throw;
            }
        }

        /// <summary>Tells the layout of a database whose database_type is not one of MaxMind's, from the keys of its records.</summary>
        private static GeoDatabaseLayout? Identify(Reader reader)
        {
            foreach (var address in ProbeAddresses)
            {
                var record = reader.Find<Dictionary<string, object>>(address);
                if (record == null) continue;
                if (record.ContainsKey("country_code") && (record.ContainsKey("asn") || record.ContainsKey("as_name"))) return GeoDatabaseLayout.IpInfo;
                if (record.ContainsKey("country_code")) return GeoDatabaseLayout.CountryCode;
            }
            return null;
        }

        /// <summary>A lookup of well-known public addresses must work: catches files damaged past the metadata.</summary>
        private void Probe()
        {
            foreach (var address in ProbeAddresses)
                if (!Lookup(address).IsEmpty) return;
            throw new GeoDatabaseException(Path, "opens but answers none of " + string.Join(", ", (object[])ProbeAddresses) + "; the file is empty, damaged or covers only part of the internet.");
        }

        /// <summary>What this database knows about an address (GeoInfo.Empty when nothing).</summary>
        public GeoInfo Lookup(IPAddress address)
        {
            if (_tree == null) return Decode(address);
            long offset = _tree.Find(address);
            if (offset < 0) return GeoInfo.Empty;
            if (_byRecord.TryGetValue(offset, out var known)) return known;
            var info = Decode(address);
            if (_byRecord.Count < MaxCachedRecords) _byRecord[offset] = info;
            return info;
        }

        /// <summary>The record for an address, decoded by MaxMind's readers (the reference the tree walk is tested against).</summary>
        internal GeoInfo Decode(IPAddress address)
        {
            try
            {
                switch (Layout)
                {
                    case GeoDatabaseLayout.Country:
                        if (!_geoIp2.TryCountry(address, out var country)) return GeoInfo.Empty;
                        return Make(country.Country.IsoCode, country.Country.Name, null, null, null, null, null);
                    case GeoDatabaseLayout.City:
                        if (!_geoIp2.TryCity(address, out var city)) return GeoInfo.Empty;
                        return Make(city.Country.IsoCode, city.Country.Name, city.City.Name, city.Location.Latitude, city.Location.Longitude, null, null);
                    case GeoDatabaseLayout.Asn:
                        if (!_geoIp2.TryAsn(address, out var asn)) return GeoInfo.Empty;
                        return Make(null, null, null, null, null, asn.AutonomousSystemNumber, asn.AutonomousSystemOrganization);
                    case GeoDatabaseLayout.CountryCode:
                        var code = _plain.Find<CountryCodeRecord>(address);
                        return code == null ? GeoInfo.Empty : Make(code.CountryCode, null, null, null, null, null, null);
                    default:
                        var info = _plain.Find<IpInfoRecord>(address);
                        return info == null ? GeoInfo.Empty : Make(info.CountryCode, info.CountryName, null, null, null, ParseAsn(info.Asn), info.AsName);
                }
            }
            catch (AddressNotFoundException)
            {
                return GeoInfo.Empty;
            }
            catch (InvalidDatabaseException ex)
            {
                throw new GeoDatabaseException(Path, "is damaged: " + ex.Message, ex);
            }
        }

        private static GeoInfo Make(string code, string name, string city, double? latitude, double? longitude, long? asn, string organization)
        {
            string iso = NormalizeCode(code);
            if (iso == null && city == null && latitude == null && asn == null) return GeoInfo.Empty;
            return new GeoInfo(iso, string.IsNullOrEmpty(name) ? CountryNames.Of(iso) : name,
                string.IsNullOrEmpty(city) ? null : city, latitude, longitude, asn, string.IsNullOrEmpty(organization) ? null : organization);
        }

        /// <summary>Two ASCII letters, upper case; anything else (empty, "ZZ"-style placeholders with digits …) is unknown.</summary>
        private static string NormalizeCode(string code)
        {
            if (code == null || code.Length != 2) return null;
            char a = char.ToUpperInvariant(code[0]), b = char.ToUpperInvariant(code[1]);
            if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return null;
            return code[0] == a && code[1] == b ? code : new string(new[] { a, b });
        }

        /// <summary>IPinfo writes "AS15169".</summary>
        internal static long? ParseAsn(string text)
        {
            if (string.IsNullOrEmpty(text)) return null;
            string digits = text.StartsWith("AS", StringComparison.OrdinalIgnoreCase) ? text.Substring(2) : text;
            return long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n) ? n : (long?)null;
        }

        /// <summary>Closes the file.</summary>
        public void Dispose()
        {
            _geoIp2?.Dispose();
            _plain?.Dispose();
        }

        internal sealed class CountryCodeRecord
        {
            [Constructor]
            public CountryCodeRecord([MapKey("country_code")] string countryCode) { CountryCode = countryCode; }
            public string CountryCode { get; }
        }

        internal sealed class IpInfoRecord
        {
            [Constructor]
            public IpInfoRecord([MapKey("country_code")] string countryCode, [MapKey("country")] string countryName,
                [MapKey("asn")] string asn, [MapKey("as_name")] string asName)
            {
                CountryCode = countryCode;
                CountryName = countryName;
                Asn = asn;
                AsName = asName;
            }

            public string CountryCode { get; }
            public string CountryName { get; }
            public string Asn { get; }
            public string AsName { get; }
        }
    }
}
