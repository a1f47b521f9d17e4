using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Loading;

namespace ConnectionsMonitor.Commands
{
    /// <summary>Finds and loads config.yml for a cmdlet call (cached per file version), turning problems into PowerShell errors and warnings.</summary>
    internal static class ConfigurationSupport
    {
        private static readonly ConfigCache Cache = new ConfigCache();
        private static readonly ConfigLocator Locator = new ConfigLocator();

        internal static MonitorConfig Load(PSCmdlet cmdlet, string explicitPath)
        {
            // -ConfigPath is relative to PowerShell's location, which is not the process's directory.
            string resolved = string.IsNullOrEmpty(explicitPath) ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(explicitPath);
            ConfigLoadResult result;
            try
            {
                var location = Locator.Locate(resolved, Path.Combine(ModuleInitializer.ModuleBase, ConfigLocator.FileName));
                result = Cache.Get(location);
            }
            catch (ConfigException ex)
            {
                cmdlet.ThrowTerminatingError(new ErrorRecord(ex, "InvalidConfiguration", ErrorCategory.InvalidData, ex.FilePath));
                return null; // not reached
            }
            foreach (var warning in result.Warnings) CmdletSupport.WarnOncePerSession(cmdlet, warning.Message);
            return result.Config;
        }

    }
}
