# Block-ConnectionRemote, Get-ConnectionBlock and Unblock-ConnectionRemote under a real pwsh.
# Linux: every firewall change happens inside two network namespaces these tests make (client A, peer B,
# joined by a veth pair), by a child pwsh started with 'ip netns exec A'; the machine's own ruleset is never
# touched. Needs root, iproute2, nftables and python3 (tests/run.sh installs them); without them the Linux
# blocks are skipped with the reason. Windows: the same commands against Windows Firewall (elevated only);
# they are written for the Windows CI and skip elsewhere.

BeforeDiscovery {
    # -Skip is evaluated at discovery, before BeforeAll runs.
    $onLinux = $IsLinux -eq $true
    $linuxReason = $null
    if (-not $onLinux) { $linuxReason = 'the nftables tests need Linux' }
    elseif ((& id -u) -ne '0') { $linuxReason = 'the nftables tests make network namespaces and must run as root' }
    elseif (-not (Get-Command nft -ErrorAction SilentlyContinue)) { $linuxReason = 'the nft program is missing (apt-get install nftables)' }
    elseif (-not (Get-Command ip -ErrorAction SilentlyContinue)) { $linuxReason = 'iproute2 (ip) is missing' }
    elseif (-not (Get-Command python3 -ErrorAction SilentlyContinue)) { $linuxReason = 'python3 is missing (the peer listener and the connection checks use it)' }
    $windowsReason = $null
    if (-not ($IsWindows -or $PSVersionTable.PSEdition -eq 'Desktop')) { $windowsReason = 'the Windows Firewall tests need Windows' }
    elseif (-not ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
        $windowsReason = 'changing Windows Firewall rules needs an elevated PowerShell'
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
    $script:Port = 8081
    $script:Connector = @'
import socket,sys,errno
try:
    c=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=3); c.settimeout(3); print('ok' if c.recv(2)==b'hi' else 'bad')
except socket.timeout: print('timeout')
except OSError as e: print({errno.ECONNREFUSED:'refused'}.get(e.errno,'error '+str(e.errno)))
'@
    $script:Listener = @'
import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',int(sys.argv[1]))); s.listen(16)
print('ready',flush=True)
while True:
    c,_=s.accept(); c.sendall(b'hi'); c.close()
'@
}

# Says why a block below is skipped (Pester shows no reason for a skipped Describe).
Describe 'Prerequisites of the blocking tests' {
    It 'has what the <Name> tests need' -ForEach @(@{ Name = 'nftables'; Reason = $linuxReason }, @{ Name = 'Windows Firewall'; Reason = $windowsReason }) {
        if ($Reason) { Set-ItResult -Skipped -Because $Reason; return }
        $Reason | Should -BeNullOrEmpty
    }
}

