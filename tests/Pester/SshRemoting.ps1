# Dot-sourced by Remoting.Tests.ps1 (after TestSupport.ps1): a private OpenSSH server on 127.0.0.1 that
# offers this PowerShell as its "powershell" subsystem, so the tests use real PowerShell remoting over SSH
# to this machine. Linux only. Nothing of the system's own SSH set-up is read or changed (/etc/ssh,
# ~/.ssh): host key, client key, authorized_keys, known_hosts, the sshd_config and the log all live in a
# folder of their own under out/, and the server is stopped (and the folder removed) by Stop-TestSshServer.
#
# What this sshd (OpenSSH 9.2, Debian) needs, measured:
#   - run as root, from its absolute path (sshd refuses to re-exec itself from a relative one);
#   - /run/sshd, its privilege separation directory ("Missing privilege separation directory: /run/sshd");
#     Debian's ssh.service makes it at start (RuntimeDirectory=sshd). Start-TestSshServer makes it (empty,
#     root's, 0755) when it is missing and leaves it, as the service would: another sshd may be using it;
#   - PidFile pointing away from /run/sshd.pid, so it never meets a system sshd;
#   - StrictModes (kept on): the authorized_keys file and every folder above it must be owned by root and
#     not writable by group or others, so the folder cannot be under /tmp (mode 1777): "Authentication
#     refused: bad ownership or modes for directory /tmp". Start-TestSshServer checks the path first and
#     says which folder is at fault;
#   - the sshd session's environment is not the test's: DOTNET_ROOT (for the pwsh dotnet tool) is passed
#     with SetEnv.
# A second subsystem, "powershell-nobody", runs the same pwsh as the user nobody (setpriv, with a HOME of its
# own): a remote session without root, for the module's not-root warning. New-PSSession -Subsystem picks it.

function Get-TestSshPrerequisiteProblem {
    if ([System.Environment]::OSVersion.Platform -ne 'Unix' -or -not $IsLinux) { return 'SSH remoting to a private sshd is set up on Linux only' }
    foreach ($tool in 'sshd', 'ssh', 'ssh-keygen') {
        if (-not (Get-Command $tool -CommandType Application -ErrorAction SilentlyContinue) -and -not (Test-Path "/usr/sbin/$tool")) {
            return "'$tool' is not installed: install openssh-server and openssh-client (tests/run.sh does as root)"
        }
    }
    if ((& id -u) -ne '0') { return 'the private sshd must run as root to log a user in; run the tests as root' }
    return $null
}

# Every folder from $Path up to / must be owned by root and not writable by group or others (sshd's
# StrictModes); returns what is wrong, or $null.
function Test-SshSafePath([string] $Path) {
    $dir = [System.IO.DirectoryInfo]::new($Path)
    while ($null -ne $dir) {
        $item = Get-Item -LiteralPath $dir.FullName -Force
        $mode = [System.IO.File]::GetUnixFileMode($dir.FullName)
        if ($item.User -ne 'root' -or ($mode -band ([System.IO.UnixFileMode]::GroupWrite -bor [System.IO.UnixFileMode]::OtherWrite))) {
            return "'$($dir.FullName)' is owned by $($item.User) with mode $($item.UnixMode): sshd (StrictModes) refuses keys below a folder that is not root's or that group or others may write"
        }
        $dir = $dir.Parent
    }
    return $null
}

function Get-TestFreePort {
    $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
    return $port
}

