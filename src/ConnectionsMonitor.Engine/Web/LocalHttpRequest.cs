using System;
using System.Collections.Specialized;
using System.Globalization;
using System.IO;
using System.Net;
using System.Text;

namespace ConnectionsMonitor.Engine.Web
{
    /// <summary>
    /// One HTTP/1.x request as a <see cref="LocalHttpEndpoint"/> handler sees it: the request line and header fields of
    /// RFC 9112 (parsed by <see cref="ParseHead"/>, which touches no socket) and the body, read whole before the handler
    /// runs (<see cref="InputStream"/>, <see cref="ContentLength64"/> bytes). Member names follow
    /// <c>System.Net.HttpListenerRequest</c>, which this replaces.
    /// </summary>
    public sealed class LocalHttpRequest
    {
        private static readonly Encoding Latin1 = Encoding.GetEncoding("iso-8859-1");

        private LocalHttpRequest(string method, string target, string path, string query, Version version, NameValueCollection headers, long contentLength, bool keepAlive, bool expectContinue)
        {
            HttpMethod = method;
            RawUrl = target;
            Path = path;
            QueryString = ParseQuery(query);
            ProtocolVersion = version;
            Headers = headers;
            ContentLength64 = contentLength;
            KeepAlive = keepAlive;
            ExpectContinue = expectContinue;
            InputStream = Stream.Null;
        }

        /// <summary>The method as sent (methods are case-sensitive, RFC 9110 §9.1): GET, HEAD, POST, …</summary>
        public string HttpMethod { get; }

        /// <summary>The request target as sent (origin form <c>/path?query</c>, or an absolute URI).</summary>
        public string RawUrl { get; }

        /// <summary>The target's path with dot segments removed and percent-escapes kept (as <see cref="Uri.AbsolutePath"/> gives it), e.g. <c>/api/events</c>.</summary>
        public string Path { get; }

        /// <summary>The query's name=value pairs, '+' and percent-escapes decoded; a part without '=' sits under the null name.</summary>
        public NameValueCollection QueryString { get; }

        /// <summary>HTTP/1.0 or HTTP/1.1.</summary>
        public Version ProtocolVersion { get; }

        /// <summary>The header fields, names case-insensitive; a repeated field's values joined with commas (RFC 9110 §5.3).</summary>
        public NameValueCollection Headers { get; }

        /// <summary>The Content-Type header, or null.</summary>
        public string ContentType => Headers["Content-Type"];

        /// <summary>The Content-Length in bytes; 0 when the request has no body.</summary>
        public long ContentLength64 { get; }

        /// <summary>The body: exactly <see cref="ContentLength64"/> bytes, already received.</summary>
        public Stream InputStream { get; internal set; }

        /// <summary>True when the client keeps the connection for another request (HTTP/1.1 without <c>Connection: close</c>, or HTTP/1.0 with <c>keep-alive</c>).</summary>
        public bool KeepAlive { get; }

        /// <summary>True when the client waits for <c>100 Continue</c> before it sends the body (RFC 9110 §10.1.1).</summary>
        public bool ExpectContinue { get; }

        /// <summary>The client's address and port, or null.</summary>
        public IPEndPoint RemoteEndPoint { get; internal set; }

        /// <summary>
        /// The end of the head in <paramref name="buffer"/>[0, <paramref name="count"/>): the index just after the empty line
        /// that ends the header section (CRLF CRLF, or LF LF as RFC 9112 §2.2 lets a recipient accept), or -1 when it has not
        /// arrived yet. Empty lines before the request line (§2.2) are part of the head. <paramref name="from"/>: where to
        /// resume a search that found nothing in the first <c>from + 3</c> bytes (so a head arriving in pieces is scanned once).
        /// </summary>
        public static int HeadEnd(byte[] buffer, int count, int from = 0)
        {
            int start = 0;
            while (start < count && (buffer[start] == (byte)'\n' || (buffer[start] == (byte)'\r' && start + 1 < count && buffer[start + 1] == (byte)'\n')))
                start += buffer[start] == (byte)'\n' ? 1 : 2;
            for (int i = Math.Max(start + 1, from); i < count; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                if (buffer[i - 1] == (byte)'\n' && i - 1 >= start) return i + 1;
                if (buffer[i - 1] == (byte)'\r' && i - 2 >= start && buffer[i - 2] == (byte)'\n') return i + 1;
            }
            return -1;
        }

        /// <summary>
        /// Parses a request head (request line and header fields, <paramref name="length"/> bytes as <see cref="HeadEnd"/>
        /// found them). On a malformed head returns null with <paramref name="status"/> (400, 501 or 505) and a reason for
        /// the client: no Host or two (HTTP/1.1), a field line folded or with space before its colon, control characters,
        /// Content-Length that is not one decimal number, any Transfer-Encoding (request bodies need Content-Length here),
        /// a target that is neither a path nor an http URI, a version other than HTTP/1.0 or 1.1.
        /// </summary>
        public static LocalHttpRequest ParseHead(byte[] buffer, int length, out int status, out string reason)
        {
            status = 400;
            string text = Latin1.GetString(buffer, 0, length);
            string[] lines = text.Split('\n');
            int at = 0;
            while (at < lines.Length && (lines[at] == "\r" || lines[at] == "")) at++;
            if (at >= lines.Length) { reason = "no request line"; return null; }
            string requestLine = TrimCr(lines[at++]);
            if (requestLine == null) { reason = "a bare CR in the request line"; return null; }
            string[] parts = requestLine.Split(' ');
            if (parts.Length != 3 || parts[0].Length == 0 || !IsToken(parts[0]) || parts[1].Length == 0)
            {
                reason = "the request line is not \"METHOD target HTTP/1.1\"";
                return null;
            }
            Version version;
            if (parts[2] == "HTTP/1.0") version = new Version(1, 0);
            // HTTP/1.1, or a later 1.x answered as 1.1 (RFC 9110 §2.5: the highest minor version the server has).
            else if (parts[2].Length == 8 && parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) && parts[2][7] >= '1' && parts[2][7] <= '9') version = new Version(1, 1);
            else if (parts[2].StartsWith("HTTP/", StringComparison.Ordinal)) { status = 505; reason = "only HTTP/1.0 and HTTP/1.1 are served"; return null; }
            else { reason = "the request line does not end in an HTTP version"; return null; }

