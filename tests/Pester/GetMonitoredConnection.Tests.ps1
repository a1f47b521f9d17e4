#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# Pester suite for Windows PowerShell 5.1 and PowerShell 7 (Windows and Linux). Run by
# ./build.ps1 -Test after the module is built into out/ConnectionsMonitor.

BeforeDiscovery {
    # -Skip is evaluated at discovery, before BeforeAll runs.
    $isWindowsOS = [System.Environment]::OSVersion.Platform -eq 'Win32NT'
}

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig

    $loopback = [System.Net.IPAddress]::Loopback

    $pair = New-LoopbackPair
    $listenerPort = $pair.Port
    $clientPort = $pair.ClientPort

    $udp = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new($loopback, 0))
    $udpPort = $udp.Client.LocalEndPoint.Port
}

AfterAll {
    Remove-LoopbackPair $pair; $udp.Dispose()
    Exit-TestConfig
    Remove-Module ConnectionsMonitor -ErrorAction SilentlyContinue
}

Describe 'Module' {
    It 'exports Get-MonitoredConnection with an OutputType' {
        $cmd = Get-Command -Module ConnectionsMonitor -Name Get-MonitoredConnection
        $cmd.OutputType.Name | Should -Contain 'ConnectionsMonitor.MonitoredConnection'
    }

    It 'has help with examples for every cmdlet' {
        foreach ($name in (Get-Command -Module ConnectionsMonitor).Name) {
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        }
    }
}

