using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Engine.Enrichment.Geo;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// Update-ConnectionGeoDatabase's words for what the engine reports: its advice codes and missing
    /// credentials as sentences naming this cmdlet's parameters and the config.yml keys, its failures
    /// as error categories, its progress as progress records. No secret ever passes through here.
    /// </summary>
    internal static class GeoUpdateWording
    {
        /// <summary>The advice sentence for a failure, naming the parameters and config keys that fix it; null for <see cref="GeoDownloadAdvice.None"/>.</summary>
        internal static string Advice(GeoDownloadAdvice advice, GeoDownloadFailure failure, GeoDownloadKind? kind)
        {
            switch (advice)
            {
                case GeoDownloadAdvice.None: return null;
                case GeoDownloadAdvice.GiveDestination: return "Give -DestinationPath, or set geoip.directory in config.yml.";
                case GeoDownloadAdvice.UseHttpAddress: return "Give -Uri as an absolute http:// or https:// address.";
                case GeoDownloadAdvice.ChecksumForUrlOnly: return "-Sha256 applies to -Source Url only.";
                case GeoDownloadAdvice.CheckChecksum:
                    return failure == GeoDownloadFailure.InvalidRequest
                        ? "Give -Sha256 as the 64 hexadecimal digits of the file's SHA-256."
                        : "Check the -Sha256 value, then try again: the download may have been corrupted or altered.";
                case GeoDownloadAdvice.ProvideMaxMindCredentials: return "Give -AccountId and -LicenseKey, or set geoip.maxmindAccountId and geoip.maxmindLicenseKey in config.yml.";
                case GeoDownloadAdvice.ProvideIpInfoToken: return "Give -Token, or set ipToken in config.yml.";
                case GeoDownloadAdvice.UseSourceWithCities: return "Use -Source DbIpLite or MaxMind for a City database.";
                case GeoDownloadAdvice.GiveUri: return "-Source Url needs -Uri, the address of the file.";
                case GeoDownloadAdvice.GiveOneDatabase: return "With -Source Url give one -Database (Country, Asn or City) saying which database the file is.";
                case GeoDownloadAdvice.ChooseWritableFolder: return "Choose a folder you can write to with -DestinationPath or geoip.directory.";
                case GeoDownloadAdvice.CheckDiskOrChooseFolder: return "Check the free space and permissions there, or choose another folder with -DestinationPath.";
                case GeoDownloadAdvice.CloseProgramsOrChooseFolder: return "Close programs that hold it open, or choose another folder with -DestinationPath.";
                case GeoDownloadAdvice.RetryCorruptedDownload: return "Try again: the download was corrupted or altered on the way.";
                case GeoDownloadAdvice.CheckFileAtUri: return "Check that -Uri points at a complete " + (kind?.ToString() ?? "GeoIP") + " database (.mmdb, .mmdb.gz or .tar.gz).";
                case GeoDownloadAdvice.TryAnotherSource: return "Try again later; if it persists, use another -Source.";
                case GeoDownloadAdvice.CheckUri: return "Check -Uri.";
                case GeoDownloadAdvice.MirrorMissingChecksums: return "Try again later; if -Uri is a mirror, check that it serves the .sha256 files too.";
                case GeoDownloadAdvice.MirrorMissingFiles: return "Check that the mirror given with -Uri holds the provider's file names (see Get-Help Update-ConnectionGeoDatabase -Parameter Uri).";
                case GeoDownloadAdvice.CheckNetworkOrUseMirror: return "Check the network connection and proxy settings, or use -Uri with a mirror you can reach.";
                case GeoDownloadAdvice.RetryCheckNetwork: return "Try again; check the network connection and proxy.";
                case GeoDownloadAdvice.Retry: return "Try again.";
                case GeoDownloadAdvice.UseHttpsMirror: return "Give -Uri as a mirror served over https.";
                case GeoDownloadAdvice.CheckMaxMindCredentials: return "Check -AccountId and -LicenseKey (geoip.maxmindAccountId and geoip.maxmindLicenseKey in config.yml); a new licence key can take a few minutes to work.";
                case GeoDownloadAdvice.CheckIpInfoToken: return "Check -Token (ipToken in config.yml) at https://ipinfo.io/account/token.";
                case GeoDownloadAdvice.CheckAccessToUri: return "Check -Uri.";
                case GeoDownloadAdvice.WaitForRateLimit: return "Try again later (MaxMind allows a limited number of downloads per day).";
                case GeoDownloadAdvice.TryLaterOrAnotherSource: return "Try again later, or use another -Source or -Uri.";
                case GeoDownloadAdvice.CheckSourceAndUri: return "Check -Source and -Uri.";
                case GeoDownloadAdvice.WaitForMonthlyRelease: return "DB-IP publishes each month's files during the month; try again later, or use -Source MaxMind or IpInfo.";
                case GeoDownloadAdvice.CheckMaxMindEdition: return "Check that your MaxMind account can download " + GeoDatabaseUpdater.MaxMindEdition(kind ?? GeoDownloadKind.Country) + ".";
                case GeoDownloadAdvice.DownloadIpInfoManually: return "IPinfo may have moved the Lite database; download it from https://ipinfo.io/account/data-downloads and install it with -Source Url.";
                default: return null;
            }
        }

        /// <summary>The engine's reason with this cmdlet's advice in place.</summary>
        internal static string Message(GeoDownloadException ex) => ex.MessageWith(Advice(ex.Advice, ex.Failure, ex.Kind));

        /// <summary>Why the request cannot start: what each missing credential is, and where to give it.</summary>
        internal static string MissingCredentials(GeoDownloadSource source, IReadOnlyList<GeoCredential> missing)
        {
            if (source == GeoDownloadSource.IpInfo)
                return "-Source IpInfo needs an IPinfo access token: give -Token (plain text or a SecureString, e.g. from Get-Secret) or set ipToken in config.yml. A free token is at https://ipinfo.io/signup.";
            var parts = missing.Select(m => m == GeoCredential.MaxMindAccountId
                ? "an account ID: give -AccountId or set geoip.maxmindAccountId in config.yml"
                : "a licence key: give -LicenseKey (plain text or a SecureString, e.g. from Get-Secret) or set geoip.maxmindLicenseKey in config.yml");
            return "-Source MaxMind needs " + string.Join("; and ", parts) + ". Both are free at https://www.maxmind.com/en/geolite2/signup (Account > Manage License Keys).";
        }

        /// <summary>
        /// The credentials given that <paramref name="source"/> does not use (-AccountId and -LicenseKey are MaxMind's, -Token
        /// IPinfo's), or null when every one given applies; each name with the source it is for. (-Sha256 on a named source
        /// is the updater's ChecksumForUrlOnly, with why.)
        /// </summary>
        internal static string NotForSource(GeoDownloadSource source, ICollection<string> bound)
        {
            var misplaced = new List<string>();
            if (source != GeoDownloadSource.MaxMind)
                foreach (var p in new[] { "AccountId", "LicenseKey" }) if (bound.Contains(p)) misplaced.Add("-" + p + " (MaxMind)");
            if (source != GeoDownloadSource.IpInfo && bound.Contains("Token")) misplaced.Add("-Token (IpInfo)");
            if (misplaced.Count == 0) return null;
            return "-Source " + source + " does not use " + string.Join(", ", misplaced) + ": leave " + (misplaced.Count == 1 ? "it" : "them") +
                   " out, or give the -Source " + (misplaced.Count == 1 ? "it is" : "they are") + " for.";
        }

        /// <summary>The error ID of a request that lacks credentials.</summary>
        internal static string MissingCredentialsErrorId(GeoDownloadSource source) =>
            source == GeoDownloadSource.IpInfo ? "IpInfoTokenMissing" : "MaxMindCredentialsMissing";

        internal static ErrorCategory Category(GeoDownloadFailure failure)
        {
            switch (failure)
            {
                case GeoDownloadFailure.InvalidRequest: return ErrorCategory.InvalidArgument;
                case GeoDownloadFailure.NotFound: return ErrorCategory.ObjectNotFound;
                case GeoDownloadFailure.AccessDenied: return ErrorCategory.AuthenticationError;
                case GeoDownloadFailure.HttpError:
                case GeoDownloadFailure.Network: return ErrorCategory.ConnectionError;
                case GeoDownloadFailure.ChecksumMismatch:
                case GeoDownloadFailure.InvalidDatabase: return ErrorCategory.InvalidData;
                default: return ErrorCategory.WriteError;
            }
        }

        /// <summary>The ShouldProcess action for a plan: the address (and fallbacks) it downloads from, secrets masked.</summary>
        internal static string Action(GeoDownloadPlan plan)
        {
            string from = plan.DisplayUris.Count > 1
                ? plan.DisplayUris[0] + " (or " + string.Join(" or ", plan.DisplayUris.Skip(1)) + " if that is not published yet)"
                : plan.DisplayUri;
            return "Download the " + plan.Kind + " database from " + from + " and install it";
        }

        internal static string Activity(GeoDownloadPlan plan) => "Updating the " + plan.Kind + " GeoIP database";

        internal static ProgressRecord Progress(int activityId, string activity, GeoDownloadProgress p)
        {
            string status = p.Stage + " " + p.Uri;
            if (p.Stage == "Downloading")
                status += " (" + Size(p.BytesReceived) + (p.TotalBytes != null ? " of " + Size(p.TotalBytes.Value) : "") + ")";
            var record = new ProgressRecord(activityId, activity, status);
            if (p.TotalBytes != null && p.TotalBytes.Value > 0)
                record.PercentComplete = (int)Math.Min(100, p.BytesReceived * 100 / p.TotalBytes.Value);
            return record;
        }

        private static string Size(long bytes) => Engine.Display.TextFormat.Size(bytes);
    }
}
