using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>
    /// The whole of config.yml, typed and validated. A new instance holds the built-in defaults (the
    /// seed's values). Instances are read-only to callers: the loader builds a fresh one per file
    /// version, and the cache hands the same instance to every caller, so nobody may change it.
    /// Durations are milliseconds, as in the seed.
    /// </summary>
    public sealed class MonitorConfig
    {
        /// <summary>ipinfo.io token of the seed; null when not set. The module works offline and does not need it. Secret: never printed.</summary>
        public string IpToken { get; internal set; }
        public bool HasIpToken => !string.IsNullOrEmpty(IpToken);
        public bool ResolveDns { get; internal set; }
        public int RefreshInterval { get; internal set; } = 2000;
        public const int MinimumRefreshInterval = 100;

        /// <summary>Port → colour; overrides the state colour of a row whose local or remote port is listed.</summary>
        public IReadOnlyDictionary<int, ConfigColor> HighlightedPorts { get; internal set; } = ReadOnly(new SortedDictionary<int, ConfigColor>
        {
            [21] = ConfigColor.Parse("#FFFF00"), [22] = ConfigColor.Parse("#FFA500"), [23] = ConfigColor.Parse("#FF0000"),
            [25] = ConfigColor.Parse("#800080"), [53] = ConfigColor.Parse("#00FFFF"), [80] = ConfigColor.Parse("#FFFFFF"),
            [110] = ConfigColor.Parse("#FFFF00"), [135] = ConfigColor.Parse("#00FFFF"), [139] = ConfigColor.Parse("#FFFF00"),
            [143] = ConfigColor.Parse("#800080"), [443] = ConfigColor.Parse("#008000"), [445] = ConfigColor.Parse("#800080"),
            [993] = ConfigColor.Parse("#FFFF00"), [995] = ConfigColor.Parse("#FFFF00"), [3389] = ConfigColor.Parse("#FF0000"),
        });

        public ColorsConfig Colors { get; internal set; } = new ColorsConfig();

        /// <summary>The columns switched on (columns: Name: true). Enumerates in the seed's order.</summary>
        public ColumnSet Columns { get; internal set; } = ColumnSet.AllColumns;

        /// <summary>Width in characters of every column (case-insensitive names); a file that lists only some keeps the defaults for the rest.</summary>
        public IReadOnlyDictionary<string, int> ColumnWidths { get; internal set; } = ColumnWidthTable(new Dictionary<string, int>
        {
            [ColumnNames.Proto] = 5, [ColumnNames.Local] = 22, [ColumnNames.Port] = 6, [ColumnNames.Foreign] = 22, [ColumnNames.State] = 12,
            [ColumnNames.Pid] = 6, [ColumnNames.Process] = 30, [ColumnNames.Geo] = 35, [ColumnNames.Bytes] = 8, [ColumnNames.Rate] = 8, [ColumnNames.Age] = 7,
        });

        public bool TruncateOverflow { get; internal set; } = true;

        /// <summary>
        /// The columns shown, left to right (the seed's meaning: a column missing from columnOrder is
        /// not shown). Canonical names, no duplicates.
        /// </summary>
        public IReadOnlyList<string> ColumnOrder { get; internal set; } = ColumnNames.All;

        /// <summary>What the table shows, left to right: columnOrder, minus the columns switched off in columns.</summary>
        public IReadOnlyList<string> VisibleColumns => ColumnOrder.Where(Columns.Contains).ToList().AsReadOnly();

        public MonitoringConfig Monitoring { get; internal set; } = new MonitoringConfig();
        public AlertsConfig Alerts { get; internal set; } = new AlertsConfig();
        /// <summary>The history recorder's file and retentions (history.*; the overall retention is monitoring.historyRetention).</summary>
        public HistoryConfig History { get; internal set; } = new HistoryConfig();
        public IpFilteringConfig IpFiltering { get; internal set; } = new IpFilteringConfig();
        public ConnectionFilteringConfig ConnectionFiltering { get; internal set; } = new ConnectionFilteringConfig();
        public DashboardConfig Dashboard { get; internal set; } = new DashboardConfig();
        /// <summary>metrics.*: the Prometheus / OpenMetrics endpoint.</summary>
        public MetricsConfig Metrics { get; internal set; } = new MetricsConfig();
        public GeoIpConfig GeoIp { get; internal set; } = new GeoIpConfig();
        public DnsConfig Dns { get; internal set; } = new DnsConfig();
        public VpnConfig Vpn { get; internal set; } = new VpnConfig();

        // Never shows the token.
        public override string ToString() =>
            "MonitorConfig (refreshInterval " + RefreshInterval + " ms, ipToken " + (HasIpToken ? "set" : "not set") + ", " + Alerts.Webhooks.Count + " webhook(s))";

        internal static IReadOnlyList<T> ReadOnly<T>(IEnumerable<T> items) => new ReadOnlyCollection<T>(items.ToList());
        internal static IReadOnlyDictionary<TKey, TValue> ReadOnly<TKey, TValue>(IDictionary<TKey, TValue> map) => new ReadOnlyDictionary<TKey, TValue>(map);
        internal static IReadOnlyDictionary<string, int> ColumnWidthTable(IDictionary<string, int> widths) =>
            new ReadOnlyDictionary<string, int>(new Dictionary<string, int>(widths, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>colors: the state colours of TCP rows and the one colour of UDP rows.</summary>
    public sealed class ColorsConfig
    {
        public TcpColorsConfig Tcp { get; internal set; } = new TcpColorsConfig();
        public ConfigColor Udp { get; internal set; } = ConfigColor.Parse("cyan");

        /// <summary>The colour of a row by protocol and TCP state (before any highlighted-port override).</summary>
        public ConfigColor For(TransportProtocol protocol, TcpState? state)
        {
            if (protocol == TransportProtocol.Udp) return Udp;
            switch (state)
            {
                case TcpState.Listen: return Tcp.Listening;
                case TcpState.Established: return Tcp.Established;
                case TcpState.CloseWait: return Tcp.CloseWait;
                case TcpState.TimeWait: return Tcp.TimeWait;
                default: return Tcp.Other;
            }
        }
    }

    public sealed class TcpColorsConfig
    {
        public ConfigColor Listening { get; internal set; } = ConfigColor.Parse("green");
        public ConfigColor Established { get; internal set; } = ConfigColor.Parse("yellow");
        public ConfigColor CloseWait { get; internal set; } = ConfigColor.Parse("red");
        public ConfigColor TimeWait { get; internal set; } = ConfigColor.Parse("magenta");
        public ConfigColor Other { get; internal set; } = ConfigColor.Parse("white");
    }

    public sealed class MonitoringConfig
    {
        public bool ShowStats { get; internal set; } = true;
        public bool ShowTopTalkers { get; internal set; } = true;
        public int TopTalkersCount { get; internal set; } = 5;
        public bool TrackHistory { get; internal set; } = true;
        /// <summary>How long history samples are kept, in milliseconds (default 7 days).</summary>
        public long HistoryRetention { get; internal set; } = 604800000;
    }

    /// <summary>history.* in config.yml.</summary>
    public sealed class HistoryConfig
    {
        /// <summary>The SQLite history file (history.path); null for history.db in the user's data folder.</summary>
        public string Path { get; internal set; }
        /// <summary>How long totals are kept per sample and processes per minute before roll-up, in ms (history.rawRetention; default 1 day).</summary>
        public long RawRetention { get; internal set; } = 86400000;
        /// <summary>How long connection lives are kept after they close, in ms (history.connectionRetention; default 7 days).</summary>
        public long ConnectionRetention { get; internal set; } = 604800000;
    }

    public sealed class AlertsConfig
    {
        public bool Enabled { get; internal set; }
        public IReadOnlyList<WebhookConfig> Webhooks { get; internal set; } = MonitorConfig.ReadOnly(new WebhookConfig[0]);
        public AlertConditionsConfig Conditions { get; internal set; } = new AlertConditionsConfig();
        /// <summary>How often a level condition (maxConnections, maxBandwidth) that stays on is said again, in ms; 0 never (default 15 minutes).</summary>
        public long RepeatInterval { get; internal set; } = 900000;
        /// <summary>Distinct local ports from one remote address that make a port scan (alerts.portScan.ports, default 6).</summary>
        public int PortScanPorts { get; internal set; } = 6;
        /// <summary>The window those ports must fall within, in ms (alerts.portScan.window, default 10000).</summary>
        public long PortScanWindow { get; internal set; } = 10000;
        /// <summary>Where undelivered webhook messages are written (JSON lines); null for the default in the user's data folder.</summary>
        public string DeadLetterPath { get; internal set; }
        /// <summary>alerts.syslog.*: every alert also goes to syslog as an RFC 5424 message.</summary>
        public SyslogConfig Syslog { get; internal set; } = new SyslogConfig();
        /// <summary>alerts.eventLog.*: every alert also goes to the Windows Event Log (Windows only).</summary>
        public EventLogConfig EventLog { get; internal set; } = new EventLogConfig();
    }

    /// <summary>alerts.eventLog.* in config.yml: the Windows Event Log (Alerts.Delivery.EventLogSender). Read on every OS; written only on Windows.</summary>
    public sealed class EventLogConfig
    {
        /// <summary>The default source (also the Windows service's name).</summary>
        public const string DefaultSource = "ConnectionsMonitor";

        /// <summary>alerts.eventLog.enabled (default false).</summary>
        public bool Enabled { get; internal set; }
        /// <summary>alerts.eventLog.source: the event source the records carry (default ConnectionsMonitor): 1 to 128 letters, digits, spaces, '.', '_' or '-'.</summary>
        public string Source { get; internal set; } = DefaultSource;
        /// <summary>alerts.eventLog.logName: the log the source is registered under (default Application); it must exist.</summary>
        public string LogName { get; internal set; } = "Application";
        /// <summary>alerts.eventLog.connectionEvents: which connection changes are written as records of their own (default none).</summary>
        public Alerts.Delivery.ConnectionEventKinds ConnectionEvents { get; internal set; }
    }

    /// <summary>alerts.syslog.* in config.yml: where alert messages for syslog go (Alerts.Delivery.SyslogSender).</summary>
    public sealed class SyslogConfig
    {
        /// <summary>The RFC 5424 facility names, in code order (kern = 0 … local7 = 23).</summary>
        public static readonly IReadOnlyList<string> FacilityNames = MonitorConfig.ReadOnly(new[]
        {
            "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
            "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        });

        /// <summary>alerts.syslog.enabled (default false).</summary>
        public bool Enabled { get; internal set; }
        /// <summary>alerts.syslog.target as written: unix:///dev/log, udp://host:514 or tcp://host:601.</summary>
        public string Target { get; internal set; } = "unix:///dev/log";
        /// <summary>unix, udp or tcp (lower case).</summary>
        public string Transport { get; internal set; } = "unix";
        /// <summary>The socket path (unix) or host name / address (udp, tcp).</summary>
        public string Host { get; internal set; } = "/dev/log";
        /// <summary>The port (udp, tcp); 0 for unix.</summary>
        public int Port { get; internal set; }
        /// <summary>alerts.syslog.facility: one of <see cref="FacilityNames"/> (default local0).</summary>
        public string Facility { get; internal set; } = "local0";
        /// <summary>The facility's number (local0 = 16).</summary>
        public int FacilityCode => ((IList<string>)FacilityNames).IndexOf(Facility);
        /// <summary>alerts.syslog.appName: RFC 5424 APP-NAME (printable US-ASCII, no spaces, at most 48).</summary>
        public string AppName { get; internal set; } = "connectionsmonitor";
        /// <summary>alerts.syslog.connectionEvents: which connection changes are sent as messages of their own (default none).</summary>
        public Alerts.Delivery.ConnectionEventKinds ConnectionEvents { get; internal set; }
        /// <summary>alerts.syslog.maxMessageSize: the largest datagram in bytes for unix and udp targets, 480 to 65000 (default 2048, RFC 5426); tcp frames are not capped.</summary>
        public int MaxMessageSize { get; internal set; } = 2048;
    }

    /// <summary>One webhook target. The URL often embeds a secret (Discord, Slack), so ToString hides it.</summary>
    public sealed class WebhookConfig
    {
        internal WebhookConfig(Uri url) { Url = url; }
        public Uri Url { get; }
        public override string ToString() => "Webhook (" + Url.Scheme + "://" + Url.Host + "/…)";
    }

    public sealed class AlertConditionsConfig
    {
        public IReadOnlyList<int> SuspiciousPorts { get; internal set; } = MonitorConfig.ReadOnly(new[] { 23, 135, 139, 445, 3389 });
        public bool NewForeignConnections { get; internal set; } = true;
        public long MaxConnections { get; internal set; } = 500;
        /// <summary>Bytes per second across all connections (default 10 MiB/s).</summary>
        public long MaxBandwidth { get; internal set; } = 10485760;
        /// <summary>Port-scan detection (not in the Node tool's keys; default off there, so a seed config behaves as before).</summary>
        public bool PortScan { get; internal set; }
    }

    public sealed class IpFilteringConfig
    {
        public bool Enabled { get; internal set; }
        public IReadOnlyList<AddressPattern> Allowlist { get; internal set; } = MonitorConfig.ReadOnly(new AddressPattern[0]);
        public IReadOnlyList<AddressPattern> Blocklist { get; internal set; } = MonitorConfig.ReadOnly(new AddressPattern[0]);
    }

    public sealed class ConnectionFilteringConfig
    {
        public bool Enabled { get; internal set; }
        public IReadOnlyList<TransportProtocol> Protocols { get; internal set; } = MonitorConfig.ReadOnly(new TransportProtocol[0]);
        public IReadOnlyList<PortRange> Ports { get; internal set; } = MonitorConfig.ReadOnly(new PortRange[0]);
        public IReadOnlyList<Wildcard> Processes { get; internal set; } = MonitorConfig.ReadOnly(new Wildcard[0]);
        /// <summary>ISO 3166 alpha-2 codes, upper case.</summary>
        public IReadOnlyList<string> Countries { get; internal set; } = MonitorConfig.ReadOnly(new string[0]);
    }

    /// <summary>metrics.* in config.yml: the Prometheus / OpenMetrics endpoint (Start-ConnectionMetrics, the service).</summary>
    public sealed class MetricsConfig
    {
        /// <summary>Default port: the one OpenTelemetry's Prometheus exporter uses.</summary>
        public const int DefaultPort = 9464;

        /// <summary>metrics.enabled: the service serves the endpoint (the cmdlet starts it whatever this says).</summary>
        public bool Enabled { get; internal set; }
        /// <summary>metrics.port: TCP port, 1–65535.</summary>
        public int Port { get; internal set; } = DefaultPort;
        /// <summary>metrics.address: the address to listen on; null for loopback (127.0.0.1 and ::1).</summary>
        public System.Net.IPAddress Address { get; internal set; }
        /// <summary>metrics.interval: milliseconds between the endpoint's samples (default 15000, Prometheus's usual scrape interval).</summary>
        public long Interval { get; internal set; } = 15000;
        /// <summary>metrics.topProcesses: process names with series of their own; the rest count as other.</summary>
        public int TopProcesses { get; internal set; } = 10;
        /// <summary>metrics.bearerToken: a secret every request must carry; never printed.</summary>
        public string BearerToken { get; internal set; }
        /// <summary>metrics.bearerTokenFile: a file whose first line is the token (read when the endpoint starts).</summary>
        public string BearerTokenFile { get; internal set; }
    }

    public sealed class DashboardConfig
    {
        /// <summary>dashboard.enabled: the service (cmon --service) serves the dashboard; Start-ConnectionDashboard serves it whatever this says.</summary>
        public bool Enabled { get; internal set; } = false;
        public int Port { get; internal set; } = 3000;
        public ExportConfig Export { get; internal set; } = new ExportConfig();
    }

    /// <summary>dashboard.export.* in config.yml: the formats of exports and the recorder's auto-export (Export.SnapshotExporter).</summary>
    public sealed class ExportConfig
    {
        /// <summary>dashboard.export.enabled: false switches every export off, auto-export included.</summary>
        public bool Enabled { get; internal set; } = true;
        /// <summary>Lower-case, distinct, from 'csv' and 'json'.</summary>
        public IReadOnlyList<string> Formats { get; internal set; } = MonitorConfig.ReadOnly(new[] { "csv", "json" });
        /// <summary>The formats exports may be written in: <see cref="Formats"/>, none when <see cref="Enabled"/> is false.</summary>
        public IReadOnlyList<string> OfferedFormats => Enabled ? Formats : MonitorConfig.ReadOnly(new string[0]);
        /// <summary>dashboard.export.autoExport: a recording also writes a snapshot file per format every <see cref="ExportInterval"/>.</summary>
        public bool AutoExport { get; internal set; }
        /// <summary>dashboard.export.exportInterval, milliseconds (at least <see cref="MinimumExportInterval"/>; default one hour).</summary>
        public long ExportInterval { get; internal set; } = 3600000;
        /// <summary>The smallest exportInterval a file may set, milliseconds.</summary>
        public const long MinimumExportInterval = 1000;
        /// <summary>
        /// As written (dashboard.export.exportPath). The exporter expands environment variables and a leading ~, and
        /// resolves a relative path against the folder of the configuration file that set it (the user's data folder
        /// for the module's own config.yml and the built-in defaults).
        /// </summary>
        public string ExportPath { get; internal set; } = "./exports";
        /// <summary>dashboard.export.keep: how many auto-export files of each format stay (the newest); 0 for no count limit. Default 168 (a week of hourly files).</summary>
        public int Keep { get; internal set; } = 168;
        /// <summary>dashboard.export.maxAge: auto-export files older than this many milliseconds are deleted; 0 for no age limit. Default a week.</summary>
        public long MaxAge { get; internal set; } = 604800000;
    }

    /// <summary>
    /// Where GeoIP databases come from. Explicit file paths win; otherwise country.mmdb, asn.mmdb and
    /// city.mmdb in <see cref="Directory"/> (where Update-ConnectionGeoDatabase saves); otherwise the
    /// DB-IP Lite country and ASN databases shipped with the module.
    /// </summary>
    public sealed class GeoIpConfig
    {
        public bool Enabled { get; internal set; } = true;
        /// <summary>As written (null when not set: the user's data folder); resolved by GeoIpPaths.</summary>
        public string Directory { get; internal set; }
        public string CountryDatabase { get; internal set; }
        public string AsnDatabase { get; internal set; }
        public string CityDatabase { get; internal set; }
        /// <summary>MaxMind licence key for Update-ConnectionGeoDatabase -Source MaxMind; a secret.</summary>
        public string MaxMindLicenseKey { get; internal set; }
        /// <summary>MaxMind account ID (needed with a licence key by MaxMind's current download service).</summary>
        public string MaxMindAccountId { get; internal set; }
    }

    /// <summary>Reverse DNS for remote addresses (resolveDNS / -ResolveDns).</summary>
    public sealed class DnsConfig
    {
        /// <summary>Servers to ask ("1.1.1.1", "[::1]:5353", "127.0.0.1:5353"); empty: the system resolver.</summary>
        public IReadOnlyList<System.Net.IPEndPoint> Servers { get; internal set; } = MonitorConfig.ReadOnly(new System.Net.IPEndPoint[0]);
        /// <summary>How long one query may take before it counts as failed.</summary>
        public int TimeoutMs { get; internal set; } = 2000;
        /// <summary>Queries in flight at once; more addresses wait their turn.</summary>
        public int MaxConcurrent { get; internal set; } = 16;
        /// <summary>The longest a snapshot waits for names; names not known by then come on a later snapshot.</summary>
        public int SnapshotDeadlineMs { get; internal set; } = 300;
        /// <summary>Resolve private, link-local and loopback addresses too (normally only public ones).</summary>
        public bool ResolvePrivate { get; internal set; }
    }

    /// <summary>What marks a connection as going through a VPN, besides VPN network interfaces.</summary>
    public sealed class VpnConfig
    {
        public bool Enabled { get; internal set; } = true;
        /// <summary>Owning processes of VPN clients (wildcards allowed; ".exe" optional).</summary>
        public IReadOnlyList<Filtering.Wildcard> Processes { get; internal set; } = MonitorConfig.ReadOnly(
            new[] { "openvpn", "wireguard", "nordvpn", "expressvpn", "pia", "protonvpn", "tunnelbear", "windscribe" }
                .Select(n => new Filtering.Wildcard(n)).ToArray());
        /// <summary>Well-known VPN ports (OpenVPN 1194, PPTP 1723, IKE 500, NAT-T 4500, WireGuard 51820).</summary>
        public IReadOnlyList<int> Ports { get; internal set; } = MonitorConfig.ReadOnly(new[] { 1194, 1723, 500, 4500, 51820 });
        /// <summary>Extra interface names that count as VPN interfaces (wildcards allowed), e.g. "corp*".</summary>
        public IReadOnlyList<Filtering.Wildcard> Interfaces { get; internal set; } = MonitorConfig.ReadOnly(new Filtering.Wildcard[0]);
    }
}
