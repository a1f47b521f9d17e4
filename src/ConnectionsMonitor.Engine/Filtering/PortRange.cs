using System;
using System.Globalization;

namespace ConnectionsMonitor.Engine.Filtering
{
    /// <summary>A port or an inclusive range of ports ("443" or "8000-8100").</summary>
    public struct PortRange
    {
        public PortRange(int first, int last)
        {
            First = first;
            Last = last;
        }

        public int First { get; }
        public int Last { get; }

        public bool Contains(int port) => port >= First && port <= Last;

        public const string ExpectedForms = "a port from 0 to 65535 or a range such as 8000-8100";

        public static bool TryParse(string text, out PortRange range, out string error)
        {
            range = default(PortRange);
            error = null;
            text = (text ?? "").Trim();
            int dash = text.IndexOf('-', 1 < text.Length ? 1 : 0);
            string a = dash > 0 ? text.Substring(0, dash).Trim() : text;
            string b = dash > 0 ? text.Substring(dash + 1).Trim() : text;
            if (!TryPort(a, out int first) || !TryPort(b, out int last))
            {
                error = "'" + text + "' is not a valid port: expected " + ExpectedForms + ".";
                return false;
            }
            if (last < first)
            {
                error = "'" + text + "' is not a valid port range: the first port must not be larger than the last.";
                return false;
            }
            range = new PortRange(first, last);
            return true;
        }

        private static bool TryPort(string s, out int port)
        {
            return int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port >= 0 && port <= 65535;
        }

        public override string ToString() => First == Last ? First.ToString(CultureInfo.InvariantCulture) : First + "-" + Last;
    }
}
