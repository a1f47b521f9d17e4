using System;

namespace ConnectionsMonitor
{
    /// <summary>
    /// What Get-ConnectionHistory returns (its -Kind): machine totals, per-process periods or connection lives.
    /// Declared here, not taken from the engine: an enum parameter's backing field makes PowerShell load its type
    /// while it lists the module's cmdlets, before the module's resolver can serve the engine.
    /// </summary>
    public enum ConnectionHistoryKind
    {
        /// <summary>ConnectionHistoryTotals rows.</summary>
        Totals,
        /// <summary>ConnectionHistoryProcess rows.</summary>
        Process,
        /// <summary>ConnectionHistoryConnection rows.</summary>
        Connection,
        /// <summary>ConnectionHistoryAlert rows.</summary>
        Alert,
    }

    /// <summary>
    /// The state of this session's recording (Start-, Stop-, Get-ConnectionRecording). Times are local; flat
    /// primitives only, so it survives Export-Csv, ConvertTo-Json and remoting.
    /// </summary>
    public class ConnectionRecording
    {
        /// <summary>The SQLite history file.</summary>
        public string Path { get; set; }
        /// <summary>The sampling interval, in seconds.</summary>
        public double IntervalSeconds { get; set; }
        /// <summary>When the recording started (local time).</summary>
        public DateTime Started { get; set; }
        /// <summary>Samples committed to the file.</summary>
        public long SamplesWritten { get; set; }
        /// <summary>Samples that could not be written (a full disk).</summary>
        public long SamplesLost { get; set; }
        /// <summary>Samples skipped because the recorder fell behind the sampler.</summary>
        public long SamplesDropped { get; set; }
        /// <summary>Time of the last sample written (local), null before the first.</summary>
        public DateTime? LastSample { get; set; }
        /// <summary>Connections open as recorded.</summary>
        public int OpenConnections { get; set; }
        /// <summary>Size of the file and its write-ahead log, in bytes.</summary>
        public long SizeBytes { get; set; }
        /// <summary>True while samples are being recorded.</summary>
        public bool IsRecording { get; set; }
        /// <summary>Why the recording stopped on its own; null otherwise.</summary>
        public string Failure { get; set; }
    }

    /// <summary>
    /// The machine at one time (Get-ConnectionHistory -Kind Totals): one sample, or a roll-up of samples.
    /// Counts are averages over the period for roll-ups; bytes are payload bytes moved during the period
    /// (tcp_info / ETW counters summed over connections), null when unknown.
    /// </summary>
    public class ConnectionHistoryTotals
    {
        /// <summary>Start of the period (local time); for a sample, when its table read ended.</summary>
        public DateTime Time { get; set; }
        /// <summary>Length of the period, in seconds (a number, so CSV and JSON carry one plain value).</summary>
        public double PeriodSeconds { get; set; }
        public int Samples { get; set; }
        /// <summary>TCP rows of every state, listeners included.</summary>
        public double Tcp { get; set; }
        /// <summary>UDP sockets.</summary>
        public double Udp { get; set; }
        public double Established { get; set; }
        public double Listening { get; set; }
        /// <summary>Most connections (TCP + UDP) in one sample of the period.</summary>
        public int MaxConnections { get; set; }
        public long? BytesSent { get; set; }
        public long? BytesReceived { get; set; }
    }

    /// <summary>
    /// One process name over one period (Get-ConnectionHistory -Kind Process): its connections and the payload
    /// bytes they moved. Minutes for a day after recording, then hours.
    /// </summary>
    public class ConnectionHistoryProcess
    {
        /// <summary>Start of the period (local time).</summary>
        public DateTime Time { get; set; }
        /// <summary>Length of the period, in seconds.</summary>
        public double PeriodSeconds { get; set; }
        /// <summary>The process name; null for connections with no known owner.</summary>
        public string ProcessName { get; set; }
        /// <summary>Samples in which the process held a connection.</summary>
        public int Samples { get; set; }
        /// <summary>Average connections per such sample.</summary>
        public double Connections { get; set; }
        public int MaxConnections { get; set; }
        public long? BytesSent { get; set; }
        public long? BytesReceived { get; set; }
    }

