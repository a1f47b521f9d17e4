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
    }
}
