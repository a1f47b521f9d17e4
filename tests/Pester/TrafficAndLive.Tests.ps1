#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# Get-TopTalker, Get-ConnectionStatistic, Watch-Connection and Show-ConnectionMonitor against the
# built module, on Windows PowerShell 5.1 and PowerShell 7.

BeforeDiscovery {
    # -Skip is evaluated at discovery, before BeforeAll runs. Byte counts need an elevated session
    # on Windows (ETW); on Linux tcp_info serves them to anyone for their own sockets.
    $isElevated = if ([System.Environment]::OSVersion.Platform -eq 'Win32NT') {
        ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
    } else { $true }
}

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    $manifest = $ModuleManifest
    Import-Module $manifest -Force -ErrorAction Stop
    $null = Enter-TestConfig

    $loopback = [System.Net.IPAddress]::Loopback
    $listener = [System.Net.Sockets.TcpListener]::new($loopback, 0)
    $listener.Start()
    $port = $listener.LocalEndpoint.Port
}

AfterAll {
    $listener.Stop()
    Exit-TestConfig
    Remove-Module ConnectionsMonitor -ErrorAction SilentlyContinue
}

Describe 'Get-ConnectionStatistic' {
    It 'counts this session''s listener without waiting' {
        $stat = Get-ConnectionStatistic -Duration 0
        ($stat.ListeningTcpPorts -split ', ') | Should -Contain "$port"
        $stat.Total | Should -Be ($stat.Tcp + $stat.Udp)
        $stat.SendRate | Should -BeNullOrEmpty
    }

    It 'measures rates over a window' {
        $stat = Get-ConnectionStatistic -Duration 00:00:01
        $stat.SampleSeconds | Should -BeGreaterThan 0.9
    }
}

Describe 'Get-TopTalker' {
    It 'ranks by connections from one snapshot' {
        $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
        $client.Connect($loopback, $port)
        $server = $listener.AcceptTcpClient()
        try {
            $me = Get-TopTalker -By Connections -Top 1000 | Where-Object { ($_.ProcessIds -split ', ') -contains "$PID" }
            $me | Should -Not -BeNullOrEmpty
            $me.Connections | Should -BeGreaterOrEqual 2
            $me.BytesSent | Should -BeNullOrEmpty
        }
        finally { $client.Dispose(); $server.Dispose() }
    }

    It 'counts bytes a connection moved during the window (Windows: elevated only)' -Skip:(-not $isElevated) {
        $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
        $client.Connect($loopback, $port)
        $server = $listener.AcceptTcpClient()
        # The server end reads everything: unread, the bytes would stop at the socket buffers
        # (~128 KB on loopback) and never be acknowledged.
        $null = $server.GetStream().CopyToAsync([System.IO.Stream]::Null)
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$manifest'").Invoke()
            $ps.Commands.Clear()
            $null = $ps.AddScript('Get-TopTalker -Duration 00:00:04 -Top 1000 -Verbose')
            $async = $ps.BeginInvoke()
            # Send once the window is open (its first snapshot taken), not after a guessed sleep.
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not ($ps.Streams.Verbose | Where-Object Message -like 'First snapshot taken*')) {
                if ($async.IsCompleted) { throw "Get-TopTalker ended before its window opened: $($ps.Streams.Error)" }
                if ([DateTime]::UtcNow -gt $deadline) { throw 'no "First snapshot taken" within 60 s' }
                Start-Sleep -Milliseconds 10
            }
            $bytes = [byte[]]::new(1MB)
            $client.GetStream().Write($bytes, 0, $bytes.Length)
            $talkers = $ps.EndInvoke($async)
            ($talkers | Where-Object { ($_.ProcessIds -split ', ') -contains "$PID" }).BytesSent | Should -BeGreaterOrEqual 1MB
        }
        finally { $ps.Dispose(); $client.Dispose(); $server.Dispose() }
    }
}

Describe 'Watch-Connection' {
    It 'reports the baseline with -IncludeExisting and ends with -Duration' {
        $events = Watch-Connection -IncludeExisting -LocalPort $port -State Listen -RefreshInterval 200 -Duration 00:00:00.5
        $events | Should -HaveCount 1
        $events.ChangeType | Should -Be 'Opened'
        $events.OwningProcess | Should -Be $PID
    }

    It 'streams a new connection as Opened' {
        $ps = [PowerShell]::Create()
        $opened = @()
        try {
            # Opened before the baseline is read, the client's end could be caught mid-handshake (SynSent) and then
            # be reported, rightly, as StateChanged to Established.
            $async = Start-WatchInBackground $ps "Watch-Connection -Port $port -ProcessId $PID -State Established -RefreshInterval 200 -Count 2 -Verbose"
            $opened = Open-UntilReported $listener { param($ms) $async.AsyncWaitHandle.WaitOne($ms) }.GetNewClosure()
            $events = $ps.EndInvoke($async)
            $events | Should -HaveCount 2
            $events.ChangeType | Should -Be @('Opened', 'Opened')
            # Both ends of the one connection the watch saw open: the server's end and the client's.
            $serverEnd = @($events | Where-Object LocalPort -eq $port)
            $clientEnd = @($events | Where-Object RemotePort -eq $port)
            $serverEnd | Should -HaveCount 1
            $clientEnd | Should -HaveCount 1
            $clientEnd[0].LocalPort | Should -Be $serverEnd[0].RemotePort
        }
        finally { foreach ($o in $opened) { $o.Dispose() }; $ps.Dispose() }
    }
}

Describe 'Show-ConnectionMonitor' {
    It 'prints plain tables without escapes when the output is not a terminal' {
        # A child PowerShell whose standard output is a pipe: the view must fall back to plain text.
        $shell = Get-TestPowerShellPath
        $text = & $shell -NoProfile -NonInteractive -Command "Import-Module '$manifest'; Show-ConnectionMonitor -LocalPort $port -Count 1" | Out-String
        $LASTEXITCODE | Should -Be 0
        $text | Should -Match "$port"
        $text | Should -Not -Match ([char]27)
    }
}
