#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# Issue 15, "fleet over remoting": every cmdlet run inside a real remote session, its objects coming back
# deserialized (Deserialized.ConnectionsMonitor.*) and formatted here with the module's own views, plus
# PSComputerName; one CSV from several computers; warnings in the caller's warning stream; a remote
# Watch-Connection that stops when the caller stops it; the live view refusing to run without a console.
#
# Transports: SSH (Linux): a private sshd on 127.0.0.1 made by SshRemoting.ps1, pwsh as its subsystem;
# the second "computer" is the same sshd reached as 'localhost', so PSComputerName differs. WinRM
# (Windows): localhost and this computer's name, where WinRM to localhost answers; else the block skips
# and says why. The machine running the tests is both ends: the connections asked about belong to this
# PowerShell, so their port, PID and process name are known exactly.

BeforeDiscovery {
    $transports = @(@{ Transport = 'SSH' }, @{ Transport = 'WinRM' })
}

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    . ([System.IO.Path]::Combine($PSScriptRoot, 'SshRemoting.ps1'))
    # The views apply to Deserialized.ConnectionsMonitor.* only where the module is imported: here.
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig
    $savedRendering = if (Get-Variable -Name PSStyle -ErrorAction SilentlyContinue) { $PSStyle.OutputRendering }
    if ($null -ne $savedRendering) { $PSStyle.OutputRendering = 'PlainText' }
    $isWindowsOS = [System.Environment]::OSVersion.Platform -eq 'Win32NT'

    # The header line of a table as this PowerShell formats it (wide enough that no column is dropped).
    function Get-TableHeader($Objects) {
        @(($Objects | Format-Table | Out-String -Width 400) -split '\r?\n' | Where-Object { $_.Trim() })[0]
    }
    # The labels of the module's table (or list) view for a type, from the loaded format data.
    function Get-ViewLabel([string] $TypeName, [string] $Control) {
        $views = (Get-FormatData -TypeName $TypeName -PowerShellVersion $PSVersionTable.PSVersion).FormatViewDefinition
        $view = @($views | Where-Object { $_.Control.GetType().Name -eq $Control })[0]
        if ($null -eq $view) { throw "the module has no $Control for $TypeName" }
        if ($Control -eq 'TableControl') { return @($view.Control.Headers | ForEach-Object { $_.Label }) }
        @($view.Control.Entries[0].Items | ForEach-Object { if ($_.Label) { $_.Label } else { $_.DisplayEntry.Value } })
    }
    # Asserts that deserialized objects of $TypeName format as the module's table view, with the
    # PSComputerName column PowerShell adds for remote objects, and that each row names its computer.
    function Assert-RemoteTable($Objects, [string] $TypeName) {
        @($Objects)[0].PSObject.TypeNames[0] | Should -Be "Deserialized.ConnectionsMonitor.$TypeName"
        $labels = Get-ViewLabel "ConnectionsMonitor.$TypeName" 'TableControl'
        $pattern = '^\s*' + (($labels | ForEach-Object { [regex]::Escape($_) }) -join '\s+') + '\s+PSComputerName\s*$'
        Get-TableHeader $Objects | Should -Match $pattern
        $text = $Objects | Format-Table | Out-String -Width 400
        foreach ($o in @($Objects)) { $text | Should -Match ([regex]::Escape($o.PSComputerName) + '\s*(\r?\n|$)') }
    }
    # Asserts that a deserialized object formats as the module's list view (its labels, in order) and names its computer.
    function Assert-RemoteList($Object, [string] $TypeName) {
        $Object.PSObject.TypeNames[0] | Should -Be "Deserialized.ConnectionsMonitor.$TypeName"
        $labels = Get-ViewLabel "ConnectionsMonitor.$TypeName" 'ListControl'
        $lines = @(($Object | Format-List | Out-String -Width 400) -split '\r?\n' | Where-Object { $_ -match '^\S.*?\s*: ' })
        $shown = @($lines | ForEach-Object { ($_ -split '\s*: ', 2)[0] })
        $shown | Should -Be (@($labels) + 'PSComputerName')
    }
}

AfterAll {
    if ($null -ne $savedRendering) { $PSStyle.OutputRendering = $savedRendering }
    if ($script:TestConfig) { Exit-TestConfig }
}

