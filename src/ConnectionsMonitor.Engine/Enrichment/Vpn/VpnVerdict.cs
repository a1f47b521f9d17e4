namespace ConnectionsMonitor.Engine.Enrichment.Vpn
{
    /// <summary>The outcome of VPN detection for one connection.</summary>
    public sealed class VpnVerdict
    {
        /// <summary>Detection ran and no rule matched.</summary>
        public static readonly VpnVerdict NotVpn = new VpnVerdict(false, null);

        /// <summary>A verdict; <paramref name="reason"/> is null when <paramref name="isVpn"/> is false.</summary>
        public VpnVerdict(bool isVpn, string reason)
        {
            IsVpn = isVpn;
            Reason = reason;
        }

        /// <summary>Whether any rule marked the connection as going through, or being, a VPN.</summary>
        public bool IsVpn { get; }

        /// <summary>Why, in short human words joined with "; " ("interface wg0 (WireGuard); process openvpn"); null when not a VPN.</summary>
        public string Reason { get; }

        public override string ToString() => IsVpn ? "VPN: " + Reason : "not VPN";
    }
}
