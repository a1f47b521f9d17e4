using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>Cumulative payload bytes of one process.</summary>
    internal readonly struct TrafficTotals
    {
        public TrafficTotals(long sent, long received)
        {
            Sent = sent;
            Received = received;
        }

        public long Sent { get; }
        public long Received { get; }
    }

    /// <summary>Which of the four IP Helper tables one read covered completely (an unsupported family counts as read and empty).</summary>
    [Flags]
    internal enum TableCoverage
    {
        None = 0,
        TcpV4 = 1,
        TcpV6 = 2,
        UdpV4 = 4,
        UdpV6 = 8,
        Tcp = TcpV4 | TcpV6,
        Udp = UdpV4 | UdpV6,
        All = Tcp | Udp,
    }

    /// <summary>
    /// Turns a stream of send/receive events into per-connection byte counters and matches them to the
    /// rows of the connection table. Knows nothing of ETW, so it is tested anywhere with event sequences
    /// built by the test. Thread-safe: events arrive on the ETW consumer thread while snapshots merge.
    /// </summary>
    /// <remarks>
    /// Keys. A TCP counter is keyed by local and remote end plus PID, so a 4-tuple reused by another
    /// process is a new counter. IP Helper lists UDP endpoints with no remote end, so UDP counters are
    /// keyed by local end plus PID only (which also keeps a busy DNS server at one counter per socket, not
    /// one per peer); a UDP row bound to 0.0.0.0 / :: takes the events of any local address on its port
    /// and PID unless another row has that exact address.
    ///
    /// Unknown PID (0 or 0xFFFFFFFF in the payload). Such traffic is still counted: it goes to the table
    /// row with the same endpoints whatever that row's PID, and once matched to a row with a real PID it
    /// is folded into that PID's counter for good. If no row ever shows those endpoints the counter ends
    /// up in the closed feed with a null ProcessId: the bytes are visible, unattributed.
    ///
    /// Closing. <see cref="MarkTableRead"/> is taken just before the table is read. At
    /// <see cref="Merge"/> a counter with no row whose last event came before that mark belonged to a
    /// connection that was gone when the table was read: it moves to the closed list, with its final
    /// counts, and its key is forgotten. A counter with events after the mark gets one more snapshot (its
    /// connection may have opened after the read). Only reads of the whole table close counters, since a
    /// partial read (TCP only, IPv4 only) cannot tell that a connection is gone.
    /// </remarks>
    internal sealed class TrafficAggregator
    {
        /// <summary>Closed connections held for the next drain; beyond this the oldest are dropped.</summary>
        public const int DefaultClosedCapacity = 10000;

        /// <summary>
        /// Counters kept for connections that no table read has matched. Beyond this the least recently
        /// active unmatched counters are given up at the next merge (so a table that can never be read in
        /// full does not let counters of closed connections pile up), and beyond twice this, events of
        /// connections without a counter are not counted at all until a merge makes room.
        /// </summary>
        public const int DefaultUnmatchedCapacity = 50000;

        private readonly object _gate = new object();
        private readonly Dictionary<ConnectionKey, Counter> _open = new Dictionary<ConnectionKey, Counter>();
        private readonly Dictionary<uint, long[]> _processTotals = new Dictionary<uint, long[]>();
        private readonly Queue<SocketEntry> _closed = new Queue<SocketEntry>();
        private readonly int _closedCapacity;
        private readonly int _unmatchedCapacity;
        private long _mark;

        public TrafficAggregator() : this(DefaultClosedCapacity)
        {
        }

        public TrafficAggregator(int closedCapacity, int unmatchedCapacity = DefaultUnmatchedCapacity)
        {
            if (closedCapacity < 1) throw new ArgumentOutOfRangeException(nameof(closedCapacity));
            if (unmatchedCapacity < 1) throw new ArgumentOutOfRangeException(nameof(unmatchedCapacity));
            _closedCapacity = closedCapacity;
            _unmatchedCapacity = unmatchedCapacity;
        }

        /// <summary>Closed connections dropped because nobody drained them in time.</summary>
        public long DroppedClosedCount { get; private set; }

        /// <summary>
        /// Counters of connections no table read matched, given up to keep the map bounded (their bytes
        /// are neither on a row nor in the closed feed).
        /// </summary>
        public long EvictedCounterCount { get; private set; }

        /// <summary>Events not counted because the map was full (twice the unmatched capacity).</summary>
        public long UncountedEventCount { get; private set; }

        /// <summary>Counters currently held for connections not yet known to be closed.</summary>
        public int OpenCounterCount
        {
            get { lock (_gate) return _open.Count; }
        }

        /// <summary>Counts one send or receive. Called on the ETW thread for every packet event.</summary>
        public void Apply(in NetworkEvent e)
        {
            var key = ConnectionKey.From(e);
            lock (_gate)
            {
                if (!_open.TryGetValue(key, out Counter counter))
                {
                    // Memory stays bounded even when no merge ever runs (nobody reads the table).
                    if (_open.Count >= 2 * _unmatchedCapacity)
                    {
                        UncountedEventCount++;
                        return;
                    }
                    counter = new Counter();
                    _open.Add(key, counter);
                }
                counter.Add(e.Direction, e.Size);
                counter.LastEventMark = _mark;
                if (e.HasKnownProcess) AddToProcess(e.ProcessId, e.Direction == TrafficDirection.Send ? e.Size : 0,
                    e.Direction == TrafficDirection.Receive ? e.Size : 0);
            }
        }

        /// <summary>Call just before reading the table that will be passed to <see cref="Merge"/>.</summary>
        public long MarkTableRead()
        {
            lock (_gate) return ++_mark;
        }

        /// <summary>
        /// Sets BytesSent / BytesReceived of every row (0 where nothing was seen since the session started)
        /// and, when <paramref name="completeTable"/>, moves counters of connections no longer in the
        /// table to the closed list.
        /// </summary>
        public void Merge(IList<SocketEntry> rows, long mark, bool completeTable) =>
            Merge(rows, mark, completeTable ? TableCoverage.All : TableCoverage.None);

        /// <summary>
        /// Sets BytesSent / BytesReceived of every row (0 where nothing was seen since the session started)
        /// and moves counters of connections no longer in the table to the closed list, for each protocol
        /// whose IPv4 and IPv6 tables were both read (<paramref name="covered"/>; an IPv4 connection of a
        /// dual-mode socket may be listed in the IPv6 table, so one family alone proves nothing). Then, if
        /// more than the unmatched capacity of counters matched no row, the least recently active of them
        /// are given up (<see cref="EvictedCounterCount"/>).
        /// </summary>
        public void Merge(IList<SocketEntry> rows, long mark, TableCoverage covered)
        {
            bool tcpCovered = (covered & TableCoverage.Tcp) == TableCoverage.Tcp;
            bool udpCovered = (covered & TableCoverage.Udp) == TableCoverage.Udp;
            if (rows == null) throw new ArgumentNullException(nameof(rows));
            int n = rows.Count;
            var sent = new long[n];
            var received = new long[n];
            var index = new RowIndex(rows);

            lock (_gate)
            {
                // Sum first, change the dictionary after: adopting an unknown-PID counter into a PID's
                // counter mid-walk would count it twice.
                var adopt = new List<KeyValuePair<ConnectionKey, uint>>();
                var close = new List<ConnectionKey>();
                List<KeyValuePair<ConnectionKey, long>> unmatched = null;
                foreach (var pair in _open)
                {
                    var key = pair.Key;
                    Counter counter = pair.Value;
                    int row = index.Find(key);
                    if (row >= 0)
                    {
                        sent[row] += counter.Sent;
                        received[row] += counter.Received;
                        uint rowPid = RowPid(rows[row]);
                        if (key.ProcessId == NetworkEvent.UnknownProcessId && rowPid != NetworkEvent.UnknownProcessId)
                            adopt.Add(new KeyValuePair<ConnectionKey, uint>(key, rowPid));
                    }
                    else if ((key.Protocol == TransportProtocol.Tcp ? tcpCovered : udpCovered) && counter.LastEventMark < mark)
                    {
                        close.Add(key);
                    }
                    else
                    {
                        (unmatched ?? (unmatched = new List<KeyValuePair<ConnectionKey, long>>()))
                            .Add(new KeyValuePair<ConnectionKey, long>(key, counter.LastEventMark));
                    }
                }

                foreach (var pair in adopt) Adopt(pair.Key, pair.Value);
                foreach (var key in close)
                {
                    EnqueueClosed(key.ToClosedEntry(_open[key]));
                    _open.Remove(key);
                }
                if (unmatched != null && unmatched.Count > _unmatchedCapacity)
                {
                    // Least recently active first (ties in no particular order).
                    unmatched.Sort((a, b) => a.Value.CompareTo(b.Value));
                    int excess = unmatched.Count - _unmatchedCapacity;
                    for (int i = 0; i < excess; i++) _open.Remove(unmatched[i].Key);
                    EvictedCounterCount += excess;
                }
            }

            for (int i = 0; i < n; i++)
            {
                rows[i].BytesSent = sent[i];
                rows[i].BytesReceived = received[i];
            }
        }

        /// <summary>Forgets every counter, closed report and process total (a new session counts from zero).</summary>
        public void Reset()
        {
            lock (_gate)
            {
                _open.Clear();
                _processTotals.Clear();
                _closed.Clear();
            }
        }

        /// <summary>Returns, and forgets, the connections closed since the previous call.</summary>
        public IReadOnlyList<SocketEntry> DrainClosed()
        {
            lock (_gate)
            {
                var drained = _closed.ToArray();
                _closed.Clear();
                return drained;
            }
        }

        /// <summary>Bytes per process since the session started, closed connections included.</summary>
        public IReadOnlyDictionary<int, TrafficTotals> ProcessTotals()
        {
            lock (_gate)
            {
                var result = new Dictionary<int, TrafficTotals>(_processTotals.Count);
                foreach (var pair in _processTotals)
                    result[(int)pair.Key] = new TrafficTotals(pair.Value[0], pair.Value[1]);
                return result;
            }
        }

        private static uint RowPid(SocketEntry row) =>
            row.ProcessId is int pid && pid > 0 ? (uint)pid : NetworkEvent.UnknownProcessId;

        /// <summary>Folds an unknown-PID counter into the counter of the PID its table row names.</summary>
        private void Adopt(ConnectionKey unknownKey, uint pid)
        {
            Counter counter = _open[unknownKey];
            _open.Remove(unknownKey);
            var key = unknownKey.WithProcessId(pid);
            if (_open.TryGetValue(key, out Counter owned))
            {
                owned.Sent += counter.Sent;
                owned.Received += counter.Received;
                owned.LastEventMark = Math.Max(owned.LastEventMark, counter.LastEventMark);
            }
            else
            {
                _open.Add(key, counter);
            }
            AddToProcess(pid, counter.Sent, counter.Received);
        }

        private void AddToProcess(uint pid, long sent, long received)
        {
            if (!_processTotals.TryGetValue(pid, out long[] totals))
            {
                totals = new long[2];
                _processTotals.Add(pid, totals);
            }
            totals[0] += sent;
            totals[1] += received;
        }

        private void EnqueueClosed(SocketEntry entry)
        {
            if (_closed.Count >= _closedCapacity)
            {
                _closed.Dequeue();
                DroppedClosedCount++;
            }
            _closed.Enqueue(entry);
        }

        private sealed class Counter
        {
            public long Sent;
            public long Received;
            public long LastEventMark;

            public void Add(TrafficDirection direction, uint size)
            {
                if (direction == TrafficDirection.Send) Sent += size;
                else Received += size;
            }
        }

        /// <summary>The table's rows, indexed by the endpoints counters are matched on.</summary>
        private sealed class RowIndex
        {
            private readonly IList<SocketEntry> _rows;
            private readonly Dictionary<TcpTuple, List<int>> _tcp = new Dictionary<TcpTuple, List<int>>();
            private readonly Dictionary<int, List<int>> _udpByPort = new Dictionary<int, List<int>>();
            private readonly AddressBits[] _udpLocal;

            public RowIndex(IList<SocketEntry> rows)
            {
                _rows = rows;
                _udpLocal = new AddressBits[rows.Count];
                for (int i = 0; i < rows.Count; i++)
                {
                    var row = rows[i];
                    if (row.LocalAddress == null) continue;
                    if (row.Protocol == TransportProtocol.Tcp)
                    {
                        if (row.RemoteAddress == null || row.RemotePort == null) continue;
                        var tuple = new TcpTuple(AddressBits.From(row.LocalAddress), row.LocalPort,
                            AddressBits.From(row.RemoteAddress), row.RemotePort.Value);
                        AddTo(_tcp, tuple, i);
                    }
                    else
                    {
                        _udpLocal[i] = AddressBits.From(row.LocalAddress);
                        AddTo(_udpByPort, row.LocalPort, i);
                    }
                }
            }

            /// <summary>The row a counter belongs to, or -1.</summary>
            public int Find(ConnectionKey key)
            {
                if (key.Protocol == TransportProtocol.Tcp)
                {
                    if (!_tcp.TryGetValue(new TcpTuple(key.LocalAddress, key.LocalPort, key.RemoteAddress, key.RemotePort), out var candidates))
                        return -1;
                    foreach (int i in candidates)
                        if (PidMatches(key.ProcessId, i)) return i;
                    return -1;
                }

                if (!_udpByPort.TryGetValue(key.LocalPort, out var onPort)) return -1;
                // Exact local address first, then the IPv4 wildcard for IPv4 traffic, then :: (a dual-mode
                // socket receives IPv4 too).
                int v4Wildcard = -1, v6Wildcard = -1;
                foreach (int i in onPort)
                {
                    if (!PidMatches(key.ProcessId, i)) continue;
                    var local = _udpLocal[i];
                    if (local.Equals(key.LocalAddress)) return i;
                    if (!local.IsUnspecified) continue;
                    if (local.IsIPv4) { if (key.LocalAddress.IsIPv4 && v4Wildcard < 0) v4Wildcard = i; }
                    else if (v6Wildcard < 0) v6Wildcard = i;
                }
                return v4Wildcard >= 0 ? v4Wildcard : v6Wildcard;
            }

            // An unknown-PID counter matches a row of any PID; a known PID only its own rows (and UDP rows
            // whose PID IP Helper could not tell).
            private bool PidMatches(uint keyPid, int row)
            {
                if (keyPid == NetworkEvent.UnknownProcessId) return true;
                int? rowPid = _rows[row].ProcessId;
                if (rowPid == null) return _rows[row].Protocol == TransportProtocol.Udp;
                return rowPid.Value == (int)keyPid;
            }

            private static void AddTo<TKey>(Dictionary<TKey, List<int>> map, TKey key, int row)
            {
                if (!map.TryGetValue(key, out var list))
                {
                    list = new List<int>(1);
                    map.Add(key, list);
                }
                list.Add(row);
            }
        }

        private readonly struct TcpTuple : IEquatable<TcpTuple>
        {
            private readonly AddressBits _local;
            private readonly int _localPort;
            private readonly AddressBits _remote;
            private readonly int _remotePort;

            public TcpTuple(AddressBits local, int localPort, AddressBits remote, int remotePort)
            {
                _local = local;
                _localPort = localPort;
                _remote = remote;
                _remotePort = remotePort;
            }

            public bool Equals(TcpTuple other) => _localPort == other._localPort && _remotePort == other._remotePort
                && _local.Equals(other._local) && _remote.Equals(other._remote);
            public override bool Equals(object obj) => obj is TcpTuple other && Equals(other);
            public override int GetHashCode() =>
                (((_local.GetHashCode() * 397) ^ _remote.GetHashCode()) * 397) ^ ((_localPort << 16) | _remotePort);
        }

        private readonly struct ConnectionKey : IEquatable<ConnectionKey>
        {
            private ConnectionKey(TransportProtocol protocol, AddressBits localAddress, int localPort,
                AddressBits remoteAddress, int remotePort, uint processId)
            {
                Protocol = protocol;
                LocalAddress = localAddress;
                LocalPort = localPort;
                RemoteAddress = remoteAddress;
                RemotePort = remotePort;
                ProcessId = processId;
            }

            public TransportProtocol Protocol { get; }
            public AddressBits LocalAddress { get; }
            public int LocalPort { get; }
            public AddressBits RemoteAddress { get; }
            public int RemotePort { get; }
            public uint ProcessId { get; }

            public static ConnectionKey From(in NetworkEvent e) =>
                e.Protocol == TransportProtocol.Udp
                    ? new ConnectionKey(e.Protocol, e.LocalAddress, e.LocalPort, default, 0, e.ProcessId)
                    : new ConnectionKey(e.Protocol, e.LocalAddress, e.LocalPort, e.RemoteAddress, e.RemotePort, e.ProcessId);

            public ConnectionKey WithProcessId(uint pid) =>
                new ConnectionKey(Protocol, LocalAddress, LocalPort, RemoteAddress, RemotePort, pid);

            public SocketEntry ToClosedEntry(Counter counter)
            {
                bool udp = Protocol == TransportProtocol.Udp;
                return new SocketEntry
                {
                    Protocol = Protocol,
                    LocalAddress = LocalAddress.ToIPAddress(),
                    LocalPort = LocalPort,
                    RemoteAddress = udp ? null : RemoteAddress.ToIPAddress(),
                    RemotePort = udp ? (int?)null : RemotePort,
                    ProcessId = ProcessId == NetworkEvent.UnknownProcessId ? (int?)null : (int)ProcessId,
                    BytesSent = counter.Sent,
                    BytesReceived = counter.Received,
                };
            }

            public bool Equals(ConnectionKey other) => Protocol == other.Protocol && LocalPort == other.LocalPort
                && RemotePort == other.RemotePort && ProcessId == other.ProcessId
                && LocalAddress.Equals(other.LocalAddress) && RemoteAddress.Equals(other.RemoteAddress);
            public override bool Equals(object obj) => obj is ConnectionKey other && Equals(other);
            public override int GetHashCode() =>
                (((((LocalAddress.GetHashCode() * 397) ^ RemoteAddress.GetHashCode()) * 397) ^ ((LocalPort << 16) | RemotePort)) * 397)
                ^ (int)ProcessId ^ ((int)Protocol << 30);
        }
    }
}