# Starts the private sshd. Returns @{ Process; Port; Folder; ClientKey; KnownHosts; Log; MadeRunDir; NobodyHome }.
function Start-TestSshServer([string] $PwshPath, [hashtable] $Environment = @{}) {
    $problem = Get-TestSshPrerequisiteProblem
    if ($problem) { throw "SSH remoting tests cannot run: $problem" }
    $sshd = (Get-Command sshd -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
    if (-not $sshd) { $sshd = '/usr/sbin/sshd' }

    # The repository's out folder when every folder above it is root's and closed to others (StrictModes); a clone under
    # /tmp is not (sticky, world-writable), so then the user's cache folder, then /run.
    $candidates = @([System.IO.Path]::Combine($RepoRoot, 'out'),
        [System.IO.Path]::Combine([Environment]::GetFolderPath('UserProfile'), '.cache', 'connectionsmonitor-tests'),
        '/run/connectionsmonitor-tests')
    $folder = $null
    $reasons = @()
    foreach ($parent in $candidates) {
        $null = New-Item -ItemType Directory -Path $parent -Force -ErrorAction SilentlyContinue
        if (-not (Test-Path -LiteralPath $parent -PathType Container)) { $reasons += "'$parent' cannot be made"; continue }
        $candidate = [System.IO.Path]::Combine($parent, "ssh-remoting-$([guid]::NewGuid().ToString('N').Substring(0, 8))")
        $null = New-Item -ItemType Directory -Path $candidate
        [System.IO.File]::SetUnixFileMode($candidate, [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
        $unsafe = Test-SshSafePath $candidate
        if (-not $unsafe) { $folder = $candidate; break }
        Remove-Item -LiteralPath $candidate -Recurse -Force
        $reasons += $unsafe
    }
    if (-not $folder) { throw "SSH remoting tests cannot run: no folder for the keys that sshd's StrictModes accepts: $($reasons -join '; ')" }

    $hostKey = Join-Path $folder 'host_ed25519'
    $clientKey = Join-Path $folder 'client_ed25519'
    & ssh-keygen -q -t ed25519 -N '' -C 'cm-test-host' -f $hostKey
    & ssh-keygen -q -t ed25519 -N '' -C 'cm-test-client' -f $clientKey
    if (-not (Test-Path $hostKey) -or -not (Test-Path $clientKey)) { throw 'ssh-keygen made no keys' }
    $authorized = Join-Path $folder 'authorized_keys'
    Copy-Item -LiteralPath "$clientKey.pub" -Destination $authorized
    [System.IO.File]::SetUnixFileMode($authorized, [System.IO.UnixFileMode]'UserRead, UserWrite')

    $madeRunDir = $false
    if (-not (Test-Path -LiteralPath '/run/sshd')) {
        $null = New-Item -ItemType Directory -Path '/run/sshd'
        [System.IO.File]::SetUnixFileMode('/run/sshd', [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute, GroupRead, GroupExecute, OtherRead, OtherExecute')
        $madeRunDir = $true
    }

    # nobody's HOME for pwsh's caches: outside the root-only folder, which nobody cannot enter.
    $nobodyHome = Join-Path ([System.IO.Path]::GetTempPath()) "cm-ssh-nobody-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    $null = New-Item -ItemType Directory -Path $nobodyHome
    & chown 65534:65534 $nobodyHome
    $setpriv = (Get-Command setpriv -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
    # The pwsh dotnet tool's apphost is 0744 (only root may run it); its pwsh.dll is readable, so nobody runs that through dotnet.
    $runner = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    $dll = Join-Path (Split-Path -Parent $PwshPath) 'pwsh.dll'
    $nobodyPwsh = if ((Split-Path -Leaf $runner) -eq 'dotnet' -and (Test-Path -LiteralPath $dll)) { "$runner $dll" } else { $PwshPath }

    $port = Get-TestFreePort
    $setEnv = ($Environment.GetEnumerator() | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ' '
    $config = @(
        "ListenAddress 127.0.0.1"
        "Port $port"
        "HostKey $hostKey"
        "PidFile $(Join-Path $folder 'sshd.pid')"
        "AuthorizedKeysFile $authorized"
        "PubkeyAuthentication yes"
        "PasswordAuthentication no"
        "KbdInteractiveAuthentication no"
        "PermitRootLogin prohibit-password"
        "UsePAM no"
        "StrictModes yes"
        "X11Forwarding no"
        "AllowTcpForwarding no"
        $(if ($setEnv) { "SetEnv $setEnv" })
        "Subsystem powershell $PwshPath -sshs -NoLogo -NoProfile"
        $(if ($setpriv) { "Subsystem powershell-nobody $setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/env HOME=$nobodyHome $nobodyPwsh -sshs -NoLogo -NoProfile" })
    ) | Where-Object { $_ }
    $configPath = Join-Path $folder 'sshd_config'
    Set-Content -LiteralPath $configPath -Value $config -Encoding ascii
    $log = Join-Path $folder 'sshd.log'
    $check = & $sshd -t -f $configPath 2>&1
    if ($LASTEXITCODE -ne 0) { throw "sshd -t rejects the test configuration ($configPath): $check" }

    # -D: stay in the foreground (this process owns it); -e: log to stderr, which goes to the log file.
    $process = Start-Process -FilePath $sshd -ArgumentList '-D', '-e', '-f', $configPath -RedirectStandardError $log -PassThru
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        if ($process.HasExited) { throw "sshd exited with status $($process.ExitCode): $(Get-Content -Raw -LiteralPath $log)" }
        $client = [System.Net.Sockets.TcpClient]::new()
        try { $client.Connect([System.Net.IPAddress]::Loopback, $port); break } catch { } finally { $client.Dispose() }
        if ($clock.Elapsed.TotalSeconds -gt 15) { throw "sshd did not listen on 127.0.0.1:$port within 15 s: $(Get-Content -Raw -LiteralPath $log)" }
        Start-Sleep -Milliseconds 100
    }

    # The client checks the host key against a known_hosts file of our own, with the key we just made.
    $knownHosts = Join-Path $folder 'known_hosts'
    $hostPublic = (Get-Content -LiteralPath "$hostKey.pub" -Raw).Trim() -replace ' cm-test-host$', ''
    Set-Content -LiteralPath $knownHosts -Value "[127.0.0.1]:$port,[localhost]:$port $hostPublic" -Encoding ascii

    [pscustomobject]@{ Process = $process; Port = $port; Folder = $folder; ClientKey = $clientKey; KnownHosts = $knownHosts; Log = $log; MadeRunDir = $madeRunDir; NobodyHome = $nobodyHome; HasNobodySubsystem = [bool]$setpriv }
}

# A PowerShell remoting session over SSH to the private sshd, as root, with the host key checked.
# -HostName 127.0.0.1 or localhost: the session's PSComputerName is that name. -Subsystem powershell-nobody: as nobody.
function New-TestSshSession($Server, [string] $HostName = '127.0.0.1', [string] $Subsystem = 'powershell') {
    $options = @{ StrictHostKeyChecking = 'yes'; UserKnownHostsFile = $Server.KnownHosts; GlobalKnownHostsFile = '/dev/null'; BatchMode = 'yes' }
    $parameters = @{ HostName = $HostName; Port = $Server.Port; UserName = 'root'; KeyFilePath = $Server.ClientKey; Options = $options; Subsystem = $Subsystem; ErrorAction = 'Stop' }
    try { New-PSSession @parameters }
    catch { throw "New-PSSession over SSH to $($HostName):$($Server.Port) failed: $($_.Exception.Message). sshd log: $(Get-Content -Raw -LiteralPath $Server.Log)" }
}

function Stop-TestSshServer($Server) {
    if ($null -eq $Server) { return }
    if (-not $Server.Process.HasExited) { $Server.Process.Kill($true); $null = $Server.Process.WaitForExit(10000) }
    Remove-Item -LiteralPath $Server.Folder -Recurse -Force -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $Server.NobodyHome -Recurse -Force -ErrorAction SilentlyContinue
}
