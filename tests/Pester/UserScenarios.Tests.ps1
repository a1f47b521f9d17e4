#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# What PowerShell users do with the module's objects: format them at a terminal's width, export and
# re-import them, convert them to JSON, sort and group them, pipe processes in, ask for -WhatIf,
# press Tab, re-import the module, run it in parallel runspaces. Every assertion is about a socket
# the test itself opened, so the answers are exact. Windows PowerShell 5.1 and PowerShell 7.

BeforeDiscovery {
    # -Skip is evaluated at discovery, before BeforeAll runs.
    $isDesktop = $PSVersionTable.PSEdition -eq 'Desktop'
    $isWindowsOS = [System.Environment]::OSVersion.Platform -eq 'Win32NT'
}

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig

    $pair = New-LoopbackPair
    $port = $pair.Port
    $clientPort = $pair.ClientPort
    $processName = (Get-Process -Id $PID).ProcessName
    # Windows knows a connection's creation time (so Age is shown) and, elevated, its bytes.
    $onWindows = [System.Environment]::OSVersion.Platform -eq 'Win32NT'

    function Get-Lines([string] $Text) {
        @($Text -split "\r?\n" | Where-Object { $_.Trim() -ne '' })
    }
}

AfterAll {
    Remove-LoopbackPair $pair
    Exit-TestConfig
    Remove-Module ConnectionsMonitor -ErrorAction SilentlyContinue
}

Describe 'Format-Table and Format-List' {
    It 'shows every seed column for the listener at 200 columns' {
        $lines = Get-Lines (Get-MonitoredConnection -LocalPort $port -State Listen | Format-Table | Out-String -Width 200)
        $lines | Should -HaveCount 3
        $lines[0] | Should -Match '^Proto\s+Local\s+Foreign\s+State\s+Process\s+PID\s+Geo\s+Bytes\s+Age\s+Port$'
        $lines[1] | Should -Match '^-----\s+-----\s+-------\s+-----\s+-------\s+---\s+---\s+-----\s+---\s+----$'
        $fields = @($lines[2].Trim() -split '\s+')
        $fields[0..6] | Should -Be @('TCP', "127.0.0.1:$port", '0.0.0.0:0', 'Listen', $processName, "$PID", 'Unspecified')
        # The listener opened before this session first looked: its age is a lower bound ('>').
        $fields[-2] | Should -Match '^>\d+s$'
        $fields[-1] | Should -Be "$port"
        # On Linux a listener's bytes are unknown: blank, never a 0B placeholder.
        if (-not $onWindows) { $fields | Should -HaveCount 9 }
    }

    It 'fits 80 columns and keeps the leading columns whole' {
        $text = Get-MonitoredConnection -LocalPort $port -State Listen | Format-Table | Out-String -Width 80
        foreach ($line in $text -split "\r?\n") { $line.Length | Should -BeLessOrEqual 80 }
        $lines = Get-Lines $text
        # Exactly the five leading columns: PID is dropped whole, never squeezed to its last digit.
        $lines[0] | Should -Match '^Proto\s+Local\s+Foreign\s+State\s+Process$'
        $row = @($lines | Where-Object { $_ -like 'TCP *' })
        $row | Should -HaveCount 1
        $row[0] | Should -Match "^TCP\s+127\.0\.0\.1:$port\s+0\.0\.0\.0:0\s+Listen\s+$([regex]::Escape($processName))(\s|$)"
    }

    It 'renders chosen properties exactly with Format-Table -Property' {
        $lines = Get-Lines (Get-MonitoredConnection -LocalPort $port -State Listen | Format-Table LocalPort, State, ProcessId | Out-String -Width 80)
        $lines | Should -HaveCount 3
        $lines[0] | Should -Match '^LocalPort\s+State\s+ProcessId$'
        @($lines[2].Trim() -split '\s+') | Should -Be @("$port", 'Listen', "$PID")
    }

    It 'lists the listener''s properties at <_> columns' -ForEach @(80, 200) {
        $text = Get-MonitoredConnection -LocalPort $port -State Listen | Format-List | Out-String -Width $_
        foreach ($line in $text -split "\r?\n") { $line.Length | Should -BeLessOrEqual $_ }
        $pairs = @{}
        foreach ($line in Get-Lines $text) {
            $name, $value = $line -split '\s*:\s?', 2
            $pairs[$name.Trim()] = "$value".Trim()
        }
        $pairs['Protocol'] | Should -Be 'TCP'
        $pairs['LocalAddress'] | Should -Be '127.0.0.1'
        $pairs['LocalPort'] | Should -Be "$port"
        $pairs['RemoteAddress'] | Should -Be '0.0.0.0'
        $pairs['RemotePort'] | Should -Be '0'
        $pairs['State'] | Should -Be 'Listen'
        $pairs['ProcessId'] | Should -Be "$PID"
        $pairs['ProcessName'] | Should -Be $processName
        $pairs['AddressScope'] | Should -Be 'Unspecified'
        $pairs['Country'] | Should -Be ''
        if (-not $onWindows) { $pairs['BytesSent'] | Should -Be '' }
    }
}

