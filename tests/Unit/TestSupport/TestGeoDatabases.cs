using System;
using System.Collections.Generic;
using System.IO;
using ConnectionsMonitor.GeoDataBuilder;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// Builds small GeoIP databases, in the layouts of the files the module reads, for tests. Each
    /// method writes <c>path</c> (creating its folder) and returns it. Entries are a CIDR and values;
    /// later entries win where networks overlap (see <see cref="MmdbWriter"/>). Files are
    /// deterministic (fixed build epoch <see cref="BuildEpoch"/>).
    /// </summary>
    public static class TestGeoDatabases
    {
        /// <summary>The build_epoch of every test database: 2023-11-14 22:13:20 UTC.</summary>
        public const ulong BuildEpoch = 1_700_000_000;

        /// <summary>database_type of the GeoLite2 files; DatabaseReader.Country/City/Asn check for these.</summary>
        public const string GeoLite2Country = "GeoLite2-Country";

        /// <inheritdoc cref="GeoLite2Country"/>
        public const string GeoLite2City = "GeoLite2-City";

        /// <inheritdoc cref="GeoLite2Country"/>
        public const string GeoLite2Asn = "GeoLite2-ASN";

        /// <summary>database_type of the bundled DB-IP Lite country file (data/GeoIP/dbip-country.mmdb).</summary>
        public const string DbIpCountry = "country ipvAll";

        /// <summary>
        /// database_type assumed for IPinfo Lite (ipinfo_lite.mmdb). Not checked against a real file:
        /// taken from public test fixtures written for IPinfo Lite readers.
        /// </summary>
        public const string IpInfoLiteType = "ipinfo bundle_location_lite.mmdb";

        private static readonly Dictionary<string, string> ContinentNames = new Dictionary<string, string>
        {
            ["AF"] = "Africa",
            ["AN"] = "Antarctica",
            ["AS"] = "Asia",
            ["EU"] = "Europe",
            ["NA"] = "North America",
            ["OC"] = "Oceania",
            ["SA"] = "South America",
        };

        /// <summary>
        /// GeoLite2-Country layout: <c>{continent:{code, names:{en}}, country:{iso_code, names:{en}},
        /// registered_country:{iso_code, names:{en}}}</c>; the registered country is the country.
        /// <paramref name="ContinentCode"/> is one of AF AN AS EU NA OC SA.
        /// </summary>
        public static string Country(string path, params (string Network, string IsoCode, string CountryName, string ContinentCode)[] entries)
        {
            var writer = NewWriter(GeoLite2Country, "Test GeoLite2-Country layout database");
            foreach (var entry in entries)
                writer.Insert(entry.Network, CountryRecord(entry.IsoCode, entry.CountryName, entry.ContinentCode));
            return Write(writer, path);
        }

        /// <summary>
        /// GeoLite2-City layout: the Country layout plus <c>city:{names:{en}}</c> and
        /// <c>location:{latitude, longitude, accuracy_radius (uint16, km), time_zone}</c>.
        /// </summary>
        public static string City(string path, params (string Network, string IsoCode, string CountryName, string ContinentCode,
            string CityName, double Latitude, double Longitude, ushort AccuracyRadius, string TimeZone)[] entries)
        {
            var writer = NewWriter(GeoLite2City, "Test GeoLite2-City layout database");
            foreach (var entry in entries)
            {
                Dictionary<string, object> record = CountryRecord(entry.IsoCode, entry.CountryName, entry.ContinentCode);
                record["city"] = new Dictionary<string, object> { ["names"] = EnglishName(entry.CityName) };
                record["location"] = new Dictionary<string, object>
                {
                    ["latitude"] = entry.Latitude,
                    ["longitude"] = entry.Longitude,
                    ["accuracy_radius"] = entry.AccuracyRadius,
                    ["time_zone"] = entry.TimeZone,
                };
                writer.Insert(entry.Network, record);
            }
            return Write(writer, path);
        }

        /// <summary>GeoLite2-ASN layout: <c>{autonomous_system_number: uint32, autonomous_system_organization}</c>.</summary>
        public static string Asn(string path, params (string Network, uint Number, string Organization)[] entries)
        {
            var writer = NewWriter(GeoLite2Asn, "Test GeoLite2-ASN layout database");
            foreach (var entry in entries)
            {
                writer.Insert(entry.Network, new Dictionary<string, object>
                {
                    ["autonomous_system_number"] = entry.Number,
                    ["autonomous_system_organization"] = entry.Organization,
                });
            }
            return Write(writer, path);
        }

        /// <summary>The bundled DB-IP Lite layout: <c>{country_code}</c>, database_type "country ipvAll".</summary>
        public static string DbIpCountryCode(string path, params (string Network, string CountryCode)[] entries)
        {
            var writer = NewWriter(DbIpCountry, "Test DB-IP Lite country layout database");
            foreach (var entry in entries)
                writer.Insert(entry.Network, new Dictionary<string, object> { ["country_code"] = entry.CountryCode });
            return Write(writer, path);
        }

        /// <summary>
        /// IPinfo Lite layout: <c>{country_code, country, continent_code, continent, asn ("AS15169"),
        /// as_name, as_domain}</c>, all strings; database_type <see cref="IpInfoLiteType"/>.
        /// </summary>
        public static string IpInfoLite(string path, params (string Network, string CountryCode, string CountryName, string ContinentCode,
            uint Asn, string AsName, string AsDomain)[] entries)
        {
            var writer = NewWriter(IpInfoLiteType, "Test IPinfo Lite layout database");
            foreach (var entry in entries)
            {
                writer.Insert(entry.Network, new Dictionary<string, object>
                {
                    ["country_code"] = entry.CountryCode,
                    ["country"] = entry.CountryName,
                    ["continent_code"] = entry.ContinentCode,
                    ["continent"] = ContinentName(entry.ContinentCode),
                    ["asn"] = "AS" + entry.Asn,
                    ["as_name"] = entry.AsName,
                    ["as_domain"] = entry.AsDomain,
                });
            }
            return Write(writer, path);
        }

        private static Dictionary<string, object> CountryRecord(string isoCode, string countryName, string continentCode)
        {
            Dictionary<string, object> CountryMap() => new Dictionary<string, object> { ["iso_code"] = isoCode, ["names"] = EnglishName(countryName) };
            return new Dictionary<string, object>
            {
                ["continent"] = new Dictionary<string, object> { ["code"] = continentCode, ["names"] = EnglishName(ContinentName(continentCode)) },
                ["country"] = CountryMap(),
                ["registered_country"] = CountryMap(),
            };
        }

        private static Dictionary<string, object> EnglishName(string name) => new Dictionary<string, object> { ["en"] = name };

        private static string ContinentName(string code) =>
            ContinentNames.TryGetValue(code, out string name) ? name : throw new ArgumentException($"'{code}' is not a continent code (AF AN AS EU NA OC SA).");

        private static MmdbWriter NewWriter(string databaseType, string description)
        {
            var writer = new MmdbWriter(databaseType) { BuildEpoch = BuildEpoch };
            writer.Description["en"] = description;
            writer.Languages.Add("en");
            return writer;
        }

        private static string Write(MmdbWriter writer, string path)
        {
            string folder = Path.GetDirectoryName(Path.GetFullPath(path));
            Directory.CreateDirectory(folder);
            using (var output = new FileStream(path, FileMode.Create, FileAccess.Write))
                writer.Write(output);
            return path;
        }

        /// <summary>A fresh folder under the system temp folder, deleted on dispose; a place for test databases.</summary>
        public sealed class TempFolder : IDisposable
        {
            /// <summary>Creates the folder.</summary>
            public TempFolder()
            {
                FullPath = Path.Combine(Path.GetTempPath(), "cm-test-" + Guid.NewGuid().ToString("N").Substring(0, 12));
                Directory.CreateDirectory(FullPath);
            }

            /// <summary>The folder's absolute path.</summary>
            public string FullPath { get; }

            /// <summary>The path of <paramref name="fileName"/> inside the folder.</summary>
            public string File(string fileName) => Path.Combine(FullPath, fileName);

            /// <summary>Deletes the folder and everything in it.</summary>
            public void Dispose()
            {
                if (Directory.Exists(FullPath)) Directory.Delete(FullPath, recursive: true);
            }
        }
    }
}
