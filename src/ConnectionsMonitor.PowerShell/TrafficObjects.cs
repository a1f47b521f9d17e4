using System;

namespace ConnectionsMonitor
{
    /// <summary>How Get-TopTalker ranks.</summary>
    public enum TopTalkerMetric
    {
        Bytes,
        Connections,
    }

    /// <summary>What Get-TopTalker groups connections by.</summary>
    public enum TopTalkerGrouping
    {
        Process,
        RemoteAddress,
        Country,
    }

    /// <summary>
    /// One ranked group from Get-TopTalker. Flat primitives, so it exports and remotes cleanly;
    /// byte and rate fields are null when the window measured no counters (never a placeholder 0).
    /// </summary>
    public sealed class TopTalker
    {
        public int Rank { get; set; }

        /// <summary>The process name, remote address or country code; $null for the connections whose owner is unknown (-GroupBy Process: TIME_WAIT, a process gone, other users' sockets without root), which the table view shows as "(no owner)".</summary>
        public string Name { get; set; }

        /// <summary>"Process", "RemoteAddress" or "Country".</summary>
        public string GroupBy { get; set; }

        /// <summary>The owning process when the group has exactly one; else null.</summary>
        public int? ProcessId { get; set; }

        /// <summary>Every owning process id in the group, comma-separated, ascending.</summary>
        public string ProcessIds { get; set; }

        public int Connections { get; set; }
        public long? BytesSent { get; set; }
        public long? BytesReceived { get; set; }
        public double? SendRate { get; set; }
        public double? ReceiveRate { get; set; }

        /// <summary>Percent of the ranked metric (bytes or connections) over every group; $null when that total is 0 (idle connections ranked by bytes).</summary>
        public double? Share { get; set; }

        /// <summary>The measured sample window; null for a ranking from one snapshot.</summary>
        public double? DurationSeconds { get; set; }
    }

    /// <summary>Counts, totals and rates from Get-ConnectionStatistic. Flat primitives.</summary>
    public sealed class ConnectionStatistic
    {
        public DateTime TimeStamp { get; set; }
        public int Tcp { get; set; }
        public int Udp { get; set; }
        public int Total { get; set; }
        public int Established { get; set; }
        public int Listen { get; set; }
        public int SynSent { get; set; }
        public int SynReceived { get; set; }
        public int FinWait1 { get; set; }
        public int FinWait2 { get; set; }
        public int CloseWait { get; set; }
        public int Closing { get; set; }
        public int LastAck { get; set; }
        public int TimeWait { get; set; }
        public int Closed { get; set; }
        public int DeleteTcb { get; set; }

        /// <summary>Local TCP ports with a listener, comma-separated, ascending.</summary>
        public string ListeningTcpPorts { get; set; }

        /// <summary>Local UDP ports with a bound, unconnected endpoint, comma-separated, ascending.</summary>
        public string ListeningUdpPorts { get; set; }

        public int DistinctRemoteAddresses { get; set; }

        /// <summary>Distinct remote countries of the public peers (GeoIP); 0 when there is no public peer; null when public peers have no geo data (no database).</summary>
        public int? DistinctCountries { get; set; }

        /// <summary>Sum of the cumulative counters of the connections open now; null when none has counters.</summary>
        public long? BytesSent { get; set; }
        public long? BytesReceived { get; set; }

        /// <summary>Bytes per second over the sample window; null without a window or counters.</summary>
        public double? SendRate { get; set; }
        public double? ReceiveRate { get; set; }
        public double? SampleSeconds { get; set; }
    }
}
