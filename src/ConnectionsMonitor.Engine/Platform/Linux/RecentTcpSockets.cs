using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// What the last TCP reads knew about each socket, by sock_diag cookie: its owner and whether it
    /// was listening or had received the peer's FIN. A destroy event carries the cookie but neither an
    /// inode (the socket's file is gone) nor a telling state (always CLOSE), so this is where a closed
    /// connection's PID comes from. Entries live for the read that saw them and the next one, which covers
    /// a socket closed between two reads whatever order reads and drains come in; memory stays at
    /// about two tables' worth. Thread-safe: reads write it, the destroy listener thread reads it.
    /// Kept only while that listener runs (<see cref="Wanted"/>): a one-off snapshot with nothing listening for closings
    /// pays nothing for it (2 ms a read at 10,000 rows).
    /// </summary>
    internal sealed class RecentTcpSockets
    {
        internal struct Known
        {
            internal int? ProcessId;
            internal bool Listening;
            internal bool FinReceived;
        }

        private sealed class Slot
        {
            internal Known Value;
            internal int SeenInRead;
        }

        private readonly object _lock = new object();
        private readonly Dictionary<ulong, Slot> _byCookie = new Dictionary<ulong, Slot>();
        private int _read;

        internal int Count { get { lock (_lock) return _byCookie.Count; } }

        /// <summary>
        /// Whether anything reads this memory now (the destroy listener is running); null or false: reads keep nothing, and
        /// forget what they kept. Set by the feed that reads it.
        /// </summary>
        internal Func<bool> Wanted { get; set; }

        /// <summary>Records the TCP rows of one read (those with a cookie: sock_diag rows) and forgets older ones; forgets all while nothing reads it.</summary>
        internal void Remember(IReadOnlyList<SocketEntry> rows)
        {
            var wanted = Wanted;
            if (wanted == null || !wanted())
            {
                lock (_lock) _byCookie.Clear();
                return;
            }
            lock (_lock)
            {
                _read++;
                foreach (var row in rows)
                {
                    if (row.Protocol != TransportProtocol.Tcp || row.SockDiagCookie == 0) continue;
                    if (!_byCookie.TryGetValue(row.SockDiagCookie, out var slot)) _byCookie[row.SockDiagCookie] = slot = new Slot();
                    slot.SeenInRead = _read;
                    // A read without owner resolution keeps the PID an earlier read found.
                    if (row.ProcessId != null) slot.Value.ProcessId = row.ProcessId;
                    slot.Value.Listening = row.State == TcpState.Listen;
                    slot.Value.FinReceived |= row.State == TcpState.CloseWait || row.State == TcpState.LastAck || row.State == TcpState.Closing;
                }
                List<ulong> stale = null;
                foreach (var kv in _byCookie)
                    if (_read - kv.Value.SeenInRead > 1) (stale ?? (stale = new List<ulong>())).Add(kv.Key);
                if (stale != null) foreach (ulong cookie in stale) _byCookie.Remove(cookie);
            }
        }

        /// <summary>Drops every remembered row at once (the listener stopped: nothing will ask until it starts again).</summary>
        internal void Forget()
        {
            lock (_lock) _byCookie.Clear();
        }

        internal bool TryGet(ulong cookie, out Known known)
        {
            lock (_lock)
            {
                if (cookie != 0 && _byCookie.TryGetValue(cookie, out var slot)) { known = slot.Value; return true; }
                known = default;
                return false;
            }
        }
    }
}
