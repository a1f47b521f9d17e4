using System;
using ConnectionsMonitor.Engine.Display;

namespace ConnectionsMonitor
{
    /// <summary>
    /// Text shown in the module's table and list views (called from ConnectionsMonitor.Format.ps1xml).
    /// The formatting itself lives in the engine (<see cref="TextFormat"/>) so the live view
    /// (Show-ConnectionMonitor) renders cells exactly as these views do. Strings from the outside world
    /// pass through <see cref="UntrustedText.ForTerminal"/> (<see cref="Safe"/> here) so a process name cannot
    /// carry terminal escape sequences into the console (its controls are shown, not obeyed); cells that can hold wide or combining characters are
    /// fitted and padded in terminal cells (<see cref="CellWidth"/>), not UTF-16 units.
    /// </summary>
    public static class DisplayFormat
    {
        /// <summary>"addr:port", with IPv6 addresses in brackets and IPv4-mapped ones (::ffff:a.b.c.d) in IPv4 form; empty when there is no endpoint.</summary>
        public static string Endpoint(string address, int? port) => TextFormat.Endpoint(string.IsNullOrEmpty(address) ? null : address, port);

        /// <summary>Compact age: 42s, 5m12s, 3h04m, 2d05h; empty when unknown.</summary>
        public static string Age(TimeSpan? age) => TextFormat.Age(age);

        /// <summary>
        /// A top talker's name made safe (<see cref="Safe"/>), or "(no owner)" for the process group whose owner is unknown
        /// (Name null, which PowerShell hands a string parameter as "").
        /// </summary>
        public static string Talker(string name, string groupBy) =>
            string.IsNullOrEmpty(name) && groupBy == "Process" ? TextFormat.NoOwner : Safe(name);

        /// <summary>Compact age from whole seconds, after '>' when it is only a lower bound (the connection was already open when the session first looked); empty when unknown.</summary>
        public static string Age(long? seconds, bool? lowerBound) =>
            seconds == null ? "" : (lowerBound == true ? ">" : "") + TextFormat.Age(TimeSpan.FromSeconds(seconds.Value));

        /// <summary>Human byte count of sent plus received (B, KB, MB, GB, TB; 1 KB = 1024 B); empty when unknown.</summary>
        public static string Bytes(long? sent, long? received) => TextFormat.Bytes(sent, received);

        /// <summary>Human byte count; empty when unknown.</summary>
        public static string Size(double? bytes) => TextFormat.Size(bytes);

        /// <summary>Human rate ("1.5MB/s"); empty when unknown.</summary>
        public static string Rate(double? bytesPerSecond) => TextFormat.Rate(bytesPerSecond);

        /// <summary>The Foreign cell: the host name from reverse DNS when known, else the address (IPv4-mapped ones in IPv4 form); then the port.</summary>
        public static string Foreign(string address, int? port, string hostName) =>
            TextFormat.Foreign(string.IsNullOrEmpty(address) ? null : address, port, hostName);

        /// <summary><see cref="Endpoint(string, int?)"/> within <paramref name="cells"/> columns, keeping the port (<see cref="TextFormat.FitEndpoint"/>): for table views with a fixed width.</summary>
        public static string Endpoint(string address, int? port, int cells) => TextFormat.FitEndpoint(Endpoint(address, port), cells, CellWidth.Ellipsis);

        /// <summary><see cref="Foreign(string, int?, string)"/> within <paramref name="cells"/> columns, keeping the port (<see cref="TextFormat.FitEndpoint"/>).</summary>
        public static string Foreign(string address, int? port, string hostName, int cells) => TextFormat.FitEndpoint(Foreign(address, port, hostName), cells, CellWidth.Ellipsis);

        /// <summary>The seed's Geo column: the country code, else the address scope, else empty.</summary>
        public static string Geo(string country, string scope) => TextFormat.Geo(country, scope);

        /// <summary>The Process cell: the name with control characters shown as visible symbols (␛ for ESC), after the seed's "[VPN]" marker for VPN connections (as the live view shows it).</summary>
        public static string Process(string name, bool? isVpn)
        {
            string safe = UntrustedText.ForTerminal(name);
            if (isVpn != true) return safe;
            return safe.Length == 0 ? TableLayout.VpnMarker : TableLayout.VpnMarker + " " + safe;
        }

        /// <summary>
        /// The Process cell fitted to <paramref name="cells"/> terminal cells: Chinese or emoji names take two cells a
        /// character, combining marks none; cut at a grapheme boundary with "…", padded with spaces to exactly
        /// <paramref name="cells"/> cells.
        /// </summary>
        public static string Process(string name, bool? isVpn, int cells) => TextFormat.Cell(Process(name, isVpn), cells);

        /// <summary>
        /// The Process cell of a row alert rules may have flagged: the seed's "[!]" first when <paramref name="flags"/>
        /// names any rule, then as <see cref="Process(string, bool?, int)"/> ("[!] [VPN] openvpn"), fitted to <paramref name="cells"/>.
        /// </summary>
        public static string Process(string name, bool? isVpn, string flags, int cells)
        {
            string cell = Process(name, isVpn);
            if (!string.IsNullOrWhiteSpace(flags)) cell = cell.Length == 0 ? TableLayout.SuspiciousMarker : TableLayout.SuspiciousMarker + " " + cell;
            return TextFormat.Cell(cell, cells);
        }

        /// <summary>Outside text (names, paths) for a list or table cell: <see cref="UntrustedText.ForTerminal"/>.</summary>
        public static string Safe(string text) => UntrustedText.ForTerminal(text);
    }
}