    /// <summary>
    /// One connection's life as recorded (Get-ConnectionHistory -Kind Connection): when it was first and last
    /// seen, its ends, owner, place and the bytes its counters held when last seen.
    /// </summary>
    public class ConnectionHistoryConnection
    {
        /// <summary>When it opened (local time): the OS's creation time where there is one, else the sample that first had it.</summary>
        public DateTime Opened { get; set; }
        /// <summary>True when it was already open when the recording started and the OS gives no creation time: Opened is then the recording's start.</summary>
        public bool OpenedBeforeRecording { get; set; }
        /// <summary>The first sample without it (local time); null while open.</summary>
        public DateTime? Closed { get; set; }
        /// <summary>True when Closed is the end of the recording rather than of the connection.</summary>
        public bool ClosedByRecordingStop { get; set; }
        /// <summary>TCP or UDP.</summary>
        public string Protocol { get; set; }
        public string LocalAddress { get; set; }
        /// <summary>Null in an hourly roll-up of connections this host made (RemotePort is the service).</summary>
        public int? LocalPort { get; set; }
        /// <summary>Null for listeners and unconnected UDP sockets, and in a roll-up of connections to this host's service port.</summary>
        public string RemoteAddress { get; set; }
        public int? RemotePort { get; set; }
        /// <summary>The TCP state when first seen; null for UDP.</summary>
        public string State { get; set; }
        public int? ProcessId { get; set; }
        public string ProcessName { get; set; }
        /// <summary>ISO 3166-1 alpha-2 country of the remote address; null when unknown or not public.</summary>
        public string Country { get; set; }
        public long? Asn { get; set; }
        public string AsnOrganization { get; set; }
        public long? BytesSent { get; set; }
        public long? BytesReceived { get; set; }
        /// <summary>Connections this row stands for: 1, or more in an hourly roll-up of lives older than history.rawRetention (Opened is then the hour; bytes are sums).</summary>
        public int Connections { get; set; }
    }

    /// <summary>
    /// One alert a rule raised while the session recorded (Get-ConnectionHistory -Kind Alert): Firing, Repeating or
    /// Resolved, one row per connection, listener or scanning address it was about (rows of one alert share AlertId;
    /// an alert about no item, such as a machine-wide level, has one row with empty item fields). Test messages are
    /// not recorded.
    /// </summary>
    public class ConnectionHistoryAlert
    {
        /// <summary>Time of the sample that showed it (local time).</summary>
        public DateTime Time { get; set; }
        /// <summary>The alert's id (the webhook payload's "id"; Watch-Connection's and Register-ConnectionAlert's events carry the same).</summary>
        public string AlertId { get; set; }
        /// <summary>The rule's name.</summary>
        public string RuleName { get; set; }
        /// <summary>The rule's kind: NewListeningPort, PortScan, ConnectionCount …</summary>
        public string Kind { get; set; }
        /// <summary>Firing, Repeating or Resolved.</summary>
        public string Status { get; set; }
        /// <summary>The alert's one line of text.</summary>
        public string Message { get; set; }
        /// <summary>For levels per process: whose level; for scans: the scanning address.</summary>
        public string Subject { get; set; }
        /// <summary>For levels: the measured value (connections, or bytes per second).</summary>
        public double? Value { get; set; }
        /// <summary>For levels: the threshold.</summary>
        public double? Threshold { get; set; }
        /// <summary>TCP or UDP; null when the alert is about no connection.</summary>
        public string Protocol { get; set; }
        public string LocalAddress { get; set; }
        public int? LocalPort { get; set; }
        public string RemoteAddress { get; set; }
        public int? RemotePort { get; set; }
        /// <summary>The TCP state when the alert was raised.</summary>
        public string State { get; set; }
        public int? ProcessId { get; set; }
        public string ProcessName { get; set; }
        /// <summary>ISO 3166-1 alpha-2 country of the remote address.</summary>
        public string Country { get; set; }
        public long? Asn { get; set; }
        /// <summary>Extra words about this item ("ports 22,80,443,8080").</summary>
        public string Detail { get; set; }
    }
}
