using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Text;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>The record layouts this module reads.</summary>
    public enum GeoDatabaseLayout
    {
        /// <summary>GeoLite2/GeoIP2/DB-IP Country: country.iso_code and country.names.en (what MaxMind.GeoIP2's DatabaseReader.Country answers).</summary>
        Country,
        /// <summary>GeoLite2/GeoIP2/DB-IP City: the country, city.names.en and location.latitude/longitude (DatabaseReader.City).</summary>
        City,
        /// <summary>GeoLite2-ASN layout: autonomous_system_number and autonomous_system_organization (DatabaseReader.Asn).</summary>
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
    /// One opened .mmdb file. The whole file is read into one byte array, held once: the search
    /// tree is walked and the records are decoded from that same array (MmdbSearchTree,
    /// MmdbValues), so the file on disk is never locked and can be replaced
    /// (Update-ConnectionGeoDatabase does that) while this copy answers. Each data record is decoded
    /// once and its answer kept by offset, since many addresses share one record. The answers are
    /// those of MaxMind's readers (DatabaseReader.Country/City/Asn, Reader.Find for the DB-IP Lite
    /// and IPinfo layouts); the tests compare the two address for address. Lookups are thread-safe.
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

        // Record keys, as the files spell them (UTF-8).
        private static readonly byte[] CountryKey = Key("country"), IsoCodeKey = Key("iso_code"), NamesKey = Key("names"), EnglishKey = Key("en"),
            CityKey = Key("city"), LocationKey = Key("location"), LatitudeKey = Key("latitude"), LongitudeKey = Key("longitude"),
            AsNumberKey = Key("autonomous_system_number"), AsOrganizationKey = Key("autonomous_system_organization"),
            CountryCodeKey = Key("country_code"), AsnKey = Key("asn"), AsNameKey = Key("as_name");

        private readonly MmdbSearchTree _tree;
        private readonly MmdbValues _data;
        // Locked by itself. (A ConcurrentDictionary cost a new record about twice as much: a node
        // allocated per entry, and its table's growth; reads here are few, since GeoLocator keeps
        // merged answers by record combination and reads a record's answer only for a new combination.)
        private readonly Dictionary<int, GeoInfo> _byRecord = new Dictionary<int, GeoInfo>();

        private GeoDatabase(string path, GeoDatabaseLayout layout, MmdbSearchTree tree)
        {
            Path = path;
            Layout = layout;
            DatabaseType = tree.DatabaseType;
            BuildDateUtc = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(tree.BuildEpoch);
            _tree = tree;
            _data = tree.Data;
        }

        /// <summary>The file this database was opened from.</summary>
        public string Path { get; }

        /// <summary>Which record layout the file uses, detected when it was opened.</summary>
        public GeoDatabaseLayout Layout { get; }
        /// <summary>The file's own database_type, e.g. "GeoLite2-City" or "DBIP-Country-Lite".</summary>
        public string DatabaseType { get; }
        /// <summary>build_epoch from the file's metadata, UTC.</summary>
        public DateTime BuildDateUtc { get; }

        /// <summary>Bytes of memory the open file holds (the file's size: it is held once).</summary>
        public long MemoryBytes => _tree.Length;

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
            var tree = MmdbSearchTree.TryCreate(bytes)
                ?? throw new GeoDatabaseException(path, "is not a usable MaxMind DB (.mmdb) file: its metadata (node_count, record_size, ip_version) cannot be read; the file is not a MaxMind DB, or it is truncated or damaged");
            string type = tree.DatabaseType;
            // MaxMind's type names, and DB-IP's monthly files (e.g. "DBIP-City-Lite", "DBIP-ASN-Lite
            // (compat=GeoLite2-ASN)") name their layout; other files are told by their records' keys.
            GeoDatabaseLayout? layout = null;
            if (type.IndexOf("City", StringComparison.Ordinal) >= 0) layout = GeoDatabaseLayout.City;
            else if (type.IndexOf("ASN", StringComparison.Ordinal) >= 0) layout = GeoDatabaseLayout.Asn;
            else if (type.IndexOf("Country", StringComparison.Ordinal) >= 0) layout = GeoDatabaseLayout.Country;
            try
            {
                layout = layout ?? Identify(tree) ?? throw new GeoDatabaseException(path,
                    "(database_type '" + type + "') has no country or ASN fields this module reads; expected a GeoLite2/GeoIP2/DB-IP Country, City or ASN database, a DB-IP Lite country_code database or IPinfo Lite.");
            }
            catch (InvalidDataException ex)
            {
                throw new GeoDatabaseException(path, "is not a usable MaxMind DB (.mmdb) file: " + ex.Message, ex);
            }
            var db = new GeoDatabase(path, layout.Value, tree);
            db.Probe();
            return db;
        }

        /// <summary>Tells the layout of a database whose database_type is not one of MaxMind's, from the keys of its records.</summary>
        private static GeoDatabaseLayout? Identify(MmdbSearchTree tree)
        {
            foreach (var address in ProbeAddresses)
            {
                int record = tree.Find(address);
                if (record < 0) continue;
                bool code = tree.Data.Find(record, CountryCodeKey) >= 0;
                if (code && (tree.Data.Find(record, AsnKey) >= 0 || tree.Data.Find(record, AsNameKey) >= 0)) return GeoDatabaseLayout.IpInfo;
                if (code) return GeoDatabaseLayout.CountryCode;
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
        public GeoInfo Lookup(IPAddress address) => Answer(Find(address));

        /// <summary>Which record answers <paramref name="address"/>: its position in the file (one position, one answer), or -1 for none.</summary>
        internal int Find(IPAddress address) => _tree.Find(address);

        /// <summary>Which record answers the IPv4 address <paramref name="v4"/> (host order), as <see cref="Find(IPAddress)"/>.</summary>
        internal int Find(uint v4) => _tree.Find(v4);

        /// <summary>Which record answers the IPv6 address high:low (see MmdbSearchTree.SplitIPv6), as <see cref="Find(IPAddress)"/>.</summary>
        internal int Find(ulong high, ulong low) => _tree.Find(high, low);

        /// <summary>Which record answers each of the first <paramref name="count"/> IPv6 addresses high[i]:low[i], walked side by side (see MmdbSearchTree.Find(ulong[], …)).</summary>
        internal void Find(ulong[] high, ulong[] low, int count, int[] records) => _tree.Find(high, low, count, records);

        /// <summary>Which record answers each of the first <paramref name="count"/> IPv4 addresses (host order), walked side by side (see MmdbSearchTree.Find(uint[], …)).</summary>
        internal void Find(uint[] v4, int count, int[] records) => _tree.Find(v4, count, records);

        /// <summary>The answer of the record at <paramref name="record"/> (from <see cref="Find"/>), decoded on first use and kept.</summary>
        internal GeoInfo Answer(int record)
        {
            if (record < 0) return GeoInfo.Empty;
            lock (_byRecord)
            {
                if (_byRecord.TryGetValue(record, out var known)) return known;
            }
            GeoInfo info;
            try
            {
                info = Decode(record);
            }
            catch (InvalidDataException ex)
            {
                throw new GeoDatabaseException(Path, "is damaged: " + ex.Message, ex);
            }
            lock (_byRecord)
            {
                // Decoded outside the lock: another thread may have kept this record's answer meanwhile.
                if (_byRecord.TryGetValue(record, out var known)) return known;
                if (_byRecord.Count < MaxCachedRecords) _byRecord.Add(record, info);
            }
            return info;
        }

        /// <summary>The answer of the record at <paramref name="record"/> (a position in the file), read the way MaxMind's readers map the layout's fields.</summary>
        private GeoInfo Decode(int record)
        {
            var d = _data;
            switch (Layout)
            {
                case GeoDatabaseLayout.Country:
                {
                    int country = d.Find(record, CountryKey);
                    return Make(d.String(d.Find(country, IsoCodeKey)), d.String(d.Find(country, NamesKey, EnglishKey)), null, null, null, null, null);
                }
                case GeoDatabaseLayout.City:
                {
                    int country = d.Find(record, CountryKey), location = d.Find(record, LocationKey);
                    return Make(d.String(d.Find(country, IsoCodeKey)), d.String(d.Find(country, NamesKey, EnglishKey)),
                        d.String(d.Find(record, CityKey, NamesKey, EnglishKey)), d.Number(d.Find(location, LatitudeKey)), d.Number(d.Find(location, LongitudeKey)), null, null);
                }
                case GeoDatabaseLayout.Asn:
                    return Make(null, null, null, null, null, d.Integer(d.Find(record, AsNumberKey)), d.String(d.Find(record, AsOrganizationKey)));
                case GeoDatabaseLayout.CountryCode:
                    return Make(d.String(d.Find(record, CountryCodeKey)), null, null, null, null, null, null);
                default:
                    return Make(d.String(d.Find(record, CountryCodeKey)), d.String(d.Find(record, CountryKey)), null, null, null,
                        ParseAsn(d.String(d.Find(record, AsnKey))), d.String(d.Find(record, AsNameKey)));
            }
        }

        private static byte[] Key(string name) => Encoding.UTF8.GetBytes(name);

        /// <summary>An answer from the raw field values of a record: the country code normalized (two upper-case letters, else unknown), the English country name from the code when the record has none, empty strings as unknown.</summary>
        internal static GeoInfo Make(string code, string name, string city, double? latitude, double? longitude, long? asn, string organization)
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

        /// <summary>Lets go of the file's bytes (they are collected with the last reference to this object).</summary>
        public void Dispose()
        {
            lock (_byRecord) _byRecord.Clear();
        }
    }
}
