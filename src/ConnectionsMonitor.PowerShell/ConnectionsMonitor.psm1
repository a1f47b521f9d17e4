Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

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
Import-Module -Name ([System.IO.Path]::Combine($PSScriptRoot, $edition, 'ConnectionsMonitor.PowerShell.dll')) -ErrorAction Stop
# A binary module imported from a script module stays nested; export its cmdlets (the manifest's
# CmdletsToExport decides which).
Export-ModuleMember -Cmdlet '*'
