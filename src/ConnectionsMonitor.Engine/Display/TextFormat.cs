using System;
using System.Linq;
using System.Globalization;
using System.Net;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>
    /// Cell text shared by the module's table views (through ConnectionsMonitor.DisplayFormat) and the
    /// live view. Lives in the engine so the live renderer, its tests and the benchmark use the same
    /// formatting without PowerShell. Strings from the outside world pass through
    /// <see cref="UntrustedText.ForTerminal"/> so a process name cannot carry terminal escape sequences into the
    /// console, and are measured in terminal cells (<see cref="CellWidth"/>), not UTF-16 units.
    /// </summary>
    public static class TextFormat
    {
        /// <summary>"addr:port", with IPv6 addresses in brackets and IPv4-mapped ones in IPv4 form (<see cref="DisplayAddress"/>); empty when there is no endpoint.</summary>
        public static string Endpoint(string address, int? port)
        {
            if (address == null) return port == null ? "" : "*:" + port.Value.ToString(CultureInfo.InvariantCulture);
            address = DisplayAddress(address);
            string host = address.IndexOf(':') >= 0 ? "[" + address + "]" : address;
            return port == null ? host : host + ":" + port.Value.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>
        /// An endpoint's text (<see cref="Endpoint"/>, <see cref="Foreign"/>) within <paramref name="cells"/> terminal cells,
        /// keeping its port: a long address is cut in its middle with <paramref name="ellipsis"/> ("[2001:d…4:5678]:47400"
        /// in 21 cells), where a plain cut
        /// at the end loses the port and shows the two ends of one IPv6 connection as the same text; a host name is cut at
        /// its end, before the port. As it is when it fits, or when the port leaves too little room (then cut at its end).
        /// </summary>
        public static string FitEndpoint(string text, int cells, string ellipsis)
        {
            if (string.IsNullOrEmpty(text) || CellWidth.Of(text) <= cells) return text ?? "";
            int colon = text.LastIndexOf(':');
            bool hasPort = colon > 0 && colon < text.Length - 1 && text.Substring(colon + 1).All(char.IsDigit);
            bool bracketed = text[0] == '[' && hasPort && text[colon - 1] == ']';
            if (!hasPort && !(text[0] == '[' && text[text.Length - 1] == ']')) return CellWidth.Fit(text, cells, ellipsis);
            string suffix = hasPort ? text.Substring(bracketed ? colon - 1 : colon) : "]";
            string prefix = text[0] == '[' ? "[" : "";
            string host = text.Substring(prefix.Length, text.Length - suffix.Length - prefix.Length);
            int room = cells - prefix.Length - suffix.Length;
            if (room < ellipsis.Length + 3) return CellWidth.Fit(text, cells, ellipsis);
            bool address = host.All(ch => ch < 128) && host.IndexOf(':') >= 0 || System.Net.IPAddress.TryParse(host, out _);
            if (!address) return prefix + CellWidth.Fit(host, room, ellipsis) + suffix;
            int tail = (room - ellipsis.Length) / 2, head = room - ellipsis.Length - tail;
            return prefix + host.Substring(0, head) + ellipsis + host.Substring(host.Length - tail) + suffix;
        }

        /// <summary>The Foreign cell: the remote host's name when reverse DNS found one (resolveDNS / -ResolveDns), else its address; then the port.</summary>
        public static string Foreign(string address, int? port, string hostName) =>
            string.IsNullOrEmpty(hostName) ? Endpoint(address, port) : Endpoint(UntrustedText.ForTerminal(hostName), port);

        /// <summary>How views name the group of connections whose owner is unknown (a talker whose Name is null).</summary>
        public const string NoOwner = "(no owner)";

        /// <summary>Compact age: 42s, 5m12s, 3h04m, 2d05h; empty when unknown.</summary>
        public static string Age(TimeSpan? age)
        {
            if (age == null) return "";
            var a = age.Value;
            if (a.TotalSeconds < 60) return ((int)a.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
            if (a.TotalMinutes < 60) return string.Format(CultureInfo.InvariantCulture, "{0}m{1:00}s", (int)a.TotalMinutes, a.Seconds);
            if (a.TotalHours < 24) return string.Format(CultureInfo.InvariantCulture, "{0}h{1:00}m", (int)a.TotalHours, a.Minutes);
            return string.Format(CultureInfo.InvariantCulture, "{0}d{1:00}h", (int)a.TotalDays, a.Hours);
        }

        /// <summary>Human byte count of sent plus received (B, KB, MB, GB, TB; 1 KB = 1024 B); empty when unknown.</summary>
        public static string Bytes(long? sent, long? received)
        {
            if (sent == null && received == null) return "";
            return Size((sent ?? 0) + (received ?? 0));
        }

        private static readonly string[] SizeUnits = { "B", "KB", "MB", "GB", "TB" };

        /// <summary>Human byte count; empty when unknown.</summary>
        public static string Size(double? bytes)
        {
            if (bytes == null) return "";
            double total = bytes.Value;
            var units = SizeUnits;
            int u = 0;
            while (total >= 1024 && u < units.Length - 1) { total /= 1024; u++; }
            if (u > 0 && u < units.Length - 1 && Math.Round(total) >= 1024) { total /= 1024; u++; } // 1023.6KB shows as 1.0MB, not 1024KB
            // One decimal below 10 as it will be shown: 9.97 rounds to "10", not "10.0" (the same flow read 10.0KB/s, then 10KB/s).
            return u == 0
                ? ((long)total).ToString(CultureInfo.InvariantCulture) + "B"
                : total.ToString(Math.Round(total, 1) < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + units[u];
        }

        /// <summary>Human rate ("1.5MB/s"); empty when unknown.</summary>
        public static string Rate(double? bytesPerSecond) => bytesPerSecond == null ? "" : Size(bytesPerSecond) + "/s";

        /// <summary>A count with its noun in the number it takes: "1 connection", "0 connections", "2 columns".</summary>
        public static string Count(long n, string singular, string plural) =>
            n.ToString(CultureInfo.InvariantCulture) + " " + (n == 1 ? singular : plural);

        /// <summary>The seed's Geo column: the country code, else the address scope, else empty.</summary>
        public static string Geo(string country, string scope) =>
            // PowerShell passes $null to a string parameter as "": treat empty as unknown.
            UntrustedText.ForTerminal(!string.IsNullOrEmpty(country) ? country : scope ?? "");

        /// <summary>
        /// An address as the cells show it: an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket
        /// reports for an IPv4 peer) in its IPv4 form, everything else as it is. The objects keep the real text.
        /// </summary>
        public static string DisplayAddress(string address)
        {
            if (string.IsNullOrEmpty(address) || address.IndexOf("::ffff:", StringComparison.OrdinalIgnoreCase) < 0) return address;
            return IPAddress.TryParse(address, out var ip) && ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4().ToString() : address;
        }

        /// <summary>
        /// <paramref name="text"/> (outside text, cleaned here by <see cref="UntrustedText.ForTerminal"/>) fitted to
        /// <paramref name="cells"/> terminal cells: cut at a grapheme boundary with "…" when too wide, then padded with
        /// spaces (on the left when <paramref name="alignRight"/>) to exactly <paramref name="cells"/> cells.
        /// </summary>
        public static string Cell(string text, int cells, bool alignRight = false)
        {
            string fitted = CellWidth.Fit(UntrustedText.ForTerminal(text), cells, CellWidth.Ellipsis);
            return alignRight ? CellWidth.PadLeft(fitted, cells) : CellWidth.PadRight(fitted, cells);
        }
    }
}
