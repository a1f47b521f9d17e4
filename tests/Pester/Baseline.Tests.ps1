#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# Baselines for scheduled audits in a real PowerShell (Windows PowerShell 5.1 and PowerShell 7 on Windows and Linux):
# Export-ConnectionBaseline, then Compare-ConnectionBaseline against a listener this PowerShell opens and closes.

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig
    $script:Dir = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'cm-pester-baseline-' + [guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $script:Dir
    $script:Me = (Get-Process -Id $PID).ProcessName
}

AfterAll {
    Remove-Item -LiteralPath $script:Dir -Recurse -Force -ErrorAction SilentlyContinue
    Exit-TestConfig
}

Describe 'Export-ConnectionBaseline and Compare-ConnectionBaseline' {
    It 'reports a new listener as one Added entry and its closing as one Removed' {
        $before = Join-Path $script:Dir 'before.json'
        $during = Join-Path $script:Dir 'during.json'
        $info = Export-ConnectionBaseline -Path $before -PassThru
        $info.Path | Should -Be $before
        $info.FormatVersion | Should -Be 1
        (Get-Content -LiteralPath $before -Raw | ConvertFrom-Json).format | Should -Be 'ConnectionsMonitor.Baseline'

        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port
        try {
            # Other programs may open listeners meanwhile: only this port's entries are this test's.
            $mine = @(Compare-ConnectionBaseline -Path $before | Where-Object LocalPort -eq $port)
            $mine.Count | Should -Be 1
            $mine[0].Change | Should -Be 'Added'
            $mine[0].Kind | Should -Be 'Listener'
            $mine[0].Protocol | Should -Be 'TCP'
            $mine[0].LocalAddress | Should -Be '127.0.0.1'
            $mine[0].ProcessName | Should -Be $script:Me
            $mine[0].ProcessId | Should -Be $PID
            # The table view shows the entry as a user reads it; JSON keeps every field flat.
            $table = ($mine | Format-Table | Out-String -Width 250) -split "`r?`n" | Where-Object { $_.Trim() }
            $table[0] | Should -Match '^Change\s+Kind\s+Proto\s+Process\s+Local\s+RPort\s+Scope\s+ASN\s+Geo\s+PID\s+Path / VPN reason$'
            $table[2] | Should -Match ('^Added\s+Listener\s+TCP\s+' + [regex]::Escape($script:Me) + '\s+127\.0\.0\.1:' + $port + '\s+' + $PID + '\b')
            $json = $mine[0] | ConvertTo-Json | ConvertFrom-Json
            $json.Change | Should -Be 'Added'
            $json.LocalPort | Should -Be $port
            $json.ProcessId | Should -Be $PID
            $json.Asn | Should -BeNullOrEmpty
            Export-ConnectionBaseline -Path $during
        }
        finally { $listener.Stop() }

        $gone = @(Compare-ConnectionBaseline -Path $during | Where-Object LocalPort -eq $port)
        $gone.Count | Should -Be 1
        $gone[0].Change | Should -Be 'Removed'
        $gone[0].Kind | Should -Be 'Listener'
        $gone[0].ProcessName | Should -Be $script:Me

        # The objects are flat: CSV keeps the identifying fields.
        $csv = @(Compare-ConnectionBaseline -Path $before -DifferencePath $during | Where-Object LocalPort -eq $port | ConvertTo-Csv -NoTypeInformation | ConvertFrom-Csv)
        $csv.Count | Should -Be 1
        $csv[0].Change | Should -Be 'Added'
        $csv[0].LocalPort | Should -Be "$port"
    }

    It 'writes nothing under -WhatIf' {
        $path = Join-Path $script:Dir 'whatif.json'
        Export-ConnectionBaseline -Path $path -WhatIf
        Test-Path -LiteralPath $path | Should -BeFalse
        @(Get-ChildItem -LiteralPath $script:Dir -Filter 'whatif*').Count | Should -Be 0
    }

    It 'keeps an existing file without -Force' {
        $path = Join-Path $script:Dir 'keep.json'
        Set-Content -LiteralPath $path -Value 'keep'
        { Export-ConnectionBaseline -Path $path -ErrorAction Stop } | Should -Throw -ErrorId 'BaselineFileExists*'
        (Get-Content -LiteralPath $path -Raw).Trim() | Should -Be 'keep'
        Export-ConnectionBaseline -Path $path -Force
        @(Compare-ConnectionBaseline -Path $path -DifferencePath $path).Count | Should -Be 0
    }

    It 'says what is wrong with a file that is not a baseline' {
        $path = Join-Path $script:Dir 'other.json'
        Set-Content -LiteralPath $path -Value '{"format":"something","formatVersion":1}'
        $err = $null
        try { Compare-ConnectionBaseline -Path $path -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'BaselineFileInvalid*'
        $err.Exception.Message | Should -BeLike '*is not a connection baseline (its "format" is "something")*'
        $err.Exception.Message | Should -BeLike '*"format": "ConnectionsMonitor.Baseline"*'
    }
}
