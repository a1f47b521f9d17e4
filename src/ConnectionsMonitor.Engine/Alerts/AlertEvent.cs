using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Alerts
{
    /// <summary>Where an alert is in its life.</summary>
    public enum AlertStatus
    {
        /// <summary>The condition started (or, for per-connection kinds, happened).</summary>
        Firing,
        /// <summary>A level condition is still on after the rule's repeat interval.</summary>
        Repeating,
        /// <summary>A level condition ended, or a VPN connection went away.</summary>
        Resolved,
        /// <summary>Test-ConnectionAlert's clearly marked test message.</summary>
        Test,
    }

    /// <summary>
    /// One thing an alert is about: a connection, a listener or a scan's remote address, copied out of the
    /// sample (no live references). Text fields hold outside text as found; every output cleans and
    /// escapes it for its medium (<see cref="Display.UntrustedText"/>).
    /// </summary>
    public sealed class AlertItem
    {
        /// <summary>TCP or UDP.</summary>
        public TransportProtocol? Protocol { get; set; }
        /// <summary>Canonical local address text.</summary>
        public string LocalAddress { get; set; }
        /// <summary>Local port.</summary>
        public int? LocalPort { get; set; }
        /// <summary>Canonical remote address text.</summary>
        public string RemoteAddress { get; set; }
        /// <summary>Remote port.</summary>
        public int? RemotePort { get; set; }
        /// <summary>TCP state.</summary>
        public TcpState? State { get; set; }
        /// <summary>Owning process id.</summary>
        public int? ProcessId { get; set; }
        /// <summary>Owning process name (untrusted).</summary>
        public string ProcessName { get; set; }
        /// <summary>Owning process path (untrusted).</summary>
        public string ProcessPath { get; set; }
        /// <summary>Remote host name from reverse DNS (untrusted).</summary>
        public string RemoteHostName { get; set; }
        /// <summary>Remote country code.</summary>
        public string Country { get; set; }
        /// <summary>Remote autonomous system number.</summary>
        public long? Asn { get; set; }
        /// <summary>Remote AS organisation (untrusted).</summary>
        public string AsnOrganization { get; set; }
        /// <summary>Extra words about this item ("ports 22,80,443,8080", "12.3 MB/s"); plain text.</summary>
        public string Detail { get; set; }

        /// <summary>The item for a connection record.</summary>
        public static AlertItem From(ConnectionRecord r, string detail = null)
        {
            // A listener (or an unconnected UDP socket) has no remote end: null, not 0.0.0.0:0.
            bool remote = r.RemoteAddress != null && r.RemotePort.GetValueOrDefault() != 0 &&
                          !r.RemoteAddress.Equals(System.Net.IPAddress.Any) && !r.RemoteAddress.Equals(System.Net.IPAddress.IPv6Any);
            return new AlertItem
        {
            Protocol = r.Protocol,
            LocalAddress = r.LocalAddress?.ToString(),
            LocalPort = r.LocalPort,
            RemoteAddress = remote ? r.RemoteAddress.ToString() : null,
            RemotePort = remote ? r.RemotePort : null,
            State = r.State,
            ProcessId = r.ProcessId,
            ProcessName = r.ProcessName,
            ProcessPath = r.ProcessPath,
            RemoteHostName = r.RemoteHostName,
            Country = r.Country,
            Asn = r.Asn,
            AsnOrganization = r.AsnOrganization,
            Detail = detail,
        };
        }
    }

    /// <summary>
    /// One alert: a rule's condition fired, repeated or resolved. Made on the session's alert thread from a
    /// sample; immutable once handed out. <see cref="Summary"/> is one line of plain text (outside text in it
    /// already passed through <see cref="Display.UntrustedText.Clean"/>, not yet escaped for any markup);
    /// <see cref="Items"/> lists what happened — several when a burst was grouped into one alert.
    /// </summary>
    public sealed class AlertEvent
    {
        /// <summary>Makes an alert.</summary>
        public AlertEvent(string ruleName, AlertKind kind, AlertStatus status, DateTime timeUtc, string summary, IReadOnlyList<AlertItem> items)
        {
            Id = Guid.NewGuid();
            RuleName = ruleName;
            Kind = kind;
            Status = status;
            TimeUtc = timeUtc;
            Summary = summary;
            Items = items ?? new AlertItem[0];
        }

        /// <summary>Unique id (the generic schema's "id"; receivers can drop repeats of a retried POST with it).</summary>
        public Guid Id { get; }
        /// <summary>The rule's name.</summary>
        public string RuleName { get; }
        /// <summary>The condition's kind.</summary>
        public AlertKind Kind { get; }
        /// <summary>Firing, Repeating, Resolved or Test.</summary>
        public AlertStatus Status { get; }
        /// <summary>Time (UTC) of the sample that showed it.</summary>
        public DateTime TimeUtc { get; }
        /// <summary>One line of plain text ("New listening port 8080/TCP by nginx (PID 412)").</summary>
        public string Summary { get; }
        /// <summary>What happened, one item per connection, listener or remote address.</summary>
        public IReadOnlyList<AlertItem> Items { get; }
        /// <summary>For levels: the measured value (connections, or bytes per second).</summary>
        public double? Value { get; set; }
        /// <summary>For levels: the threshold.</summary>
        public double? Threshold { get; set; }
        /// <summary>For levels per process: whose level; for scans: the scanning address; else null.</summary>
        public string Subject { get; set; }
        /// <summary>Machine name the alert comes from.</summary>
        public string HostName { get; set; } = Environment.MachineName;
    }

    /// <summary>What happened to the alerts of one rule so far (thread-safe snapshot of counters).</summary>
    public sealed class AlertDeliveryStats
    {
        /// <summary>Messages accepted by a target (2xx), counted per target.</summary>
        public long Delivered { get; set; }
        /// <summary>Messages given up on after the retries, counted per target (each also written to the dead-letter file when the session ends, or at once if it is set).</summary>
        public long Failed { get; set; }
        /// <summary>Messages dropped because the queue was full (oldest first); never silently: counted here and in LastError.</summary>
        public long Dropped { get; set; }
        /// <summary>Messages waiting or being retried now.</summary>
        public long Pending { get; set; }
        /// <summary>The latest failure, with the target redacted ("Discord https://discord.com/…: HTTP 500 after 4 attempts"); null if none.</summary>
        public string LastError { get; set; }
        /// <summary>When a target last accepted a message (UTC).</summary>
        public DateTime? LastDeliveredUtc { get; set; }
    }

    /// <summary>The outcome of sending one message to one target (Test-ConnectionAlert).</summary>
    public sealed class AlertDeliveryResult
    {
        /// <summary>The target, redacted.</summary>
        public string Target { get; set; }
        /// <summary>Accepted (2xx).</summary>
        public bool Delivered { get; set; }
        /// <summary>The last HTTP status, if an answer came.</summary>
        public int? StatusCode { get; set; }
        /// <summary>Attempts made.</summary>
        public int Attempts { get; set; }
        /// <summary>Why it failed (no URL in it); null when delivered.</summary>
        public string Error { get; set; }
    }

    /// <summary>
    /// Sends alerts to webhooks without ever blocking the caller: a bounded queue, per-rule grouping of bursts,
    /// retries with backoff and jitter, 429 honoured, time-outs, a circuit breaker per target, a dead-letter
    /// file for what could not be delivered. Thread-safe.
    /// </summary>
    public interface IAlertDelivery : IDisposable
    {
        /// <summary>
        /// Gets ready to send for <paramref name="rule"/> without sending anything to its targets (builds what each target
        /// needs, so the first alert does not pay for it). Called before the rule is evaluated; the first call in a process
        /// may block for tens of milliseconds (the webhook delivery compiles its HTTP send path with one request to a listener
        /// of its own on 127.0.0.1, closed before this returns), the rest runs in the background.
        /// </summary>
        void Prepare(AlertRule rule);

        /// <summary>Queues <paramref name="alert"/> for each of <paramref name="rule"/>'s targets; returns at once. Alerts of one rule within its GroupWindow go out as one message.</summary>
        void Enqueue(AlertRule rule, AlertEvent alert);

        /// <summary>Sends <paramref name="alert"/> (status Test) to every target of the rule now, with the same retries, and reports each outcome.</summary>
        System.Threading.Tasks.Task<IReadOnlyList<AlertDeliveryResult>> SendNowAsync(AlertRule rule, AlertEvent alert, System.Threading.CancellationToken cancel);

        /// <summary>The counters of a rule's deliveries (zeros for a rule never seen).</summary>
        AlertDeliveryStats StatsFor(string ruleName);

        /// <summary>Forgets a rule: its queued messages are still sent, its counters go.</summary>
        void Forget(string ruleName);

        /// <summary>Waits up to <paramref name="timeout"/> for queued messages to go, then writes what is left to the dead-letter file. Returns how many were written there.</summary>
        int Flush(TimeSpan timeout);
    }
}
