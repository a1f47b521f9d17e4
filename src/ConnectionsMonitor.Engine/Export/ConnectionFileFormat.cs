using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Export
{
    /// <summary>
    /// Writes a snapshot of connections as CSV or JSON with the columns of the PowerShell layer's MonitoredConnection,
    /// in its order and under its names, so an export reads like <c>Get-MonitoredConnection | Export-Csv</c> or
    /// <c>| ConvertTo-Json</c>: Protocol, LocalAddress, LocalPort, RemoteAddress, RemotePort, State, ProcessId,
    /// ProcessName, ProcessPath, UserName, CreationTime, FirstSeen, AgeSeconds, AgeIsLowerBound, RemoteHostName,
    /// Country, CountryName, City, Latitude, Longitude, Asn, AsnOrganization, AddressScope, IsVpn, VpnReason, Flags,
    /// BytesSent, BytesReceived, SendRate, ReceiveRate. Units as there: ports and ids whole numbers, ages whole
    /// seconds, bytes, rates bytes per second. Times are local with their UTC offset in ISO 8601
    /// (2026-12-01T06:00:00.0000000+01:00). Unknown is an empty cell in CSV and null in JSON, never 0 or "Unknown".
    /// <para>
    /// CSV (RFC 4180): UTF-8 with a byte-order mark (so Excel and Windows PowerShell 5.1's Import-Csv read non-ASCII
    /// names right), CRLF line ends, every cell in double quotes. Text cells go through
    /// <see cref="UntrustedText.ForCsvCell"/>: control characters are shown as visible symbols (ESC as ␛, a newline
    /// as ␊, C1 and bidi controls as "&lt;U+202E&gt;"), so no cell breaks a line or hides what a name says, and a cell
    /// that then begins with = + - @ gets a ' in front, so a spreadsheet shows it as text and never runs it as a formula. Number cells are written by this module, never from outside text, and stay as they are.
    /// </para>
    /// <para>
    /// JSON: an array of objects, one per connection, with the exact values (text is not cleaned, so nothing is lost;
    /// System.Text.Json escapes it, and every non-ASCII or control character is written as \uXXXX, so the file is
    /// plain ASCII that no terminal interprets).
    /// </para>
    /// </summary>
    public static class ConnectionFileFormat
    {
        private delegate object Cell(ConnectionRecord r, DateTime snapshotUtc);

        private sealed class Column
        {
            public Column(string name, Cell value) { Name = name; Value = value; }
            public string Name { get; }
            public Cell Value { get; }
        }

        private static readonly Column[] Columns =
        {
            new Column("Protocol", (r, t) => r.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP"),
            new Column("LocalAddress", (r, t) => AddressPattern.FormatAddress(r.LocalAddress)),
            new Column("LocalPort", (r, t) => (long)r.LocalPort),
            new Column("RemoteAddress", (r, t) => AddressPattern.FormatAddress(r.RemoteAddress)),
            new Column("RemotePort", (r, t) => (long?)r.RemotePort),
            new Column("State", (r, t) => r.State?.ToString()),
            new Column("ProcessId", (r, t) => (long?)r.ProcessId),
            new Column("ProcessName", (r, t) => r.ProcessName),
            new Column("ProcessPath", (r, t) => r.ProcessPath),
            new Column("UserName", (r, t) => r.UserName),
            new Column("CreationTime", (r, t) => Time(r.CreationTime)),
            new Column("FirstSeen", (r, t) => Time(r.FirstSeenUtc)),
            new Column("AgeSeconds", (r, t) => { var age = r.GetAge(t); return age == null ? null : (object)(long)Math.Floor(age.Value.TotalSeconds); }),
            new Column("AgeIsLowerBound", (r, t) => r.GetAge(t) == null ? null : (object)r.AgeIsLowerBound),
            new Column("RemoteHostName", (r, t) => r.RemoteHostName),
            new Column("Country", (r, t) => r.Country),
            new Column("CountryName", (r, t) => r.CountryName),
            new Column("City", (r, t) => r.City),
            new Column("Latitude", (r, t) => r.Latitude),
            new Column("Longitude", (r, t) => r.Longitude),
            new Column("Asn", (r, t) => r.Asn),
            new Column("AsnOrganization", (r, t) => r.AsnOrganization),
            new Column("AddressScope", (r, t) => r.AddressScope),
            new Column("IsVpn", (r, t) => r.IsVpn),
            new Column("VpnReason", (r, t) => r.VpnReason),
            new Column("Flags", (r, t) => r.Flags),
            new Column("BytesSent", (r, t) => r.BytesSent),
            new Column("BytesReceived", (r, t) => r.BytesReceived),
            new Column("SendRate", (r, t) => r.SendRate),
            new Column("ReceiveRate", (r, t) => r.ReceiveRate),
        };

        /// <summary>The column names, in order (MonitoredConnection's properties).</summary>
        public static IReadOnlyList<string> ColumnNames { get; } = Array.ConvertAll(Columns, c => c.Name);

        // A time as the objects show it (local) with its offset, so the text is unambiguous anywhere it is read.
        private static string Time(DateTime? utc)
        {
            if (utc == null) return null;
            var local = new DateTimeOffset(DateTime.SpecifyKind(utc.Value, DateTimeKind.Utc)).ToLocalTime();
            return local.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffzzz", CultureInfo.InvariantCulture);
        }

        // Times are produced here (Time above), not taken from outside, so they are not formula-checked.
        private static bool IsTimeColumn(string name) => name == "CreationTime" || name == "FirstSeen";

        // A time (Time above: digits, '-', ':', '.', 'T' and the offset's sign) as a JSON string as it is: the writer's
        // default escaping would write the offset's '+' as \u002B, which is valid JSON but not what a person reading the
        // file expects.
        private static void WriteTime(Utf8JsonWriter writer, string time) => writer.WriteRawValue("\"" + time + "\"", skipInputValidation: true);

        private static bool IsRateColumn(string name) => name == "SendRate" || name == "ReceiveRate";

        /// <summary>
        /// A rate (bytes per second) as <see cref="WriteRow"/> writes it: to 0.1 B/s. A page shows whole bytes per second;
        /// the sixteen digits of the computed value were most of an update's size when every row's rate changes. The files
        /// (<see cref="WriteCsv"/>, <see cref="WriteJson"/>) keep the value as computed.
        /// </summary>
        private static double RowRate(double bytesPerSecond) => Math.Round(bytesPerSecond, 1);

        /// <summary>Writes the CSV form of <paramref name="connections"/> (ages as of <paramref name="snapshotUtc"/>) to <paramref name="stream"/>.</summary>
        public static void WriteCsv(Stream stream, IReadOnlyList<ConnectionRecord> connections, DateTime snapshotUtc)
        {
            using (var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true), 64 * 1024, leaveOpen: true))
            {
                writer.NewLine = "\r\n";
                for (int i = 0; i < Columns.Length; i++)
                {
                    if (i > 0) writer.Write(',');
                    Quoted(writer, Columns[i].Name);
                }
                writer.WriteLine();
                foreach (var r in connections)
                {
                    for (int i = 0; i < Columns.Length; i++)
                    {
                        if (i > 0) writer.Write(',');
                        Quoted(writer, CsvText(Columns[i], Columns[i].Value(r, snapshotUtc)));
                    }
                    writer.WriteLine();
                }
            }
        }

        private static string CsvText(Column column, object value)
        {
            switch (value)
            {
                case null: return "";
                case string s: return IsTimeColumn(column.Name) ? s : UntrustedText.ForCsvCell(s);
                case long l: return l.ToString(CultureInfo.InvariantCulture);
                case double d: return d.ToString("R", CultureInfo.InvariantCulture);
                case bool b: return b ? "True" : "False";
                default: throw new InvalidOperationException("Column " + column.Name + " has a value of type " + value.GetType().Name + ", which the CSV writer does not know.");
            }
        }

        private static void Quoted(TextWriter writer, string text)
        {
            writer.Write('"');
            if (text.IndexOf('"') < 0) writer.Write(text);
            else writer.Write(text.Replace("\"", "\"\""));
            writer.Write('"');
        }

        /// <summary>
        /// The columns of <see cref="WriteRow"/>: those of the files, in their order, without AgeSeconds (a page works the
        /// age out from CreationTime or FirstSeen and the sample's time, so a row that did not change stays the same text).
        /// </summary>
        public static IReadOnlyList<string> RowColumnNames { get; } = Array.FindAll(Array.ConvertAll(Columns, c => c.Name), n => n != "AgeSeconds");

        /// <summary>
        /// Writes one connection as a compact JSON array for a page that shows it (the dashboard): <paramref name="key"/>
        /// first, then the values of <see cref="RowColumnNames"/> in order (null for unknown). Text goes through
        /// <see cref="UntrustedText.Clean"/> (control, bidi and invisible characters shown as visible symbols, as the table
        /// view shows them), so what a page shows is what a terminal shows; the page must still insert it as text, never as
        /// HTML. The same connection with the same values gives the same bytes.
        /// </summary>
        public static void WriteRow(Utf8JsonWriter writer, string key, ConnectionRecord r, DateTime snapshotUtc)
        {
            writer.WriteStartArray();
            writer.WriteStringValue(key);
            foreach (var column in Columns)
                if (column.Name != "AgeSeconds") WriteRowValue(writer, column, r, snapshotUtc);
            writer.WriteEndArray();
        }

        /// <summary>
        /// Writes the values of BytesSent, BytesReceived, SendRate and ReceiveRate, in that order, exactly as
        /// <see cref="WriteRow"/> writes them in a row (no array around them): for a page that changes only those columns of a
        /// row it has.
        /// </summary>
        public static void WriteRowCounters(Utf8JsonWriter writer, ConnectionRecord r, DateTime snapshotUtc)
        {
            foreach (var column in CounterColumns) WriteRowValue(writer, column, r, snapshotUtc);
        }

        /// <summary>
        /// The same four values as numbers, into <paramref name="target"/> from <paramref name="offset"/> on: bytes as counted,
        /// rates rounded as <see cref="WriteRowCounters"/> writes them, NaN where that writes null (unknown, or not a finite
        /// number). For the dashboard's binary form of a busy frame's counters.
        /// </summary>
        public static void RowCounterValues(ConnectionRecord r, DateTime snapshotUtc, Span<double> target, int offset)
        {
            for (int i = 0; i < CounterColumns.Length; i++)
            {
                var column = CounterColumns[i];
                double value;
                switch (column.Value(r, snapshotUtc))
                {
                    case long l: value = l; break;
                    case double d: value = double.IsNaN(d) || double.IsInfinity(d) ? double.NaN : IsRateColumn(column.Name) ? RowRate(d) : d; break;
                    default: value = double.NaN; break;
                }
                target[offset + i] = value;
            }
        }

        /// <summary>How many values <see cref="WriteRowCounters"/> and <see cref="RowCounterValues"/> give per row (4).</summary>
        public static int RowCounterCount => CounterColumns.Length;

        private static readonly Column[] CounterColumns = Array.FindAll(Columns, c => c.Name == "BytesSent" || c.Name == "BytesReceived" || IsRateColumn(c.Name));

        private static void WriteRowValue(Utf8JsonWriter writer, Column column, ConnectionRecord r, DateTime snapshotUtc)
        {
            switch (column.Value(r, snapshotUtc))
            {
                case null: writer.WriteNullValue(); break;
                case string s:
                    if (IsTimeColumn(column.Name)) WriteTime(writer, s);
                    else writer.WriteStringValue(UntrustedText.Clean(s));
                    break;
                case long l: writer.WriteNumberValue(l); break;
                case double d:
                    if (double.IsNaN(d) || double.IsInfinity(d)) writer.WriteNullValue();
                    else writer.WriteNumberValue(IsRateColumn(column.Name) ? RowRate(d) : d);
                    break;
                case bool b: writer.WriteBooleanValue(b); break;
                case object other: throw new InvalidOperationException("Column " + column.Name + " has a value of type " + other.GetType().Name + ", which the JSON writer does not know.");
            }
        }

        /// <summary>Writes the JSON form of <paramref name="connections"/> (ages as of <paramref name="snapshotUtc"/>) to <paramref name="stream"/>.</summary>
        public static void WriteJson(Stream stream, IReadOnlyList<ConnectionRecord> connections, DateTime snapshotUtc)
        {
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                writer.WriteStartArray();
                foreach (var r in connections)
                {
                    writer.WriteStartObject();
                    foreach (var column in Columns)
                    {
                        switch (column.Value(r, snapshotUtc))
                        {
                            case null: writer.WriteNull(column.Name); break;
                            case string s:
                                if (IsTimeColumn(column.Name)) { writer.WritePropertyName(column.Name); WriteTime(writer, s); }
                                else writer.WriteString(column.Name, s);
                                break;
                            case long l: writer.WriteNumber(column.Name, l); break;
                            case double d:
                                if (double.IsNaN(d) || double.IsInfinity(d)) writer.WriteNull(column.Name); // JSON has no such numbers
                                else writer.WriteNumber(column.Name, d);
                                break;
                            case bool b: writer.WriteBoolean(column.Name, b); break;
                            case object other: throw new InvalidOperationException("Column " + column.Name + " has a value of type " + other.GetType().Name + ", which the JSON writer does not know.");
                        }
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
        }
    }
}