Describe 'Blocking with nftables in network namespaces (Linux, root)' -Skip:($null -ne $linuxReason) {
    BeforeAll {
        $tag = "$PID".Substring([Math]::Max(0, "$PID".Length - 4)) + (Get-Random -Maximum 99)
        $script:A = "cmpa$tag"; $script:B = "cmpb$tag"
        $net = "10.249.$(Get-Random -Minimum 1 -Maximum 250)"
        $script:AddrA = "$net.1"; $script:AddrB = "$net.2"
        foreach ($args in @("netns add $A", "netns add $B", "-n $A link add veth0 type veth peer name veth0 netns $B",
                            "-n $A addr add $AddrA/30 dev veth0", "-n $B addr add $AddrB/30 dev veth0",
                            "-n $A link set veth0 up", "-n $B link set veth0 up", "-n $A link set lo up", "-n $B link set lo up")) {
            $out = & ip @($args -split ' ') 2>&1
            if ($LASTEXITCODE -ne 0) { throw "ip $args failed: $out" }
        }
        $psi = [System.Diagnostics.ProcessStartInfo]::new('ip')
        foreach ($a in @('netns', 'exec', $B, 'python3', '-c', $script:Listener, "$($script:Port)")) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true; $psi.RedirectStandardInput = $true; $psi.UseShellExecute = $false
        $script:ListenerProcess = [System.Diagnostics.Process]::Start($psi)
        if ($script:ListenerProcess.StandardOutput.ReadLine() -ne 'ready') { throw 'the peer listener did not start' }

        # Runs $Body in a child pwsh inside namespace A with the module imported; returns its output as one string.
        # $Prefix goes before the pwsh command (env VAR=..., setpriv ...); -ViaDotnet starts pwsh.dll with this dotnet, for an
        # account that may not run the tool's apphost (its mode is 744).
        function script:Invoke-InA([string] $Body, [string[]] $Prefix = @(), [switch] $ViaDotnet) {
            $script = "`$ErrorActionPreference = 'Continue'; Import-Module '$ModuleManifest'; $Body"
            $pwsh = if ($ViaDotnet) { @([Environment]::ProcessPath, [System.IO.Path]::Combine($PSHOME, 'pwsh.dll')) } else { @(Get-TestPowerShellPath) }
            $cmd = @('netns', 'exec', $script:A) + $Prefix + $pwsh + @('-NoProfile', '-NonInteractive', '-Command', $script)
            (& ip @cmd 2>&1 | Out-String).TrimEnd()
        }
        function script:Connect-FromA { (& ip netns exec $script:A python3 -c $script:Connector $script:AddrB $script:Port | Out-String).Trim() }
        function script:Get-RulesetA { & ip netns exec $script:A nft list ruleset | Out-String }
        function script:Test-TableInA { [bool]((& ip netns exec $script:A nft list tables | Out-String) -match 'table inet connectionsmonitor') }
    }

    AfterAll {
        if ($script:ListenerProcess) { $script:ListenerProcess.Kill(); $script:ListenerProcess.Dispose() }
        & ip netns del $script:A 2>$null
        & ip netns del $script:B 2>$null
    }

    AfterEach {
        & ip netns exec $script:A nft delete table inet connectionsmonitor 2>$null
        & ip -n $script:A route del default 2>$null
    }

    It 'blocks, refuses at once, lists and unblocks through the cmdlets' {
        Connect-FromA | Should -Be 'ok'
        Invoke-InA "Block-ConnectionRemote -RemoteAddress $($script:AddrB) -Duration 01:00:00 -Reason 'scan from alert' -Confirm:`$false" | Should -BeNullOrEmpty
        Connect-FromA | Should -Be 'refused'
        $json = Invoke-InA 'Get-ConnectionBlock | ConvertTo-Json -Compress' | ConvertFrom-Json
        $json.RemoteAddress | Should -Be $script:AddrB
        $json.Direction | Should -Be 'Both'
        $json.Reason | Should -Be 'scan from alert'
        $json.Firewall | Should -Be 'nftables table inet connectionsmonitor'
        ([datetime]$json.Expires - [datetime]$json.Created) | Should -Be ([timespan]'01:00:00')
        # Twice, as two piped connections to one remote come: one block removed, no 'not blocked' for the second.
        Invoke-InA "'$($script:AddrB)', '$($script:AddrB)' | Unblock-ConnectionRemote" | Should -BeNullOrEmpty
        Connect-FromA | Should -Be 'ok'
        Test-TableInA | Should -BeTrue   # an empty table stays until -All
        Invoke-InA 'Unblock-ConnectionRemote -All' | Should -BeNullOrEmpty
        Test-TableInA | Should -BeFalse
        Get-RulesetA | Should -BeNullOrEmpty
    }

    It 'blocks the remote end of connections piped from Get-MonitoredConnection, once however many name it' {
        # Not TIME_WAIT: the connection of the test before may still be in it (60 s) and would make a fourth row. (These three
        # are CLOSE_WAIT by now: B's server closes each at once.)
        $body = "`$c = 1..3 | ForEach-Object { `$t = [System.Net.Sockets.TcpClient]::new(); `$t.Connect('$($script:AddrB)', $($script:Port)); `$t }; " +
                "`$rows = @(Get-MonitoredConnection -RemoteAddress $($script:AddrB) | Where-Object State -ne TimeWait); 'rows=' + `$rows.Count; " +
                "`$rows | Block-ConnectionRemote -Duration 0:10:00 -Reason piped -PassThru | ForEach-Object { 'block=' + `$_.RemoteAddress + ' ' + `$_.Direction + ' ' + `$_.Reason + ' ' + `$_.RemainingSeconds }; " +
                "`$c | ForEach-Object Dispose"
        $lines = (Invoke-InA $body) -split "`n" | ForEach-Object TrimEnd
        $lines[0] | Should -Be 'rows=3'
        $lines[1] | Should -Match ('^block=' + [regex]::Escape($script:AddrB) + ' Both piped (600|59\d)$')
        $lines.Count | Should -Be 2
        Connect-FromA | Should -Be 'refused'
    }

    It 'leaves nft list ruleset byte-identical with -WhatIf' {
        $before = Get-RulesetA
        $said = Invoke-InA "Block-ConnectionRemote -RemoteAddress 203.0.113.7 -Duration 01:00:00 -Reason 'scan from alert' -WhatIf"
        $said | Should -Match ([regex]::Escape('What if: Performing the operation "Block inbound and outbound traffic for 01:00:00 (until ') + '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d' + [regex]::Escape(') in nftables table inet connectionsmonitor" on target "203.0.113.7".'))
        Get-RulesetA | Should -BeExactly $before
        Test-TableInA | Should -BeFalse

        # With blocks present (no time-out, so the listing has no countdown in it): -WhatIf of every command changes nothing.
        Invoke-InA 'Block-ConnectionRemote 198.51.100.0/24 -Reason kept' | Should -BeNullOrEmpty
        $before = Get-RulesetA
        $before | Should -Match '198\.51\.100\.0/24'
        $said = Invoke-InA "Block-ConnectionRemote 203.0.113.7 -WhatIf; Block-ConnectionRemote 198.51.100.0/24 -Direction Inbound -WhatIf; Unblock-ConnectionRemote 198.51.100.0/24 -WhatIf; Unblock-ConnectionRemote -All -WhatIf"
        $said | Should -Match ([regex]::Escape('replacing the present block (Both, reason ''kept'', no expiry)'))
        $said | Should -Match ([regex]::Escape('What if: Performing the operation "Remove every block the module made (1 now) and the table itself" on target "nftables table inet connectionsmonitor".'))
        Get-RulesetA | Should -BeExactly $before
    }

    It 'refuses loopback, the default gateway, its own address and the remoting client, with exact error ids, unless -Force' {
        & ip -n $script:A route add default via $script:AddrB
        $ids = Invoke-InA "foreach (`$a in '127.0.0.1', '::1', '$($script:AddrB)', '$($script:AddrA)', '192.0.2.0/24', '0.0.0.0/0') { Block-ConnectionRemote `$a -ErrorAction SilentlyContinue -ErrorVariable e; `$e[0].FullyQualifiedErrorId }; `$e[0].Exception.Message" `
            -Prefix @('env', 'SSH_CONNECTION=192.0.2.44 50000 10.0.0.1 22')
        $ids -split "`n" | ForEach-Object TrimEnd | Should -Be @(
            'BlockRefusedLoopback,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand',
            'BlockRefusedLoopback,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand',
            'BlockRefusedDefaultGateway,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand',
            'BlockRefusedLocalAddress,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand',
            'BlockRefusedRemotingClient,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand',
            'BlockRefusedLoopback,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand',
            '0.0.0.0/0 contains a loopback address (127.0.0.1); blocking it breaks programs on this machine that talk to each other. Use -Force to block it anyway.')
        Test-TableInA | Should -BeFalse
        $said = Invoke-InA "Block-ConnectionRemote $($script:AddrB) -ErrorAction SilentlyContinue -ErrorVariable e; `$e[0].Exception.Message"
        $said | Should -Be "$($script:AddrB) is this machine's default gateway ($($script:AddrB)); blocking it cuts this machine off from every other network. Use -Force to block it anyway."
        Invoke-InA "Block-ConnectionRemote $($script:AddrB) -Force" | Should -BeNullOrEmpty
        Connect-FromA | Should -Be 'refused'
    }

    It 'formats blocks as a table, CSV and JSON' {
        Invoke-InA "Block-ConnectionRemote 203.0.113.7 -Duration 2:00:00 -Reason 'scan from alert'; Block-ConnectionRemote 2001:db8::/32 -Direction Inbound -Reason ('bell' + [char]7 + 'x')" | Should -BeNullOrEmpty
        $table = Invoke-InA 'Get-ConnectionBlock | Format-Table | Out-String -Width 100'
        $lines = $table -split "`n" | ForEach-Object TrimEnd | Where-Object { $_ }
        $lines[0] | Should -Be 'RemoteAddress            Direction Expires                 Left Reason'
        $lines[2] | Should -Match '^203\.0\.113\.7              Both      \d{4}-\d\d-\d\d \d\d:\d\d:\d\d    1h59m scan from alert$'
        $lines[3] | Should -Be ('2001:db8::/32            Inbound   never                        bell' + [char]0x2407 + 'x')
        $csv = Invoke-InA 'Get-ConnectionBlock | ConvertTo-Csv -NoTypeInformation'
        $rows = $csv | ConvertFrom-Csv
        ($csv -split "`n")[0].TrimEnd() | Should -Be '"RemoteAddress","Direction","Reason","Created","Expires","RemainingSeconds","Firewall"'
        $rows[1].RemoteAddress | Should -Be '2001:db8::/32'
        $rows[1].Expires | Should -BeNullOrEmpty
        $rows[1].RemainingSeconds | Should -BeNullOrEmpty
        $rows[0].RemainingSeconds | Should -Match '^71\d\d$'
        $json = Invoke-InA 'Get-ConnectionBlock -RemoteAddress 2001:db8::1 | ConvertTo-Json -Compress' | ConvertFrom-Json
        $json.RemoteAddress | Should -Be '2001:db8::/32'
        $json.Reason | Should -Be ('bell' + [char]7 + 'x')
        $json.Expires | Should -BeNullOrEmpty
    }

    It 'completes -RemoteAddress of Unblock-ConnectionRemote with the blocked addresses' {
        Invoke-InA "Block-ConnectionRemote 203.0.113.7, 203.0.113.9 -Duration 1:00:00 -Reason done; Block-ConnectionRemote 2001:db8::/32" | Should -BeNullOrEmpty
        $said = Invoke-InA "`$r = TabExpansion2 -inputScript 'Unblock-ConnectionRemote 203.' -cursorColumn 29; `$r.CompletionMatches | ForEach-Object { `$_.CompletionText + ' | ' + `$_.ToolTip }"
        $lines = $said -split "`n" | ForEach-Object TrimEnd
        $lines.Count | Should -Be 2
        $lines[0] | Should -Match '^203\.0\.113\.7 \| Both, reason ''done'', until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$'
        $lines[1] | Should -Match '^203\.0\.113\.9 \| '
    }

    It 'says what is needed without privilege' {
        $said = Invoke-InA 'try { Get-ConnectionBlock -ErrorAction Stop } catch { $_.FullyQualifiedErrorId; $_.Exception.Message }' `
            -Prefix @('setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'env', "HOME=$([System.IO.Path]::GetTempPath())") -ViaDotnet
        $lines = $said -split "`n" | ForEach-Object TrimEnd
        $lines[0] | Should -Be 'FirewallNotPermitted,ConnectionsMonitor.Commands.GetConnectionBlockCommand'
        $lines[1] | Should -Match '^nft was not permitted to list the table inet connectionsmonitor \(it needs root or the CAP_NET_ADMIN capability\): .*permitted\. Run PowerShell as root \(sudo pwsh\)\.$'
    }
}

