#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# The alert cmdlets in a real PowerShell (Windows PowerShell 5.1 and PowerShell 7 on Windows and Linux):
# alerts reach Register-EngineEvent subscribers and Wait-Event, a new listener of this process raises its
# rule's event, and a webhook URL's token appears in no stream, view or export.

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig -Extra "refreshInterval: 200`n"
    $token = 'Zq9SecretWebhookToken7731'
    $secretUrl = "https://hooks.slack.com/services/T000/B000/$token"
}

AfterAll {
    Get-ConnectionAlert | Unregister-ConnectionAlert
    Exit-TestConfig
}

Describe 'Alerts as PowerShell events' {
    AfterEach {
        Get-ConnectionAlert | Unregister-ConnectionAlert
        Get-EventSubscriber | Where-Object SourceIdentifier -like 'CM.*' | Unregister-Event
        Get-Event | Where-Object SourceIdentifier -like 'CM.*' | Remove-Event
    }

    It 'Register-EngineEvent -Action receives the test alert of Test-ConnectionAlert' {
        Register-ConnectionAlert -Name x -NewProcessTalkingOut -SourceIdentifier CM.X
        # The subscriber answers with an event of its own, so the test waits for that instead of sleeping.
        $null = Register-EngineEvent -SourceIdentifier CM.X -Action {
            $a = $Event.SourceArgs[0]
            $null = New-Event -SourceIdentifier CM.XSeen -MessageData ([pscustomobject]@{ Rule = $a.RuleName; Status = $a.Status; Type = $a.GetType().FullName })
        }
        $null = Test-ConnectionAlert -Name x
        $seen = Wait-Event -SourceIdentifier CM.XSeen -Timeout 10
        $seen | Should -Not -BeNullOrEmpty
        $seen.MessageData.Rule | Should -Be 'x'
        $seen.MessageData.Status | Should -Be 'Test'
        $seen.MessageData.Type | Should -Be 'ConnectionsMonitor.ConnectionAlertEvent'
    }

    It 'a new listener of this process raises the rule''s event with its port and PID' {
        Register-ConnectionAlert -Name l -NewListeningPort -ProcessId $PID -SourceIdentifier CM.L
        $opened = Open-ListenersUntilAlert CM.L
        $listeners = $opened.Listeners
        try {
            $event = $opened.Event
            $event | Should -Not -BeNullOrEmpty -Because "one of $($listeners.Count) new listeners should have raised CM.L within $($opened.Elapsed)"
            $alert = $event.SourceArgs[0]
            $alert.RuleName | Should -Be 'l'
            $alert.Kind | Should -Be 'NewListeningPort'
            $alert.Status | Should -Be 'Firing'
            $alert.ProcessId | Should -Be $PID
            $ports = @($listeners | ForEach-Object { $_.LocalEndpoint.Port })
            $ports | Should -Contain $alert.LocalPort
            (Get-ConnectionAlert l).Fired | Should -BeGreaterThan 0
        }
        finally {
            foreach ($l in $listeners) { $l.Stop() }
        }
    }
}

Describe 'Webhook secrets' {
    AfterEach {
        Get-ConnectionAlert | Unregister-ConnectionAlert
        Get-Event | Where-Object SourceIdentifier -like 'CM.*' | Remove-Event
    }

    It 'no stream, view or export carries the webhook token' {
        $csv = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-alerts-$([guid]::NewGuid().ToString('N')).csv")
        try {
            $everything = & {
                $VerbosePreference = 'Continue'
                $DebugPreference = 'Continue'
                # (-WhatIf text goes to the host, not a stream; the xunit tests check it through a rendering host.)
                Register-ConnectionAlert -Name leak -RemotePort 3389 -Webhook $secretUrl -SourceIdentifier CM.Leak -WhatIf -Verbose -Debug
                Register-ConnectionAlert -Name leak -RemotePort 3389 -Webhook $secretUrl -SourceIdentifier CM.Leak -Verbose -Debug -PassThru
                try { Register-ConnectionAlert -Name bad -VpnChange -Webhook ($secretUrl -replace '^https', 'ftp') -Verbose } catch { $_ | Format-List * -Force | Out-String -Width 400 }
                Get-ConnectionAlert -Verbose -Debug
                Get-ConnectionAlert | Format-List * | Out-String -Width 400
                Get-ConnectionAlert | Format-Table | Out-String -Width 400
                Get-ConnectionAlert | ConvertTo-Json
                Get-ConnectionAlert | Export-Csv -LiteralPath $csv -NoTypeInformation
                Get-Content -LiteralPath $csv
                Test-ConnectionAlert -Name leak -Verbose -Debug -WarningAction Continue | Out-String -Width 400  # -Debug alone makes warnings ask
                Wait-Event -SourceIdentifier CM.Leak -Timeout 10 | ConvertTo-Json -Depth 4
                Unregister-ConnectionAlert -Name leak -WhatIf -Verbose -Debug
                Unregister-ConnectionAlert -Name leak -Verbose -Debug
            } *>&1 | Out-String -Width 400
            $everything | Should -Match 'Slack https://hooks\.slack\.com/'   # the webhook was shown, redacted
            $everything | Should -Match 'A webhook must be an absolute http'  # the bad one was rejected
            $everything | Should -Match 'Test message'                        # the test event arrived
            $everything | Should -Not -Match $token
            $error | Out-String | Should -Not -Match $token
        }
        finally {
            Remove-Item -LiteralPath $csv -ErrorAction SilentlyContinue
        }
    }
}

