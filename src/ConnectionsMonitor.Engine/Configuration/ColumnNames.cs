using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>
    /// The live table's columns: the seed's ten in the seed's order, with Rate (bytes per second each way together, which
    /// the seed's table did not have) after Bytes. Names match case-insensitively.
    /// </summary>
    public static class ColumnNames
    {
        public const string Proto = "Proto", Local = "Local", Port = "Port", Foreign = "Foreign", State = "State",
            Pid = "PID", Process = "Process", Geo = "Geo", Bytes = "Bytes", Rate = "Rate", Age = "Age";

        public static IReadOnlyList<string> All { get; } =
            new ReadOnlyCollection<string>(new[] { Proto, Local, Port, Foreign, State, Pid, Process, Geo, Bytes, Rate, Age });

        /// <summary>The canonical spelling of a column name ('pid' → 'PID'), or false when it is not a column.</summary>
        public static bool TryCanonical(string name, out string canonical)
        {
            canonical = All.FirstOrDefault(c => string.Equals(c, name?.Trim(), StringComparison.OrdinalIgnoreCase));
            return canonical != null;
        }
    }

    /// <summary>A read-only, case-insensitive set of column names that enumerates in the seed's column order.</summary>
    public sealed class ColumnSet : IReadOnlyCollection<string>
    {
        private readonly HashSet<string> _members;

        public ColumnSet(IEnumerable<string> columns)
        {
            _members = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var c in columns)
            {
                if (!ColumnNames.TryCanonical(c, out var canonical))
                    throw new ArgumentException("'" + c + "' is not a column; expected one of " + string.Join(", ", ColumnNames.All) + ".", nameof(columns));
                _members.Add(canonical);
            }
        }

        public static ColumnSet AllColumns { get; } = new ColumnSet(ColumnNames.All);

        public int Count => _members.Count;
        public bool Contains(string column) => column != null && _members.Contains(column);
        public IEnumerator<string> GetEnumerator() => ColumnNames.All.Where(_members.Contains).GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => string.Join(", ", this);
    }
}
