#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# The right behaviour where users have reported faults (issue #10). These pin what users expect;
# they fail until the fixes land:
#   - an empty pipeline (`@() | Get-MonitoredConnection`) printed the whole table
#   - Export-Csv wrote three identical columns: OwningProcess, PID and ProcessId
#   - Watch-Connection | ConvertTo-Json expanded Age into a nested TimeSpan object
#   - Show-ConnectionMonitor's output could not be captured in a variable

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig

    $loopback = [System.Net.IPAddress]::Loopback
    $listener = [System.Net.Sockets.TcpListener]::new($loopback, 0)
    $listener.Start()
    $port = $listener.LocalEndpoint.Port
}

AfterAll {
    $listener.Stop()
    Exit-TestConfig
    Remove-Module ConnectionsMonitor -ErrorAction SilentlyContinue
}

Describe 'Empty pipeline input' {
    It 'gives no rows for an empty array piped in' {
        @(@() | Get-MonitoredConnection) | Should -HaveCount 0
    }

    It 'gives no rows when a filter upstream matched no process' {
        @(Get-Process -Id $PID | Where-Object { $false } | Get-MonitoredConnection) | Should -HaveCount 0
    }
}

Describe 'Export-Csv columns' {
    It 'writes the process id once, as ProcessId' {
        $header = @(Get-MonitoredConnection -LocalPort $port -State Listen | ConvertTo-Csv -NoTypeInformation)[0]
        $columns = @($header -split ',' | ForEach-Object { $_.Trim('"') })
        $columns | Should -Contain 'ProcessId'
        @($columns | Where-Object { $_ -in 'OwningProcess', 'PID' }) | Should -HaveCount 0
        # OwningProcess and PID stay reachable on the object for scripts written for Get-NetTCPConnection.
        $row = Get-MonitoredConnection -LocalPort $port -State Listen
        $row.OwningProcess | Should -Be $PID
        $row.PID | Should -Be $PID
    }
}

Describe 'Watch-Connection | ConvertTo-Json' {
    It 'has no nested object for Age' {
        $ps = [PowerShell]::Create()
        $opened = @()
        try {
            $async = Start-WatchInBackground $ps "Watch-Connection -LocalPort $port -ProcessId $PID -State Established -RefreshInterval 200 -Count 1 -Verbose | ConvertTo-Json -Compress"
            $opened = Open-UntilReported $listener { param($ms) $async.AsyncWaitHandle.WaitOne($ms) }.GetNewClosure()
            $json = @($ps.EndInvoke($async)) -join ''
            $event = $json | ConvertFrom-Json
            $event.ChangeType | Should -Be 'Opened'
            $event.LocalPort | Should -Be $port
            $event.PSObject.Properties.Name | Should -Contain 'AgeSeconds'
            $event.AgeSeconds | Should -BeOfType [long]
            # Opened while watched: its age is measured, not a lower bound. $false, not $null (unknown).
            $event.AgeIsLowerBound | Should -BeOfType [bool]
            $event.AgeIsLowerBound | Should -Be $false
            @($event.PSObject.Properties | Where-Object { $_.Value -is [System.Management.Automation.PSCustomObject] } | ForEach-Object Name) | Should -Be @()
            $json | Should -Not -Match '"Ticks"'
        }
        finally { foreach ($o in $opened) { $o.Dispose() }; $ps.Dispose() }
    }
}

Describe 'Show-ConnectionMonitor captured in a variable' {
    It 'returns one plain-text frame with the header' {
        $x = Show-ConnectionMonitor -LocalPort $port -Count 1
        @($x).Count | Should -BeGreaterThan 0
        @($x | Where-Object { $_ -isnot [string] }) | Should -HaveCount 0
        $text = @($x) -join "`n"
        $text | Should -Match 'Proto\s+Local\s+Port\s+Foreign\s+State\s+PID\s+Process\s+Geo\s+Bytes\s+Rate\s+Age'
        $text | Should -Match "127\.0\.0\.1:$port\s+$port\s+0\.0\.0\.0:0\s+Listen\s+$PID\b"
        $text | Should -Not -Match ([char]27)
    }
}

