<#
.SYNOPSIS
    Builds, tests and packages the ConnectionsMonitor module.
.DESCRIPTION
    Build   : dotnet build of the solution; lays out the importable module in out/ConnectionsMonitor
              (the same folder plain 'dotnet build' produces, for machines without PowerShell).
    Test    : the xunit suite (engine, and cmdlets inside a hosted PowerShell runspace), the
              Windows table tests (on Windows), then the Pester suite.
    Pester  : only the Pester suite in tests/Pester, in this PowerShell, against the built module.
              Uses Pester 5.9.1 from out/tools/Modules (restored from NuGet by
              tests/Pester/Package when missing, so nothing is installed outside the repository).
              Prints "pester: N passed, N failed, N skipped"; a test file that fails discovery or
              set-up counts as failed.
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
    [ValidateSet('Build', 'Test', 'Pester', 'Package')]
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
$pesterVersion = '5.9.1'
if ($Test) { $Task = @('Build', 'Test') + @($Task | Where-Object { $_ -eq 'Package' }) }

function Invoke-Native([string] $What, [scriptblock] $Command) {
    # To the console, not the pipeline: a function's return value stays its own.
    & $Command | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "$What failed with exit code $LASTEXITCODE." }
}

# Pester 5.9.1 inside the repository's build output (out/tools/Modules/Pester/5.9.1): restored
# from NuGet by a project that only downloads it, so every platform runs the same Pester and
# nothing is installed for the user or the machine.
function Get-PesterManifest {
    $modules = Join-Path $root 'out/tools/Modules'
    $target = Join-Path $modules "Pester/$pesterVersion"
    $manifest = Join-Path $target 'Pester.psd1'
    if (-not (Test-Path -LiteralPath $manifest)) {
        $packages = Join-Path $root 'out/tools/packages'
        Invoke-Native 'restoring Pester' { dotnet restore (Join-Path $root 'tests/Pester/Package/PesterPackage.csproj') --packages $packages --nologo }
        $tools = Join-Path $packages "pester/$pesterVersion/tools"
        if (-not (Test-Path -LiteralPath (Join-Path $tools 'Pester.psd1'))) { throw "Pester $pesterVersion was restored but $tools has no Pester.psd1." }
        $null = New-Item -ItemType Directory -Force -Path $target
        Copy-Item -Path (Join-Path $tools '*') -Destination $target -Recurse -Force
    }
    return $manifest
}

function Invoke-PesterSuite {
    $manifest = Get-PesterManifest
    $modules = Join-Path $root 'out/tools/Modules'
    $savedModulePath = $env:PSModulePath
    try {
        # Child runspaces and processes (ForEach-Object -Parallel, a child pwsh) find the same Pester.
        $env:PSModulePath = $modules + [System.IO.Path]::PathSeparator + $env:PSModulePath
        Import-Module $manifest -Force
        $config = New-PesterConfiguration
        $config.Run.Path = Join-Path $root 'tests/Pester'
        $config.Run.Exit = $false
        $config.Run.PassThru = $true
        $config.Output.Verbosity = 'Detailed'
        $result = Invoke-Pester -Configuration $config
    }
    finally {
        $env:PSModulePath = $savedModulePath
    }
    # A container that fails discovery or BeforeAll shows in FailedContainersCount, not FailedCount.
    $failed = $result.FailedCount + $result.FailedContainersCount
    foreach ($test in @($result.Skipped)) {
        $why = @($test.ErrorRecord | ForEach-Object { "$_" }) -join '; '
        if (-not $why) { $why = 'skipped at discovery (-Skip)' }
        Write-Host "Skipped: $($test.ExpandedPath) -- $why"
    }
    # Each failure on one line, so the end of a long CI log names it (tests/run.sh repeats these lines).
    foreach ($test in @($result.Failed)) {
        $why = @($test.ErrorRecord | ForEach-Object { "$_" }) -join '; '
        if (-not $why) { $why = 'no error of its own (its BeforeAll or container failed)' }
        Write-Host "Failed: $($test.ExpandedPath) -- $((($why -split "`r?`n") | Where-Object { $_ } | Select-Object -First 1))"
    }
    foreach ($container in @($result.FailedContainers)) {
        $why = @($container.ErrorRecord | ForEach-Object { "$_" }) -join '; '
        Write-Host "Failed: $($container.Item) (discovery or BeforeAll) -- $((($why -split "`r?`n") | Where-Object { $_ } | Select-Object -First 1))"
    }
    Write-Host "pester: $($result.PassedCount) passed, $failed failed, $($result.SkippedCount) skipped"
    if ($failed -gt 0) {
        throw "$($result.FailedCount) Pester test(s) and $($result.FailedContainersCount) Pester container(s) failed."
    }
    if ($result.Result -ne 'Passed') { throw "Pester's result is '$($result.Result)'." }
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
}

if ($Task -contains 'Test' -or $Task -contains 'Pester') {
    Invoke-PesterSuite
}

if ($Task -contains 'Package') {
    $version = (Test-ModuleManifest -Path (Join-Path $moduleDir 'ConnectionsMonitor.psd1')).Version
    $zip = Join-Path $root "out/ConnectionsMonitor-$version.zip"
    if (Test-Path $zip) { Remove-Item $zip }
    Compress-Archive -Path $moduleDir -DestinationPath $zip
    Write-Host "Package: $zip"
}
