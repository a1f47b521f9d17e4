using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading;

namespace ConnectionsMonitor.Engine.Web
{
    /// <summary>Why an HTTP endpoint could not start.</summary>
    public enum HttpEndpointFailure
    {
        /// <summary>Another program (or another endpoint of this module) listens on the port.</summary>
        PortInUse,
        /// <summary>The OS refused the address (Windows: http.sys has no URL reservation for this user; elsewhere a privileged port).</summary>
        AccessDenied,
        /// <summary>The address is not one of this machine's.</summary>
        AddressUnavailable,
        /// <summary>An address other than loopback was asked for without a bearer token.</summary>
        TokenRequired,
        /// <summary>Anything else; the message says what.</summary>
        Other,
    }

    /// <summary>An HTTP endpoint could not start; <see cref="Failure"/>, <see cref="Port"/> and <see cref="Prefix"/> say why and where.</summary>
    public sealed class HttpEndpointException : Exception
    {
        /// <summary>The reason, the port and the listener prefix that failed; the message is worded for the user without naming a cmdlet.</summary>
        public HttpEndpointException(HttpEndpointFailure failure, int port, string prefix, string message, Exception inner = null) : base(message, inner)
        {
            Failure = failure;
            Port = port;
            Prefix = prefix;
        }

        /// <summary>Why it failed.</summary>
        public HttpEndpointFailure Failure { get; }
        /// <summary>The port asked for.</summary>
        public int Port { get; }
        /// <summary>The listener prefix that failed (e.g. http://127.0.0.1:9464/), or null.</summary>
        public string Prefix { get; }
    }

    /// <summary>What an endpoint answers to one request.</summary>
    public struct HttpReply
    {
        /// <summary>HTTP status code.</summary>
        public int Status;
        /// <summary>Content-Type of the body.</summary>
        public string ContentType;
        /// <summary>The body (UTF-8 bytes), or null for none.</summary>
        public byte[] Body;
        /// <summary>Further response headers (name, value), or null. The endpoint always adds Cache-Control: no-store and X-Content-Type-Options: nosniff.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Headers;
        /// <summary>
        /// A streamed body instead of <see cref="Body"/> (e.g. Server-Sent Events): called on a thread of its own with the
        /// response stream (chunked) and a token cancelled when the endpoint stops; the response closes when it returns.
        /// At most <see cref="LocalHttpEndpointOptions.MaxStreams"/> run at once; beyond that the request gets 503.
        /// </summary>
        public Action<System.IO.Stream, CancellationToken> Stream;
    }

    /// <summary>Where and how a <see cref="LocalHttpEndpoint"/> listens.</summary>
    public sealed class LocalHttpEndpointOptions
    {
        /// <summary>TCP port (1–65535), or 0 for a free port chosen at start.</summary>
        public int Port { get; set; }

        /// <summary>
        /// The address to listen on; null for loopback (127.0.0.1, and ::1 on Windows). 0.0.0.0 or :: listen on every address
        /// (on Linux and macOS every IPv4 address: .NET's managed listener takes no IPv6 prefixes).
        /// </summary>
        public IPAddress Address { get; set; }

        /// <summary>
        /// When set, every request must carry <c>Authorization: Bearer &lt;token&gt;</c> (compared in constant time; else
        /// 401). Required for any address other than loopback. Only its SHA-256 is kept.
        /// </summary>
        public string BearerToken { get; set; }

        /// <summary>The name of the endpoint's request thread (at most 15 bytes show on Linux).</summary>
        public string ThreadName { get; set; } = "cmon-http";

        /// <summary>The HTTP methods passed to the handler (upper case); any other gets 405. Default GET and HEAD.</summary>
        public IReadOnlyList<string> Methods { get; set; } = new[] { "GET", "HEAD" };

        /// <summary>Streamed replies (<see cref="HttpReply.Stream"/>) that may run at once; default 8.</summary>
        public int MaxStreams { get; set; } = 8;
    }

