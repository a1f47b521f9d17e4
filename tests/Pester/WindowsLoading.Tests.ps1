#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# Issue #11 (Windows first run): how the module loads in Windows PowerShell 5.1, and the .NET Framework
# check that stops the import on versions older than 4.7.2. The framework check's wording runs
# everywhere; the loading tests run only in Windows PowerShell 5.1 (the workflow's "powershell" job).

BeforeDiscovery {
    $isDesktop = $PSVersionTable.PSEdition -eq 'Desktop'
    $isWindowsOS = [System.Environment]::OSVersion.Platform -eq 'Win32NT'
}

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig
    $moduleBase = (Get-Module ConnectionsMonitor).ModuleBase
}

AfterAll {
    Exit-TestConfig
    Remove-Module ConnectionsMonitor -ErrorAction SilentlyContinue
}

Describe 'The .NET Framework check of the root module' {
    It 'accepts 4.7.2 (Release 461808) and later' {
        InModuleScope ConnectionsMonitor {
            Get-NetFrameworkProblem -Release 461808 | Should -BeNullOrEmpty
            Get-NetFrameworkProblem -Release 533320 | Should -BeNullOrEmpty
        }
    }

    It 'names the installed version and what is needed below 4.7.2' {
        InModuleScope ConnectionsMonitor {
            $message = Get-NetFrameworkProblem -Release 461308
            $message | Should -BeLike '*needs .NET Framework 4.7.2 or later*'
            $message | Should -BeLike '*.NET Framework 4.7.1 (Release 461308) is installed*'
            Get-NetFrameworkProblem -Release 394802 | Should -BeLike '*.NET Framework 4.6.2 (Release 394802)*'
        }
    }

    It 'says so when no .NET Framework 4.5+ release value exists' {
        InModuleScope ConnectionsMonitor {
            Get-NetFrameworkProblem -Release $null | Should -BeLike '*no .NET Framework 4.5 or later was found*'
        }
    }
}

Describe 'Loading in Windows PowerShell 5.1' -Skip:(-not $isDesktop) {
    BeforeAll {
        $deps = [System.IO.Path]::Combine($moduleBase, 'desktop', 'deps')
        function Get-LoadedFromDeps {
            [System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object {
                -not $_.IsDynamic -and $_.Location -and $_.Location.StartsWith($deps, [System.StringComparison]::OrdinalIgnoreCase)
            }
        }
    }

    It 'runs on .NET Framework 4.7.2 or later' {
        $release = [Microsoft.Win32.Registry]::GetValue('HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full', 'Release', $null)
        $release | Should -BeGreaterOrEqual 461808
    }

    It 'reads connections with the engine and its dependencies from the module folder' {
        $rows = @(Get-MonitoredConnection -Protocol TCP -ErrorAction Stop)
        $rows.Count | Should -BeGreaterThan 0
        $engine = Get-LoadedFromDeps | Where-Object { $_.GetName().Name -eq 'ConnectionsMonitor.Engine' }
        @($engine).Count | Should -Be 1
    }

    It 'loads each dependency once' {
        $null = Get-MonitoredConnection -ErrorAction Stop
        $names = @(Get-LoadedFromDeps | ForEach-Object { $_.GetName().Name })
        $names.Count | Should -BeGreaterThan 1
        @($names | Select-Object -Unique).Count | Should -Be $names.Count
    }

    It 'answers an older version request with the folder copy (what a binding redirect would do)' {
        $ours = [System.Reflection.AssemblyName]::GetAssemblyName([System.IO.Path]::Combine($deps, 'YamlDotNet.dll'))
        $token = -join ($ours.GetPublicKeyToken() | ForEach-Object { $_.ToString('x2') })
        $served = [System.Reflection.Assembly]::Load("YamlDotNet, Version=1.0.0.0, Culture=neutral, PublicKeyToken=$token")
        $served.Location | Should -Be ([System.IO.Path]::Combine($deps, 'YamlDotNet.dll'))
    }

    It 'answers System.Memory, whose references differ by version between the dependencies, from the folder' {
        $path = [System.IO.Path]::Combine($deps, 'System.Memory.dll')
        $ours = [System.Reflection.AssemblyName]::GetAssemblyName($path)
        $token = -join ($ours.GetPublicKeyToken() | ForEach-Object { $_.ToString('x2') })
        $served = [System.Reflection.Assembly]::Load("System.Memory, Version=4.0.0.0, Culture=neutral, PublicKeyToken=$token")
        $served.GetName().Version | Should -Be $ours.Version
    }

    It 'does not hand a newer version than it has to a requester outside the module' {
        $ours = [System.Reflection.AssemblyName]::GetAssemblyName([System.IO.Path]::Combine($deps, 'YamlDotNet.dll'))
        $token = -join ($ours.GetPublicKeyToken() | ForEach-Object { $_.ToString('x2') })
        { [System.Reflection.Assembly]::Load("YamlDotNet, Version=$($ours.Version.Major + 1).0.0.0, Culture=neutral, PublicKeyToken=$token") } |
            Should -Throw
    }

    It 'imports in a fresh Windows PowerShell that already loaded another YamlDotNet version' -Skip:(-not $isWindowsOS) {
        # A module conflict as users meet it: the other copy is loaded first, then this module.
        $other = Get-ChildItem -Path ([System.IO.Path]::Combine($env:USERPROFILE, '.nuget', 'packages', 'yamldotnet')) -Recurse -Filter YamlDotNet.dll -ErrorAction SilentlyContinue |
            Where-Object { $_.FullName -match '[\\/]lib[\\/]net4' -and ([System.Reflection.AssemblyName]::GetAssemblyName($_.FullName).Version -ne
                [System.Reflection.AssemblyName]::GetAssemblyName([System.IO.Path]::Combine($deps, 'YamlDotNet.dll')).Version) } |
            Select-Object -First 1
        if (-not $other) { Set-ItResult -Skipped -Because 'no other YamlDotNet version is in the NuGet cache'; return }
        $script = "Add-Type -Path '$($other.FullName)'; Import-Module '$ModuleManifest' -ErrorAction Stop; " +
                  "`$n = @(Get-MonitoredConnection -Protocol TCP -ErrorAction Stop).Count; 'rows=' + `$n"
        $output = & (Get-TestPowerShellPath) -NoProfile -NonInteractive -Command $script 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        ($output -join "`n") | Should -Match 'rows=\d+'
    }
}
