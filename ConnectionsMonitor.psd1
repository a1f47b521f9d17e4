@{
    RootModule           = 'ConnectionsMonitor.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '5193454f-9fbd-4c73-bb05-1c07052e19eb'
    Author               = 'ConnectionsMonitor contributors'
    CompanyName          = 'ConnectionsMonitor'
    Copyright            = '(c) ConnectionsMonitor contributors. MIT License.'
    Description          = 'Shows what is connected to this machine, which program owns each connection, where the remote end is and how many bytes it moves, as typed objects for the pipeline. Windows (IP Helper) and Linux (netlink sock_diag).'
    CompatiblePSEditions = @('Desktop', 'Core')
    PowerShellVersion    = '5.1'
    FormatsToProcess     = @('ConnectionsMonitor.Format.ps1xml')
    TypesToProcess       = @('ConnectionsMonitor.Types.ps1xml')
    CmdletsToExport      = @('Get-MonitoredConnection', 'Get-TopTalker', 'Get-ConnectionStatistic', 'Watch-Connection', 'Show-ConnectionMonitor', 'Update-ConnectionGeoDatabase',
                            'Register-ConnectionAlert', 'Get-ConnectionAlert', 'Unregister-ConnectionAlert', 'Test-ConnectionAlert',
                            'Start-ConnectionRecording', 'Stop-ConnectionRecording', 'Get-ConnectionRecording', 'Get-ConnectionHistory',
                            'Install-ConnectionMonitorService', 'Uninstall-ConnectionMonitorService',
                            'Start-ConnectionMetrics', 'Get-ConnectionMetrics', 'Stop-ConnectionMetrics',
                            'Export-ConnectionBaseline', 'Compare-ConnectionBaseline',
                            'Start-ConnectionDashboard', 'Get-ConnectionDashboard', 'Stop-ConnectionDashboard',
                            'Block-ConnectionRemote', 'Unblock-ConnectionRemote', 'Get-ConnectionBlock')
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    FileList             = @('ConnectionsMonitor.psd1', 'ConnectionsMonitor.psm1', 'ConnectionsMonitor.Format.ps1xml', 'ConnectionsMonitor.Types.ps1xml', 'config.yml',
                             'GeoIP/dbip-country.mmdb', 'GeoIP/ip-location-db-asn.mmdb', 'GeoIP/SOURCES.md', 'GeoIP/DBIP-LICENSE.txt',
                             'GeoIP/ASN-DBIP-LICENSE.txt', 'GeoIP/ASN-NRO-LICENSE.txt', 'GeoIP/ASN-ROUTEVIEWS-LICENSE.txt')
    PrivateData          = @{
        PSData = @{
            Tags         = @('network', 'netstat', 'tcp', 'udp', 'connections', 'security', 'monitoring', 'geoip', 'dns', 'vpn', 'Windows', 'Linux', 'PSEdition_Desktop', 'PSEdition_Core')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ReleaseNotes = 'Native connection tables (IP Helper, netlink sock_diag) with real byte counters; offline GeoIP (bundled DB-IP Lite country and ASN data, CC BY 4.0), address scope, non-blocking reverse DNS and VPN detection; Update-ConnectionGeoDatabase.'
        }
    }
}
