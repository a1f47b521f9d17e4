#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# The connection history in a real PowerShell (Windows PowerShell 5.1 and PowerShell 7 on Windows and Linux):
# SQLite loads from the module's folder, a recording survives its process being killed at any moment with every
# committed sample, and what it recorded comes back through Export-Csv / Import-Csv and ConvertTo-Json.

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig
    $historyDir = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-pester-history-$([guid]::NewGuid().ToString('N'))")
    $null = New-Item -ItemType Directory -Path $historyDir
}

AfterAll {
    Stop-ConnectionRecording -WarningAction SilentlyContinue
    Exit-TestConfig
    Remove-Item -LiteralPath $historyDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Recording in this session' {
    It 'records a listener of this process and gives it back as CSV and JSON' {
        $db = [System.IO.Path]::Combine($historyDir, 'session.db')
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port # read while it listens: a stopped TcpListener reports port 0
        try {
            Start-ConnectionRecording -Path $db -Interval 00:00:00.2
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            while ((Get-ConnectionRecording).SamplesWritten -lt 3 -and $clock.Elapsed.TotalSeconds -lt 15) { Start-Sleep -Milliseconds 100 }
            $state = Stop-ConnectionRecording -PassThru
        }
        finally {
            $listener.Stop()
        }
        $state.SamplesWritten | Should -BeGreaterOrEqual 3
        $state.IsRecording | Should -BeFalse
        # Stopped, the recording is still what this session reads without -Path (it read the default file, a newcomer's trial).
        @(Get-ConnectionHistory).Count | Should -Be $state.SamplesWritten
        $mine = @(Get-ConnectionHistory -Path $db -Kind Connection | Where-Object { $_.LocalPort -eq $port -and $_.ProcessId -eq $PID })
        $mine.Count | Should -Be 1
        $mine[0].State | Should -Be 'Listen'
        $mine[0].RemoteAddress | Should -BeNullOrEmpty
        $mine[0].ClosedByRecordingStop | Should -BeTrue

        $csv = [System.IO.Path]::Combine($historyDir, 'totals.csv')
        Get-ConnectionHistory -Path $db | Export-Csv -LiteralPath $csv -NoTypeInformation
        $rows = @(Import-Csv -LiteralPath $csv)
        $rows.Count | Should -Be $state.SamplesWritten
        [int]$rows[0].Samples | Should -Be 1
        $json = Get-ConnectionHistory -Path $db -Kind Connection -Last 1 | ConvertTo-Json | ConvertFrom-Json
        $json.Protocol | Should -BeIn @('TCP', 'UDP')
    }
}

Describe 'Alerts in the history' {
    It 'records the alert a rule of the recording session raised, and gives it back through Export-Csv' {
        $db = [System.IO.Path]::Combine($historyDir, 'alerts.db')
        Start-ConnectionRecording -Path $db -Interval 00:00:00.2
        Register-ConnectionAlert -Name hl -NewListeningPort -ProcessId $PID -SourceIdentifier CM.HL
        $opened = Open-ListenersUntilAlert CM.HL
        $listeners = $opened.Listeners
        $event = $opened.Event
        try {
            $event | Should -Not -BeNullOrEmpty -Because 'a new listener of this process should raise the rule'
            $written = (Get-ConnectionRecording).SamplesWritten
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            while ((Get-ConnectionRecording).SamplesWritten -lt $written + 2 -and $clock.Elapsed.TotalSeconds -lt 10) { Start-Sleep -Milliseconds 100 }
        }
        finally {
            Unregister-ConnectionAlert -Name hl
            Stop-ConnectionRecording
            foreach ($l in $listeners) { $l.Stop() }
            Get-EventSubscriber -SourceIdentifier CM.HL -ErrorAction SilentlyContinue | Unregister-Event
            Get-Event -SourceIdentifier CM.HL -ErrorAction SilentlyContinue | Remove-Event
        }
        $alert = $event.SourceArgs[0]
        $csv = [System.IO.Path]::Combine($historyDir, 'alerts.csv')
        Get-ConnectionHistory -Path $db -Kind Alert -ProcessId $PID | Export-Csv -LiteralPath $csv -NoTypeInformation
        $rows = @(Import-Csv -LiteralPath $csv | Where-Object AlertId -eq $alert.Id)
        $rows.Count | Should -Be 1
        $rows[0].RuleName | Should -Be 'hl'
        $rows[0].Kind | Should -Be 'NewListeningPort'
        $rows[0].Status | Should -Be 'Firing'
        [int]$rows[0].LocalPort | Should -Be $alert.LocalPort
        [int]$rows[0].ProcessId | Should -Be $PID
        $rows[0].Message | Should -Be $alert.Message
        $rows[0].RemoteAddress | Should -Be ''
    }
}

