using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>
    /// What a chat message (Discord, Slack, Teams) says about a group of alerts of one rule, as plain lines:
    /// a title, then per alert one line and one line per item. Every piece of outside text is
    /// <see cref="UntrustedText.Clean"/>ed here but not escaped: each medium escapes whole lines for its markup
    /// (so context-dependent escapes such as "](" see the full line).
    /// </summary>
    internal sealed class AlertMessageText
    {
        /// <summary>A line's depth: an alert, or one of its items.</summary>
        internal enum LineLevel { Alert, Item }

        internal readonly struct Line
        {
            public Line(LineLevel level, string text) { Level = level; Text = text; }
            public LineLevel Level { get; }
            public string Text { get; }
        }

        private AlertMessageText(string title, IReadOnlyList<Line> lines, bool isTest)
        {
            Title = title;
            Lines = lines;
            IsTest = isTest;
        }

        /// <summary>"TEST — ConnectionsMonitor test message for rule X", "Firing — rule X on HOST", "3 alerts — rule X on HOST".</summary>
        public string Title { get; }

        /// <summary>The alert and item lines, in order.</summary>
        public IReadOnlyList<Line> Lines { get; }

        /// <summary>The group holds a test message.</summary>
        public bool IsTest { get; }

        /// <summary>The text of <paramref name="alerts"/> (one rule, at least one alert).</summary>
        public static AlertMessageText For(IReadOnlyList<AlertEvent> alerts)
        {
            if (alerts == null || alerts.Count == 0) throw new ArgumentException("A message needs at least one alert.", nameof(alerts));
            var first = alerts[0];
            string rule = UntrustedText.Clean(first.RuleName);
            string host = UntrustedText.Clean(first.HostName);
            bool isTest = alerts.Any(a => a.Status == AlertStatus.Test);
            string title;
            if (isTest) title = "TEST — ConnectionsMonitor test message for rule " + rule + (host.Length > 0 ? " on " + host : "");
            else if (alerts.Count == 1) title = first.Status + " — rule " + rule + (host.Length > 0 ? " on " + host : "");
            else title = alerts.Count + " alerts — rule " + rule + (host.Length > 0 ? " on " + host : "");

            var lines = new List<Line>();
            foreach (var a in alerts)
            {
                lines.Add(new Line(LineLevel.Alert, AlertLine(a)));
                foreach (var item in a.Items)
                    if (item != null) lines.Add(new Line(LineLevel.Item, ItemLine(item)));
            }
            return new AlertMessageText(title, lines, isTest);
        }

        /// <summary>"Firing 12:00:03 UTC: New listening port 8080/TCP by nginx (PID 412) — value 120 (threshold 100)".</summary>
        internal static string AlertLine(AlertEvent a)
        {
            var sb = new StringBuilder();
            sb.Append(a.Status == AlertStatus.Test ? "TEST" : a.Status.ToString()).Append(' ')
              .Append(a.TimeUtc.ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture)).Append(" UTC: ")
              .Append(UntrustedText.Clean(a.Summary));
            if (a.Value != null)
            {
                sb.Append(" — value ").Append(a.Value.Value.ToString("0.##", CultureInfo.InvariantCulture));
                if (a.Threshold != null) sb.Append(" (threshold ").Append(a.Threshold.Value.ToString("0.##", CultureInfo.InvariantCulture)).Append(')');
            }
            if (!string.IsNullOrEmpty(a.Subject)) sb.Append(" — ").Append(UntrustedText.Clean(a.Subject));
            return sb.ToString();
        }

        /// <summary>"TCP 10.0.0.5:51000 → 203.0.113.9:443 Established · nginx (PID 412) · host.example · US · AS64500 Example Org · detail".</summary>
        internal static string ItemLine(AlertItem i)
        {
            var parts = new List<string>();
            var conn = new StringBuilder();
            if (i.Protocol != null) conn.Append(i.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP");
            string local = Endpoint(i.LocalAddress, i.LocalPort);
            string remote = Endpoint(i.RemoteAddress, i.RemotePort);
            if (local.Length > 0) conn.Append(conn.Length > 0 ? " " : "").Append(local);
            if (remote.Length > 0) conn.Append(conn.Length > 0 ? " → " : "").Append(remote);
            if (i.State != null) conn.Append(conn.Length > 0 ? " " : "").Append(i.State.Value.ToString());
            if (conn.Length > 0) parts.Add(conn.ToString());
            string process = UntrustedText.Clean(i.ProcessName);
            if (process.Length > 0 || i.ProcessId != null)
                parts.Add((process.Length > 0 ? process : "process") + (i.ProcessId != null ? " (PID " + i.ProcessId.Value.ToString(CultureInfo.InvariantCulture) + ")" : ""));
            Add(parts, i.RemoteHostName);
            Add(parts, i.Country);
            if (i.Asn != null || !string.IsNullOrEmpty(i.AsnOrganization))
                parts.Add(((i.Asn != null ? "AS" + i.Asn.Value.ToString(CultureInfo.InvariantCulture) : "") + " " + UntrustedText.Clean(i.AsnOrganization)).Trim());
            Add(parts, i.Detail);
            return string.Join(" · ", parts);
        }

        private static void Add(List<string> parts, string raw)
        {
            string clean = UntrustedText.Clean(raw);
            if (clean.Length > 0) parts.Add(clean);
        }

        private static string Endpoint(string address, int? port)
        {
            string a = UntrustedText.Clean(address);
            if (port == null) return a;
            string p = port.Value.ToString(CultureInfo.InvariantCulture);
            if (a.Length == 0) return "port " + p;
            return (a.IndexOf(':') >= 0 ? "[" + a + "]" : a) + ":" + p;
        }

        /// <summary>
        /// Joins <paramref name="title"/> and the escaped <paramref name="lines"/> with '\n' into at most
        /// <paramref name="limit"/> UTF-16 units: each line cut to <paramref name="maxLine"/>, and when the rest does
        /// not fit, "… and N more" (N lines left out) ends the text.
        /// </summary>
        internal static string Join(string title, IReadOnlyList<string> lines, int limit, int maxLine)
        {
            const int reserve = 24; // "\n… and 99999999 more" with room to spare
            var sb = new StringBuilder(Cut(title, Math.Min(maxLine, limit - reserve)));
            for (int i = 0; i < lines.Count; i++)
            {
                string piece = "\n" + Cut(lines[i], maxLine);
                bool last = i == lines.Count - 1;
                if (sb.Length + piece.Length + (last ? 0 : reserve) > limit)
                {
                    sb.Append("\n… and ").Append((lines.Count - i).ToString(CultureInfo.InvariantCulture)).Append(" more");
                    break;
                }
                sb.Append(piece);
            }
            return sb.ToString();
        }

        /// <summary>
        /// <paramref name="text"/> cut to at most <paramref name="max"/> UTF-16 units with "…" at the end: never
        /// between the two halves of a surrogate pair, never right after an escaping backslash.
        /// </summary>
        internal static string Cut(string text, int max)
        {
            if (text.Length <= max) return text;
            int end = Math.Max(0, max - 1);
            if (end > 0 && char.IsHighSurrogate(text[end - 1])) end--;
            // An odd run of backslashes at the end would escape the ellipsis (or be half of "\\").
            int slashes = 0;
            while (end - slashes - 1 >= 0 && text[end - slashes - 1] == '\\') slashes++;
            if (slashes % 2 == 1) end--;
            return text.Substring(0, end) + "…";
        }
    }
}