    /// <summary>
    /// A small HTTP/1.1 server on the BCL's <see cref="HttpListener"/> (on Linux and macOS its managed implementation needs
    /// no privileges; on Windows it goes through http.sys, where a prefix other than <c>localhost</c> needs a URL
    /// reservation or elevation) for the module's local web parts: the metrics endpoint and the dashboard. It binds
    /// loopback by default; another address only with a bearer token (or <see cref="StartUnauthenticated"/> for a caller
    /// that checks every request itself, as the dashboard does with its cookie). GET and HEAD unless the options name
    /// more methods; one request thread, and the handler must be quick (it hands out precomputed bytes); a long reply
    /// (<see cref="HttpReply.Stream"/>) runs on a thread of its own. Counts requests served and the time of the last.
    /// Thread-safe; Dispose stops it and waits for its thread.
    /// </summary>
    public sealed class LocalHttpEndpoint : IDisposable
    {
        private readonly HttpListener _listener;
        private readonly Func<string, HttpListenerRequest, HttpReply> _handler;
        private readonly byte[] _tokenHash;
        private readonly Thread _thread;
        private readonly HashSet<string> _methods;
        private readonly int _maxStreams;
        private readonly CancellationTokenSource _stopping = new CancellationTokenSource();
        private readonly List<Thread> _streams = new List<Thread>();
        private long _requests, _unauthorized;
        private long _lastRequestTicks;

        private LocalHttpEndpoint(HttpListener listener, int port, IReadOnlyList<string> prefixes, byte[] tokenHash, Func<string, HttpListenerRequest, HttpReply> handler, LocalHttpEndpointOptions options)
        {
            _listener = listener;
            Port = port;
            Prefixes = prefixes;
            _tokenHash = tokenHash;
            _handler = handler;
            _methods = new HashSet<string>(options.Methods ?? new[] { "GET", "HEAD" }, StringComparer.Ordinal);
            _maxStreams = Math.Max(1, options.MaxStreams);
            _thread = new Thread(Run) { IsBackground = true, Name = options.ThreadName ?? "cmon-http" };
            _thread.Start();
        }

        /// <summary>The port it listens on.</summary>
        public int Port { get; }

        /// <summary>The listener prefixes, e.g. http://127.0.0.1:9464/ and http://[::1]:9464/.</summary>
        public IReadOnlyList<string> Prefixes { get; }

        /// <summary>The addresses listened on, as text: "127.0.0.1", "127.0.0.1, ::1", "0.0.0.0" for every address (the localhost prefix is the 127.0.0.1 socket).</summary>
        public string AddressText => AddressTextOf(Prefixes);

        /// <summary>See <see cref="AddressText"/>; "" for no prefixes.</summary>
        public static string AddressTextOf(IReadOnlyList<string> prefixes)
        {
            var addresses = new List<string>();
            foreach (var p in prefixes ?? new string[0])
            {
                var u = new Uri(p.Replace("://+:", "://0.0.0.0:"));
                if (u.Host != "localhost") addresses.Add(u.Host.Trim('[', ']'));
            }
            return string.Join(", ", addresses);
        }

        /// <summary>True when requests must carry the bearer token.</summary>
        public bool RequiresBearerToken => _tokenHash != null;

        /// <summary>Requests answered (any status).</summary>
        public long Requests => Interlocked.Read(ref _requests);

        /// <summary>Requests refused with 401 (no or a wrong bearer token).</summary>
        public long Unauthorized => Interlocked.Read(ref _unauthorized);

        /// <summary>
        /// Starts listening. <paramref name="handler"/> gets the request's path (without query) and the request, on the
        /// endpoint's thread, after the token check.
        /// </summary>
        /// <exception cref="HttpEndpointException">The port is in use, the address is refused or not this machine's, or a token is missing.</exception>
        public static LocalHttpEndpoint Start(LocalHttpEndpointOptions options, Func<string, HttpListenerRequest, HttpReply> handler) =>
            Start(options, handler, requireToken: true);

        /// <summary>
        /// As <see cref="Start(LocalHttpEndpointOptions, Func{string, HttpListenerRequest, HttpReply})"/>, but on any address
        /// without a bearer token: for a caller whose handler authenticates every request itself (the dashboard's token and
        /// cookie). <see cref="LocalHttpEndpointOptions.BearerToken"/> still applies when set.
        /// </summary>
        public static LocalHttpEndpoint StartUnauthenticated(LocalHttpEndpointOptions options, Func<string, HttpListenerRequest, HttpReply> handler) =>
            Start(options, handler, requireToken: false);

