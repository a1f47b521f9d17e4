using System;

namespace ConnectionsMonitor.Engine.Blocking
{
    /// <summary>
    /// Which connections a block stops, the way stateful firewalls count them: Inbound, those the address opens (new
    /// or already open; answers to connections this machine opened to it still arrive); Outbound, those opened to
    /// it; Both, all traffic with it.
    /// </summary>
    [Flags]
    public enum BlockDirection
    {
        /// <summary>Connections (and other flows) the address starts.</summary>
        Inbound = 1,
        /// <summary>Connections (and other flows) started towards the address.</summary>
        Outbound = 2,
        /// <summary>Both directions (the default).</summary>
        Both = Inbound | Outbound,
    }

    /// <summary>
    /// One block to make: what, which way, why, from when and for how long. Times are UTC; <see cref="Duration"/>
    /// null means the block stays until it is removed. The reason is the caller's text, kept as given
    /// (untrusted: clean it before showing it).
    /// </summary>
    public sealed class BlockRequest
    {
        /// <summary>Describes a block; see the properties.</summary>
        /// <exception cref="ArgumentException">The duration is not a positive whole number of seconds, or the direction is none.</exception>
        public BlockRequest(BlockTarget target, BlockDirection direction, string reason, DateTime createdUtc, TimeSpan? duration)
        {
            Target = target ?? throw new ArgumentNullException(nameof(target));
            if ((direction & BlockDirection.Both) == 0 || (direction & ~BlockDirection.Both) != 0)
                throw new ArgumentException("The direction must be Inbound, Outbound or Both.", nameof(direction));
            if (duration.HasValue && (duration.Value < OneSecond || duration.Value.Ticks % TimeSpan.TicksPerSecond != 0 || duration.Value > Longest))
                throw new ArgumentException("The duration must be a whole number of seconds from 1 second to " + (int)Longest.TotalDays + " days; it was " + duration.Value + ".", nameof(duration));
            Direction = direction;
            Reason = string.IsNullOrEmpty(reason) ? null : reason;
            CreatedUtc = new DateTime(createdUtc.Ticks - createdUtc.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
            Duration = duration;
        }

        /// <summary>The shortest duration (nftables counts element time-outs in whole seconds here).</summary>
        public static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

        /// <summary>The longest duration, 1000 days (nft 1.0.6 refuses an element time-out of 1500 days with "value too large"; 1000 days is kept); longer is "until removed" (no duration).</summary>
        public static readonly TimeSpan Longest = TimeSpan.FromDays(1000);

        /// <summary>The address or CIDR block.</summary>
        public BlockTarget Target { get; }

        /// <summary>Which traffic is stopped.</summary>
        public BlockDirection Direction { get; }

        /// <summary>Why (the caller's words), or null.</summary>
        public string Reason { get; }

        /// <summary>When the block is made, UTC, whole seconds.</summary>
        public DateTime CreatedUtc { get; }

        /// <summary>How long it lasts; null: until removed.</summary>
        public TimeSpan? Duration { get; }

        /// <summary>When it ends (UTC), or null when it has no end.</summary>
        public DateTime? ExpiresUtc => Duration.HasValue ? CreatedUtc + Duration.Value : (DateTime?)null;

        /// <summary>Rounds a duration up to whole seconds (what the firewall can keep); null stays null.</summary>
        public static TimeSpan? WholeSeconds(TimeSpan? duration)
        {
            if (!duration.HasValue) return null;
            long ticks = duration.Value.Ticks;
            long rest = ticks % TimeSpan.TicksPerSecond;
            if (rest == 0 || ticks > TimeSpan.MaxValue.Ticks - TimeSpan.TicksPerSecond) return duration; // too long to round: the range check says so
            return TimeSpan.FromTicks(ticks - rest + (ticks > 0 ? TimeSpan.TicksPerSecond : 0));
        }
    }

    /// <summary>
    /// One block as the firewall holds it now. <see cref="CreatedUtc"/> and <see cref="Reason"/> are what the
    /// module recorded with it (null when the entry was not made by the module, or its record cannot be read);
    /// <see cref="ExpiresUtc"/> is null for a block without an end. Times are UTC.
    /// </summary>
    public sealed class BlockRecord
    {
        /// <summary>Describes a block; see the properties.</summary>
        public BlockRecord(BlockTarget target, BlockDirection direction, string reason, DateTime? createdUtc, DateTime? expiresUtc, string firewall)
        {
            Target = target ?? throw new ArgumentNullException(nameof(target));
            Direction = direction;
            Reason = reason;
            CreatedUtc = createdUtc;
            ExpiresUtc = expiresUtc;
            Firewall = firewall;
        }

        /// <summary>The address or CIDR block.</summary>
        public BlockTarget Target { get; }

        /// <summary>Which traffic is stopped.</summary>
        public BlockDirection Direction { get; }

        /// <summary>Why, as recorded (untrusted text), or null.</summary>
        public string Reason { get; }

        /// <summary>When it was made (UTC), or null when unknown.</summary>
        public DateTime? CreatedUtc { get; }

        /// <summary>When it ends (UTC), or null when it has no end.</summary>
        public DateTime? ExpiresUtc { get; }

        /// <summary>Where it lives: "nftables table inet connectionsmonitor" or "Windows Firewall group ConnectionsMonitor".</summary>
        public string Firewall { get; }

        /// <summary>The time left at <paramref name="nowUtc"/> (never negative), or null for a block without an end.</summary>
        public TimeSpan? Remaining(DateTime nowUtc) => ExpiresUtc.HasValue ? (ExpiresUtc.Value > nowUtc ? ExpiresUtc.Value - nowUtc : TimeSpan.Zero) : (TimeSpan?)null;

        /// <summary>The same block with another direction (used when two firewall entries make one block).</summary>
        internal BlockRecord WithDirection(BlockDirection direction) => new BlockRecord(Target, direction, Reason, CreatedUtc, ExpiresUtc, Firewall);
    }

    /// <summary>Why a failure happened, for the caller to word its advice.</summary>
    public enum BlockFailure
    {
        /// <summary>The firewall tool (nft) is not installed or cannot be started.</summary>
        ToolMissing,
        /// <summary>The firewall refused for lack of privilege (Linux: root or CAP_NET_ADMIN; Windows: Administrator).</summary>
        NotPermitted,
        /// <summary>The firewall tool or API failed for another reason; the message carries its words.</summary>
        FirewallFailed,
        /// <summary>The firewall answered with something this module cannot read.</summary>
        UnreadableAnswer,
        /// <summary>The new block overlaps an existing block of another size (one contains the other).</summary>
        Overlaps,
        /// <summary>The reason does not fit the room the firewall has for it.</summary>
        ReasonTooLong,
        /// <summary>This operating system has no backend.</summary>
        NotSupported,
    }

    /// <summary>A blocking operation failed; <see cref="Failure"/> says why, the message says what happened (no advice naming commands).</summary>
    public sealed class BlockingException : Exception
    {
        /// <summary>A failure with its reason code and message.</summary>
        public BlockingException(BlockFailure failure, string message, Exception inner = null) : base(message, inner)
        {
            Failure = failure;
        }

        /// <summary>Why it failed.</summary>
        public BlockFailure Failure { get; }

        /// <summary>For <see cref="BlockFailure.Overlaps"/>: the existing block in the way; else null.</summary>
        public BlockTarget Existing { get; internal set; }
    }
}
