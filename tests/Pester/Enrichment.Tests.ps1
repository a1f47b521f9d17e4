#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# Enrichment on Windows PowerShell 5.1 and PowerShell 7: address scope, offline GeoIP with the
# bundled databases, VPN fields and country filters. Run by ./build.ps1 -Test after the build.

BeforeAll {
    $moduleRoot = [System.IO.Path]::Combine($PSScriptRoot, '..', '..', 'out', 'ConnectionsMonitor')
    Import-Module ([System.IO.Path]::Combine($moduleRoot, 'ConnectionsMonitor.psd1')) -Force -ErrorAction Stop

    $loopback = [System.Net.IPAddress]::Loopback
    $listener = [System.Net.Sockets.TcpListener]::new($loopback, 0)
    $listener.Start()
    $listenerPort = $listener.LocalEndpoint.Port
    $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
    $client.Connect($loopback, $listenerPort)
    $server = $listener.AcceptTcpClient()

    # An empty GeoIP data folder, so databases downloaded on this machine do not change the answers.
    $geoDir = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'cm-pester-geo-' + [guid]::NewGuid())
    $config = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'cm-pester-' + [guid]::NewGuid() + '.yml')
    Set-Content -LiteralPath $config -Value "resolveDNS: false`ngeoip:`n  directory: '$geoDir'`n"
}

AfterAll {
    $client.Dispose(); $server.Dispose(); $listener.Stop()
    Remove-Item -LiteralPath $config -ErrorAction SilentlyContinue
    Remove-Module ConnectionsMonitor -ErrorAction SilentlyContinue
}

Describe 'Bundled GeoIP data' {
    It 'ships the DB-IP Lite country and ASN databases with their licence' {
        foreach ($file in 'dbip-country.mmdb', 'ip-location-db-asn.mmdb', 'DBIP-LICENSE.txt') {
            [System.IO.Path]::Combine($moduleRoot, 'GeoIP', $file) | Should -Exist
        }
    }
}

Describe 'Enrichment of loopback connections' {
    It 'gives loopback rows a scope and no country' {
        $rows = Get-MonitoredConnection -ConfigPath $config -Port $listenerPort -State Established -ProcessId $PID
        $rows | Should -HaveCount 2
        foreach ($row in $rows) {
            $row.AddressScope | Should -Be 'Loopback'
            # Unknown is $null, not '' or 0; IsVpn is $false (detection ran, nothing matched), not $null.
            $null -eq $row.Country | Should -Be $true
            $null -eq $row.Asn | Should -Be $true
            $row.IsVpn | Should -BeOfType [bool]
            $row.IsVpn | Should -Be $false
        }
    }

    It 'gives a listener the Unspecified scope in the Geo column' {
        $text = Get-MonitoredConnection -ConfigPath $config -LocalPort $listenerPort -State Listen | Out-String -Width 200
        $text | Should -Match 'Unspecified'
    }

    It 'matches no loopback row when filtering by country' {
        Get-MonitoredConnection -ConfigPath $config -Port $listenerPort -Country US | Should -BeNullOrEmpty
    }

    It 'survives Export-Csv with the enrichment columns' {
        $csv = Get-MonitoredConnection -ConfigPath $config -Port $listenerPort -State Established -ProcessId $PID | ConvertTo-Csv -NoTypeInformation
        $csv[0] | Should -Match '"AddressScope"'
        $csv[0] | Should -Match '"Country"'
        $csv[0] | Should -Match '"IsVpn"'
    }
}

Describe 'Parameter validation' {
    It 'rejects a country code that is not two letters, saying what is expected' {
        { Get-MonitoredConnection -Country USA -ErrorAction Stop } | Should -Throw -ExpectedMessage '*ISO 3166-1*'
    }
}
