using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Traffic;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>What the live table is sorted by; 's' cycles through them in this order.</summary>
    public enum LiveSortKey
    {
        Port,
        Process,
        Pid,
        State,
        Foreign,
        Age,
        Bytes,
        Protocol,
    }

    /// <summary>What a key press asks of the loop.</summary>
    public enum LiveAction
    {
        None,
        Redraw,
        Quit,
    }

    /// <summary>
    /// The live view's state and its frames, free of any terminal: the latest snapshot as sorted,
    /// filtered rows with their colours; the stats and top-talker lines; sort key, pause, scroll
    /// position and the filter prompt, driven by <see cref="HandleKey"/>. The caller takes snapshots,
    /// reads keys and writes frames (through <see cref="ScreenDiffer"/> to a terminal, or plain).
    /// </summary>
    public sealed class LiveView
    {
        private static readonly IReadOnlyList<ConnectionRecord> NoRecords = new ConnectionRecord[0];

        private readonly MonitorConfig _config;
        private readonly ColorDepth _depth;
        private readonly HashSet<int> _suspicious;
        private readonly Dictionary<int, ConfigColor> _highlighted;
        private readonly Dictionary<ConfigColor, string> _styles = new Dictionary<ConfigColor, string>();
        private readonly string _headerStyle, _titleStyle, _noticeStyle;
        private List<Row> _rows = new List<Row>();
        private List<Row> _shown = new List<Row>();
        private DateTime _timeStampUtc;
        private string _statsLine = "", _talkersLine = "";
        private TableLayout _layout;
        private int? _layoutWidth;
        private int _scroll;
        private int _pageSize = 1;
        private string _draft = "";

        public LiveView(MonitorConfig config, ColorDepth depth)
        {
            _config = config ?? throw new ArgumentNullException(nameof(config));
            _depth = depth;
            _suspicious = new HashSet<int>(config.Alerts.Conditions.SuspiciousPorts);
            _highlighted = config.HighlightedPorts.ToDictionary(p => p.Key, p => p.Value); // a hash map: looked up twice per row per refresh
            bool styled = depth != ColorDepth.None;
            _headerStyle = styled ? "\u001b[7m" : "";   // reverse video: readable on any palette
            _titleStyle = styled ? "\u001b[1m" : "";
            _noticeStyle = styled ? TerminalColors.Foreground(ConfigColor.Parse("yellow"), depth) : "";
            RefreshInterval = config.RefreshInterval;
        }

        public LiveSortKey SortKey { get; private set; } = LiveSortKey.Port;
        public bool Paused { get; private set; }

        /// <summary>The applied filter: rows whose text contains it (case-insensitive); empty for all rows.</summary>
        public string Filter { get; private set; } = "";

        /// <summary>True while the filter prompt (/) is open.</summary>
        public bool EditingFilter { get; private set; }

        public int RefreshInterval { get; set; }

        /// <summary>For the CPU benchmark only: told the name of each stage of <see cref="Update"/> as it finishes (see <see cref="Session.LiveViewOptions"/>).</summary>
        internal Action<string> StageDone { get; set; }

        /// <summary>A message for the bottom line (partial-data warnings); null for none.</summary>
        public string Notice { get; set; }

        /// <summary>Rows that pass the filter, in display order.</summary>
        public int ShownCount => _shown.Count;
        public int TotalCount => _rows.Count;
        public int ScrollOffset => _scroll;

        /// <summary>The records in display order (sorted and filtered), for tests.</summary>
        public IReadOnlyList<ConnectionRecord> ShownRecords => _shown.Select(r => r.Record).ToList();

        /// <summary>
        /// Takes in a new snapshot. <paramref name="previous"/> (the one before, or null) gives the
        /// bandwidth and top-talker lines their traffic window.
        /// </summary>
        public void Update(ConnectionSnapshot snapshot, ConnectionSnapshot previous)
        {
            _timeStampUtc = snapshot.TimeStampUtc;
            var rows = new List<Row>(snapshot.Connections.Count);
            foreach (var r in snapshot.Connections) rows.Add(new Row(r, RowLook.For(r, _config, _suspicious, _highlighted)));
            _rows = rows;
            StageDone?.Invoke("rows");
            Sort();
            StageDone?.Invoke("sort");
            ApplyFilter();
            StageDone?.Invoke("filter");

            if (_config.Monitoring.ShowStats || _config.Monitoring.ShowTopTalkers)
            {
                var duration = previous == null ? TimeSpan.Zero : snapshot.TimeStampUtc - previous.TimeStampUtc;
                var window = duration > TimeSpan.Zero
                    ? TrafficWindow.FromParts(previous, snapshot, duration, NoRecords, false)
                    : TrafficWindow.Single(snapshot);
                if (_config.Monitoring.ShowStats)
                    _statsLine = StatsLine(duration > TimeSpan.Zero ? ConnectionStatistics.Compute(window) : ConnectionStatistics.Compute(snapshot), duration > TimeSpan.Zero);
                if (_config.Monitoring.ShowTopTalkers)
                    _talkersLine = TalkersLine(TopTalkers.Rank(window, TalkerGrouping.Process, TalkerMetric.Bytes, Math.Max(1, _config.Monitoring.TopTalkersCount)));
            }
            StageDone?.Invoke("totals");
        }

        internal static string StatsLine(ConnectionStatistics s, bool measured)
        {
            var sb = new StringBuilder();
            sb.Append("TCP: ").Append(s.Tcp.ToString(CultureInfo.InvariantCulture))
              .Append("  UDP: ").Append(s.Udp.ToString(CultureInfo.InvariantCulture))
              .Append("  Total: ").Append(s.Total.ToString(CultureInfo.InvariantCulture))
              .Append("  Bandwidth: ");
            if (!measured) sb.Append("measuring...");
            else if (s.SendRate == null && s.ReceiveRate == null) sb.Append("not counted here");
            else sb.Append("sent ").Append(TextFormat.Rate(s.SendRate ?? 0)).Append(", received ").Append(TextFormat.Rate(s.ReceiveRate ?? 0));
            return sb.ToString();
        }

        internal static string TalkersLine(IReadOnlyList<TopTalker> talkers)
        {
            if (talkers.Count == 0) return "Top talkers: none";
            var sb = new StringBuilder("Top talkers:");
            foreach (var t in talkers)
            {
                sb.Append(t.Rank == 1 ? " " : "  ").Append(UntrustedText.ForTerminal(t.Name));
                if (t.SendRate != null || t.ReceiveRate != null)
                    sb.Append(' ').Append(TextFormat.Rate((t.SendRate ?? 0) + (t.ReceiveRate ?? 0)));
                sb.Append(" (").Append(t.Connections.ToString(CultureInfo.InvariantCulture)).Append(')');
            }
            return sb.ToString();
        }

        /// <summary>Applies one key press: q quits, s sorts, p pauses, / filters, arrows and PgUp/PgDn/Home/End scroll.</summary>
        public LiveAction HandleKey(ConsoleKey key, char character, bool control = false)
        {
            if (control && (key == ConsoleKey.C || character == '\u0003')) return LiveAction.Quit;
            if (EditingFilter) return HandleFilterKey(key, character);
            switch (key)
            {
                case ConsoleKey.UpArrow: return ScrollTo(_scroll - 1);
                case ConsoleKey.DownArrow: return ScrollTo(_scroll + 1);
                case ConsoleKey.PageUp: return ScrollTo(_scroll - _pageSize);
                case ConsoleKey.PageDown: return ScrollTo(_scroll + _pageSize);
                case ConsoleKey.Home: return ScrollTo(0);
                case ConsoleKey.End: return ScrollTo(int.MaxValue);
                case ConsoleKey.Escape:
                    if (Filter.Length == 0) return LiveAction.None;
                    Filter = "";
                    ApplyFilter();
                    return LiveAction.Redraw;
            }
            switch (character)
            {
                case 'q': case 'Q': return LiveAction.Quit;
                case 's':
                    SortKey = (LiveSortKey)(((int)SortKey + 1) % Enum.GetValues(typeof(LiveSortKey)).Length);
                    Sort();
                    ApplyFilter();
                    _scroll = 0;
                    return LiveAction.Redraw;
                case 'p': case 'P': case ' ':
                    Paused = !Paused;
                    return LiveAction.Redraw;
                case '/':
                    EditingFilter = true;
                    _draft = Filter;
                    return LiveAction.Redraw;
                case 'k': return ScrollTo(_scroll - 1);
                case 'j': return ScrollTo(_scroll + 1);
            }
            return LiveAction.None;
        }

        private LiveAction HandleFilterKey(ConsoleKey key, char character)
        {
            switch (key)
            {
                case ConsoleKey.Enter:
                    EditingFilter = false;
                    Filter = _draft.Trim();
                    _scroll = 0;
                    ApplyFilter();
                    return LiveAction.Redraw;
                case ConsoleKey.Escape:
                    EditingFilter = false;
                    return LiveAction.Redraw;
                case ConsoleKey.Backspace:
                    if (_draft.Length > 0) _draft = _draft.Substring(0, _draft.Length - 1);
                    return LiveAction.Redraw;
            }
            if (character == '\r' || character == '\n') return HandleFilterKey(ConsoleKey.Enter, '\0');
            if (character == '\b' || character == '\u007f') return HandleFilterKey(ConsoleKey.Backspace, '\0');
            if (char.IsControl(character) || character == '\0' || _draft.Length >= 200) return LiveAction.None;
            _draft += character;
            return LiveAction.Redraw;
        }

        private LiveAction ScrollTo(int offset)
        {
            int max = Math.Max(0, _shown.Count - _pageSize);
            int next = Math.Max(0, Math.Min(max, offset));
            if (next == _scroll) return LiveAction.None;
            _scroll = next;
            return LiveAction.Redraw;
        }

        /// <summary>
        /// A frame for a terminal of <paramref name="width"/> × <paramref name="height"/>: title, stats and
        /// top-talker lines (as configured), the header, the rows that fit from the scroll position, and a
        /// bottom line with position, sort, filter, notices and keys.
        /// </summary>
        public IReadOnlyList<ScreenLine> BuildFrame(int width, int height)
        {
            var layout = Layout(width);
            var lines = new List<ScreenLine>(height);
            lines.Add(new ScreenLine(Title(), _titleStyle));
            if (_config.Monitoring.ShowStats) lines.Add(new ScreenLine(_statsLine));
            if (_config.Monitoring.ShowTopTalkers) lines.Add(new ScreenLine(_talkersLine));
            lines.Add(new ScreenLine(layout.Header(), _headerStyle));
            int area = Math.Max(1, height - lines.Count - 1);
            _pageSize = area;
            _scroll = Math.Max(0, Math.Min(_scroll, _shown.Count - area));
            int end = Math.Min(_shown.Count, _scroll + area);
            for (int i = _scroll; i < end; i++) lines.Add(RowLine(layout, _shown[i]));
            for (int i = end - _scroll; i < area; i++) lines.Add(new ScreenLine(""));
            lines.Add(Footer(end));
            return lines;
        }

        /// <summary>Every row, no fitting and no key help: the frame for output that is not a terminal.</summary>
        public IReadOnlyList<ScreenLine> BuildPlainFrame()
        {
            var layout = Layout(null);
            var lines = new List<ScreenLine>(_shown.Count + 4) { new ScreenLine(Title()) };
            if (_config.Monitoring.ShowStats) lines.Add(new ScreenLine(_statsLine));
            if (_config.Monitoring.ShowTopTalkers) lines.Add(new ScreenLine(_talkersLine));
            lines.Add(new ScreenLine(layout.Header()));
            foreach (var row in _shown) lines.Add(new ScreenLine(layout.Row(row.Record, row.Look, _timeStampUtc)));
            return lines;
        }

        private TableLayout Layout(int? width)
        {
            if (_layout == null || _layoutWidth != width)
            {
                _layout = TableLayout.FromConfig(_config, width);
                _layoutWidth = width;
            }
            return _layout;
        }

        private ScreenLine RowLine(TableLayout layout, Row row)
        {
            if (!_styles.TryGetValue(row.Look.Color, out var style))
                _styles[row.Look.Color] = style = TerminalColors.Foreground(row.Look.Color, _depth);
            return new ScreenLine(layout.Row(row.Record, row.Look, _timeStampUtc), style);
        }

        private string Title()
        {
            var sb = new StringBuilder("ConnectionsMonitor  ");
            if (_timeStampUtc != default(DateTime))
                sb.Append(_timeStampUtc.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture)).Append("  ");
            sb.Append(_rows.Count.ToString(CultureInfo.InvariantCulture)).Append(" connections  refresh ")
              .Append(RefreshInterval.ToString(CultureInfo.InvariantCulture)).Append(" ms  sort: ").Append(SortKey);
            if (Filter.Length > 0) sb.Append("  filter: ").Append(Filter);
            if (Paused) sb.Append("  [PAUSED]");
            return sb.ToString();
        }

        private ScreenLine Footer(int end)
        {
            if (EditingFilter) return new ScreenLine("Filter (Enter applies, Esc cancels): " + _draft + "_");
            var sb = new StringBuilder();
            sb.Append(_shown.Count == 0 ? "no rows" : "rows " + (_scroll + 1).ToString(CultureInfo.InvariantCulture) + "-" + end.ToString(CultureInfo.InvariantCulture)
                                                      + " of " + _shown.Count.ToString(CultureInfo.InvariantCulture));
            if (_layout != null && _layout.HiddenForWidth > 0)
                sb.Append("  (").Append(_layout.HiddenForWidth.ToString(CultureInfo.InvariantCulture)).Append(" columns hidden: window too narrow)");
            if (!string.IsNullOrEmpty(Notice)) return new ScreenLine(sb.Append("  ").Append(UntrustedText.ForTerminal(Notice)).ToString(), _noticeStyle);
            sb.Append("  q quit  s sort  p pause  / filter  arrows/PgUp/PgDn scroll");
            return new ScreenLine(sb.ToString());
        }

        private void Sort()
        {
            int n = _rows.Count;
            if (n < 2) return;
            // Numeric sorts go through Array.Sort over struct keys (no delegate per comparison): with
            // 10,000 rows this is what keeps a refresh cheap. Text sorts compare strings, then the keys.
            var keys = new OrderKey[n];
            var rows = _rows.ToArray();
            for (int i = 0; i < n; i++) keys[i] = new OrderKey(PrimaryOf(rows[i].Record, rows[i]), TieOf(rows[i].Record));
            if (SortKey == LiveSortKey.Process || SortKey == LiveSortKey.Foreign)
            {
                bool process = SortKey == LiveSortKey.Process;
                var order = new int[n];
                for (int i = 0; i < n; i++) order[i] = i;
                Array.Sort(order, (a, b) =>
                {
                    int c = process ? CompareText(rows[a].Record.ProcessName, rows[b].Record.ProcessName) : CompareText(rows[a].Foreign, rows[b].Foreign);
                    return c != 0 ? c : keys[a].CompareTo(keys[b]);
                });
                _rows = order.Select(i => rows[i]).ToList();
                return;
            }
            Array.Sort(keys, rows);
            _rows = new List<Row>(rows);
        }

        // The primary sort value; unknowns (long.MaxValue) sort last whichever way the known values go.
        private long PrimaryOf(ConnectionRecord r, Row row)
        {
            switch (SortKey)
            {
                case LiveSortKey.Pid: return r.ProcessId ?? long.MaxValue;
                case LiveSortKey.State: return r.State == null ? long.MaxValue : (long)r.State.Value;
                case LiveSortKey.Age: var since = row.Since; return since == null ? long.MaxValue : -since.Value.Ticks; // newest first
                case LiveSortKey.Bytes: var bytes = row.Bytes; return bytes == null ? long.MaxValue : -bytes.Value;     // busiest first
                case LiveSortKey.Protocol: return (long)r.Protocol;
                case LiveSortKey.Port: return r.LocalPort;
                default: return 0;
            }
        }

        // Ties fall back to a fixed order (protocol, local port, remote port, PID) so rows do not jump between refreshes.
        private static long TieOf(ConnectionRecord r) =>
            ((long)r.Protocol << 60) | ((long)r.LocalPort << 43) | ((long)((r.RemotePort ?? -1) + 1) << 26) | (long)((r.ProcessId ?? -1) + 1 & 0x3FFFFFF);

        private readonly struct OrderKey : IComparable<OrderKey>
        {
            private readonly long _primary, _tie;
            public OrderKey(long primary, long tie) { _primary = primary; _tie = tie; }
            public int CompareTo(OrderKey other) => _primary != other._primary ? _primary.CompareTo(other._primary) : _tie.CompareTo(other._tie);
        }

        private static int CompareText(string a, string b)
        {
            if (a == null) return b == null ? 0 : 1;
            if (b == null) return -1;
            return string.Compare(a, b, StringComparison.OrdinalIgnoreCase);
        }

        private void ApplyFilter()
        {
            if (Filter.Length == 0)
            {
                _shown = _rows;
                return;
            }
            var shown = new List<Row>();
            foreach (var row in _rows)
                if (row.SearchText.IndexOf(Filter, StringComparison.OrdinalIgnoreCase) >= 0) shown.Add(row);
            _shown = shown;
        }

        private sealed class Row
        {
            private string _foreign, _search;

            public Row(ConnectionRecord record, RowLook look)
            {
                Record = record;
                Look = look;
            }

            public readonly ConnectionRecord Record;
            public readonly RowLook Look;

            public string Foreign => _foreign ?? (_foreign = Record.RemoteAddress == null ? null : TableLayout.CellText(ColumnNames.Foreign, Record, default(DateTime)));

            public DateTime? Since => Record.CreationTime ?? Record.FirstSeenUtc;

            public long? Bytes => Record.BytesSent == null && Record.BytesReceived == null ? (long?)null : (Record.BytesSent ?? 0) + (Record.BytesReceived ?? 0);

            /// <summary>What the filter matches: protocol, both endpoints, state, PID, process, markers.</summary>
            public string SearchText => _search ?? (_search = string.Join(" ",
                TableLayout.CellText(ColumnNames.Proto, Record, default(DateTime)),
                TableLayout.CellText(ColumnNames.Local, Record, default(DateTime)),
                Foreign ?? "",
                TableLayout.CellText(ColumnNames.State, Record, default(DateTime)),
                TableLayout.CellText(ColumnNames.Pid, Record, default(DateTime)),
                TableLayout.CellText(ColumnNames.Process, Record, default(DateTime)),
                TableLayout.CellText(ColumnNames.Geo, Record, default(DateTime)),
                Look.Markers));
        }
    }
}
