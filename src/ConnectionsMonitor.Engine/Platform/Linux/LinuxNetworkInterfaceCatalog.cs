using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.NetworkInformation;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Linux interfaces: names and addresses from getifaddrs (through .NET's NetworkInterface), link
    /// kinds from /sys/class/net/IF/{type,uevent,tun_flags}.
    /// </summary>
    public sealed class LinuxNetworkInterfaceCatalog : INetworkInterfaceCatalog
    {
        private readonly string _sysClassNet;

        /// <summary>Reads the running kernel's /sys/class/net.</summary>
        public LinuxNetworkInterfaceCatalog() : this("/sys/class/net") { }

        internal LinuxNetworkInterfaceCatalog(string sysClassNet)
        {
            _sysClassNet = sysClassNet;
        }

        /// <inheritdoc/>
        public IReadOnlyList<NetworkInterfaceInfo> Read()
        {
            var result = new List<NetworkInterfaceInfo>();
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                var addresses = NetworkInterfaces.UnicastAddresses(nic);
                result.Add(Describe(nic.Name, addresses));
            }
            return result;
        }

        /// <summary>Reads the kernel facts of one interface and classifies it.</summary>
        internal NetworkInterfaceInfo Describe(string name, IReadOnlyList<IPAddress> addresses)
        {
            var dev = SysClassNet.DeviceName(name);
            var facts = dev == null
                ? SysClassNet.Parse(null, null, null)
                : SysClassNet.Parse(ReadSmall(dev, "type"), ReadSmall(dev, "uevent"), ReadSmall(dev, "tun_flags"));
            string kind = SysClassNet.TunnelKind(facts);
            bool byName = false;
            if (!facts.Known)
            {
                kind = SysClassNet.KindFromName(dev ?? name);
                byName = kind != null;
            }
            return new NetworkInterfaceInfo(name, null, facts.ToString(), kind, byName, facts.Known, addresses);
        }

        // Null for a file that is absent (tun_flags on non-tun links) or unreadable; sysfs attributes are one page at most.
        private string ReadSmall(string device, string file)
        {
            try
            {
                return File.ReadAllText(Path.Combine(_sysClassNet, device, file));
            }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }
    }
}
