using System;
using System.Text;
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
        /// The Process cell fitted to <paramref name="cells"/> columns of a table view (<see cref="TableCell"/>): Chinese or
        /// emoji names take two cells a character, combining marks none; cut at a grapheme boundary with "…".
        /// </summary>
        public static string Process(string name, bool? isVpn, int cells) => TableCell(Process(name, isVpn), cells);

        /// <summary>
        /// The Process cell of a row alert rules may have flagged: the seed's "[!]" first when <paramref name="flags"/>
        /// names any rule, then as <see cref="Process(string, bool?, int)"/> ("[!] [VPN] openvpn"), fitted to <paramref name="cells"/>.
        /// </summary>
        public static string Process(string name, bool? isVpn, string flags, int cells)
        {
            string cell = Process(name, isVpn);
            if (!string.IsNullOrWhiteSpace(flags)) cell = cell.Length == 0 ? TableLayout.SuspiciousMarker : TableLayout.SuspiciousMarker + " " + cell;
            return TableCell(cell, cells);
        }

        /// <summary>
        /// Outside text (cleaned here by <see cref="UntrustedText.ForTerminal"/>) for a column of <paramref name="cells"/>
        /// cells in one of the module's table views, which PowerShell's table code lays out. That code measures a value
        /// as the host says: cmon's host in terminal cells (<see cref="CellWidth"/>), pwsh's console host a cell for each
        /// UTF-16 character and two for an East Asian wide one (<see cref="HostUnits"/>), so a combining mark counts
        /// one though a terminal draws it in none, and a value it counts wider than the column is cut with "…". So the
        /// text is put in composed form (NFC: "e" + U+0301 becomes "é", one character, drawn the same), cut at a grapheme
        /// boundary with "…" until both measures fit, and padded to the column by the larger of the two: in a host that
        /// measures cells it fills the column exactly; in the console host it is never cut for padding, and a mark with
        /// no composed form leaves its row a cell short (PowerShell's own count; the live view draws its rows itself).
        /// </summary>
        public static string TableCell(string text, int cells)
        {
            string clean = UntrustedText.ForTerminal(text);
            if (!clean.IsNormalized(NormalizationForm.FormC)) clean = clean.Normalize(NormalizationForm.FormC);
            string fitted = CellWidth.Fit(clean, cells, CellWidth.Ellipsis);
            for (int budget = cells - 1; budget > 0 && HostUnits(fitted) > cells; budget--)
                fitted = CellWidth.Fit(clean, budget, CellWidth.Ellipsis);
            int used = Math.Max(CellWidth.Of(fitted), HostUnits(fitted));
            return used >= cells ? fitted : fitted + new string(' ', cells - used);
        }

        /// <summary>
        /// The width pwsh's console host gives <paramref name="text"/> (its LengthInBufferCells, which PowerShell's table
        /// code adds up): one for each UTF-16 character, two for one in the East Asian wide ranges it knows (Markus Kuhn's
        /// wcwidth.c table: Hangul Jamo, CJK to Yi, Hangul syllables, CJK compatibility, vertical and full-width forms).
        /// </summary>
        internal static int HostUnits(string text)
        {
            int n = 0;
            foreach (char c in text)
            {
                bool wide = c >= 0x1100 &&
                    (c <= 0x115F || c == 0x2329 || c == 0x232A ||
                     (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F) ||
                     (c >= 0xAC00 && c <= 0xD7A3) ||
                     (c >= 0xF900 && c <= 0xFAFF) ||
                     (c >= 0xFE10 && c <= 0xFE19) ||
                     (c >= 0xFE30 && c <= 0xFE6F) ||
                     (c >= 0xFF00 && c <= 0xFF60) ||
                     (c >= 0xFFE0 && c <= 0xFFE6));
                n += wide ? 2 : 1;
            }
            return n;
        }

        /// <summary>
        /// A comma-separated id list (a top talker's ProcessIds) within <paramref name="cells"/> cells: the whole ids that
        /// fit, then "+N" for the rest, so a narrow column never shows part of an id ("25761, 25762, +28"); empty when not
        /// even "+N" fits. The list as it is when it fits, or when <paramref name="cells"/> is not positive (no width known).
        /// The talker view passes what the console's width leaves it: output formatted narrower than the console
        /// (Out-String -Width 100 in a wider one) can still be cut by PowerShell.
        /// </summary>
        public static string IdList(string ids, int cells)
        {
            if (string.IsNullOrEmpty(ids) || cells <= 0 || ids.Length <= cells) return ids;
            var parts = ids.Split(',');
            string shown = "";
            for (int i = 0; i < parts.Length; i++)
            {
                string more = "+" + (parts.Length - i).ToString(System.Globalization.CultureInfo.InvariantCulture);
                string next = shown.Length == 0 ? parts[i].Trim() : shown + ", " + parts[i].Trim();
                string rest = "+" + (parts.Length - i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                if ((i == parts.Length - 1 ? next.Length : next.Length + 2 + rest.Length) > cells)
                    return shown.Length == 0 ? (more.Length <= cells ? more : "") : shown + ", " + more;
                shown = next;
            }
            return shown;
        }

        /// <summary>Outside text (names, paths) for a list or table cell: <see cref="UntrustedText.ForTerminal"/>.</summary>
        public static string Safe(string text) => UntrustedText.ForTerminal(text);
    }
}
