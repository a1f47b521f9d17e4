using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;
using ConnectionsMonitor.Engine.Export;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Dashboard
{
    /// <summary>
    /// One sample as the page gets it, in two forms that share a head (<c>"version"</c>: the frame's number, 1 for the first
    /// of this start, each next one more; <c>"time"</c>: ISO 8601 UTC, <c>"interval"</c>: ms,
    /// <c>"stats"</c>: {tcp, udp, total, sendRate, receiveRate}, rates in bytes per second summed over the rows that have one,
    /// null when none has):
    /// <see cref="FullParts"/> — <c>{…head, "columns": ["Key", …], "ids": [id…], "rows": [[key, …]…]}</c>, every row; and
    /// <see cref="Delta"/> — <c>{…head, "upserts": [[key, …]…], "ids": [id…], "counters": [id, bytesSent, bytesReceived,
    /// sendRate, receiveRate, id, …], "removes": [key…]}</c>: the rows that are new or changed since the previous frame (whole,
    /// each with its id at the same place in "ids"), the rows of which only the four counters changed (five numbers each,
    /// flat: on a busy machine that is every row every second, and the whole rows were 3 MB an update at 10,000), and the
    /// keys of the rows gone; when more than <see cref="DashboardFrames.InlineCounterRows"/> rows changed only their counters,
    /// "counters" is empty and <c>"binaryCounters": N</c> says that N rows' five numbers are to be fetched in binary
    /// (<see cref="DashboardFrame.CountersBinary"/>). Rows are <see cref="ConnectionFileFormat.WriteRow"/>'s arrays; an id is a number a socket keeps
    /// for as long as it keeps its key, never given to another (within one <see cref="DashboardFrames"/>); counters are
    /// written as the row writes them (null when unknown).
    /// </summary>
    internal sealed class DashboardFrame
    {
        private readonly object _gate = new object();
        private readonly byte[] _head;
        private readonly byte[][] _rows; // null where only counters changed since the row's JSON was last written: written when the full form is asked for
        private readonly int[] _ids;
        private List<ArraySegment<byte>> _full;

        internal DashboardFrame(long version, DateTime snapshotUtc, IReadOnlyList<ConnectionRecord> records, IReadOnlyList<string> keys, int[] ids, byte[] head, byte[][] rows,
            byte[] delta, int upserts, int counters, int removes, byte[] countersBinary = null)
        {
            Version = version; SnapshotUtc = snapshotUtc; Records = records; Keys = keys; _ids = ids; _head = head; _rows = rows; Delta = delta;
            Upserts = upserts; Counters = counters; Removes = removes; CountersBinary = countersBinary;
        }

        /// <summary>1 for the first frame, then one more per sample.</summary>
        public long Version { get; }
        /// <summary>When the sample's table read ended (UTC).</summary>
        public DateTime SnapshotUtc { get; }
        /// <summary>The sample's rows.</summary>
        public IReadOnlyList<ConnectionRecord> Records { get; }
        /// <summary>Each row's key, in the order of <see cref="Records"/>.</summary>
        public IReadOnlyList<string> Keys { get; }
        /// <summary>The delta form (UTF-8 JSON, one line).</summary>
        public byte[] Delta { get; }
        /// <summary>Rows new or changed since the previous frame, sent whole.</summary>
        public int Upserts { get; }
        /// <summary>Rows of which only BytesSent, BytesReceived, SendRate and ReceiveRate changed since the previous frame.</summary>
        public int Counters { get; }
        /// <summary>Rows gone since the previous frame.</summary>
        public int Removes { get; }
        /// <summary>
        /// When more than <see cref="DashboardFrames.InlineCounterRows"/> rows changed only their counters: those rows'
        /// numbers as little-endian IEEE 754 doubles, five a row (id, BytesSent, BytesReceived, SendRate, ReceiveRate; NaN
        /// for unknown), which <see cref="Delta"/> then leaves out (its "binaryCounters" says how many rows) and the page
        /// fetches from <c>/api/counters?version=</c>. Null when the delta carries them itself.
        /// </summary>
        public byte[] CountersBinary { get; }

        /// <summary>
        /// The full form (UTF-8 JSON, one line) as parts to send one after another: the opening with the head, the
        /// columns and the ids, each row's JSON with a comma between, the closing. The rows' arrays are the frame's own
        /// (shared with the frames before and after it where a row did not change), so a request for the whole table copies
        /// little and a page's first load does not wait for megabytes to be joined; rows whose counters moved since their
        /// JSON was written are written now. The list is made when first asked for.
        /// </summary>
        public IReadOnlyList<ArraySegment<byte>> FullParts
        {
            get
            {
                lock (_gate)
                {
                    if (_full != null) return _full;
                    var output = new MemoryStream(_head.Length + 1024);
                    using (var w = new Utf8JsonWriter(output))
                    {
                        w.WriteStartObject();
                        w.Flush();
                        output.Write(_head, 0, _head.Length);
                        w.WriteStartArray("columns");
                        w.WriteStringValue("Key");
                        foreach (var c in ConnectionFileFormat.RowColumnNames) w.WriteStringValue(c);
                        w.WriteEndArray();
                        w.WriteStartArray("ids");
                        foreach (int id in _ids) w.WriteNumberValue(id);
                        w.WriteEndArray();
                        w.WritePropertyName("rows");
                    }
                    var parts = new List<ArraySegment<byte>>(_rows.Length * 2 + 2);
                    output.WriteByte((byte)'[');
                    parts.Add(new ArraySegment<byte>(output.GetBuffer(), 0, (int)output.Length));
                    DashboardFrames.RowWriter writer = null;
                    for (int i = 0; i < _rows.Length; i++)
                    {
                        if (_rows[i] == null) _rows[i] = (writer ??= new DashboardFrames.RowWriter()).Write(Keys[i], Records[i], SnapshotUtc);
                        if (i > 0) parts.Add(Comma);
                        parts.Add(new ArraySegment<byte>(_rows[i]));
                    }
                    parts.Add(Closing);
                    return _full = parts;
                }
            }
        }

        private static readonly ArraySegment<byte> Comma = new ArraySegment<byte>(new[] { (byte)',' });
        private static readonly ArraySegment<byte> Closing = new ArraySegment<byte>(new[] { (byte)']', (byte)'}' });
    }

    /// <summary>
    /// Turns samples into <see cref="DashboardFrame"/>s, keeping the previous sample's rows by socket
    /// (<see cref="ConnectionRecord.Key"/>) to tell what changed: a row whose shown values (<see cref="SameShown"/>) are
    /// those of the previous sample keeps its key, its id and its JSON; one of which only the counters changed
    /// (<see cref="SameExceptCounters"/>) travels as five numbers; only new and otherwise changed rows are written whole.
    /// Used by one thread (the dashboard's); a frame, once made, is read by any.
    /// </summary>
    internal sealed class DashboardFrames
    {
        private sealed class Shown
        {
            public ConnectionRecord Record;
            public string Key;
            public int Id;
            public byte[] Row; // null: the counters moved since it was written
            // The flags as this frame saw them: a record's Flags are set by every consumer that applies the alert rules
            // (a watch, Get-MonitoredConnection), so the previous sample's record may carry flags the page never got.
            public string Flags;
            // The frame that last showed it (DashboardFrames._version + 1 while that frame is made): a socket shown twice in
            // one sample (a repeat the table let through) gets a key of its own the second time; not shown: gone.
            public long Frame;
        }

        /// <summary>Writes rows (<see cref="ConnectionFileFormat.WriteRow"/>) through one reused buffer.</summary>
        internal sealed class RowWriter
        {
            private readonly MemoryStream _buffer = new MemoryStream(512);
            private readonly Utf8JsonWriter _writer;

            public RowWriter() { _writer = new Utf8JsonWriter(_buffer); }

            public byte[] Write(string key, ConnectionRecord r, DateTime snapshotUtc)
            {
                _buffer.SetLength(0);
                _writer.Reset(_buffer);
                ConnectionFileFormat.WriteRow(_writer, key, r, snapshotUtc);
                _writer.Flush();
                return _buffer.ToArray();
            }
        }

        // What the previous frame showed, kept from frame to frame (at 10,000 unchanged rows, making these again each frame
        // was 2.4 MB a frame): the sockets by their table key, and the row keys they hold.
        private readonly Dictionary<ConnectionKey, Shown> _shown = new Dictionary<ConnectionKey, Shown>(ConnectionKey.Comparer);
        private readonly HashSet<string> _keysHeld = new HashSet<string>(StringComparer.Ordinal);
        private readonly List<Shown> _gone = new List<Shown>();
        private readonly List<Shown> _repeats = new List<Shown>(); // the rows of _shown's sockets shown again in the last frame: gone at the next
        private readonly RowWriter _rowWriter = new RowWriter();
        private long _version;
        private int _lastId;

        /// <summary>The frame of one sample.</summary>
        public DashboardFrame Next(IReadOnlyList<ConnectionRecord> records, DateTime snapshotUtc, TimeSpan interval)
        {
            long frame = _version + 1;
            var keys = new string[records.Count];
            var ids = new int[records.Count];
            var rows = new byte[records.Count][];
            var upserts = new List<byte[]>();
            var upsertIds = new List<int>();
            var counters = new List<ConnectionRecord>();
            var counterIds = new List<int>();
            // Sockets seen before keep their keys; then the sockets gone free theirs; then the new ones get keys (so a
            // newcomer never takes a key from a socket that still has it, and may take one a socket gone just left).
            var befores = new Shown[records.Count];
            for (int i = 0; i < records.Count; i++)
                if (_shown.TryGetValue(records[i].Key, out var b) && b.Frame != frame) { b.Frame = frame; befores[i] = b; keys[i] = b.Key; }
            _gone.Clear();
            foreach (var shown in _shown.Values)
                if (shown.Frame != frame) _gone.Add(shown);
            foreach (var g in _gone) _shown.Remove(g.Record.Key);
            _gone.AddRange(_repeats);
            _repeats.Clear();
            foreach (var g in _gone) _keysHeld.Remove(g.Key);
            for (int i = 0; i < records.Count; i++)
                if (keys[i] == null) { keys[i] = UniqueKey(BaseKey(records[i]), _keysHeld); _keysHeld.Add(keys[i]); }
            for (int i = 0; i < records.Count; i++)
            {
                var r = records[i];
                string flags = r.Flags;
                var before = befores[i];
                // Compared with what was sent, not with the previous record's flags (see Shown.Flags); changed flags send the row whole.
                bool sentAlike = before != null && Same(before.Flags, flags);
                string key = keys[i];
                int id = before?.Id ?? ++_lastId;
                byte[] row;
                // Unchanged: its JSON again, written now if only its counters had moved since (once, here, not at every
                // frame's first request for the whole table).
                if (sentAlike && SameShown(before.Record, r)) row = before.Row ?? _rowWriter.Write(key, r, snapshotUtc);
                else if (sentAlike && SameExceptCounters(before.Record, r))
                {
                    row = null; // written if a page asks for the whole table
                    counters.Add(r);
                    counterIds.Add(id);
                }
                else
                {
                    row = _rowWriter.Write(key, r, snapshotUtc);
                    upserts.Add(row);
                    upsertIds.Add(id);
                }
                if (before != null)
                {
                    before.Record = r; before.Row = row; before.Flags = flags;
                }
                else
                {
                    var shown = new Shown { Record = r, Key = key, Id = id, Row = row, Flags = flags, Frame = frame };
                    if (_shown.ContainsKey(r.Key)) _repeats.Add(shown); // a socket already shown above in this frame
                    else _shown.Add(r.Key, shown);
                }
                rows[i] = row;
                ids[i] = id;
            }
            // Gone: the keys no row holds now (a key taken over by another socket travels as that row's upsert).
            var removes = new List<string>();
            foreach (var g in _gone)
                if (!_keysHeld.Contains(g.Key)) removes.Add(g.Key);
            _gone.Clear();

            byte[] head = Head(_version + 1, records, snapshotUtc, interval);
            byte[] countersBinary = null;
            var output = new MemoryStream(head.Length + 64 + upserts.Count * 200 + counters.Count * 48 + removes.Count * 40);
            using (var w = new Utf8JsonWriter(output))
            {
                w.WriteStartObject();
                w.Flush();
                output.Write(head, 0, head.Length);
                w.WriteStartArray("upserts");
                foreach (var row in upserts) w.WriteRawValue(row, skipInputValidation: true);
                w.WriteEndArray();
                w.WriteStartArray("ids");
                foreach (int id in upsertIds) w.WriteNumberValue(id);
                w.WriteEndArray();
                w.WriteStartArray("counters");
                if (counters.Count <= InlineCounterRows)
                    for (int i = 0; i < counters.Count; i++)
                    {
                        w.WriteNumberValue(counterIds[i]);
                        ConnectionFileFormat.WriteRowCounters(w, counters[i], snapshotUtc);
                    }
                w.WriteEndArray();
                if (counters.Count > InlineCounterRows)
                {
                    w.WriteNumber("binaryCounters", counters.Count);
                    countersBinary = CountersBinary(counters, counterIds, snapshotUtc);
                }
                w.WriteStartArray("removes");
                foreach (var key in removes) w.WriteStringValue(key);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            return new DashboardFrame(++_version, snapshotUtc, records, keys, ids, head, rows, output.ToArray(), upserts.Count, counters.Count, removes.Count, countersBinary);
        }

        /// <summary>
        /// Above this many rows of changed counters a frame sends them as binary (<see cref="DashboardFrame.CountersBinary"/>)
        /// rather than in its JSON: a busy machine's every row every second was 150 KB of JSON an update at 10,000 rows,
        /// whose text the browser took in and parsed in about half the page's time per update. Below it, a page makes no
        /// second request.
        /// </summary>
        internal const int InlineCounterRows = 256;

        private static byte[] CountersBinary(List<ConnectionRecord> counters, List<int> ids, DateTime snapshotUtc)
        {
            int per = 1 + ConnectionFileFormat.RowCounterCount;
            var bytes = new byte[counters.Count * per * sizeof(double)];
            // The doubles written in place (one array, not a second copy of 400 KB); swapped to little-endian afterwards on
            // the rare machine that is not.
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes.AsSpan());
            for (int i = 0; i < counters.Count; i++)
            {
                values[i * per] = ids[i];
                ConnectionFileFormat.RowCounterValues(counters[i], snapshotUtc, values, i * per + 1);
            }
            if (!BitConverter.IsLittleEndian)
                for (int i = 0; i < bytes.Length; i += sizeof(double)) Array.Reverse(bytes, i, sizeof(double));
            return bytes;
        }

        /// <summary>
        /// True when the two records show the same values in every column of <see cref="ConnectionFileFormat.WriteRow"/>
        /// (the ends, which make the socket's key, are compared too). Strings compare by reference first (the process and
        /// GeoIP caches hand out the same instances), then ordinally.
        /// </summary>
        internal static bool SameShown(ConnectionRecord a, ConnectionRecord b) =>
            SameExceptCounters(a, b) &&
            a.BytesSent == b.BytesSent && a.BytesReceived == b.BytesReceived && Same(a.SendRate, b.SendRate) && Same(a.ReceiveRate, b.ReceiveRate);

        /// <summary>
        /// True when the two records show the same values in every column but BytesSent, BytesReceived, SendRate and
        /// ReceiveRate (see <see cref="SameShown"/>).
        /// </summary>
        internal static bool SameExceptCounters(ConnectionRecord a, ConnectionRecord b) =>
            a.Protocol == b.Protocol && a.LocalPort == b.LocalPort && a.RemotePort == b.RemotePort &&
            Equals(a.LocalAddress, b.LocalAddress) && Equals(a.RemoteAddress, b.RemoteAddress) &&
            a.State == b.State && a.ProcessId == b.ProcessId &&
            Same(a.ProcessName, b.ProcessName) && Same(a.ProcessPath, b.ProcessPath) && Same(a.UserName, b.UserName) &&
            a.CreationTime == b.CreationTime && a.FirstSeenUtc == b.FirstSeenUtc && a.FirstSeenIsLowerBound == b.FirstSeenIsLowerBound &&
            Same(a.RemoteHostName, b.RemoteHostName) && Same(a.Country, b.Country) && Same(a.CountryName, b.CountryName) && Same(a.City, b.City) &&
            Same(a.Latitude, b.Latitude) && Same(a.Longitude, b.Longitude) && a.Asn == b.Asn && Same(a.AsnOrganization, b.AsnOrganization) &&
            Same(a.AddressScope, b.AddressScope) && a.IsVpn == b.IsVpn && Same(a.VpnReason, b.VpnReason) && Same(a.Flags, b.Flags);

        private static bool Same(string a, string b) => ReferenceEquals(a, b) || string.Equals(a, b, StringComparison.Ordinal);

        // NaN equals NaN here (both are written as null).
        private static bool Same(double? a, double? b) => a.HasValue == b.HasValue && (!a.HasValue || a.Value.Equals(b.Value));

        // "version":…,"time":…,"interval":…,"stats":{…}, — the members both forms start with, each followed by a comma.
        private static byte[] Head(long version, IReadOnlyList<ConnectionRecord> rows, DateTime snapshotUtc, TimeSpan interval)
        {
            int tcp = 0, udp = 0;
            double send = 0, receive = 0;
            bool anySend = false, anyReceive = false;
            foreach (var c in rows)
            {
                if (c.Protocol == TransportProtocol.Tcp) tcp++; else udp++;
                if (c.SendRate != null) { send += c.SendRate.Value; anySend = true; }
                if (c.ReceiveRate != null) { receive += c.ReceiveRate.Value; anyReceive = true; }
            }
            var output = new MemoryStream(256);
            using (var w = new Utf8JsonWriter(output))
            {
                w.WriteStartObject();
                w.WriteNumber("version", version);
                w.WriteString("time", DateTime.SpecifyKind(snapshotUtc, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                w.WriteNumber("interval", (long)interval.TotalMilliseconds);
                w.WriteStartObject("stats");
                w.WriteNumber("tcp", tcp);
                w.WriteNumber("udp", udp);
                w.WriteNumber("total", tcp + udp);
                if (anySend) w.WriteNumber("sendRate", Math.Round(send, 1)); else w.WriteNull("sendRate");
                if (anyReceive) w.WriteNumber("receiveRate", Math.Round(receive, 1)); else w.WriteNull("receiveRate");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            // {"time":…,"stats":{…}} → "time":…,"stats":{…},
            var bytes = output.ToArray();
            var head = new byte[bytes.Length - 1];
            Array.Copy(bytes, 1, head, 0, bytes.Length - 2);
            head[head.Length - 1] = (byte)',';
            return head;
        }

        /// <summary>
        /// A row's key: Protocol, LocalAddress, LocalPort, RemoteAddress, RemotePort joined by "|" (unknown as empty); a
        /// second row with the same ends (e.g. a TIME_WAIT remnant beside a new connection) gets "|2", a third "|3". A
        /// socket keeps its key from sample to sample.
        /// </summary>
        internal static string BaseKey(ConnectionRecord r) =>
            (r.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP") + "|" + AddressPattern.FormatAddress(r.LocalAddress) + "|" +
            r.LocalPort.ToString(CultureInfo.InvariantCulture) + "|" + AddressPattern.FormatAddress(r.RemoteAddress) + "|" +
            (r.RemotePort?.ToString(CultureInfo.InvariantCulture) ?? "");

        private static string UniqueKey(string key, HashSet<string> taken)
        {
            if (!taken.Contains(key)) return key;
            for (int n = 2; ; n++)
            {
                string candidate = key + "|" + n.ToString(CultureInfo.InvariantCulture);
                if (!taken.Contains(candidate)) return candidate;
            }
        }

        /// <summary>The keys a first frame gives <paramref name="records"/> (see <see cref="BaseKey"/>), in order.</summary>
        internal static IReadOnlyList<string> Keys(IReadOnlyList<ConnectionRecord> records)
        {
            var taken = new HashSet<string>(StringComparer.Ordinal);
            var keys = new string[records.Count];
            for (int i = 0; i < records.Count; i++) { keys[i] = UniqueKey(BaseKey(records[i]), taken); taken.Add(keys[i]); }
            return keys;
        }
    }
}
