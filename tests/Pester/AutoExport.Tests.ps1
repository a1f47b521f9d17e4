#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# The seed's auto-export in a real PowerShell (Windows PowerShell 5.1 and PowerShell 7 on Windows and Linux): a
# recording with dashboard.export.autoExport writes connections-<time>.csv / .json that Import-Csv and
# ConvertFrom-Json read, with the columns Export-Csv / ConvertTo-Json give for Get-MonitoredConnection; a process
# whose name is a spreadsheet formula stays text in the CSV and exact in the JSON; old files are pruned to `keep`.

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $isWindowsOS = [System.Environment]::OSVersion.Platform -eq 'Win32NT'
    $work = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-pester-export-$([guid]::NewGuid().ToString('N'))")
    $exportDir = [System.IO.Path]::Combine($work, 'exports')
    $null = New-Item -ItemType Directory -Path $work
    $null = Enter-TestConfig ("dashboard:`n  export:`n    enabled: true`n    formats: [csv, json]`n    autoExport: true`n" +
        "    exportInterval: 1000`n    exportPath: '$exportDir'`n    keep: 3`n    maxAge: 0`n")

    # A child process named like a formula that owns a loopback listener, and says its port on its first line.
    # Linux: it renames itself through /proc/self/comm (what prctl(PR_SET_NAME) does), which is the name Get-Process
    # shows. Windows: file names cannot hold '"', so a copy of Windows PowerShell named =HYPERLINK(1).exe.
    $listen = '$l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); ' +
        '[Console]::Out.WriteLine($l.LocalEndpoint.Port); [Console]::Out.Flush(); Start-Sleep -Seconds 120'
    if ($isWindowsOS) {
        $script:FormulaName = '=HYPERLINK(1)'
        $exe = [System.IO.Path]::Combine($work, "$($script:FormulaName).exe")
        Copy-Item -LiteralPath ([System.IO.Path]::Combine($env:SystemRoot, 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe')) -Destination $exe
        $command = $listen
    }
    else {
        $script:FormulaName = '=HYPERLINK("x")'   # 15 characters: what the kernel keeps of a name
        $exe = Get-TestPowerShellPath
        $command = "[System.IO.File]::WriteAllText('/proc/self/comm', '=HYPERLINK(`"x`")'); " + $listen
    }
    $start = [System.Diagnostics.ProcessStartInfo]::new($exe)
    $start.Arguments = '-NoProfile -NonInteractive -EncodedCommand ' + [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($command))
    $start.UseShellExecute = $false
    $start.RedirectStandardOutput = $true
    $script:Child = [System.Diagnostics.Process]::Start($start)
    $line = $script:Child.StandardOutput.ReadLineAsync()
    if (-not $line.Wait(30000)) { throw "the child process did not say its port within 30 s" }
    $script:ChildPort = [int]$line.Result
}

AfterAll {
    Stop-ConnectionRecording -WarningAction SilentlyContinue
    if ($script:Child -and -not $script:Child.HasExited) { $script:Child.Kill(); $script:Child.WaitForExit() }
    Exit-TestConfig
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Auto-export during a recording' {
    BeforeAll {
        $me = Get-MonitoredConnection -LocalPort $script:ChildPort -State Listen
        $db = [System.IO.Path]::Combine($work, 'history.db')
        Start-ConnectionRecording -Path $db -Interval 00:00:00.25
        # Wait for an export that has the child's listener, then long enough for at least five exports in all.
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $found = $false
        while (-not $found -and $clock.Elapsed.TotalSeconds -lt 20) {
            Start-Sleep -Milliseconds 250
            $newest = Get-ChildItem -LiteralPath $exportDir -Filter 'connections-*.json' -ErrorAction SilentlyContinue | Sort-Object Name | Select-Object -Last 1
            if ($newest) { $found = @((Get-Content -LiteralPath $newest.FullName -Raw | ConvertFrom-Json) | Where-Object LocalPort -eq $script:ChildPort).Count -gt 0 }
        }
        Start-Sleep -Seconds 5
        $script:State = Stop-ConnectionRecording -PassThru -WarningVariable recordingWarnings
        $script:Warnings = $recordingWarnings
        $script:Csv = Get-ChildItem -LiteralPath $exportDir -Filter 'connections-*.csv' | Sort-Object Name
        $script:Json = Get-ChildItem -LiteralPath $exportDir -Filter 'connections-*.json' | Sort-Object Name
        $script:Expected = $me
    }

    It 'sees the child under its formula name' {
        $script:Expected | Should -Not -BeNullOrEmpty
        # The object carries the name in the CSV cell's form (it goes to Export-Csv as it is); the JSON file has it exactly.
        $script:Expected.ProcessName | Should -BeExactly ("'" + $script:FormulaName)
        $script:Expected.ProcessId | Should -Be $script:Child.Id
    }

    It 'keeps the newest three files of each format, named by UTC time, and no temporary files' {
        $script:Warnings | Should -BeNullOrEmpty
        $script:Csv.Count | Should -Be 3
        $script:Json.Count | Should -Be 3
        $script:Csv | ForEach-Object { $_.Name | Should -Match '^connections-\d{8}T\d{6}Z\.csv$' }
        @($script:Csv | ForEach-Object { $_.BaseName }) | Should -Be @($script:Json | ForEach-Object { $_.BaseName })
        @(Get-ChildItem -LiteralPath $exportDir -Force | Where-Object Name -like '.*.tmp').Count | Should -Be 0
    }

    It 'gives the formula-named process as inert text in Import-Csv' {
        $rows = @(Import-Csv -LiteralPath $script:Csv[-1].FullName)
        $row = @($rows | Where-Object { $_.LocalPort -eq "$($script:ChildPort)" -and $_.State -eq 'Listen' })
        $row.Count | Should -Be 1
        $row[0].ProcessName | Should -BeExactly ("'" + $script:FormulaName)
        $row[0].ProcessId | Should -BeExactly "$($script:Child.Id)"
        $row[0].Protocol | Should -BeExactly 'TCP'
        $row[0].LocalAddress | Should -BeExactly '127.0.0.1'
        $row[0].BytesSent | Should -BeExactly ''        # a listener moves no bytes: unknown, not 0
        # No text cell of the file starts a formula (numbers such as -33.86 may start with '-').
        foreach ($r in $rows) {
            foreach ($p in $r.PSObject.Properties) {
                if ($p.Value -match '^[=+\-@\t\r]' -and $p.Value -notmatch '^-?\d+(\.\d+)?([eE][+-]?\d+)?$') { throw "cell $($p.Name) = '$($p.Value)' starts a formula" }
            }
        }
    }

    It 'gives exact values in ConvertFrom-Json' {
        $rows = @(Get-Content -LiteralPath $script:Json[-1].FullName -Raw -Encoding UTF8 | ConvertFrom-Json)
        $row = @($rows | Where-Object { $_.LocalPort -eq $script:ChildPort -and $_.State -eq 'Listen' })
        $row.Count | Should -Be 1
        $row[0].ProcessName | Should -BeExactly $script:FormulaName
        $row[0].ProcessId | Should -Be $script:Child.Id
        ($row[0].LocalPort -is [long] -or $row[0].LocalPort -is [int]) | Should -BeTrue   # a number (Windows PowerShell 5.1 reads it as int)
        $row[0].BytesSent | Should -BeNullOrEmpty
    }

    It 'has the columns Export-Csv and ConvertTo-Json give for Get-MonitoredConnection' {
        $fromCmdlet = ($script:Expected | ConvertTo-Csv -NoTypeInformation)[0]
        $fromFile = (Get-Content -LiteralPath $script:Csv[-1].FullName -Encoding UTF8 -TotalCount 1).TrimStart([char]0xFEFF)
        $fromFile | Should -BeExactly $fromCmdlet
        $jsonNames = @((Get-Content -LiteralPath $script:Json[-1].FullName -Raw -Encoding UTF8 | ConvertFrom-Json)[0].PSObject.Properties.Name)
        $jsonNames | Should -Be @(($script:Expected | ConvertTo-Json | ConvertFrom-Json).PSObject.Properties.Name)
    }
}
