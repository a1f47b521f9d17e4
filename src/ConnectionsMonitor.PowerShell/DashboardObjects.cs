using System;

namespace ConnectionsMonitor
{
    /// <summary>
    /// The state of this session's web dashboard (Start-, Get-, Stop-ConnectionDashboard). Times are local; flat primitives
    /// only, so it survives Export-Csv, ConvertTo-Json and remoting. The token is only in <see cref="LaunchUrl"/> of the
    /// object Start-ConnectionDashboard returns, never in Get-ConnectionDashboard's.
    /// </summary>
    public class ConnectionDashboard
    {
        /// <summary>The page's address without the token, e.g. http://127.0.0.1:3000/.</summary>
        public string Url { get; set; }
        /// <summary>
        /// The address to open, with this start's token (http://127.0.0.1:3000/?token=…): set only on Start-ConnectionDashboard's
        /// output. The page swaps the token for a cookie at once; anyone with this address can see the dashboard until it stops.
        /// </summary>
        public string LaunchUrl { get; set; }
        /// <summary>The address(es) listened on: "127.0.0.1, ::1" on loopback (127.0.0.1 alone without IPv6), or "0.0.0.0" for every address.</summary>
        public string Address { get; set; }
        /// <summary>The TCP port.</summary>
        public int Port { get; set; }
        /// <summary>Seconds between the page's updates (the dashboard's samples of the session's sampler).</summary>
        public double IntervalSeconds { get; set; }
        /// <summary>Pages connected now (live event streams).</summary>
        public int Clients { get; set; }
        /// <summary>Requests answered, any status.</summary>
        public long Requests { get; set; }
        /// <summary>Requests refused with 403: a wrong Host (DNS rebinding), no or a wrong token, a cross-origin or non-JSON change.</summary>
        public long Refused { get; set; }
        /// <summary>
        /// Connections closed to make room for a newcomer when all 64 the dashboard serves at once were taken: ones held open
        /// without a request ever let in. More than a few say something on this machine holds idle connections to the port.
        /// </summary>
        public long Displaced { get; set; }
        /// <summary>Samples taken.</summary>
        public long Samples { get; set; }
        /// <summary>Time of the latest sample (local).</summary>
        public DateTime? LastSample { get; set; }
        /// <summary>Connections in the latest sample.</summary>
        public int Connections { get; set; }
        /// <summary>When it started (local time).</summary>
        public DateTime Started { get; set; }
        /// <summary>True while serving.</summary>
        public bool IsRunning { get; set; }
        /// <summary>Why the latest read of the connection table failed (the page keeps the last good rows), or why updates stopped after a fault of the module's own; null otherwise.</summary>
        public string Failure { get; set; }
    }
}
