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
        /// <summary>Bytes per second both ways together, busiest first (as bandwhich orders); rows without a rate last.</summary>
        Rate,
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
    /// <remarks>
    /// A refresh costs what the screen shows, not what the table holds: each row gets a sort key (a number; text
    /// sorts rank the distinct texts first), but only the rows of the visible page are put in their final order
    /// (a selection, not a sort of every row), coloured and formatted, and a row whose cells read as in the
    /// previous frame keeps its line (<see cref="RowLineCache"/>). The header's totals take one pass over the rows
    /// (<see cref="LiveTotals"/>). Buffers are kept between refreshes, so a refresh allocates little besides the lines shown.
    /// </remarks>
    public sealed class LiveView
    {
        private readonly MonitorConfig _config;
        private readonly ColorDepth _depth;
        private readonly HashSet<int> _suspicious;
        private readonly Dictionary<int, ConfigColor> _highlighted;
        private readonly Dictionary<ConfigColor, string> _styles = new Dictionary<ConfigColor, string>();
        private readonly string _headerStyle, _titleStyle, _noticeStyle;
        private readonly LiveTotals _totals = new LiveTotals();
        private readonly RowLineCache _lines = new RowLineCache();

        // The latest snapshot's rows in the snapshot's order: [0, _count).
        private ConnectionRecord[] _records = new ConnectionRecord[0];
        private int _count;
        // Per row, what the filter searches; made when a filter first needs it, for this snapshot's rows only.
        private string[] _search = new string[0];
        // The rows that pass the filter, as sort keys: [0, _shownCount). Position p holds the p-th row of the
        // display order once placed: all positions (_allPlaced) or [_placedFrom, _placedTo) (the page last drawn).
        private OrderKey[] _order = new OrderKey[0];
        private int _shownCount;
        private bool _allPlaced;
        private int _placedFrom, _placedTo;
        // Scratch for text sorts: each shown row's text, and the distinct texts' ranks.
        private string[] _texts = new string[0];
        private readonly Dictionary<string, long> _ranks = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);

        private DateTime _timeStampUtc;
        private string _statsLine = "", _talkersLine = "";
        private TableLayout _layout;
        private int? _layoutWidth;
        private LiveSortKey _layoutSort;
        private int _scroll;
        private int _pageSize = 1;
        private string _draft = "";

        /// <summary>A view drawn as <paramref name="config"/> says, in the colours <paramref name="depth"/> allows.</summary>
        public LiveView(MonitorConfig config, ColorDepth depth)
        {
            _config = config ?? throw new ArgumentNullException(nameof(config));
            _depth = depth;
            _suspicious = new HashSet<int>(config.Alerts.Conditions.SuspiciousPorts);
            _highlighted = config.HighlightedPorts.ToDictionary(p => p.Key, p => p.Value); // a hash map: looked up twice per row shown
            bool styled = depth != ColorDepth.None;
            _headerStyle = styled ? "\u001b[7m" : "";   // reverse video: readable on any palette
            _titleStyle = styled ? "\u001b[1m" : "";
            _noticeStyle = styled ? TerminalColors.Foreground(ConfigColor.Parse("yellow"), depth) : "";
            RefreshInterval = config.RefreshInterval;
        }

        /// <summary>What the rows are sorted by ('s' cycles).</summary>
        public LiveSortKey SortKey { get; private set; } = LiveSortKey.Port;

        /// <summary>True while paused ('p'): the caller keeps the rows it has.</summary>
        public bool Paused { get; private set; }

        /// <summary>The applied filter: rows whose text contains it (case-insensitive); empty for all rows.</summary>
        public string Filter { get; private set; } = "";

        /// <summary>True while the filter prompt (/) is open.</summary>
        public bool EditingFilter { get; private set; }

        /// <summary>The refresh interval the title shows, in milliseconds.</summary>
        public int RefreshInterval { get; set; }

        /// <summary>For the CPU benchmark only: told the name of each stage of <see cref="Update"/> and <see cref="BuildFrame"/> as it finishes (see <see cref="Session.LiveViewOptions"/>).</summary>
        internal Action<string> StageDone { get; set; }

        /// <summary>A message for the bottom line (partial-data warnings); null for none.</summary>
        public string Notice { get; set; }

        /// <summary>Rows that pass the filter, in display order.</summary>
        public int ShownCount => _shownCount;

        /// <summary>Rows of the latest snapshot.</summary>
        public int TotalCount => _count;

        /// <summary>Index of the first row shown.</summary>
        public int ScrollOffset => _scroll;

        /// <summary>The records in display order (sorted and filtered), for tests.</summary>
        public IReadOnlyList<ConnectionRecord> ShownRecords
        {
            get
            {
                PlaceAll();
                var result = new ConnectionRecord[_shownCount];
                for (int p = 0; p < _shownCount; p++) result[p] = _records[_order[p].Index];
                return result;
            }
        }

        /// <summary>Rows formatted into lines by the last <see cref="BuildFrame"/> (the others kept their line from the frame before); for tests and the benchmark.</summary>
        internal int LastFormattedRows => _lines.Formatted;

        /// <summary>
        /// Takes in a new snapshot. <paramref name="previous"/> (the one before, or null) gives the
        /// bandwidth and top-talker lines their traffic window.
        /// </summary>
        public void Update(ConnectionSnapshot snapshot, ConnectionSnapshot previous)
        {
            if (snapshot == null) throw new ArgumentNullException(nameof(snapshot));
            _timeStampUtc = snapshot.TimeStampUtc;
            var connections = snapshot.Connections;
            int n = connections.Count;
            if (_records.Length < n)
            {
                int size = Math.Max(n, _records.Length * 2);
                _records = new ConnectionRecord[size];
                _search = new string[size];
            }
            if (connections is List<ConnectionRecord> list) list.CopyTo(_records);
            else
                for (int i = 0; i < n; i++) _records[i] = connections[i];
            // Search texts belong to the old rows; past n, the old rows themselves are let go.
            Array.Clear(_search, 0, Math.Max(n, _count));
            if (_count > n) Array.Clear(_records, n, _count - n);
            _count = n;
            StageDone?.Invoke("rows");
            ApplyFilter();
            StageDone?.Invoke("filter");
            Sort();
            StageDone?.Invoke("sort");

            bool stats = _config.Monitoring.ShowStats, talkers = _config.Monitoring.ShowTopTalkers;
            if (stats || talkers)
            {
                _totals.Compute(snapshot, previous, talkers, Math.Max(1, _config.Monitoring.TopTalkersCount));
                if (stats) _statsLine = StatsLine(_totals.Tcp, _totals.Udp, _totals.SendRate, _totals.ReceiveRate, _totals.Measured);
                if (talkers) _talkersLine = TalkersLine(_totals.Talkers);
            }
            StageDone?.Invoke("totals");
        }

        internal static string StatsLine(int tcp, int udp, double? sendRate, double? receiveRate, bool measured)
        {
            var sb = new StringBuilder();
            sb.Append("TCP: ").Append(tcp.ToString(CultureInfo.InvariantCulture))
              .Append("  UDP: ").Append(udp.ToString(CultureInfo.InvariantCulture))
              .Append("  Total: ").Append((tcp + udp).ToString(CultureInfo.InvariantCulture))
              .Append("  Bandwidth: ");
            if (!measured) sb.Append("measuring...");
            else if (sendRate == null && receiveRate == null) sb.Append("not counted here");
            else sb.Append("sent ").Append(TextFormat.Rate(sendRate ?? 0)).Append(", received ").Append(TextFormat.Rate(receiveRate ?? 0));
            return sb.ToString();
        }

        internal static string TalkersLine(IReadOnlyList<TopTalker> talkers)
        {
            if (talkers.Count == 0) return "Top talkers: none";
            var sb = new StringBuilder("Top talkers:");
            foreach (var t in talkers)
            {
                sb.Append(t.Rank == 1 ? " " : "  ").Append(t.Name == null ? TextFormat.NoOwner : UntrustedText.ForTerminal(t.Name));
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
                    Sort();
                    return LiveAction.Redraw;
            }
            switch (character)
            {
                case 'q': case 'Q': return LiveAction.Quit;
                case 's':
                    SortKey = (LiveSortKey)(((int)SortKey + 1) % Enum.GetValues(typeof(LiveSortKey)).Length);
                    Sort();
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
                    Sort();
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
            int max = Math.Max(0, _shownCount - _pageSize);
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
            var lines = new List<ScreenLine>(Math.Max(1, height));
            lines.Add(new ScreenLine(Title(), _titleStyle));
            if (_config.Monitoring.ShowStats) lines.Add(new ScreenLine(_statsLine));
            if (_config.Monitoring.ShowTopTalkers) lines.Add(new ScreenLine(_talkersLine));
            lines.Add(new ScreenLine(layout.Header(), _headerStyle));
            int area = Math.Max(1, height - lines.Count - 1);
            _pageSize = area;
            _scroll = Math.Max(0, Math.Min(_scroll, _shownCount - area));
            int end = Math.Min(_shownCount, _scroll + area);
            Place(_scroll, end);
            StageDone?.Invoke("page");
            _lines.BeginFrame(layout);
            for (int p = _scroll; p < end; p++) lines.Add(RowLine(layout, _records[_order[p].Index]));
            _lines.EndFrame();
            for (int i = end - _scroll; i < area; i++) lines.Add(new ScreenLine(""));
            lines.Add(Footer(end, width));
            return lines;
        }

        /// <summary>Every row, no fitting and no key help: the frame for output that is not a terminal.</summary>
        public IReadOnlyList<ScreenLine> BuildPlainFrame()
        {
            var layout = Layout(null);
            PlaceAll();
            var lines = new List<ScreenLine>(_shownCount + 4) { new ScreenLine(Title()) };
            if (_config.Monitoring.ShowStats) lines.Add(new ScreenLine(_statsLine));
            if (_config.Monitoring.ShowTopTalkers) lines.Add(new ScreenLine(_talkersLine));
            lines.Add(new ScreenLine(layout.Header()));
            for (int p = 0; p < _shownCount; p++)
            {
                var r = _records[_order[p].Index];
                lines.Add(new ScreenLine(layout.Row(r, Look(r), _timeStampUtc)));
            }
            return lines;
        }

        // Fitted to the width, with the sort's column kept while others give way (a Rate sort at 80 columns ordered rows by
        // a column that had been dropped).
        private TableLayout Layout(int? width)
        {
            if (_layout == null || _layoutWidth != width || _layoutSort != SortKey)
            {
                _layout = TableLayout.FromConfig(_config, width, SortColumn(SortKey));
                _layoutWidth = width;
                _layoutSort = SortKey;
            }
            return _layout;
        }

        // The column a sort orders by; null for Port, which Local's endpoint shows too.
        private static string SortColumn(LiveSortKey key)
        {
            switch (key)
            {
                case LiveSortKey.Process: return ColumnNames.Process;
                case LiveSortKey.Pid: return ColumnNames.Pid;
                case LiveSortKey.State: return ColumnNames.State;
                case LiveSortKey.Foreign: return ColumnNames.Foreign;
                case LiveSortKey.Age: return ColumnNames.Age;
                case LiveSortKey.Bytes: return ColumnNames.Bytes;
                case LiveSortKey.Protocol: return ColumnNames.Proto;
                case LiveSortKey.Rate: return ColumnNames.Rate;
                default: return null;
            }
        }

        private RowLook Look(ConnectionRecord r) => RowLook.For(r, _config, _suspicious, _highlighted);

        private ScreenLine RowLine(TableLayout layout, ConnectionRecord r)
        {
            var look = Look(r);
            if (!_styles.TryGetValue(look.Color, out var style))
                _styles[look.Color] = style = TerminalColors.Foreground(look.Color, _depth);
            return new ScreenLine(_lines.Line(layout, r, look, _timeStampUtc), style);
        }

        private string Title()
        {
            var sb = new StringBuilder("ConnectionsMonitor  ");
            if (_timeStampUtc != default(DateTime))
                sb.Append(_timeStampUtc.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture)).Append("  ");
            sb.Append(TextFormat.Count(_count, "connection", "connections")).Append("  refresh ")
              .Append(RefreshInterval.ToString(CultureInfo.InvariantCulture)).Append(" ms  sort: ").Append(SortLabel(SortKey));
            if (Filter.Length > 0) sb.Append("  filter: ").Append(Filter);
            if (Paused) sb.Append("  [PAUSED]");
            return sb.ToString();
        }

        // The sort named as the column it follows is headed (PID, Proto), so the title's word is the one on screen.
        private static string SortLabel(LiveSortKey key) => SortColumn(key) ?? key.ToString();

        private ScreenLine Footer(int end, int width)
        {
            if (EditingFilter) return new ScreenLine("Filter (Enter applies, Esc cancels): " + _draft + "_");
            int first = _scroll + 1;
            string rows = _shownCount == 0 ? "no rows"
                : (first == end ? "row " + first.ToString(CultureInfo.InvariantCulture)
                                : "rows " + first.ToString(CultureInfo.InvariantCulture) + "-" + end.ToString(CultureInfo.InvariantCulture))
                  + " of " + _shownCount.ToString(CultureInfo.InvariantCulture);
            int hidden = _layout?.HiddenForWidth ?? 0;
            string hiddenLong = hidden > 0 ? "  (" + TextFormat.Count(hidden, "column", "columns") + " hidden: window too narrow)" : "";
            if (!string.IsNullOrEmpty(Notice)) return new ScreenLine(rows + hiddenLong + "  " + UntrustedText.ForTerminal(Notice), _noticeStyle);
            // A narrow window: the keys before the explanations, in ever fewer words, so the way out and the sort stay on screen.
            const string keys = "  q quit  s sort  p pause  / filter";
            string hiddenShort = hidden > 0 ? "  (" + hidden.ToString(CultureInfo.InvariantCulture) + " hidden)" : "";
            foreach (var candidate in new[]
            {
                rows + hiddenLong + keys + "  arrows/PgUp/PgDn scroll",
                rows + keys + hiddenShort,
                rows + keys,
            })
                if (candidate.Length <= width) return new ScreenLine(candidate);
            return new ScreenLine(rows + "  q s p /");
        }

        // The rows that pass the filter, in snapshot order, keyed later by Sort.
        private void ApplyFilter()
        {
            if (_order.Length < _count) _order = new OrderKey[_records.Length];
            int shown = 0;
            if (Filter.Length == 0)
            {
                for (int i = 0; i < _count; i++) _order[shown++] = new OrderKey(0, 0, i);
            }
            else
            {
                for (int i = 0; i < _count; i++)
                    if (SearchText(i).IndexOf(Filter, StringComparison.OrdinalIgnoreCase) >= 0) _order[shown++] = new OrderKey(0, 0, i);
            }
            _shownCount = shown;
        }

        // Gives every shown row its key for the current sort; nothing is in place until a page is asked for.
        private void Sort()
        {
            int n = _shownCount;
            if (SortKey == LiveSortKey.Process || SortKey == LiveSortKey.Foreign) RankTexts(SortKey == LiveSortKey.Process);
            else
                for (int p = 0; p < n; p++)
                {
                    int i = _order[p].Index;
                    var r = _records[i];
                    _order[p] = new OrderKey(PrimaryOf(r), TieOf(r), i);
                }
            _allPlaced = n < 2;
            _placedFrom = _placedTo = 0;
        }

        // Text sorts: the distinct texts (compared ignoring case, as the sort compares them) ranked once, so rows
        // compare numbers; rows without the text go last.
        private void RankTexts(bool process)
        {
            int n = _shownCount;
            if (_texts.Length < n) _texts = new string[Math.Max(n, _texts.Length * 2)];
            _ranks.Clear();
            for (int p = 0; p < n; p++)
            {
                var r = _records[_order[p].Index];
                string text = process ? r.ProcessName : Foreign(r);
                _texts[p] = text;
                if (text != null) _ranks[text] = 0;
            }
            var distinct = new string[_ranks.Count];
            _ranks.Keys.CopyTo(distinct, 0);
            Array.Sort(distinct, StringComparer.OrdinalIgnoreCase);
            for (int k = 0; k < distinct.Length; k++) _ranks[distinct[k]] = k;
            for (int p = 0; p < n; p++)
            {
                int i = _order[p].Index;
                _order[p] = new OrderKey(_texts[p] == null ? long.MaxValue : _ranks[_texts[p]], TieOf(_records[i]), i);
                _texts[p] = null;
            }
            _ranks.Clear();
        }

        private static string Foreign(ConnectionRecord r) =>
            r.RemoteAddress == null ? null : TableLayout.CellText(ColumnNames.Foreign, r, default(DateTime));

        // The primary sort value; unknowns (long.MaxValue) sort last whichever way the known values go.
        private long PrimaryOf(ConnectionRecord r)
        {
            switch (SortKey)
            {
                case LiveSortKey.Pid: return r.ProcessId ?? long.MaxValue;
                case LiveSortKey.State: return r.State == null ? long.MaxValue : (long)r.State.Value;
                case LiveSortKey.Age: var since = r.CreationTime ?? r.FirstSeenUtc; return since == null ? long.MaxValue : -since.Value.Ticks; // newest first
                case LiveSortKey.Bytes:
                    if (r.BytesSent == null && r.BytesReceived == null) return long.MaxValue;
                    return -((r.BytesSent ?? 0) + (r.BytesReceived ?? 0)); // busiest first
                case LiveSortKey.Protocol: return (long)r.Protocol;
                case LiveSortKey.Rate:
                    var rate = TableLayout.TotalRate(r);
                    return rate == null ? long.MaxValue : -(long)Math.Round(rate.Value); // busiest first
                case LiveSortKey.Port: return r.LocalPort;
                default: return 0;
            }
        }

        // Ties fall back to a fixed order (protocol, local port, remote port, PID, then the snapshot's order) so rows do not jump between refreshes.
        private static long TieOf(ConnectionRecord r) =>
            ((long)r.Protocol << 60) | ((long)r.LocalPort << 43) | ((long)((r.RemotePort ?? -1) + 1) << 26) | (long)((r.ProcessId ?? -1) + 1 & 0x3FFFFFF);

        // Puts the rows of display positions [from, to) in place, in order.
        private void Place(int from, int to)
        {
            if (_allPlaced || to <= from || (from >= _placedFrom && to <= _placedTo)) return;
            if (_shownCount <= 64 || to - from >= _shownCount / 2)
            {
                PlaceAll();
                return;
            }
            OrderSelection.Select(_order, 0, _shownCount, from, to);
            _placedFrom = from;
            _placedTo = to;
        }

        private void PlaceAll()
        {
            if (_allPlaced) return;
            Array.Sort(_order, 0, _shownCount);
            _allPlaced = true;
        }

        private string SearchText(int i) => _search[i] ?? (_search[i] = SearchTextOf(_records[i], Look(_records[i])));

        /// <summary>What the filter matches: protocol, both endpoints, state, PID, process, markers.</summary>
        private static string SearchTextOf(ConnectionRecord r, RowLook look) => string.Join(" ",
            TableLayout.CellText(ColumnNames.Proto, r, default(DateTime)),
            TableLayout.CellText(ColumnNames.Local, r, default(DateTime)),
            Foreign(r) ?? "",
            TableLayout.CellText(ColumnNames.State, r, default(DateTime)),
            TableLayout.CellText(ColumnNames.Pid, r, default(DateTime)),
            TableLayout.CellText(ColumnNames.Process, r, default(DateTime)),
            TableLayout.CellText(ColumnNames.Geo, r, default(DateTime)),
            look.Markers);
    }

    /// <summary>A row's place in the display order: its sort value, the fixed tie-break, then its index in the snapshot.</summary>
    internal readonly struct OrderKey : IComparable<OrderKey>
    {
        private readonly long _primary, _tie;

        /// <summary>The row <paramref name="index"/> of the snapshot with its sort value and tie-break.</summary>
        public OrderKey(long primary, long tie, int index)
        {
            _primary = primary;
            _tie = tie;
            Index = index;
        }

        /// <summary>The row's index in the snapshot.</summary>
        public int Index { get; }

        /// <summary>By sort value, tie-break, then snapshot index: a total order, so any selection gives the same rows in the same order.</summary>
        public int CompareTo(OrderKey other) =>
            _primary != other._primary ? _primary.CompareTo(other._primary)
            : _tie != other._tie ? _tie.CompareTo(other._tie)
            : Index.CompareTo(other.Index);
    }

    /// <summary>
    /// Partial ordering for the live view's page: after <see cref="Select"/>, positions [from, to) hold exactly the
    /// items a full sort would put there, in order, at the cost of a quickselect (linear on average) instead of a sort
    /// of every row. Falls back to sorting a range when it is small or the partitioning degenerates.
    /// </summary>
    internal static class OrderSelection
    {
        private const int SortBelow = 24;

        /// <summary>Orders <paramref name="items"/>[lo, hi) so that positions [from, to) are in their sorted place and sorted.</summary>
        public static void Select<T>(T[] items, int lo, int hi, int from, int to) where T : IComparable<T>
        {
            int depth = 2 * Log2(hi - lo + 1);
            Select(items, lo, hi, from, to, depth);
        }

        private static void Select<T>(T[] items, int lo, int hi, int from, int to, int depth) where T : IComparable<T>
        {
            while (hi - lo > 1 && to > lo && from < hi)
            {
                if (hi - lo <= SortBelow || depth-- <= 0 || (from <= lo && hi <= to))
                {
                    Array.Sort(items, lo, hi - lo);
                    return;
                }
                int p = Partition(items, lo, hi);
                // [lo, p) < items[p] < (p, hi): p is in place; go on with the side(s) that hold wanted positions.
                bool left = from < p, right = to > p + 1;
                if (left && right)
                {
                    Select(items, lo, p, from, to, depth);
                    lo = p + 1;
                }
                else if (left) hi = p;
                else if (right) lo = p + 1;
                else return;
            }
        }

        // Median of three as the pivot, moved to the end; Lomuto partition. Returns the pivot's final position.
        private static int Partition<T>(T[] a, int lo, int hi) where T : IComparable<T>
        {
            int last = hi - 1, mid = lo + (hi - lo) / 2;
            if (a[mid].CompareTo(a[lo]) < 0) Swap(a, mid, lo);
            if (a[last].CompareTo(a[lo]) < 0) Swap(a, last, lo);
            if (a[last].CompareTo(a[mid]) < 0) Swap(a, last, mid);
            // Now a[lo] <= a[mid] <= a[last]: the median is at mid.
            Swap(a, mid, last);
            var pivot = a[last];
            int store = lo;
            for (int i = lo; i < last; i++)
                if (a[i].CompareTo(pivot) < 0)
                {
                    if (i != store) Swap(a, i, store);
                    store++;
                }
            Swap(a, store, last);
            return store;
        }

        private static void Swap<T>(T[] a, int i, int j)
        {
            var t = a[i];
            a[i] = a[j];
            a[j] = t;
        }

        private static int Log2(int n)
        {
            int log = 0;
            while ((n >>= 1) > 0) log++;
            return log;
        }
    }
}
