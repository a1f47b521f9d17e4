<#
.SYNOPSIS
    Builds, tests and packages the ConnectionsMonitor module.
.DESCRIPTION
    Build   : dotnet build of the solution; lays out the importable module in out/ConnectionsMonitor
              (the same folder plain 'dotnet build' produces, for machines without PowerShell).
    Test    : the xunit suite (engine, and cmdlets inside a hosted PowerShell runspace), the
              Windows table tests (on Windows), then the Pester suite in tests/Pester against the
              built module in this PowerShell.
    Package : a zip of the module folder, ready to extract into a folder on $env:PSModulePath.
.EXAMPLE
    ./build.ps1
.EXAMPLE
    ./build.ps1 -Test
.EXAMPLE
    ./build.ps1 -Task Build, Test, Package -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string[]] $Task = @('Build'),

    # Shorthand for -Task Build, Test (what CI runs).
    [switch] $Test,

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$moduleDir = Join-Path $root 'out/ConnectionsMonitor'
if ($Test) { $Task = @('Build', 'Test') + @($Task | Where-Object { $_ -eq 'Package' }) }

function Invoke-Native([string] $What, [scriptblock] $Command) {
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed with exit code $LASTEXITCODE." }
}

if ($Task -contains 'Build') {
    Invoke-Native 'dotnet build' { dotnet build (Join-Path $root 'ConnectionsMonitor.sln') -c $Configuration --nologo }
    if (-not (Test-Path (Join-Path $moduleDir 'ConnectionsMonitor.psd1'))) { throw "The build did not lay out $moduleDir." }
    $null = Test-ModuleManifest -Path (Join-Path $moduleDir 'ConnectionsMonitor.psd1')
    Write-Host "Module: $moduleDir"
}

if ($Task -contains 'Test') {
    Invoke-Native 'dotnet test' { dotnet test (Join-Path $root 'ConnectionsMonitor.sln') -c $Configuration --no-build --nologo }

    # The Windows table tests call IP Helper for real; on Linux .ci/wine-tests.sh runs them under Wine.
    if ($PSEdition -eq 'Desktop' -or $IsWindows) {
        Invoke-Native 'Windows table tests' { dotnet run --project (Join-Path $root 'tests/Windows') -c $Configuration }
    }

    $pester = Get-Module -ListAvailable -Name Pester | Where-Object { $_.Version -ge [version]'5.3' } | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pester) {
        Write-Host 'Installing Pester 5 for the current user...'
        Install-Module -Name Pester -MinimumVersion 5.3 -Scope CurrentUser -Force -SkipPublisherCheck
    }
    Import-Module Pester -MinimumVersion 5.3
    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path $root 'tests/Pester'
    $config.Run.Exit = $false
    $config.Run.PassThru = $true
    $config.Output.Verbosity = 'Detailed'
    $result = Invoke-Pester -Configuration $config
    if ($result.FailedCount -gt 0) { throw "$($result.FailedCount) Pester test(s) failed." }
}

if ($Task -contains 'Package') {
    $version = (Test-ModuleManifest -Path (Join-Path $moduleDir 'ConnectionsMonitor.psd1')).Version
    $zip = Join-Path $root "out/ConnectionsMonitor-$version.zip"
    if (Test-Path $zip) { Remove-Item $zip }
    Compress-Archive -Path $moduleDir -DestinationPath $zip
    Write-Host "Package: $zip"
}
