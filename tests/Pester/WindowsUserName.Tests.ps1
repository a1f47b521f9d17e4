#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# Issue #11 (Windows first run): UserName of services and other users' processes needs SeDebugPrivilege,
# which the module enables when the session is elevated. Windows only (both the "pwsh" and the
# "powershell" jobs of the workflow, which run elevated); each check runs in a fresh PowerShell so the
# privilege step and the once-per-session warning start from scratch.

BeforeDiscovery {
    # -Skip is evaluated at discovery, before BeforeAll runs.
    $isWindowsOS = [System.Environment]::OSVersion.Platform -eq 'Win32NT'
    $elevated = $isWindowsOS -and ([System.Security.Principal.WindowsPrincipal][System.Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole(
        [System.Security.Principal.WindowsBuiltInRole]::Administrator)
}

Describe 'UserName on Windows' -Skip:(-not $isWindowsOS) {
    BeforeAll {
        . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
        $null = Enter-TestConfig

        # Rows and warnings of one Get-MonitoredConnection in a fresh PowerShell, as "user|<ProcessName>|<UserName>"
        # and "warning|<text>" lines.
        function Invoke-FreshSnapshot {
            $script = "Import-Module '$ModuleManifest' -ErrorAction Stop; " +
                "`$rows = Get-MonitoredConnection -WarningVariable w -WarningAction SilentlyContinue; " +
                "foreach (`$r in `$rows) { 'user|' + `$r.ProcessName + '|' + `$r.UserName }; " +
                "foreach (`$x in `$w) { 'warning|' + `$x.Message }"
            $output = & (Get-TestPowerShellPath) -NoProfile -NonInteractive -Command $script 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
            return @($output | ForEach-Object { "$_" })
        }
    }

    AfterAll {
        Exit-TestConfig
    }

    It 'names the users of service processes when elevated, with no UserName warning' -Skip:(-not $elevated) {
        $lines = Invoke-FreshSnapshot
        @($lines | Where-Object { $_ -like 'warning|UserName is null*' }) | Should -BeNullOrEmpty
        # RPC's endpoint mapper (port 135) and other service hosts listen as NETWORK SERVICE / SYSTEM / LOCAL SERVICE.
        @($lines | Where-Object { $_ -like 'user|svchost|NT AUTHORITY\*' }).Count | Should -BeGreaterThan 0
    }

    It 'says once why UserName is null for services when not elevated' -Skip:$elevated {
        $lines = Invoke-FreshSnapshot
        @($lines | Where-Object { $_ -like 'warning|UserName is null for services*' }).Count | Should -Be 1
        @($lines | Where-Object { $_ -like 'warning|*Administrator*' }).Count | Should -BeGreaterThan 0
    }
}
