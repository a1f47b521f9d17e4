#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# The web dashboard in a real PowerShell (Windows PowerShell 5.1 and PowerShell 7 on Windows and Linux): Start-, Get-,
# Stop-ConnectionDashboard, the refusals over HTTP, and a real Chromium (Playwright, tests/Dashboard/browser-check.mjs)
# using the page: a listener of this PowerShell found by search, a hostile process name shown as text, sorting, the
# keyboard, pause while the recording goes on, a CSV export that Import-Csv reads, no request leaving 127.0.0.1.

BeforeDiscovery {
    $script:OnLinux = [System.Environment]::OSVersion.Platform -eq 'Unix'
    # On Linux the browser test is part of the suite (tests/run.sh installs chromium and playwright-core): a missing
    # part fails the test. Elsewhere it runs when CM_CHROMIUM names a Chromium and node is on PATH.
    $script:BrowserWanted = $script:OnLinux -or [bool]$env:CM_CHROMIUM
}

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    Import-Module $ModuleManifest -Force -ErrorAction Stop
    $null = Enter-TestConfig
    $script:Dir = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'cm-pester-dashboard-' + [guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $script:Dir

    # A request with or without the cookie; the status code and body whatever the status (5.1 throws on 4xx).
    function Invoke-Dashboard([string] $Uri, [string] $Cookie, [hashtable] $Headers = @{}, [string] $Method = 'GET', [string] $Body) {
        $request = [System.Net.HttpWebRequest]::Create($Uri)
        $request.Method = $Method
        $request.AllowAutoRedirect = $false
        $request.KeepAlive = $false  # one connection per request: after the listener's own refusal of a Host, a reused connection is not safe
        if ($Cookie) { $request.Headers.Add('Cookie', $Cookie) }
        foreach ($k in $Headers.Keys) {
            if ($k -eq 'Content-Type') { $request.ContentType = $Headers[$k] } else { $request.Headers.Add($k, $Headers[$k]) }
        }
        if ($Body) {
            $bytes = [System.Text.Encoding]::UTF8.GetBytes($Body)
            $stream = $request.GetRequestStream(); $stream.Write($bytes, 0, $bytes.Length); $stream.Dispose()
        }
        try { $response = $request.GetResponse() } catch [System.Net.WebException] { $response = $_.Exception.Response; if (-not $response) { throw } }
        try {
            $reader = [System.IO.StreamReader]::new($response.GetResponseStream())
            [pscustomobject]@{ Status = [int]$response.StatusCode; Body = $reader.ReadToEnd(); Headers = $response.Headers }
        }
        finally { $response.Dispose() }
    }
}

AfterAll {
    Stop-ConnectionDashboard -WarningAction SilentlyContinue
    Stop-ConnectionRecording -WarningAction SilentlyContinue -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:Dir -Recurse -Force -ErrorAction SilentlyContinue
    Exit-TestConfig
}