Describe 'What the webhooks could not deliver' {
    It 'Remove-Module says how many alert messages went to the dead-letter file, and the file has them without the token' {
        $id = [guid]::NewGuid().ToString('N')
        $dead = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-dead-$id.jsonl")
        $config = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "cm-dead-$id.yml")
        Set-Content -LiteralPath $config -Encoding ASCII -Value "refreshInterval: 200`nresolveDNS: false`nalerts:`n  deadLetterPath: '$dead'`n"
        # A webhook that takes the connection and never answers: the alert is in flight when the module goes.
        $hang = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $hang.Start()
        $saved = $env:CONNECTIONSMONITOR_CONFIG
        try {
            $env:CONNECTIONSMONITOR_CONFIG = $config
            $child = @"
Import-Module '$ModuleManifest' -ErrorAction Stop
Register-ConnectionAlert -Name hang -NewListeningPort -ProcessId `$PID -Webhook 'http://127.0.0.1:$($hang.LocalEndpoint.Port)/hook/$token' -GroupWindow 0
`$listeners = @()
`$clock = [System.Diagnostics.Stopwatch]::StartNew()
while ((Get-ConnectionAlert hang).Pending -eq 0 -and `$clock.Elapsed.TotalSeconds -lt 20) {
    `$l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); `$l.Start(); `$listeners += `$l
    Start-Sleep -Milliseconds 500
}
"PENDING: `$((Get-ConnectionAlert hang).Pending)"
Remove-Module ConnectionsMonitor 3>&1 | ForEach-Object { "WARN: `$_" }
"@
            $shell = Get-TestPowerShellPath
            $out = & $shell -NoProfile -NonInteractive -Command $child 2>&1 | Out-String -Width 400
        }
        finally {
            $env:CONNECTIONSMONITOR_CONFIG = $saved
            $hang.Stop()
        }
        try {
            # One alert is in flight, or more when the machine was slow and a second listener was opened before the
            # first alert showed as pending: whatever the count, the warning and the file agree with it.
            # (A late alert may still join them between the count and Remove-Module.)
            $out | Should -Match 'PENDING: (\d+)'
            $pending = [int]([regex]::Match($out, 'PENDING: (\d+)').Groups[1].Value)
            $pending | Should -BeGreaterOrEqual 1
            $out | Should -Match ('WARN: (\d+) ' + [regex]::Escape("alert message(s) could not be delivered before the module was removed; they are in $dead (one JSON line each)."))
            $written = [int]([regex]::Match($out, 'WARN: (\d+) alert').Groups[1].Value)
            $written | Should -BeGreaterOrEqual $pending
            $pending = $written
            $out | Should -Not -Match $token
            $lines = @(Get-Content -LiteralPath $dead)
            $lines.Count | Should -Be $pending
            foreach ($line in $lines) {
                $entry = $line | ConvertFrom-Json
                $entry.rule | Should -Be 'hang'
                $entry.payload.alerts[0].kind | Should -Be 'NewListeningPort'
                $entry.target | Should -Match '^Generic http://127\.0\.0\.1:\d+/'
                $line | Should -Not -Match $token
            }
        }
        finally {
            Remove-Item -LiteralPath $dead, $config -ErrorAction SilentlyContinue
        }
    }
}
