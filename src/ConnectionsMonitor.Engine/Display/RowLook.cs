using System.Collections.Generic;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>How a row looks: its colour and its markers.</summary>
    public readonly struct RowLook
    {
        public RowLook(ConfigColor color, bool suspicious, bool vpn)
        {
            Color = color;
            Suspicious = suspicious;
            Vpn = vpn;
        }

        public ConfigColor Color { get; }

        /// <summary>A port of the row is in alerts.conditions.suspiciousPorts, or an alert rule flags the row (<see cref="ConnectionRecord.Flags"/>).</summary>
        public bool Suspicious { get; }

        /// <summary>The connection was recognised as a VPN (IsVpn is true; unknown shows nothing).</summary>
        public bool Vpn { get; }

        /// <summary>"[!]", "[VPN]", both ("[!] [VPN]") or empty.</summary>
        public string Markers =>
            Suspicious ? (Vpn ? TableLayout.SuspiciousMarker + " " + TableLayout.VpnMarker : TableLayout.SuspiciousMarker)
                       : (Vpn ? TableLayout.VpnMarker : "");

        /// <summary>
        /// The seed's colour rules: a suspicious port (local or remote) or an alert rule's flag makes the row red and marks it;
        /// otherwise a highlighted port (local first, then remote) gives the row its colour; otherwise
        /// the state colour (colors.tcp.* by state, colors.udp for UDP).
        /// </summary>
        public static RowLook For(ConnectionRecord r, MonitorConfig config, ISet<int> suspiciousPorts, IReadOnlyDictionary<int, ConfigColor> highlightedPorts = null)
        {
            var highlighted = highlightedPorts ?? config.HighlightedPorts;
            bool vpn = r.IsVpn == true;
            int remote = r.RemotePort ?? 0;
            if (suspiciousPorts.Contains(r.LocalPort) || (remote != 0 && suspiciousPorts.Contains(remote)) || !string.IsNullOrEmpty(r.Flags))
                return new RowLook(Red, true, vpn);
            if (highlighted.TryGetValue(r.LocalPort, out var local)) return new RowLook(local, false, vpn);
            if (remote != 0 && highlighted.TryGetValue(remote, out var far)) return new RowLook(far, false, vpn);
            return new RowLook(config.Colors.For(r.Protocol, r.State), false, vpn);
        }

        public static readonly ConfigColor Red = ConfigColor.Parse("red");
    }
}