        private static LocalHttpEndpoint Start(LocalHttpEndpointOptions options, Func<string, HttpListenerRequest, HttpReply> handler, bool requireToken)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (handler == null) throw new ArgumentNullException(nameof(handler));
            if (options.Port < 0 || options.Port > 65535) throw new ArgumentOutOfRangeException(nameof(options), options.Port, "The port must be from 0 to 65535.");
            bool loopback = options.Address == null || IPAddress.IsLoopback(options.Address);
            if (requireToken && !loopback && string.IsNullOrEmpty(options.BearerToken))
                throw new HttpEndpointException(HttpEndpointFailure.TokenRequired, options.Port, null,
                    "Listening on " + options.Address + " makes the endpoint reachable from other machines: that needs a bearer token, which every request must then carry.");
            byte[] hash = string.IsNullOrEmpty(options.BearerToken) ? null : Hash(options.BearerToken);

            bool choose = options.Port == 0;
            for (int attempt = 0; ; attempt++)
            {
                int port = choose ? FreePort() : options.Port;
                var prefixes = PrefixesFor(options.Address, port);
                try
                {
                    var listener = Listen(prefixes, port);
                    return new LocalHttpEndpoint(listener, port, prefixes, hash, handler, options);
                }
                catch (HttpEndpointException ex) when (ex.Failure == HttpEndpointFailure.PortInUse && choose && attempt < 5) { } // taken meanwhile: another
                catch (HttpEndpointException ex) when (ex.Failure == HttpEndpointFailure.AddressUnavailable && options.Address == null && prefixes.Count > 1)
                {
                    // No IPv6 loopback here: IPv4 alone.
                    var v4 = new[] { prefixes[0] };
                    return new LocalHttpEndpoint(Listen(v4, port), port, v4, hash, handler, options);
                }
            }
        }

        private static HttpListener Listen(IReadOnlyList<string> prefixes, int port)
        {
            var listener = new HttpListener();
            foreach (var p in prefixes) listener.Prefixes.Add(p);
            try
            {
                listener.Start();
                return listener;
            }
            catch (HttpListenerException ex)
            {
                try { listener.Close(); } catch (ObjectDisposedException) { }
                throw Describe(ex, ex.ErrorCode, port, prefixes);
            }
            catch (SocketException ex)
            {
                try { listener.Close(); } catch (ObjectDisposedException) { }
                throw Describe(ex, (int)ex.SocketErrorCode, port, prefixes);
            }
        }

        private static HttpEndpointException Describe(Exception ex, int code, int port, IReadOnlyList<string> prefixes)
        {
            string where = string.Join(" and ", prefixes);
            string p = port.ToString(CultureInfo.InvariantCulture);
            // Error codes: Windows 32/183 (http.sys: in use / conflict), 10048 and Linux 98 (EADDRINUSE); 5 / 13 access denied;
            // 10049 / 99 address not available. The managed listener puts the socket error's text in the message.
            string m = ex.Message ?? "";
            if (code == 32 || code == 183 || code == 10048 || code == 98 || code == (int)SocketError.AddressAlreadyInUse || m.IndexOf("in use", StringComparison.OrdinalIgnoreCase) >= 0)
                return new HttpEndpointException(HttpEndpointFailure.PortInUse, port, where,
                    "Port " + p + " is in use (" + where + "): another program or endpoint listens there. Choose another port, or stop what uses it.", ex);
            if (code == 5 || code == 13 || code == (int)SocketError.AccessDenied || m.IndexOf("denied", StringComparison.OrdinalIgnoreCase) >= 0)
                return new HttpEndpointException(HttpEndpointFailure.AccessDenied, port, where,
                    "The system refused to listen on " + where + " (access denied). On Windows, http.sys needs a URL reservation for this user " +
                    "(netsh http add urlacl url=" + prefixes[0] + " user=" + Environment.UserDomainName + "\\" + Environment.UserName + ", as Administrator) or an elevated session; elsewhere ports below 1024 need privileges.", ex);
            if (code == 99 || code == 10049 || code == (int)SocketError.AddressNotAvailable || code == (int)SocketError.AddressFamilyNotSupported || m.IndexOf("assign", StringComparison.OrdinalIgnoreCase) >= 0)
                return new HttpEndpointException(HttpEndpointFailure.AddressUnavailable, port, where,
                    "Cannot listen on " + where + ": the address is not one of this machine's.", ex);
            return new HttpEndpointException(HttpEndpointFailure.Other, port, where, "Cannot listen on " + where + ": " + m, ex);
        }