Describe 'A relative $env:CONNECTIONSMONITOR_CONFIG' {
    It 'is taken relative to the current PowerShell location, as -ConfigPath is' {
        $saved = $env:CONNECTIONSMONITOR_CONFIG
        $dir = Join-Path ([System.IO.Path]::GetTempPath()) ("cm-relcfg-" + [guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $dir
        Set-Content -LiteralPath (Join-Path $dir 'bad.yml') -Value 'refreshInterval: fast' -Encoding ASCII
        Push-Location $dir
        try {
            $env:CONNECTIONSMONITOR_CONFIG = './bad.yml'
            $failure = $null
            try { Get-MonitoredConnection -LocalPort 1 -ErrorAction Stop } catch { $failure = $_ }
            $failure | Should -Not -BeNullOrEmpty
            # The error names the file in this location (it exists, and is wrong), not a missing one elsewhere.
            $failure.Exception.Message | Should -BeLike "*$([System.IO.Path]::Combine((Get-Location).ProviderPath, 'bad.yml'))*"
            $failure.Exception.Message | Should -BeLike "*refreshInterval*"
        }
        finally {
            Pop-Location
            $env:CONNECTIONSMONITOR_CONFIG = $saved
            Remove-Item -LiteralPath $dir -Recurse -Force
        }
    }
}

Describe 'A process whose name is a spreadsheet formula or carries an escape sequence' -Skip:($PSVersionTable.PSEdition -ne 'Core' -or -not $IsLinux) {
    # Linux: python3 under a hostile name (a symlink: the kernel's comm is its first 15 bytes, the path the whole name). Windows
    # file names cannot hold ESC; the object rule is the same there (OutputMapper.Outside).
    It 'reaches Export-Csv, ToString and a chosen-property table inert, and ProcessId still names it exactly' {
        $dir = Join-Path ([System.IO.Path]::GetTempPath()) ("cm-hostile-" + [guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $dir
        $formula = "=cmd|' calc'!A1"
        $escape = "$([char]27)[31mred"
        $children = @()
        try {
            $ports = @()
            foreach ($name in $formula, $escape) {
                $probe = [System.Net.Sockets.TcpListener]::new($loopback, 0); $probe.Start(); $p = $probe.LocalEndpoint.Port; $probe.Stop()
                $ports += $p
                $link = [System.IO.Path]::Combine($dir, $name)
                $null = [System.IO.File]::CreateSymbolicLink($link, '/usr/bin/python3') # New-Item reads [31m as a wildcard
                $start = [System.Diagnostics.ProcessStartInfo]::new($link) # Start-Process reads it as a wildcard too
                $start.ArgumentList.Add('-c'); $start.ArgumentList.Add("import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$p)); s.listen(); time.sleep(60)")
                $children += [System.Diagnostics.Process]::Start($start)
            }
            $rows = $null
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while ([DateTime]::UtcNow -lt $deadline) {
                $rows = @(Get-MonitoredConnection -LocalPort $ports -State Listen)
                if ($rows.Count -eq 2) { break }
                Start-Sleep -Milliseconds 200
            }
            $rows | Should -HaveCount 2
            $byPort = @{}; foreach ($r in $rows) { $byPort[$r.LocalPort] = $r }
            $byPort[$ports[0]].ProcessId | Should -Be $children[0].Id
            $byPort[$ports[0]].ProcessName | Should -Be "'$formula"
            $byPort[$ports[0]].ProcessPath | Should -Match '^/usr/bin/python3' -Because 'the path is the executable''s (/proc/PID/exe), kept as it is'
            $byPort[$ports[1]].ProcessId | Should -Be $children[1].Id
            $byPort[$ports[1]].ProcessName | Should -Be "$([char]0x241B)[31mred"

            $csv = Join-Path $dir 'audit.csv'
            $rows | Export-Csv -LiteralPath $csv -NoTypeInformation
            $text = Get-Content -LiteralPath $csv -Raw
            $text | Should -Not -Match ([char]27)
            $text | Should -Not -Match '(^|,)"=' -Because 'no cell starts with a formula'
            @(Import-Csv -LiteralPath $csv | Sort-Object { [int]$_.LocalPort } | ForEach-Object ProcessName) | Should -Be @(($rows | Sort-Object LocalPort).ProcessName)

            foreach ($r in $rows) { "$r" | Should -Not -Match ([char]27) }
            ($rows | Format-Table LocalPort, ProcessName | Out-String) | Should -Not -Match ([char]27)
            ($rows | Group-Object ProcessName | Out-String) | Should -Not -Match ([char]27)
        }
        finally {
            foreach ($c in $children) { Stop-Process -Id $c.Id -Force -ErrorAction SilentlyContinue }
            Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}
