using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>
    /// Downloads GeoIP databases and installs them as country.mmdb, asn.mmdb and city.mmdb, safely:
    /// each file is streamed to a temporary file in the destination folder, checked against its
    /// SHA-256 when one is known, unpacked (gzip, tar.gz), opened with MaxMind.Db and asked about a
    /// public address, and only then moved over the old file in one rename. Any failure leaves the old
    /// file exactly as it was and removes the temporary files.
    /// </summary>
    public sealed class GeoDatabaseUpdater : IDisposable
    {
        /// <summary>How long the server may take to answer, and how long a download may go without data.</summary>
        public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

        internal static readonly Uri DbIpLiteBase = new Uri("https://download.db-ip.com/free/");
        internal static readonly Uri MaxMindBase = new Uri("https://download.maxmind.com/geoip/databases/");
        internal static readonly Uri IpInfoBase = new Uri("https://ipinfo.io/data/");

        /// <summary>The largest download or unpacked database accepted (GeoIP2 City is a few hundred MB); guards the disk against a runaway or malicious stream.</summary>
        internal const long MaxFileBytes = 2L * 1024 * 1024 * 1024;

        private const int MaxRedirects = 5;
        private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

        private readonly HttpClient _http;
        private readonly TimeSpan _timeout;

        /// <summary>An updater with the <see cref="DefaultTimeout"/>.</summary>
        public GeoDatabaseUpdater() : this(DefaultTimeout)
        {
        }

        /// <summary>An updater whose servers may take up to <paramref name="timeout"/> to answer or between data.</summary>
        public GeoDatabaseUpdater(TimeSpan timeout)
        {
            if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive.");
            // Windows PowerShell 5.1 (.NET Framework) may offer only TLS 1.0/1.1, which the providers refuse;
            // add TLS 1.2 without removing anything. (.NET Core's handler ignores this setting.)
            if (RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal))
                ServicePointManager.SecurityProtocol |= SecurityProtocolType.Tls12;
            // Redirects are followed by hand: the MaxMind credentials must go to MaxMind only, never to
            // the storage host it redirects to, and an https download must not be redirected to http.
            var handler = new HttpClientHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None };
            _http = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("ConnectionsMonitor",
                typeof(GeoDatabaseUpdater).Assembly.GetName().Version?.ToString(3) ?? "0"));
            _timeout = timeout;
        }

        /// <summary>Closes the HTTP client.</summary>
        public void Dispose() => _http.Dispose();

        /// <summary>
        /// The files a request fetches and where each goes, without touching the network. A
        /// <see cref="GeoDownloadRequest.Uri"/> with a named source replaces the provider's base address (a trailing / is added) and the provider's
        /// own relative path is appended:
        /// DbIpLite <c>dbip-country-lite-YYYY-MM.mmdb.gz</c> (asn, city; this month, then last month on 404),
        /// MaxMind <c>GeoLite2-Country/download?suffix=tar.gz</c> (and <c>?suffix=tar.gz.sha256</c>),
        /// IpInfo <c>ipinfo_lite.mmdb?token=TOKEN</c>. With Url, the Uri is the file itself.
        /// </summary>
        /// <exception cref="GeoDownloadException">With <see cref="GeoDownloadFailure.InvalidRequest"/>: what is missing or wrong, and an <see cref="GeoDownloadAdvice"/>.</exception>
        public IReadOnlyList<GeoDownloadPlan> Plan(GeoDownloadRequest request)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            if (string.IsNullOrWhiteSpace(request.DestinationDirectory))
                throw Invalid(GeoDownloadAdvice.GiveDestination, "No destination folder was given.");
            if (request.Uri != null && (!request.Uri.IsAbsoluteUri || (request.Uri.Scheme != Uri.UriSchemeHttp && request.Uri.Scheme != Uri.UriSchemeHttps)))
                throw Invalid(GeoDownloadAdvice.UseHttpAddress, "The address \"" + GeoDownloadText.Redact(request.Uri) + "\" is not an absolute http:// or https:// address.");
            // Secrets travel only encrypted: the MaxMind account and licence key (Basic authentication) and the IPinfo token
            // (in the query) go to a plain http:// mirror only on this machine (a trial sent them in clear to another host).
            if (request.Uri != null && request.Uri.Scheme == Uri.UriSchemeHttp && !request.Uri.IsLoopback
                && (request.Source == GeoDownloadSource.MaxMind || request.Source == GeoDownloadSource.IpInfo))
                throw Invalid(GeoDownloadAdvice.UseHttpsMirror, "The address \"" + GeoDownloadText.Redact(request.Uri) + "\" is plain http on another machine: " +
                    (request.Source == GeoDownloadSource.MaxMind ? "the account ID and licence key" : "the token") + " would cross the network unencrypted. Use an https:// address.");
            // User and password in the address are not sent (HttpClient drops them): say so rather than fail later with a 401.
            if (request.Uri != null && !string.IsNullOrEmpty(request.Uri.UserInfo))
                throw Invalid(GeoDownloadAdvice.UseHttpAddress, "The address \"" + GeoDownloadText.Redact(request.Uri) + "\" carries a user name and password, which are not sent: " +
                    "give an address without them (a mirror that needs sign-in is not supported; MaxMind's account and key have parameters of their own).");
            if (!string.IsNullOrEmpty(request.Sha256) && request.Source != GeoDownloadSource.Url)
                throw Invalid(GeoDownloadAdvice.ChecksumForUrlOnly, "An expected SHA-256 is checked only for a download from a URL (MaxMind publishes its own checksums; DB-IP and IPinfo publish none).");
            if (!string.IsNullOrEmpty(request.Sha256) && NormalizeSha256(request.Sha256) == null)
                throw Invalid(GeoDownloadAdvice.CheckChecksum, "The expected SHA-256 is not 64 hexadecimal digits.");

            var kinds = (request.Databases ?? new GeoDownloadKind[0]).Distinct().ToList();
            string directory = Path.GetFullPath(request.DestinationDirectory);
            var plans = new List<GeoDownloadPlan>();
            switch (request.Source)
            {
                case GeoDownloadSource.DbIpLite:
                {
                    var now = (request.UtcNow ?? DateTime.UtcNow).ToUniversalTime();
                    var months = new[] { new DateTime(now.Year, now.Month, 1), new DateTime(now.Year, now.Month, 1).AddMonths(-1) };
                    var baseUri = BaseFor(request, DbIpLiteBase);
                    foreach (var kind in DefaultKinds(kinds))
                    {
                        var candidates = months.Select(m => new Uri(baseUri, "dbip-" + kind.ToString().ToLowerInvariant() + "-lite-" +
                                                                             m.ToString("yyyy-MM", CultureInfo.InvariantCulture) + ".mmdb.gz")).ToList();
                        plans.Add(new GeoDownloadPlan(request, kind, Target(directory, kind), candidates, null));
                    }
                    break;
                }
                case GeoDownloadSource.MaxMind:
                {
                    if (string.IsNullOrWhiteSpace(request.AccountId) || string.IsNullOrWhiteSpace(request.LicenseKey))
                        throw Invalid(GeoDownloadAdvice.ProvideMaxMindCredentials, "MaxMind downloads need an account ID and a licence key.");
                    var baseUri = BaseFor(request, MaxMindBase);
                    foreach (var kind in DefaultKinds(kinds))
                    {
                        string edition = MaxMindEdition(kind);
                        plans.Add(new GeoDownloadPlan(request, kind, Target(directory, kind),
                            new[] { new Uri(baseUri, edition + "/download?suffix=tar.gz") },
                            new Uri(baseUri, edition + "/download?suffix=tar.gz.sha256")));
                    }
                    break;
                }
                case GeoDownloadSource.IpInfo:
                {
                    if (string.IsNullOrWhiteSpace(request.Token))
                        throw Invalid(GeoDownloadAdvice.ProvideIpInfoToken, "IPinfo downloads need an access token.");
                    if (kinds.Contains(GeoDownloadKind.City))
                        throw Invalid(GeoDownloadAdvice.UseSourceWithCities, "IPinfo Lite has country and ASN data but no cities.");
                    var uri = new Uri(BaseFor(request, IpInfoBase), "ipinfo_lite.mmdb?token=" + Uri.EscapeDataString(request.Token.Trim()));
                    plans.Add(new GeoDownloadPlan(request, GeoDownloadKind.Country, Target(directory, GeoDownloadKind.Country), new[] { uri }, null));
                    break;
                }
                case GeoDownloadSource.Url:
                {
                    if (request.Uri == null) throw Invalid(GeoDownloadAdvice.GiveUri, "A download from a URL needs the address of a .mmdb, .mmdb.gz or .tar.gz file.");
                    if (kinds.Count > 1) throw Invalid(GeoDownloadAdvice.GiveOneDatabase, "A download from a URL fetches one file, so it installs one database (Country, Asn or City), not " + kinds.Count + ".");
                    var kind = kinds.Count == 1 ? kinds[0] : GeoDownloadKind.Country;
                    plans.Add(new GeoDownloadPlan(request, kind, Target(directory, kind), new[] { request.Uri }, null));
                    break;
                }
                default:
                    throw Invalid(GeoDownloadAdvice.None, "Unknown source " + request.Source + ".");
            }
            return plans;
        }

        /// <summary>
        /// Fetches, checks and installs one planned file. Cancelling <paramref name="cancel"/> throws
        /// <see cref="OperationCanceledException"/>; every other failure is a <see cref="GeoDownloadException"/>.
        /// Either way the previous file is unchanged and no temporary file remains.
        /// </summary>
        public async Task<GeoDownloadResult> UpdateAsync(GeoDownloadPlan plan, IProgress<GeoDownloadProgress> progress, CancellationToken cancel)
        {
            if (plan == null) throw new ArgumentNullException(nameof(plan));
            string directory = Path.GetDirectoryName(plan.TargetPath);
            var temporaryFiles = new List<string>();
            string NewTemporaryFile(string stage)
            {
                // Hidden (dot) name in the destination folder, so the final rename stays on one volume.
                string path = Path.Combine(directory, "." + Path.GetFileName(plan.TargetPath) + "." + Guid.NewGuid().ToString("N").Substring(0, 12) + "." + stage + ".tmp");
                temporaryFiles.Add(path);
                return path;
            }

            try
            {
                try
                {
                    Directory.CreateDirectory(directory);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NotSupportedException)
                {
                    throw Fail(plan, GeoDownloadFailure.FileSystem, GeoDownloadAdvice.ChooseWritableFolder, "the folder " + directory + " cannot be created (" + ex.Message + ").");
                }

                string expectedSha256 = plan.Sha256Uri != null ? await FetchSha256Async(plan, cancel).ConfigureAwait(false) : NormalizeSha256(plan.Request.Sha256);

                string downloaded = NewTemporaryFile("download");
                Uri source = await DownloadAsync(plan, downloaded, progress, cancel).ConfigureAwait(false);
                string shown = GeoDownloadText.Redact(source);

                if (expectedSha256 != null)
                {
                    string actual = Sha256OfFile(downloaded, cancel);
                    if (actual != expectedSha256)
                        throw Fail(plan, GeoDownloadFailure.ChecksumMismatch,
                            plan.Source == GeoDownloadSource.Url ? GeoDownloadAdvice.CheckChecksum : GeoDownloadAdvice.RetryCorruptedDownload,
                            "the file from " + shown + " has SHA-256 " + actual + " but " + expectedSha256 + " was expected.");
                }

                Report(progress, plan, shown, "Verifying", new FileInfo(downloaded).Length, null);
                string database;
                GeoDownloadFileInfo info;
                try
                {
                    database = Unpack(plan, downloaded, NewTemporaryFile, cancel);
                    info = GeoDownloadVerifier.Verify(database, plan.Kind);
                }
                catch (InvalidDataException ex)
                {
                    throw Fail(plan, GeoDownloadFailure.InvalidDatabase,
                        plan.Source == GeoDownloadSource.Url || plan.Request.Uri != null ? GeoDownloadAdvice.CheckFileAtUri : GeoDownloadAdvice.TryAnotherSource,
                        "the file from " + shown + " is not usable: " + ex.Message);
                }

                var result = new GeoDownloadResult
                {
                    Kind = plan.Kind,
                    Source = plan.Source,
                    Path = plan.TargetPath,
                    SourceUri = shown,
                    DatabaseType = info.DatabaseType,
                    BuildDateUtc = info.BuildDateUtc,
                    SizeBytes = new FileInfo(database).Length,
                    Sha256 = Sha256OfFile(database, cancel),
                };

                var existing = plan.Request.Force ? null : GeoDownloadVerifier.TryReadExisting(plan.TargetPath);
                if (existing != null && existing.BuildDateUtc >= info.BuildDateUtc)
                {
                    result.Status = GeoDownloadStatus.NotNewer;
                    result.ExistingDatabaseType = existing.DatabaseType;
                    result.ExistingBuildDateUtc = existing.BuildDateUtc;
                    return result;
                }

                cancel.ThrowIfCancellationRequested();
                Report(progress, plan, shown, "Installing", result.SizeBytes, result.SizeBytes);
                result.Status = Install(plan, database) ? GeoDownloadStatus.Replaced : GeoDownloadStatus.Installed;
                temporaryFiles.Remove(database);
                return result;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // Network and data problems are already GeoDownloadExceptions: this is the local disk.
                throw Fail(plan, GeoDownloadFailure.FileSystem, GeoDownloadAdvice.CheckDiskOrChooseFolder, "writing in " + directory + " failed (" + ex.Message + ").");
            }
            finally
            {
                foreach (var file in temporaryFiles)
                {
                    try { File.Delete(file); }
                    catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { /* best effort; the name is unique and hidden */ }
                }
            }
        }

        // ---- HTTP -------------------------------------------------------------------------------

        /// <summary>Streams the first candidate that is not 404 into <paramref name="path"/>; returns the address read.</summary>
        private async Task<Uri> DownloadAsync(GeoDownloadPlan plan, string path, IProgress<GeoDownloadProgress> progress, CancellationToken cancel)
        {
            var notFound = new List<Uri>();
            foreach (var candidate in plan.Candidates)
            {
                string shown = GeoDownloadText.Redact(candidate);
                Report(progress, plan, shown, "Downloading", 0, null);
                using (var response = await SendAsync(plan, candidate, cancel).ConfigureAwait(false))
                {
                    if (response.StatusCode == HttpStatusCode.NotFound)
                    {
                        notFound.Add(candidate);
                        continue;
                    }
                    if (!response.IsSuccessStatusCode) throw HttpFailure(plan, candidate, response.StatusCode);
                    await CopyBodyAsync(plan, response, shown, path, progress, cancel).ConfigureAwait(false);
                    return candidate;
                }
            }
            throw Fail(plan, GeoDownloadFailure.NotFound, NotFoundAdvice(plan),
                "not found (HTTP 404) at " + string.Join(" nor at ", notFound.Select(GeoDownloadText.Redact)) + ".");
        }

        private async Task CopyBodyAsync(GeoDownloadPlan plan, HttpResponseMessage response, string shown, string path, IProgress<GeoDownloadProgress> progress, CancellationToken cancel)
        {
            long? total = response.Content.Headers.ContentLength;
            long received = 0;
            bool writing = false;
            var clock = Stopwatch.StartNew();
            using (var stall = CancellationTokenSource.CreateLinkedTokenSource(cancel))
            // Some platforms (.NET Framework) do not cancel a pending socket read: closing the response does.
            using (stall.Token.Register(response.Dispose))
            {
                try
                {
                    using (var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false))
                    using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920))
                    {
                        var buffer = new byte[81920];
                        Report(progress, plan, shown, "Downloading", 0, total);
                        while (true)
                        {
                            stall.CancelAfter(_timeout);
                            int n = await body.ReadAsync(buffer, 0, buffer.Length, stall.Token).ConfigureAwait(false);
                            if (n == 0) break;
                            received += n;
                            if (received > MaxFileBytes)
                                throw Fail(plan, GeoDownloadFailure.InvalidDatabase, GeoDownloadAdvice.CheckUri, "the file at " + shown + " is larger than " + GeoDownloadText.Size(MaxFileBytes) + ", more than any GeoIP database.");
                            writing = true;
                            await file.WriteAsync(buffer, 0, n, cancel).ConfigureAwait(false);
                            writing = false;
                            if (clock.Elapsed >= ProgressInterval)
                            {
                                Report(progress, plan, shown, "Downloading", received, total);
                                clock.Restart();
                            }
                        }
                    }
                }
                catch (Exception ex) when (IsTransferFailure(ex) && !(writing && ex is IOException))
                {
                    cancel.ThrowIfCancellationRequested();
                    if (stall.IsCancellationRequested)
                        throw Fail(plan, GeoDownloadFailure.Network, GeoDownloadAdvice.RetryCheckNetwork, "the download from " + shown + " stalled: no data for " + _timeout.TotalSeconds + " s after " +
                            GeoDownloadText.Size(received) + (total != null ? " of " + GeoDownloadText.Size(total.Value) : "") + ".");
                    throw Fail(plan, GeoDownloadFailure.Network, GeoDownloadAdvice.RetryCheckNetwork, "the download from " + shown + " broke off after " + GeoDownloadText.Size(received) +
                        (total != null ? " of " + GeoDownloadText.Size(total.Value) : "") + " (" + Describe(ex) + ").");
                }
            }
            Report(progress, plan, shown, "Downloading", received, total);
            if (total != null && received != total.Value)
                throw Fail(plan, GeoDownloadFailure.Network, GeoDownloadAdvice.RetryCheckNetwork, "the download from " + shown + " is truncated: " + received + " of " + total.Value + " bytes arrived.");
        }

        private static bool IsTransferFailure(Exception ex) =>
            ex is IOException || ex is HttpRequestException || ex is OperationCanceledException || ex is ObjectDisposedException;

        /// <summary>MaxMind's sidecar: "HEX  NAME.tar.gz".</summary>
        private async Task<string> FetchSha256Async(GeoDownloadPlan plan, CancellationToken cancel)
        {
            string shown = GeoDownloadText.Redact(plan.Sha256Uri);
            using (var response = await SendAsync(plan, plan.Sha256Uri, cancel).ConfigureAwait(false))
            {
                if (!response.IsSuccessStatusCode) throw HttpFailure(plan, plan.Sha256Uri, response.StatusCode);
                string text;
                try
                {
                    using (var stall = CancellationTokenSource.CreateLinkedTokenSource(cancel))
                    using (stall.Token.Register(response.Dispose))
                    {
                        stall.CancelAfter(_timeout);
                        text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (IsTransferFailure(ex))
                {
                    cancel.ThrowIfCancellationRequested();
                    throw Fail(plan, GeoDownloadFailure.Network, GeoDownloadAdvice.Retry, "the checksum at " + shown + " could not be read (" + Describe(ex) + ").");
                }
                string first = text.Split(new[] { ' ', '\t', '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
                return NormalizeSha256(first) ?? throw Fail(plan, GeoDownloadFailure.InvalidDatabase, GeoDownloadAdvice.MirrorMissingChecksums,
                    "the checksum file at " + shown + " does not hold a SHA-256.");
            }
        }

        /// <summary>GET with a header timeout; follows redirects itself (credentials to the first host only, never https to http).</summary>
        private async Task<HttpResponseMessage> SendAsync(GeoDownloadPlan plan, Uri uri, CancellationToken cancel)
        {
            Uri first = uri;
            for (int hop = 0; ; hop++)
            {
                HttpResponseMessage response;
                using (var message = new HttpRequestMessage(HttpMethod.Get, uri))
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel))
                {
                    if (plan.Source == GeoDownloadSource.MaxMind && SameOrigin(uri, first))
                        message.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                            GeoDownloadText.BasicCredentials(plan.Request.AccountId.Trim(), plan.Request.LicenseKey.Trim()));
                    timeout.CancelAfter(_timeout);
                    try
                    {
                        response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is HttpRequestException || ex is OperationCanceledException || ex is IOException)
                    {
                        cancel.ThrowIfCancellationRequested();
                        string reason = timeout.IsCancellationRequested
                            ? uri.Host + " did not answer within " + _timeout.TotalSeconds + " s"
                            : uri.Host + " could not be reached (" + Describe(ex) + ")";
                        throw Fail(plan, GeoDownloadFailure.Network, GeoDownloadAdvice.CheckNetworkOrUseMirror, reason + ".");
                    }
                }

                int status = (int)response.StatusCode;
                bool redirect = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
                if (!redirect || response.Headers.Location == null) return response;
                var location = response.Headers.Location;
                response.Dispose();
                var next = location.IsAbsoluteUri ? location : new Uri(uri, location);
                if (hop >= MaxRedirects)
                    throw Fail(plan, GeoDownloadFailure.HttpError, GeoDownloadAdvice.CheckUri, "more than " + MaxRedirects + " redirects from " + GeoDownloadText.Redact(first) + ".");
                if (uri.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps)
                    throw Fail(plan, GeoDownloadFailure.HttpError, GeoDownloadAdvice.UseHttpsMirror, GeoDownloadText.Redact(uri) + " redirected to an unencrypted address (" + GeoDownloadText.Redact(next) + "), which was refused.");
                // Only HTTP goes on: HttpClient would throw NotSupportedException for ftp: or file:, which stopped the whole
                // update instead of failing this database (a newcomer's trial).
                if (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps)
                    throw Fail(plan, GeoDownloadFailure.HttpError, GeoDownloadAdvice.CheckUri, GeoDownloadText.Redact(uri) + " redirected to " + GeoDownloadText.Redact(next) + ", which is not an http or https address.");
                uri = next;
            }
        }

        private static bool SameOrigin(Uri a, Uri b) =>
            string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

        private static string Describe(Exception ex)
        {
            var messages = new List<string>();
            for (var e = ex; e != null; e = e.InnerException)
                if (!string.IsNullOrEmpty(e.Message) && !messages.Contains(e.Message)) messages.Add(e.Message.TrimEnd('.'));
            return string.Join(": ", messages);
        }

        private GeoDownloadException HttpFailure(GeoDownloadPlan plan, Uri uri, HttpStatusCode statusCode)
        {
            int status = (int)statusCode;
            string reason = "HTTP " + status + " from " + GeoDownloadText.Redact(uri) + ".";
            if (status == 401 || status == 403)
            {
                switch (plan.Source)
                {
                    case GeoDownloadSource.MaxMind:
                        return Fail(plan, GeoDownloadFailure.AccessDenied, GeoDownloadAdvice.CheckMaxMindCredentials, reason + " MaxMind refused the account ID and licence key.");
                    case GeoDownloadSource.IpInfo:
                        return Fail(plan, GeoDownloadFailure.AccessDenied, GeoDownloadAdvice.CheckIpInfoToken, reason + " IPinfo refused the token.");
                    default:
                        return Fail(plan, GeoDownloadFailure.AccessDenied, GeoDownloadAdvice.CheckAccessToUri, reason + " The server refused access.");
                }
            }
            if (status == 404) return Fail(plan, GeoDownloadFailure.NotFound, NotFoundAdvice(plan), reason);
            if (status == 429) return Fail(plan, GeoDownloadFailure.HttpError, GeoDownloadAdvice.WaitForRateLimit, reason + " The provider is limiting downloads.");
            if (status >= 500) return Fail(plan, GeoDownloadFailure.HttpError, GeoDownloadAdvice.TryLaterOrAnotherSource, reason + " The server had a problem.");
            return Fail(plan, GeoDownloadFailure.HttpError, GeoDownloadAdvice.CheckSourceAndUri, reason);
        }

        private static GeoDownloadAdvice NotFoundAdvice(GeoDownloadPlan plan)
        {
            if (plan.Request.Uri != null && plan.Source != GeoDownloadSource.Url) return GeoDownloadAdvice.MirrorMissingFiles;
            switch (plan.Source)
            {
                case GeoDownloadSource.DbIpLite: return GeoDownloadAdvice.WaitForMonthlyRelease;
                case GeoDownloadSource.MaxMind: return GeoDownloadAdvice.CheckMaxMindEdition;
                case GeoDownloadSource.IpInfo: return GeoDownloadAdvice.DownloadIpInfoManually;
                default: return GeoDownloadAdvice.CheckUri;
            }
        }

        // ---- Files ------------------------------------------------------------------------------

        /// <summary>gzip → decompressed; tar → the .mmdb inside; anything else is taken as the .mmdb itself (checked next).</summary>
        private static string Unpack(GeoDownloadPlan plan, string downloaded, Func<string, string> newTemporaryFile, CancellationToken cancel)
        {
            string current = downloaded;
            if (IsGzip(current))
            {
                string unpacked = newTemporaryFile("unpacked");
                using (var input = File.OpenRead(current))
                using (var gzip = new GZipStream(input, CompressionMode.Decompress))
                using (var output = new FileStream(unpacked, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920))
                {
                    var buffer = new byte[81920];
                    long total = 0;
                    int n;
                    while ((n = ReadGzip(gzip, buffer)) > 0)
                    {
                        cancel.ThrowIfCancellationRequested();
                        total += n;
                        if (total > MaxFileBytes)
                            throw Fail(plan, GeoDownloadFailure.InvalidDatabase, GeoDownloadAdvice.CheckUri, "the download unpacks to more than " + GeoDownloadText.Size(MaxFileBytes) + ", more than any GeoIP database.");
                        output.Write(buffer, 0, n);
                    }
                }
                current = unpacked;
            }
            if (TarExtractor.LooksLikeTar(current))
            {
                string extracted = newTemporaryFile("mmdb");
                using (var input = File.OpenRead(current))
                    TarExtractor.ExtractMmdb(input, extracted, plan.Source == GeoDownloadSource.MaxMind ? MaxMindEdition(plan.Kind) + ".mmdb" : null);
                current = extracted;
            }
            return current;
        }

        /// <summary>A read from the decompressor; its failures mean a corrupt or truncated gzip file.</summary>
        private static int ReadGzip(GZipStream gzip, byte[] buffer)
        {
            try
            {
                return gzip.Read(buffer, 0, buffer.Length);
            }
            catch (Exception ex) when (ex is InvalidDataException || ex is IOException)
            {
                throw new InvalidDataException("it is not a complete gzip file (" + ex.Message + ").", ex);
            }
        }

        private static bool IsGzip(string path)
        {
            using (var f = File.OpenRead(path))
                return f.ReadByte() == 0x1f && f.ReadByte() == 0x8b;
        }

        /// <summary>Moves the verified file into place; true when it replaced one.</summary>
        private static bool Install(GeoDownloadPlan plan, string verified)
        {
            string target = plan.TargetPath;
            try
            {
                if (!File.Exists(target))
                {
                    try
                    {
                        File.Move(verified, target);
                        return false;
                    }
                    catch (IOException) when (File.Exists(target))
                    {
                        // Another update installed one meanwhile: replace it like any other.
                    }
                }
                // One rename over the old file (ReplaceFile on Windows, rename(2) elsewhere): readers see
                // the old file or the new one, never a half-written one.
                File.Replace(verified, target, null, ignoreMetadataErrors: true);
                return true;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw Fail(plan, GeoDownloadFailure.FileSystem, GeoDownloadAdvice.CloseProgramsOrChooseFolder, target + " could not be replaced (" + ex.Message + ").");
            }
        }

        private static string Sha256OfFile(string path, CancellationToken cancel)
        {
            cancel.ThrowIfCancellationRequested();
            using (var sha = SHA256.Create())
            using (var f = File.OpenRead(path))
            {
                var hash = sha.ComputeHash(f);
                var b = new StringBuilder(hash.Length * 2);
                foreach (var x in hash) b.Append(x.ToString("x2", CultureInfo.InvariantCulture));
                return b.ToString();
            }
        }

        internal static string NormalizeSha256(string text)
        {
            if (string.IsNullOrWhiteSpace(text)) return null;
            string t = text.Trim().ToLowerInvariant();
            return t.Length == 64 && t.All(c => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) ? t : null;
        }

        // ---- Naming -----------------------------------------------------------------------------

        /// <summary>MaxMind's edition ID for a kind of database: GeoLite2-Country, GeoLite2-ASN or GeoLite2-City.</summary>
        public static string MaxMindEdition(GeoDownloadKind kind) =>
            kind == GeoDownloadKind.Asn ? "GeoLite2-ASN" : kind == GeoDownloadKind.City ? "GeoLite2-City" : "GeoLite2-Country";

        internal static string FileName(GeoDownloadKind kind) =>
            kind == GeoDownloadKind.Asn ? GeoIpPaths.AsnFile : kind == GeoDownloadKind.City ? GeoIpPaths.CityFile : GeoIpPaths.CountryFile;

        private static string Target(string directory, GeoDownloadKind kind) => Path.Combine(directory, FileName(kind));

        private static IEnumerable<GeoDownloadKind> DefaultKinds(List<GeoDownloadKind> kinds) =>
            kinds.Count > 0 ? kinds : new List<GeoDownloadKind> { GeoDownloadKind.Country, GeoDownloadKind.Asn };

        /// <summary>A mirror given with -Uri stands for the provider's base folder: make it end in / so relative paths append.</summary>
        private static Uri BaseFor(GeoDownloadRequest request, Uri providerBase)
        {
            if (request.Uri == null) return providerBase;
            var builder = new UriBuilder(request.Uri) { Query = "", Fragment = "" };
            if (!builder.Path.EndsWith("/", StringComparison.Ordinal)) builder.Path += "/";
            return builder.Uri;
        }

        private static void Report(IProgress<GeoDownloadProgress> progress, GeoDownloadPlan plan, string uri, string stage, long received, long? total) =>
            progress?.Report(new GeoDownloadProgress(plan.Kind, uri, stage, received, total));

        private static GeoDownloadException Invalid(GeoDownloadAdvice advice, string reason) =>
            new GeoDownloadException(GeoDownloadFailure.InvalidRequest, advice, null, reason);

        private static GeoDownloadException Fail(GeoDownloadPlan plan, GeoDownloadFailure failure, GeoDownloadAdvice advice, string reason)
        {
            string kept = File.Exists(plan.TargetPath) ? "The previous database is unchanged." : "Nothing was installed.";
            return new GeoDownloadException(failure, advice, plan.Kind, plan.TargetPath, GeoDownloadText.Scrub(reason, plan.Request), kept);
        }
    }
}
