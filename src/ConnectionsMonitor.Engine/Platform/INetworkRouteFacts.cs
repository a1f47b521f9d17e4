using System;
using System.Collections.Generic;
using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.InteropServices;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>What the blocking guard needs to know of this machine's network: its default gateways and its own addresses.</summary>
    public interface INetworkRouteFacts
    {
        /// <summary>
        /// The next hops of the default routes (0.0.0.0/0 and ::/0), IPv4 and IPv6, read now. Linux: /proc/net/route
        /// and /proc/net/ipv6_route of the calling process's network namespace; Windows: the adapters' gateway
        /// addresses (GetAdaptersAddresses). Throws IOException or NetworkInformationException when they cannot be read.
        /// </summary>
        IReadOnlyList<IPAddress> DefaultGateways();

        /// <summary>The unicast addresses of this machine's interfaces (loopback included), read now.</summary>
        IReadOnlyList<IPAddress> LocalAddresses();
    }

    /// <summary>The running machine's facts (see <see cref="INetworkRouteFacts"/> for the sources).</summary>
    public sealed class SystemNetworkRouteFacts : INetworkRouteFacts
    {
        /// <inheritdoc/>
        public IReadOnlyList<IPAddress> DefaultGateways()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                var list = new List<IPAddress>(Linux.ProcNetRoute.DefaultGateways4(System.IO.File.ReadAllText("/proc/net/route")));
                if (System.IO.File.Exists("/proc/net/ipv6_route"))
                    list.AddRange(Linux.ProcNetRoute.DefaultGateways6(System.IO.File.ReadAllText("/proc/net/ipv6_route")));
                return list;
            }
            var gateways = new List<IPAddress>();
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up) continue;
                foreach (var g in nic.GetIPProperties().GatewayAddresses)
                    if (g.Address != null && !g.Address.Equals(IPAddress.Any) && !g.Address.Equals(IPAddress.IPv6Any) && !gateways.Contains(g.Address)) gateways.Add(g.Address);
            }
            return gateways;
        }

        /// <inheritdoc/>
        public IReadOnlyList<IPAddress> LocalAddresses()
        {
            var list = new List<IPAddress>();
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                foreach (var a in NetworkInterfaces.UnicastAddresses(nic))
                    if (!list.Contains(a)) list.Add(a);
            return list;
        }
    }
}
