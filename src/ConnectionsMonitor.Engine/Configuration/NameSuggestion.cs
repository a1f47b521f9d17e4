using System;
using System.Collections.Generic;
using System.Linq;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>
    /// The "did you mean" of a mistyped name (a configuration key, a column, a TCP state): the known name that
    /// differs only in case, else the nearest by Levenshtein edit distance within a small allowance (1 edit for
    /// names of up to 4 letters, 2 up to 10, 3 beyond), compared ignoring case.
    /// </summary>
    public static class NameSuggestion
    {
        /// <summary>The known name nearest to <paramref name="name"/> as described above, else null (none is near enough).</summary>
        public static string Nearest(string name, IEnumerable<string> known)
        {
            if (name == null) return null;
            var candidates = known.ToList();
            string sameLetters = candidates.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
            if (sameLetters != null) return sameLetters;
            int allowed = name.Length <= 4 ? 1 : name.Length <= 10 ? 2 : 3;
            return candidates
                .Select(k => (Key: k, Distance: EditDistance(name.ToLowerInvariant(), k.ToLowerInvariant())))
                .Where(x => x.Distance <= allowed)
                .OrderBy(x => x.Distance)
                .Select(x => x.Key)
                .FirstOrDefault();
        }

        private static int EditDistance(string a, string b)
        {
            var row = Enumerable.Range(0, b.Length + 1).ToArray();
            for (int i = 1; i <= a.Length; i++)
            {
                int diagonal = row[0];
                row[0] = i;
                for (int j = 1; j <= b.Length; j++)
                {
                    int above = row[j];
                    row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                    diagonal = above;
                }
            }
            return row[b.Length];
        }
    }
}
