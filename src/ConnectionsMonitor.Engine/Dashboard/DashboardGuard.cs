using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace ConnectionsMonitor.Engine.Dashboard
{
    /// <summary>Why the dashboard refused a request (each answered 403 Forbidden, and counted).</summary>
    public enum DashboardRefusal
    {
        /// <summary>Not refused.</summary>
        None,
        /// <summary>
        /// The Host header names neither the loopback name and port the dashboard serves nor the address it was told to bind:
        /// a page of another site reaching this port through DNS rebinding.
        /// </summary>
        WrongHost,
        /// <summary>No token in the URL and no dashboard cookie, or a wrong one.</summary>
        NoToken,
        /// <summary>A request that changes state without <c>Content-Type: application/json</c>.</summary>
        NotJson,
        /// <summary>A request that changes state whose Origin is missing or another site's (cross-site request forgery).</summary>
        CrossOrigin,
        /// <summary>
        /// A request for the page's data (/api/…) without the page's key: the cookie alone opens the page, not its data (a
        /// browser sends the cookie to every port of 127.0.0.1, so another local server the browser visits receives it).
        /// </summary>
        NoPageKey,
    }

    /// <summary>
    /// The dashboard's protection on a shared machine, after Jupyter's and Syncthing's local web interfaces: a random
    /// 256-bit token per start, given once in the URL (<c>/?token=…</c>) and swapped at once for an HttpOnly,
    /// SameSite=Strict cookie; the Host header must be a name and port the dashboard serves (DNS rebinding gets 403);
    /// requests that change state need JSON and a same-origin Origin; every reply carries a strict Content-Security-Policy
    /// and no CORS header. Pure functions over header values, so they are tested without a server.
    /// Cookies are kept per host, not per port: the browser also sends the dashboard's cookie to any other server on
    /// 127.0.0.1 it visits. So the cookie holds a value of its own (not the token, which would buy a new swap), and it
    /// opens only the page and its files; the data (<c>/api/…</c>) also needs the page's key, which the swap hands to the
    /// page in the redirect's fragment (<c>/#k=…</c>, never sent to a server) and the page keeps in its origin's storage
    /// (kept per port) and sends as <c>X-Dashboard-Key</c> (the event stream, which cannot send headers: <c>?key=</c>).
    /// </summary>
    public sealed class DashboardGuard
    {
        private readonly byte[] _tokenHash, _sessionHash, _keyHash;
        private readonly string _session;
        private readonly HashSet<string> _hosts;

        /// <summary>
        /// A guard for one start: <paramref name="token"/> (see <see cref="NewToken"/>), the port, and the address bound
        /// (null: loopback, which allows Host 127.0.0.1, localhost and [::1] with that port; another address adds its own).
        /// </summary>
        public DashboardGuard(string token, int port, IPAddress boundAddress)
        {
            if (string.IsNullOrEmpty(token)) throw new ArgumentException("The token is empty.", nameof(token));
            _tokenHash = Web.LocalHttpEndpoint.Hash(token);
            _session = NewToken();
            _sessionHash = Web.LocalHttpEndpoint.Hash(_session);
            PageKey = NewToken();
            _keyHash = Web.LocalHttpEndpoint.Hash(PageKey);
            Port = port;
            CookieName = "cm_dashboard_" + port.ToString(CultureInfo.InvariantCulture);
            string p = ":" + port.ToString(CultureInfo.InvariantCulture);
            // The loopback names, and another loopback address bound (127.0.0.2), as the metrics endpoint takes them.
            _hosts = new HashSet<string>(Web.LocalHttpEndpoint.LoopbackHosts(port, boundAddress), StringComparer.OrdinalIgnoreCase);
            if (boundAddress != null && !IPAddress.IsLoopback(boundAddress))
            {
                if (boundAddress.Equals(IPAddress.Any) || boundAddress.Equals(IPAddress.IPv6Any))
                {
                    // Every address: the machine's own names and addresses.
                    _hosts.Add(Dns.GetHostName() + p);
                    try { foreach (var a in Dns.GetHostAddresses(Dns.GetHostName())) _hosts.Add(Web.LocalHttpEndpoint.UrlHost(a) + p); }
                    catch (System.Net.Sockets.SocketException) { } // no resolvable host name: its literal addresses are not known here
                }
                else _hosts.Add(Web.LocalHttpEndpoint.UrlHost(boundAddress) + p);
            }
        }

        /// <summary>The port served.</summary>
        public int Port { get; }

        /// <summary>The cookie's name: cm_dashboard_&lt;port&gt; (cookies are kept per host name, not per port, so two dashboards on one machine keep theirs apart).</summary>
        public string CookieName { get; }

        /// <summary>
        /// The page's key for its data requests (base64url, 43 characters): handed over by the swap's redirect
        /// (<see cref="SwapLocation"/>), never in a cookie.
        /// </summary>
        public string PageKey { get; }

        /// <summary>Where the swap sends the browser: <c>/#k=</c> and the page's key (a fragment: no server, log or Referer sees it).</summary>
        public string SwapLocation => "/#k=" + PageKey;

        /// <summary>The Host values accepted (name:port), for messages and tests.</summary>
        public IReadOnlyCollection<string> Hosts => _hosts;

        /// <summary>A new token: 32 random bytes from the OS's cryptographic generator, base64url without padding (43 characters).</summary>
        public static string NewToken()
        {
            var bytes = new byte[32];
            using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(bytes);
            return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }

        /// <summary>True when the Host header names this dashboard (case-insensitive name, exact port).</summary>
        public bool HostAllowed(string host) => !string.IsNullOrEmpty(host) && _hosts.Contains(host.Trim());

        /// <summary>True when <paramref name="given"/> is the token (compared as SHA-256 digests in constant time).</summary>
        public bool TokenMatches(string given) => Web.LocalHttpEndpoint.SecretMatches(given, _tokenHash);

        /// <summary>The value of a Cookie header's <see cref="CookieName"/> pair, or null.</summary>
        public string CookieValue(string cookieHeader)
        {
            if (string.IsNullOrEmpty(cookieHeader)) return null;
            foreach (var part in cookieHeader.Split(';'))
            {
                int eq = part.IndexOf('=');
                if (eq <= 0) continue;
                if (string.Equals(part.Substring(0, eq).Trim(), CookieName, StringComparison.Ordinal)) return part.Substring(eq + 1).Trim();
            }
            return null;
        }

        /// <summary>
        /// The Set-Cookie value the swap sends: the session's own value (not the token), HttpOnly (no script reads it),
        /// SameSite=Strict (no other site's request carries it), Path=/, no expiry (gone with the browser session).
        /// </summary>
        public string SetCookie() => CookieName + "=" + _session + "; Path=/; HttpOnly; SameSite=Strict";

        /// <summary>
        /// The checks for one request, in order: Host; then the token, for the swap (<paramref name="queryToken"/>, which the
        /// caller passes for GET / only), or else the cookie; then, for <paramref name="path"/>s under /api/, the page's key
        /// (<paramref name="pageKey"/>: the X-Dashboard-Key header, or the event stream's ?key=); then for methods other than
        /// GET and HEAD the JSON content type and a same-origin Origin. Secrets are compared as SHA-256 digests in constant time.
        /// </summary>
        public DashboardRefusal Check(string method, string path, string host, string cookieHeader, string queryToken, string pageKey, string contentType, string origin)
        {
            if (!HostAllowed(host)) return DashboardRefusal.WrongHost;
            if (queryToken != null) return TokenMatches(queryToken) ? DashboardRefusal.None : DashboardRefusal.NoToken;
            if (!Web.LocalHttpEndpoint.SecretMatches(CookieValue(cookieHeader), _sessionHash)) return DashboardRefusal.NoToken;
            if (path != null && path.StartsWith("/api/", StringComparison.Ordinal) && !Web.LocalHttpEndpoint.SecretMatches(pageKey, _keyHash))
                return DashboardRefusal.NoPageKey;
            if (method == "GET" || method == "HEAD") return DashboardRefusal.None;
            string type = contentType == null ? "" : contentType.Split(';')[0].Trim();
            if (!string.Equals(type, "application/json", StringComparison.OrdinalIgnoreCase)) return DashboardRefusal.NotJson;
            if (string.IsNullOrEmpty(origin) || !string.Equals(origin.Trim(), "http://" + host.Trim(), StringComparison.OrdinalIgnoreCase)) return DashboardRefusal.CrossOrigin;
            return DashboardRefusal.None;
        }

        /// <summary>
        /// The headers every reply carries: a Content-Security-Policy that allows scripts, styles, images and connections
        /// from this origin only, no inline script or style, no framing, no form posts elsewhere; no referrer (the first URL
        /// holds the token); no framing by other sites; no cross-origin reads.
        /// </summary>
        public static IReadOnlyList<KeyValuePair<string, string>> SecurityHeaders { get; } = new[]
        {
            new KeyValuePair<string, string>("Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
                "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
            new KeyValuePair<string, string>("X-Frame-Options", "DENY"),
            new KeyValuePair<string, string>("Referrer-Policy", "no-referrer"),
            new KeyValuePair<string, string>("Cross-Origin-Opener-Policy", "same-origin"),
            new KeyValuePair<string, string>("Cross-Origin-Resource-Policy", "same-origin"),
        };
    }
}
