using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>
    /// Several readers of one platform's <see cref="IClosedConnectionFeed"/>. The platform's feed forgets what it
    /// hands out, so two consumers draining it directly (the session's sampler every tick, a traffic window at its
    /// end) would each miss what the other took. Here a drain by any reader takes what the platform holds and gives
    /// a copy of the list to every open reader; each reader then takes its own. Readers hold at most
    /// <see cref="MaxPendingPerReader"/> reports between their drains (about 3 MB of closing reports); what a full
    /// reader turns away is counted in its <see cref="Reader.LostReports"/>. Thread-safe.
    /// </summary>
    internal sealed class ClosedConnectionReaders
    {
        /// <summary>Reports a reader keeps between two of its drains; the platform's own cap on Linux is the same.</summary>
        internal const int MaxPendingPerReader = 20_000;

        private readonly IClosedConnectionFeed _feed;
        private readonly object _gate = new object();
        private readonly List<Reader> _readers = new List<Reader>();

        internal ClosedConnectionReaders(IClosedConnectionFeed feed) => _feed = feed ?? throw new ArgumentNullException(nameof(feed));

        /// <summary>Readers open now.</summary>
        internal int Count { get { lock (_gate) return _readers.Count; } }

        /// <summary>
        /// A new reader: it gets the closings reported from now on (not what the platform held before), until disposed.
        /// </summary>
        internal Reader Open()
        {
            lock (_gate)
            {
                PullLocked(); // what came before belongs to the readers already open
                var r = new Reader(this);
                _readers.Add(r);
                return r;
            }
        }

        private void PullLocked()
        {
            var got = _feed.DrainClosed();
            if (got.Count == 0) return;
            foreach (var r in _readers) r.AcceptLocked(got);
        }

        /// <summary>
        /// One consumer's view of the closings: the same contract as the platform's feed (<see cref="Start"/>,
        /// <see cref="DrainClosed"/>, <see cref="LostReports"/>), without taking anything from other readers.
        /// Dispose to stop receiving.
        /// </summary>
        internal sealed class Reader : IClosedConnectionFeed, IDisposable
        {
            private readonly ClosedConnectionReaders _owner;
            private List<SocketEntry> _pending = new List<SocketEntry>();
            private long _turnedAway;
            private bool _disposed;

            internal Reader(ClosedConnectionReaders owner) => _owner = owner;

            /// <summary>
            /// Starts the platform's feed (idempotent); null while collecting, else why not, worded for the user.
            /// Throws <see cref="ObjectDisposedException"/> once this reader is closed (the feed runs only for open readers).
            /// </summary>
            public string Start()
            {
                lock (_owner._gate)
                {
                    if (_disposed) throw new ObjectDisposedException(nameof(Reader));
                    return _owner._feed.Start();
                }
            }

            /// <summary>As <see cref="Dispose"/>: a reader stops by closing.</summary>
            void IClosedConnectionFeed.Stop() => Dispose();

            /// <summary>The closings reported since this reader's previous drain (or since it opened), oldest first.</summary>
            public IReadOnlyList<SocketEntry> DrainClosed()
            {
                lock (_owner._gate)
                {
                    if (_disposed) return Array.Empty<SocketEntry>();
                    _owner.PullLocked();
                    if (_pending.Count == 0) return Array.Empty<SocketEntry>();
                    var drained = _pending;
                    _pending = new List<SocketEntry>();
                    return drained;
                }
            }

            /// <summary>The platform's lost reports plus those this reader turned away when full; it only grows.</summary>
            public long LostReports
            {
                get { lock (_owner._gate) return _owner._feed.LostReports + _turnedAway; }
            }

            internal void AcceptLocked(IReadOnlyList<SocketEntry> rows)
            {
                int room = MaxPendingPerReader - _pending.Count;
                if (rows.Count <= room)
                {
                    _pending.AddRange(rows);
                    return;
                }
                // Full: keep what it holds and count the rest (the reader's owner says how many it missed).
                for (int i = 0; i < room; i++) _pending.Add(rows[i]);
                _turnedAway += rows.Count - Math.Max(room, 0);
            }

            /// <summary>Stops receiving; what it held is let go.</summary>
            public void Dispose()
            {
                lock (_owner._gate)
                {
                    if (_disposed) return;
                    _disposed = true;
                    _owner._readers.Remove(this);
                    _pending = new List<SocketEntry>();
                    // The last reader: nothing runs for nobody. Under the gate, so a reader opening meanwhile starts the
                    // feed after this stop, not before it.
                    if (_owner._readers.Count == 0) _owner._feed.Stop();
                }
            }
        }
    }
}
