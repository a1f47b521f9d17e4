#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# The system logs in a real PowerShell. Linux: with alerts.syslog.connectionEvents, Watch-Connection (a watcher)
# switches the connection records on, and a real UDP listener of this test receives CONN_OPEN and CONN_CLOSE of a
# loopback connection the test makes. Windows: with alerts.eventLog, Test-ConnectionAlert's test alert is read back
# with Get-WinEvent as event 1003 with its fields in Properties (needs Administrator to register the test's source;
# skipped with the reason otherwise, and on Linux).

BeforeDiscovery {
    $script:IsWin = [System.Environment]::OSVersion.Platform -eq 'Win32NT'
    $script:IsAdmin = $false
    if ($script:IsWin) {
        $id = [System.Security.Principal.WindowsIdentity]::GetCurrent()
        $script:IsAdmin = ([System.Security.Principal.WindowsPrincipal]::new($id)).IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
    }
}

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop

    function Read-Syslog($Udp, [scriptblock] $Match, [int] $TimeoutSeconds = 30) {
        $until = [datetime]::UtcNow.AddSeconds($TimeoutSeconds)
        while ([datetime]::UtcNow -lt $until) {
            $from = [System.Net.IPEndPoint]::new([System.Net.IPAddress]::Any, 0)
            try { $bytes = $Udp.Receive([ref] $from) } catch [System.Net.Sockets.SocketException] { break }
            $text = [System.Text.Encoding]::UTF8.GetString($bytes)
            if ($text -notmatch '^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[(\S+)( [^\]]*)?\]') { throw "not RFC 5424: $text" }
            $m = [pscustomobject]@{ Pri = $Matches[1]; ProcId = $Matches[5]; MsgId = $Matches[6]; SdId = $Matches[7]; Params = @{}; Text = $text }
            foreach ($p in [regex]::Matches($text, ' ([A-Za-z]+)="((?:\\.|[^"\\])*)"')) { $m.Params[$p.Groups[1].Value] = $p.Groups[2].Value -replace '\\(.)', '$1' }
            if (& $Match $m) { return $m }
        }
        return $null
    }
}

Describe 'Connection records to syslog (Linux)' -Skip:$script:IsWin {
    BeforeAll {
        $script:Udp = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
        $script:Udp.Client.ReceiveTimeout = 30000
        $port = $script:Udp.Client.LocalEndPoint.Port
        $null = Enter-TestConfig ("refreshInterval: 300`nalerts:`n  syslog:`n    enabled: true`n    target: 'udp://127.0.0.1:$port'`n    connectionEvents: [opened, closed]`n")
    }
    AfterAll {
        Exit-TestConfig
        $script:Udp.Dispose()
    }

    It 'sends CONN_OPEN and CONN_CLOSE of a connection made while Watch-Connection runs' {
        # The watch runs in a PowerShell of its own (same process, so $PID owns the test's connections). The records'
        # own subscription takes its baseline after the watcher's, and a connection in that baseline is never a
        # CONN_OPEN: so, after the watcher's baseline, connections are opened one at a time until one is reported.
        $ps = [PowerShell]::Create()
        $loopback = [System.Net.IPAddress]::Loopback
        $listener = [System.Net.Sockets.TcpListener]::new($loopback, 0)
        $listener.Start()
        $pairs = [System.Collections.Generic.List[object]]::new()
        try {
            $null = Start-WatchInBackground $ps "Watch-Connection -ProcessId $PID -Duration 120 -Verbose"
            $serverPort = "$($listener.LocalEndpoint.Port)"
            $script:Udp.Client.ReceiveTimeout = 3000
            $open = $null
            $until = [datetime]::UtcNow.AddSeconds(60)
            while (-not $open -and [datetime]::UtcNow -lt $until) {
                $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
                $client.Connect($loopback, $listener.LocalEndpoint.Port)
                $server = $listener.AcceptTcpClient()
                $pairs.Add([pscustomobject]@{ Client = $client; Server = $server; Port = "$($client.Client.LocalEndPoint.Port)" })
                $client.GetStream().Write([byte[]]::new(300), 0, 300)
                $buffer = [byte[]]::new(300); $n = 0
                while ($n -lt 300) { $n += $server.GetStream().Read($buffer, $n, 300 - $n) }
                $open = Read-Syslog $script:Udp { param($m) $m.SdId -eq 'connection@32473' -and $m.MsgId -eq 'CONN_OPEN' -and $m.Params.remotePort -eq $serverPort -and $pairs.Port -contains $m.Params.localPort } -TimeoutSeconds 4
            }
            $open | Should -Not -BeNullOrEmpty -Because 'the opening of a test connection is a CONN_OPEN record'
            $open.Pri | Should -Be '134'   # local0, informational
            $open.Params.pid | Should -Be "$PID"
            $open.Params.protocol | Should -Be 'TCP'
            # That connection closes with RST (no TIME_WAIT remnant), its 300 bytes sent.
            $pair = $pairs | Where-Object Port -eq $open.Params.localPort
            $pair.Client.Client.LingerState = [System.Net.Sockets.LingerOption]::new($true, 0)
            $pair.Client.Close(); $pair.Server.Close()
            $script:Udp.Client.ReceiveTimeout = 30000
            $close = Read-Syslog $script:Udp { param($m) $m.SdId -eq 'connection@32473' -and $m.MsgId -eq 'CONN_CLOSE' -and $m.Params.localPort -eq $pair.Port -and $m.Params.remotePort -eq $serverPort }
            $close | Should -Not -BeNullOrEmpty -Because 'its closing is a CONN_CLOSE record'
            $close.Params.bytesSent | Should -Be '300'
            $close.Params.change | Should -Be 'closed'
        }
        finally {
            $ps.Stop(); $ps.Dispose()
            foreach ($p in $pairs) { $p.Client.Dispose(); $p.Server.Dispose() }
            $listener.Stop()
        }
    }
}

