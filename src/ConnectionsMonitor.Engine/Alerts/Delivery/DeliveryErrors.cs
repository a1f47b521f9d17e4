using System;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Net.Sockets;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>
    /// The words for what went wrong, made only from status codes and error kinds: an exception's message
    /// (HttpRequestException's may quote the URL) is never used. <see cref="Scrub"/> then removes any trace of
    /// the webhook URL from a text all the same, before it is stored anywhere.
    /// </summary>
    internal static class DeliveryErrors
    {
        public static string Status(int code, bool permanent) =>
            "HTTP " + code.ToString(CultureInfo.InvariantCulture) + (permanent ? " (permanent, not retried)" : "");

        public static string TimeOut(TimeSpan attemptTimeout) =>
            "time-out (no answer within " + Seconds(attemptTimeout) + " s)";

        public const string BreakerOpen = "circuit breaker open after repeated failures: not sent";

        public const string Cancelled = "cancelled (delivery stopped or flushed)";

        public static string RetryAfterTooLong(int code, TimeSpan wait, TimeSpan cap) =>
            "HTTP " + code.ToString(CultureInfo.InvariantCulture) + " (asked to wait " + Seconds(wait) + " s, more than the " + Seconds(cap) + " s cap)";

        /// <summary>"network error (ConnectionRefused)": the socket error or the exception's type, never its message.</summary>
        public static string Network(Exception e)
        {
            for (var x = e; x != null; x = x.InnerException)
                if (x is SocketException se) return "network error (" + se.SocketErrorCode + ")";
            for (var x = e; x != null; x = x.InnerException)
                if (x is IOException) return "network error (connection closed)";
            return "network error (" + e.GetType().Name + ")";
        }

        /// <summary>" after 3 attempts"; "" when no request was made (breaker open).</summary>
        public static string After(int attempts) =>
            attempts <= 0 ? "" : attempts == 1 ? " after 1 attempt" : " after " + attempts.ToString(CultureInfo.InvariantCulture) + " attempts";

        /// <summary>
        /// <paramref name="text"/> with the URL, its path and query, and every longer path segment or query value
        /// (the tokens) replaced by "…".
        /// </summary>
        public static string Scrub(string text, Uri url)
        {
            if (string.IsNullOrEmpty(text) || url == null) return text;
            string Replace(string s, string secret) =>
                string.IsNullOrEmpty(secret) || secret.Length < 2 ? s : s.Replace(secret, "…");
            text = Replace(text, url.OriginalString);
            text = Replace(text, url.AbsoluteUri);
            text = Replace(text, url.PathAndQuery);
            text = Replace(text, Uri.UnescapeDataString(url.PathAndQuery));
            text = Replace(text, url.Query);
            text = Replace(text, url.Query.TrimStart('?'));
            text = Replace(text, url.AbsolutePath.Length > 1 ? url.AbsolutePath : null);
            foreach (var segment in url.AbsolutePath.Split('/'))
                if (segment.Length >= 8) text = Replace(text, segment);
            foreach (var pair in url.Query.TrimStart('?').Split('&'))
            {
                int eq = pair.IndexOf('=');
                string value = eq >= 0 ? pair.Substring(eq + 1) : pair;
                if (value.Length >= 8)
                {
                    text = Replace(text, value);
                    text = Replace(text, Uri.UnescapeDataString(value));
                }
            }
            return text;
        }

        private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
    }
}
