using System.Globalization;

namespace ConnectionsMonitor.Engine.Enrichment.Dns
{
    /// <summary>A consistent snapshot of a <see cref="ReverseDnsResolver"/>'s counters (for tests, benchmarks and diagnostics).</summary>
    public sealed class ReverseDnsStatistics
    {
        internal ReverseDnsStatistics(long queriesSent, long cacheHits, long negativeHits, long failures, long evictions,
            long notStarted, int inFlight, int queued, int cachedEntries)
        {
            QueriesSent = queriesSent;
            CacheHits = cacheHits;
            NegativeHits = negativeHits;
            Failures = failures;
            Evictions = evictions;
            NotStarted = notStarted;
            InFlight = inFlight;
            Queued = queued;
            CachedEntries = cachedEntries;
        }

        /// <summary>Lookups started (one per address asked about; DnsClient's moves to a further server are not counted).</summary>
        public long QueriesSent { get; }

        /// <summary>Addresses answered from a cached name.</summary>
        public long CacheHits { get; }

        /// <summary>Addresses answered from a cached "no name" or a cached failure, without asking again.</summary>
        public long NegativeHits { get; }

        /// <summary>Lookups that ended in a timeout, SERVFAIL, REFUSED or network error.</summary>
        public long Failures { get; }

        /// <summary>Cache entries removed to make room (expired ones removed on the way do not count).</summary>
        public long Evictions { get; }

        /// <summary>Addresses not looked up because the cache was full of lookups still under way.</summary>
        public long NotStarted { get; }

        /// <summary>Lookups under way now (never more than MaxConcurrent).</summary>
        public int InFlight { get; }

        /// <summary>Lookups waiting for a free slot now.</summary>
        public int Queued { get; }

        /// <summary>Addresses in the cache now, including lookups under way or queued.</summary>
        public int CachedEntries { get; }

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture,
            "sent {0}, hits {1}, negative hits {2}, failures {3}, evictions {4}, not started {5}, in flight {6}, queued {7}, cached {8}",
            QueriesSent, CacheHits, NegativeHits, Failures, Evictions, NotStarted, InFlight, Queued, CachedEntries);
    }
}