Describe 'Start-, Get-, Stop-ConnectionDashboard' {
    It 'serves the page behind its token, gives the token once, and formats and exports flat' {
        Start-ConnectionDashboard -Port 0 -NoBrowser -WhatIf
        Get-ConnectionDashboard | Should -BeNullOrEmpty

        $d = Start-ConnectionDashboard -Port 0 -NoBrowser -Interval 1
        $d.Url | Should -Match '^http://127\.0\.0\.1:\d+/$'
        $d.LaunchUrl | Should -Match ('^' + [regex]::Escape($d.Url) + '\?token=[A-Za-z0-9_-]{43}$')
        $d.IsRunning | Should -BeTrue
        $d.Port | Should -Be ([uri]$d.Url).Port

        $state = Get-ConnectionDashboard
        $state.Url | Should -Be $d.Url
        $state.LaunchUrl | Should -BeNullOrEmpty

        (Invoke-Dashboard -Uri $d.Url).Status | Should -Be 403
        $launch = Invoke-Dashboard -Uri $d.LaunchUrl
        $launch.Status | Should -Be 303
        $cookie = ($launch.Headers['Set-Cookie'] -split ';')[0]
        $cookie | Should -Match "^cm_dashboard_$($d.Port)=[A-Za-z0-9_-]{43}$"
        $cookie | Should -Not -BeLike ('*' + ($d.LaunchUrl -split 'token=')[1]) -Because 'the cookie, which the browser sends to every port of 127.0.0.1, is not the token'
        $launch.Headers['Location'] | Should -Match '^/#k=[A-Za-z0-9_-]{43}$'
        $key = $launch.Headers['Location'].Substring(4)
        (Invoke-Dashboard -Uri "$($d.Url)api/info" -Cookie $cookie).Status | Should -Be 403 -Because 'the data needs the page key too'
        (Invoke-Dashboard -Uri "$($d.Url)api/info" -Cookie $cookie -Headers @{ 'X-Dashboard-Key' = $key }).Status | Should -Be 200
        $page = Invoke-Dashboard -Uri $d.Url -Cookie $cookie
        $page.Status | Should -Be 200
        $page.Body | Should -Match '<title>ConnectionsMonitor</title>'
        (Invoke-Dashboard -Uri $d.Url -Cookie $cookie -Headers @{ Host = "evil.example:$($d.Port)" }).Status | Should -Be 403
        (Invoke-Dashboard -Uri "$($d.Url)api/export" -Cookie $cookie -Method POST -Body '{"format":"csv"}' -Headers @{ 'Content-Type' = 'application/json'; Origin = 'http://evil.example'; 'X-Dashboard-Key' = $key }).Status | Should -Be 403
        (Get-ConnectionDashboard).Refused | Should -Be 4
        (Get-ConnectionDashboard).Displaced | Should -Be 0

        $table = (Get-ConnectionDashboard | Format-Table | Out-String -Width 200) -split "`r?`n" | Where-Object { $_.Trim() }
        $table[0] | Should -Match '^Running\s+Every\s+Pages\s+Rows\s+Refused\s+Url$'
        $table[2] | Should -Match ('^True\s+1s\s+\d+\s+\d+\s+\d+\s+' + [regex]::Escape($d.Url) + '$')
        $json = Get-ConnectionDashboard | ConvertTo-Json | ConvertFrom-Json
        $json.Port | Should -Be $d.Port
        $csv = @(Get-ConnectionDashboard | ConvertTo-Csv -NoTypeInformation | ConvertFrom-Csv)
        $csv[0].Url | Should -Be $d.Url

        { Start-ConnectionDashboard -Port 0 -NoBrowser -ErrorAction Stop } | Should -Throw -ErrorId 'DashboardAlreadyRunning*'
        Stop-ConnectionDashboard -WhatIf
        (Get-ConnectionDashboard).IsRunning | Should -BeTrue
        $final = Stop-ConnectionDashboard -PassThru
        $final.IsRunning | Should -BeFalse
        { Invoke-Dashboard -Uri $d.Url -Cookie $cookie } | Should -Throw
    }

    It 'offers no Block action with -NoBlock' {
        $d = Start-ConnectionDashboard -Port 0 -NoBrowser -NoBlock
        try {
            $launch = Invoke-Dashboard -Uri $d.LaunchUrl
            $cookie = ($launch.Headers['Set-Cookie'] -split ';')[0]
            $key = $launch.Headers['Location'].Substring(4)
            $info = (Invoke-Dashboard -Uri "$($d.Url)api/info" -Cookie $cookie -Headers @{ 'X-Dashboard-Key' = $key }).Body | ConvertFrom-Json
            $info.blocking | Should -BeFalse
            @($info.exportFormats) | Should -Be @('csv', 'json')
            $block = Invoke-Dashboard -Uri "$($d.Url)api/block" -Cookie $cookie -Method POST -Body '{"address":"192.0.2.1"}' -Headers @{ 'Content-Type' = 'application/json'; Origin = ($d.Url.TrimEnd('/')); 'X-Dashboard-Key' = $key }
            $block.Status | Should -Be 501
        }
        finally { Stop-ConnectionDashboard }
    }

    It 'needs -AllowRemoteAccess for an address other machines reach, and says why' {
        $err = $null
        try { Start-ConnectionDashboard -Port 0 -NoBrowser -Address 0.0.0.0 -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'RemoteAccessNotAllowed*'
        $err.Exception.Message | Should -BeLike '*reachable from other machines*-AllowRemoteAccess*'
        Get-ConnectionDashboard | Where-Object IsRunning | Should -BeNullOrEmpty
    }
}

Describe 'The dashboard in a real browser' -Skip:(-not $BrowserWanted) {
    BeforeAll {
        $script:Node = (Get-Command node -ErrorAction SilentlyContinue).Source
        $script:Chromium = if ($env:CM_CHROMIUM) { $env:CM_CHROMIUM } else { '/usr/bin/chromium' }
        $script:Check = Join-Path $RepoRoot 'tests/Dashboard/browser-check.mjs'
        $script:Playwright = Join-Path $RepoRoot 'tests/Dashboard/node_modules/playwright-core/package.json'
    }

    It 'shows this PowerShell''s listener and a hostile name as text, sorts, pauses, exports, and asks nothing of other hosts' {
        $Node | Should -Not -BeNullOrEmpty -Because 'the browser test needs Node.js (tests/run.sh installs nodejs when it is missing)'
        Test-Path -LiteralPath $Chromium | Should -BeTrue -Because "the browser test drives Chromium at $Chromium (apt-get install chromium; tests/run.sh installs it)"
        Test-Path -LiteralPath $Playwright | Should -BeTrue -Because 'tests/run.sh installs playwright-core with npm ci in tests/Dashboard'

        $pair = New-LoopbackPair
        $hostile = '<img src=x onerror=alert(1)>'
        $child = $null
        if ($OnLinux) {
            # python3 under the hostile name (a symlink, so the kernel's comm and argv[0] are that name) holding a connection.
            $link = Join-Path $script:Dir $hostile
            $null = New-Item -ItemType SymbolicLink -Path $link -Target '/usr/bin/python3'
            $child = Start-Process -FilePath $link -PassThru -ArgumentList '-c', "`"import socket,time; s=socket.create_connection(('127.0.0.1',$($pair.Port))); time.sleep(120)`""
        }
        $db = Join-Path $script:Dir 'history.db'
        Start-ConnectionRecording -Path $db -Interval 00:00:00.5
        Register-ConnectionAlert -Name dash-listen -NewListeningPort -ProcessId $PID -SourceIdentifier CM.Dash
        $late = $null
        # The pair's client sends 100 bytes every 250 ms while the page is up: its row's counters move at every update. So do
        # 150 more pairs' (a byte each way): more rows than a delta carries in its JSON, so the page takes their counters in
        # binary (/api/counters), as it does on a busy machine.
        $busy = @(foreach ($i in 1..150) { New-LoopbackPair })
        $writer = [powershell]::Create()
        $null = $writer.AddScript({
                param($Client, $Busy)
                $chunk = [byte[]]::new(100)
                $one = [byte[]]::new(1)
                $stream = $Client.GetStream()
                for ($i = 0; $i -lt 400; $i++) {
                    $stream.Write($chunk, 0, $chunk.Length)
                    foreach ($p in $Busy) { $p.Client.GetStream().Write($one, 0, 1); $p.Server.GetStream().Write($one, 0, 1) }
                    Start-Sleep -Milliseconds 250
                }
            }).AddArgument($pair.Client).AddArgument($busy)
        $null = $writer.BeginInvoke()
        try {
            $d = Start-ConnectionDashboard -Port 0 -NoBrowser -Interval 1
            # A listener opened once the rule watches: it fires, and the page's alert list says so.
            Start-Sleep -Seconds 2
            $late = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $late.Start()
            $downloads = Join-Path $script:Dir 'downloads'
            $null = New-Item -ItemType Directory -Path $downloads
            $shot = Join-Path $RepoRoot 'out/test-logs/dashboard.png'
            $before = (Get-ConnectionRecording).SamplesWritten
            # The arguments go in a file (Windows PowerShell and pwsh quote a native argument's double quotes differently).
            $arguments = Join-Path $script:Dir 'browser-check.json'
            @{ url = $d.LaunchUrl; port = $pair.Port; clientPort = $pair.ClientPort; hostile = $(if ($OnLinux) { $hostile } else { 'pwsh' }); downloads = $downloads; screenshot = $shot; pauseSeconds = 3; alertRule = 'dash-listen' } |
                ConvertTo-Json -Compress | Set-Content -LiteralPath $arguments -Encoding UTF8
            $env:CM_CHROMIUM = $Chromium
            $output = & $Node $Check $arguments 2>&1
            $after = (Get-ConnectionRecording).SamplesWritten
            $seen = ($output | Select-Object -Last 1) | ConvertFrom-Json
            $seen.error | Should -BeNullOrEmpty

            # The charting library served is the npm registry's uPlot, byte for byte (tests/Dashboard's lock file pins and hashes it).
            $uplot = Join-Path $RepoRoot 'tests/Dashboard/node_modules/uplot/dist/uPlot.iife.min.js'
            $embedded = Join-Path $RepoRoot 'src/ConnectionsMonitor.Engine/Dashboard/Assets/uPlot.iife.min.js'
            (Get-FileHash -LiteralPath $embedded).Hash | Should -Be (Get-FileHash -LiteralPath $uplot).Hash
            @($seen.requests | Where-Object { $_ -like '*/assets/uPlot.iife.min.js' }).Count | Should -Be 1
            # The whole table (3.5 MB at 10,000 rows) is asked for once; the updates come by the event stream, the busy ones'
            # counters by their version.
            $seen.snapshotRequestsBeforeCatchUp | Should -Be 1
            @($seen.requests | Where-Object { $_ -match '/api/counters\?version=\d+$' }).Count | Should -BeGreaterOrEqual 3

            # Loaded from 127.0.0.1 only; the token left the address bar and the cookie is out of the script's reach.
            @($seen.foreignRequests).Count | Should -Be 0
            $seen.addressAfterLoad | Should -Be $d.Url -Because 'the token and the page key leave the address at once'
            $seen.keyStored | Should -BeTrue
            # At 400 px only the table is wider than the window, and it scrolls in itself.
            $seen.narrowOverflowPx | Should -Be 0
            $seen.narrowRows | Should -BeGreaterThan 5
            $seen.narrowTableScrolls | Should -BeTrue
            $seen.secondTabLive | Should -BeTrue -Because 'a second tab at the plain address finds the page key in the origin''s storage'
            $seen.secondTabAddress | Should -Be $d.Url
            $seen.cookieVisibleToScript | Should -Be ''
            @($seen.pageErrors).Count | Should -Be 0
            # (The refused Block answers 409, and the counters held back below 404, which the browser logs as failed resources:
            # those are expected.)
            @($seen.consoleErrors | Where-Object { $_ -notlike '*status of 409*(/api/block)' -and $_ -notlike '*status of 404*(/api/counters)' }).Count | Should -Be 0
            # A page whose busy frame's counters are gone takes the whole table again and goes on live.
            $seen.snapshotRequestsAfterCatchUp | Should -Be 2
            $seen.catchUpStatus | Should -Match '^live '

            # The listener, found by searching for its port.
            $seen.searchShown | Should -Match '^\d+ of \d+ rows$'
            $listen = @($seen.searchRows | Where-Object { $_[1] -eq "127.0.0.1:$($pair.Port)" -and $_[3] -eq 'Listen' })
            $listen.Count | Should -Be 1
            $listen[0][4] | Should -Be "$PID"
            # The connection moving bytes: its Bytes cell follows the updates, which carry only its counters. (Linux: on
            # Windows byte counters need an elevated session.)
            if ($OnLinux) {
                $seen.movingBytesBefore | Should -Not -BeNullOrEmpty
                $seen.movingBytesAfter | Should -Not -BeNullOrEmpty
                $seen.movingBytesAfter | Should -Not -Be $seen.movingBytesBefore
            }

            # The hostile name is text: shown as written, no image element, no dialog.
            if ($OnLinux) {
                @($seen.hostileRows) | Should -Contain $hostile
                @($seen.hostileDetail) | Should -Contain $hostile
                # Its first-seen time reads as a local date and 24-hour time, the value as sent (with its offset) as the title.
                $firstSeen = @($seen.detailTimes | Where-Object { $_[0] -eq 'FirstSeen' })
                $firstSeen.Count | Should -Be 1
                $firstSeen[0][1] | Should -Match '^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$'
                # (ConvertFrom-Json in pwsh 7 reads an ISO 8601 string as a DateTime: either form is the value as sent.)
                $sent = $firstSeen[0][2]
                $sentLocal = if ($sent -is [datetime]) { $sent.ToLocalTime() } else { [datetimeoffset]::Parse($sent, [cultureinfo]::InvariantCulture).LocalDateTime }
                $sentLocal.ToString('yyyy-MM-dd HH:mm:ss', [cultureinfo]::InvariantCulture) | Should -Be $firstSeen[0][1]
                $seen.detailOnScreen | Should -BeTrue -Because 'opening the detail scrolls it into view'
            }
            $seen.imagesInPage | Should -Be 0
            # At 1280 px the widest PID, state, byte count, rate and creation time fit their cells whole (the rates were cut to
            # '3.8 M…'), and the table fits beside the side panel with room for a 17 px scrollbar.
            $seen.cutCells -is [array] | Should -BeTrue -Because 'the check ran and listed the cut cells (none)'
            ($seen.cutCells -join ', ') | Should -BeNullOrEmpty
            $seen.scrollsSideways | Should -BeFalse

            # The Block action asks first; for a loopback peer the guard refuses, the page says why, and no firewall table appears.
            if ($OnLinux) {
                $seen.blockOffered | Should -BeTrue
                $seen.blockDialogAddress | Should -Be '127.0.0.1'
                $seen.blockResult | Should -BeLike 'Not blocked: 127.0.0.1 is a loopback address*'
                & nft list table inet connectionsmonitor 2>$null | Out-Null
                $LASTEXITCODE | Should -Not -Be 0 -Because 'a refused block must not make the module''s nftables table'
            }
            @($seen.dialogs).Count | Should -Be 0

            # Sorting by Local: by address, then port as a number — each address's rows together, their ports ascending;
            # then descending.
            foreach ($case in @(@{ Rows = $seen.sortAscending; Descending = $false }, @{ Rows = $seen.sortDescending; Descending = $true })) {
                $ends = @($case.Rows | ForEach-Object { $i = $_.LastIndexOf(':'); [pscustomobject]@{ Address = $_.Substring(0, $i); Port = [int]$_.Substring($i + 1) } })
                $ends.Count | Should -BeGreaterThan 1
                $seenAddresses = [System.Collections.Generic.List[string]]::new()
                for ($k = 0; $k -lt $ends.Count; $k++) {
                    if ($k -gt 0 -and $ends[$k].Address -eq $ends[$k - 1].Address) {
                        if ($case.Descending) { $ends[$k].Port | Should -BeLessOrEqual $ends[$k - 1].Port }
                        else { $ends[$k].Port | Should -BeGreaterOrEqual $ends[$k - 1].Port }
                    }
                    elseif ($seenAddresses.Contains($ends[$k].Address)) { throw "rows of $($ends[$k].Address) are not together: $($case.Rows -join ', ')" }
                    else { $seenAddresses.Add($ends[$k].Address) }
                }
            }
            $seen.sortAscendingAria | Should -Be 'ascending'
            $seen.keyboardSelected | Should -Be 1
            $seen.detailOpenAfterEnter | Should -BeTrue
            $seen.detailHiddenAfterEscape | Should -BeTrue
            $seen.detailHiddenLater | Should -BeTrue -Because 'an update must not open a detail the user closed'
            # Enter on a column header sorts by it, even with a row selected, and opens no detail.
            $seen.headerEnterSort | Should -Be 'ascending'
            $seen.headerEnterDetailHidden | Should -BeTrue
            $seen.createdTitle | Should -Match '^(created|open already when first seen,) \S'
            $seen.createdTitlesAtStart | Should -Be 0 -Because 'a Created tip is written when its row is pointed at or selected, not with the first rows'
            $seen.createdTitleHovered | Should -Match '^(created|open already when first seen,) \S'
            @($seen.talkerTexts).Count | Should -BeGreaterThan 0
            foreach ($t in $seen.talkerTexts) { $t[0] | Should -Be $t[1] -Because 'a talker item reads as its name and value, nothing hidden left over' }

            # Pause: the table kept its rows while samples arrived; the recording went on meanwhile.
            $seen.pauseTableUnchanged | Should -BeTrue
            $seen.pauseRowsCompared | Should -BeGreaterOrEqual ([Math]::Min(5, $seen.pauseRowsFrozen)) -Because 'rows drawn when paused are drawn later too'
            $seen.pauseRowsFrozen | Should -BeGreaterOrEqual 5
            $seen.resumeRowsChanged | Should -BeGreaterThan 0 -Because 'resumed, the rows held back are drawn: the pause had changes to hold back'
            $seen.pauseStatusBefore | Should -Be 'paused'
            # Paused, the header's total and the top talkers still follow the samples.
            $seen.pausedTotal | Should -Match '^\d+$'
            $seen.pausedTalker | Should -Match '^\d+$'
            $seen.pauseStatusAfter | Should -Match '^paused \((\d+) new\)$'
            [int]([regex]::Match($seen.pauseStatusAfter, '\d+').Value) | Should -BeGreaterOrEqual 2
            $seen.resumeStatus | Should -Match '^live '
            ($after - $before) | Should -BeGreaterOrEqual 6

            # The export of the view (searched for the port) is a CSV that Import-Csv reads, with the listener in it.
            $seen.downloadName | Should -Match '^connections-\d{8}T\d{6}Z\.csv$'
            $rows = @(Import-Csv -LiteralPath $seen.downloadPath)
            $rows.Count | Should -BeGreaterOrEqual 2
            @($rows | Where-Object { $_.LocalPort -eq "$($pair.Port)" -and $_.State -eq 'Listen' -and $_.ProcessId -eq "$PID" }).Count | Should -Be 1
            @($rows | Where-Object { $_.LocalPort -ne "$($pair.Port)" -and $_.RemotePort -ne "$($pair.Port)" }).Count | Should -Be 0

            # The alert rule, as Get-ConnectionAlert counts it.
            $seen.alertText | Should -Match 'dash-listen \(NewListeningPort\)fired (\d+)×'
            [int]([regex]::Match($seen.alertText, 'fired (\d+)×').Groups[1].Value) | Should -Be (Get-ConnectionAlert -Name dash-listen).Fired

            # The history graphs show the recording; a talker opens its process view, which filters the table to it.
            $seen.graphPoints | Should -BeGreaterOrEqual 1
            $seen.graphCanvases | Should -Be 3
            @($seen.rangePressed) | Should -Be @('1h')
            $seen.processName | Should -Not -BeNullOrEmpty
            $seen.processTitle | Should -Be $seen.processName
            $seen.processFilter | Should -Be $seen.processName
            $seen.processNow | Should -Match '^\d+ connections? now, '
            $seen.processCanvases | Should -Be 2
            $seen.processNote | Should -Match '^\d+ points?, every \d+ s$' -Because 'the process view says what its graphs hold, as the main graphs do'
            $seen.processChartFits | Should -BeTrue -Because 'charts resized while hidden take their box''s width when shown'

            $seen.themeAfter | Should -Not -Be $seen.themeBefore
            Test-Path -LiteralPath $shot | Should -BeTrue
        }
        finally {
            $writer.Stop()
            $writer.Dispose()
            Stop-ConnectionDashboard -WarningAction SilentlyContinue
            Stop-ConnectionRecording -WarningAction SilentlyContinue
            Unregister-ConnectionAlert -Name dash-listen -ErrorAction SilentlyContinue
            Get-EventSubscriber -SourceIdentifier CM.Dash -ErrorAction SilentlyContinue | Unregister-Event
            if ($late) { $late.Stop() }
            if ($child) { $child | Stop-Process -ErrorAction SilentlyContinue }
            Remove-LoopbackPair $pair
            # Reset, not closed: their TIME_WAIT remnants would fill the next tests' tables for a minute.
            foreach ($p in $busy) { $p.Client.Client.LingerState = [System.Net.Sockets.LingerOption]::new($true, 0); Remove-LoopbackPair $p }
        }
    }

    It 'starts a refused event stream again, tells a page left open that the dashboard was started again, asks it nothing more, and the new URL in that tab goes live' {
        $Node | Should -Not -BeNullOrEmpty -Because 'the browser test needs Node.js (tests/run.sh installs nodejs when it is missing)'
        Test-Path -LiteralPath $Chromium | Should -BeTrue -Because "the browser test drives Chromium at $Chromium (apt-get install chromium; tests/run.sh installs it)"
        $restart = Join-Path $RepoRoot 'tests/Dashboard/browser-restart.mjs'
        $marker = Join-Path $script:Dir 'restart-live'
        $newUrlFile = Join-Path $script:Dir 'restart-url'
        $arguments = Join-Path $script:Dir 'browser-restart.json'
        $stdout = Join-Path $script:Dir 'browser-restart.out'
        $stderr = Join-Path $script:Dir 'browser-restart.err'
        $browser = $null
        try {
            $first = Start-ConnectionDashboard -Port 0 -NoBrowser -Interval 1
            @{ url = $first.LaunchUrl; liveMarker = $marker; newUrlFile = $newUrlFile } | ConvertTo-Json -Compress | Set-Content -LiteralPath $arguments -Encoding UTF8
            $env:CM_CHROMIUM = $Chromium
            $browser = Start-Process -FilePath $Node -ArgumentList "`"$restart`"", "`"$arguments`"" -PassThru -RedirectStandardOutput $stdout -RedirectStandardError $stderr
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while (-not (Test-Path -LiteralPath $marker) -and -not $browser.HasExited -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Test-Path -LiteralPath $marker | Should -BeTrue -Because "the page goes live first ($(Get-Content -Raw -LiteralPath $stderr -ErrorAction SilentlyContinue))"

            Stop-ConnectionDashboard
            $second = Start-ConnectionDashboard -Port $first.Port -NoBrowser -Interval 1
            $second.Port | Should -Be $first.Port
            $second.LaunchUrl | Should -Not -Be $first.LaunchUrl
            Set-Content -LiteralPath $newUrlFile -Value $second.LaunchUrl -Encoding ASCII
            $browser.WaitForExit(90000) | Should -BeTrue -Because 'the browser script ends'
            $seen = (Get-Content -LiteralPath $stdout | Select-Object -Last 1) | ConvertFrom-Json
            $seen.error | Should -BeNullOrEmpty -Because ('what the page did: ' + ($seen.timeline -join '; '))

            $seen.streamsRefused | Should -Be 1 -Because 'the page''s first event stream was answered 503 (a dashboard starting or stopping) and the page started it again'
            $seen.firstLive | Should -BeTrue
            $seen.statusAfterRestart | Should -Be 'restarted: open its new URL'
            $seen.statusTitle | Should -BeLike '*new token*LaunchUrl*'
            $seen.apiRequestsAfterRestart | Should -Be 0 -Because 'a page refused by the new dashboard stops asking (each request would count as refused)'
            $seen.secondLive | Should -BeTrue
            $seen.secondAddress | Should -Be $second.Url -Because 'the new token and key leave the address bar'
            $seen.secondRows | Should -BeGreaterThan 0
            @($seen.pageErrors).Count | Should -Be 0
            # The old page's cookie and key were refused by the new dashboard: what the page's one check after the failure cost.
            (Get-ConnectionDashboard).Refused | Should -BeGreaterOrEqual 1
        }
        finally {
            if ($browser -and -not $browser.HasExited) { $browser.Kill() }
            Stop-ConnectionDashboard -WarningAction SilentlyContinue
        }
    }
}

# After the browser's test: the idle sockets' TIME_WAIT remnants would fill its table and screenshot for a minute.
Describe 'The dashboard''s connection limit' {
    It 'counts the idle connections it displaces when all 64 are taken' {
        $d = Start-ConnectionDashboard -Port 0 -NoBrowser -Interval 1
        $idle = @()
        try {
            (Get-ConnectionDashboard).Displaced | Should -Be 0
            # 70 connections that never send a request: past 64 each newcomer takes the place of the oldest of them.
            $idle = foreach ($i in 1..70) { [System.Net.Sockets.TcpClient]::new('127.0.0.1', $d.Port) }
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while ((Get-ConnectionDashboard).Displaced -lt 6 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
            (Get-ConnectionDashboard).Displaced | Should -Be 6
            (Stop-ConnectionDashboard -PassThru).Displaced | Should -Be 6
        }
        finally {
            $idle | ForEach-Object { $_.Dispose() }
            Stop-ConnectionDashboard -WarningAction SilentlyContinue
        }
    }
}
