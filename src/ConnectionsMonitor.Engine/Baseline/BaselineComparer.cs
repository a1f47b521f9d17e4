using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Baseline
{
    /// <summary>Whether an entry is new since the baseline or gone from it.</summary>
    public enum BaselineChange
    {
        /// <summary>In the present (or the second baseline) and not in the reference baseline.</summary>
        Added,
        /// <summary>In the reference baseline and no longer in the present (or the second baseline).</summary>
        Removed,
    }

    /// <summary>One difference between a baseline and the present (or a second baseline).</summary>
    public sealed class BaselineDifference
    {
        /// <summary>A difference: what changed, the entry, and (Added from live records) the process id behind it.</summary>
        public BaselineDifference(BaselineChange change, BaselineEntry entry, int? processId)
        {
            Change = change;
            Entry = entry;
            ProcessId = processId;
        }

        /// <summary>Added or Removed.</summary>
        public BaselineChange Change { get; }
        /// <summary>The entry added or removed (its identifying fields).</summary>
        public BaselineEntry Entry { get; }
        /// <summary>For Added entries compared against live records: the lowest process id among the rows that make the entry; else null.</summary>
        public int? ProcessId { get; }
    }

    /// <summary>
    /// Compares two baselines by entry identity (<see cref="BaselineEntry.Key"/>) with hash sets: linear in the
    /// number of entries and records. Entries in both are not reported, however many connections stand behind them.
    /// </summary>
    public static class BaselineComparer
    {
        /// <summary>
        /// The differences from <paramref name="reference"/> to <paramref name="difference"/>: Added (in the second only),
        /// then Removed (in the first only), each in the baselines' stable order. <paramref name="processIds"/> (entry
        /// key → process id) fills <see cref="BaselineDifference.ProcessId"/> of Added entries.
        /// </summary>
        public static List<BaselineDifference> Compare(ConnectionBaseline reference, ConnectionBaseline difference, IReadOnlyDictionary<string, int> processIds = null)
        {
            if (reference == null) throw new ArgumentNullException(nameof(reference));
            if (difference == null) throw new ArgumentNullException(nameof(difference));
            var before = new HashSet<string>(reference.Entries.Select(e => e.Key), StringComparer.Ordinal);
            var after = new HashSet<string>(difference.Entries.Select(e => e.Key), StringComparer.Ordinal);
            var result = new List<BaselineDifference>();
            foreach (var e in ConnectionBaseline.Sort(difference.Entries))
            {
                if (before.Contains(e.Key)) continue;
                int? pid = null;
                if (processIds != null && processIds.TryGetValue(e.Key, out var id)) pid = id;
                result.Add(new BaselineDifference(BaselineChange.Added, e, pid));
            }
            foreach (var e in ConnectionBaseline.Sort(reference.Entries))
                if (!after.Contains(e.Key)) result.Add(new BaselineDifference(BaselineChange.Removed, e, null));
            return result;
        }

        /// <summary>
        /// The differences from <paramref name="reference"/> to the live <paramref name="records"/>: the records become a
        /// baseline (<see cref="ConnectionBaseline.FromRecords"/>) and Added entries carry the lowest process id among
        /// the rows behind them.
        /// </summary>
        public static List<BaselineDifference> Compare(ConnectionBaseline reference, IReadOnlyList<ConnectionRecord> records, DateTime nowUtc, string hostName)
        {
            if (records == null) throw new ArgumentNullException(nameof(records));
            var current = ConnectionBaseline.FromRecords(records, nowUtc, hostName, out var processIds);
            return Compare(reference, current, processIds);
        }
    }
}
