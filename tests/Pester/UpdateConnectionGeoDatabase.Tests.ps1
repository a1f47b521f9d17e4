#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.3' }
# Update-ConnectionGeoDatabase against the built module and a small HTTP server on localhost that
# serves the bundled DB-IP country database, on Windows PowerShell 5.1 and PowerShell 7.

BeforeAll {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'TestSupport.ps1'))
    $repo = $RepoRoot
    Import-Module $ModuleManifest -Force -ErrorAction Stop

    $mmdb = [System.IO.File]::ReadAllBytes([System.IO.Path]::Combine($repo, 'data', 'GeoIP', 'dbip-country.mmdb'))
    $buffer = [System.IO.MemoryStream]::new()
    $gzip = [System.IO.Compression.GZipStream]::new($buffer, [System.IO.Compression.CompressionMode]::Compress, $true)
    $gzip.Write($mmdb, 0, $mmdb.Length)
    $gzip.Dispose()
    $routes = [hashtable]::Synchronized(@{ '/files/country.mmdb.gz' = $buffer.ToArray() })
    $requests = [System.Collections.ArrayList]::Synchronized([System.Collections.ArrayList]::new())

    # A free port, then an HttpListener served from its own runspace (script blocks cannot run as
    # .NET callbacks). localhost prefixes need no URL reservation on Windows.
    $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
    $base = "http://localhost:$port/"
    $listener = [System.Net.HttpListener]::new()
    $listener.Prefixes.Add($base)
    $listener.Start()
    # CreateDefault2: the core commands only, no snap-ins, so this also works in hosts without a console.
    $serverRunspace = [runspacefactory]::CreateRunspace([initialsessionstate]::CreateDefault2())
    $serverRunspace.Open()
    $server = [powershell]::Create()
    $server.Runspace = $serverRunspace
    $null = $server.AddScript({
        param($listener, $routes, $requests)
        while ($listener.IsListening) {
            try { $context = $listener.GetContext() } catch { break }
            $null = $requests.Add([pscustomobject]@{ Path = $context.Request.Url.AbsolutePath; Authorization = $context.Request.Headers['Authorization'] })
            $body = $routes[$context.Request.Url.AbsolutePath]
            if ($null -eq $body) { $context.Response.StatusCode = 404; $body = [byte[]]@() }
            $context.Response.ContentLength64 = $body.Length
            $context.Response.OutputStream.Write($body, 0, $body.Length)
            $context.Response.Close()
        }
    }).AddArgument($listener).AddArgument($routes).AddArgument($requests)
    $serverRun = $server.BeginInvoke()

    $config = Join-Path ([System.IO.Path]::GetTempPath()) "cm-geo-pester-$([guid]::NewGuid().ToString('N')).yml"
    Set-Content -LiteralPath $config -Value "ipToken: ''`ngeoip:`n  maxmindAccountId: ''`n  maxmindLicenseKey: ''" -Encoding ASCII
}

AfterAll {
    $listener.Stop()
    $listener.Close()
    $server.Dispose()
    $serverRunspace.Dispose()
    Remove-Item -LiteralPath $config -ErrorAction SilentlyContinue
    Remove-Module ConnectionsMonitor -ErrorAction SilentlyContinue
}

Describe 'Update-ConnectionGeoDatabase' {
    BeforeEach {
        $destination = Join-Path ([System.IO.Path]::GetTempPath()) "cm-geo-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $destination
        $previous = Join-Path $destination 'country.mmdb'
        Set-Content -LiteralPath $previous -Value 'previous database' -Encoding ASCII
        $previousHash = (Get-FileHash -LiteralPath $previous -Algorithm SHA256).Hash
        $requests.Clear()
    }

    AfterEach {
        Remove-Item -LiteralPath $destination -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'supports -WhatIf and -Confirm and declares GeoDatabaseInfo output' {
        $command = Get-Command Update-ConnectionGeoDatabase
        $command.Parameters.Keys | Should -Contain 'WhatIf'
        $command.Parameters.Keys | Should -Contain 'Confirm'
        $command.OutputType.Name | Should -Contain 'ConnectionsMonitor.GeoDatabaseInfo'
        $command.Parameters['LicenseKey'].ParameterType | Should -Be ([System.Security.SecureString])
    }

    It 'downloads nothing with -WhatIf' {
        Update-ConnectionGeoDatabase -Uri "${base}files/country.mmdb.gz" -DestinationPath $destination -ConfigPath $config -WhatIf | Should -BeNullOrEmpty
        $requests.Count | Should -Be 0
        (Get-FileHash -LiteralPath $previous -Algorithm SHA256).Hash | Should -Be $previousHash
    }

    It 'installs a .mmdb.gz from -Uri and writes a GeoDatabaseInfo' {
        $info = Update-ConnectionGeoDatabase -Uri "${base}files/country.mmdb.gz" -DestinationPath $destination -ConfigPath $config
        $info | Should -BeOfType ([ConnectionsMonitor.GeoDatabaseInfo])
        $info.Database | Should -Be 'Country'
        $info.Source | Should -Be 'Url'
        $info.Path | Should -Be $previous
        $info.SizeBytes | Should -Be $mmdb.Length
        $info.Sha256 | Should -Be (Get-FileHash -LiteralPath $previous -Algorithm SHA256).Hash.ToLowerInvariant()
        @(Get-ChildItem -LiteralPath $destination -Force).Name | Should -Be @('country.mmdb')
    }

    It 'keeps the previous file on HTTP 404 and writes a non-terminating error' {
        $output = Update-ConnectionGeoDatabase -Source DbIpLite -Database Country -Uri "${base}free/" -DestinationPath $destination -ConfigPath $config -ErrorVariable failures -ErrorAction SilentlyContinue
        $output | Should -BeNullOrEmpty
        $failures.Count | Should -Be 1
        "$($failures[0])" | Should -Match 'HTTP 404'
        $requests.Count | Should -Be 2   # this month, then last month
        (Get-FileHash -LiteralPath $previous -Algorithm SHA256).Hash | Should -Be $previousHash
        @(Get-ChildItem -LiteralPath $destination -Force).Name | Should -Be @('country.mmdb')
    }

    It 'names the parameter and the config key when the MaxMind licence key is missing' {
        { Update-ConnectionGeoDatabase -Source MaxMind -AccountId 42 -DestinationPath $destination -ConfigPath $config } |
            Should -Throw -ExpectedMessage '*-LicenseKey*geoip.maxmindLicenseKey*'
        $requests.Count | Should -Be 0
    }

    It 'sends a SecureString licence key as Basic credentials and never shows it' {
        $key = [System.Security.SecureString]::new()
        foreach ($c in 'Pester_Secret_Key_1'.ToCharArray()) { $key.AppendChar($c) }
        $null = Update-ConnectionGeoDatabase -Source MaxMind -Database Country -AccountId 31337 -LicenseKey $key -Uri "${base}mm" -DestinationPath $destination -ConfigPath $config -ErrorVariable failures -ErrorAction SilentlyContinue
        "$($failures[0])" | Should -Not -Match 'Pester_Secret_Key_1'
        "$($failures[0])" | Should -Not -Match '31337'
        $expected = 'Basic ' + [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes('31337:Pester_Secret_Key_1'))
        $requests[0].Authorization | Should -Be $expected
        (Get-FileHash -LiteralPath $previous -Algorithm SHA256).Hash | Should -Be $previousHash
    }
}
