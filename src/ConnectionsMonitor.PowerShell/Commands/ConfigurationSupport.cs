using System.Collections.Generic;
using System.Management.Automation;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Commands
{
    internal static class ConfigurationSupport
    {
        // Filled in when the configuration loader lands.
        internal static IEnumerable<ConnectionQuery> LoadFilters(PSCmdlet cmdlet, string explicitPath) => new ConnectionQuery[0];
    }
}
