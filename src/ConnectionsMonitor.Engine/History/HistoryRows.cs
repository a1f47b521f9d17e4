using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Engine.History
{
    /// <summary>What a history row describes (Get-ConnectionHistory's -Kind).</summary>
    public enum HistoryKind
    {
        /// <summary>The whole machine at one time: connection counts and bytes moved.</summary>
        Totals,
        /// <summary>One process name over a period: connections and bytes moved.</summary>
        Process,
        /// <summary>One connection's life: opened, closed, its ends, owner, place and bytes.</summary>
        Connection,
        /// <summary>An alert a rule raised while the session recorded: one row per item it was about.</summary>
        Alert,
    }

    /// <summary>
    /// One row of the totals table: the machine as one sample saw it (resolution 0) or a roll-up of samples.
    /// Counts are connections (TCP rows of every state, UDP sockets); bytes are payload bytes moved during the
    /// period (kernel tcp_info / ETW counters, summed over connections; null when no connection had counters).
    /// </summary>
    public sealed class TotalsRow
    {
        /// <summary>Start of the period (UTC). For a raw sample: when its table read ended.</summary>
        public DateTime TimeUtc { get; set; }
        /// <summary>Length of the period the row covers; the sample interval for raw rows.</summary>
        public TimeSpan Period { get; set; }
        /// <summary>Samples summed into the row (1 for a raw row).</summary>
        public int Samples { get; set; }
        /// <summary>TCP connections (all states, listeners included); the average over the period for a roll-up.</summary>
        public double Tcp { get; set; }
        /// <summary>UDP sockets; the average over the period for a roll-up.</summary>
        public double Udp { get; set; }
        /// <summary>TCP connections in Established; the average over the period for a roll-up.</summary>
        public double Established { get; set; }
        /// <summary>TCP listeners; the average over the period for a roll-up.</summary>
        public double Listening { get; set; }
        /// <summary>Most connections (TCP + UDP) in one sample of the period.</summary>
        public int MaxConnections { get; set; }
        /// <summary>Payload bytes sent during the period, or null when unknown.</summary>
        public long? BytesSent { get; set; }
        /// <summary>Payload bytes received during the period, or null when unknown.</summary>
        public long? BytesReceived { get; set; }
    }

    /// <summary>
    /// One process name over one period (a minute when recorded, rolled up to hours after the raw retention):
    /// how many connections it held and the payload bytes its connections moved.
    /// </summary>
    public sealed class ProcessRow
    {
        /// <summary>Start of the period (UTC).</summary>
        public DateTime TimeUtc { get; set; }
        /// <summary>Length of the period.</summary>
        public TimeSpan Period { get; set; }
        /// <summary>The process name (executable name without extension), or null for connections with no known owner.</summary>
        public string ProcessName { get; set; }
        /// <summary>
        /// Samples in the period in which the process held at least one connection; 0 when its connections all opened
        /// and closed between samples (the row then carries their bytes only).
        /// </summary>
        public int Samples { get; set; }
        /// <summary>Average connections per sample over those samples (0 when <see cref="Samples"/> is 0).</summary>
        public double Connections { get; set; }
        /// <summary>Most connections in one sample.</summary>
        public int MaxConnections { get; set; }
        /// <summary>Payload bytes sent during the period, or null when unknown.</summary>
        public long? BytesSent { get; set; }
        /// <summary>Payload bytes received during the period, or null when unknown.</summary>
        public long? BytesReceived { get; set; }
    }

    /// <summary>
    /// One connection's life as the recorder saw it: from the sample it first appeared in to the sample it was gone
    /// from. Bytes are the connection's counters when last seen (payload bytes since it opened; null when unknown): at
    /// close, the OS's final counters where it reports closings (Linux sock_diag destroy events, Windows ETW). A
    /// connection that opened and closed between two samples is recorded from the OS's closing report: opened and
    /// closed at that next sample, with its final bytes (its owner is often unknown: no table read attributed it).
    /// Lives older than the raw retention are kept as hourly roll-ups (<see cref="Lives"/> &gt; 1 possible).
    /// </summary>
    public sealed class ConnectionRow
    {
        /// <summary>When it opened (UTC): the OS's creation time where there is one (Windows), else the sample that first had it.</summary>
        public DateTime OpenedUtc { get; set; }
        /// <summary>True when it was already open when the recording started and the OS gives no creation time: <see cref="OpenedUtc"/> is then the recording's start, a lower bound.</summary>
        public bool OpenedBeforeRecording { get; set; }
        /// <summary>
        /// The first sample that no longer had it (UTC); null while it is open. For connections still open when a
        /// recorder stopped, the time of that recorder's last sample (ClosedByRecorderStop true).
        /// </summary>
        public DateTime? ClosedUtc { get; set; }
        /// <summary>True when <see cref="ClosedUtc"/> is the end of the recording, not the connection's.</summary>
        public bool ClosedByRecorderStop { get; set; }
        /// <summary>"TCP" or "UDP".</summary>
        public string Protocol { get; set; }
        /// <summary>This host's address.</summary>
        public string LocalAddress { get; set; }
        /// <summary>This host's port; null in a roll-up of connections this host made (the peer's port is the service).</summary>
        public int? LocalPort { get; set; }
        /// <summary>The peer's address, null for listeners and unconnected UDP sockets.</summary>
        public string RemoteAddress { get; set; }
        /// <summary>The peer's port, null where there is no peer, and in a roll-up of connections to this host's service port.</summary>
        public int? RemotePort { get; set; }
        /// <summary>
        /// Connection lives this row stands for: 1 for one connection; more in an hourly roll-up of lives older than the
        /// raw retention (same process, protocol, addresses and service port — the lower of the two ports — within one
        /// hour; Opened is then the hour, Closed the last close, bytes the sums, State and ProcessId null).
        /// </summary>
        public int Lives { get; set; } = 1;
        /// <summary>The TCP state when last written (Listen, Established, TimeWait …; updated once a minute and at close); null for UDP.</summary>
        public string State { get; set; }
        /// <summary>Owning process id, null when unknown.</summary>
        public int? ProcessId { get; set; }
        /// <summary>Owning process name, null when unknown.</summary>
        public string ProcessName { get; set; }
        /// <summary>ISO 3166-1 alpha-2 country of the remote address (GeoIP), null when unknown or not public.</summary>
        public string Country { get; set; }
        /// <summary>Autonomous system number of the remote address, null when unknown.</summary>
        public long? Asn { get; set; }
        /// <summary>The AS's organisation, null when unknown.</summary>
        public string AsnOrganization { get; set; }
        /// <summary>Payload bytes sent over the connection's life (its kernel counter, bytes before the recording included) when last written — once a minute and at close; null when unknown.</summary>
        public long? BytesSent { get; set; }
        /// <summary>Payload bytes received when last seen, null when unknown.</summary>
        public long? BytesReceived { get; set; }
    }

    /// <summary>
    /// One alert that a rule of the recording session raised (Firing, Repeating or Resolved; Test messages are not
    /// recorded), one row per item it was about — a connection, a listener or a scanning address — so that a row names
    /// one process and one remote end; an alert about no item (a machine-wide level) gives one row with null item
    /// fields. Rows of one alert share <see cref="AlertId"/>. Text is kept as the alert had it (untrusted outside
    /// text: every output cleans it). Source: <see cref="Alerts.AlertMonitor.Raised"/>.
    /// </summary>
    public sealed class AlertRow
    {
        /// <summary>Time (UTC) of the sample that showed it.</summary>
        public DateTime TimeUtc { get; set; }
        /// <summary>The alert's id (the webhook payload's "id"), shared by its rows.</summary>
        public Guid AlertId { get; set; }
        /// <summary>The rule's name.</summary>
        public string RuleName { get; set; }
        /// <summary>The condition's kind (AlertKind's name: NewListeningPort, PortScan …).</summary>
        public string AlertKind { get; set; }
        /// <summary>Firing, Repeating or Resolved.</summary>
        public string Status { get; set; }
        /// <summary>The alert's one line of plain text.</summary>
        public string Summary { get; set; }
        /// <summary>For levels per process: whose level; for scans: the scanning address; else null.</summary>
        public string Subject { get; set; }
        /// <summary>For levels: the measured value (connections, or bytes per second); else null.</summary>
        public double? Value { get; set; }
        /// <summary>For levels: the threshold; else null.</summary>
        public double? Threshold { get; set; }
        /// <summary>"TCP" or "UDP"; null when the alert is about no connection.</summary>
        public string Protocol { get; set; }
        /// <summary>This host's address, null when unknown.</summary>
        public string LocalAddress { get; set; }
        /// <summary>This host's port, null when unknown.</summary>
        public int? LocalPort { get; set; }
        /// <summary>The peer's address, null where there is no peer.</summary>
        public string RemoteAddress { get; set; }
        /// <summary>The peer's port, null where there is no peer.</summary>
        public int? RemotePort { get; set; }
        /// <summary>The TCP state when the alert was raised, null for UDP or no connection.</summary>
        public string State { get; set; }
        /// <summary>Owning process id, null when unknown.</summary>
        public int? ProcessId { get; set; }
        /// <summary>Owning process name, null when unknown.</summary>
        public string ProcessName { get; set; }
        /// <summary>ISO 3166-1 alpha-2 country of the remote address, null when unknown.</summary>
        public string Country { get; set; }
        /// <summary>Autonomous system number of the remote address, null when unknown.</summary>
        public long? Asn { get; set; }
        /// <summary>Extra words about the item ("ports 22,80,443"), null when none.</summary>
        public string Detail { get; set; }

        /// <summary>The rows of one alert: one per item, or one with null item fields when it names none.</summary>
        public static IReadOnlyList<AlertRow> From(Alerts.AlertEvent alert)
        {
            if (alert == null) throw new ArgumentNullException(nameof(alert));
            var rows = new List<AlertRow>();
            foreach (var item in alert.Items.Count > 0 ? alert.Items : new Alerts.AlertItem[] { null })
                rows.Add(new AlertRow
                {
                    TimeUtc = alert.TimeUtc, AlertId = alert.Id, RuleName = alert.RuleName, AlertKind = alert.Kind.ToString(),
                    Status = alert.Status.ToString(), Summary = alert.Summary, Subject = alert.Subject, Value = alert.Value, Threshold = alert.Threshold,
                    Protocol = item?.Protocol?.ToString().ToUpperInvariant(), LocalAddress = item?.LocalAddress, LocalPort = item?.LocalPort,
                    RemoteAddress = item?.RemoteAddress, RemotePort = item?.RemotePort, State = item?.State?.ToString(),
                    ProcessId = item?.ProcessId, ProcessName = item?.ProcessName, Country = item?.Country, Asn = item?.Asn, Detail = item?.Detail,
                });
            return rows;
        }
    }

    /// <summary>
    /// A question to the history: a time range, a kind and filters. Null members do not filter. Times are UTC.
    /// </summary>
    public sealed class HistoryQuery
    {
        /// <summary>Rows at or after this time, and a minute's or hour's roll-up row that covers it (a connection: still open at or after it).</summary>
        public DateTime? SinceUtc { get; set; }
        /// <summary>Rows before this time (a connection: opened before it).</summary>
        public DateTime? UntilUtc { get; set; }
        /// <summary>Which table.</summary>
        public HistoryKind Kind { get; set; } = HistoryKind.Totals;
        /// <summary>Totals and process rows summed into periods of this length (at least one minute for processes); null as stored.</summary>
        public TimeSpan? Interval { get; set; }
        /// <summary>Process names, with * and ? wildcards, case-insensitive (Process, Connection and Alert kinds).</summary>
        public IReadOnlyList<string> ProcessNames { get; set; }
        /// <summary>Remote addresses or networks (Connection and Alert kinds).</summary>
        public IReadOnlyList<AddressPattern> RemoteAddresses { get; set; }
        /// <summary>ISO 3166-1 alpha-2 codes of the remote address (Connection and Alert kinds).</summary>
        public IReadOnlyList<string> Countries { get; set; }
        /// <summary>"TCP" and/or "UDP", case-insensitive (Connection and Alert kinds).</summary>
        public IReadOnlyList<string> Protocols { get; set; }
        /// <summary>Owning process ids (Connection and Alert kinds; hourly roll-ups have none and never match).</summary>
        public IReadOnlyList<int> ProcessIds { get; set; }
        /// <summary>Ports at either end (Connection and Alert kinds).</summary>
        public IReadOnlyList<int> Ports { get; set; }
        /// <summary>This host's ports (Connection and Alert kinds).</summary>
        public IReadOnlyList<int> LocalPorts { get; set; }
        /// <summary>The peers' ports (Connection and Alert kinds).</summary>
        public IReadOnlyList<int> RemotePorts { get; set; }
        /// <summary>At most this many rows (the newest when more match); null for all.</summary>
        public int? Limit { get; set; }
        /// <summary>The clock whose midnights and hours <see cref="Interval"/> periods begin at; null for UTC.</summary>
        public TimeZoneInfo TimeZone { get; set; }
    }
}
