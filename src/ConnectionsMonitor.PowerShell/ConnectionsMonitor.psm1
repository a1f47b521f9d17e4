Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

# The .NET Framework 4.x "Release" registry value (HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full)
# → $null when it is 4.7.2 (461808) or later, else the message to stop the import with. The minimum
# values per version are Microsoft's ("How to: Determine which .NET Framework versions are installed").
function Get-NetFrameworkProblem([object] $Release) {
    $minimum = 461808
    # ($null -as [int] is 0, so a missing value is told apart first.)
    $value = if ($null -eq $Release) { $null } else { $Release -as [int] }
    if ($null -ne $value -and $value -ge $minimum) { return $null }
    $known = [ordered]@{ 461308 = '4.7.1'; 460798 = '4.7'; 394802 = '4.6.2'; 394254 = '4.6.1'; 393295 = '4.6'; 379893 = '4.5.2'; 378675 = '4.5.1'; 378389 = '4.5' }
    $found = if ($null -eq $value) { 'no .NET Framework 4.5 or later was found in the registry' } else {
        $name = $null
        foreach ($entry in $known.GetEnumerator()) { if ($value -ge $entry.Key) { $name = $entry.Value; break } }
        if ($name) { ".NET Framework $name (Release $value) is installed" } else { "Release $value is installed" }
    }
    "ConnectionsMonitor needs .NET Framework 4.7.2 or later in Windows PowerShell 5.1, and $found. " +
    'Install .NET Framework 4.8 (https://dotnet.microsoft.com/download/dotnet-framework), or use PowerShell 7.4 or later.'
}

# Loads the cmdlet assembly built for this edition of PowerShell. PowerShell 7 gets the net8.0 build,
# which isolates the module's dependencies in a private AssemblyLoadContext; Windows PowerShell 5.1
# gets the netstandard2.0 build, which resolves them from the module folder.
if ($PSEdition -eq 'Core') {
    if ($PSVersionTable.PSVersion -lt [version]'7.4') {
        throw "ConnectionsMonitor needs PowerShell 7.4 or later (this is $($PSVersionTable.PSVersion)), or Windows PowerShell 5.1."
    }
    $edition = 'core'
}
else {
    $edition = 'desktop'
}
# [IO.Path] rather than Join-Path: hosts built on the bare engine lack Microsoft.PowerShell.Management.
$cmdletAssemblyPath = [System.IO.Path]::Combine($PSScriptRoot, $edition, 'ConnectionsMonitor.PowerShell.dll')
if ($edition -eq 'desktop') {
    # The netstandard2.0 build needs .NET Framework 4.7.2's built-in .NET Standard 2.0 support; on older
    # versions it fails later with an obscure missing-assembly error, so say it now.
    $frameworkProblem = Get-NetFrameworkProblem -Release ([Microsoft.Win32.Registry]::GetValue(
        'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full', 'Release', $null))
    if ($frameworkProblem) { throw $frameworkProblem }
    # Register the dependency resolver before Import-Module reflects over the cmdlets, so nothing in
    # deps/ can be asked for before the resolver is there (ModuleInitializer.RegisterResolver).
    $cmdletAssembly = [System.Reflection.Assembly]::LoadFrom($cmdletAssemblyPath)
    $initializer = $cmdletAssembly.GetType('ConnectionsMonitor.Loading.ModuleInitializer', $true)
    $null = $initializer.GetMethod('RegisterResolver', [System.Reflection.BindingFlags]'NonPublic, Static').Invoke($null, @())
}
Import-Module -Name $cmdletAssemblyPath -ErrorAction Stop
# On Remove-Module: close this runspace's session here, where a warning can still be written, and say what
# its alert webhooks could not deliver (the messages are in the dead-letter file, not lost).
$sessionRegistry = [System.Reflection.Assembly]::LoadFrom($cmdletAssemblyPath).GetType('ConnectionsMonitor.Session.SessionRegistry', $true)
$ExecutionContext.SessionState.Module.OnRemove = {
    $report = $sessionRegistry.GetMethod('CloseAndReport', [System.Reflection.BindingFlags]'NonPublic, Static').Invoke(
        $null, @([System.Management.Automation.Runspaces.Runspace]::DefaultRunspace))
    if ($report) { Write-Warning $report }
}.GetNewClosure()
# A binary module imported from a script module stays nested; export its cmdlets (the manifest's
# CmdletsToExport decides which).
Export-ModuleMember -Cmdlet '*'
