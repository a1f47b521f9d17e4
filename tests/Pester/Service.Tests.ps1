#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# Install-/Uninstall-ConnectionMonitorService in a real PowerShell. Linux: the systemd unit is written into a
# temporary folder (-UnitDirectory) with -NoStart, so no systemctl runs and nothing of the machine changes; its
# content is read back. Windows: only -WhatIf runs (registering a real service needs an elevated test machine and
# would change it); the Linux-only blocks say so when skipped. -WhatIf is checked to write and run nothing.

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig
    $script:OnWindows = [System.Environment]::OSVersion.Platform -eq 'Win32NT'
    $exe = if ($script:OnWindows) { 'cmon.exe' } else { 'cmon' }
    # The host the unit runs: the built cmon. A missing build is a failure, not a skip.
    $script:Cmon = [System.IO.Path]::Combine($RepoRoot, 'src', 'ConnectionsMonitor.Host', 'bin', 'Release', 'net10.0', $exe)
    $script:Work = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-pester-service-$([guid]::NewGuid().ToString('N'))")
    $null = New-Item -ItemType Directory -Path $script:Work
    $script:Units = [System.IO.Path]::Combine($script:Work, 'units')
    $script:Config = [System.IO.Path]::Combine($script:Work, 'config.yml')
    Set-Content -LiteralPath $script:Config -Encoding ASCII -Value "refreshInterval: 1000`n"
}

