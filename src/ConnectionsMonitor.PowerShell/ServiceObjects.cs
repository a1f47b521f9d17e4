namespace ConnectionsMonitor
{
    /// <summary>
    /// The service Install-ConnectionMonitorService set up (or would set up, with -WhatIf nothing is returned). Flat
    /// strings and booleans, so it survives Export-Csv, ConvertTo-Json and remoting.
    /// </summary>
    public class ConnectionMonitorService
    {
        /// <summary>The unit name (Linux) or service name (Windows).</summary>
        public string Name { get; set; }
        /// <summary>"systemd" or "WindowsService".</summary>
        public string Kind { get; set; }
        /// <summary>The unit file written (Linux); null on Windows, where the service manager keeps the registration.</summary>
        public string UnitPath { get; set; }
        /// <summary>The cmon executable the service runs.</summary>
        public string HostPath { get; set; }
        /// <summary>The config.yml given to the service (--config); null when it uses its own lookup.</summary>
        public string ConfigPath { get; set; }
        /// <summary>The history file the service writes: --history when given, else the configuration's history.path, else the default one, which Get-ConnectionHistory -Service reads; null when the configuration keeps no history (monitoring.trackHistory: false).</summary>
        public string HistoryPath { get; set; }
        /// <summary>The account: "DynamicUser" (a transient account systemd makes), the -User given, or "LocalSystem" on Windows.</summary>
        public string Account { get; set; }
        /// <summary>Linux capabilities granted, space-separated (CAP_DAC_READ_SEARCH CAP_SYS_PTRACE, and CAP_NET_RAW for port-scan capture); null on Windows.</summary>
        public string Capabilities { get; set; }
        /// <summary>True when the service was enabled and started; false with -NoStart.</summary>
        public bool Started { get; set; }
        /// <summary>The service's command line (systemd's ExecStart= or the Windows binPath).</summary>
        public string CommandLine { get; set; }
        /// <summary>Windows: the Event Log source registered for alerts.eventLog, as "SOURCE in LOG" (ConnectionsMonitor in Application); null on Linux.</summary>
        public string EventLogSource { get; set; }
    }
}
