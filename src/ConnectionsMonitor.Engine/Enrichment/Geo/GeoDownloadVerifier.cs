using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using MaxMind.Db;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>What a verified .mmdb is.</summary>
    internal sealed class GeoDownloadFileInfo
    {
        public string DatabaseType;
        public DateTime BuildDateUtc;
    }

    /// <summary>
    /// Checks a downloaded file before it may replace a working database: it opens with MaxMind.Db's
    /// reader, its database_type does not name a different kind than asked for, and a well-known public
    /// address answers with the fields that kind needs.
    /// </summary>
    internal static class GeoDownloadVerifier
    {
        /// <summary>Public anycast addresses every complete database covers (Cloudflare, Google, Quad9).</summary>
        private static readonly IPAddress[] Probes =
        {
            IPAddress.Parse("1.1.1.1"), IPAddress.Parse("8.8.8.8"), IPAddress.Parse("9.9.9.9"),
        };

        /// <param name="checkType">False for files whose database_type is not a kind name (IPinfo Lite holds country and ASN in one file).</param>
        /// <exception cref="InvalidDataException">The file is not a usable database of <paramref name="kind"/>; the message says why.</exception>
        public static GeoDownloadFileInfo Verify(string path, GeoDownloadKind kind, bool checkType = true)
        {
            Reader reader;
            try
            {
                // Memory: the whole file is read and the handle closed, so nothing holds the file afterwards.
                reader = new Reader(path, FileAccessMode.Memory);
            }
            catch (Exception ex) when (ex is InvalidDatabaseException || ex is InvalidDataException || ex is IOException || ex is ArgumentException)
            {
                throw new InvalidDataException("The file is not a valid MaxMind DB (.mmdb) database (" + ex.Message + ").", ex);
            }
            using (reader)
            {
                var metadata = reader.Metadata;
                string type = metadata.DatabaseType ?? "";
                var named = checkType ? KindNamedBy(type) : null;
                if (named != null && named.Value != kind)
                    throw new InvalidDataException("The file is a " + named.Value + " database (database_type \"" + type + "\"), not the " + kind + " database that was asked for.");

                foreach (var probe in Probes)
                {
                    Dictionary<string, object> record;
                    try
                    {
                        record = reader.Find<Dictionary<string, object>>(probe);
                    }
                    catch (Exception ex) when (ex is InvalidDatabaseException || ex is InvalidCastException || ex is IndexOutOfRangeException || ex is ArgumentException)
                    {
                        throw new InvalidDataException("The database is corrupt: looking up " + probe + " failed (" + ex.Message + ").", ex);
                    }
                    if (record != null && HasFieldsOf(record, kind))
                        return new GeoDownloadFileInfo { DatabaseType = metadata.DatabaseType, BuildDateUtc = DateTime.SpecifyKind(metadata.BuildDate, DateTimeKind.Utc) };
                }
                throw new InvalidDataException("The database (database_type \"" + type + "\") has no " + kind + " data for " + string.Join(", ", (object[])Probes) +
                                               ": it is incomplete or not a " + kind + " database.");
            }
        }

        /// <summary>Reads the metadata of an installed file; null when it does not open.</summary>
        public static GeoDownloadFileInfo TryReadExisting(string path)
        {
            if (!File.Exists(path)) return null;
            try
            {
                using (var reader = new Reader(path, FileAccessMode.Memory))
                    return new GeoDownloadFileInfo { DatabaseType = reader.Metadata.DatabaseType, BuildDateUtc = DateTime.SpecifyKind(reader.Metadata.BuildDate, DateTimeKind.Utc) };
            }
            catch (Exception ex) when (ex is InvalidDatabaseException || ex is IOException || ex is UnauthorizedAccessException || ex is ArgumentException)
            {
                return null;
            }
        }

        /// <summary>
        /// The kind a database_type names (GeoLite2-City, DBIP-ASN-Lite, "country ipvAll" …), or null
        /// when it names none (IPinfo's types, custom builds): then only the lookup decides.
        /// </summary>
        internal static GeoDownloadKind? KindNamedBy(string databaseType)
        {
            string t = databaseType.ToLowerInvariant();
            // City databases carry countries too, so "city" wins; an ASN database that also names
            // a country (IPinfo's country_asn) is accepted as a Country database by the lookup check.
            if (t.Contains("city")) return GeoDownloadKind.City;
            if (t.Contains("country")) return GeoDownloadKind.Country;
            if (t.Contains("asn") || t.Contains("isp")) return GeoDownloadKind.Asn;
            return null;
        }

        private static bool HasFieldsOf(Dictionary<string, object> record, GeoDownloadKind kind)
        {
            switch (kind)
            {
                case GeoDownloadKind.Country:
                    // GeoIP2 layout (country.iso_code), DB-IP / ip-location-db and IPinfo layout (country_code).
                    return record.ContainsKey("country") || record.ContainsKey("registered_country") || record.ContainsKey("country_code");
                case GeoDownloadKind.Asn:
                    return record.ContainsKey("autonomous_system_number") || record.ContainsKey("asn");
                default:
                    return record.ContainsKey("city") || record.ContainsKey("location");
            }
        }
    }
}
