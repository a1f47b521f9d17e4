using System;
using System.Collections.Generic;
using System.Linq;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>Where Update-ConnectionGeoDatabase fetches databases from.</summary>
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
        Country,
        Asn,
        City,
    }

    /// <summary>What Update-ConnectionGeoDatabase asked for. Secrets stay in here and never reach a message.</summary>
    public sealed class GeoDownloadRequest
    {
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

        public string AccountId { get; set; }
        public string LicenseKey { get; set; }
        public string Token { get; set; }

        /// <summary>Expected SHA-256 (hex) of the file as downloaded; Url only.</summary>
        public string Sha256 { get; set; }

        /// <summary>Install even when the download is not newer than the file already there.</summary>
        public bool Force { get; set; }

        /// <summary>The clock used to pick DB-IP's monthly file; null is now.</summary>
        public DateTime? UtcNow { get; set; }
    }

    /// <summary>One file to fetch and install, as planned before anything is downloaded (what -WhatIf shows).</summary>
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

        public GeoDownloadKind Kind { get; }
        public GeoDownloadSource Source => Request.Source;
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

    public enum GeoDownloadStatus
    {
        /// <summary>There was no database file; now there is.</summary>
        Installed,
        /// <summary>The previous file was replaced.</summary>
        Replaced,
        /// <summary>The download was not newer than the file already there, which was kept (no -Force).</summary>
        NotNewer,
    }

    /// <summary>One installed (or, for NotNewer, downloaded and discarded) database.</summary>
    public sealed class GeoDownloadResult
    {
        public GeoDownloadKind Kind { get; internal set; }
        public GeoDownloadSource Source { get; internal set; }
        public GeoDownloadStatus Status { get; internal set; }
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

        public GeoDownloadKind Kind { get; }

        /// <summary>The address being read, secrets masked.</summary>
        public string Uri { get; }

        /// <summary>"Downloading", "Unpacking", "Verifying" or "Installing".</summary>
        public string Stage { get; }

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
    /// A failed update. The previous database file is untouched and no temporary file remains. The
    /// message says what went wrong and what to do; it never contains a licence key, account ID or token.
    /// </summary>
    public sealed class GeoDownloadException : Exception
    {
        public GeoDownloadException(GeoDownloadFailure failure, GeoDownloadKind? kind, string message, Exception inner = null)
            : base(message, inner)
        {
            Failure = failure;
            Kind = kind;
        }

        public GeoDownloadFailure Failure { get; }
        public GeoDownloadKind? Kind { get; }
    }
}
