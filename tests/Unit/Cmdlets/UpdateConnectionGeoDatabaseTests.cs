using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using ConnectionsMonitor.Tests.Geo;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>Update-ConnectionGeoDatabase in a real PowerShell runspace, against a real HTTP server on 127.0.0.1.</summary>
    public class UpdateConnectionGeoDatabaseTests : IClassFixture<ModuleSessionFixture>, IDisposable
    {
        private const string ConfigAccountId = "771204";
        private const string ConfigLicenseKey = "cfg_Lic3nse_from_config_yml";

        private readonly ModuleSession _ps;
        private readonly LocalHttpServer _server = new LocalHttpServer();
        private readonly GeoFolder _folder = new GeoFolder();
        private readonly string _emptyConfig;
        private readonly string _keysConfig;

        public UpdateConnectionGeoDatabaseTests(ModuleSessionFixture fixture)
        {
            _ps = fixture.Session;
            _emptyConfig = Path.Combine(Path.GetTempPath(), "cm-geo-empty-" + Guid.NewGuid().ToString("N") + ".yml");
            File.WriteAllText(_emptyConfig, "ipToken: ''\ngeoip:\n  maxmindAccountId: ''\n  maxmindLicenseKey: ''\n");
            _keysConfig = Path.Combine(Path.GetTempPath(), "cm-geo-keys-" + Guid.NewGuid().ToString("N") + ".yml");
            File.WriteAllText(_keysConfig, "geoip:\n  maxmindAccountId: '" + ConfigAccountId + "'\n  maxmindLicenseKey: '" + ConfigLicenseKey + "'\n");
        }

        public void Dispose()
        {
            _server.Dispose();
            _folder.Dispose();
            File.Delete(_emptyConfig);
            File.Delete(_keysConfig);
        }

        private void ServeMaxMindCountry()
        {
            var tgz = GeoTestData.CountryMaxMindTarGz;
            _server.Serve("/mm/GeoLite2-Country/download?suffix=tar.gz", tgz);
            _server.Serve("/mm/GeoLite2-Country/download?suffix=tar.gz.sha256", Encoding.ASCII.GetBytes(GeoTestData.Sha256(tgz) + "  GeoLite2-Country_20261120.tar.gz\n"));
        }

        [Fact]
        public void WhatIfDownloadsAndChangesNothing()
        {
            _server.Serve("/free/dbip-country-lite-2026-11.mmdb.gz", GeoTestData.CountryMmdbGz);
            string fresh = Path.Combine(_folder.Path, "not-created");

            var output = _ps.Invoke("Update-ConnectionGeoDatabase -Source DbIpLite -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2] -WhatIf",
                _server.Url("free").AbsoluteUri, _folder.Path, _emptyConfig);
            output = new System.Collections.ObjectModel.Collection<PSObject>(output.Concat(
                _ps.Invoke("Update-ConnectionGeoDatabase -Source MaxMind -AccountId 1 -LicenseKey x -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2] -WhatIf",
                    _server.Url("mm").AbsoluteUri, fresh, _emptyConfig)).ToList());

            Assert.Empty(output);
            Assert.Empty(_server.Requests);
            _folder.AssertUntouched();
            Assert.False(Directory.Exists(fresh));
        }

        /// <summary>README: "-WhatIf lists what would be fetched": one line per database, naming the address and the file it would replace.</summary>
        [Fact]
        public void WhatIfListsEachDownloadAndItsTarget()
        {
            string text = _ps.Render("Update-ConnectionGeoDatabase -Source DbIpLite -Database Country, Asn -Uri '" + _server.Url("free").AbsoluteUri +
                                     "' -DestinationPath '" + _folder.Path + "' -ConfigPath '" + _emptyConfig + "' -WhatIf");
            var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("What if:", StringComparison.Ordinal)).ToList();
            string Line(string kind, string file, string target, DateTime now) =>
                "What if: Performing the operation \"Download the " + kind + " database from " +
                _server.Url("free/dbip-" + file + "-lite-" + now.ToString("yyyy-MM") + ".mmdb.gz").AbsoluteUri + " (or " +
                _server.Url("free/dbip-" + file + "-lite-" + now.AddMonths(-1).ToString("yyyy-MM") + ".mmdb.gz").AbsoluteUri +
                " if that is not published yet) and install it\" on target \"" + target + "\".";
            Assert.True(lines.Count == 2, "expected two What if lines, got:\n" + text);
            var now = DateTime.UtcNow;
            Assert.Contains(lines[0], new[] { Line("Country", "country", _folder.CountryPath, now), Line("Country", "country", _folder.CountryPath, now.AddHours(-1)) });
            Assert.Contains(lines[1], new[] { Line("Asn", "asn", _folder.AsnPath, now), Line("Asn", "asn", _folder.AsnPath, now.AddHours(-1)) });
            Assert.Empty(_server.Requests);
            _folder.AssertUntouched();
        }

        /// <summary>README: "A download that is not newer than the installed file is kept out unless -Force."</summary>
        [Fact]
        public void ADownloadNoNewerThanTheInstalledFileIsKeptOutUnlessForce()
        {
            _server.Serve("/files/country.mmdb", GeoTestData.CountryMmdb);
            string url = _server.Url("files/country.mmdb").AbsoluteUri;
            const string update = "Update-ConnectionGeoDatabase -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]";
            Assert.Single(_ps.Invoke(update, url, _folder.Path, _emptyConfig)); // over the previous (not a database): installed
            var installedAt = File.GetLastWriteTimeUtc(_folder.CountryPath);
            File.SetLastWriteTimeUtc(_folder.CountryPath, installedAt.AddDays(-1)); // so a replacement shows in the timestamp

            var (output, warnings) = _ps.InvokeWithWarnings(update, url, _folder.Path, _emptyConfig);
            Assert.Empty(output);
            var kept = Assert.Single(warnings);
            Assert.StartsWith("Kept " + _folder.CountryPath + ": the Country database there (", kept);
            Assert.EndsWith("Use -Force to replace it anyway.", kept);
            Assert.Equal(installedAt.AddDays(-1), File.GetLastWriteTimeUtc(_folder.CountryPath));

            var forced = Assert.Single(_ps.Invoke(update + " -Force", url, _folder.Path, _emptyConfig));
            Assert.Equal(_folder.CountryPath, forced.Properties["Path"].Value);
            Assert.True(File.GetLastWriteTimeUtc(_folder.CountryPath) > installedAt.AddDays(-1), "-Force did not replace the file");
            Assert.Equal(GeoTestData.CountryMmdb, File.ReadAllBytes(_folder.CountryPath));
            Assert.Equal(new[] { GeoIpPaths.CountryFile }, _folder.Files);
        }

        [Fact]
        public void ASuccessInstallsTheFileAndWritesGeoDatabaseInfo()
        {
            _server.Serve("/files/country.mmdb.gz", GeoTestData.CountryMmdbGz);

            var info = Assert.Single(_ps.Invoke("Update-ConnectionGeoDatabase -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]",
                _server.Url("files/country.mmdb.gz").AbsoluteUri, _folder.Path, _emptyConfig));

            Assert.Equal("ConnectionsMonitor.GeoDatabaseInfo", info.TypeNames[0]);
            Assert.Equal("Country", info.Properties["Database"].Value);
            Assert.Equal("Url", info.Properties["Source"].Value); // assumed from -Uri alone
            Assert.Equal(_folder.CountryPath, info.Properties["Path"].Value);
            Assert.Equal((long)GeoTestData.CountryMmdb.Length, info.Properties["SizeBytes"].Value);
            Assert.Equal(GeoTestData.Sha256(GeoTestData.CountryMmdb), info.Properties["Sha256"].Value);
            Assert.False(string.IsNullOrEmpty((string)info.Properties["DatabaseType"].Value));
            Assert.Equal(DateTimeKind.Utc, ((DateTime)info.Properties["BuildDate"].Value).Kind);
            Assert.Equal(GeoTestData.CountryMmdb, File.ReadAllBytes(_folder.CountryPath));
            Assert.Equal(new[] { GeoIpPaths.CountryFile }, _folder.Files);

            // Flat: survives remoting serialization with every property.
            var copy = Assert.Single(_ps.Invoke("[System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($args[0]))", info));
            Assert.Equal("Deserialized.ConnectionsMonitor.GeoDatabaseInfo", copy.TypeNames[0]);
            Assert.Equal(info.Properties["Sha256"].Value, copy.Properties["Sha256"].Value);
        }

        /// <summary>The download runs on a worker task; its progress reaches the pipeline's progress stream (PowerShell refuses WriteProgress from other threads).</summary>
        [Fact]
        public void ProgressIsWrittenWithBytesAndCompletes()
        {
            _server.Serve("/db.mmdb.gz", GeoTestData.CountryMmdbGz);
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Update-ConnectionGeoDatabase -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]")
                .AddArgument(_server.Url("db.mmdb.gz").AbsoluteUri).AddArgument(_folder.Path).AddArgument(_emptyConfig);

            Assert.Single(ps.Invoke());

            Assert.Empty(ps.Streams.Error);
            var records = ps.Streams.Progress.ToList();
            Assert.All(records, r => Assert.Equal("Updating the Country GeoIP database", r.Activity));
            Assert.Contains(records, r => r.StatusDescription.StartsWith("Downloading http://127.0.0.1:", StringComparison.Ordinal) && r.PercentComplete == 100);
            Assert.Contains(records, r => r.StatusDescription.StartsWith("Verifying", StringComparison.Ordinal));
            Assert.Equal(ProgressRecordType.Completed, records.Last().RecordType);
        }

        [Fact]
        public void TheTableViewShowsTheInstalledDatabase()
        {
            _server.Serve("/db.mmdb", GeoTestData.CountryMmdb);
            string text = _ps.Render("Update-ConnectionGeoDatabase -Source Url -Uri '" + _server.Url("db.mmdb").AbsoluteUri + "' -DestinationPath '" + _folder.Path + "' -ConfigPath '" + _emptyConfig + "'");
            Assert.Contains("Built (UTC)", text);
            Assert.Contains("Country", text);
            Assert.Contains(_folder.CountryPath, text);
        }

        [Fact]
        public void ACredentialTheSourceDoesNotUseIsAnErrorNotIgnored()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Update-ConnectionGeoDatabase -Source DbIpLite -AccountId 5 -DestinationPath $args[0] -ConfigPath $args[1] -WhatIf", _folder.Path, _emptyConfig));
            Assert.Equal("ParameterNotForSource,ConnectionsMonitor.Commands.UpdateConnectionGeoDatabaseCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Equal("-Source DbIpLite does not use -AccountId (MaxMind): leave it out, or give the -Source it is for.", error.Exception.Message);
            error = Assert.Single(_ps.InvokeExpectingErrors("Update-ConnectionGeoDatabase -Source MaxMind -AccountId 1 -LicenseKey k -Token t -DestinationPath $args[0] -ConfigPath $args[1] -WhatIf", _folder.Path, _emptyConfig));
            Assert.Equal("-Source MaxMind does not use -Token (IpInfo): leave it out, or give the -Source it is for.", error.Exception.Message);
            Assert.Empty(_server.Requests);
        }

        [Fact]
        public void MaxMindTakesTheKeysFromConfigWhenNotGiven()
        {
            ServeMaxMindCountry();

            var info = Assert.Single(_ps.Invoke("Update-ConnectionGeoDatabase MaxMind -Database Country -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]",
                _server.Url("mm").AbsoluteUri, _folder.Path, _keysConfig));

            Assert.Equal("MaxMind", info.Properties["Source"].Value);
            string expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(ConfigAccountId + ":" + ConfigLicenseKey));
            Assert.All(_server.Requests, r => Assert.Equal(expected, r.Header("Authorization")));
            Assert.Equal(GeoTestData.CountryMmdb, File.ReadAllBytes(_folder.CountryPath));
        }

        /// <summary>The verbose, warning and progress lines of a MaxMind update name neither the licence key nor the account.</summary>
        [Fact]
        public void NoStreamShowsTheCredentials()
        {
            ServeMaxMindCountry();
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Update-ConnectionGeoDatabase MaxMind -Database Country, Asn -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2] -Verbose")
                .AddArgument(_server.Url("mm").AbsoluteUri).AddArgument(_folder.Path).AddArgument(_keysConfig);

            Assert.Single(ps.Invoke()); // Country installs; Asn is not served (a non-terminating error)

            var lines = ps.Streams.Verbose.Select(v => v.Message)
                .Concat(ps.Streams.Warning.Select(w => w.Message))
                .Concat(ps.Streams.Progress.Select(p => p.StatusDescription))
                .Concat(ps.Streams.Error.Select(e => e + " " + e.Exception))
                .ToList();
            Assert.Contains(lines, l => l.StartsWith("Replaced " + _folder.CountryPath, StringComparison.Ordinal));
            Assert.Single(ps.Streams.Error);
            Assert.All(lines, l =>
            {
                Assert.DoesNotContain(ConfigLicenseKey, l);
                Assert.DoesNotContain(ConfigAccountId, l);
            });
        }

        /// <summary>
        /// A failed download is a non-terminating error (each database is its own file; the others
        /// still update), categorised, and its message holds neither the licence key nor the account.
        /// The key here comes as a SecureString, as Get-Secret returns it.
        /// </summary>
        [Fact]
        public void AFailureIsANonTerminatingErrorWithoutTheKey()
        {
            const string key = "Secure_Key_9f2c1b";
            _server.Serve("/mm/GeoLite2-Country/download", Encoding.ASCII.GetBytes("Invalid license key"), 401);

            var (output, errors, terminated) = _ps.InvokeCollecting(
                "$key = [System.Security.SecureString]::new(); foreach ($c in $args[3].ToCharArray()) { $key.AppendChar($c) }; " +
                "Update-ConnectionGeoDatabase -Source MaxMind -Database Country -AccountId 5550123 -LicenseKey $key -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]; 'after'",
                _server.Url("mm").AbsoluteUri, _folder.Path, _emptyConfig, key);

            // Non-terminating: the script goes on to its next statement.
            Assert.False(terminated);
            Assert.Equal(new object[] { "after" }, output.Select(o => o.BaseObject));
            var error = Assert.Single(errors);
            Assert.Equal("GeoDatabaseUpdateFailed,AccessDenied,ConnectionsMonitor.Commands.UpdateConnectionGeoDatabaseCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
            string everything = error + " " + error.Exception + " " + error.TargetObject;
            Assert.DoesNotContain(key, everything);
            Assert.DoesNotContain("5550123", everything);
            Assert.Equal("Could not update the Country database " + _folder.CountryPath + ": HTTP 401 from " + _server.Url("mm/GeoLite2-Country/download").AbsoluteUri +
                "?suffix=tar.gz.sha256. MaxMind refused the account ID and licence key. Check -AccountId and -LicenseKey (geoip.maxmindAccountId and geoip.maxmindLicenseKey in config.yml); " +
                "a new licence key can take a few minutes to work. The previous database is unchanged.", error.ToString());
            Assert.Equal(GeoDownloadAdvice.CheckMaxMindCredentials, ((GeoDownloadException)error.Exception).Advice);
            // The SecureString reached the server intact.
            Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("5550123:" + key)), Assert.Single(_server.Requests).Header("Authorization"));
            _folder.AssertUntouched();
        }

        private void ServeDbIpAsn()
        {
            // The bundled ASN database as DB-IP's mirror would hold it, under this month's and last month's names.
            byte[] asnGz = GeoTestData.Gzip(File.ReadAllBytes(Path.Combine(Repo.Root, "data", "GeoIP", "ip-location-db-asn.mmdb")));
            foreach (var month in new[] { DateTime.UtcNow, DateTime.UtcNow.AddMonths(-1) })
                _server.Serve("/free/dbip-asn-lite-" + month.ToString("yyyy-MM") + ".mmdb.gz", asnGz);
        }

        /// <summary>README: "the error (non-terminating per database ...)": the Country database fails, the Asn database after it still installs, and the script goes on.</summary>
        [Fact]
        public void AFailureIsNonTerminatingPerDatabase()
        {
            ServeDbIpAsn(); // the Country file is not on the mirror: 404

            var (output, errors, terminated) = _ps.InvokeCollecting(
                "Update-ConnectionGeoDatabase -Source DbIpLite -Database Country, Asn -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]; 'after'",
                _server.Url("free").AbsoluteUri, _folder.Path, _emptyConfig);

            Assert.False(terminated);
            var error = Assert.Single(errors);
            Assert.StartsWith("Could not update the Country database " + _folder.CountryPath + ": not found (HTTP 404)", error.ToString());
            Assert.Equal(2, output.Count);
            Assert.Equal("ConnectionsMonitor.GeoDatabaseInfo", output[0].TypeNames[0]);
            Assert.Equal("Asn", output[0].Properties["Database"].Value);
            Assert.Equal(_folder.AsnPath, output[0].Properties["Path"].Value);
            Assert.Equal("after", output[1].BaseObject);
            Assert.Equal(GeoFolder.PreviousBytes, File.ReadAllBytes(_folder.CountryPath)); // the failed one is untouched
            Assert.Equal(new[] { GeoIpPaths.AsnFile, GeoIpPaths.CountryFile }.OrderBy(n => n, StringComparer.Ordinal), _folder.Files);
        }

        [Fact]
        public void AFailureStopsTheScriptWithErrorActionStop()
        {
            var (output, errors, terminated) = _ps.InvokeCollecting("Update-ConnectionGeoDatabase -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2] -ErrorAction Stop; 'not reached'",
                _server.Url("missing.mmdb").AbsoluteUri, _folder.Path, _emptyConfig);
            Assert.True(terminated);
            Assert.Empty(output); // the statement after it did not run
            Assert.Equal("Could not update the Country database " + _folder.CountryPath + ": not found (HTTP 404) at " + _server.Url("missing.mmdb").AbsoluteUri +
                ". Check -Uri. The previous database is unchanged.", Assert.Single(errors).ToString());
            _folder.AssertUntouched();
        }

        [Fact]
        public void StoppingThePipelineCancelsTheDownloadAndKeepsThePreviousFile()
        {
            _server.Serve("/slow.mmdb", GeoTestData.CountryMmdb).StallAfter = 200_000;
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Update-ConnectionGeoDatabase -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]")
                .AddArgument(_server.Url("slow.mmdb").AbsoluteUri).AddArgument(_folder.Path).AddArgument(_emptyConfig);
            var running = ps.BeginInvoke();
            // Stop once the first bytes have landed in the temporary file beside the installed one (the server then stalls).
            bool Landed() => Directory.GetFiles(_folder.Path).Any(f => f != _folder.CountryPath && new FileInfo(f).Length > 0);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!Landed() && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(20);
            Assert.True(Landed(), "no temporary file with the first bytes appeared in " + _folder.Path + " within 20 s; requests: " + _server.Requests.Count);

            ps.Stop(); // what Ctrl+C does

            Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
            Assert.ThrowsAny<Exception>(() => ps.EndInvoke(running));
            _folder.AssertUntouched();
        }

        [Fact]
        public void MissingMaxMindCredentialsNameTheParametersAndConfigKeys()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Update-ConnectionGeoDatabase -Source MaxMind -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]",
                _server.Url("mm").AbsoluteUri, _folder.Path, _emptyConfig));
            string message = error.ToString();
            Assert.StartsWith("MaxMindCredentialsMissing", error.FullyQualifiedErrorId);
            Assert.Contains("-LicenseKey", message);
            Assert.Contains("geoip.maxmindLicenseKey", message);
            Assert.Equal("-Source MaxMind needs an account ID: give -AccountId or set geoip.maxmindAccountId in config.yml; and a licence key: give -LicenseKey (plain text or a SecureString, e.g. from Get-Secret) " +
                "or set geoip.maxmindLicenseKey in config.yml. Both are free at https://www.maxmind.com/en/geolite2/signup (Account > Manage License Keys).", message);
            Assert.Empty(_server.Requests);

            error = Assert.Single(_ps.InvokeExpectingErrors("Update-ConnectionGeoDatabase -Source MaxMind -AccountId 42 -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]",
                _server.Url("mm").AbsoluteUri, _folder.Path, _emptyConfig));
            Assert.Contains("geoip.maxmindLicenseKey", error.ToString());
            Assert.DoesNotContain("geoip.maxmindAccountId", error.ToString());
        }

        [Fact]
        public void MissingIpInfoTokenNamesTheParameterAndConfigKey()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Update-ConnectionGeoDatabase -Source IpInfo -DestinationPath $args[0] -ConfigPath $args[1]",
                _folder.Path, _emptyConfig));
            Assert.Equal("-Source IpInfo needs an IPinfo access token: give -Token (plain text or a SecureString, e.g. from Get-Secret) or set ipToken in config.yml. A free token is at https://ipinfo.io/signup.",
                error.ToString());
            Assert.StartsWith("IpInfoTokenMissing", error.FullyQualifiedErrorId);
        }

        [Fact]
        public void Sha256IsRefusedForNamedSources()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Update-ConnectionGeoDatabase -Source DbIpLite -Sha256 $args[0] -DestinationPath $args[1] -ConfigPath $args[2]",
                new string('a', 64), _folder.Path, _emptyConfig));
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Equal("An expected SHA-256 is checked only for a download from a URL (MaxMind publishes its own checksums; DB-IP and IPinfo publish none). -Sha256 applies to -Source Url only.",
                error.ToString());
            Assert.StartsWith("InvalidGeoDatabaseRequest,ChecksumForUrlOnly", error.FullyQualifiedErrorId);
            Assert.Empty(_server.Requests);
        }

        [Fact]
        public void AMirrorWithoutTheProvidersFilesIsNamedInTheAdvice()
        {
            var before = DateTime.UtcNow;
            var errors = _ps.InvokeExpectingErrors("Update-ConnectionGeoDatabase -Source DbIpLite -Database City -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]",
                _server.Url("free").AbsoluteUri, _folder.Path, _emptyConfig);
            var after = DateTime.UtcNow;
            string Expected(DateTime now) => "Could not update the City database " + Path.Combine(_folder.Path, GeoIpPaths.CityFile) + ": not found (HTTP 404) at " +
                _server.Url("free/dbip-city-lite-" + now.ToString("yyyy-MM") + ".mmdb.gz").AbsoluteUri + " nor at " +
                _server.Url("free/dbip-city-lite-" + now.AddMonths(-1).ToString("yyyy-MM") + ".mmdb.gz").AbsoluteUri +
                ". Check that the mirror given with -Uri holds the provider's file names (see Get-Help Update-ConnectionGeoDatabase -Parameter Uri). Nothing was installed.";
            // The month may turn during the call: then the message is the one of either side of midnight.
            Assert.Contains(Assert.Single(errors).ToString(), new[] { Expected(before), Expected(after) });
        }

        [Fact]
        public void IpInfoAsAskedForAsnWarnsWhereTheFileGoes()
        {
            var (output, warnings) = _ps.InvokeWithWarnings("Update-ConnectionGeoDatabase -Source IpInfo -Token t0k -Database Asn -DestinationPath $args[0] -ConfigPath $args[1] -WhatIf",
                _folder.Path, _emptyConfig);
            Assert.Empty(output);
            Assert.Equal("IPinfo Lite is one file holding both country and ASN data; it is installed as country.mmdb, not as asn.mmdb.", Assert.Single(warnings));
        }

        /// <summary>Every advice the engine can give has this cmdlet's words, naming no secret and ending as a sentence.</summary>
        [Fact]
        public void EveryAdviceCodeIsWorded()
        {
            // The cmdlet assembly as the module loaded it (the tests do not reference it).
            var type = ((Type)Assert.Single(_ps.Invoke("(Get-Command Update-ConnectionGeoDatabase).ImplementingType")).BaseObject)
                .Assembly.GetType("ConnectionsMonitor.Commands.GeoUpdateWording", throwOnError: true);
            var method = type.GetMethod("Advice", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic);
            string Word(GeoDownloadAdvice a, GeoDownloadFailure f, GeoDownloadKind k) => (string)method.Invoke(null, new object[] { a, f, (GeoDownloadKind?)k });
            foreach (GeoDownloadAdvice advice in Enum.GetValues(typeof(GeoDownloadAdvice)))
            {
                foreach (var failure in new[] { GeoDownloadFailure.InvalidRequest, GeoDownloadFailure.Network })
                {
                    string text = Word(advice, failure, GeoDownloadKind.City);
                    if (advice == GeoDownloadAdvice.None) { Assert.Null(text); continue; }
                    Assert.False(string.IsNullOrWhiteSpace(text), advice + " has no words");
                    Assert.EndsWith(".", text);
                }
            }
            Assert.Equal("Check that your MaxMind account can download GeoLite2-City.",
                Word(GeoDownloadAdvice.CheckMaxMindEdition, GeoDownloadFailure.NotFound, GeoDownloadKind.City));
        }
    }
}
