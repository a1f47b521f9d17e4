using System;

namespace ConnectionsMonitor
{
    /// <summary>
    /// One block of a remote address or CIDR block in the host firewall, as Get-ConnectionBlock and
    /// Block-ConnectionRemote -PassThru write it. Flat primitives (strings, DateTime, whole seconds), so it survives
    /// Export-Csv, ConvertTo-Json and remoting. Data source: the module's nftables table (Linux) or its Windows
    /// Firewall rule group (Windows), read when the command ran.
    /// </summary>
    public class ConnectionBlock
    {
        /// <summary>The blocked address or CIDR block in canonical form: "203.0.113.7", "198.51.100.0/24", "2001:db8::/32".</summary>
        public string RemoteAddress { get; set; }
        /// <summary>Inbound (traffic from the address), Outbound (traffic to it) or Both.</summary>
        public string Direction { get; set; }
        /// <summary>Why it was blocked, as given to Block-ConnectionRemote -Reason (untrusted text: the table view cleans it); null when none was given or the entry was not made by this module.</summary>
        public string Reason { get; set; }
        /// <summary>When the block was made (local time, whole seconds); null when the entry was not made by this module.</summary>
        public DateTime? Created { get; set; }
        /// <summary>When the block ends (local time); null for a block that stays until it is removed.</summary>
        public DateTime? Expires { get; set; }
        /// <summary>
        /// Whole seconds left until <see cref="Expires"/> when the command ran (0 or more, cut down to the second, as
        /// AgeSeconds); null for a block that stays until it is removed. Seconds, not a TimeSpan, like every duration of
        /// the module's objects: one value in Export-Csv and ConvertTo-Json.
        /// </summary>
        public long? RemainingSeconds { get; set; }
        /// <summary>Where the block lives: "nftables table inet connectionsmonitor" or "Windows Firewall rule group ConnectionsMonitor".</summary>
        public string Firewall { get; set; }

        /// <summary>"203.0.113.7 (Both, until 2026-12-01 11:30:00)".</summary>
        public override string ToString() =>
            RemoteAddress + " (" + Direction + ", " + (Expires.HasValue ? "until " + Expires.Value.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) : "no expiry") + ")";
    }
}