Describe 'Export-Csv and Import-Csv' {
    BeforeEach {
        $csv = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-pester-$([guid]::NewGuid().ToString('N')).csv")
    }
    AfterEach {
        Remove-Item -LiteralPath $csv -ErrorAction SilentlyContinue
    }

    It 'round-trips the listener and both ends of the connection' {
        Get-MonitoredConnection -Port $port -ProcessId $PID | Export-Csv -LiteralPath $csv -NoTypeInformation
        $back = @(Import-Csv -LiteralPath $csv | Sort-Object { [int]$_.LocalPort }, State)
        $back | Should -HaveCount 3
        $expected = @(
            "TCP|127.0.0.1|$port|127.0.0.1|$clientPort|Established|$PID|$processName|Loopback",
            "TCP|127.0.0.1|$port|0.0.0.0|0|Listen|$PID|$processName|Unspecified",
            "TCP|127.0.0.1|$clientPort|127.0.0.1|$port|Established|$PID|$processName|Loopback"
        ) | Sort-Object { [int]($_ -split '\|')[2] }, { ($_ -split '\|')[5] }
        @($back | ForEach-Object { ($_.Protocol, $_.LocalAddress, $_.LocalPort, $_.RemoteAddress, $_.RemotePort, $_.State, $_.ProcessId, $_.ProcessName, $_.AddressScope) -join '|' }) |
            Should -Be $expected
        # Unknown stays empty in the file (not "0B", not "Unknown").
        @($back | ForEach-Object { $_.Country + $_.Asn + $_.CountryName }) | Should -Be @('', '', '')
    }

    It 'appends rows with -Append and reads them back' {
        # This PowerShell's own rows only: Linux gives an ephemeral port to more than one connection (to other peers), so
        # another program's connection can share $clientPort (a trial saw it fail so on a busy machine).
        Get-MonitoredConnection -LocalPort $port -State Listen -ProcessId $PID | Export-Csv -LiteralPath $csv -NoTypeInformation
        Get-MonitoredConnection -LocalPort $clientPort -State Established -ProcessId $PID | Export-Csv -LiteralPath $csv -NoTypeInformation -Append
        @(Import-Csv -LiteralPath $csv | ForEach-Object { "$($_.LocalPort) $($_.State)" }) | Should -Be @("$port Listen", "$clientPort Established")
    }
}

