using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionsMonitor.Engine.Enrichment.Dns
{
    /// <summary>
    /// Reverse DNS (PTR) names for addresses, without ever holding a snapshot up for longer than its deadline.
    /// Lookups run in the background (at most <see cref="ReverseDnsOptions.MaxConcurrent"/> at once); answers are
    /// cached per address:
    /// <list type="bullet">
    /// <item>a name for its TTL (from the system resolver, which gives none: <see cref="ReverseDnsOptions.SystemResolverTtl"/>),</item>
    /// <item>"no name" (NXDOMAIN, no PTR record) for the SOA's negative TTL, else <see cref="ReverseDnsOptions.NegativeTtl"/>,</item>
    /// <item>both clamped to <see cref="ReverseDnsOptions.MinimumTtl"/>..<see cref="ReverseDnsOptions.MaximumTtl"/>;</item>
    /// <item>a failure (timeout, SERVFAIL, REFUSED, network error) for <see cref="ReverseDnsOptions.FailureRetry"/>.</item>
    /// </list>
    /// An expired entry is not served; the next call asks again. The cache holds at most
    /// <see cref="ReverseDnsOptions.MaxCacheEntries"/> addresses: when full, expired entries are dropped, then the
    /// oldest-stored finished entries until a tenth of the room is free; lookups under way are never evicted.
    /// Names are sanitised (see <see cref="HostNameSanitizer"/>): only <c>A-Z a-z 0-9 - _ . \</c> come out.
    /// Thread-safe.
    /// </summary>
    public sealed class ReverseDnsResolver : IDisposable
    {
        private static readonly Stopwatch Clock = Stopwatch.StartNew();

        private readonly ReverseDnsOptions _options;
        private readonly IPtrSource _source;
        private readonly Func<TimeSpan> _now;
        private readonly object _gate = new object();
        private readonly Dictionary<IPAddress, Entry> _cache = new Dictionary<IPAddress, Entry>();
        private readonly Queue<Entry> _queue = new Queue<Entry>();
        // Not disposed: lookups still finishing hold its token, and it owns no timer or wait handle.
        private readonly CancellationTokenSource _disposing = new CancellationTokenSource();
        private bool _disposed;
        private int _inFlight;
        private long _queriesSent, _cacheHits, _negativeHits, _failures, _evictions, _notStarted;

        /// <summary>A resolver with its own copy of <paramref name="options"/> (later changes to them have no effect).</summary>
        /// <exception cref="ArgumentException">A setting is out of range.</exception>
        public ReverseDnsResolver(ReverseDnsOptions options) : this(options, () => Clock.Elapsed)
        {
        }

        /// <summary>As the public constructor, with the clock cache lifetimes are measured on (tests move it by hand).</summary>
        internal ReverseDnsResolver(ReverseDnsOptions options, Func<TimeSpan> clock)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            _now = clock ?? throw new ArgumentNullException(nameof(clock));
            options.Validate();
            _options = options.Clone();
            _source = _options.Servers.Count > 0
                ? new DnsClientPtrSource(_options.Servers, _options.QueryTimeout)
                : (IPtrSource)new SystemPtrSource(_options.QueryTimeout);
        }

        /// <summary>The options this resolver runs with (a copy; compare with a new configuration's options to see whether they changed).</summary>
        public ReverseDnsOptions Options => _options.Clone();

        /// <summary>
        /// Names for <paramref name="addresses"/>, keyed by the caller's address objects. Starts lookups for addresses
        /// not cached, waits at most <paramref name="deadline"/> in total for them (not at all when every address is
        /// cached or the deadline is zero; <see cref="Timeout.InfiniteTimeSpan"/> waits for all), then returns what is
        /// known: addresses without a name yet, or without any name, are absent. Lookups not done by the deadline go on
        /// in the background and their names come back from a later call. IPv4-mapped IPv6 addresses are looked up as
        /// IPv4. DNS trouble never throws.
        /// </summary>
        /// <exception cref="OperationCanceledException"><paramref name="cancel"/> was cancelled (lookups already started go on).</exception>
        /// <exception cref="ObjectDisposedException">The resolver was disposed.</exception>
        public IReadOnlyDictionary<IPAddress, string> Resolve(IReadOnlyCollection<IPAddress> addresses, TimeSpan deadline, CancellationToken cancel = default)
        {
            if (addresses == null) throw new ArgumentNullException(nameof(addresses));
            cancel.ThrowIfCancellationRequested();

            // Names known when the call begins are taken at once (a later eviction in this same call cannot lose
            // them); names still being looked up are read from their entries after the wait.
            var names = new Dictionary<IPAddress, string>();
            List<KeyValuePair<IPAddress, Entry>> awaited = null;
            List<Task> lookups = null;
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(ReverseDnsResolver));
                var now = _now();
                foreach (var address in addresses)
                {
                    if (address == null) continue;
                    var key = Normalize(address);
                    if (_cache.TryGetValue(key, out var entry) && entry.IsFinished && entry.Expires <= now)
                    {
                        _cache.Remove(key);
                        entry = null;
                    }
                    if (entry == null)
                    {
                        entry = Enqueue(key, now);
                        if (entry == null) continue;
                    }
                    else if (entry.IsFinished)
                    {
                        if (entry.State == EntryState.Named)
                        {
                            _cacheHits++;
                            names[address] = entry.Name;
                        }
                        else
                        {
                            _negativeHits++;
                        }
                        continue;
                    }
                    (awaited ?? (awaited = new List<KeyValuePair<IPAddress, Entry>>())).Add(new KeyValuePair<IPAddress, Entry>(address, entry));
                    (lookups ?? (lookups = new List<Task>())).Add(entry.Done.Task);
                }
                StartQueued();
            }
            if (awaited == null) return names;

            int waitMs = WaitMilliseconds(deadline);
            if (waitMs != 0) Task.WhenAll(lookups).Wait(waitMs, cancel);

            lock (_gate)
                foreach (var pair in awaited)
                    if (pair.Value.State == EntryState.Named) names[pair.Key] = pair.Value.Name;
            return names;
        }

        /// <summary>The counters as of now.</summary>
        public ReverseDnsStatistics Statistics
        {
            get
            {
                lock (_gate)
                    return new ReverseDnsStatistics(_queriesSent, _cacheHits, _negativeHits, _failures, _evictions, _notStarted,
                        _inFlight, _queue.Count, _cache.Count);
            }
        }

        /// <summary>Cancels lookups under way, drops the cache and wakes any caller still waiting in <see cref="Resolve"/>.</summary>
        public void Dispose()
        {
            List<TaskCompletionSource<bool>> waiting;
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                waiting = _cache.Values.Where(e => e.Done != null).Select(e => e.Done).ToList();
                _cache.Clear();
                _queue.Clear();
            }
            _disposing.Cancel();
            foreach (var done in waiting) done.TrySetResult(false);
        }

        /// <summary>The address a PTR query is made for: IPv4-mapped IPv6 as IPv4, IPv6 without its scope id.</summary>
        internal static IPAddress Normalize(IPAddress address)
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
                if (address.ScopeId != 0) return new IPAddress(address.GetAddressBytes());
            }
            return address;
        }

        private static int WaitMilliseconds(TimeSpan deadline)
        {
            if (deadline == Timeout.InfiniteTimeSpan) return Timeout.Infinite;
            if (deadline <= TimeSpan.Zero) return 0;
            return (int)Math.Min(int.MaxValue, Math.Ceiling(deadline.TotalMilliseconds));
        }

        // Caller holds _gate. Null when the cache is full of lookups under way.
        private Entry Enqueue(IPAddress key, TimeSpan now)
        {
            if (_cache.Count >= _options.MaxCacheEntries) MakeRoom(now);
            if (_cache.Count >= _options.MaxCacheEntries)
            {
                _notStarted++;
                return null;
            }
            var entry = new Entry(key);
            _cache[key] = entry;
            _queue.Enqueue(entry);
            return entry;
        }

        // Caller holds _gate. Expired entries first; then the oldest-stored finished entries, down to 90 % of capacity
        // so that a full cache is not swept again on every new address.
        private void MakeRoom(TimeSpan now)
        {
            foreach (var expired in _cache.Values.Where(e => e.IsFinished && e.Expires <= now).ToList())
                _cache.Remove(expired.Address);
            int target = _options.MaxCacheEntries - Math.Max(1, _options.MaxCacheEntries / 10);
            if (_cache.Count <= target) return;
            foreach (var old in _cache.Values.Where(e => e.IsFinished).OrderBy(e => e.StoredAt).Take(_cache.Count - target).ToList())
            {
                _cache.Remove(old.Address);
                _evictions++;
            }
        }

        // Caller holds _gate.
        private void StartQueued()
        {
            while (_inFlight < _options.MaxConcurrent && _queue.Count > 0)
            {
                var entry = _queue.Dequeue();
                entry.State = EntryState.InFlight;
                _inFlight++;
                _queriesSent++;
                var token = _disposing.Token;
                Task.Run(() => LookupAsync(entry, token));
            }
        }

        private async Task LookupAsync(Entry entry, CancellationToken token)
        {
            PtrOutcome outcome;
            try
            {
                outcome = await _source.LookupAsync(entry.Address, token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Cancelled by Dispose, or anything a source let through: never surfaces to callers.
                outcome = PtrOutcome.Failed();
            }

            TaskCompletionSource<bool> done;
            lock (_gate)
            {
                _inFlight--;
                done = entry.Done;
                entry.Done = null;
                if (!_disposed)
                {
                    Store(entry, outcome, _now());
                    StartQueued();
                }
            }
            done?.TrySetResult(true);
        }

        // Caller holds _gate.
        private void Store(Entry entry, PtrOutcome outcome, TimeSpan now)
        {
            entry.StoredAt = now;
            switch (outcome.Kind)
            {
                case PtrOutcomeKind.Name:
                    entry.State = EntryState.Named;
                    entry.Name = outcome.Name;
                    entry.Expires = now + Clamp(outcome.Ttl ?? _options.SystemResolverTtl);
                    break;
                case PtrOutcomeKind.NoName:
                    entry.State = EntryState.NoName;
                    entry.Expires = now + Clamp(outcome.Ttl ?? _options.NegativeTtl);
                    break;
                default:
                    entry.State = EntryState.Failed;
                    entry.Expires = now + _options.FailureRetry;
                    _failures++;
                    break;
            }
        }

        private TimeSpan Clamp(TimeSpan ttl) =>
            ttl < _options.MinimumTtl ? _options.MinimumTtl : ttl > _options.MaximumTtl ? _options.MaximumTtl : ttl;

        private enum EntryState { Queued, InFlight, Named, NoName, Failed }

        private sealed class Entry
        {
            public Entry(IPAddress address)
            {
                Address = address;
                State = EntryState.Queued;
                Done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            public IPAddress Address { get; }
            public EntryState State { get; set; }
            public string Name { get; set; }
            public TimeSpan StoredAt { get; set; }
            public TimeSpan Expires { get; set; }
            /// <summary>Completed when the lookup ends; null once it has.</summary>
            public TaskCompletionSource<bool> Done { get; set; }
            public bool IsFinished => State == EntryState.Named || State == EntryState.NoName || State == EntryState.Failed;
        }
    }
}
