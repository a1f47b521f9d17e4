using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Traffic;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>
    /// The numbers behind the live view's stats and top-talker lines, worked out in one pass over a refresh's rows:
    /// the same as <see cref="ConnectionStatistics"/> over a <see cref="TrafficWindow"/> between the previous and the
    /// current snapshot, and <see cref="TopTalkers.Rank"/> by process and bytes over that window, but without building
    /// the window's per-connection objects, its key sets and the statistics the lines do not show. The current rows are
    /// indexed by connection key into a dictionary that is kept (and reused, not reallocated) for the next refresh, so
    /// each refresh costs one lookup and one insertion per row. Not thread-safe.
    /// </summary>
    internal sealed class LiveTotals
    {
        // The indexed snapshot: its rows, and each key's last row (a key seen twice in one read counts its last row, as
        // the window does). _seen marks rows of it whose key the next snapshot has.
        private ConnectionSnapshot _indexed;
        private KeyIndex _index = new KeyIndex();
        private KeyIndex _spare = new KeyIndex();
        private bool[] _seen = new bool[0];

        private readonly Dictionary<string, Group> _groups = new Dictionary<string, Group>(StringComparer.OrdinalIgnoreCase);
        private readonly List<Group> _order = new List<Group>();
        private readonly List<Group> _pool = new List<Group>();

        /// <summary>TCP rows of the current snapshot.</summary>
        public int Tcp { get; private set; }

        /// <summary>UDP rows of the current snapshot.</summary>
        public int Udp { get; private set; }

        /// <summary>True when there was a previous snapshot older than the current one: the rates below are measured.</summary>
        public bool Measured { get; private set; }

        /// <summary>Bytes per second sent over the window (all connections); null when not measured or nothing counts.</summary>
        public double? SendRate { get; private set; }

        /// <summary>Bytes per second received over the window; null when not measured or nothing counts.</summary>
        public double? ReceiveRate { get; private set; }

        /// <summary>
        /// Works out the totals for <paramref name="current"/> against <paramref name="previous"/> (null for the first
        /// refresh) and ranks the processes by bytes moved in between (then by connections, then by name), keeping the
        /// first <paramref name="top"/> when <paramref name="rankTalkers"/>; else <see cref="Talkers"/> is empty.
        /// </summary>
        public void Compute(ConnectionSnapshot current, ConnectionSnapshot previous, bool rankTalkers, int top)
        {
            var duration = previous == null ? TimeSpan.Zero : current.TimeStampUtc - previous.TimeStampUtc;
            Measured = duration > TimeSpan.Zero;
            var rows = current.Connections;
            IReadOnlyList<ConnectionRecord> before = null;
            if (Measured)
            {
                if (!ReferenceEquals(previous, _indexed)) Index(previous, _index);
                before = previous.Connections;
                if (_seen.Length < before.Count) _seen = new bool[Math.Max(before.Count, _seen.Length * 2)];
                Array.Clear(_seen, 0, before.Count);
            }
            _groups.Clear();
            _order.Clear();
            Group last = null;
            string lastName = null;
            long? sent = null, received = null;
            int tcp = 0, udp = 0;
            var next = _spare;
            next.Clear();

            for (int i = 0; i < rows.Count; i++)
            {
                var r = rows[i];
                var key = r.Key;
                next.Set(key, i);
                if (r.Protocol == TransportProtocol.Tcp) tcp++;
                else udp++;
                long? s = null, v = null;
                if (Measured)
                {
                    if (_index.TryGet(key, out int j))
                    {
                        _seen[j] = true;
                        var r0 = before[j];
                        s = Delta(r0.BytesSent, r.BytesSent);
                        v = Delta(r0.BytesReceived, r.BytesReceived);
                    }
                    else
                    {
                        s = r.BytesSent;
                        v = r.BytesReceived;
                    }
                    if (s != null) sent = (sent ?? 0) + s.Value;
                    if (v != null) received = (received ?? 0) + v.Value;
                }
                if (rankTalkers) Count(r, s, v, ref last, ref lastName);
            }

            if (Measured && rankTalkers)
            {
                // Connections of the previous snapshot that are gone: they talked during the window, by how much is unknown.
                for (int j = 0; j < before.Count; j++)
                {
                    if (_seen[j]) continue;
                    var r0 = before[j];
                    // A key read twice: only its last row is indexed (and marked); the others share its fate.
                    if (_index.TryGet(r0.Key, out int k) && _seen[k]) continue;
                    Count(r0, null, null, ref last, ref lastName);
                }
            }

            Tcp = tcp;
            Udp = udp;
            SendRate = Measured ? TrafficRate.PerSecond(sent, duration) : null;
            ReceiveRate = Measured ? TrafficRate.PerSecond(received, duration) : null;
            Talkers = rankTalkers ? Rank(top, Measured ? duration : TimeSpan.Zero) : (IReadOnlyList<TopTalker>)new TopTalker[0];

            _spare = _index;
            _index = next;
            _indexed = current;
        }

        /// <summary>The top talkers of the last <see cref="Compute"/>, ranked as <see cref="TopTalkers.Rank"/> ranks them by bytes.</summary>
        public IReadOnlyList<TopTalker> Talkers { get; private set; } = new TopTalker[0];

        private void Index(ConnectionSnapshot snapshot, KeyIndex index)
        {
            index.Clear();
            var rows = snapshot.Connections;
            for (int i = 0; i < rows.Count; i++) index.Set(rows[i].Key, i);
            _indexed = snapshot;
        }

        /// <summary>
        /// Row index by <see cref="ConnectionKey"/>, equal keys as <see cref="ConnectionKey.Equals(ConnectionKey)"/> says. A key
        /// with a kernel socket cookie equals only keys with the same cookie and owner, so those are held under a
        /// 16-byte key (cookie, owner) instead of the whole 64-byte one: a quarter of the memory to walk per refresh.
        /// </summary>
        private sealed class KeyIndex
        {
            private readonly Dictionary<CookieKey, int> _byCookie = new Dictionary<CookieKey, int>();
            private readonly Dictionary<ConnectionKey, int> _byKey = new Dictionary<ConnectionKey, int>(ConnectionKey.Comparer);

            public void Clear()
            {
                _byCookie.Clear();
                _byKey.Clear();
            }

            public void Set(ConnectionKey key, int index)
            {
                if (key.Cookie != 0) _byCookie[new CookieKey(key)] = index;
                else _byKey[key] = index;
            }

            public bool TryGet(ConnectionKey key, out int index) =>
                key.Cookie != 0 ? _byCookie.TryGetValue(new CookieKey(key), out index) : _byKey.TryGetValue(key, out index);
        }

        private readonly struct CookieKey : IEquatable<CookieKey>
        {
            private readonly ulong _cookie;
            private readonly long _owner;

            public CookieKey(ConnectionKey key)
            {
                _cookie = key.Cookie;
                _owner = key.ProcessId ?? long.MinValue;
            }

            public bool Equals(CookieKey other) => _cookie == other._cookie && _owner == other._owner;
            public override bool Equals(object obj) => obj is CookieKey k && Equals(k);
            public override int GetHashCode() => unchecked(_cookie.GetHashCode() * 31 + _owner.GetHashCode());
        }

        private void Count(ConnectionRecord r, long? sent, long? received, ref Group last, ref string lastName)
        {
            if (TopTalkers.IsListener(r)) return;
            // No known owner: the group named null, as TopTalkers.Rank makes it.
            string name = r.ProcessName, key = name ?? TopTalkers.NoOwnerKey;
            Group g;
            // Rows of one process carry the same string instance: skip the case-insensitive hash for runs of them.
            if (ReferenceEquals(key, lastName)) g = last;
            else
            {
                if (!_groups.TryGetValue(key, out g))
                {
                    g = _order.Count < _pool.Count ? _pool[_order.Count] : Add();
                    g.Reset(name);
                    _groups[key] = g;
                    _order.Add(g);
                }
                last = g;
                lastName = key;
            }
            g.Connections++;
            if (sent != null) g.Sent = (g.Sent ?? 0) + sent.Value;
            if (received != null) g.Received = (g.Received ?? 0) + received.Value;
        }

        private Group Add()
        {
            var g = new Group();
            _pool.Add(g);
            return g;
        }

        private IReadOnlyList<TopTalker> Rank(int top, TimeSpan duration)
        {
            _order.Sort(Compare);
            var result = new List<TopTalker>(Math.Min(top, _order.Count));
            for (int i = 0; i < _order.Count && i < top; i++)
            {
                var g = _order[i];
                result.Add(new TopTalker
                {
                    Rank = i + 1,
                    Name = g.Name,
                    GroupBy = TalkerGrouping.Process,
                    Connections = g.Connections,
                    BytesSent = g.Sent,
                    BytesReceived = g.Received,
                    SendRate = TrafficRate.PerSecond(g.Sent, duration),
                    ReceiveRate = TrafficRate.PerSecond(g.Received, duration),
                });
            }
            return result;
        }

        // Bytes descending, then connections descending, then the name (names are distinct ignoring case).
        private static int Compare(Group a, Group b)
        {
            long ab = (a.Sent ?? 0) + (a.Received ?? 0), bb = (b.Sent ?? 0) + (b.Received ?? 0);
            if (ab != bb) return bb.CompareTo(ab);
            if (a.Connections != b.Connections) return b.Connections.CompareTo(a.Connections);
            return StringComparer.OrdinalIgnoreCase.Compare(a.Name, b.Name);
        }

        /// <summary>Counter difference; a counter that went backwards belongs to a new socket, so all of it counts (as the window counts it).</summary>
        private static long? Delta(long? before, long? after)
        {
            if (after == null) return null;
            if (before == null || after.Value < before.Value) return after;
            return after.Value - before.Value;
        }

        private sealed class Group
        {
            public string Name;
            public int Connections;
            public long? Sent, Received;

            public void Reset(string name)
            {
                Name = name;
                Connections = 0;
                Sent = null;
                Received = null;
            }
        }
    }
}
