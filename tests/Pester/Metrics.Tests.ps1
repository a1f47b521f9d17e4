#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# The Prometheus endpoint in a real PowerShell (Windows PowerShell 5.1 and PowerShell 7 on Windows and Linux):
# Start-, Get-, Stop-ConnectionMetrics, and what Invoke-WebRequest gets from /metrics.

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    # Every process name its own series, so this PowerShell's listeners have a gauge of their own.
    $null = Enter-TestConfig "metrics:`n  topProcesses: 1000`n"
}

AfterAll {
    Stop-ConnectionMetrics -WarningAction SilentlyContinue
    Exit-TestConfig
}

Describe 'The metrics endpoint of this session' {
    It 'serves the gauge of listeners this PowerShell opened, and -WhatIf on Stop leaves it running' {
        $listeners = @(1..3 | ForEach-Object {
            $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $l.Start()
            $l
        })
        try {
            $endpoint = Start-ConnectionMetrics -Port 0 -Interval 1
            $endpoint.Url | Should -Match '^http://127\.0\.0\.1:\d+/metrics$'
            $endpoint.IsRunning | Should -BeTrue
            $endpoint.RequiresBearerToken | Should -BeFalse

            $response = Invoke-WebRequest -Uri $endpoint.Url -UseBasicParsing
            $response.StatusCode | Should -Be 200
            $content = if ($response.Content -is [byte[]]) { [System.Text.Encoding]::UTF8.GetString($response.Content) } else { $response.Content }
            $name = (Get-Process -Id $PID).ProcessName
            $line = @($content -split "`n" | Where-Object { $_ -like "connectionsmonitor_process_connections{process=`"$name`"} *" })
            $line.Count | Should -Be 1
            [int]($line[0] -split ' ')[1] | Should -BeGreaterOrEqual 3
            $content | Should -Match '(?m)^# TYPE connectionsmonitor_connections gauge$'

            $state = Get-ConnectionMetrics
            $state.Url | Should -Be $endpoint.Url
            $state.ScrapesServed | Should -Be 1
            $state.LastScrape | Should -Not -BeNullOrEmpty

            # The table view, and the flat shape that CSV and JSON keep.
            $table = ($state | Format-Table | Out-String -Width 200) -split "`r?`n" | Where-Object { $_.Trim() }
            $table[0] | Should -Match '^Running\s+Every\s+Scrapes\s+LastScrape\s+Token\s+Url$'
            $table[2] | Should -Match ('^True\s+1s\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+no\s+' + [regex]::Escape($endpoint.Url) + '$')
            $json = $state | ConvertTo-Json | ConvertFrom-Json
            $json.Url | Should -Be $endpoint.Url
            $json.Port | Should -Be $endpoint.Port
            $json.IsRunning | Should -BeTrue
            $csv = @($state | ConvertTo-Csv -NoTypeInformation | ConvertFrom-Csv)
            $csv.Count | Should -Be 1
            $csv[0].ScrapesServed | Should -Be '1'
            $csv[0].RequiresBearerToken | Should -Be 'False'

            Stop-ConnectionMetrics -WhatIf
            (Get-ConnectionMetrics).IsRunning | Should -BeTrue
            (Invoke-WebRequest -Uri $endpoint.Url -UseBasicParsing).StatusCode | Should -Be 200

            $final = Stop-ConnectionMetrics -PassThru
            $final.IsRunning | Should -BeFalse
            $final.ScrapesServed | Should -Be 2
            { Invoke-WebRequest -Uri $endpoint.Url -UseBasicParsing -TimeoutSec 5 } | Should -Throw
        }
        finally {
            $listeners | ForEach-Object { $_.Stop() }
        }
    }

    It 'refuses another address without a bearer token, saying what to do' {
        { Start-ConnectionMetrics -Port 0 -Address 0.0.0.0 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*-BearerToken*'
        Get-ConnectionMetrics | Where-Object IsRunning | Should -BeNullOrEmpty
    }
}
