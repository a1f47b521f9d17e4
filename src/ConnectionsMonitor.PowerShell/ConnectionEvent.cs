using System;

namespace ConnectionsMonitor
{
    /// <summary>
    /// A change Watch-Connection saw: the connection's properties (as Get-MonitoredConnection writes
    /// them) plus what changed and when. Flat primitives, so a watch log exports to CSV as is.
    /// </summary>
    public sealed class ConnectionEvent : MonitoredConnection
    {
        /// <summary>"Opened", "Closed" or "StateChanged".</summary>
        public string ChangeType { get; set; }

        /// <summary>When the snapshot that saw the change was taken (local time).</summary>
        public DateTime TimeStamp { get; set; }

        /// <summary>The TCP state before a StateChanged event; null for other events.</summary>
        public string PreviousState { get; set; }

        /// <summary>
        /// True for the Opened and the Closed of a connection that opened and closed between two samples: no table read
        /// saw it, the OS reported it as it closed (Linux sock_diag destroy events; Windows ETW, elevated). Both come with
        /// the same sample; State is Closed, the bytes are its final counts, FirstSeen and Age are null (unknown).
        /// </summary>
        public bool BetweenSamples { get; set; }

        /// <summary>True for a Closed event whose BytesSent/BytesReceived are the OS's final counts at close; false when they are the last sample's.</summary>
        public bool FinalCounters { get; set; }
    }
}
