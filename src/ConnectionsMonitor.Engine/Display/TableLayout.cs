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
        }

        public IReadOnlyList<TableColumn> Columns { get; }
        public bool TruncateOverflow { get; }

        /// <summary>Configured columns left out because the terminal is too narrow even at their narrowest.</summary>
        public int HiddenForWidth { get; }

        /// <summary>Characters a row takes: the widths plus one space between columns.</summary>
        public int TotalWidth => Columns.Sum(c => c.Width) + Math.Max(0, Columns.Count - 1);

        /// <summary>
        /// The configured columns at their configured widths; when <paramref name="terminalWidth"/> is
        /// smaller than that, the widest columns give up characters first (down to their header's
        /// length), then columns are dropped from the right. Null width: no fitting (plain output).
        /// </summary>
        public static TableLayout FromConfig(MonitorConfig config, int? terminalWidth)
        {
            var names = config.VisibleColumns;
            var widths = names.Select(n => config.ColumnWidths.TryGetValue(n, out int w) ? w : n.Length).ToArray();
            int hidden = 0;
            if (terminalWidth != null)
            {
                int available = Math.Max(1, terminalWidth.Value);
                int count = names.Count;
                while (count > 0 && Needed(widths, count) > available)
                {
                    int excess = Needed(widths, count) - available;
                    // Shrink one character at a time from the widest column that can still give one.
                    while (excess > 0)
                    {
                        int widest = -1;
                        for (int i = 0; i < count; i++)
                            if (widths[i] > Minimum(names[i], widths[i]) && (widest < 0 || widths[i] > widths[widest])) widest = i;
                        if (widest < 0) break;
                        widths[widest]--;
                        excess--;
                    }
                    if (excess > 0) { count--; hidden++; }
                }
                names = names.Take(count).ToList();
            }
            var columns = names.Select((n, i) => new TableColumn(n, widths[i])).ToList();
            return new TableLayout(columns, config.TruncateOverflow, hidden);
        }

        private static int Needed(int[] widths, int count)
        {
            int sum = count - 1;
            for (int i = 0; i < count; i++) sum += widths[i];
            return sum;
        }

        // A column keeps at least its header (and never grows past its configured width).
        private static int Minimum(string name, int configured) => Math.Min(configured, Math.Max(3, name.Length));

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
                AppendCell(sb, text, column.Width, last: i == Columns.Count - 1);
            }
            if (!processShown && markers.Length > 0) sb.Append(' ').Append(markers);
            return sb.ToString();
        }

        private void AppendCell(StringBuilder sb, string text, int width, bool last)
        {
            string fitted = Fit(text, width, TruncateOverflow);
            sb.Append(fitted);
            // The last cell is not padded: trailing blanks would only be drawn and diffed for nothing.
            if (!last) sb.Append(' ', Math.Max(0, width - fitted.Length));
        }

        /// <summary>
        /// A cell's text within <paramref name="width"/>: cut with "..." when too long and truncation is on
        /// (or hard-cut when the column is narrower than the ellipsis); as it is when truncation is off
        /// (the seed lets such a cell push the rest of the row right).
        /// </summary>
        public static string Fit(string text, int width, bool truncate)
        {
            text = text ?? "";
            if (text.Length <= width || !truncate) return text;
            if (width <= Ellipsis.Length) return text.Substring(0, Math.Max(0, width));
            return text.Substring(0, width - Ellipsis.Length) + Ellipsis;
        }

        /// <summary>The text of one cell, before fitting. Outside-world strings are made safe here.</summary>
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
                case ColumnNames.Process: return TextFormat.Safe(r.ProcessName);
                case ColumnNames.Geo: return TextFormat.Geo(r.Country, r.AddressScope);
                case ColumnNames.Bytes: return TextFormat.Bytes(r.BytesSent, r.BytesReceived);
                case ColumnNames.Age:
                    var age = r.GetAge(nowUtc);
                    return age == null ? "" : (r.AgeIsLowerBound ? ">" : "") + TextFormat.Age(age);
                default: return "";
            }
        }
    }
}
