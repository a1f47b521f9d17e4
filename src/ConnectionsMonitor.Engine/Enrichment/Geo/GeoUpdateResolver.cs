using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Configuration;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>
    /// What a user asked for explicitly (null: not given). <see cref="GeoUpdateResolver"/> fills the
    /// rest from the configuration.
    /// </summary>
    public sealed class GeoUpdateInput
    {
        /// <summary>The source; null picks <see cref="GeoDownloadSource.Url"/> when only <see cref="Uri"/> is given, else <see cref="GeoDownloadSource.DbIpLite"/>.</summary>
        public GeoDownloadSource? Source { get; set; }

        /// <summary>The databases to fetch; null or empty: the source's defaults.</summary>
        public IList<GeoDownloadKind> Databases { get; set; }

        /// <summary>The file's address (Url) or a mirror of the provider's folder.</summary>
        public Uri Uri { get; set; }

        /// <summary>Expected SHA-256 of the download (Url only).</summary>
        public string Sha256 { get; set; }

        /// <summary>MaxMind account ID; null or blank: from the configuration.</summary>
        public string AccountId { get; set; }

        /// <summary>MaxMind licence key (a secret); null or blank: from the configuration.</summary>
        public string LicenseKey { get; set; }

        /// <summary>IPinfo access token (a secret); null or blank: the configuration's ipToken.</summary>
        public string Token { get; set; }

        /// <summary>An absolute folder; null: the configured GeoIP folder (<see cref="GeoIpPaths.DataDirectory"/>).</summary>
        public string DestinationDirectory { get; set; }

        /// <summary>Install even when the download is not newer than the installed file.</summary>
        public bool Force { get; set; }

        /// <summary>The clock used to pick DB-IP's monthly file; null is now.</summary>
        public DateTime? UtcNow { get; set; }
    }

    /// <summary>A credential a source needs, named by what it is (the front end names its parameter and configuration key).</summary>
    public enum GeoCredential
    {
        /// <summary>MaxMind account ID (configuration: geoip.maxmindAccountId).</summary>
        MaxMindAccountId,
        /// <summary>MaxMind licence key (configuration: geoip.maxmindLicenseKey).</summary>
        MaxMindLicenseKey,
        /// <summary>IPinfo access token (configuration: ipToken).</summary>
        IpInfoToken,
    }

    /// <summary>The outcome of <see cref="GeoUpdateResolver.Resolve"/>: a complete request, or the credentials that are missing.</summary>
    public sealed class GeoUpdateResolution
    {
        internal GeoUpdateResolution(GeoDownloadRequest request, IReadOnlyList<GeoCredential> missing, IReadOnlyList<string> notes)
        {
            Request = request;
            MissingCredentials = missing;
            Notes = notes;
        }

        /// <summary>The request to plan and run; null when <see cref="MissingCredentials"/> is not empty.</summary>
        public GeoDownloadRequest Request { get; }

        /// <summary>What the source needs that neither the input nor the configuration has, in the order a user would fix them.</summary>
        public IReadOnlyList<GeoCredential> MissingCredentials { get; }

        /// <summary>Facts worth telling the user before the download (e.g. where IPinfo's combined file goes); no secrets.</summary>
        public IReadOnlyList<string> Notes { get; }

        /// <summary>True when <see cref="Request"/> can be planned.</summary>
        public bool IsComplete => Request != null;

        /// <summary>The source the request is (or would be) for.</summary>
        public GeoDownloadSource Source { get; internal set; }
    }

    /// <summary>
    /// The policy of a GeoIP update request: which source when none is named, credentials from the
    /// input or else the configuration, the default destination folder, and what to tell the user
    /// about the files IPinfo Lite installs.
    /// </summary>
    public static class GeoUpdateResolver
    {
        /// <summary>
        /// Completes <paramref name="input"/> from <paramref name="geoIp"/> (MaxMind account and key,
        /// destination folder) and <paramref name="ipToken"/> (the seed's IPinfo token).
        /// </summary>
        public static GeoUpdateResolution Resolve(GeoUpdateInput input, GeoIpConfig geoIp, string ipToken)
        {
            if (input == null) throw new ArgumentNullException(nameof(input));
            var source = input.Source ?? (input.Uri != null ? GeoDownloadSource.Url : GeoDownloadSource.DbIpLite);
            var request = new GeoDownloadRequest
            {
                Source = source,
                Databases = input.Databases?.ToList(),
                Uri = input.Uri,
                Sha256 = input.Sha256,
                Force = input.Force,
                UtcNow = input.UtcNow,
                DestinationDirectory = Blank(input.DestinationDirectory) ?? GeoIpPaths.DataDirectory(geoIp),
            };
            var missing = new List<GeoCredential>();
            var notes = new List<string>();
            if (source == GeoDownloadSource.MaxMind)
            {
                request.AccountId = Blank(input.AccountId) ?? Blank(geoIp?.MaxMindAccountId);
                request.LicenseKey = Blank(input.LicenseKey) ?? Blank(geoIp?.MaxMindLicenseKey);
                if (request.AccountId == null) missing.Add(GeoCredential.MaxMindAccountId);
                if (request.LicenseKey == null) missing.Add(GeoCredential.MaxMindLicenseKey);
            }
            else if (source == GeoDownloadSource.IpInfo)
            {
                request.Token = Blank(input.Token) ?? Blank(ipToken);
                if (request.Token == null) missing.Add(GeoCredential.IpInfoToken);
                if (request.Databases != null && request.Databases.Contains(GeoDownloadKind.Asn))
                    notes.Add("IPinfo Lite is one file holding both country and ASN data; it is installed as " + GeoIpPaths.CountryFile + ", not as " + GeoIpPaths.AsnFile + ".");
            }
            return new GeoUpdateResolution(missing.Count == 0 ? request : null, missing, notes) { Source = source };
        }

        private static string Blank(string value) => string.IsNullOrWhiteSpace(value) ? null : value;
    }
}