AfterAll {
    Exit-TestConfig
    Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'The built host' {
    It 'exists where the tests point the service at it' {
        Test-Path -LiteralPath $script:Cmon -PathType Leaf | Should -BeTrue -Because "dotnet build puts cmon in $([System.IO.Path]::GetDirectoryName($script:Cmon))"
    }
}

Describe 'Install-ConnectionMonitorService -WhatIf' {
    It 'writes and registers nothing' {
        $unitFolder = [System.IO.Path]::Combine($script:Work, 'whatif')
        if ($script:OnWindows) {
            $name = "CmPesterWhatIf$([guid]::NewGuid().ToString('N').Substring(0, 8))"
            $out = Install-ConnectionMonitorService -Name $name -HostPath $script:Cmon -ConfigPath $script:Config -WhatIf
            $out | Should -BeNullOrEmpty
            Get-Service -Name $name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
        else {
            $out = Install-ConnectionMonitorService -HostPath $script:Cmon -ConfigPath $script:Config -UnitDirectory $unitFolder -WhatIf
            $out | Should -BeNullOrEmpty
            Test-Path -LiteralPath $unitFolder | Should -BeFalse
        }
    }

    It 'says what it would do' {
        if ($script:OnWindows) { Set-ItResult -Skipped -Because 'this reads the systemd wording of the What if: line; on Windows the test above checks that -WhatIf registers nothing'; return }
        $unitFolder = [System.IO.Path]::Combine($script:Work, 'whatif2')
        # -WhatIf text goes to the host: run in a child pwsh and read its output.
        $script = "Import-Module '$ModuleManifest'; Install-ConnectionMonitorService -HostPath '$($script:Cmon)' -ConfigPath '$($script:Config)' -UnitDirectory '$unitFolder' -WhatIf"
        $said = & (Get-TestPowerShellPath) -NoProfile -NonInteractive -Command $script 2>&1 | Out-String
        $said | Should -Match 'What if: .*Write systemd unit, then systemctl daemon-reload and enable --now connectionsmonitor'
        $said | Should -Match ([regex]::Escape([System.IO.Path]::Combine($unitFolder, 'connectionsmonitor.service')))
        Test-Path -LiteralPath $unitFolder | Should -BeFalse
    }
}

Describe 'Install- and Uninstall-ConnectionMonitorService with a unit folder of their own (Linux)' {
    BeforeEach {
        if ($script:OnWindows) { Set-ItResult -Skipped -Because 'systemd units are a Linux thing; on Windows the cmdlets register a service, which these tests do not do to the machine' }
    }

    It 'writes the unit with -NoStart, and Uninstall removes it' {
        if ($script:OnWindows) { return }
        $service = Install-ConnectionMonitorService -HostPath $script:Cmon -ConfigPath $script:Config -UnitDirectory $script:Units -NoStart -Confirm:$false -WarningVariable said -WarningAction SilentlyContinue
        $unit = [System.IO.Path]::Combine($script:Units, 'connectionsmonitor.service')
        $service.PSObject.TypeNames[0] | Should -Be 'ConnectionsMonitor.ConnectionMonitorService'
        $service.UnitPath | Should -Be $unit
        $service.Kind | Should -Be 'systemd'
        $service.Started | Should -BeFalse
        $service.Account | Should -Be 'DynamicUser'
        $service.Capabilities | Should -Be 'CAP_DAC_READ_SEARCH CAP_SYS_PTRACE'
        $service.HistoryPath | Should -Be '/var/lib/connectionsmonitor/history.db'
        $text = Get-Content -LiteralPath $unit -Raw
        # No --history: the service takes history.path, else its default file (which -Service reads).
        $text | Should -Match ('(?m)^' + [regex]::Escape("ExecStart=`"$($script:Cmon)`" `"--service`" `"--config`" `"$($script:Config)`"") + '$')
        $text | Should -Match '(?m)^DynamicUser=yes$'
        $text | Should -Match '(?m)^StateDirectory=connectionsmonitor$'
        $text | Should -Match '(?m)^AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE$'
        $text | Should -Not -Match '(?m)^(Ambient|CapabilityBounding).*CAP_NET_RAW'
        # The configuration lies in the temporary folder, which the unit's sandbox replaces (PrivateTmp=yes): said at install.
        if ($script:Config.StartsWith('/tmp/')) {
            ($said -join "`n") | Should -Match "The service would not see the configuration '$([regex]::Escape($script:Config))': it is under /tmp, and the service has a /tmp of its own \(PrivateTmp=yes\)"
        }

        { Install-ConnectionMonitorService -HostPath $script:Cmon -UnitDirectory $script:Units -NoStart -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnitExists,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'

        Uninstall-ConnectionMonitorService -UnitDirectory $script:Units -NoStop -WhatIf
        Test-Path -LiteralPath $unit | Should -BeTrue -Because '-WhatIf removes nothing'
        Uninstall-ConnectionMonitorService -UnitDirectory $script:Units -NoStop -Confirm:$false
        Test-Path -LiteralPath $unit | Should -BeFalse
        { Uninstall-ConnectionMonitorService -UnitDirectory $script:Units -NoStop -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnitNotFound,ConnectionsMonitor.Commands.UninstallConnectionMonitorServiceCommand'
    }

    It 'records where history.path says unless -HistoryPath is given, with ReadWritePaths for the file used' {
        if ($script:OnWindows) { return }
        $withPath = [System.IO.Path]::Combine($script:Work, 'history-path.yml')
        Set-Content -LiteralPath $withPath -Encoding ASCII -Value "history:`n  path: /srv/cm-pester/h.db`n"
        $service = Install-ConnectionMonitorService -Name cm-pester-hp -HostPath $script:Cmon -ConfigPath $withPath -UnitDirectory $script:Units -NoStart -Confirm:$false -WarningAction SilentlyContinue
        $service.HistoryPath | Should -Be '/srv/cm-pester/h.db'
        $text = Get-Content -LiteralPath ([System.IO.Path]::Combine($script:Units, 'cm-pester-hp.service')) -Raw
        $text | Should -Match ('(?m)^' + [regex]::Escape("ExecStart=`"$($script:Cmon)`" `"--service`" `"--config`" `"$withPath`"") + '$')
        @([regex]::Matches($text, '(?m)^ReadWritePaths=.*$') | ForEach-Object Value) | Should -Be @('ReadWritePaths="-/srv/cm-pester"')

        # -HistoryPath: passed as --history, and only its folder is made writable.
        $service = Install-ConnectionMonitorService -Name cm-pester-hp -HostPath $script:Cmon -ConfigPath $withPath -HistoryPath /srv/cm-other/x.db -UnitDirectory $script:Units -NoStart -Force -Confirm:$false -WarningAction SilentlyContinue
        $service.HistoryPath | Should -Be '/srv/cm-other/x.db'
        $text = Get-Content -LiteralPath ([System.IO.Path]::Combine($script:Units, 'cm-pester-hp.service')) -Raw
        $text | Should -Match ('(?m)^' + [regex]::Escape("ExecStart=`"$($script:Cmon)`" `"--service`" `"--config`" `"$withPath`" `"--history`" `"/srv/cm-other/x.db`"") + '$')
        @([regex]::Matches($text, '(?m)^ReadWritePaths=.*$') | ForEach-Object Value) | Should -Be @('ReadWritePaths="/srv/cm-other"')

        # history.path with a ~ is the home folder's file (a folder named '~' under / was reported, a newcomer's trial).
        $tilde = [System.IO.Path]::Combine($script:Work, 'history-tilde.yml')
        Set-Content -LiteralPath $tilde -Encoding ASCII -Value "history:`n  path: ~/cm-pester.db`n"
        $service = Install-ConnectionMonitorService -Name cm-pester-hp -HostPath $script:Cmon -ConfigPath $tilde -UnitDirectory $script:Units -NoStart -Force -Confirm:$false -WarningAction SilentlyContinue
        $service.HistoryPath | Should -Be ([System.IO.Path]::Combine($HOME, 'cm-pester.db'))

        # monitoring.trackHistory: false: no history file, and it says so (the path of one it would not write was reported).
        $none = [System.IO.Path]::Combine($script:Work, 'no-history.yml')
        Set-Content -LiteralPath $none -Encoding ASCII -Value "monitoring:`n  trackHistory: false`n"
        $service = Install-ConnectionMonitorService -Name cm-pester-hp -HostPath $script:Cmon -ConfigPath $none -UnitDirectory $script:Units -NoStart -Force -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue
        $service.HistoryPath | Should -BeNullOrEmpty
        @($warned | Where-Object { "$_" -like 'The service will keep no history: monitoring.trackHistory is false in*' }).Count | Should -Be 1
        Uninstall-ConnectionMonitorService -Name cm-pester-hp -UnitDirectory $script:Units -NoStop -Confirm:$false
    }

    It 'grants CAP_NET_RAW only when the configuration turns on port-scan detection, and -Force replaces the unit' {
        if ($script:OnWindows) { return }
        $scan = [System.IO.Path]::Combine($script:Work, 'scan.yml')
        Set-Content -LiteralPath $scan -Encoding ASCII -Value "alerts:`n  enabled: true`n  conditions:`n    portScan: true`n"
        $null = Install-ConnectionMonitorService -Name cm-pester -HostPath $script:Cmon -UnitDirectory $script:Units -NoStart -Confirm:$false
        $service = Install-ConnectionMonitorService -Name cm-pester -HostPath $script:Cmon -ConfigPath $scan -User nobody -UnitDirectory $script:Units -NoStart -Force -Confirm:$false
        $service.Capabilities | Should -Be 'CAP_DAC_READ_SEARCH CAP_SYS_PTRACE CAP_NET_RAW'
        $service.Account | Should -Be 'nobody'
        $text = Get-Content -LiteralPath ([System.IO.Path]::Combine($script:Units, 'cm-pester.service')) -Raw
        $text | Should -Match '(?m)^User=nobody$'
        $text | Should -Match '(?m)^RestrictAddressFamilies=.* AF_PACKET$'
        Uninstall-ConnectionMonitorService -Name cm-pester -UnitDirectory $script:Units -NoStop -Confirm:$false
    }

    It 'refuses what it cannot use, saying what is expected' {
        if ($script:OnWindows) { return }
        { Install-ConnectionMonitorService -HostPath $script:Cmon -ConfigPath ([System.IO.Path]::Combine($script:Work, 'missing.yml')) -UnitDirectory $script:Units -NoStart -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConfigNotFound,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'
        $bad = [System.IO.Path]::Combine($script:Work, 'bad.yml')
        Set-Content -LiteralPath $bad -Encoding ASCII -Value "refreshInterval: fast`n"
        { Install-ConnectionMonitorService -HostPath $script:Cmon -ConfigPath $bad -UnitDirectory $script:Units -NoStart -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'
        { Install-ConnectionMonitorService -HostPath ([System.IO.Path]::Combine($script:Work, 'no-cmon')) -UnitDirectory $script:Units -NoStart -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'HostNotFound,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'
        # A file that is not executable (the configuration given as -HostPath): systemd would say so only at start.
        if (-not (Test-Path variable:IsWindows) -or -not $IsWindows) {
            $notExe = [System.IO.Path]::Combine($script:Work, 'not-cmon.yml')
            Set-Content -LiteralPath $notExe -Encoding ASCII -Value "refreshInterval: 1000`n"
            [System.IO.File]::SetUnixFileMode($notExe, [System.IO.UnixFileMode]'UserRead, UserWrite, GroupRead, OtherRead')
            $err = $null
            try { Install-ConnectionMonitorService -HostPath $notExe -ConfigPath $script:Config -UnitDirectory $script:Units -NoStart -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue }
            catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -Be 'HostNotExecutable,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'
            $err.Exception.Message | Should -Be "-HostPath '$notExe' is not executable (mode 0644, no execute bit); expected the cmon executable, a regular file with an execute bit, such as /opt/connectionsmonitor/cmon copied from the host's build folder (chmod 755 it if the copy lost its mode)."
            # Executable by its owner only: the transient account could not run it, said as a warning.
            [System.IO.File]::SetUnixFileMode($notExe, [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
            $null = Install-ConnectionMonitorService -Name cm-pester-x -HostPath $notExe -UnitDirectory $script:Units -NoStart -Confirm:$false -WhatIf -WarningVariable warned -WarningAction SilentlyContinue
            ($warned -join "`n") | Should -BeLike "*-HostPath '$notExe' (mode 0700) is not executable by other users, and the service's transient account (DynamicUser) is one of them*"
        }
        { Install-ConnectionMonitorService -Name 'a/b' -HostPath $script:Cmon -UnitDirectory $script:Units -NoStart -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidServiceName,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'
        # An account that does not exist: systemd-analyze verify passes such a unit, which fails only when it starts.
        { Install-ConnectionMonitorService -HostPath $script:Cmon -User cm-no-such-user -UnitDirectory $script:Units -NoStart -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'UserNotFound,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'
        # A real file whose name has a newline: a unit line cannot carry it.
        $newline = [System.IO.Path]::Combine($script:Work, "two`nlines.yml")
        Set-Content -LiteralPath $newline -Encoding ASCII -Value "refreshInterval: 1000`n"
        $err = $null
        try { Install-ConnectionMonitorService -HostPath $script:Cmon -ConfigPath $newline -UnitDirectory $script:Units -NoStart -Confirm:$false -ErrorAction Stop }
        catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -Be 'InvalidServiceSetting,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'
        $err.Exception.Message | Should -Match 'control character U\+000A'
        $left = @(Get-ChildItem -LiteralPath $script:Units -Force -ErrorAction SilentlyContinue | ForEach-Object { $_.Name })
        $left -join ', ' | Should -BeNullOrEmpty -Because 'nothing is written when a value is refused'
    }
}

Describe 'Windows-only parameters and checks' {
    It 'refuses -UnitDirectory and -User on Windows' {
        if (-not $script:OnWindows) { Set-ItResult -Skipped -Because 'these parameters are refused on Windows only; on Linux they are used (tested above)'; return }
        { Install-ConnectionMonitorService -HostPath $script:Cmon -UnitDirectory $script:Units -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnitDirectoryNotOnWindows,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'
        { Install-ConnectionMonitorService -HostPath $script:Cmon -User someone -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId 'UserNotOnWindows,ConnectionsMonitor.Commands.InstallConnectionMonitorServiceCommand'
    }
}

Describe 'Reading the service history' {
    It 'refuses -Service together with -Path' {
        { Get-ConnectionHistory -Service -Path ([System.IO.Path]::Combine($script:Work, 'h.db')) -ErrorAction Stop } |
            Should -Throw -ErrorId 'ServiceAndPath,ConnectionsMonitor.Commands.GetConnectionHistoryCommand'
    }

    It 'names the service file it looked for when there is none to read' {
        $file = if ($script:OnWindows) { [System.IO.Path]::Combine([Environment]::GetFolderPath('CommonApplicationData'), 'ConnectionsMonitor', 'history.db') } else { '/var/lib/connectionsmonitor/history.db' }
        if (Test-Path -LiteralPath $file) { Set-ItResult -Skipped -Because "a service history exists on this machine at $file, so there is no missing file to report"; return }
        $err = $null
        try { Get-ConnectionHistory -Service -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'ServiceHistoryNotFound,ConnectionsMonitor.Commands.GetConnectionHistoryCommand'
        $err.Exception.Message | Should -BeLike "*$file*"
    }
}