Describe 'Get-MonitoredConnection' {
    It 'reports this session''s TCP listener with its process' {
        $row = Get-MonitoredConnection -LocalPort $listenerPort -State Listen
        $row | Should -HaveCount 1
        $row.Protocol | Should -Be 'TCP'
        $row.LocalAddress | Should -Be '127.0.0.1'
        $row.ProcessId | Should -Be $PID
        $row.OwningProcess | Should -Be $PID
        $row.ProcessName | Should -Be (Get-Process -Id $PID).ProcessName
    }

    It 'reports both ends of an established loopback connection' {
        $rows = Get-MonitoredConnection -Port $listenerPort -State Established -ProcessId $PID
        $rows | Should -HaveCount 2
        ($rows | Where-Object LocalPort -eq $clientPort).RemotePort | Should -Be $listenerPort
    }

    It 'reports a UDP endpoint without state or remote end' {
        $row = Get-MonitoredConnection -Protocol UDP -LocalPort $udpPort
        $row | Should -HaveCount 1
        $row.State | Should -BeNullOrEmpty
        $row.RemoteAddress | Should -BeNullOrEmpty
    }

    It 'lists a TCP socket that is bound but neither listens nor connects only for -State Closed, counts it in statistics, and commands that watch through the sampler say they cannot see it (Linux 6.7+, where sock_diag reports such sockets)' -Skip:($isWindowsOS -or [System.Environment]::OSVersion.Version -lt [version]'6.7') {
        $bound = [System.Net.Sockets.Socket]::new([System.Net.Sockets.AddressFamily]::InterNetwork, [System.Net.Sockets.SocketType]::Stream, [System.Net.Sockets.ProtocolType]::Tcp)
        try {
            $bound.Bind([System.Net.IPEndPoint]::new($loopback, 0))
            $port = $bound.LocalEndPoint.Port
            Get-MonitoredConnection -Protocol TCP -LocalPort $port | Should -BeNullOrEmpty
            $row = Get-MonitoredConnection -LocalPort $port -State Closed
            $row | Should -HaveCount 1
            $row.State | Should -Be 'Closed'
            $row.ProcessId | Should -Be $PID
            Get-MonitoredConnection -LocalPort $port -State Listen, Established | Should -BeNullOrEmpty
            # Counted, and shown in the statistics' list view.
            $stats = Get-ConnectionStatistic -State Closed -LocalPort $port
            $stats.Closed | Should -Be 1
            ($stats | Out-String -Width 200) | Should -Match 'LastAck 0, Closed 1'
            # Commands that watch through the sampler, which leaves such sockets out, say so.
            $null = Register-ConnectionAlert -Name boundwatch -State Closed -MaxConnections 1 -WhatIf -WarningVariable ruleWarning -WarningAction SilentlyContinue
            ($ruleWarning -join ' ') | Should -Match 'bound to a port but neither listen nor connect .* Register-ConnectionAlert watches through the session.s sampler'
            $null = Watch-Connection -State Closed -LocalPort $port -Duration '00:00:01' -WarningVariable watchWarning -WarningAction SilentlyContinue
            ($watchWarning -join ' ') | Should -Match 'Watch-Connection watches through the session.s sampler'
            $null = Watch-Connection -State Listen -LocalPort $port -Duration '00:00:01' -WarningVariable quiet -WarningAction SilentlyContinue
            ($quiet -join ' ') | Should -Not -Match 'bound to a port'
        }
        finally { $bound.Dispose() }
    }

    It 'binds -ProcessId from Get-Process output' {
        # The listener and the server end of the accepted connection are both this process's.
        $rows = Get-Process -Id $PID | Get-MonitoredConnection -LocalPort $listenerPort
        $rows | Should -HaveCount 2
        @($rows | Sort-Object State | ForEach-Object { "$($_.State) $($_.ProcessId)" }) | Should -Be @("Established $PID", "Listen $PID")
        Get-Process -Id $PID | Get-MonitoredConnection -LocalPort $listenerPort -State Listen | Should -HaveCount 1
    }

    It 'filters by CIDR and wildcard remote address' {
        Get-MonitoredConnection -State Established -RemoteAddress 127.0.0.0/8 -LocalPort $clientPort | Should -HaveCount 1
        Get-MonitoredConnection -State Established -RemoteAddress '127.0.*' -LocalPort $clientPort | Should -HaveCount 1
        Get-MonitoredConnection -RemoteAddress 10.0.0.0/8 -LocalPort $clientPort | Should -HaveCount 0
    }

    It 'leaves out loopback with -ExcludeLoopback' {
        Get-MonitoredConnection -ExcludeLoopback -LocalPort $listenerPort, $clientPort, $udpPort | Should -HaveCount 0
    }

    It 'rejects an invalid CIDR and an out-of-range port as parameter errors' {
        { Get-MonitoredConnection -RemoteAddress 10.0.0.0/33 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,ConnectionsMonitor.Commands.GetMonitoredConnectionCommand'
        { Get-MonitoredConnection -Port 70000 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,ConnectionsMonitor.Commands.GetMonitoredConnectionCommand'
    }

    It 'exports to CSV and JSON with flat values' {
        $csv = Join-Path ([System.IO.Path]::GetTempPath()) "cm-$PID.csv"
        try {
            Get-MonitoredConnection -LocalPort $listenerPort -State Listen | Export-Csv -Path $csv -NoTypeInformation
            $back = Import-Csv -Path $csv
            $back | Should -HaveCount 1
            $back.LocalPort | Should -Be "$listenerPort"
            $back.ProcessId | Should -Be "$PID"
            $back.Country | Should -Be ''
        }
        finally { Remove-Item $csv -ErrorAction SilentlyContinue }
        $json = Get-MonitoredConnection -LocalPort $listenerPort -State Listen | ConvertTo-Json | ConvertFrom-Json
        $json.LocalPort | Should -Be $listenerPort
        $json.Country | Should -BeNullOrEmpty
    }

    It 'shows the seed''s columns in the default table view' {
        $text = Get-MonitoredConnection -LocalPort $listenerPort -State Listen | Out-String -Width 200
        $text | Should -Match 'Proto\s+Local\s+Foreign\s+State\s+Process\s+PID\s+Geo\s+Bytes\s+Age\s+Port'
    }

    It 'lays out names with combining marks in the table view without a false ellipsis (measured as pwsh''s console host measures)' {
        # pwsh's console host counts a combining mark as a cell though a terminal draws it in none; a value it counts wider than
        # the column is cut with an ellipsis. Composable names ("e" + U+0301) are shown composed and line up exactly; a mark
        # with no composed form keeps the whole name (the row is a cell short: PowerShell's count).
        function Row([string] $name) {
            [ConnectionsMonitor.MonitoredConnection]@{ Protocol = 'TCP'; LocalAddress = '127.0.0.1'; LocalPort = 8080; RemoteAddress = '127.0.0.1'
                RemotePort = 50000; State = 'Established'; ProcessId = 4242; ProcessName = $name; AddressScope = 'Loopback' }
        }
        $names = 'python3', "e$([char]0x301)e$([char]0x301)e$([char]0x301)x", "x$([char]0x301)q$([char]0x301)z", "$([char]0x4E2D)$([char]0x6587)"
        $lines = @($names | ForEach-Object { Row $_ } | Out-String -Width 150) -split "\r?\n" | Where-Object { $_ -match '4242' }
        $lines | Should -HaveCount 4
        $lines | ForEach-Object { $_ | Should -Not -Match ([regex]::Escape([string][char]0x2026)) }
        $pidEnd = { param($line) $Host.UI.RawUI.LengthInBufferCells($line.Substring(0, $line.IndexOf('4242') + 4)) }
        $reference = & $pidEnd $lines[0]
        $lines[1] | Should -Match "$([char]0xE9)$([char]0xE9)$([char]0xE9)x"   # composed: one character each
        & $pidEnd $lines[1] | Should -Be $reference
        & $pidEnd $lines[3] | Should -Be $reference                            # Chinese: two cells a character, as pwsh counts them
        $lines[2] | Should -Match ([regex]::Escape("x$([char]0x301)q$([char]0x301)z"))
        & $pidEnd $lines[2] | Should -Be $reference                            # pwsh's own count lines it up; a terminal draws it 2 cells short
    }

    It 'round-trips through remoting serialization' {
        $row = Get-MonitoredConnection -LocalPort $listenerPort -State Listen
        $back = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($row))
        $back.PSObject.TypeNames[0] | Should -Be 'Deserialized.ConnectionsMonitor.MonitoredConnection'
        $back.LocalPort | Should -Be $listenerPort
    }

    It 'agrees with Get-NetTCPConnection (Windows only: there is no Get-NetTCPConnection elsewhere)' -Skip:(-not $isWindowsOS) {
        $ours = Get-MonitoredConnection -LocalPort $clientPort -State Established
        $theirs = Get-NetTCPConnection -LocalPort $clientPort -State Established
        $ours.OwningProcess | Should -Be $theirs.OwningProcess
        $ours.RemotePort | Should -Be $theirs.RemotePort
        $ours.CreationTime | Should -Not -BeNullOrEmpty
        [math]::Abs(($ours.CreationTime - $theirs.CreationTime).TotalSeconds) | Should -BeLessThan 2
    }

    It 'gives a configuration error naming file, line and key' {
        $bad = Join-Path ([System.IO.Path]::GetTempPath()) "cm-bad-$PID.yml"
        Set-Content -Path $bad -Value "resolveDNS: false`nrefreshInterval: fast`n"
        try {
            { Get-MonitoredConnection -ConfigPath $bad } | Should -Throw -ExpectedMessage '*line 2*refreshInterval*'
        }
        finally { Remove-Item $bad -ErrorAction SilentlyContinue }
    }
}

Describe 'MonitoredConnection and ConnectionEvent storage' {
    # Both keep their nullable numbers as bare values with a has-value bit each, and the remote end's details in an object
    # made only for a value: every settable property must read back what was set, null included, and setting one must
    # leave the others as they were (a shared bit or field would not).
    It 'reads back every property of <Type> as set, and setting one leaves the others alone' -TestCases @(
        @{ Type = 'ConnectionsMonitor.MonitoredConnection' }, @{ Type = 'ConnectionsMonitor.ConnectionEvent' }) {
        param($Type)
        function Get-Sample([type] $PropertyType) {
            $under = [Nullable]::GetUnderlyingType($PropertyType)
            $values = switch ($(if ($under) { $under } else { $PropertyType })) {
                ([string]) { @('a', 'b') }
                ([int]) { @([int]7, [int]-3) }
                ([long]) { @([long]7, [long]::MaxValue) }
                ([double]) { @([double]1.5, [double]-2.25) }
                ([bool]) { @($true, $false) }
                ([datetime]) { @([datetime]::new(2026, 12, 2, 1, 2, 3), [datetime]::MinValue) }
                default { throw "no sample for $PropertyType" }
            }
            if ($under -or -not $PropertyType.IsValueType) { $values += , $null }
            , $values
        }
        $row = New-Object -TypeName $Type
        $properties = @($row.GetType().GetProperties() | Where-Object { $_.CanRead -and $_.CanWrite })
        $properties.Count | Should -BeGreaterOrEqual 30
        $expected = @{}
        foreach ($q in $properties) { $expected[$q.Name] = $q.GetValue($row) }
        $mismatches = [System.Collections.Generic.List[string]]::new()
        foreach ($p in $properties) {
            foreach ($value in (Get-Sample $p.PropertyType)) {
                $p.SetValue($row, $value)
                $expected[$p.Name] = $value
                foreach ($q in $properties) {
                    if (-not [object]::Equals($expected[$q.Name], $q.GetValue($row))) { $mismatches.Add("$($q.Name) after $($p.Name) = '$value'") }
                }
            }
        }
        $mismatches | Should -BeNullOrEmpty
    }
}
