using System;

namespace ConnectionsMonitor
{
    /// <summary>
    /// The state of this session's Prometheus / OpenMetrics endpoint (Start-, Get-, Stop-ConnectionMetrics). Times are local;
    /// flat primitives only, so it survives Export-Csv, ConvertTo-Json and remoting. The bearer token is never here: only
    /// whether one is required.
    /// </summary>
    public class ConnectionMetricsEndpoint
    {
        /// <summary>The URL Prometheus scrapes, e.g. http://127.0.0.1:9464/metrics.</summary>
        public string Url { get; set; }
        /// <summary>The address(es) listened on: "127.0.0.1, ::1" on loopback (127.0.0.1 alone without IPv6), or "0.0.0.0" for every address.</summary>
        public string Address { get; set; }
        /// <summary>The TCP port.</summary>
        public int Port { get; set; }
        /// <summary>Seconds between the endpoint's samples of the session's sampler (a scrape serves the latest).</summary>
        public double IntervalSeconds { get; set; }
        /// <summary>Process names that may get series of their own; the rest count as process="other".</summary>
        public int TopProcesses { get; set; }
        /// <summary>Process names admitted to series of their own so far.</summary>
        public int AdmittedProcesses { get; set; }
        /// <summary>True when every request must carry the bearer token (the token itself is never shown).</summary>
        public bool RequiresBearerToken { get; set; }
        /// <summary>Successful GETs of /metrics.</summary>
        public long ScrapesServed { get; set; }
        /// <summary>Time of the last scrape served (local), null before the first.</summary>
        public DateTime? LastScrape { get; set; }
        /// <summary>Requests refused with 401 (no or a wrong bearer token).</summary>
        public long Unauthorized { get; set; }
        /// <summary>Samples the endpoint has taken.</summary>
        public long Samples { get; set; }
        /// <summary>Time of the sample the metrics come from (local).</summary>
        public DateTime? LastSample { get; set; }
        /// <summary>When the endpoint started (local time).</summary>
        public DateTime Started { get; set; }
        /// <summary>True while serving.</summary>
        public bool IsRunning { get; set; }
        /// <summary>Why the latest read of the connection table failed (the endpoint serves the last good state), or why updates stopped after a fault of the module's own; null otherwise.</summary>
        public string Failure { get; set; }
    }
}
