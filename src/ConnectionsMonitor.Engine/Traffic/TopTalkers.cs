using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Traffic
{
    public enum TalkerGrouping
    {
        Process,
        RemoteAddress,
        Country,
    }

    public enum TalkerMetric
    {
        Bytes,
        Connections,
    }

    /// <summary>One ranked group (a process name, a remote address or a country) of a sample window.</summary>
    public sealed class TopTalker
    {
        /// <summary>1 for the group that moved the most (or had the most connections), then 2, 3, ….</summary>
        public int Rank { get; internal set; }
        /// <summary>The process name, remote address or country code; null for the group of connections with no known owner (by process only).</summary>
        public string Name { get; internal set; }
        /// <summary>What the groups are.</summary>
        public TalkerGrouping GroupBy { get; internal set; }

        /// <summary>The owning processes seen in the group, ascending.</summary>
        public IReadOnlyList<int> ProcessIds { get; internal set; }

        /// <summary>Connections seen in the window (open at its end, or closed during it), listeners excluded.</summary>
        public int Connections { get; internal set; }

        public long? BytesSent { get; internal set; }
        public long? BytesReceived { get; internal set; }
        public double? SendRate { get; internal set; }
        public double? ReceiveRate { get; internal set; }

        /// <summary>The group's part of the ranked metric over all groups, in percent; null when the groups' total is 0 (no byte moved, nothing to share).</summary>
        public double? Share { get; internal set; }
    }

    /// <summary>Ranks what talked during a <see cref="TrafficWindow"/>.</summary>
    public static class TopTalkers
    {
        public static IReadOnlyList<TopTalker> Rank(TrafficWindow window, TalkerGrouping groupBy, TalkerMetric metric, int top)
        {
            if (top < 1) throw new ArgumentOutOfRangeException(nameof(top), "At least one entry must be asked for.");
            var groups = new Dictionary<string, Group>(StringComparer.OrdinalIgnoreCase);
            foreach (var t in window.Connections)
            {
                var c = t.Connection;
                if (IsListener(c)) continue;
                string name = GroupName(c, groupBy);
                // No owner known (TIME_WAIT, a process gone, other users' sockets unprivileged): one group of its own, named
                // null, so its bytes still count in every share. No peer or country: nothing to group by.
                if (name == null && groupBy != TalkerGrouping.Process) continue;
                string key = name ?? NoOwnerKey;
                if (!groups.TryGetValue(key, out var g)) groups[key] = g = new Group { Name = name };
                g.Connections++;
                if (c.ProcessId != null) g.ProcessIds.Add(c.ProcessId.Value);
                if (t.Sent != null) g.Sent = (g.Sent ?? 0) + t.Sent.Value;
                if (t.Received != null) g.Received = (g.Received ?? 0) + t.Received.Value;
            }

            double total = metric == TalkerMetric.Bytes
                ? groups.Values.Sum(g => (double)((g.Sent ?? 0) + (g.Received ?? 0)))
                : groups.Values.Sum(g => (double)g.Connections);
            var ordered = groups.Values
                .OrderByDescending(g => metric == TalkerMetric.Bytes ? (g.Sent ?? 0) + (g.Received ?? 0) : g.Connections)
                .ThenByDescending(g => metric == TalkerMetric.Bytes ? g.Connections : (g.Sent ?? 0) + (g.Received ?? 0))
                .ThenBy(g => g.Name, StringComparer.OrdinalIgnoreCase)
                .Take(top);

            var result = new List<TopTalker>();
            foreach (var g in ordered)
            {
                double value = metric == TalkerMetric.Bytes ? (g.Sent ?? 0) + (g.Received ?? 0) : g.Connections;
                result.Add(new TopTalker
                {
                    Rank = result.Count + 1,
                    Name = g.Name,
                    GroupBy = groupBy,
                    ProcessIds = g.ProcessIds.OrderBy(p => p).ToList(),
                    Connections = g.Connections,
                    BytesSent = g.Sent,
                    BytesReceived = g.Received,
                    SendRate = TrafficRate.PerSecond(g.Sent, window.Duration),
                    ReceiveRate = TrafficRate.PerSecond(g.Received, window.Duration),
                    Share = total > 0 ? Math.Round(value * 100.0 / total, 2) : (double?)null,
                });
            }
            return result;
        }

        // The key of the no-owner group: no process name holds a NUL.
        internal const string NoOwnerKey = "\0";

        private static string GroupName(ConnectionRecord c, TalkerGrouping groupBy)
        {
            switch (groupBy)
            {
                case TalkerGrouping.Process:
                    return c.ProcessName;
                case TalkerGrouping.RemoteAddress:
                {
                    // One peer, one group: an IPv4-mapped address (a dual-stack socket's peer) is its IPv4 address, as the
                    // table views show it.
                    var peer = AddressPattern.Normalize(c.RemoteAddress);
                    return peer == null || ConnectionQuery.IsUnspecified(peer) ? null : AddressPattern.FormatAddress(peer);
                }
                default:
                    return c.Country;
            }
        }

        /// <summary>Listeners and unconnected UDP endpoints wait; they do not talk.</summary>
        internal static bool IsListener(ConnectionRecord c) =>
            c.State == TcpState.Listen || (c.Protocol == TransportProtocol.Udp && c.RemoteAddress == null);

        private sealed class Group
        {
            public string Name;
            public int Connections;
            public long? Sent;
            public long? Received;
            public readonly HashSet<int> ProcessIds = new HashSet<int>();
        }
    }
}
