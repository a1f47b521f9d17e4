using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ConnectionsMonitor.GeoDataBuilder
{
    /// <summary>
    /// Converts the ip-location-db ASN CSVs (npm @ip-location-db/asn: <c>start,end,asn,"organization"</c>,
    /// inclusive ranges) into a GeoLite2-ASN-layout database that MaxMind.GeoIP2's
    /// <c>DatabaseReader.Asn()</c> reads: records <c>{autonomous_system_number: uint32,
    /// autonomous_system_organization: string}</c>.
    /// </summary>
    public static class AsnDatabaseBuilder
    {
        /// <summary>
        /// The database_type written. DatabaseReader.Asn() accepts any type containing "GeoLite2-ASN";
        /// the rest says the data is not MaxMind's.
        /// </summary>
        public const string DatabaseType = "ip-location-db-ASN (GeoLite2-ASN layout)";

        /// <summary>The metadata description: the sources and their licence.</summary>
        public const string Description =
            "IP to ASN from ip-location-db (npm @ip-location-db/asn), built from RouteViews (routeviews.org), " +
            "NRO (nro.net) and DB-IP (db-ip.com) data, licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). " +
            "IP to ASN data by RouteViews, NRO and DB-IP: <a href='https://db-ip.com'>IP Geolocation by DB-IP</a>.";

        /// <summary>Reads one CSV file's ranges into <paramref name="writer"/>; returns the number of ranges.</summary>
        /// <exception cref="FormatException">A row is malformed; the message names the file and line.</exception>
        public static int AddCsv(MmdbWriter writer, string path, AddressFamily family)
        {
            using var reader = new StreamReader(path, Encoding.UTF8);
            return AddCsv(writer, reader, path, family);
        }

        /// <summary>Reads CSV rows from <paramref name="reader"/>; <paramref name="sourceName"/> is used in error messages.</summary>
        public static int AddCsv(MmdbWriter writer, TextReader reader, string sourceName, AddressFamily family)
        {
            int ranges = 0;
            foreach (CsvReader.Row row in ReadRows(reader, sourceName))
            {
                string Where() => $"{sourceName}, line {row.LineNumber}";
                if (row.Fields.Count != 4)
                    throw new FormatException($"{Where()}: expected 4 fields (start,end,asn,organization), found {row.Fields.Count}.");
                IPAddress first = ParseAddress(row.Fields[0], family, Where);
                IPAddress last = ParseAddress(row.Fields[1], family, Where);
                if (!uint.TryParse(row.Fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint asn))
                    throw new FormatException($"{Where()}: '{row.Fields[2]}' is not an AS number.");
                var record = new Dictionary<string, object> { ["autonomous_system_number"] = asn };
                if (row.Fields[3].Length > 0) record["autonomous_system_organization"] = row.Fields[3];
                try
                {
                    writer.InsertRange(first, last, record);
                }
                catch (ArgumentException e)
                {
                    throw new FormatException($"{Where()}: {e.Message}", e);
                }
                ranges++;
            }
            return ranges;
        }

        /// <summary>Builds the whole database from the IPv4 and IPv6 CSVs and writes it to <paramref name="outputPath"/>.</summary>
        public static MmdbWriteSummary Build(string ipv4CsvPath, string ipv6CsvPath, string outputPath, ulong buildEpoch, TextWriter log)
        {
            var writer = CreateWriter(buildEpoch);
            int ipv4Ranges = AddCsv(writer, ipv4CsvPath, AddressFamily.InterNetwork);
            int ipv6Ranges = AddCsv(writer, ipv6CsvPath, AddressFamily.InterNetworkV6);
            string temporary = outputPath + ".tmp";
            MmdbWriteSummary summary;
            try
            {
                using (var output = new FileStream(temporary, FileMode.Create, FileAccess.Write))
                    summary = writer.Write(output);
                File.Move(temporary, outputPath, overwrite: true);
            }
            finally
            {
                if (File.Exists(temporary)) File.Delete(temporary);
            }
            log?.WriteLine($"{ipv4Ranges} IPv4 and {ipv6Ranges} IPv6 ranges, {summary.RecordCount} distinct records, " +
                           $"{summary.NodeCount} nodes, {summary.RecordSize}-bit records, data section {summary.DataSectionLength} bytes, " +
                           $"{new FileInfo(outputPath).Length} bytes written to {outputPath}");
            return summary;
        }

        /// <summary>A writer with this database's type, description and languages.</summary>
        public static MmdbWriter CreateWriter(ulong buildEpoch)
        {
            var writer = new MmdbWriter(DatabaseType) { BuildEpoch = buildEpoch };
            writer.Description["en"] = Description;
            writer.Languages.Add("en");
            return writer;
        }

        private static IEnumerable<CsvReader.Row> ReadRows(TextReader reader, string sourceName)
        {
            using IEnumerator<CsvReader.Row> rows = CsvReader.Read(reader).GetEnumerator();
            while (true)
            {
                try
                {
                    if (!rows.MoveNext()) yield break;
                }
                catch (FormatException e)
                {
                    throw new FormatException($"{sourceName}: {e.Message}", e);
                }
                yield return rows.Current;
            }
        }

        private static IPAddress ParseAddress(string text, AddressFamily family, Func<string> where)
        {
            if (!IPAddress.TryParse(text, out IPAddress address) || address.AddressFamily != family)
                throw new FormatException($"{where()}: '{text}' is not an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address.");
            return address;
        }
    }
}
