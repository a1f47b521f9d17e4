using System.Collections.Generic;
using System.Net;
using System.Net.NetworkInformation;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// Windows adapters from GetAdaptersAddresses (through .NET's NetworkInterface): friendly name,
    /// driver description, interface type and unicast addresses; classified by <see cref="WindowsAdapterRules"/>.
    /// </summary>
    public sealed class WindowsNetworkInterfaceCatalog : INetworkInterfaceCatalog
    {
        /// <inheritdoc/>
        public IReadOnlyList<NetworkInterfaceInfo> Read()
        {
            var result = new List<NetworkInterfaceInfo>();
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                var addresses = NetworkInterfaces.UnicastAddresses(nic);
                var type = nic.NetworkInterfaceType;
                var kind = WindowsAdapterRules.Classify(nic.Description, type, nic.Name);
                result.Add(new NetworkInterfaceInfo(nic.Name, nic.Description, type.ToString(), kind, false, true, addresses));
            }
            return result;
        }
    }
}
