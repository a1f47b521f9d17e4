using System;
using System.Collections.Generic;
using System.Linq;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>Where a GeoIP update fetches databases from.</summary>
    public enum GeoDownloadSource
    {
        /// <summary>DB-IP's free monthly Lite files (CC BY 4.0); no account.</summary>
        DbIpLite,
        /// <summary>MaxMind GeoLite2 / GeoIP2 editions; account ID and licence key.</summary>
        MaxMind,
        /// <summary>IPinfo's free Lite database (country and ASN in one file); token.</summary>
        IpInfo,
        /// <summary>Any URL of a .mmdb, .mmdb.gz or .tar.gz file.</summary>
        Url,
    }

    /// <summary>Which database a file is, and so which file name it is installed as.</summary>
    public enum GeoDownloadKind
    {
        /// <summary>Country (installed as country.mmdb; IPinfo Lite's combined file goes here too).</summary>
        Country,
        /// <summary>Autonomous system number and organisation (asn.mmdb).</summary>
        Asn,
        /// <summary>City, with country and coordinates (city.mmdb).</summary>
        City,
    }

    /// <summary>A complete update request (see <see cref="GeoUpdateResolver"/>). Secrets stay in here and never reach a message.</summary>
    public sealed class GeoDownloadRequest
    {
        /// <summary>Where the files come from.</summary>
        public GeoDownloadSource Source { get; set; } = GeoDownloadSource.DbIpLite;

        /// <summary>The databases to fetch; null or empty means Country and Asn (IpInfo always yields its one file; Url one kind, Country by default).</summary>
        public IList<GeoDownloadKind> Databases { get; set; }

        /// <summary>The folder the databases are installed in (created when missing).</summary>
        public string DestinationDirectory { get; set; }

        /// <summary>
        /// For Url: the file's URL. For the named sources: a mirror that replaces the provider's
        /// base address; the provider's file path is appended (see <see cref="GeoDatabaseUpdater.Plan"/>).
        /// </summary>
        public Uri Uri { get; set; }

        /// <summary>MaxMind account ID.</summary>
        public string AccountId { get; set; }

        /// <summary>MaxMind licence key; a secret.</summary>
        public string LicenseKey { get; set; }

        /// <summary>IPinfo access token; a secret.</summary>
        public string Token { get; set; }

        /// <summary>Expected SHA-256 (hex) of the file as downloaded; Url only.</summary>
        public string Sha256 { get; set; }

        /// <summary>Install even when the download is not newer than the file already there.</summary>
        public bool Force { get; set; }

        /// <summary>The clock used to pick DB-IP's monthly file; null is now.</summary>
        public DateTime? UtcNow { get; set; }
    }

    /// <summary>One file to fetch and install, as planned before anything is downloaded (what a dry run shows).</summary>
    public sealed class GeoDownloadPlan
    {
        internal GeoDownloadPlan(GeoDownloadRequest request, GeoDownloadKind kind, string targetPath, IReadOnlyList<Uri> candidates, Uri sha256Uri)
        {
            Request = request;
            Kind = kind;
            TargetPath = targetPath;
            Candidates = candidates;
            Sha256Uri = sha256Uri;
        }

        /// <summary>The database this file is.</summary>
        public GeoDownloadKind Kind { get; }

        /// <summary>Where it comes from.</summary>
        public GeoDownloadSource Source => Request.Source;

        /// <summary>The file it is installed as.</summary>
        public string TargetPath { get; }

        /// <summary>The first address tried, with secrets masked (token=***): safe to show.</summary>
        public string DisplayUri => GeoDownloadText.Redact(Candidates[0]);

        /// <summary>Every address that may be tried, in order, with secrets masked.</summary>
        public IReadOnlyList<string> DisplayUris => Candidates.Select(GeoDownloadText.Redact).ToList();

        internal GeoDownloadRequest Request { get; }

        /// <summary>Addresses tried in order; the next is tried only when one answers 404 (DB-IP's previous month).</summary>
        internal IReadOnlyList<Uri> Candidates { get; }

        /// <summary>Where the SHA-256 of the download is published (MaxMind), or null.</summary>
        internal Uri Sha256Uri { get; }
    }

    /// <summary>What an update did with the file.</summary>
    public enum GeoDownloadStatus
    {
        /// <summary>There was no database file; now there is.</summary>
        Installed,
        /// <summary>The previous file was replaced.</summary>
        Replaced,
        /// <summary>The download was not newer than the file already there, which was kept (the request did not force it).</summary>
        NotNewer,
    }

    /// <summary>One installed (or, for NotNewer, downloaded and discarded) database.</summary>
    public sealed class GeoDownloadResult
    {
        /// <summary>The database this file is.</summary>
        public GeoDownloadKind Kind { get; internal set; }

        /// <summary>Where it came from.</summary>
        public GeoDownloadSource Source { get; internal set; }

        /// <summary>Installed, replaced, or kept the existing file.</summary>
        public GeoDownloadStatus Status { get; internal set; }

        /// <summary>The installed file.</summary>
        public string Path { get; internal set; }

        /// <summary>The address the file came from, secrets masked.</summary>
        public string SourceUri { get; internal set; }

        /// <summary>database_type from the file's metadata, e.g. GeoLite2-Country or DBIP-Country-Lite.</summary>
        public string DatabaseType { get; internal set; }

        /// <summary>build_epoch from the file's metadata, UTC.</summary>
        public DateTime BuildDateUtc { get; internal set; }

        /// <summary>Size of the .mmdb file.</summary>
        public long SizeBytes { get; internal set; }

        /// <summary>SHA-256 (lower-case hex) of the .mmdb file.</summary>
        public string Sha256 { get; internal set; }

        /// <summary>For NotNewer: what the kept file is.</summary>
        public string ExistingDatabaseType { get; internal set; }

        /// <summary>For NotNewer: when the kept file was built, UTC.</summary>
        public DateTime? ExistingBuildDateUtc { get; internal set; }
    }

    /// <summary>Progress of one file's download, for a progress bar.</summary>
    public sealed class GeoDownloadProgress
    {
        internal GeoDownloadProgress(GeoDownloadKind kind, string uri, string stage, long bytesReceived, long? totalBytes)
        {
            Kind = kind;
            Uri = uri;
            Stage = stage;
            BytesReceived = bytesReceived;
            TotalBytes = totalBytes;
        }

        /// <summary>The database being fetched.</summary>
        public GeoDownloadKind Kind { get; }

        /// <summary>The address being read, secrets masked.</summary>
        public string Uri { get; }

        /// <summary>"Downloading", "Unpacking", "Verifying" or "Installing".</summary>
        public string Stage { get; }

        /// <summary>Bytes read (or, at later stages, the file's size) so far.</summary>
        public long BytesReceived { get; }

        /// <summary>From Content-Length; null when the server did not say.</summary>
        public long? TotalBytes { get; }
    }

    /// <summary>Why a download failed, for error categories.</summary>
    public enum GeoDownloadFailure
    {
        /// <summary>The request cannot work as given (missing credentials, bad URL).</summary>
        InvalidRequest,
        /// <summary>HTTP 404 (after DB-IP's previous month too).</summary>
        NotFound,
        /// <summary>HTTP 401/403: the credentials were refused.</summary>
        AccessDenied,
        /// <summary>Any other HTTP error status.</summary>
        HttpError,
        /// <summary>The server could not be reached, the connection broke, or it went silent.</summary>
        Network,
        /// <summary>The file did not match its SHA-256.</summary>
        ChecksumMismatch,
        /// <summary>The file is not a usable .mmdb (truncated, corrupt, wrong archive, wrong kind of database).</summary>
        InvalidDatabase,
        /// <summary>Writing or replacing the file failed.</summary>
        FileSystem,
    }

    /// <summary>
    /// What the user can do about a failed request or update. The engine says what went wrong (the
    /// exception's <see cref="GeoDownloadException.Reason"/>); the front end (the PowerShell cmdlet, a
    /// service) turns this code into advice in its own terms: its parameter names and configuration keys.
    /// </summary>
    public enum GeoDownloadAdvice
    {
        /// <summary>Nothing specific to suggest.</summary>
        None,

        // ---- The request as given --------------------------------------------------------------

        /// <summary>No destination folder: name one.</summary>
        GiveDestination,
        /// <summary>The address is not an absolute http:// or https:// address.</summary>
        UseHttpAddress,
        /// <summary>An expected checksum was given for a source that publishes its own (or none): only a download from a URL takes one.</summary>
        ChecksumForUrlOnly,
        /// <summary>The expected checksum is malformed, or the download did not match it: check the value.</summary>
        CheckChecksum,
        /// <summary>MaxMind needs an account ID and a licence key and at least one is missing.</summary>
        ProvideMaxMindCredentials,
        /// <summary>IPinfo needs an access token and none was given.</summary>
        ProvideIpInfoToken,
        /// <summary>The source has no City database: use one that has.</summary>
        UseSourceWithCities,
        /// <summary>A download from a URL needs the file's address.</summary>
        GiveUri,
        /// <summary>A download from a URL is one file: say which one database it is.</summary>
        GiveOneDatabase,

        // ---- The download ----------------------------------------------------------------------

        /// <summary>The destination folder cannot be created: choose one that can be written.</summary>
        ChooseWritableFolder,
        /// <summary>Writing in the destination folder failed: check space and permissions, or choose another folder.</summary>
        CheckDiskOrChooseFolder,
        /// <summary>The installed file could not be replaced: close programs holding it, or choose another folder.</summary>
        CloseProgramsOrChooseFolder,
        /// <summary>The provider's file did not match its published checksum: try again.</summary>
        RetryCorruptedDownload,
        /// <summary>The file at the address given is not a usable database of the kind asked for: check the address.</summary>
        CheckFileAtUri,
        /// <summary>The provider's file is not usable: try later, or another source.</summary>
        TryAnotherSource,
        /// <summary>The address given leads nowhere useful (too large, too many redirects, refused): check it.</summary>
        CheckUri,
        /// <summary>The checksum file is missing or unreadable: try later; a mirror must serve the .sha256 files too.</summary>
        MirrorMissingChecksums,
        /// <summary>A mirror answered 404: it must hold the provider's file names.</summary>
        MirrorMissingFiles,
        /// <summary>The server could not be reached: check the network and proxy, or use a reachable mirror.</summary>
        CheckNetworkOrUseMirror,
        /// <summary>The transfer broke off, stalled or was truncated: try again, check the network and proxy.</summary>
        RetryCheckNetwork,
        /// <summary>A small read failed: try again.</summary>
        Retry,
        /// <summary>An https address redirected to http, which is refused: use a mirror served over https.</summary>
        UseHttpsMirror,
        /// <summary>MaxMind refused the account ID and licence key.</summary>
        CheckMaxMindCredentials,
        /// <summary>IPinfo refused the token.</summary>
        CheckIpInfoToken,
        /// <summary>Another server refused access (HTTP 401/403).</summary>
        CheckAccessToUri,
        /// <summary>HTTP 429: the provider limits downloads.</summary>
        WaitForRateLimit,
        /// <summary>HTTP 5xx: try later, or another source or address.</summary>
        TryLaterOrAnotherSource,
        /// <summary>Any other HTTP error: check the source and address.</summary>
        CheckSourceAndUri,
        /// <summary>DB-IP's file for this month (and last) is not published yet.</summary>
        WaitForMonthlyRelease,
        /// <summary>MaxMind answered 404: the account may not be entitled to this edition (<see cref="GeoDatabaseUpdater.MaxMindEdition"/>).</summary>
        CheckMaxMindEdition,
        /// <summary>IPinfo answered 404: the Lite file may have moved; download it by hand and install it from its URL.</summary>
        DownloadIpInfoManually,
    }

    /// <summary>
    /// A refused request or a failed update. For an update the previous database file is untouched and
    /// no temporary file remains. The text says what went wrong, in terms of the request and the files
    /// (never a front end's parameter names); <see cref="Advice"/> says what can be done about it. No
    /// text holds a licence key, account ID or token.
    /// </summary>
    public sealed class GeoDownloadException : Exception
    {
        /// <summary>A refused request (<see cref="GeoDownloadFailure.InvalidRequest"/> and the like), before any file is touched.</summary>
        public GeoDownloadException(GeoDownloadFailure failure, GeoDownloadAdvice advice, GeoDownloadKind? kind, string reason, Exception inner = null)
            : base(reason, inner)
        {
            Failure = failure;
            Advice = advice;
            Kind = kind;
            Reason = reason;
        }

        internal GeoDownloadException(GeoDownloadFailure failure, GeoDownloadAdvice advice, GeoDownloadKind kind, string targetPath, string reason, string outcome)
            : base(Compose(kind, targetPath, reason, null, outcome))
        {
            Failure = failure;
            Advice = advice;
            Kind = kind;
            TargetPath = targetPath;
            Reason = reason;
            Outcome = outcome;
        }

        /// <summary>What kind of failure (for error categories).</summary>
        public GeoDownloadFailure Failure { get; }

        /// <summary>What the user can do; the front end words it.</summary>
        public GeoDownloadAdvice Advice { get; }

        /// <summary>The database the failed update was for; null when the whole request was refused.</summary>
        public GeoDownloadKind? Kind { get; }

        /// <summary>The file the update would have installed; null when the whole request was refused.</summary>
        public string TargetPath { get; }

        /// <summary>What went wrong, as one or more sentences (e.g. "HTTP 404 from https://… ." or "No destination folder was given.").</summary>
        public string Reason { get; }

        /// <summary>"The previous database is unchanged." or "Nothing was installed."; null when the whole request was refused.</summary>
        public string Outcome { get; }

        /// <summary>
        /// The full message with the front end's <paramref name="advice"/> (null or empty: none) in its
        /// place: "Could not update the Country database /path: REASON ADVICE OUTCOME", or for a refused
        /// request "REASON ADVICE".
        /// </summary>
        public string MessageWith(string advice) =>
            TargetPath == null
                ? (string.IsNullOrEmpty(advice) ? Reason : Reason + " " + advice)
                : Compose(Kind.GetValueOrDefault(), TargetPath, Reason, advice, Outcome);

        private static string Compose(GeoDownloadKind kind, string targetPath, string reason, string advice, string outcome) =>
            "Could not update the " + kind + " database " + targetPath + ": " + Sentence(reason) + (string.IsNullOrEmpty(advice) ? "" : " " + advice) + " " + outcome;

        // A reason as a sentence of its own: the outcome follows it ("… damaged The previous database …" lacked the stop).
        private static string Sentence(string reason) =>
            string.IsNullOrEmpty(reason) || reason.EndsWith(".", StringComparison.Ordinal) || reason.EndsWith("!", StringComparison.Ordinal) || reason.EndsWith("?", StringComparison.Ordinal)
                ? reason : reason + ".";
    }
}
