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

            var errors = _ps.InvokeExpectingErrors(
                "$key = [System.Security.SecureString]::new(); foreach ($c in $args[3].ToCharArray()) { $key.AppendChar($c) }; " +
                "Update-ConnectionGeoDatabase -Source MaxMind -Database Country -AccountId 5550123 -LicenseKey $key -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2]; 'after'",
                _server.Url("mm").AbsoluteUri, _folder.Path, _emptyConfig, key);

            var error = Assert.Single(errors);
            Assert.Equal("GeoDatabaseUpdateFailed,AccessDenied,ConnectionsMonitor.Commands.UpdateConnectionGeoDatabaseCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
            string everything = error + " " + error.Exception + " " + error.TargetObject;
            Assert.DoesNotContain(key, everything);
            Assert.DoesNotContain("5550123", everything);
            Assert.Contains("-LicenseKey", error.ToString());
            // The SecureString reached the server intact.
            Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("5550123:" + key)), Assert.Single(_server.Requests).Header("Authorization"));
            _folder.AssertUntouched();
        }

        [Fact]
        public void AFailureStopsTheScriptWithErrorActionStop()
        {
            var errors = _ps.InvokeExpectingErrors("Update-ConnectionGeoDatabase -Uri $args[0] -DestinationPath $args[1] -ConfigPath $args[2] -ErrorAction Stop; 'not reached'",
                _server.Url("missing.mmdb").AbsoluteUri, _folder.Path, _emptyConfig);
            Assert.Contains("HTTP 404", Assert.Single(errors).ToString());
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
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (_server.Requests.Count == 0 && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(20);
            Assert.NotEmpty(_server.Requests);
            System.Threading.Thread.Sleep(200); // let the first bytes land in the temporary file

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
            Assert.Contains("-AccountId", message);
            Assert.Contains("geoip.maxmindAccountId", message);
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
            Assert.Contains("-Token", error.ToString());
            Assert.Contains("ipToken", error.ToString());
        }

        [Fact]
        public void Sha256IsRefusedForNamedSources()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Update-ConnectionGeoDatabase -Source DbIpLite -Sha256 $args[0] -DestinationPath $args[1] -ConfigPath $args[2]",
                new string('a', 64), _folder.Path, _emptyConfig));
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("-Source Url", error.ToString());
            Assert.Empty(_server.Requests);
        }
    }
}
