using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Engine.Alerts
{
    /// <summary>What an alert condition watches for.</summary>
    public enum AlertKind
    {
        /// <summary>A connection of ours to one of the given remote ports (outbound); fires once per connection.</summary>
        RemotePort,
        /// <summary>A connection from elsewhere to one of the given local ports (inbound: the local port has a listener); once per connection.</summary>
        InboundPort,
        /// <summary>A listening socket that was not there before (with its process); empty port list means any port.</summary>
        NewListeningPort,
        /// <summary>A public remote address not seen before in this session.</summary>
        NewPublicAddress,
        /// <summary>A remote country not seen before in this session (countries in the exclude list never fire).</summary>
        NewRemoteCountry,
        /// <summary>A remote autonomous system not seen before in this session (ASNs in the exclude list never fire).</summary>
        NewRemoteAsn,
        /// <summary>A process's first connection to a non-loopback remote address in this session.</summary>
        NewProcessTalkingOut,
        /// <summary>Level: more connections than the threshold (total, or per process).</summary>
        MaxConnections,
        /// <summary>Level: more bytes per second than the threshold (sent + received; total, or per process), from real counters.</summary>
        MaxBandwidth,
        /// <summary>A VPN connection appeared (Firing) or went away (Resolved).</summary>
        VpnChange,
        /// <summary>One remote address tried at least N distinct local ports within the window (inbound attempts only).</summary>
        PortScan,
    }

    /// <summary>
    /// One condition of a rule. Which fields count depends on <see cref="Kind"/>: <see cref="Ports"/> for
    /// RemotePort, InboundPort and NewListeningPort; <see cref="Exclude"/> for NewRemoteCountry (ISO 3166
    /// two-letter codes, upper case) and NewRemoteAsn (numbers as text, e.g. "15169");
    /// <see cref="Threshold"/> for MaxConnections (connections) and MaxBandwidth (bytes per second);
    /// <see cref="PerProcess"/> for the two levels; <see cref="ScanPorts"/> and <see cref="ScanWindow"/> for PortScan.
    /// </summary>
    public sealed class AlertCondition
    {
        /// <summary>Default distinct local ports from one remote address that make a port scan.</summary>
        public const int DefaultScanPorts = 6;

        /// <summary>Default sliding window of the port-scan count.</summary>
        public static readonly TimeSpan DefaultScanWindow = TimeSpan.FromSeconds(10);

        /// <summary>A condition of <paramref name="kind"/> with no parameters set.</summary>
        public AlertCondition(AlertKind kind) { Kind = kind; }

        /// <summary>What it watches for.</summary>
        public AlertKind Kind { get; }

        /// <summary>Ports (1–65535) for RemotePort, InboundPort, NewListeningPort; empty means any (NewListeningPort only).</summary>
        public IReadOnlyList<int> Ports { get; set; } = new int[0];

        /// <summary>Countries or ASNs that never fire (NewRemoteCountry, NewRemoteAsn).</summary>
        public IReadOnlyList<string> Exclude { get; set; } = new string[0];

        /// <summary>The level's threshold: connections (MaxConnections) or bytes per second (MaxBandwidth). Fires when exceeded.</summary>
        public long? Threshold { get; set; }

        /// <summary>Levels per process (each process above the threshold is its own condition) instead of the total.</summary>
        public bool PerProcess { get; set; }

        /// <summary>Distinct local ports that make a port scan.</summary>
        public int ScanPorts { get; set; } = DefaultScanPorts;

        /// <summary>The window the distinct ports must fall within.</summary>
        public TimeSpan ScanWindow { get; set; } = DefaultScanWindow;

        /// <summary>True for the level kinds (MaxConnections, MaxBandwidth): they fire when they start, repeat, and resolve.</summary>
        public bool IsLevel => Kind == AlertKind.MaxConnections || Kind == AlertKind.MaxBandwidth;

        /// <summary>"RemotePort 3389,23", "MaxBandwidth 10485760 B/s per process" …: the condition in one line, for tables.</summary>
        public override string ToString()
        {
            switch (Kind)
            {
                case AlertKind.RemotePort:
                case AlertKind.InboundPort:
                case AlertKind.NewListeningPort:
                    return Ports.Count == 0 ? Kind.ToString() : Kind + " " + string.Join(",", Ports);
                case AlertKind.NewRemoteCountry:
                case AlertKind.NewRemoteAsn:
                    return Exclude.Count == 0 ? Kind.ToString() : Kind + " except " + string.Join(",", Exclude);
                case AlertKind.MaxConnections:
                    return Kind + " " + Threshold + (PerProcess ? " per process" : "");
                case AlertKind.MaxBandwidth:
                    return Kind + " " + Threshold + " B/s" + (PerProcess ? " per process" : "");
                case AlertKind.PortScan:
                    return Kind + " " + ScanPorts + " ports/" + ScanWindow.TotalSeconds + "s";
                default:
                    return Kind.ToString();
            }
        }
    }

    /// <summary>Where a rule's messages go when they leave the machine.</summary>
    public enum AlertTargetKind
    {
        /// <summary>Discord webhook: JSON { content ≤ 2000 characters, allowed_mentions { parse: [] } }.</summary>
        Discord,
        /// <summary>Slack incoming webhook: JSON { text } with &amp; &lt; &gt; escaped; about one message a second.</summary>
        Slack,
        /// <summary>Microsoft Teams Workflows webhook: an Adaptive Card in a message attachment. The URL's query carries a signature (a secret).</summary>
        Teams,
        /// <summary>Any endpoint that takes a JSON POST: the module's versioned alert schema (README, "Generic webhook schema").</summary>
        Generic,
    }

    /// <summary>
    /// One webhook. The URL is a secret (Discord and Slack put a token in the path, Teams a signature in
    /// the query): it is used only to send, and everything shown — <see cref="Redacted"/>, ToString, errors —
    /// carries no more than the scheme and host.
    /// </summary>
    public sealed class AlertTarget
    {
        /// <summary>A target at <paramref name="url"/> (absolute http or https); <paramref name="kind"/> null detects it from the URL.</summary>
        /// <exception cref="ArgumentException">The URL is not an absolute http or https URL, or it carries a user name or password (see <see cref="CredentialsRefusal"/>); the message does not repeat it.</exception>
        public AlertTarget(Uri url, AlertTargetKind? kind = null)
        {
            if (url == null) throw new ArgumentNullException(nameof(url));
            if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                throw new ArgumentException("A webhook must be an absolute http:// or https:// URL.", nameof(url));
            string refusal = CredentialsRefusal(url);
            if (refusal != null) throw new ArgumentException(refusal, nameof(url));
            Url = url;
            Kind = kind ?? Detect(url);
        }

        /// <summary>
        /// Why credentials in a webhook URL are refused, and what to use instead: the words both the rule's registration and
        /// config.yml's alerts.webhooks say (no URL in them).
        /// </summary>
        public const string CredentialsNotSent = "credentials in the URL (user:password@host) are not sent with the message, " +
            "so a receiver that asks for them would get unauthenticated posts; put the secret in the URL's path or query instead, as Slack, Discord and Teams webhooks do";

        /// <summary>
        /// Why <paramref name="url"/> cannot be a webhook because it carries a user name or password (https://user:password@host/…),
        /// worded for an error and without the URL; null when it carries none.
        /// </summary>
        public static string CredentialsRefusal(Uri url) =>
            url != null && url.IsAbsoluteUri && !string.IsNullOrEmpty(url.UserInfo)
                ? "A webhook URL must not carry a user name or password: " + CredentialsNotSent + ". The value given is not shown: webhook URLs carry secrets."
                : null;

        /// <summary>The webhook URL: a secret; never print it.</summary>
        public Uri Url { get; }

        /// <summary>The payload format.</summary>
        public AlertTargetKind Kind { get; }

        /// <summary>"Discord https://discord.com/…": the kind, scheme and host only.</summary>
        public string Redacted => Kind + " " + Url.Scheme + "://" + Url.Host + (Url.IsDefaultPort ? "" : ":" + Url.Port) + "/…";

        /// <summary>Same as <see cref="Redacted"/>.</summary>
        public override string ToString() => Redacted;

        /// <summary>
        /// The kind a URL's host says: discord.com / discordapp.com (and subdomains) with /api/webhooks/ → Discord;
        /// hooks.slack.com → Slack; *.logic.azure.com, *.powerplatform.com, *.webhook.office.com → Teams; anything else → Generic.
        /// </summary>
        public static AlertTargetKind Detect(Uri url)
        {
            string host = url.Host.ToLowerInvariant();
            bool Is(string domain) => host == domain || host.EndsWith("." + domain, StringComparison.Ordinal);
            if ((Is("discord.com") || Is("discordapp.com")) && url.AbsolutePath.StartsWith("/api/webhooks/", StringComparison.OrdinalIgnoreCase))
                return AlertTargetKind.Discord;
            if (host == "hooks.slack.com") return AlertTargetKind.Slack;
            if (Is("logic.azure.com") || Is("powerplatform.com") || Is("webhook.office.com")) return AlertTargetKind.Teams;
            return AlertTargetKind.Generic;
        }
    }

    /// <summary>
    /// An alert rule: conditions (any of which fires it), a filter on the connections it looks at (the
    /// same <see cref="ConnectionQuery"/> Get-MonitoredConnection takes; every kind but PortScan sees only the
    /// rows it matches, while a port scan counts every inbound attempt whatever it touches), and where its alerts go: webhooks, a
    /// PowerShell event source identifier, a script block (held by the PowerShell layer, flagged by
    /// <see cref="HasAction"/>). Set up before <see cref="AlertMonitor.Register"/>; not changed after.
    /// </summary>
    public sealed class AlertRule
    {
        /// <summary>A rule named <paramref name="name"/> (letters, digits, '-', '_', '.'; 1–64 characters) with at least one condition.</summary>
        /// <exception cref="ArgumentException">The name is empty, too long or has other characters; no conditions; two conditions of one kind.</exception>
        public AlertRule(string name, IEnumerable<AlertCondition> conditions)
        {
            if (!IsValidName(name))
                throw new ArgumentException("An alert rule name is 1 to 64 letters, digits, '-', '_' or '.'.", nameof(name));
            var list = (conditions ?? Enumerable.Empty<AlertCondition>()).Where(c => c != null).ToList();
            if (list.Count == 0) throw new ArgumentException("An alert rule needs at least one condition.", nameof(conditions));
            var twice = list.GroupBy(c => c.Kind).FirstOrDefault(g => g.Count() > 1);
            if (twice != null) throw new ArgumentException("An alert rule has at most one condition of each kind; " + twice.Key + " appears twice.", nameof(conditions));
            Name = name;
            Conditions = list.AsReadOnly();
        }

        /// <summary>True for names a rule may have.</summary>
        public static bool IsValidName(string name) =>
            !string.IsNullOrEmpty(name) && name.Length <= 64 && name.All(c => char.IsLetterOrDigit(c) && c < 128 || c == '-' || c == '_' || c == '.');

        /// <summary>The rule's name, unique in its session (case-insensitive).</summary>
        public string Name { get; }

        /// <summary>Its conditions, at most one per kind.</summary>
        public IReadOnlyList<AlertCondition> Conditions { get; }

        /// <summary>The kinds, comma-separated ("MaxConnections, MaxBandwidth").</summary>
        public string Kind => string.Join(", ", Conditions.Select(c => c.Kind.ToString()));

        /// <summary>Which connections the rule looks at; null for all.</summary>
        public ConnectionQuery Filter { get; set; }

        /// <summary>Webhooks its alerts are POSTed to.</summary>
        public IReadOnlyList<AlertTarget> Targets { get; set; } = new AlertTarget[0];

        /// <summary>PowerShell event source identifier its alerts are raised under; null for none.</summary>
        public string SourceIdentifier { get; set; }

        /// <summary>The PowerShell layer runs a script block for each alert of this rule.</summary>
        public bool HasAction { get; set; }

        /// <summary>How often a level condition that stays on is said again (default 15 minutes; zero: never). The first sample within 5% of it (at most half a sample interval) says it, so sampling jitter never puts a repeat one sample late.</summary>
        public TimeSpan RepeatInterval { get; set; } = TimeSpan.FromMinutes(15);

        /// <summary>The first alert of this rule goes to its webhooks at once; the alerts that follow within this time go together as one message when it ends (default 5 s; zero sends each alone).</summary>
        public TimeSpan GroupWindow { get; set; } = TimeSpan.FromSeconds(5);

        /// <summary>Where the rule came from: "config" for alerts.* in config.yml, null for Register-ConnectionAlert.</summary>
        public string Origin { get; set; }
    }
}
