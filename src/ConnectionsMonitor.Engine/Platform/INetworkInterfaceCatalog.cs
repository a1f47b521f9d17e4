using System;
using System.Collections.Generic;
using System.Net;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>The machine's network interfaces with their addresses and what the OS says about their link.</summary>
    public interface INetworkInterfaceCatalog
    {
        /// <summary>
        /// Reads every interface now (no caching: callers decide how often). Throws when the OS refuses
        /// the listing as a whole; an interface whose details cannot be read is still listed, with
        /// <see cref="NetworkInterfaceInfo.FactsKnown"/> false.
        /// </summary>
        IReadOnlyList<NetworkInterfaceInfo> Read();
    }

    /// <summary>One network interface as the platform sees it.</summary>
    public sealed class NetworkInterfaceInfo
    {
        /// <summary>Describes one interface; see the properties for what each argument means.</summary>
        public NetworkInterfaceInfo(string name, string description, string linkType, string tunnelKind, bool tunnelKindFromNameOnly, bool factsKnown, IReadOnlyList<IPAddress> addresses)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Description = description;
            LinkType = linkType;
            TunnelKind = tunnelKind;
            TunnelKindFromNameOnly = tunnelKind != null && tunnelKindFromNameOnly;
            FactsKnown = factsKnown;
            Addresses = addresses ?? new IPAddress[0];
        }

        /// <summary>The interface name (Linux: "tun0", "wg0"; Windows: the friendly name, "Ethernet 2"). Untrusted text.</summary>
        public string Name { get; }

        /// <summary>Windows: the adapter's driver description ("WireGuard Tunnel"); Linux: null. Untrusted text.</summary>
        public string Description { get; }

        /// <summary>
        /// The raw link facts the classification rests on, for display and diagnosis: Linux
        /// "type 65534, tun_flags 0x1801, devtype wireguard"; Windows the NetworkInterfaceType ("Ppp", "Tunnel", "53").
        /// </summary>
        public string LinkType { get; }

        /// <summary>
        /// What kind of tunnel the interface is, in a word or two ("tun", "tap", "WireGuard", "PPP",
        /// "IP-in-IP tunnel", "IKEv2"); null for ordinary links (Ethernet, Wi-Fi, loopback, bridges, veth).
        /// </summary>
        public string TunnelKind { get; }

        /// <summary>True when <see cref="TunnelKind"/> was guessed from the name because the OS facts could not be read.</summary>
        public bool TunnelKindFromNameOnly { get; }

        /// <summary>Whether the OS facts about the link (Linux /sys/class/net, Windows adapter type) were read.</summary>
        public bool FactsKnown { get; }

        /// <summary>Unicast addresses assigned to the interface (IPv6 link-local ones carry their scope id).</summary>
        public IReadOnlyList<IPAddress> Addresses { get; }

        public override string ToString() => Name + (TunnelKind != null ? " (" + TunnelKind + ")" : "");
    }

    /// <summary>What both platforms' catalogs take from .NET's NetworkInterface.</summary>
    internal static class NetworkInterfaces
    {
        /// <summary>The interface's unicast addresses; none when it went away between listing and asking.</summary>
        public static List<IPAddress> UnicastAddresses(System.Net.NetworkInformation.NetworkInterface nic)
        {
            var addresses = new List<IPAddress>();
            try
            {
                foreach (var u in nic.GetIPProperties().UnicastAddresses) addresses.Add(u.Address);
            }
            catch (System.Net.NetworkInformation.NetworkInformationException) { }
            return addresses;
        }
    }
}
