using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>The seed's ipFiltering and connectionFiltering sections as engine queries.</summary>
    public static class ConfigFilters
    {
        /// <summary>Queries for the enabled filtering sections (none when both are disabled).</summary>
        public static IReadOnlyList<ConnectionQuery> ToQueries(MonitorConfig config)
        {
            var queries = new List<ConnectionQuery>();
            var ip = config.IpFiltering;
            if (ip.Enabled && (ip.Allowlist.Count > 0 || ip.Blocklist.Count > 0))
            {
                queries.Add(new ConnectionQuery
                {
                    RemoteAddresses = ip.Allowlist.ToList(),
                    RemoteAddressesApplyToPeersOnly = true,
                    ExcludedRemoteAddresses = ip.Blocklist.ToList(),
                });
            }
            var c = config.ConnectionFiltering;
            if (c.Enabled)
            {
                queries.Add(new ConnectionQuery
                {
                    Protocols = c.Protocols.ToList(),
                    Ports = c.Ports.ToList(),
                    ProcessNames = c.Processes.ToList(),
                    Countries = c.Countries.ToList(),
                });
            }
            return queries;
        }
    }
}
