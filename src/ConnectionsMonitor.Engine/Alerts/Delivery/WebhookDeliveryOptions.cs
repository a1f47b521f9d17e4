using System;
using System.IO;
using ConnectionsMonitor.Engine.Enrichment.Geo;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>
    /// How <see cref="WebhookDelivery"/> sends (docs/alert-webhooks.md, "Delivery"). Read once by the constructor;
    /// changing an instance afterwards has no effect on a delivery made from it.
    /// </summary>
    public sealed class WebhookDeliveryOptions
    {
        /// <summary>Time allowed for one HTTP attempt, connect to response headers (10 s). At least 10 ms.</summary>
        public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>Attempts per message, the first included (5). 1 means no retries.</summary>
        public int MaxAttempts { get; set; } = 5;

        /// <summary>Base of the exponential backoff between attempts, with jitter (1 s).</summary>
        public TimeSpan BackoffBase { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>Longest backoff between two attempts (30 s).</summary>
        public TimeSpan BackoffCap { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>
        /// Longest wait a 429's Retry-After (seconds or an HTTP date) or Discord's X-RateLimit-Reset-After is honoured
        /// for (60 s). A longer one counts as a failed attempt and the next attempt follows the backoff instead.
        /// </summary>
        public TimeSpan RetryAfterCap { get; set; } = TimeSpan.FromSeconds(60);

        /// <summary>Failed messages to one target (all of them, none delivered in between) that open its circuit breaker (5). At least 2.</summary>
        public int BreakerFailures { get; set; } = 5;

        /// <summary>The window those failed messages must fall within (15 minutes). At least 0.5 s.</summary>
        public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromMinutes(15);

        /// <summary>How long an open breaker fails messages to its target at once, without a request (60 s); then one message tries. At least 0.5 s.</summary>
        public TimeSpan BreakerDuration { get; set; } = TimeSpan.FromSeconds(60);

        /// <summary>Messages waiting to be sent, all targets together (1000). When full the oldest is dropped and counted as Dropped.</summary>
        public int QueueCapacity { get; set; } = 1000;

        /// <summary>Least time between two requests to one Slack webhook (1 s; Slack allows about one message a second).</summary>
        public TimeSpan SlackInterval { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>
        /// The dead-letter file (JSON lines); null for the default, <see cref="DefaultDeadLetterPath"/>:
        /// %LOCALAPPDATA%\ConnectionsMonitor\alerts-undelivered.jsonl on Windows,
        /// $XDG_DATA_HOME (or ~/.local/share)/ConnectionsMonitor/alerts-undelivered.jsonl elsewhere.
        /// </summary>
        public string DeadLetterPath { get; set; }

        /// <summary>Write undelivered messages to the dead-letter file (true). False: they are only counted.</summary>
        public bool DeadLetterEnabled { get; set; } = true;

        /// <summary>How long Dispose lets queued messages go before writing the rest to the dead-letter file (2 s).</summary>
        public TimeSpan DisposeFlushTimeout { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>Name Discord shows as the sender (null: the name set on the webhook).</summary>
        public string DiscordUserName { get; set; }

        /// <summary>The default dead-letter file (see <see cref="DeadLetterPath"/>).</summary>
        public static string DefaultDeadLetterPath() =>
            Path.Combine(Path.GetDirectoryName(GeoIpPaths.DefaultDataDirectory()), "alerts-undelivered.jsonl");

        internal WebhookDeliveryOptions Validated()
        {
            void Check(bool ok, string name, string rule)
            {
                if (!ok) throw new ArgumentOutOfRangeException(name, name + " " + rule + ".");
            }
            Check(AttemptTimeout >= TimeSpan.FromMilliseconds(10) && AttemptTimeout <= TimeSpan.FromDays(1), nameof(AttemptTimeout), "is 10 ms to 1 day");
            Check(MaxAttempts >= 1 && MaxAttempts <= 100, nameof(MaxAttempts), "is 1 to 100");
            Check(BackoffBase >= TimeSpan.Zero && BackoffBase <= TimeSpan.FromDays(1), nameof(BackoffBase), "is 0 to 1 day");
            Check(BackoffCap >= BackoffBase, nameof(BackoffCap), "is at least BackoffBase");
            Check(RetryAfterCap >= TimeSpan.Zero, nameof(RetryAfterCap), "is not negative");
            Check(BreakerFailures >= 2, nameof(BreakerFailures), "is at least 2");
            Check(BreakerSamplingDuration >= TimeSpan.FromMilliseconds(500) && BreakerSamplingDuration <= TimeSpan.FromDays(1), nameof(BreakerSamplingDuration), "is 0.5 s to 1 day");
            Check(BreakerDuration >= TimeSpan.FromMilliseconds(500) && BreakerDuration <= TimeSpan.FromDays(1), nameof(BreakerDuration), "is 0.5 s to 1 day");
            Check(QueueCapacity >= 1, nameof(QueueCapacity), "is at least 1");
            Check(SlackInterval >= TimeSpan.Zero, nameof(SlackInterval), "is not negative");
            Check(DisposeFlushTimeout >= TimeSpan.Zero, nameof(DisposeFlushTimeout), "is not negative");
            return (WebhookDeliveryOptions)MemberwiseClone();
        }
    }
}
