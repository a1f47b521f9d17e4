using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>Text that leaves the updater: addresses with secrets masked, messages scrubbed of secrets.</summary>
    internal static class GeoDownloadText
    {
        /// <summary>Query parameters whose values are secrets in the providers' URLs (and common mirror conventions).</summary>
        private static readonly HashSet<string> SecretQueryKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "token", "license_key", "licensekey", "key", "access_token", "api_key", "apikey", "password", "secret",
            // S3 / R2 presigned URLs (MaxMind redirects to them): the signature is a short-lived credential.
            "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "Signature",
        };

        /// <summary>The address without user info and with secret query values replaced by ***.</summary>
        public static string Redact(Uri uri)
        {
            if (uri == null) return null;
            if (!uri.IsAbsoluteUri) return uri.OriginalString;
            var b = new StringBuilder();
            b.Append(uri.Scheme).Append("://").Append(uri.IsDefaultPort ? uri.Host : uri.Host + ":" + uri.Port).Append(uri.AbsolutePath);
            string query = uri.Query;
            if (query.Length > 1)
            {
                b.Append('?');
                b.Append(string.Join("&", query.Substring(1).Split('&').Select(pair =>
                {
                    int eq = pair.IndexOf('=');
                    if (eq < 0) return pair;
                    string name = Uri.UnescapeDataString(pair.Substring(0, eq));
                    return SecretQueryKeys.Contains(name) ? pair.Substring(0, eq) + "=***" : pair;
                })));
            }
            return b.ToString();
        }

        /// <summary>Replaces every secret (and its URL-escaped and Basic-auth forms) in <paramref name="text"/> with ***.</summary>
        public static string Scrub(string text, GeoDownloadRequest request)
        {
            if (string.IsNullOrEmpty(text) || request == null) return text;
            foreach (var secret in Secrets(request))
            {
                text = text.Replace(secret, "***");
                string escaped = Uri.EscapeDataString(secret);
                if (escaped != secret) text = text.Replace(escaped, "***");
            }
            return text;
        }

        internal static IEnumerable<string> Secrets(GeoDownloadRequest r)
        {
            var secrets = new List<string>();
            if (!string.IsNullOrEmpty(r.LicenseKey)) secrets.Add(r.LicenseKey);
            if (!string.IsNullOrEmpty(r.Token)) secrets.Add(r.Token);
            if (!string.IsNullOrEmpty(r.AccountId)) secrets.Add(r.AccountId);
            if (!string.IsNullOrEmpty(r.AccountId) && !string.IsNullOrEmpty(r.LicenseKey))
                secrets.Add(BasicCredentials(r.AccountId, r.LicenseKey));
            // Longest first, so a secret that contains another is masked whole.
            return secrets.OrderByDescending(s => s.Length);
        }

        internal static string BasicCredentials(string user, string password) =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

        public static string Size(long bytes)
        {
            if (bytes < 1024) return bytes + " B";
            if (bytes < 1024 * 1024) return (bytes / 1024.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " KB";
            return (bytes / (1024.0 * 1024.0)).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " MB";
        }
    }
}