Describe 'ConvertTo-Json' {
    It 'gives flat JSON that reads back with the same values' {
        $json = Get-MonitoredConnection -LocalPort $port -State Listen | ConvertTo-Json -Compress
        $back = $json | ConvertFrom-Json
        $back.Protocol | Should -Be 'TCP'
        $back.LocalAddress | Should -Be '127.0.0.1'
        $back.LocalPort | Should -Be $port
        $back.State | Should -Be 'Listen'
        $back.ProcessId | Should -Be $PID
        $back.ProcessName | Should -Be $processName
        $back.Country | Should -BeNullOrEmpty
        $json | Should -Match '"Country":null'
        $json | Should -Match "`"LocalPort`":$port[,}]"
        # Flat: no property holds a nested object. (Age, a TimeSpan where the creation time is known,
        # is pinned in UserFaults.Tests.ps1 until it serializes flat.)
        @($back.PSObject.Properties | Where-Object { $_.Name -ne 'Age' -and $_.Value -is [System.Management.Automation.PSCustomObject] } | ForEach-Object Name) | Should -Be @()
    }

    It 'gives a JSON array for several rows' {
        $back = Get-MonitoredConnection -Port $port -ProcessId $PID | ConvertTo-Json | ConvertFrom-Json
        @($back) | Should -HaveCount 3
        @($back | ForEach-Object LocalPort | Sort-Object) | Should -Be @(@($port, $port, $clientPort) | Sort-Object)
    }
}

Describe 'Sort-Object and Group-Object' {
    It 'sorts by typed properties' {
        $rows = Get-MonitoredConnection -Port $port -ProcessId $PID
        @($rows | Sort-Object LocalPort, State | ForEach-Object { "$($_.LocalPort)/$($_.State)" }) |
            Should -Be @(@("$port/Established", "$port/Listen", "$clientPort/Established") | Sort-Object { [int]($_ -split '/')[0] }, { ($_ -split '/')[1] })
        # LocalPort is a number, not text: 9 sorts before 10 (checked against the values themselves).
        ($rows | Sort-Object LocalPort -Descending | Select-Object -First 1).LocalPort | Should -Be ([math]::Max($port, $clientPort))
        ($rows[0].LocalPort).GetType().Name | Should -BeIn @('Int32', 'UInt16', 'Int64')
    }

    It 'groups by state and by process' {
        $rows = Get-MonitoredConnection -Port $port -ProcessId $PID
        @($rows | Group-Object State | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Count)" }) | Should -Be @('Established=2', 'Listen=1')
        @($rows | Group-Object ProcessName | ForEach-Object { "$($_.Name)=$($_.Count)" }) | Should -Be @("$processName=3")
    }
}

Describe 'Pipeline binding' {
    It 'takes -ProcessId from Get-Process by property name' {
        $rows = @(Get-Process -Id $PID | Get-MonitoredConnection -LocalPort $port -State Listen)
        $rows | Should -HaveCount 1
        $rows[0].ProcessId | Should -Be $PID
        $rows[0].LocalPort | Should -Be $port
    }

    It 'takes -ProcessId from objects with an OwningProcess property' {
        $rows = @([pscustomobject]@{ OwningProcess = $PID } | Get-MonitoredConnection -LocalPort $clientPort)
        $rows | Should -HaveCount 1
        $rows[0].RemotePort | Should -Be $port
    }
}

Describe 'Update-ConnectionGeoDatabase -WhatIf' {
    It 'says what it would download and changes nothing' {
        $destination = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-pester-whatif-$([guid]::NewGuid().ToString('N'))")
        $null = New-Item -ItemType Directory -Path $destination
        try {
            # Port 9 (discard) on loopback: if -WhatIf ever downloaded, the request would fail loudly.
            $uri = 'http://127.0.0.1:9/country.mmdb.gz'
            $output = Update-ConnectionGeoDatabase -Uri $uri -DestinationPath $destination -WhatIf -ErrorVariable failures
            @($output) | Should -HaveCount 0
            @($failures) | Should -HaveCount 0
            @(Get-ChildItem -LiteralPath $destination -Force) | Should -HaveCount 0

            # The message goes to the host; a child PowerShell shows what the user sees.
            $shell = Get-TestPowerShellPath
            $script = "Import-Module '$ModuleManifest'; Update-ConnectionGeoDatabase -Uri '$uri' -DestinationPath '$destination' -WhatIf"
            $text = (& $shell -NoProfile -NonInteractive -Command $script) -join "`n"
            $LASTEXITCODE | Should -Be 0
            $target = [System.IO.Path]::Combine($destination, 'country.mmdb')
            $text | Should -BeLike "*What if: Performing the operation `"Download the Country database from $uri and install it`" on target `"$target`".*"
            @(Get-ChildItem -LiteralPath $destination -Force) | Should -HaveCount 0
        }
        finally { Remove-Item -LiteralPath $destination -Recurse -Force -ErrorAction SilentlyContinue }
    }
}