Describe 'A recording process killed while it writes' {
    It 'keeps every committed sample over 20 kills, and the file opens clean afterwards' {
        $db = [System.IO.Path]::Combine($historyDir, 'killed.db')
        $countFile = [System.IO.Path]::Combine($historyDir, 'count.txt')
        $shell = Get-TestPowerShellPath
        # The child says how many samples it has committed (written whole, then renamed into place), as fast as it can.
        $child = @"
Import-Module '$ModuleManifest' -ErrorAction Stop
Start-ConnectionRecording -Path '$db' -Interval 00:00:00.1
while (`$true) {
    `$n = (Get-ConnectionRecording).SamplesWritten
    Set-Content -LiteralPath '$countFile.tmp' -Value `$n
    Move-Item -LiteralPath '$countFile.tmp' -Destination '$countFile' -Force
}
"@
        $random = [System.Random]::new(7)
        $expected = 0
        for ($i = 0; $i -lt 20; $i++) {
            Remove-Item -LiteralPath $countFile -ErrorAction SilentlyContinue
            $process = Start-Process -FilePath $shell -ArgumentList @('-NoProfile', '-NonInteractive', '-Command', $child) -PassThru -RedirectStandardError ([System.IO.Path]::Combine($historyDir, "child-$i.err"))
            try {
                $target = $random.Next(2, 12)
                $clock = [System.Diagnostics.Stopwatch]::StartNew()
                $committed = 0
                while ($clock.Elapsed.TotalSeconds -lt 60) {
                    if (Test-Path -LiteralPath $countFile) { $committed = [int](Get-Content -LiteralPath $countFile -ErrorAction SilentlyContinue | Select-Object -First 1) }
                    if ($committed -ge $target) { break }
                    if ($process.HasExited) { break }
                    Start-Sleep -Milliseconds 20
                }
            }
            finally {
                # SIGKILL on Linux and macOS, TerminateProcess on Windows: no clean-up runs.
                Stop-Process -Id $process.Id -Force -ErrorAction SilentlyContinue
                $process.WaitForExit()
            }
            $process.ExitCode | Should -Not -Be 0 -Because "child $i was killed, not ended (stderr: $(Get-Content -Raw -LiteralPath ([System.IO.Path]::Combine($historyDir, "child-$i.err"))))"
            $committed | Should -BeGreaterOrEqual $target -Because "child $i recorded for a while before it was killed"
            $expected += $committed
            $rows = @(Get-ConnectionHistory -Path $db).Count
            $rows | Should -BeGreaterOrEqual $expected -Because "every sample child $i had committed is in the file after kill $($i + 1)"
            $expected = $rows
        }
        # Opening to write checks the file (PRAGMA quick_check): a damaged file would be set aside with a warning.
        Start-ConnectionRecording -Path $db -WarningVariable warned -WarningAction SilentlyContinue
        Stop-ConnectionRecording
        $warned | Should -BeNullOrEmpty
        @(Get-ChildItem -LiteralPath $historyDir -Filter 'killed.db.corrupt-*').Count | Should -Be 0
        # The lives the killed recorders left open were closed with their last sample.
        @(Get-ConnectionHistory -Path $db -Kind Connection | Where-Object { $null -eq $_.Closed }).Count | Should -Be 0
    }
}
