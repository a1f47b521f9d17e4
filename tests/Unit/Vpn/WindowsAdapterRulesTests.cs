using System.Net.NetworkInformation;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;

namespace ConnectionsMonitor.Tests.Vpn
{
    /// <summary>Adapters as Windows describes them (GetAdaptersAddresses Description, IfType, FriendlyName).</summary>
    public class WindowsAdapterRulesTests
    {
        private const int PropVirtual = 53;            // IF_TYPE_PROP_VIRTUAL: Wintun and WireGuard adapters
        private const int Ethernet = (int)NetworkInterfaceType.Ethernet;
        private const int Ppp = (int)NetworkInterfaceType.Ppp;
        private const int Tunnel = (int)NetworkInterfaceType.Tunnel;
        private const int Wifi = (int)NetworkInterfaceType.Wireless80211;
        private const int Loopback = (int)NetworkInterfaceType.Loopback;

        [Theory]
        [InlineData("WireGuard Tunnel", PropVirtual, "wg0", "WireGuard")]
        [InlineData("WireGuard Tunnel #2", PropVirtual, "office", "WireGuard")]
        [InlineData("Wintun Userspace Tunnel", PropVirtual, "ProtonVPN", "Wintun (ProtonVPN)")]
        [InlineData("Wintun Userspace Tunnel", PropVirtual, "Mullvad", "Wintun (Mullvad)")]
        [InlineData("Wintun Userspace Tunnel", PropVirtual, "OpenVPN Wintun", "Wintun (OpenVPN)")]
        [InlineData("Wintun Userspace Tunnel", PropVirtual, "Local Area Connection 2", "Wintun")]
        [InlineData("TAP-Windows Adapter V9", Ethernet, "OpenVPN TAP-Windows6", "TAP-Windows (OpenVPN)")]
        [InlineData("TAP-Windows Adapter V9 #2", Ethernet, "Ethernet 3", "TAP-Windows")]
        [InlineData("TAP-NordVPN Windows Adapter V9", Ethernet, "Ethernet 2", "TAP-Windows (NordVPN)")]
        [InlineData("TAP-ProtonVPN Windows Adapter V9", Ethernet, "ProtonVPN TAP", "TAP-Windows (ProtonVPN)")]
        [InlineData("OpenVPN Data Channel Offload", PropVirtual, "OpenVPN Data Channel Offload", "OpenVPN DCO")]
        [InlineData("WAN Miniport (IKEv2)", Ppp, "WAN Miniport (IKEv2)", "IKEv2")]
        [InlineData("WAN Miniport (L2TP)", Ppp, "WAN Miniport (L2TP)", "L2TP")]
        [InlineData("WAN Miniport (PPTP)", Ppp, "WAN Miniport (PPTP)", "PPTP")]
        [InlineData("WAN Miniport (SSTP)", Ppp, "WAN Miniport (SSTP)", "SSTP")]
        [InlineData("NordLynx Tunnel", PropVirtual, "NordLynx", "NordLynx")]
        [InlineData("Tailscale Tunnel", PropVirtual, "Tailscale", "Tailscale")]
        [InlineData("ZeroTier Virtual Port", Ethernet, "ZeroTier One [8056c2e21c000001]", "ZeroTier")]
        [InlineData("Cisco AnyConnect Secure Mobility Client Virtual Miniport Adapter for Windows x64", Ethernet, "Ethernet 4", "Cisco AnyConnect")]
        [InlineData("PANGP Virtual Ethernet Adapter", Ethernet, "Ethernet 3", "GlobalProtect")]
        [InlineData("Fortinet SSL VPN Virtual Ethernet Adapter", Ethernet, "Ethernet 5", "FortiClient")]
        [InlineData("Windscribe VPN", PropVirtual, "Windscribe", "Windscribe")]
        [InlineData("Contoso VPN", Ppp, "Contoso VPN", "PPP")]                                      // a connected RAS (built-in client) VPN
        [InlineData("Microsoft IP-HTTPS Platform Interface", Tunnel, "iphttpsinterface", "tunnel")]  // DirectAccess
        public void VpnAdaptersAreRecognised(string description, int type, string name, string kind)
        {
            Assert.Equal(kind, WindowsAdapterRules.Classify(description, (NetworkInterfaceType)type, name));
        }

        [Theory]
        [InlineData("Intel(R) Ethernet Connection (7) I219-V", Ethernet, "Ethernet")]
        [InlineData("Intel(R) Wi-Fi 6 AX201 160MHz", Wifi, "Wi-Fi")]
        [InlineData("Realtek PCIe GbE Family Controller", Ethernet, "Ethernet 2")]
        [InlineData("Hyper-V Virtual Ethernet Adapter", Ethernet, "vEthernet (Default Switch)")]
        [InlineData("VirtualBox Host-Only Ethernet Adapter", Ethernet, "VirtualBox Host-Only Network")]
        [InlineData("VMware Virtual Ethernet Adapter for VMnet8", Ethernet, "VMware Network Adapter VMnet8")]
        [InlineData("Software Loopback Interface 1", Loopback, "Loopback Pseudo-Interface 1")]
        [InlineData("Bluetooth Device (Personal Area Network)", Ethernet, "Bluetooth Network Connection")]
        [InlineData("Microsoft Wi-Fi Direct Virtual Adapter", Wifi, "Local Area Connection* 1")]
        [InlineData("Teredo Tunneling Pseudo-Interface", Tunnel, "Teredo Tunneling Pseudo-Interface")]
        [InlineData("Microsoft ISATAP Adapter #2", Tunnel, "isatap.{5B1A5B4A-6C1B-4D3B-9B1A-2E2F4C1D8A11}")]
        [InlineData("Microsoft 6to4 Adapter", Tunnel, "6TO4 Adapter")]
        [InlineData("WAN Miniport (IP)", Ethernet, "WAN Miniport (IP)")]
        [InlineData("WAN Miniport (Network Monitor)", Ethernet, "WAN Miniport (Network Monitor)")]
        [InlineData("Microsoft Kernel Debug Network Adapter", Ethernet, "Ethernet 6")]
        [InlineData("", Ethernet, "")]
        public void OrdinaryAdaptersAreNot(string description, int type, string name)
        {
            Assert.Null(WindowsAdapterRules.Classify(description, (NetworkInterfaceType)type, name));
        }
    }
}