Describe 'Module output over PowerShell remoting (<Transport>)' -ForEach $transports {
    BeforeAll {
        $unavailable = $null
        $server = $null
        $sessions = @()
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port
        $processName = (Get-Process -Id $PID).ProcessName

        if ($Transport -eq 'SSH') {
            if ($isWindowsOS -or -not $IsLinux) {
                $unavailable = 'the SSH variant starts a private OpenSSH server and is written for Linux; on Windows the WinRM variant runs'
            }
            else {
                # A missing sshd on Linux is a failure (tests/run.sh installs openssh-server), not a skip.
                $dotnetRoot = Split-Path -Parent ([System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName)
                $server = Start-TestSshServer -PwshPath (Get-TestPowerShellPath) -Environment @{ DOTNET_ROOT = $dotnetRoot }
                $sessions = @((New-TestSshSession $server '127.0.0.1'), (New-TestSshSession $server 'localhost'))
            }
        }
        else {
            if (-not $isWindowsOS) { $unavailable = 'WinRM remoting exists on Windows only; on Linux the SSH variant runs' }
            else {
                try { $sessions = @((New-PSSession -ComputerName localhost -EnableNetworkAccess -ErrorAction Stop), (New-PSSession -ComputerName $env:COMPUTERNAME -EnableNetworkAccess -ErrorAction Stop)) }
                catch { $unavailable = "WinRM to localhost is not available here ($($_.Exception.Message)); Enable-PSRemoting as administrator makes it so" }
            }
        }
        if (-not $unavailable) {
            # The remote sessions use the test configuration and import the module by path: the same files.
            Invoke-Command -Session $sessions -ErrorAction Stop {
                $env:CONNECTIONSMONITOR_CONFIG = $using:TestConfig
                Import-Module $using:ModuleManifest -ErrorAction Stop
            }
            $s = $sessions[0]
            $computer = $s.ComputerName
        }
    }

    AfterAll {
        if ($sessions) { $sessions | Remove-PSSession }
        Stop-TestSshServer $server
        $listener.Stop()
    }

    BeforeEach {
        if ($unavailable) { Set-ItResult -Skipped -Because $unavailable }
    }

    It 'Get-MonitoredConnection: deserialized rows with PSComputerName, exact values, the local table header plus PSComputerName' {
        if ($unavailable) { return }
        $remote = @(Invoke-Command -Session $s { Get-MonitoredConnection -State Listen -LocalPort $using:port })
        $remote.Count | Should -Be 1
        $row = $remote[0]
        $row.PSObject.TypeNames | Should -Be @('Deserialized.ConnectionsMonitor.MonitoredConnection', 'Deserialized.System.Object')
        $row.PSComputerName | Should -Be $computer
        $row.Protocol | Should -Be 'TCP'
        $row.LocalAddress | Should -Be '127.0.0.1'
        $row.LocalPort | Should -Be $port
        $row.State | Should -Be 'Listen'
        $row.ProcessId | Should -Be $PID
        $row.ProcessName | Should -Be $processName
        # Get-NetTCPConnection's name and netstat's, as on live objects.
        $row.OwningProcess | Should -Be $PID
        $row.PID | Should -Be $PID

        $local = Get-MonitoredConnection -State Listen -LocalPort $port
        $localHeader = (Get-TableHeader $local).TrimEnd()
        Get-TableHeader $remote | Should -Match ('^' + [regex]::Escape($localHeader) + '\s+PSComputerName\s*$')
        Assert-RemoteTable $remote 'MonitoredConnection'
        $text = $remote | Format-Table | Out-String -Width 400
        $text | Should -Match ('TCP\s+127\.0\.0\.1:' + $port + '\s+0\.0\.0\.0:0\s+Listen\s+' + [regex]::Escape($processName) + '\s+' + $PID + '\s')
        Assert-RemoteList $row 'MonitoredConnection'
        ($row | Format-List | Out-String -Width 400) | Should -Match ('(?m)^ProcessName\s+: ' + [regex]::Escape($processName) + '\s*$')
    }

    It 'Export-Csv: one CSV from two computers, the local columns after PSComputerName; ConvertTo-Json keeps the values' {
        if ($unavailable) { return }
        $rows = @(Invoke-Command -Session $sessions { Get-MonitoredConnection -State Listen -LocalPort $using:port })
        $rows.Count | Should -Be 2
        $csv = Join-Path ([System.IO.Path]::GetTempPath()) "cm-remoting-$([guid]::NewGuid().ToString('N')).csv"
        try {
            $rows | Select-Object * -ExcludeProperty RunspaceId, PSShowComputerName | Export-Csv -LiteralPath $csv -NoTypeInformation
            $back = @(Import-Csv -LiteralPath $csv)
            $back.Count | Should -Be 2
            @($back.PSComputerName | Sort-Object) | Should -Be @(@($sessions.ComputerName) | Sort-Object)
            foreach ($r in $back) { $r.LocalPort | Should -Be "$port"; $r.ProcessId | Should -Be "$PID"; $r.State | Should -Be 'Listen' }
            $localColumns = ((Get-MonitoredConnection -State Listen -LocalPort $port | ConvertTo-Csv -NoTypeInformation)[0] -replace '"', '') -split ','
            $remoteColumns = ((Get-Content -LiteralPath $csv -TotalCount 1) -replace '"', '') -split ','
            $remoteColumns | Should -Be (@('PSComputerName') + $localColumns)
        }
        finally { Remove-Item -LiteralPath $csv -ErrorAction SilentlyContinue }

        $json = $rows[0] | ConvertTo-Json | ConvertFrom-Json
        $json.PSComputerName | Should -Be $rows[0].PSComputerName
        $json.LocalPort | Should -Be $port
        $json.ProcessId | Should -Be $PID
        $json.RemoteHostName | Should -BeNullOrEmpty
    }

    It 'Watch-Connection: events come back as Deserialized ConnectionEvents in the event view' {
        if ($unavailable) { return }
        $events = @(Invoke-Command -Session $s { Watch-Connection -IncludeExisting -Count 1 -State Listen -LocalPort $using:port })
        $events.Count | Should -Be 1
        $events[0].PSObject.TypeNames[0..1] | Should -Be @('Deserialized.ConnectionsMonitor.ConnectionEvent', 'Deserialized.ConnectionsMonitor.MonitoredConnection')
        $events[0].LocalPort | Should -Be $port
        $events[0].ProcessId | Should -Be $PID
        $events[0].TimeStamp | Should -BeOfType [datetime]
        Assert-RemoteTable $events 'ConnectionEvent'
    }

    It 'Watch-Connection -Duration ends the remote pipeline on time, and Stop-Job stops an endless one promptly' {
        if ($unavailable) { return }
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $none = @(Invoke-Command -Session $s { Watch-Connection -Duration 00:00:02 -LocalPort $using:port -State Listen })
        $clock.Stop()
        $none.Count | Should -Be 0
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 1.9
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10

        $job = Invoke-Command -Session $s -AsJob { Watch-Connection -LocalPort $using:port }
        try {
            $deadline = [datetime]::UtcNow.AddSeconds(15)
            while ($job.State -ne 'Running' -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            $job.State | Should -Be 'Running'
            Start-Sleep -Seconds 2
            $job.State | Should -Be 'Running' -Because 'a watch without -Count or -Duration runs until stopped'
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            Stop-Job -Job $job
            $clock.Stop()
            $job.State | Should -Be 'Stopped'
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            # The remote pipeline has ended: the session takes the next command at once.
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            Invoke-Command -Session $s { 'ready' } | Should -Be 'ready'
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        }
        finally { Remove-Job -Job $job -Force }
    }

    It 'Get-TopTalker and Get-ConnectionStatistic: the talker table and the statistics list' {
        if ($unavailable) { return }
        if ($Transport -eq 'SSH') {
            # The ssh clients of this test's sessions: they talk to the private sshd's port.
            $talkers = @(Invoke-Command -Session $s { Get-TopTalker -Duration 00:00:01 -RemotePort $using:server.Port -GroupBy Process })
            $talkers.Count | Should -Be 1
            $talkers[0].Name | Should -Be 'ssh'
            $talkers[0].Connections | Should -Be 2
        }
        else {
            $talkers = @(Invoke-Command -Session $s { Get-TopTalker -Duration 00:00:01 })
            $talkers.Count | Should -BeGreaterOrEqual 1
        }
        $talkers[0].Rank | Should -Be 1
        Assert-RemoteTable $talkers 'TopTalker'

        $statistic = @(Invoke-Command -Session $s { Get-ConnectionStatistic -Duration 00:00:01 -State Listen -LocalPort $using:port })
        $statistic.Count | Should -Be 1
        $statistic[0].Listen | Should -Be 1
        $statistic[0].ListeningTcpPorts | Should -Be "$port"
        Assert-RemoteList $statistic[0] 'ConnectionStatistic'
        ($statistic[0] | Format-List | Out-String -Width 400) | Should -Match '(?m)^Connections\s+: TCP 1, UDP 0, total 1\s*$'
    }

    It 'alert rules: Register-, Get-, Test-ConnectionAlert objects in their views' {
        if ($unavailable) { return }
        $closed = Get-TestFreePort
        try {
            $rule = @(Invoke-Command -Session $s { Register-ConnectionAlert -Name 'remoting-test' -NewListeningPort -Webhook "http://127.0.0.1:$($using:closed)/hook" -PassThru })
            $rule.Count | Should -Be 1
            $rule[0].Name | Should -Be 'remoting-test'
            Assert-RemoteTable $rule 'ConnectionAlertInfo'
            $listed = @(Invoke-Command -Session $s { Get-ConnectionAlert -Name 'remoting-test' })
            $listed.Count | Should -Be 1
            Assert-RemoteTable $listed 'ConnectionAlertInfo'
            $tested = @(Invoke-Command -Session $s { Test-ConnectionAlert -Name 'remoting-test' -WarningAction SilentlyContinue })
            $tested.Count | Should -Be 1
            $tested[0].Rule | Should -Be 'remoting-test'
            $tested[0].Delivered | Should -BeFalse -Because "nothing listens on 127.0.0.1:$closed"
            $tested[0].Error | Should -Not -BeNullOrEmpty
            Assert-RemoteTable $tested 'ConnectionAlertTestResult'
        }
        finally { Invoke-Command -Session $s { Unregister-ConnectionAlert -Name 'remoting-test' -ErrorAction SilentlyContinue } }
    }

    It 'history: the recording state and Totals, Process and Connection rows in their views' {
        if ($unavailable) { return }
        $db = Join-Path ([System.IO.Path]::GetTempPath()) "cm-remoting-$([guid]::NewGuid().ToString('N')).sqlite"
        try {
            $started = @(Invoke-Command -Session $s { Start-ConnectionRecording -Path $using:db -Interval 00:00:01 -PassThru })
            $started.Count | Should -Be 1
            $started[0].IsRecording | Should -BeTrue
            Assert-RemoteTable $started 'ConnectionRecording'
            $deadline = [datetime]::UtcNow.AddSeconds(20)
            do { Start-Sleep -Milliseconds 500; $state = Invoke-Command -Session $s { Get-ConnectionRecording } }
            while ($state.SamplesWritten -lt 2 -and [datetime]::UtcNow -lt $deadline)
            $state.SamplesWritten | Should -BeGreaterOrEqual 2

            $totals = @(Invoke-Command -Session $s { Get-ConnectionHistory -Kind Totals -Path $using:db })
            $totals.Count | Should -BeGreaterOrEqual 1
            Assert-RemoteTable $totals 'ConnectionHistoryTotals'
            $connections = @(Invoke-Command -Session $s { Get-ConnectionHistory -Kind Connection -LocalPort $using:port -Path $using:db })
            $connections.Count | Should -Be 1
            $connections[0].LocalPort | Should -Be $port
            $connections[0].ProcessId | Should -Be $PID
            Assert-RemoteTable $connections 'ConnectionHistoryConnection'

            $stopped = @(Invoke-Command -Session $s { Stop-ConnectionRecording -PassThru })
            $stopped[0].IsRecording | Should -BeFalse
            Assert-RemoteTable $stopped 'ConnectionRecording'
            # Per-process rows are per minute: the stop writes the minute in progress.
            $processes = @(Invoke-Command -Session $s { Get-ConnectionHistory -Kind Process -ProcessName $using:processName -Path $using:db })
            $processes.Count | Should -BeGreaterOrEqual 1
            $processes[0].ProcessName | Should -Be $processName
            Assert-RemoteTable $processes 'ConnectionHistoryProcess'
        }
        finally {
            Invoke-Command -Session $s { Stop-ConnectionRecording -WarningAction SilentlyContinue }
            Remove-Item -Path "$db*" -Force -ErrorAction SilentlyContinue   # and its -wal, -shm and .lock
        }
    }

    It 'alerts: a rule''s event data comes back with its items as objects, and its history row in the alert view' {
        if ($unavailable) { return }
        $db = Join-Path ([System.IO.Path]::GetTempPath()) "cm-remoting-$([guid]::NewGuid().ToString('N')).sqlite"
        $sourceId = "cm-remoting-$([guid]::NewGuid().ToString('N'))"
        $opened = [System.Collections.Generic.List[System.Net.Sockets.TcpListener]]::new()
        try {
            Invoke-Command -Session $s {
                $null = Start-ConnectionRecording -Path $using:db -Interval 00:00:01
                Register-ConnectionAlert -Name 'remoting-listen' -NewListeningPort -ProcessId $using:PID -SourceIdentifier $using:sourceId
            }
            # Listeners present at the rule's first sample are its baseline: open one at a time until one is reported.
            $alert = $null
            $deadline = [datetime]::UtcNow.AddSeconds(30)
            while (-not $alert -and [datetime]::UtcNow -lt $deadline) {
                $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
                $l.Start(); $opened.Add($l)
                $alert = Invoke-Command -Session $s {
                    $e = Wait-Event -SourceIdentifier $using:sourceId -Timeout 2
                    if ($e) { $e.MessageData; Remove-Event -EventIdentifier $e.EventIdentifier }
                }
            }
            $alert | Should -Not -BeNullOrEmpty -Because 'the rule in the remote session reports a new listener of this process'
            $alert.PSObject.TypeNames[0] | Should -Be 'Deserialized.ConnectionsMonitor.ConnectionAlertEvent'
            $alert.RuleName | Should -Be 'remoting-listen'
            $alert.Items.Count | Should -BeGreaterOrEqual 1
            $item = @($alert.Items)[0]
            $item.PSObject.TypeNames[0] | Should -Be 'Deserialized.ConnectionsMonitor.ConnectionAlertItem'
            @($opened | ForEach-Object { $_.LocalEndpoint.Port }) | Should -Contain $item.LocalPort
            $item.ProcessId | Should -Be $PID

            $rows = @()
            $deadline = [datetime]::UtcNow.AddSeconds(15)
            while ($rows.Count -eq 0 -and [datetime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 500
                $rows = @(Invoke-Command -Session $s { Get-ConnectionHistory -Kind Alert -Path $using:db })
            }
            $rows.Count | Should -BeGreaterOrEqual 1
            $rows[0].RuleName | Should -Be 'remoting-listen'
            Assert-RemoteTable $rows 'ConnectionHistoryAlert'
        }
        finally {
            Invoke-Command -Session $s {
                Unregister-ConnectionAlert -Name 'remoting-listen' -ErrorAction SilentlyContinue
                Stop-ConnectionRecording -WarningAction SilentlyContinue
            }
            foreach ($l in $opened) { $l.Stop() }
            Remove-Item -Path "$db*" -Force -ErrorAction SilentlyContinue   # and its -wal, -shm and .lock
        }
    }

    It 'a remote warning arrives in the caller''s warning stream' {
        if ($unavailable) { return }
        $out = Invoke-Command -Session $s { Stop-ConnectionRecording } -WarningVariable warned -WarningAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        @($warned).Count | Should -Be 1
        @($warned)[0] | Should -BeOfType [System.Management.Automation.WarningRecord]
        "$(@($warned)[0])" | Should -BeLike '*not recording*'
    }

    It 'the not-root warning of a remote session without root arrives in the caller''s warning stream, with the rows' {
        if ($unavailable) { return }
        if ($Transport -ne 'SSH') { Set-ItResult -Skipped -Because 'a session without elevation needs a second, non-administrator account, which this test does not create'; return }
        if (-not $server.HasNobodySubsystem) { throw 'setpriv (util-linux) is missing: the session as nobody cannot be made' }
        $nobody = New-TestSshSession $server '127.0.0.1' 'powershell-nobody'
        try {
            $who = Invoke-Command -Session $nobody { (& id -u) }
            $who | Should -Be '65534'
            $rows = @(Invoke-Command -Session $nobody -WarningVariable warned -WarningAction SilentlyContinue {
                $env:CONNECTIONSMONITOR_CONFIG = $using:TestConfig
                Import-Module $using:ModuleManifest -ErrorAction Stop
                Get-MonitoredConnection -State Listen
            })
            # The private sshd is root's: as nobody its row is there, its owner is not.
            $sshd = @($rows | Where-Object { $_.LocalPort -eq $server.Port })
            $sshd.Count | Should -Be 1
            $sshd[0].ProcessId | Should -BeNullOrEmpty
            @($warned).Count | Should -Be 1
            @($warned)[0] | Should -BeOfType [System.Management.Automation.WarningRecord]
            "$(@($warned)[0])" | Should -Match '^The owners of \d+ sockets? belonging to other users could not be read; run as root'
        }
        finally { Remove-PSSession $nobody }
    }

    It 'metrics: Start-, Get-, Stop-ConnectionMetrics endpoint objects in their view' {
        if ($unavailable) { return }
        try {
            $endpoint = @(Invoke-Command -Session $s { Start-ConnectionMetrics -Port 0 -Interval 00:00:01 })
            $endpoint.Count | Should -Be 1
            $endpoint[0].Url | Should -Match '^http://127\.0\.0\.1:\d+/metrics$'
            Assert-RemoteTable $endpoint 'ConnectionMetricsEndpoint'
            # The endpoint runs on the remote side: this side scrapes it.
            (Invoke-WebRequest -Uri $endpoint[0].Url -UseBasicParsing).StatusCode | Should -Be 200
            $state = @(Invoke-Command -Session $s { Get-ConnectionMetrics })
            $state[0].ScrapesServed | Should -Be 1
            Assert-RemoteTable $state 'ConnectionMetricsEndpoint'
            $final = @(Invoke-Command -Session $s { Stop-ConnectionMetrics -PassThru })
            $final[0].IsRunning | Should -BeFalse
            $final[0].ScrapesServed | Should -Be 1
            Assert-RemoteTable $final 'ConnectionMetricsEndpoint'
        }
        finally { Invoke-Command -Session $s { Stop-ConnectionMetrics -WarningAction SilentlyContinue } }
    }

    It 'baselines: Export-ConnectionBaseline info and Compare-ConnectionBaseline differences in their views' {
        if ($unavailable) { return }
        $path = Join-Path ([System.IO.Path]::GetTempPath()) "cm-remoting-$([guid]::NewGuid().ToString('N')).json"
        $added = $null
        try {
            $info = @(Invoke-Command -Session $s { Export-ConnectionBaseline -Path $using:path -PassThru })
            $info.Count | Should -Be 1
            $info[0].Path | Should -Be $path
            Assert-RemoteTable $info 'ConnectionBaselineInfo'
            $added = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $added.Start()
            $differences = @(Invoke-Command -Session $s { Compare-ConnectionBaseline -Path $using:path } | Where-Object { $_.LocalPort -eq $added.LocalEndpoint.Port })
            $differences.Count | Should -Be 1
            $differences[0].Change | Should -Be 'Added'
            $differences[0].ProcessId | Should -Be $PID
            Assert-RemoteTable $differences 'ConnectionBaselineDifference'
        }
        finally {
            if ($added) { $added.Stop() }
            Remove-Item -LiteralPath $path -ErrorAction SilentlyContinue
        }
    }

    It 'Update-ConnectionGeoDatabase: the installed database''s info in its view' {
        if ($unavailable) { return }
        # The bundled country database, gzipped and served over HTTP on 127.0.0.1 from a runspace of this process.
        $mmdb = [System.IO.File]::ReadAllBytes([System.IO.Path]::Combine($RepoRoot, 'data', 'GeoIP', 'dbip-country.mmdb'))
        $buffer = [System.IO.MemoryStream]::new()
        $gzip = [System.IO.Compression.GZipStream]::new($buffer, [System.IO.Compression.CompressionMode]::Compress, $true)
        $gzip.Write($mmdb, 0, $mmdb.Length); $gzip.Dispose()
        $body = $buffer.ToArray()
        $http = [System.Net.HttpListener]::new()
        $base = "http://127.0.0.1:$(Get-TestFreePort)/"
        $http.Prefixes.Add($base); $http.Start()
        $runspace = [runspacefactory]::CreateRunspace([initialsessionstate]::CreateDefault2()); $runspace.Open()
        $serve = [powershell]::Create(); $serve.Runspace = $runspace
        $null = $serve.AddScript({
            param($http, $body)
            while ($http.IsListening) {
                try { $context = $http.GetContext() } catch { break }
                $context.Response.ContentLength64 = $body.Length
                $context.Response.OutputStream.Write($body, 0, $body.Length)
                $context.Response.Close()
            }
        }).AddArgument($http).AddArgument($body)
        $null = $serve.BeginInvoke()
        $destination = Join-Path ([System.IO.Path]::GetTempPath()) "cm-remoting-geo-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $destination
        try {
            $info = @(Invoke-Command -Session $s { Update-ConnectionGeoDatabase -Uri "$($using:base)country.mmdb.gz" -DestinationPath $using:destination })
            $info.Count | Should -Be 1
            $info[0].SizeBytes | Should -Be $mmdb.Length
            $info[0].Path | Should -Be (Join-Path $destination 'country.mmdb')
            Assert-RemoteTable $info 'GeoDatabaseInfo'
        }
        finally {
            $http.Stop(); $http.Close(); $serve.Dispose(); $runspace.Dispose()
            Remove-Item -LiteralPath $destination -Recurse -Force -ErrorAction SilentlyContinue
        }
    }

    It 'deploys with Copy-Item -ToSession: a fresh session imports the copy by name and works' {
        if ($unavailable) { return }
        $modules = Join-Path ([System.IO.Path]::GetTempPath()) "cm-remoting-modules-$([guid]::NewGuid().ToString('N'))"
        $fresh = $null
        try {
            Invoke-Command -Session $s { $null = New-Item -ItemType Directory -Path $using:modules }
            Copy-Item -LiteralPath (Split-Path -Parent $ModuleManifest) -Destination $modules -ToSession $s -Recurse -Force
            $fresh = if ($Transport -eq 'SSH') { New-TestSshSession $server '127.0.0.1' } else { New-PSSession -ComputerName localhost -EnableNetworkAccess -ErrorAction Stop }
            $result = Invoke-Command -Session $fresh {
                $env:CONNECTIONSMONITOR_CONFIG = $using:TestConfig
                $env:PSModulePath = $using:modules + [System.IO.Path]::PathSeparator + $env:PSModulePath
                Import-Module ConnectionsMonitor -ErrorAction Stop
                (Get-Module ConnectionsMonitor).ModuleBase
                Get-MonitoredConnection -State Listen -LocalPort $using:port
            }
            $result[0] | Should -Be (Join-Path $modules 'ConnectionsMonitor')
            $result[1].PSObject.TypeNames[0] | Should -Be 'Deserialized.ConnectionsMonitor.MonitoredConnection'
            $result[1].ProcessId | Should -Be $PID
        }
        finally {
            if ($fresh) { Remove-PSSession $fresh }
            Remove-Item -LiteralPath $modules -Recurse -Force -ErrorAction SilentlyContinue
        }
    }

    It 'Show-ConnectionMonitor: without a console it fails at once with a clear error; -Count gives plain frames' {
        if ($unavailable) { return }
        $job = Invoke-Command -Session $s -AsJob { Show-ConnectionMonitor }
        try {
            $null = Wait-Job -Job $job -Timeout 30
            $job.State | Should -Be 'Failed' -Because 'the live view has no console in a remote session and must not run on forever'
            $null = Receive-Job -Job $job -ErrorVariable failures -ErrorAction SilentlyContinue
            $message = "$(@($failures)[0])"
            $message | Should -BeLike '*remote session*'
            $message | Should -BeLike '*-Count*'
            @($failures)[0].FullyQualifiedErrorId | Should -BeLike 'LiveViewNeedsConsole*'
        }
        finally { Remove-Job -Job $job -Force }

        $frames = @(Invoke-Command -Session $s { Show-ConnectionMonitor -Count 2 -RefreshInterval 200 -LocalPort $using:port })
        $frames.Count | Should -Be 2
        foreach ($frame in $frames) {
            $frame | Should -BeOfType [string]
            $frame | Should -Match ('127\.0\.0\.1:' + $port)
            $frame | Should -Not -Match "`e\["
        }
    }
}