            var headers = new NameValueCollection(StringComparer.OrdinalIgnoreCase);
            int hosts = 0;
            string contentLength = null;
            for (; at < lines.Length; at++)
            {
                string line = TrimCr(lines[at]);
                if (line == null) { reason = "a bare CR in a header field"; return null; }
                if (line.Length == 0) break;
                if (line[0] == ' ' || line[0] == '\t') { reason = "a folded header field (obsolete line folding)"; return null; }
                int colon = line.IndexOf(':');
                if (colon <= 0 || !IsToken(line.Substring(0, colon))) { reason = "a header field that is not \"name: value\""; return null; }
                string name = line.Substring(0, colon);
                string value = line.Substring(colon + 1).Trim(' ', '\t');
                foreach (char c in value)
                    if ((c < 0x20 && c != '\t') || c == 0x7f) { reason = "a control character in the " + name + " field"; return null; }
                if (string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase)) hosts++;
                if (string.Equals(name, "Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    foreach (var v in value.Split(','))
                    {
                        string one = v.Trim(' ', '\t');
                        if (contentLength != null && contentLength != one) { reason = "two different Content-Length values"; return null; }
                        contentLength = one;
                    }
                }
                if (string.Equals(name, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                {
                    status = 501;
                    reason = "request bodies must come with Content-Length; Transfer-Encoding is not accepted";
                    return null;
                }
                headers.Add(name, value);
            }
            if (version.Minor == 1 && hosts != 1) { reason = hosts == 0 ? "no Host header" : "more than one Host header"; return null; }

            long length64 = 0;
            if (contentLength != null)
            {
                if (contentLength.Length == 0 || contentLength.Length > 18 || !long.TryParse(contentLength, NumberStyles.None, CultureInfo.InvariantCulture, out length64))
                { reason = "Content-Length is not a decimal number of bytes"; return null; }
            }

            string target = parts[1], path, query;
            foreach (char c in target)
                if (c <= 0x20 || c >= 0x7f || c == '#') { reason = "the request target has a character a URI does not (a control, space, '#' or non-ASCII one)"; return null; }
            if (target[0] == '/')
            {
                int q = target.IndexOf('?');
                path = q < 0 ? target : target.Substring(0, q);
                query = q < 0 ? "" : target.Substring(q + 1);
                if (!Uri.TryCreate("http://localhost" + path, UriKind.Absolute, out var u))
                { reason = "the path is not a valid URI path"; return null; }
                path = u.AbsolutePath;
            }
            else if (target == "*" && parts[0] == "OPTIONS") { path = "*"; query = ""; }
            else if (Uri.TryCreate(target, UriKind.Absolute, out var absolute) && absolute.Scheme == Uri.UriSchemeHttp)
            {
                // Absolute form (RFC 9112 §3.2.2): its authority takes the place of the Host field.
                path = absolute.AbsolutePath;
                query = absolute.Query.TrimStart('?');
                headers.Set("Host", absolute.IsDefaultPort ? absolute.Host : absolute.Authority);
            }
            else { reason = "the request target is neither a path nor an http URI"; return null; }

            string connection = headers["Connection"] ?? "";
            bool close = HasToken(connection, "close");
            bool keepAlive = version.Minor == 1 ? !close : !close && HasToken(connection, "keep-alive");
            bool expect = HasToken(headers["Expect"] ?? "", "100-continue");
            reason = null;
            status = 0;
            return new LocalHttpRequest(parts[0], target, path, query, version, headers, length64, keepAlive, expect);
        }

        private static string TrimCr(string line)
        {
            if (line.EndsWith("\r", StringComparison.Ordinal)) line = line.Substring(0, line.Length - 1);
            return line.IndexOf('\r') >= 0 ? null : line;
        }

        // A token of RFC 9110 §5.6.2: visible ASCII except the delimiters.
        private static bool IsToken(string s)
        {
            foreach (char c in s)
                if (c <= 0x20 || c >= 0x7f || "\"(),/:;<=>?@[\\]{}".IndexOf(c) >= 0) return false;
            return true;
        }

        private static bool HasToken(string list, string token)
        {
            foreach (var t in list.Split(','))
                if (string.Equals(t.Trim(' ', '\t'), token, StringComparison.OrdinalIgnoreCase)) return true;
            return false;
        }

        private static NameValueCollection ParseQuery(string query)
        {
            var result = new NameValueCollection(StringComparer.Ordinal);
            if (string.IsNullOrEmpty(query)) return result;
            foreach (var part in query.Split('&'))
            {
                if (part.Length == 0) continue;
                int eq = part.IndexOf('=');
                if (eq < 0) result.Add(null, Decode(part));
                else result.Add(Decode(part.Substring(0, eq)), Decode(part.Substring(eq + 1)));
            }
            return result;
        }

        private static string Decode(string s)
        {
            s = s.Replace('+', ' ');
            try { return Uri.UnescapeDataString(s); }
            catch (UriFormatException) { return s; }
        }
    }
}