Describe 'Tab completion (TabExpansion2)' {
    BeforeAll {
        function Complete([string] $Line) {
            @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches)
        }
    }

    It 'completes -State with every TCP state' {
        @(Complete 'Get-MonitoredConnection -State ' | ForEach-Object CompletionText) |
            Should -Be @('Closed', 'CloseWait', 'Closing', 'DeleteTcb', 'Established', 'FinWait1', 'FinWait2', 'LastAck', 'Listen', 'SynReceived', 'SynSent', 'TimeWait')
        @(Complete 'Get-MonitoredConnection -State Es' | ForEach-Object CompletionText) | Should -Be @('Established')
    }

    It 'completes -ProcessName with the name of a process that owns a connection' {
        $prefix = $processName.Substring(0, [math]::Min(3, $processName.Length))
        $texts = @(Complete "Get-MonitoredConnection -ProcessName $prefix" | ForEach-Object CompletionText)
        $texts | Should -Contain $processName
        foreach ($t in $texts) { $t.Trim("'") | Should -BeLike "$prefix*" }
    }

    # A connected UDP socket sends nothing, yet carries a public remote end in the kernel's table
    # (Linux lists it; Windows' UDP table has no remote end).
    It 'completes -Country with the country of a current connection (not on Windows: its UDP table has no remote end)' -Skip:$isWindowsOS {
        $udp = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Any, 0))
        try {
            try { $udp.Connect('1.1.1.1', 53) }
            catch { Set-ItResult -Skipped -Because "this machine has no route to 1.1.1.1 ($($_.Exception.Message))"; return }
            $row = Get-MonitoredConnection -Protocol UDP -LocalPort $udp.Client.LocalEndPoint.Port
            $row.Country | Should -Be 'AU'     # the bundled DB-IP Lite database
            $found = Complete 'Get-MonitoredConnection -Country A'
            @($found | ForEach-Object CompletionText) | Should -Contain 'AU'
            ($found | Where-Object CompletionText -eq 'AU').ListItemText | Should -Be 'AU (Australia)'
            @(Complete 'Get-MonitoredConnection -Country A' | Where-Object { $_.CompletionText -notlike 'A*' }) | Should -HaveCount 0
            Get-MonitoredConnection -Country AU -LocalPort $udp.Client.LocalEndPoint.Port | Should -HaveCount 1
        }
        finally { $udp.Dispose() }
    }
}

Describe 'Remove-Module and Import-Module again' {
    It 'works the same after a re-import in the same session' {
        Remove-Module ConnectionsMonitor
        Get-Command Get-MonitoredConnection -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Import-Module $ModuleManifest -ErrorAction Stop
        $row = Get-MonitoredConnection -LocalPort $port -State Listen
        $row | Should -HaveCount 1
        $row.ProcessId | Should -Be $PID
        $row.PSObject.TypeNames[0] | Should -Be 'ConnectionsMonitor.MonitoredConnection'
        ($row | Out-String -Width 200) | Should -Match 'Proto\s+Local\s+Foreign\s+State\s+Process\s+PID\s+Geo\s+Bytes\s+Age\s+Port'
    }
}

Describe 'ForEach-Object -Parallel' {
    It 'runs Get-MonitoredConnection in parallel runspaces (PowerShell 7 only)' -Skip:$isDesktop {
        $manifest = $ModuleManifest
        $listenPort = $port
        $results = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
            Import-Module $using:manifest -ErrorAction Stop
            $row = Get-MonitoredConnection -LocalPort $using:listenPort -State Listen
            "$_ $(@($row).Count) $($row.ProcessId) $($row.State)"
        }
        @($results | Sort-Object) | Should -Be @(1..4 | ForEach-Object { "$_ 1 $PID Listen" })
    }
}