Describe 'Argument errors (no firewall is touched)' {
    It 'refuses <Text> with <Id>' -ForEach @(
        @{ Text = 'example.com'; Id = 'InvalidRemoteAddress'; Message = "-RemoteAddress: 'example.com' is not an IP address or CIDR block. Expected an IP address (203.0.113.7, 2001:db8::7) or a CIDR block (198.51.100.0/24, 2001:db8::/32)." }
        @{ Text = 'fe80::1%eth0'; Id = 'InvalidRemoteAddress'; Message = "-RemoteAddress: 'fe80::1%eth0' has a zone (%...); a block applies to an address on every interface, so give the address without the zone." }
    ) {
        Block-ConnectionRemote -RemoteAddress $Text -WhatIf -ErrorAction SilentlyContinue -ErrorVariable e
        $e[0].FullyQualifiedErrorId | Should -Be "$Id,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand"
        $e[0].Exception.Message | Should -Be $Message
    }

    It 'skips a piped connection without a remote address, and refuses an empty one given by hand' {
        $said = [pscustomobject]@{ RemoteAddress = $null }, [pscustomobject]@{ RemoteAddress = '' } | Block-ConnectionRemote -WhatIf -Verbose -ErrorVariable e 4>&1
        @($said).Count | Should -Be 2
        $said[0].Message | Should -Be 'A piped object without a remote address (RemoteAddress is $null: a socket with no peer, such as an unconnected UDP socket) is skipped.'
        $said[1].Message | Should -Be 'A piped object without a remote address (RemoteAddress is empty: a socket with no peer, such as an unconnected UDP socket) is skipped.'
        $e | Should -BeNullOrEmpty
        Block-ConnectionRemote -RemoteAddress '' -WhatIf -ErrorAction SilentlyContinue -ErrorVariable e
        $e[0].FullyQualifiedErrorId | Should -Be 'InvalidRemoteAddress,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand'
        $e[0].Exception.Message | Should -Be '-RemoteAddress is empty; expected an IP address (203.0.113.7, 2001:db8::7) or a CIDR block (198.51.100.0/24, 2001:db8::/32).'
    }

    It 'refuses a duration of zero' {
        { Block-ConnectionRemote 203.0.113.7 -Duration 0 -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidDuration,ConnectionsMonitor.Commands.BlockConnectionRemoteCommand'
    }
}

Describe 'Blocking with Windows Firewall (Windows, elevated)' -Skip:($null -ne $windowsReason) {
    AfterAll {
        Unblock-ConnectionRemote -All -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'makes one rule per direction in the group, lists, and -All removes them' {
        Block-ConnectionRemote 203.0.113.7 -Duration 01:00:00 -Reason 'pester' -Confirm:$false
        $rules = @(Get-NetFirewallRule -Group 'ConnectionsMonitor')
        $rules.Count | Should -Be 2
        ($rules.DisplayName | Sort-Object) | Should -Be @('ConnectionsMonitor block 203.0.113.7 inbound', 'ConnectionsMonitor block 203.0.113.7 outbound')
        $rules[0].Action | Should -Be 'Block'
        $block = Get-ConnectionBlock
        $block.RemoteAddress | Should -Be '203.0.113.7'
        $block.Direction | Should -Be 'Both'
        $block.Reason | Should -Be 'pester'
        $block.Firewall | Should -Be 'Windows Firewall rule group ConnectionsMonitor'
        Unblock-ConnectionRemote -All -Confirm:$false
        @(Get-NetFirewallRule -Group 'ConnectionsMonitor' -ErrorAction SilentlyContinue).Count | Should -Be 0
    }

    It 'removes a rule whose time has run out the next time a blocking command runs' {
        Block-ConnectionRemote 203.0.113.8 -Duration 00:00:02 -Confirm:$false
        Start-Sleep -Seconds 3
        @(Get-NetFirewallRule -Group 'ConnectionsMonitor').Count | Should -Be 2   # Windows Firewall keeps them ...
        Get-ConnectionBlock | Should -BeNullOrEmpty                                # ... until the module sweeps
        @(Get-NetFirewallRule -Group 'ConnectionsMonitor' -ErrorAction SilentlyContinue).Count | Should -Be 0
    }
}
