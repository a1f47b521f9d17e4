using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>The bundled DB-IP Lite country database, and the archive shapes providers serve it in.</summary>
    internal static class GeoTestData
    {
        public static string CountryPath => Path.Combine(Repo.Root, "data", "GeoIP", "dbip-country.mmdb");
        private static readonly Lazy<byte[]> Country = new Lazy<byte[]>(() => File.ReadAllBytes(CountryPath));

        /// <summary>A real, valid country database (8 MB; database_type "country ipvAll"; answers 1.1.1.1).</summary>
        public static byte[] CountryMmdb => Country.Value;

        private static readonly Lazy<byte[]> CountryGz = new Lazy<byte[]>(() => Gzip(CountryMmdb));
        private static readonly Lazy<byte[]> CountryTarGz = new Lazy<byte[]>(() => TarGz(("GeoLite2-Country_20261120/GeoLite2-Country.mmdb", CountryMmdb)));

        /// <summary>The country database gzipped, as DB-IP serves it (made once: compressing 8 MB per test would load the machine).</summary>
        public static byte[] CountryMmdbGz => CountryGz.Value;

        /// <summary>The country database in a MaxMind-style GeoLite2-Country_DATE/GeoLite2-Country.mmdb tar.gz (made once).</summary>
        public static byte[] CountryMaxMindTarGz => CountryTarGz.Value;

        public static byte[] Gzip(byte[] data)
        {
            using var output = new MemoryStream();
            using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(data);
            return output.ToArray();
        }

        /// <summary>A .tar.gz as MaxMind builds it (EDITION_DATE/EDITION.mmdb beside licence files), written by System.Formats.Tar.</summary>
        public static byte[] TarGz(params (string Name, byte[] Data)[] entries)
        {
            using var tar = new MemoryStream();
            using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
            {
                foreach (var (name, data) in entries)
                {
                    var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) };
                    writer.WriteEntry(entry);
                }
            }
            return Gzip(tar.ToArray());
        }

        public static string Sha256(byte[] data) => Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();
    }

    /// <summary>A destination folder, optionally holding a previous database, that must survive failures byte for byte.</summary>
    internal sealed class GeoFolder : IDisposable
    {
        public static readonly byte[] PreviousBytes = Encoding.ASCII.GetBytes("previous database, must survive every failed update");

        public GeoFolder(bool withPrevious = true)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cm-geo-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
            if (withPrevious) File.WriteAllBytes(CountryPath, PreviousBytes);
        }

        public string Path { get; }
        public string CountryPath => System.IO.Path.Combine(Path, GeoIpPaths.CountryFile);
        public string AsnPath => System.IO.Path.Combine(Path, GeoIpPaths.AsnFile);
        public string[] Files => Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToArray();

        /// <summary>The previous file is exactly as it was, and nothing else (no temporary file) is in the folder.</summary>
        public void AssertUntouched()
        {
            Assert.Equal(PreviousBytes, File.ReadAllBytes(CountryPath));
            Assert.Equal(new[] { GeoIpPaths.CountryFile }, Files);
        }

        public void Dispose()
        {
            try { Directory.Delete(Path, true); } catch (IOException) { }
        }
    }

    public class GeoDatabaseUpdaterTests : IDisposable
    {
        private const string AccountId = "428613";
        private const string LicenseKey = "Lk7xQ_secret_licence_4d9";
        private const string Token = "tok_3f9e_secret_ipinfo";
        private static readonly DateTime November = new DateTime(2026, 11, 20, 8, 0, 0, DateTimeKind.Utc);

        private readonly LocalHttpServer _server = new LocalHttpServer();
        private readonly GeoFolder _folder = new GeoFolder();
        private readonly GeoDatabaseUpdater _updater = new GeoDatabaseUpdater(TimeSpan.FromSeconds(20));

        public void Dispose()
        {
            _updater.Dispose();
            _server.Dispose();
            _folder.Dispose();
        }

        private GeoDownloadRequest Request(GeoDownloadSource source, string mirrorPath = "", params GeoDownloadKind[] kinds) => new GeoDownloadRequest
        {
            Source = source,
            Databases = kinds,
            DestinationDirectory = _folder.Path,
            Uri = _server.Url(mirrorPath),
            AccountId = AccountId,
            LicenseKey = LicenseKey,
            Token = Token,
            UtcNow = November,
        };

        private async Task<GeoDownloadResult> UpdateOne(GeoDownloadRequest request, IProgress<GeoDownloadProgress> progress = null, CancellationToken cancel = default)
        {
            var plan = Assert.Single(_updater.Plan(request));
            return await _updater.UpdateAsync(plan, progress, cancel);
        }

        private async Task<GeoDownloadException> Fails(GeoDownloadRequest request, GeoDownloadFailure expected)
        {
            var ex = await Assert.ThrowsAsync<GeoDownloadException>(() => UpdateOne(request));
            Assert.Equal(expected, ex.Failure);
            AssertNoSecrets(ex.Message);
            Assert.Matches("The previous database is unchanged\\.|Nothing was installed\\.", ex.Message);
            _folder.AssertUntouched();
            return ex;
        }

        private static void AssertNoSecrets(string text)
        {
            Assert.DoesNotContain(LicenseKey, text);
            Assert.DoesNotContain(Token, text);
            Assert.DoesNotContain(AccountId, text);
        }

        /// <summary>
        /// Opens the file with MaxMind.Db's reader and looks up public addresses (through the engine's
        /// verifier: calling Reader.Find here would run MaxMind.Db's source generator in this project).
        /// </summary>
        private static void AssertAnswersLookups(string path) =>
            GeoDownloadVerifier.Verify(path, GeoDownloadKind.Country);

        private static void AssertDescribesBundledFile(GeoDownloadResult result, string path)
        {
            var bundled = GeoDownloadVerifier.TryReadExisting(GeoTestData.CountryPath);
            Assert.NotNull(bundled);
            Assert.Equal(GeoDownloadKind.Country, result.Kind);
            Assert.Equal(path, result.Path);
            Assert.Equal(bundled.DatabaseType, result.DatabaseType);
            Assert.Equal(bundled.BuildDateUtc, result.BuildDateUtc);
            Assert.True(result.BuildDateUtc > new DateTime(2020, 1, 1));
            Assert.Equal(DateTimeKind.Utc, result.BuildDateUtc.Kind);
            Assert.Equal(GeoTestData.CountryMmdb.Length, result.SizeBytes);
            Assert.Equal(GeoTestData.Sha256(GeoTestData.CountryMmdb), result.Sha256);
        }

        // ---- Success, per source ----------------------------------------------------------------

        [Fact]
        public async Task DbIpLiteInstallsThisMonthsFileWithProgress()
        {
            var gz = GeoTestData.CountryMmdbGz;
            _server.Serve("/free/dbip-country-lite-2026-11.mmdb.gz", gz);
            var reports = new List<GeoDownloadProgress>();
            var progress = new SynchronousProgress<GeoDownloadProgress>(reports.Add);

            var result = await UpdateOne(Request(GeoDownloadSource.DbIpLite, "free", GeoDownloadKind.Country), progress);

            Assert.Equal(GeoDownloadStatus.Replaced, result.Status);
            Assert.Equal(GeoDownloadSource.DbIpLite, result.Source);
            AssertDescribesBundledFile(result, _folder.CountryPath);
            Assert.Equal(GeoTestData.CountryMmdb, File.ReadAllBytes(_folder.CountryPath));
            AssertAnswersLookups(_folder.CountryPath);
            Assert.Equal(new[] { GeoIpPaths.CountryFile }, _folder.Files);
            Assert.Equal("/free/dbip-country-lite-2026-11.mmdb.gz", Assert.Single(_server.Requests).Target);
            Assert.Contains(reports, r => r.Stage == "Downloading" && r.BytesReceived == gz.Length && r.TotalBytes == gz.Length);
            Assert.Contains(reports, r => r.Stage == "Installing");
        }

        [Fact]
        public async Task DbIpLiteFallsBackToLastMonthOn404()
        {
            _server.Serve("/free/dbip-country-lite-2026-10.mmdb.gz", GeoTestData.CountryMmdbGz);

            var result = await UpdateOne(Request(GeoDownloadSource.DbIpLite, "free/", GeoDownloadKind.Country));

            Assert.Equal(GeoTestData.CountryMmdb, File.ReadAllBytes(_folder.CountryPath));
            Assert.EndsWith("dbip-country-lite-2026-10.mmdb.gz", result.SourceUri);
            Assert.Equal(new[] { "/free/dbip-country-lite-2026-11.mmdb.gz", "/free/dbip-country-lite-2026-10.mmdb.gz" },
                _server.Requests.Select(r => r.Target));
        }

        [Fact]
        public async Task FirstInstallCreatesTheFolderAndTheFile()
        {
            using var empty = new GeoFolder(withPrevious: false);
            string destination = Path.Combine(empty.Path, "nested", "GeoIP");
            _server.Serve("/db.mmdb", GeoTestData.CountryMmdb);
            var request = Request(GeoDownloadSource.Url, "db.mmdb");
            request.DestinationDirectory = destination;

            var result = await UpdateOne(request);

            Assert.Equal(GeoDownloadStatus.Installed, result.Status);
            Assert.Equal(new[] { GeoIpPaths.CountryFile }, Directory.GetFiles(destination).Select(Path.GetFileName));
            AssertAnswersLookups(Path.Combine(destination, GeoIpPaths.CountryFile));
        }

        [Fact]
        public async Task MaxMindSendsBasicAuthVerifiesTheSidecarAndExtractsTheTar()
        {
            var tgz = GeoTestData.TarGz(
                ("GeoLite2-Country_20261120/COPYRIGHT.txt", Encoding.ASCII.GetBytes("Database and Contents Copyright (c) MaxMind")),
                ("GeoLite2-Country_20261120/GeoLite2-Country.mmdb", GeoTestData.CountryMmdb),
                ("GeoLite2-Country_20261120/LICENSE.txt", Encoding.ASCII.GetBytes("licence")));
            _server.Serve("/geoip/databases/GeoLite2-Country/download?suffix=tar.gz", tgz);
            _server.Serve("/geoip/databases/GeoLite2-Country/download?suffix=tar.gz.sha256",
                Encoding.ASCII.GetBytes(GeoTestData.Sha256(tgz) + "  GeoLite2-Country_20261120.tar.gz\n"));

            var result = await UpdateOne(Request(GeoDownloadSource.MaxMind, "geoip/databases", GeoDownloadKind.Country));

            AssertDescribesBundledFile(result, _folder.CountryPath);
            Assert.Equal(GeoTestData.CountryMmdb, File.ReadAllBytes(_folder.CountryPath));
            string expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(AccountId + ":" + LicenseKey));
            Assert.Equal(2, _server.Requests.Count);
            Assert.All(_server.Requests, r => Assert.Equal(expected, r.Header("Authorization")));
            Assert.Equal(new[] { GeoIpPaths.CountryFile }, _folder.Files);
            AssertNoSecrets(result.SourceUri);
        }

        [Fact]
        public async Task MaxMindCredentialsAreNotSentToTheHostItRedirectsTo()
        {
            var tgz = GeoTestData.CountryMaxMindTarGz;
            using var storage = new LocalHttpServer();
            storage.Serve("/presigned/country.tar.gz", tgz);
            storage.Serve("/presigned/country.sha256", Encoding.ASCII.GetBytes(GeoTestData.Sha256(tgz) + "  x.tar.gz"));
            // "localhost" is another host than 127.0.0.1 as far as credentials go.
            string other = "http://localhost:" + storage.Port;
            _server.Serve("/geoip/databases/GeoLite2-Country/download?suffix=tar.gz", Array.Empty<byte>(), 302).Headers["Location"] = other + "/presigned/country.tar.gz";
            _server.Serve("/geoip/databases/GeoLite2-Country/download?suffix=tar.gz.sha256", Array.Empty<byte>(), 302).Headers["Location"] = other + "/presigned/country.sha256";

            await UpdateOne(Request(GeoDownloadSource.MaxMind, "geoip/databases", GeoDownloadKind.Country));

            Assert.Equal(GeoTestData.CountryMmdb, File.ReadAllBytes(_folder.CountryPath));
            Assert.All(_server.Requests, r => Assert.NotNull(r.Header("Authorization")));
            Assert.Equal(2, storage.Requests.Count);
            Assert.All(storage.Requests, r => Assert.Null(r.Header("Authorization")));
        }

        /// <summary>A redirect to ftp: fails this database with the module's reason (a newcomer's trial: HttpClient's NotSupportedException stopped the whole update).</summary>
        [Fact]
        public async Task ARedirectToAnotherSchemeThanHttpFailsThatDatabase()
        {
            _server.Serve("/mirror/country.mmdb", Array.Empty<byte>(), 302).Headers["Location"] = "ftp://127.0.0.1/country.mmdb";
            var ex = await Fails(Request(GeoDownloadSource.Url, "mirror/country.mmdb"), GeoDownloadFailure.HttpError);
            Assert.Contains("redirected to ftp://127.0.0.1/country.mmdb, which is not an http or https address", ex.Message);
        }

        /// <summary>
        /// Secrets are not sent in clear to another machine, and an address's user and password, which would not be sent,
        /// are refused rather than dropped (a newcomer's trial: MaxMind's key went over plain http to a mirror; admin:pw@ vanished).
        /// </summary>
        [Fact]
        public void SecretsGoOverHttpsOrToThisMachineAndAnAddresssPasswordIsRefused()
        {
            foreach (var source in new[] { GeoDownloadSource.MaxMind, GeoDownloadSource.IpInfo })
            {
                var request = Request(source);
                request.Uri = new Uri("http://192.0.2.10/geoip/");
                var ex = Assert.Throws<GeoDownloadException>(() => _updater.Plan(request));
                Assert.Equal(GeoDownloadAdvice.UseHttpsMirror, ex.Advice);
                Assert.Contains("is plain http on another machine", ex.Message);
                AssertNoSecrets(ex.Message);
                request.Uri = new Uri("https://192.0.2.10/geoip/");
                Assert.NotEmpty(_updater.Plan(request));
            }
            var url = Request(GeoDownloadSource.DbIpLite);
            url.Uri = new Uri("http://192.0.2.10/mirror/"); // nothing secret: plain http is the user's choice
            Assert.NotEmpty(_updater.Plan(url));
            url.Uri = new Uri("http://admin:PASSW0RD@127.0.0.1:1/mirror/");
            var withPassword = Assert.Throws<GeoDownloadException>(() => _updater.Plan(url));
            Assert.Contains("carries a user name and password, which are not sent", withPassword.Message);
            Assert.DoesNotContain("PASSW0RD", withPassword.Message);
        }

        [Fact]
        public async Task IpInfoSendsTheTokenInTheQueryAndSavesTheCountryFile()
        {
            _server.Serve("/data/ipinfo_lite.mmdb", GeoTestData.CountryMmdb);

            var result = await UpdateOne(Request(GeoDownloadSource.IpInfo, "data"));

            Assert.Equal(GeoDownloadSource.IpInfo, result.Source);
            AssertDescribesBundledFile(result, _folder.CountryPath);
            Assert.Equal("/data/ipinfo_lite.mmdb?token=" + Token, Assert.Single(_server.Requests).Target);
            Assert.Contains("token=***", result.SourceUri);
            AssertNoSecrets(result.SourceUri);
        }

        [Fact]
        public async Task UrlInstallsARawMmdbWhoseChecksumMatches()
        {
            _server.Serve("/mirror/any-name.mmdb", GeoTestData.CountryMmdb);
            var request = Request(GeoDownloadSource.Url, "mirror/any-name.mmdb");
            request.Sha256 = GeoTestData.Sha256(GeoTestData.CountryMmdb).ToUpperInvariant();

            var result = await UpdateOne(request);

            AssertDescribesBundledFile(result, _folder.CountryPath);
            AssertAnswersLookups(_folder.CountryPath);
        }

        [Fact]
        public async Task ADatabaseOfAnotherKindThanAskedForIsRefused()
        {
            _server.Serve("/country.mmdb.gz", GeoTestData.CountryMmdbGz);
            var ex = await Fails(Request(GeoDownloadSource.Url, "country.mmdb.gz", GeoDownloadKind.Asn), GeoDownloadFailure.InvalidDatabase);
            Assert.Contains("is a Country database", ex.Message);
            Assert.EndsWith(" asked for. Nothing was installed.", ex.Message);
            // An ASN file asked for as a Country one: "an ASN database".
            _server.Serve("/asn.mmdb", File.ReadAllBytes(Path.Combine(Repo.Root, "data", "GeoIP", "ip-location-db-asn.mmdb")));
            var asn = await Fails(Request(GeoDownloadSource.Url, "asn.mmdb", GeoDownloadKind.Country), GeoDownloadFailure.InvalidDatabase);
            Assert.Contains("The file is an ASN database", asn.Message);
            Assert.False(File.Exists(_folder.AsnPath));
        }

        [Fact]
        public async Task ADownloadThatIsNotNewerKeepsTheInstalledFileUnlessForced()
        {
            File.WriteAllBytes(_folder.CountryPath, GeoTestData.CountryMmdb);
            var before = File.GetLastWriteTimeUtc(_folder.CountryPath);
            _server.Serve("/db.mmdb", GeoTestData.CountryMmdb);

            var kept = await UpdateOne(Request(GeoDownloadSource.Url, "db.mmdb"));
            Assert.Equal(GeoDownloadStatus.NotNewer, kept.Status);
            Assert.NotNull(kept.ExistingBuildDateUtc);
            Assert.Equal(before, File.GetLastWriteTimeUtc(_folder.CountryPath));
            Assert.Equal(new[] { GeoIpPaths.CountryFile }, _folder.Files);

            var request = Request(GeoDownloadSource.Url, "db.mmdb");
            request.Force = true;
            var forced = await UpdateOne(request);
            Assert.Equal(GeoDownloadStatus.Replaced, forced.Status);
            Assert.Equal(new[] { GeoIpPaths.CountryFile }, _folder.Files);
        }

        // ---- Failures: the previous file survives byte for byte, no temporary file remains ------

        [Fact]
        public async Task TruncatedDownloadFails()
        {
            var gz = GeoTestData.CountryMmdbGz;
            _server.Serve("/free/dbip-country-lite-2026-11.mmdb.gz", gz).TruncateAfter = gz.Length / 2;
            var ex = await Fails(Request(GeoDownloadSource.DbIpLite, "free", GeoDownloadKind.Country), GeoDownloadFailure.Network);
            Assert.Contains("dbip-country-lite-2026-11.mmdb.gz", ex.Message);
        }

        [Fact]
        public async Task TruncatedDatabaseServedCompletelyFailsVerification()
        {
            _server.Serve("/half.mmdb", GeoTestData.CountryMmdb.Take(GeoTestData.CountryMmdb.Length / 2).ToArray());
            var ex = await Fails(Request(GeoDownloadSource.Url, "half.mmdb"), GeoDownloadFailure.InvalidDatabase);
            Assert.Contains("not a valid MaxMind DB", ex.Message);
        }

        [Fact]
        public async Task TruncatedGzipFailsVerification()
        {
            var gz = GeoTestData.CountryMmdbGz;
            _server.Serve("/db.mmdb.gz", gz.Take(gz.Length - 5000).ToArray());
            await Fails(Request(GeoDownloadSource.Url, "db.mmdb.gz"), GeoDownloadFailure.InvalidDatabase);
        }

        [Fact]
        public async Task Http404AfterBothMonthsFailsNamingBoth()
        {
            var ex = await Fails(Request(GeoDownloadSource.DbIpLite, "free", GeoDownloadKind.Country), GeoDownloadFailure.NotFound);
            Assert.Equal(GeoDownloadAdvice.MirrorMissingFiles, ex.Advice); // a mirror was given
            Assert.Contains("2026-11", ex.Message);
            Assert.Contains("2026-10", ex.Message);
        }

        [Fact]
        public async Task Http500FailsWithoutTryingLastMonth()
        {
            _server.Serve("/free/dbip-country-lite-2026-11.mmdb.gz", Encoding.ASCII.GetBytes("oops"), 500);
            _server.Serve("/free/dbip-country-lite-2026-10.mmdb.gz", GeoTestData.CountryMmdbGz);
            var ex = await Fails(Request(GeoDownloadSource.DbIpLite, "free", GeoDownloadKind.Country), GeoDownloadFailure.HttpError);
            Assert.Contains("HTTP 500", ex.Message);
            Assert.Single(_server.Requests);
        }

        [Fact]
        public async Task MaxMindRefusedCredentialsFailWithoutShowingThem()
        {
            _server.Serve("/geoip/databases/GeoLite2-Country/download", Encoding.ASCII.GetBytes("Invalid license key"), 401);
            var ex = await Fails(Request(GeoDownloadSource.MaxMind, "geoip/databases", GeoDownloadKind.Country), GeoDownloadFailure.AccessDenied);
            Assert.Equal(GeoDownloadAdvice.CheckMaxMindCredentials, ex.Advice);
            Assert.Equal("HTTP 401 from " + _server.Url("geoip/databases/GeoLite2-Country/download").AbsoluteUri + "?suffix=tar.gz.sha256. MaxMind refused the account ID and licence key.", ex.Reason);
            Assert.Equal("Could not update the Country database " + _folder.CountryPath + ": " + ex.Reason + " The previous database is unchanged.", ex.Message);
        }

        [Fact]
        public async Task IpInfoRefusedTokenFailsWithTheTokenMasked()
        {
            _server.Serve("/data/ipinfo_lite.mmdb", Encoding.ASCII.GetBytes("{\"error\":\"invalid token\"}"), 403);
            var ex = await Fails(Request(GeoDownloadSource.IpInfo, "data"), GeoDownloadFailure.AccessDenied);
            Assert.Contains("token=***", ex.Message);
            Assert.Equal(GeoDownloadAdvice.CheckIpInfoToken, ex.Advice);
            Assert.EndsWith("IPinfo refused the token.", ex.Reason);
        }

        [Fact]
        public async Task WrongChecksumFromTheMaxMindSidecarFails()
        {
            var tgz = GeoTestData.CountryMaxMindTarGz;
            _server.Serve("/geoip/databases/GeoLite2-Country/download?suffix=tar.gz", tgz);
            _server.Serve("/geoip/databases/GeoLite2-Country/download?suffix=tar.gz.sha256",
                Encoding.ASCII.GetBytes(new string('0', 64) + "  GeoLite2-Country_20261120.tar.gz\n"));
            var ex = await Fails(Request(GeoDownloadSource.MaxMind, "geoip/databases", GeoDownloadKind.Country), GeoDownloadFailure.ChecksumMismatch);
            Assert.Contains(GeoTestData.Sha256(tgz), ex.Message);
            Assert.Equal(GeoDownloadAdvice.RetryCorruptedDownload, ex.Advice);
        }

        [Fact]
        public async Task WrongUserChecksumFails()
        {
            _server.Serve("/db.mmdb", GeoTestData.CountryMmdb);
            var request = Request(GeoDownloadSource.Url, "db.mmdb");
            request.Sha256 = new string('a', 64);
            var ex = await Fails(request, GeoDownloadFailure.ChecksumMismatch);
            Assert.Equal(GeoDownloadAdvice.CheckChecksum, ex.Advice);
        }

        [Fact]
        public async Task AFileThatIsNotAnMmdbFails()
        {
            _server.Serve("/db.mmdb", Encoding.UTF8.GetBytes("<html><body>Please log in to download</body></html>"));
            await Fails(Request(GeoDownloadSource.Url, "db.mmdb"), GeoDownloadFailure.InvalidDatabase);
        }

        [Fact]
        public async Task ATarWithoutAnMmdbFails()
        {
            _server.Serve("/db.tar.gz", GeoTestData.TarGz(("GeoLite2-Country_20261120/README.txt", Encoding.ASCII.GetBytes("no database here"))));
            var ex = await Fails(Request(GeoDownloadSource.Url, "db.tar.gz"), GeoDownloadFailure.InvalidDatabase);
            Assert.Contains("no .mmdb", ex.Message);
        }

        [Fact]
        public async Task ADestinationThatCannotBeAFolderFailsBeforeDownloading()
        {
            _server.Serve("/db.mmdb", GeoTestData.CountryMmdb);
            var request = Request(GeoDownloadSource.Url, "db.mmdb");
            request.DestinationDirectory = Path.Combine(_folder.CountryPath, "sub"); // under a file
            var ex = await Assert.ThrowsAsync<GeoDownloadException>(() => UpdateOne(request));
            Assert.Equal(GeoDownloadFailure.FileSystem, ex.Failure);
            Assert.Equal(GeoDownloadAdvice.ChooseWritableFolder, ex.Advice);
            Assert.Equal("the folder " + request.DestinationDirectory + " cannot be created (", ex.Reason.Substring(0, ex.Reason.IndexOf('(') + 1));
            Assert.Empty(_server.Requests);
            _folder.AssertUntouched();
        }

        [Fact]
        public async Task UnreachableServerFails()
        {
            int closedPort;
            using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
            }
            var request = Request(GeoDownloadSource.IpInfo);
            request.Uri = new Uri("http://127.0.0.1:" + closedPort + "/data/");
            var ex = await Fails(request, GeoDownloadFailure.Network);
            Assert.Contains("could not be reached", ex.Message);
        }

        [Fact]
        public async Task AStalledDownloadTimesOut()
        {
            // The same time-out bounds the wait for the answer's head, which a loaded machine can stretch past a second:
            // long enough for the head, so the time-out that ends it is the stalled body's.
            using var impatient = new GeoDatabaseUpdater(TimeSpan.FromSeconds(5));
            _server.Serve("/db.mmdb", GeoTestData.CountryMmdb).StallAfter = 100_000;
            var plan = Assert.Single(impatient.Plan(Request(GeoDownloadSource.Url, "db.mmdb")));
            var ex = await Assert.ThrowsAsync<GeoDownloadException>(() => impatient.UpdateAsync(plan, null, CancellationToken.None));
            Assert.Equal(GeoDownloadFailure.Network, ex.Failure);
            Assert.Contains("stalled", ex.Message);
            _folder.AssertUntouched();
        }

        [Fact]
        public async Task CancellationStopsTheDownloadAndKeepsThePreviousFile()
        {
            _server.Serve("/db.mmdb", GeoTestData.CountryMmdb).StallAfter = 100_000;
            using var cancel = new CancellationTokenSource();
            var progress = new SynchronousProgress<GeoDownloadProgress>(p => { if (p.BytesReceived > 0) cancel.Cancel(); });
            var plan = Assert.Single(_updater.Plan(Request(GeoDownloadSource.Url, "db.mmdb")));
            var task = _updater.UpdateAsync(plan, progress, cancel.Token);
            cancel.CancelAfter(TimeSpan.FromSeconds(3)); // in case no progress with bytes arrives first
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
            _folder.AssertUntouched();
        }

        // ---- Planning: addresses, validation ----------------------------------------------------

        [Fact]
        public void PlansUseTheProvidersAddresses()
        {
            var request = new GeoDownloadRequest { Source = GeoDownloadSource.DbIpLite, DestinationDirectory = _folder.Path, UtcNow = new DateTime(2026, 1, 3, 0, 0, 0, DateTimeKind.Utc) };
            var plans = _updater.Plan(request);
            Assert.Equal(new[] { GeoDownloadKind.Country, GeoDownloadKind.Asn }, plans.Select(p => p.Kind));
            Assert.Equal(new[] { "https://download.db-ip.com/free/dbip-country-lite-2026-01.mmdb.gz", "https://download.db-ip.com/free/dbip-country-lite-2025-12.mmdb.gz" },
                plans[0].Candidates.Select(u => u.AbsoluteUri));
            Assert.Equal(_folder.AsnPath, plans[1].TargetPath);

            request = new GeoDownloadRequest { Source = GeoDownloadSource.MaxMind, Databases = new[] { GeoDownloadKind.City }, DestinationDirectory = _folder.Path, AccountId = AccountId, LicenseKey = LicenseKey };
            var city = Assert.Single(_updater.Plan(request));
            Assert.Equal("https://download.maxmind.com/geoip/databases/GeoLite2-City/download?suffix=tar.gz", city.DisplayUri);
            Assert.Equal("https://download.maxmind.com/geoip/databases/GeoLite2-City/download?suffix=tar.gz.sha256", city.Sha256Uri.AbsoluteUri);

            request = new GeoDownloadRequest { Source = GeoDownloadSource.IpInfo, DestinationDirectory = _folder.Path, Token = Token };
            var ipinfo = Assert.Single(_updater.Plan(request));
            Assert.Equal("https://ipinfo.io/data/ipinfo_lite.mmdb?token=" + Token, ipinfo.Candidates[0].AbsoluteUri);
            Assert.Equal("https://ipinfo.io/data/ipinfo_lite.mmdb?token=***", ipinfo.DisplayUri);
            Assert.Equal(_folder.CountryPath, ipinfo.TargetPath);
        }

        [Fact]
        public void AMirrorReplacesTheProvidersBaseAddress()
        {
            var request = new GeoDownloadRequest { Source = GeoDownloadSource.DbIpLite, DestinationDirectory = _folder.Path, Uri = new Uri("https://mirror.example/geo/dbip?x=1"), UtcNow = November, Databases = new[] { GeoDownloadKind.City } };
            Assert.Equal("https://mirror.example/geo/dbip/dbip-city-lite-2026-11.mmdb.gz", _updater.Plan(request)[0].DisplayUri);

            request = new GeoDownloadRequest { Source = GeoDownloadSource.MaxMind, DestinationDirectory = _folder.Path, Uri = new Uri("https://mirror.example/mm/"), AccountId = AccountId, LicenseKey = LicenseKey, Databases = new[] { GeoDownloadKind.Asn } };
            Assert.Equal("https://mirror.example/mm/GeoLite2-ASN/download?suffix=tar.gz", _updater.Plan(request)[0].DisplayUri);
        }

        [Theory]
        [InlineData(GeoDownloadSource.MaxMind, "MaxMind downloads need an account ID and a licence key.", GeoDownloadAdvice.ProvideMaxMindCredentials)]
        [InlineData(GeoDownloadSource.IpInfo, "IPinfo downloads need an access token.", GeoDownloadAdvice.ProvideIpInfoToken)]
        [InlineData(GeoDownloadSource.Url, "A download from a URL needs the address of a .mmdb, .mmdb.gz or .tar.gz file.", GeoDownloadAdvice.GiveUri)]
        public void MissingCredentialsOrAddressAreRefusedBeforeAnyDownload(GeoDownloadSource source, string message, GeoDownloadAdvice advice)
        {
            var ex = Assert.Throws<GeoDownloadException>(() => _updater.Plan(new GeoDownloadRequest { Source = source, DestinationDirectory = _folder.Path }));
            Assert.Equal(GeoDownloadFailure.InvalidRequest, ex.Failure);
            Assert.Equal(message, ex.Message);
            Assert.Equal(advice, ex.Advice);
            Assert.Null(ex.TargetPath);
            Assert.Equal(message + " Do this.", ex.MessageWith("Do this."));
        }

        [Fact]
        public void Sha256IsForUrlOnlyAndUrlTakesOneKind()
        {
            var ex = Assert.Throws<GeoDownloadException>(() => _updater.Plan(new GeoDownloadRequest { Source = GeoDownloadSource.DbIpLite, DestinationDirectory = _folder.Path, Sha256 = new string('a', 64) }));
            Assert.Equal((GeoDownloadAdvice.ChecksumForUrlOnly, "An expected SHA-256 is checked only for a download from a URL (MaxMind publishes its own checksums; DB-IP and IPinfo publish none)."), (ex.Advice, ex.Message));
            ex = Assert.Throws<GeoDownloadException>(() => _updater.Plan(new GeoDownloadRequest { Source = GeoDownloadSource.Url, Uri = new Uri("https://x.example/a.mmdb"), DestinationDirectory = _folder.Path, Databases = new[] { GeoDownloadKind.Country, GeoDownloadKind.Asn } }));
            Assert.Equal((GeoDownloadAdvice.GiveOneDatabase, "A download from a URL fetches one file, so it installs one database (Country, Asn or City), not 2."), (ex.Advice, ex.Message));
            ex = Assert.Throws<GeoDownloadException>(() => _updater.Plan(new GeoDownloadRequest { Source = GeoDownloadSource.Url, Uri = new Uri("ftp://x.example/a.mmdb"), DestinationDirectory = _folder.Path }));
            Assert.Equal((GeoDownloadAdvice.UseHttpAddress, "The address \"ftp://x.example/a.mmdb\" is not an absolute http:// or https:// address."), (ex.Advice, ex.Message));
            ex = Assert.Throws<GeoDownloadException>(() => _updater.Plan(new GeoDownloadRequest { Source = GeoDownloadSource.IpInfo, Token = Token, DestinationDirectory = _folder.Path, Databases = new[] { GeoDownloadKind.City } }));
            Assert.Equal((GeoDownloadAdvice.UseSourceWithCities, "IPinfo Lite has country and ASN data but no cities."), (ex.Advice, ex.Message));
        }

        [Fact]
        public void RedactionMasksSecretsInAddressesAndText()
        {
            Assert.Equal("https://ipinfo.io/data/ipinfo_lite.mmdb?token=***", GeoDownloadText.Redact(new Uri("https://ipinfo.io/data/ipinfo_lite.mmdb?token=abc")));
            Assert.Equal("https://h.example/f?edition_id=GeoLite2-City&license_key=***&suffix=tar.gz",
                GeoDownloadText.Redact(new Uri("https://user:pw@h.example/f?edition_id=GeoLite2-City&license_key=k1&suffix=tar.gz")));
            var request = new GeoDownloadRequest { AccountId = AccountId, LicenseKey = LicenseKey, Token = "a+b/c" };
            string scrubbed = GeoDownloadText.Scrub("key " + LicenseKey + " token a%2Bb%2Fc auth " + GeoDownloadText.BasicCredentials(AccountId, LicenseKey), request);
            Assert.Equal("key *** token *** auth ***", scrubbed);
        }

        // ---- Tar reader -------------------------------------------------------------------------

        [Fact]
        public void TarReaderTakesTheNamedMmdbAndHandlesLongNames()
        {
            string longDir = new string('d', 120);
            var tgz = GeoTestData.TarGz(
                (longDir + "/other.mmdb", Encoding.ASCII.GetBytes("not this one")),
                (longDir + "/GeoLite2-ASN.mmdb", Encoding.ASCII.GetBytes("this one")));
            string output = Path.Combine(_folder.Path, "out.bin");
            using (var gz = new GZipStream(new MemoryStream(tgz), CompressionMode.Decompress))
                Assert.Equal(longDir + "/GeoLite2-ASN.mmdb", TarExtractor.ExtractMmdb(gz, output, "GeoLite2-ASN.mmdb"));
            Assert.Equal("this one", File.ReadAllText(output));
        }

        [Fact]
        public void TarReaderRefusesATruncatedArchive()
        {
            using var tar = new MemoryStream();
            using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "x/GeoLite2-City.mmdb") { DataStream = new MemoryStream(new byte[5000]) });
            var cut = new MemoryStream(tar.ToArray().Take(512 + 2000).ToArray());
            Assert.Throws<InvalidDataException>(() => TarExtractor.ExtractMmdb(cut, Path.Combine(_folder.Path, "out.bin"), "GeoLite2-City.mmdb"));
        }

        [Fact]
        public void TarReaderRefusesACorruptHeader()
        {
            var block = new byte[1024];
            Encoding.ASCII.GetBytes("x.mmdb").CopyTo(block, 0);
            Encoding.ASCII.GetBytes("0000017\0").CopyTo(block, 124);
            Encoding.ASCII.GetBytes("0000000\0").CopyTo(block, 148); // wrong checksum
            Assert.Throws<InvalidDataException>(() => TarExtractor.ExtractMmdb(new MemoryStream(block), Path.Combine(_folder.Path, "out.bin"), null));
        }

        // ---- Paths ------------------------------------------------------------------------------

        [Fact]
        public void DataDirectoryIsTheConfiguredFolderOrThePerUserDefault()
        {
            var config = ConfigLoader.LoadText("geoip:\n  directory: '" + _folder.Path + "'\n", "test.yml").Config.GeoIp;
            Assert.Equal(_folder.Path, GeoIpPaths.DataDirectory(config));

            config = ConfigLoader.LoadText("geoip:\n  directory: '~/geo-data'\n", "test.yml").Config.GeoIp;
            Assert.Equal(Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "geo-data"), GeoIpPaths.DataDirectory(config));

            string fallback = GeoIpPaths.DataDirectory(new GeoIpConfig());
            Assert.True(Path.IsPathRooted(fallback));
            Assert.EndsWith(Path.Combine("ConnectionsMonitor", "GeoIP"), fallback);
            if (!OperatingSystem.IsWindows())
            {
                string xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
                string expected = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg) ? xdg : Path.Combine(Environment.GetEnvironmentVariable("HOME"), ".local", "share");
                Assert.Equal(Path.Combine(expected, "ConnectionsMonitor", "GeoIP"), fallback);
            }
        }

        /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
        private sealed class SynchronousProgress<T> : IProgress<T>
        {
            private readonly Action<T> _report;
            public SynchronousProgress(Action<T> report) => _report = report;
            public void Report(T value) => _report(value);
        }
    }
}
