using System;
using System.Collections.Generic;

namespace ConnectionsMonitor.Engine.Alerts.PortScan
{
    /// <summary>
    /// One port-scan episode: a remote address that tried at least the rule's number of distinct local
    /// ports within its window. Reported once per episode (see <see cref="PortScanDetector"/>).
    /// </summary>
    public sealed class PortScanFinding
    {
        /// <summary><see cref="Source"/> of findings from SYN packets seen by packet capture.</summary>
        public const string PacketCapture = "packet capture";

        /// <summary><see cref="Source"/> of findings from connections that appeared in the socket table.</summary>
        public const string SocketTable = "socket table";

        /// <summary><see cref="Source"/> of findings from connections the Windows kernel reported accepting (ETW TcpIp Accept events).</summary>
        public const string AcceptEvents = "ETW accept events";

        public PortScanFinding(string remoteAddress, IReadOnlyList<int> ports, DateTime firstUtc, DateTime lastUtc, int attempts, string source)
        {
            RemoteAddress = remoteAddress ?? throw new ArgumentNullException(nameof(remoteAddress));
            Ports = ports ?? throw new ArgumentNullException(nameof(ports));
            FirstUtc = firstUtc;
            LastUtc = lastUtc;
            Attempts = attempts;
            Source = source;
        }

        /// <summary>The scanning address in canonical text ("203.0.113.9", "2001:db8::7"; IPv4-mapped IPv6 as IPv4).</summary>
        public string RemoteAddress { get; }

        /// <summary>The distinct local ports it tried within the window, ascending.</summary>
        public IReadOnlyList<int> Ports { get; }

        /// <summary>The first attempt counted (UTC).</summary>
        public DateTime FirstUtc { get; }

        /// <summary>The attempt that reached the threshold (UTC).</summary>
        public DateTime LastUtc { get; }

        /// <summary>Attempts counted on those ports (a retransmitted SYN is an attempt of its own; with ETW, each accepted connection is one).</summary>
        public int Attempts { get; }

        /// <summary>What saw the attempts: <see cref="PacketCapture"/> ("packet capture"), <see cref="AcceptEvents"/> ("ETW accept events") or <see cref="SocketTable"/> ("socket table").</summary>
        public string Source { get; }

        /// <summary>"203.0.113.9 tried 6 ports (22,23,80,443,3389,8080) in 2.1 s (socket table)".</summary>
        public override string ToString() =>
            RemoteAddress + " tried " + Ports.Count + " ports (" + string.Join(",", Ports) + ") in " +
            (LastUtc - FirstUtc).TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s (" + Source + ")";
    }
}