Describe 'Alerts to the Windows Event Log' -Skip:(-not $script:IsWin -or -not $script:IsAdmin) {
    BeforeAll {
        $script:Source = "CMPester$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        [System.Diagnostics.EventLog]::CreateEventSource($script:Source, 'Application')
        $null = Enter-TestConfig ("alerts:`n  eventLog:`n    enabled: true`n    source: $($script:Source)`n")
    }
    AfterAll {
        Get-ConnectionAlert -Name 'pester-eventlog' -ErrorAction SilentlyContinue | Unregister-ConnectionAlert -Confirm:$false
        Exit-TestConfig
        [System.Diagnostics.EventLog]::DeleteEventSource($script:Source)
    }

    It 'writes the test alert as event 1003 with its fields as insertion strings' {
        $null = Register-ConnectionAlert -Name 'pester-eventlog' -MaxConnections 1000000
        $null = Test-ConnectionAlert -Name 'pester-eventlog'
        $found = $null
        foreach ($i in 1..40) {
            $found = Get-WinEvent -FilterHashtable @{ LogName = 'Application'; ProviderName = $script:Source; Id = 1003 } -MaxEvents 1 -ErrorAction SilentlyContinue
            if ($found) { break }
            Start-Sleep -Milliseconds 250
        }
        $found | Should -Not -BeNullOrEmpty
        $found.LevelDisplayName | Should -Be 'Information'
        $found.Properties[0].Value | Should -Be "Test message for alert rule 'pester-eventlog' (MaxConnections); nothing happened."
        $found.Properties[2].Value | Should -Be 'pester-eventlog'
        $found.Properties[3].Value | Should -Be 'MaxConnections'
        $found.Properties[4].Value | Should -Be 'test'
        $found.Message | Should -Be "Test message for alert rule 'pester-eventlog' (MaxConnections); nothing happened."
    }
}

Describe 'Skipped here' {
    It 'needs Windows and Administrator for the Event Log block' -Skip:($script:IsWin -and $script:IsAdmin) {
        Set-ItResult -Skipped -Because 'the Windows Event Log exists only on Windows, and registering the test''s event source needs Administrator'
    }
}
