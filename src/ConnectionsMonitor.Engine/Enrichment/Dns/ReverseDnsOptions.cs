using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Configuration;

namespace ConnectionsMonitor.Engine.Enrichment.Dns
{
    /// <summary>
    /// How a <see cref="ReverseDnsResolver"/> asks for names and how long it keeps answers. Compares by value, so a
    /// caller can tell whether a reloaded configuration needs a new resolver.
    /// </summary>
    public sealed class ReverseDnsOptions : IEquatable<ReverseDnsOptions>
    {
        /// <summary>Servers asked for PTR records, in order; empty or null: the operating system's resolver.</summary>
        public IReadOnlyList<IPEndPoint> Servers { get; set; } = new IPEndPoint[0];

        /// <summary>How long one query may take before it counts as failed (DnsClient's per-attempt timeout).</summary>
        public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>Lookups in flight at once; further addresses queue and start as lookups finish.</summary>
        public int MaxConcurrent { get; set; } = 16;

        /// <summary>How long a failure (timeout, SERVFAIL, REFUSED, network error) is remembered before the address is asked again.</summary>
        public TimeSpan FailureRetry { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>The shortest time an answer is cached, whatever its TTL says (a TTL of 0 would otherwise mean asking on every snapshot).</summary>
        public TimeSpan MinimumTtl { get; set; } = TimeSpan.FromSeconds(5);

        /// <summary>The longest time an answer is cached, whatever its TTL says.</summary>
        public TimeSpan MaximumTtl { get; set; } = TimeSpan.FromDays(1);

        /// <summary>How long "no name" (NXDOMAIN, or no PTR record) is cached when the answer carries no SOA record to say.</summary>
        public TimeSpan NegativeTtl { get; set; } = TimeSpan.FromMinutes(5);

        /// <summary>
        /// How long a name from the system resolver is cached: the operating system does not report a TTL, so this
        /// fixed lifetime stands in for it (still clamped to <see cref="MinimumTtl"/>..<see cref="MaximumTtl"/>).
        /// </summary>
        public TimeSpan SystemResolverTtl { get; set; } = TimeSpan.FromMinutes(5);

        /// <summary>
        /// The most addresses the cache holds (answers, failures and lookups under way together). When full, expired
        /// entries go first, then the oldest answers; a call that finds it full of lookups under way starts no more.
        /// </summary>
        public int MaxCacheEntries { get; set; } = 10000;

        /// <summary>
        /// Options from the configuration's dns section. SnapshotDeadlineMs is the deadline the caller passes to
        /// <see cref="ReverseDnsResolver.Resolve"/>, and ResolvePrivate decides which addresses the caller asks about;
        /// neither is a resolver option.
        /// </summary>
        public static ReverseDnsOptions From(DnsConfig config)
        {
            if (config == null) throw new ArgumentNullException(nameof(config));
            return new ReverseDnsOptions
            {
                Servers = (config.Servers ?? new IPEndPoint[0]).ToArray(),
                QueryTimeout = TimeSpan.FromMilliseconds(config.TimeoutMs),
                MaxConcurrent = config.MaxConcurrent,
            };
        }

        /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
        public void Validate()
        {
            if (QueryTimeout <= TimeSpan.Zero) throw new ArgumentException("QueryTimeout must be positive.", nameof(QueryTimeout));
            if (MaxConcurrent < 1) throw new ArgumentException("MaxConcurrent must be at least 1.", nameof(MaxConcurrent));
            if (FailureRetry < TimeSpan.Zero) throw new ArgumentException("FailureRetry must not be negative.", nameof(FailureRetry));
            if (MinimumTtl < TimeSpan.Zero) throw new ArgumentException("MinimumTtl must not be negative.", nameof(MinimumTtl));
            if (MaximumTtl < MinimumTtl) throw new ArgumentException("MaximumTtl must not be below MinimumTtl.", nameof(MaximumTtl));
            if (NegativeTtl < TimeSpan.Zero) throw new ArgumentException("NegativeTtl must not be negative.", nameof(NegativeTtl));
            if (SystemResolverTtl < TimeSpan.Zero) throw new ArgumentException("SystemResolverTtl must not be negative.", nameof(SystemResolverTtl));
            if (MaxCacheEntries < 1) throw new ArgumentException("MaxCacheEntries must be at least 1.", nameof(MaxCacheEntries));
            if (Servers != null && Servers.Any(s => s == null)) throw new ArgumentException("Servers must not contain null.", nameof(Servers));
        }

        /// <summary>A copy, so a resolver is not affected by later changes to the options it was given.</summary>
        public ReverseDnsOptions Clone()
        {
            var copy = (ReverseDnsOptions)MemberwiseClone();
            copy.Servers = (Servers ?? new IPEndPoint[0]).ToArray();
            return copy;
        }

        private IReadOnlyList<IPEndPoint> ServerList => Servers ?? new IPEndPoint[0];

        /// <summary>True when every setting is the same (servers compared in order).</summary>
        public bool Equals(ReverseDnsOptions other)
        {
            if (ReferenceEquals(this, other)) return true;
            if (other is null) return false;
            return QueryTimeout == other.QueryTimeout && MaxConcurrent == other.MaxConcurrent && FailureRetry == other.FailureRetry
                && MinimumTtl == other.MinimumTtl && MaximumTtl == other.MaximumTtl && NegativeTtl == other.NegativeTtl
                && SystemResolverTtl == other.SystemResolverTtl && MaxCacheEntries == other.MaxCacheEntries
                && ServerList.SequenceEqual(other.ServerList);
        }

        /// <inheritdoc />
        public override bool Equals(object obj) => Equals(obj as ReverseDnsOptions);

        /// <inheritdoc />
        public override int GetHashCode()
        {
            unchecked
            {
                int hash = 17;
                hash = hash * 31 + QueryTimeout.GetHashCode();
                hash = hash * 31 + MaxConcurrent;
                hash = hash * 31 + FailureRetry.GetHashCode();
                hash = hash * 31 + MinimumTtl.GetHashCode();
                hash = hash * 31 + MaximumTtl.GetHashCode();
                hash = hash * 31 + NegativeTtl.GetHashCode();
                hash = hash * 31 + SystemResolverTtl.GetHashCode();
                hash = hash * 31 + MaxCacheEntries;
                foreach (var server in ServerList) hash = hash * 31 + (server?.GetHashCode() ?? 0);
                return hash;
            }
        }

        /// <inheritdoc />
        public override string ToString() =>
            "ReverseDnsOptions (" + (ServerList.Count == 0 ? "system resolver" : string.Join(", ", ServerList.Select(s => s.ToString()))) +
            ", timeout " + QueryTimeout.TotalMilliseconds + " ms, " + MaxConcurrent + " at once)";
    }
}
