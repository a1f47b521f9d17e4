using System;
using System.Net.NetworkInformation;
using System.Text.RegularExpressions;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// Which Windows adapters are VPN tunnels, from what GetAdaptersAddresses reports: the driver's
    /// description, the interface type and the friendly name. A pure function, tested on any OS with
    /// real adapter descriptions.
    /// </summary>
    internal static class WindowsAdapterRules
    {
        // Driver descriptions, most specific first. Matched case-insensitively; several drivers append
        // " #2", " #3" to the description of a second instance, which substring matching tolerates.
        private static readonly (Regex Description, string Kind)[] Descriptions =
        {
            (Rx(@"^WireGuard Tunnel"), "WireGuard"),
            (Rx(@"^NordLynx"), "NordLynx"),
            (Rx(@"^Wintun Userspace Tunnel"), "Wintun"),
            (Rx(@"OpenVPN Data Channel Offload"), "OpenVPN DCO"),
            (Rx(@"^TAP-Windows Adapter V9"), "TAP-Windows"),
            (Rx(@"^TAP-.*Adapter"), "TAP-Windows"),                 // TAP-NordVPN Windows Adapter V9, TAP-ProtonVPN Windows Adapter V9 …
            (Rx(@"OpenVPN"), "OpenVPN"),
            (Rx(@"^WAN Miniport \((IKEv2|L2TP|PPTP|SSTP)\)"), null),   // kind is the protocol in the brackets
            (Rx(@"ProtonVPN"), "ProtonVPN"),
            (Rx(@"NordVPN"), "NordVPN"),
            (Rx(@"ExpressVPN"), "ExpressVPN"),
            (Rx(@"Windscribe"), "Windscribe"),
            (Rx(@"TunnelBear"), "TunnelBear"),
            (Rx(@"Private Internet Access"), "PIA"),
            (Rx(@"Mullvad"), "Mullvad"),
            (Rx(@"Surfshark"), "Surfshark"),
            (Rx(@"^Tailscale Tunnel"), "Tailscale"),
            (Rx(@"^ZeroTier Virtual Port"), "ZeroTier"),
            (Rx(@"Cisco AnyConnect|Cisco Secure Client"), "Cisco AnyConnect"),
            (Rx(@"^PANGP Virtual Ethernet Adapter"), "GlobalProtect"),
            (Rx(@"Fortinet (SSL )?VPN"), "FortiClient"),
            (Rx(@"Juniper Networks Virtual Adapter|Pulse Secure"), "Pulse Secure"),
            (Rx(@"Check Point Virtual Network Adapter"), "Check Point VPN"),
            (Rx(@"SonicWall.*Virtual"), "SonicWall"),
        };

        // Tunnel-typed adapters that are IPv6 transition mechanisms present on most Windows machines, not VPNs.
        private static readonly Regex TransitionTunnels = Rx(@"^(Teredo Tunneling Pseudo-Interface|Microsoft Teredo|Microsoft 6to4 Adapter|6TO4 Adapter|Microsoft ISATAP Adapter|isatap\.)");

        // Generic drivers (Wintun, TAP) are shared by many products; the friendly name (or a vendor's
        // renamed TAP description, "TAP-NordVPN Windows Adapter V9") usually says which.
        private static readonly (Regex Name, string Product)[] Products =
        {
            (Rx(@"WireGuard|^wg\d"), "WireGuard"),
            (Rx(@"NordLynx|NordVPN"), "NordVPN"),
            (Rx(@"ProtonVPN|Proton VPN"), "ProtonVPN"),
            (Rx(@"Mullvad"), "Mullvad"),
            (Rx(@"OpenVPN"), "OpenVPN"),
            (Rx(@"ExpressVPN"), "ExpressVPN"),
            (Rx(@"Windscribe"), "Windscribe"),
            (Rx(@"CloudflareWARP|Cloudflare WARP"), "Cloudflare WARP"),
            (Rx(@"Surfshark"), "Surfshark"),
            (Rx(@"Private Internet Access|^PIA"), "PIA"),
        };

        /// <summary>
        /// The tunnel kind of an adapter ("WireGuard", "IKEv2", "TAP-Windows (OpenVPN)", "PPP"), or null
        /// for an ordinary adapter. <paramref name="type"/> is the NetworkInterfaceType, which may hold IANA
        /// ifType numbers that the enum does not name (Wintun's 53).
        /// </summary>
        public static string Classify(string description, NetworkInterfaceType type, string name)
        {
            description = description ?? "";
            foreach (var (pattern, kind) in Descriptions)
            {
                var m = pattern.Match(description);
                if (!m.Success) continue;
                string k = kind ?? m.Groups[1].Value.ToUpperInvariant().Replace("IKEV2", "IKEv2");
                if (k == "Wintun" || k == "TAP-Windows")
                {
                    string product = ProductFromName(name) ?? ProductFromName(description);
                    if (product != null) k += " (" + product + ")";
                }
                return k;
            }
            if (type == NetworkInterfaceType.Ppp) return "PPP";
            if (type == NetworkInterfaceType.Tunnel && !TransitionTunnels.IsMatch(description)) return "tunnel";
            return null;
        }

        private static string ProductFromName(string name)
        {
            if (string.IsNullOrEmpty(name)) return null;
            foreach (var (pattern, product) in Products)
                if (pattern.IsMatch(name)) return product;
            return null;
        }

        private static Regex Rx(string pattern) =>
            new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }
}
