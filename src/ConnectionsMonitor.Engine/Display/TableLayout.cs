using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>One column of the live table: its canonical name and the width it gets.</summary>
    public sealed class TableColumn
    {
        public TableColumn(string name, int width)
        {
            Name = name;
            Width = width;
        }

        public string Name { get; }
        public int Width { get; }
        public override string ToString() => Name + ":" + Width;
    }

    /// <summary>
    /// The live table's columns from config.yml (columns on/off, columnOrder, columnWidths,
    /// truncateOverflow), fitted to a terminal width, and the text of each cell. Columns are
    /// separated by one space, as the seed's table.
    /// </summary>
    public sealed class TableLayout
    {
        public const string Ellipsis = "...";
        public const string SuspiciousMarker = "[!]";
        public const string VpnMarker = "[VPN]";

        private TableLayout(IReadOnlyList<TableColumn> columns, bool truncate, int hidden)
        {
            Columns = columns;
            TruncateOverflow = truncate;
            HiddenForWidth = hidden;
            TotalWidth = columns.Sum(c => c.Width) + Math.Max(0, columns.Count - 1);
        }

        public IReadOnlyList<TableColumn> Columns { get; }
        public bool TruncateOverflow { get; }

        /// <summary>Configured columns left out because the terminal is too narrow even at their narrowest.</summary>
        public int HiddenForWidth { get; }

        /// <summary>Terminal cells a row takes: the widths plus one space between columns.</summary>
        public int TotalWidth { get; }

        /// <summary>
        /// Which columns give way first when the terminal is narrow: they give up characters in this order (each
        /// down to <see cref="UsefulWidth"/>), and when that is not enough they are dropped in this order. Local's
        /// endpoint already carries the port, so Port goes first; Process, the question this tool answers, goes last.
        /// </summary>
        public static readonly IReadOnlyList<string> GiveWayOrder = new[]
        {
            ColumnNames.Port, ColumnNames.Age, ColumnNames.Bytes, ColumnNames.Geo, ColumnNames.Rate, ColumnNames.Pid,
            ColumnNames.State, ColumnNames.Proto, ColumnNames.Foreign, ColumnNames.Local, ColumnNames.Process,
        };

        /// <summary>
        /// The narrowest a column is cut to before columns are dropped, in terminal cells: what its usual values need
        /// (an IPv4 endpoint "255.255.255.255:65535" is 21, "Established" 11, "Unspecified" 11, a PID 7, a port 5, an age
        /// seen as a lower bound ">59m59s" or ">23h59m" 7), 12 for Process. Never wider than the configured width.
        /// </summary>
        public static int UsefulWidth(string column)
        {
            switch (column)
            {
                case ColumnNames.Proto: return 5;
                case ColumnNames.Local: return 21;
                case ColumnNames.Port: return 5;
                case ColumnNames.Foreign: return 21;
                case ColumnNames.State: return 11;
                case ColumnNames.Pid: return 7;
                case ColumnNames.Process: return 12;
                case ColumnNames.Geo: return 11;
                case ColumnNames.Bytes: return 7;
                case ColumnNames.Rate: return 7;
                case ColumnNames.Age: return 7;
                default: return Math.Max(3, column.Length);
            }
        }

        /// <summary>
        /// The configured columns (order and widths from config.yml) fitted to <paramref name="terminalWidth"/>
        /// cells: columns give up characters in <see cref="GiveWayOrder"/> down to their <see cref="UsefulWidth"/>;
        /// when that is not enough, columns are dropped in the same order (the rest keep their configured order)
        /// and the widths are worked out again. Null width: no fitting (plain output).
        /// </summary>
        /// <param name="config">Column order and widths (monitoring.columnOrder, columnWidths).</param>
        /// <param name="terminalWidth">Terminal cells to fit, or null.</param>
        /// <param name="keep">
        /// A column to drop only when it alone is left with Process or nothing else (the live view's sort column: rows ordered
        /// by a column that is not shown look unordered); it may still give up characters. Null, or a name not shown: none.
        /// </param>
        public static TableLayout FromConfig(MonitorConfig config, int? terminalWidth, string keep = null)
        {
            var names = config.VisibleColumns.ToList();
            int[] Configured(List<string> ns) => ns.Select(n => config.ColumnWidths.TryGetValue(n, out int w) ? w : n.Length).ToArray();
            var widths = Configured(names);
            int hidden = 0;
            if (terminalWidth != null)
            {
                int available = Math.Max(1, terminalWidth.Value);
                while (true)
                {
                    widths = Configured(names);
                    int excess = Needed(widths, widths.Length) - available;
                    foreach (int i in ShrinkSequence(names))
                    {
                        if (excess <= 0) break;
                        int give = Math.Min(excess, widths[i] - Math.Min(widths[i], UsefulWidth(names[i])));
                        widths[i] -= give;
                        excess -= give;
                    }
                    if (excess <= 0) break;
                    if (names.Count == 1) { widths[0] = available; break; }
                    names.RemoveAt(DropSequence(names, keep).First());
                    hidden++;
                }
            }
            var columns = names.Select((n, i) => new TableColumn(n, widths[i])).ToList();
            return new TableLayout(columns, config.TruncateOverflow, hidden);
        }

        // Indexes into names in give-way order; columns GiveWayOrder does not name come first.
        private static IEnumerable<int> ShrinkSequence(List<string> names) =>
            Enumerable.Range(0, names.Count).OrderBy(i => GiveWayRank(names[i])).ToList();

        // Indexes into names in the order they are dropped: give-way order, the kept column last.
        private static IEnumerable<int> DropSequence(List<string> names, string keep) =>
            ShrinkSequence(names).OrderBy(i => keep != null && string.Equals(names[i], keep, StringComparison.OrdinalIgnoreCase) ? 1 : 0).ToList();

        private static int GiveWayRank(string name)
        {
            for (int r = 0; r < GiveWayOrder.Count; r++)
                if (string.Equals(GiveWayOrder[r], name, StringComparison.OrdinalIgnoreCase)) return r;
            return -1;
        }

        private static int Needed(int[] widths, int count)
        {
            int sum = count - 1;
            for (int i = 0; i < count; i++) sum += widths[i];
            return sum;
        }

        /// <summary>The header line: column names padded to their widths.</summary>
        public string Header()
        {
            var sb = new StringBuilder(TotalWidth);
            for (int i = 0; i < Columns.Count; i++)
            {
                if (i > 0) sb.Append(' ');
                AppendCell(sb, Columns[i].Name, Columns[i].Width, last: i == Columns.Count - 1);
            }
            return sb.ToString();
        }

        /// <summary>One row's line: every cell fitted to its column, markers at the front of the Process cell (or after the row when Process is hidden).</summary>
        public string Row(ConnectionRecord r, RowLook look, DateTime nowUtc)
        {
            string markers = look.Markers;
            bool processShown = false;
            var sb = new StringBuilder(TotalWidth + 8);
            for (int i = 0; i < Columns.Count; i++)
            {
                var column = Columns[i];
                string text = CellText(column.Name, r, nowUtc);
                if (column.Name == ColumnNames.Process && markers.Length > 0)
                {
                    text = text.Length > 0 ? markers + " " + text : markers;
                    processShown = true;
                }
                if (i > 0) sb.Append(' ');
                AppendCell(sb, text, column.Width, last: i == Columns.Count - 1, endpoint: column.Name == ColumnNames.Local || column.Name == ColumnNames.Foreign);
            }
            if (!processShown && markers.Length > 0) sb.Append(' ').Append(markers);
            return sb.ToString();
        }

        private void AppendCell(StringBuilder sb, string text, int width, bool last, bool endpoint = false)
        {
            // An endpoint keeps its port when it is cut (a long IPv6 address is cut in its middle).
            string fitted = endpoint && TruncateOverflow ? TextFormat.FitEndpoint(text ?? "", width, Ellipsis) : Fit(text, width, TruncateOverflow);
            sb.Append(fitted);
            // The last cell is not padded: trailing blanks would only be drawn and diffed for nothing.
            if (!last) sb.Append(' ', Math.Max(0, width - CellWidth.Of(fitted)));
        }

        /// <summary>
        /// A cell's text within <paramref name="width"/> terminal cells (<see cref="CellWidth"/>): cut at a grapheme
        /// boundary with "..." when too wide and truncation is on (without the ellipsis when the column is not wider
        /// than it); as it is when truncation is off (the seed lets such a cell push the rest of the row right).
        /// A wide character that would straddle the edge is left out, so the result can be one cell short.
        /// </summary>
        public static string Fit(string text, int width, bool truncate)
        {
            text = text ?? "";
            if (!truncate) return text;
            return CellWidth.Fit(text, width, Ellipsis);
        }

        /// <summary>
        /// The text of one cell, before fitting. Outside-world strings are made safe here. The live view reuses a row's
        /// line while every record field read here reads the same (<see cref="RowLineCache"/>): a cell that reads a
        /// further field must be taught to it too.
        /// </summary>
        public static string CellText(string column, ConnectionRecord r, DateTime nowUtc)
        {
            switch (column)
            {
                case ColumnNames.Proto: return r.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP";
                case ColumnNames.Local: return TextFormat.Endpoint(AddressPattern.FormatAddress(r.LocalAddress), r.LocalPort);
                case ColumnNames.Port: return r.LocalPort.ToString(CultureInfo.InvariantCulture);
                case ColumnNames.Foreign:
                    return r.RemoteAddress == null ? "" : TextFormat.Foreign(AddressPattern.FormatAddress(r.RemoteAddress), r.RemotePort, r.RemoteHostName);
                case ColumnNames.State: return r.State?.ToString() ?? "";
                case ColumnNames.Pid: return r.ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "";
                case ColumnNames.Process: return UntrustedText.ForTerminal(r.ProcessName);
                case ColumnNames.Geo: return TextFormat.Geo(r.Country, r.AddressScope);
                case ColumnNames.Bytes: return TextFormat.Bytes(r.BytesSent, r.BytesReceived);
                case ColumnNames.Rate: return TextFormat.Rate(TotalRate(r));
                case ColumnNames.Age:
                    var age = r.GetAge(nowUtc);
                    return age == null ? "" : (r.AgeIsLowerBound ? ">" : "") + TextFormat.Age(age);
                default: return "";
            }
        }

        /// <summary>
        /// Bytes per second sent and received together over the sampler's last interval (<see cref="ConnectionRecord.SendRate"/>
        /// plus <see cref="ConnectionRecord.ReceiveRate"/>); null when neither is known (the first sample, a platform without byte
        /// counters). The live view's Rate column and its Rate sort.
        /// </summary>
        public static double? TotalRate(ConnectionRecord r) =>
            r.SendRate == null && r.ReceiveRate == null ? (double?)null : (r.SendRate ?? 0) + (r.ReceiveRate ?? 0);
    }
}