        internal static IReadOnlyList<string> PrefixesFor(IPAddress address, int port)
        {
            string p = port.ToString(CultureInfo.InvariantCulture);
            if (address == null)
            {
                var list = new List<string> { "http://127.0.0.1:" + p + "/" };
                // ::1 too where the listener can: http.sys (Windows) takes IPv6 literals; the managed listener of Linux and
                // macOS refuses every IPv6 literal prefix ("Invalid port in prefix", .NET 8-10), so there it is IPv4 loopback.
                if (ManagedListener == false && Socket.OSSupportsIPv6) list.Add("http://[::1]:" + p + "/");
                // The managed listener matches a request's Host header against its prefixes: without this one a scrape of
                // localhost:PORT would get 404. It binds the same 127.0.0.1 socket. (Not on Windows: an http.sys localhost
                // prefix matches that Host header on every address, other machines' requests included.)
                if (ManagedListener) list.Add("http://localhost:" + p + "/");
                return list;
            }
            if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return new[] { "http://+:" + p + "/" };
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && ManagedListener)
                throw new HttpEndpointException(HttpEndpointFailure.AddressUnavailable, port, null,
                    "Cannot listen on " + address + ": the HTTP listener of .NET on this system takes IPv4 addresses only (or :: / 0.0.0.0 for every IPv4 address).");
            return new[] { "http://" + (address.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + address + "]" : address.ToString()) + ":" + p + "/" };
        }

        /// <summary>True where <see cref="HttpListener"/> is .NET's managed implementation (not Windows' http.sys).</summary>
        internal static bool ManagedListener => !System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows);

        private static int FreePort()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return port;
        }

        /// <summary>The SHA-256 of a secret (UTF-8): all an endpoint keeps of its token.</summary>
        internal static byte[] Hash(string text)
        {
            using (var sha = SHA256.Create()) return sha.ComputeHash(Encoding.UTF8.GetBytes(text));
        }

        /// <summary>True when <paramref name="given"/> is the secret whose hash is <paramref name="secretHash"/>: both sides hashed, then compared in constant time; an empty one never matches.</summary>
        internal static bool SecretMatches(string given, byte[] secretHash)
        {
            given = given ?? "";
            var hash = Hash(given);
            int diff = given.Length == 0 ? 1 : 0;
            for (int i = 0; i < hash.Length; i++) diff |= hash[i] ^ secretHash[i];
            return diff == 0;
        }

        /// <summary>True when the Authorization header carries the token (<see cref="SecretMatches"/>).</summary>
        internal static bool Authorized(string authorization, byte[] tokenHash)
        {
            if (tokenHash == null) return true;
            const string scheme = "Bearer ";
            string given = authorization != null && authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
                ? authorization.Substring(scheme.Length).Trim() : "";
            return SecretMatches(given, tokenHash);
        }

        private void Run()
        {
            while (true)
            {
                HttpListenerContext context;
                try { context = _listener.GetContext(); }
                catch (Exception ex) when (ex is HttpListenerException || ex is ObjectDisposedException || ex is InvalidOperationException) { return; } // stopped
                bool handedOver = false;
                try { handedOver = Answer(context); }
                catch (Exception ex) when (ex is HttpListenerException || ex is System.IO.IOException || ex is ObjectDisposedException || ex is InvalidOperationException) { } // the client went away
                finally
                {
                    Interlocked.Increment(ref _requests);
                    Interlocked.Exchange(ref _lastRequestTicks, DateTime.UtcNow.Ticks);
                    if (!handedOver) Close(context.Response);
                }
            }
        }

        private static void Close(HttpListenerResponse response)
        {
            try { response.Close(); } catch (Exception ex) when (ex is HttpListenerException || ex is ObjectDisposedException || ex is InvalidOperationException || ex is System.IO.IOException) { }
        }

        /// <summary>Streamed replies running now.</summary>
        public int ActiveStreams
        {
            get { lock (_streams) return _streams.Count; }
        }

        // Runs a streamed reply on a thread of its own; false when MaxStreams run already (the caller answers 503).
        private bool StartStream(HttpListenerResponse response, Action<System.IO.Stream, CancellationToken> body)
        {
            lock (_streams)
            {
                if (_streams.Count >= _maxStreams || _stopping.IsCancellationRequested) return false;
                Thread t = null;
                t = new Thread(() =>
                {
                    try { body(response.OutputStream, _stopping.Token); }
                    catch (Exception ex) when (ex is HttpListenerException || ex is System.IO.IOException || ex is ObjectDisposedException || ex is InvalidOperationException || ex is OperationCanceledException) { } // the client went away, or the endpoint stops
                    finally
                    {
                        Close(response);
                        lock (_streams) _streams.Remove(t);
                    }
                }) { IsBackground = true, Name = "cmon-http-stream" };
                _streams.Add(t);
                t.Start();
                return true;
            }
        }

        // True when the response went to a stream thread, which closes it.
        private bool Answer(HttpListenerContext context)
        {
            var request = context.Request;
            var response = context.Response;
            HttpReply reply;
            if (!Authorized(request.Headers["Authorization"], _tokenHash))
            {
                Interlocked.Increment(ref _unauthorized);
                response.AddHeader("WWW-Authenticate", "Bearer realm=\"connectionsmonitor\"");
                reply = Text(401, "401 Unauthorized: this endpoint needs its bearer token (Authorization: Bearer ...).\n");
            }
            else if (!_methods.Contains(request.HttpMethod))
            {
                var allowed = new List<string>(_methods);
                allowed.Sort(StringComparer.Ordinal);
                response.AddHeader("Allow", string.Join(", ", allowed));
                reply = Text(405, "405 Method Not Allowed\n");
            }
            else
            {
                try { reply = _handler(request.Url.AbsolutePath, request); }
                catch (Exception ex) when (!(ex is OutOfMemoryException)) { reply = Text(500, "500 Internal Server Error\n"); }
            }
            if (reply.Stream != null && request.HttpMethod == "HEAD") reply.Stream = null;
            if (reply.Stream != null)
            {
                Headers(response, reply);
                response.SendChunked = true;
                if (StartStream(response, reply.Stream)) return true;
                reply = Text(503, "503 Service Unavailable: too many open streams.\n");
                response.SendChunked = false;
            }
            Headers(response, reply);
            var body = reply.Body ?? new byte[0];
            response.ContentLength64 = body.Length;
            if (request.HttpMethod != "HEAD" && body.Length > 0) response.OutputStream.Write(body, 0, body.Length);
            return false;
        }

        private static void Headers(HttpListenerResponse response, HttpReply reply)
        {
            response.StatusCode = reply.Status;
            response.ContentType = reply.ContentType;
            response.Headers["Cache-Control"] = "no-store";
            response.Headers["X-Content-Type-Options"] = "nosniff";
            if (reply.Headers != null)
                foreach (var h in reply.Headers) response.AppendHeader(h.Key, h.Value);
        }

        /// <summary>A plain-text reply.</summary>
        public static HttpReply Text(int status, string text) =>
            new HttpReply { Status = status, ContentType = "text/plain; charset=utf-8", Body = Encoding.UTF8.GetBytes(text) };

        /// <summary>Time of the last request answered (UTC), or null.</summary>
        public DateTime? LastRequestUtc
        {
            get
            {
                long t = Interlocked.Read(ref _lastRequestTicks);
                return t == 0 ? (DateTime?)null : new DateTime(t, DateTimeKind.Utc);
            }
        }

        /// <summary>Stops listening, ends the streamed replies and waits for the threads (5 s each at most).</summary>
        public void Dispose()
        {
            List<Thread> streams;
            lock (_streams)
            {
                _stopping.Cancel();
                streams = new List<Thread>(_streams);
            }
            try { _listener.Stop(); } catch (ObjectDisposedException) { }
            try { _listener.Close(); } catch (ObjectDisposedException) { }
            if (Thread.CurrentThread != _thread) _thread.Join(TimeSpan.FromSeconds(5));
            foreach (var t in streams)
                if (t != Thread.CurrentThread) t.Join(TimeSpan.FromSeconds(5));
        }
    }
}
