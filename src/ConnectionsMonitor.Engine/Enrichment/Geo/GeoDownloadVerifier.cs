using System;
using System.IO;
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
    /// Checks a downloaded file before it may replace a working database: it must open and answer
    /// with the reader the lookups use, in a layout that serves the kind asked for.
    /// </summary>
    internal static class GeoDownloadVerifier
    {
        /// <summary>
        /// Opens the file with the same reader the lookups use (GeoDatabase: layout detected, well-known
        /// public addresses answered) and checks that its layout serves <paramref name="kind"/>.
        /// </summary>
        /// <exception cref="InvalidDataException">The file is not a usable database of <paramref name="kind"/>; the message says why.</exception>
        public static GeoDownloadFileInfo Verify(string path, GeoDownloadKind kind)
        {
            GeoDatabase db;
            try
            {
                db = GeoDatabase.Open(path);
            }
            catch (GeoDatabaseException ex)
            {
                throw new InvalidDataException("The file is not a valid MaxMind DB (.mmdb) database for GeoIP lookups: it " + ex.Reason, ex);
            }
            using (db)
            {
                if (!Serves(db.Layout, kind))
                    throw new InvalidDataException("The file is " + KindOf(db.Layout) + " database (database_type \"" + db.DatabaseType + "\"), not the " + kind + " database that was asked for.");
                return new GeoDownloadFileInfo { DatabaseType = db.DatabaseType, BuildDateUtc = db.BuildDateUtc };
            }
        }

        private static bool Serves(GeoDatabaseLayout layout, GeoDownloadKind kind)
        {
            switch (kind)
            {
                case GeoDownloadKind.Country: return layout == GeoDatabaseLayout.Country || layout == GeoDatabaseLayout.CountryCode || layout == GeoDatabaseLayout.IpInfo;
                case GeoDownloadKind.Asn: return layout == GeoDatabaseLayout.Asn || layout == GeoDatabaseLayout.IpInfo;
                default: return layout == GeoDatabaseLayout.City;
            }
        }

        private static string KindOf(GeoDatabaseLayout layout)
        {
            switch (layout)
            {
                case GeoDatabaseLayout.City: return "a City";
                case GeoDatabaseLayout.Asn: return "an ASN";
                case GeoDatabaseLayout.IpInfo: return "a Country and ASN";
                default: return "a Country";
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
    }
}
