# Dot-sourced by the *.Tests.ps1 files in their BeforeAll: the built module, a configuration that
# does not depend on this machine's own config, and the path of "this PowerShell" for child processes.
# Works in Windows PowerShell 5.1 and PowerShell 7 on Windows and Linux.

$RepoRoot = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..'))
$ModuleManifest = [System.IO.Path]::Combine($RepoRoot, 'out', 'ConnectionsMonitor', 'ConnectionsMonitor.psd1')

# The executable of the PowerShell running the tests. [Diagnostics.Process]::GetCurrentProcess().Path
# is 'dotnet' when pwsh runs as a dotnet tool, so take it from $PSHOME.
function Get-TestPowerShellPath {
    if ($PSVersionTable.PSEdition -eq 'Desktop') { return [System.IO.Path]::Combine($PSHOME, 'powershell.exe') }
    $name = if ([System.Environment]::OSVersion.Platform -eq 'Win32NT') { 'pwsh.exe' } else { 'pwsh' }
    return [System.IO.Path]::Combine($PSHOME, $name)
}

# A configuration for tests: no reverse DNS, an empty GeoIP folder (so databases downloaded on this
# machine do not change answers), everything else as shipped. $env:CONNECTIONSMONITOR_CONFIG points
# at it until Exit-TestConfig puts the previous value back.
function Enter-TestConfig([string] $Extra = '') {
    $id = [guid]::NewGuid().ToString('N')
    $script:TestGeoDir = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-pester-geo-$id")
    $script:TestConfig = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-pester-$id.yml")
    Set-Content -LiteralPath $script:TestConfig -Encoding ASCII -Value ("resolveDNS: false`ngeoip:`n  directory: '$($script:TestGeoDir)'`n" + $Extra)
    $script:SavedConfigEnv = $env:CONNECTIONSMONITOR_CONFIG
    $env:CONNECTIONSMONITOR_CONFIG = $script:TestConfig
    return $script:TestConfig
}

function Exit-TestConfig {
    $env:CONNECTIONSMONITOR_CONFIG = $script:SavedConfigEnv
    Remove-Item -LiteralPath $script:TestConfig -ErrorAction SilentlyContinue
}

# A loopback TCP listener of this process with one accepted connection: the rows the tests ask about.
# Properties: Listener, Port (the listener's), Client, Server, ClientPort. Dispose with Remove-LoopbackPair.
function New-LoopbackPair {
    $loopback = [System.Net.IPAddress]::Loopback
    $listener = [System.Net.Sockets.TcpListener]::new($loopback, 0)
    $listener.Start()
    $port = $listener.LocalEndpoint.Port
    $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
    $client.Connect($loopback, $port)
    $server = $listener.AcceptTcpClient()
    [pscustomobject]@{ Listener = $listener; Port = $port; Client = $client; Server = $server; ClientPort = $client.Client.LocalEndPoint.Port }
}

function Remove-LoopbackPair($Pair) {
    $Pair.Client.Dispose(); $Pair.Server.Dispose(); $Pair.Listener.Stop()
}

# Waits until the Watch-Connection running -Verbose in $PowerShell (begun as $Async) says it has taken its baseline:
# a connection opened after that is new to the watch, none of it caught half-open in the baseline.
function Wait-WatchBaseline([powershell] $PowerShell, [System.IAsyncResult] $Async, [int] $TimeoutSeconds = 60) {
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (-not ($PowerShell.Streams.Verbose | Where-Object Message -like 'Baseline taken at *')) {
        if ($Async.IsCompleted) { throw "Watch-Connection ended before its baseline: $($PowerShell.Streams.Error)" }
        if ([DateTime]::UtcNow -gt $deadline) { throw "Watch-Connection said no 'Baseline taken' within $TimeoutSeconds s" }
        Start-Sleep -Milliseconds 10
    }
}

# Imports the module into $PowerShell (a [PowerShell] of its own, as a watch running beside the test needs), starts
# $Command there (a Watch-Connection with -Verbose) and returns its IAsyncResult once it said its baseline was taken.
function Start-WatchInBackground([powershell] $PowerShell, [string] $Command) {
    # The import first, to its end: the watch then starts at once.
    $null = $PowerShell.AddScript("Import-Module '$ModuleManifest'").Invoke()
    $PowerShell.Commands.Clear()
    $null = $PowerShell.AddScript($Command)
    $async = $PowerShell.BeginInvoke()
    Wait-WatchBaseline $PowerShell $async
    return $async
}

# Opens loopback connections to $Listener one at a time until & $Reported $WaitMs says the watch under test
# reported one (for example { param($ms) $async.AsyncWaitHandle.WaitOne($ms) } for a watch that ends with
# -Count). A connection opened before the watch's baseline is part of it and never reported: callers that can
# wait for the baseline first (Wait-WatchBaseline, with -Verbose); otherwise a connection not reported within
# $WaitMs stays open (unchanged, it gives no event) and another one is opened. Throws after $TimeoutMs.
# Returns the clients and accepted ends, in order; the caller disposes them.
function Open-UntilReported($Listener, [scriptblock] $Reported, [int] $WaitMs = 2000, [int] $TimeoutMs = 15000) {
    $opened = [System.Collections.Generic.List[System.IDisposable]]::new()
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
        $opened.Add($client)
        $client.Connect([System.Net.IPAddress]::Loopback, $Listener.LocalEndpoint.Port)
        $opened.Add($Listener.AcceptTcpClient())
        if (& $Reported $WaitMs) { return , $opened }
        if ($clock.ElapsedMilliseconds -gt $TimeoutMs) {
            foreach ($o in $opened) { $o.Dispose() }
            throw "the watch reported none of $($opened.Count / 2) connections opened over $($clock.Elapsed) (did it take its baseline?)"
        }
    }
}

# Opens loopback listeners one at a time until the alert rule with -SourceIdentifier $SourceIdentifier raises its
# event: listeners present at the rule's first sample are its baseline and never fire, and the sampler gives no
# sign when it has taken it, so a listener not reported within $WaitSeconds stays open and another is opened.
# Returns @{ Event = the event or $null after $TimeoutSeconds; Listeners = every listener opened (the caller stops them) }.
function Open-ListenersUntilAlert([string] $SourceIdentifier, [int] $WaitSeconds = 2, [int] $TimeoutSeconds = 20) {
    $listeners = [System.Collections.Generic.List[System.Net.Sockets.TcpListener]]::new()
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $event = $null
    while (-not $event -and $clock.Elapsed.TotalSeconds -lt $TimeoutSeconds) {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $listeners.Add($listener)
        $event = Wait-Event -SourceIdentifier $SourceIdentifier -Timeout $WaitSeconds
    }
    @{ Event = $event; Listeners = $listeners; Elapsed = $clock.Elapsed }
}
