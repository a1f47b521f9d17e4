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
        /// <summary>The OS refused the address: a privileged port (below 1024 without privileges), or on Windows a port in a range the system keeps.</summary>
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
        /// <summary>
        /// The body as parts sent one after another, not joined first, used when <see cref="Body"/> is null: for a large
        /// document kept in pieces (the dashboard's whole table, one piece per row), which would otherwise be copied into one
        /// array of megabytes for each request. Content-Length is the parts' summed length; null for none.
        /// </summary>
        public IReadOnlyList<ArraySegment<byte>> BodyParts;
        /// <summary>Further response headers (name, value), or null. The endpoint always adds Cache-Control: no-store and X-Content-Type-Options: nosniff.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Headers;
        /// <summary>
        /// A streamed body instead of <see cref="Body"/> (e.g. Server-Sent Events): called on a thread of its own with the
        /// response stream (chunked) and a token cancelled when the endpoint stops; the response closes when it returns.
        /// What is written goes out at Flush (one chunk), every 64 KiB, and when the body returns.
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
        /// The address to listen on; null for loopback (127.0.0.1, and ::1 where the system has IPv6). 0.0.0.0 or :: listen
        /// on every address (one dual-stack socket where the system has IPv6).
        /// </summary>
        public IPAddress Address { get; set; }

        /// <summary>
        /// When set, every request must carry <c>Authorization: Bearer &lt;token&gt;</c> (compared in constant time; else
        /// 401). Required for any address other than loopback. Only its SHA-256 is kept.
        /// </summary>
        public string BearerToken { get; set; }

        /// <summary>The name of the endpoint's threads: the accepting ones and one per open connection (at most 15 bytes show on Linux).</summary>
        public string ThreadName { get; set; } = "cmon-http";

        /// <summary>The HTTP methods passed to the handler (upper case); any other gets 405. Default GET and HEAD.</summary>
        public IReadOnlyList<string> Methods { get; set; } = new[] { "GET", "HEAD" };

        /// <summary>Streamed replies (<see cref="HttpReply.Stream"/>) that may run at once; default 8.</summary>
        public int MaxStreams { get; set; } = 8;

        /// <summary>The largest request body taken, in bytes (Content-Length); a larger one gets 413 unread. Default 1 MiB.</summary>
        public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

        /// <summary>
        /// On a loopback endpoint, refuse (403) a request whose Host header is not 127.0.0.1, localhost or [::1] with the
        /// endpoint's port: a page of another site that reaches the port through DNS rebinding. Default true; a caller that
        /// checks Host itself (the dashboard, which counts its refusals) turns it off. Not applied on other addresses.
        /// </summary>
        public bool RefuseForeignHost { get; set; } = true;

        /// <summary>How long a request head may take once its first byte came (then 408); default 15 s.</summary>
        public TimeSpan HeadTimeout { get; set; } = TimeSpan.FromSeconds(15);

        /// <summary>How long a request body may take once its head is in (then 408); default 30 s.</summary>
        public TimeSpan BodyTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>How long a connection may idle between requests before it is closed; default 30 s.</summary>
        public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>
        /// A check of the request's head, run before its body is read and before the method and token checks: a reply
        /// refuses the request (sent as it is; with a body pending the connection then closes), null admits it. The
        /// dashboard's guard (Host, token, JSON, Origin) runs here, so every refusal is its 403. Default none.
        /// </summary>
        public Func<LocalHttpRequest, HttpReply?> Admit { get; set; }
    }

    /// <summary>
    /// A small HTTP/1.1 server (RFC 9112) on plain TCP sockets for the module's local web parts: the metrics endpoint and
    /// the dashboard. It binds loopback by default (127.0.0.1 and ::1); another address only with a bearer token (or
    /// <see cref="StartUnauthenticated"/> for a caller that checks every request itself, as the dashboard does with its
    /// cookie). Why not the BCL's HttpListener, which it replaced: on Linux and macOS its managed implementation answers a
    /// request whose Host header is not one of its prefixes itself (404, before any code of ours could say 403) and then
    /// breaks the next request on that connection (measured: hangs and empty 200s), and it takes no IPv6 literal prefix
    /// (so no ::1); on Windows it goes through http.sys, where any prefix other than <c>localhost</c> needs a URL
    /// reservation or elevation. ASP.NET Core's Kestrel needs a shared framework that PowerShell does not ship.
    /// What it does: keep-alive and pipelined requests, bodies with Content-Length (no chunked request bodies: 501),
    /// <c>Expect: 100-continue</c>, HEAD, limits on the head (16 KiB: 431), the body (413), slow heads and bodies (408 after
    /// 15 s and 30 s), idle connections (closed after 30 s) and open connections (64: then a newcomer displaces the
    /// longest-held connection that has had no request admitted, so idle sockets of someone without the token cannot keep
    /// the owner out; when every one has, 503). Every close the server
    /// starts is a lingering one (its sending side first, then what the client still sends is read for up to 2 s). The handler runs on the connection's
    /// thread, one request at a time across the endpoint (it hands out precomputed bytes, so it must be quick); a streamed
    /// reply (<see cref="HttpReply.Stream"/>, chunked) runs on a thread of its own. Counts requests answered and the time of
    /// the last. Thread-safe; Dispose closes every socket and waits for the threads.
    /// </summary>
    public sealed class LocalHttpEndpoint : IDisposable
    {
        private const int MaxHeadBytes = 16 * 1024;
        private const int MaxConnections = 64;
        private const int SendTimeoutMs = 30000;
        private readonly TimeSpan _headTimeout, _bodyTimeout;
        private readonly int _idleTimeoutMs;

        private readonly List<Socket> _listeners;
        private readonly Func<string, LocalHttpRequest, HttpReply> _handler;
        private readonly byte[] _tokenHash;
        private readonly List<Thread> _acceptors = new List<Thread>();
        private readonly HashSet<string> _methods;
        private readonly HashSet<string> _loopbackHosts;
        private readonly string _hostNames; // the Host values _loopbackHosts takes, for the 403's text
        private readonly int _maxStreams;
        private readonly long _maxBody;
        private readonly string _threadName;
        private readonly Func<LocalHttpRequest, HttpReply?> _admit;
        private readonly object _dispatch = new object();
        private readonly CancellationTokenSource _stopping = new CancellationTokenSource();
        private readonly Dictionary<Thread, Socket> _streams = new Dictionary<Thread, Socket>();
        // Every connection the endpoint holds (streams too), with when it was taken and whether a request of it has been
        // admitted; see Accept for why that matters once the endpoint is full.
        private readonly Dictionary<Socket, OpenConnection> _open = new Dictionary<Socket, OpenConnection>();
        private long _requests, _unauthorized, _displaced;
        private long _lastRequestTicks;

        private LocalHttpEndpoint(List<Socket> listeners, int port, IReadOnlyList<string> prefixes, byte[] tokenHash, Func<string, LocalHttpRequest, HttpReply> handler, LocalHttpEndpointOptions options)
        {
            _listeners = listeners;
            foreach (var l in listeners) _bothFamilies |= l.LocalEndPoint is IPEndPoint e && e.Address.Equals(IPAddress.IPv6Any);
            Port = port;
            Prefixes = prefixes;
            _tokenHash = tokenHash;
            _handler = handler;
            _methods = new HashSet<string>(options.Methods ?? new[] { "GET", "HEAD" }, StringComparer.Ordinal);
            _maxStreams = Math.Max(1, options.MaxStreams);
            _maxBody = Math.Max(0, options.MaxRequestBodyBytes);
            _threadName = options.ThreadName ?? "cmon-http";
            _admit = options.Admit;
            _headTimeout = options.HeadTimeout > TimeSpan.Zero ? options.HeadTimeout : TimeSpan.FromSeconds(15);
            _bodyTimeout = options.BodyTimeout > TimeSpan.Zero ? options.BodyTimeout : TimeSpan.FromSeconds(30);
            _idleTimeoutMs = (int)Math.Min(int.MaxValue, (options.IdleTimeout > TimeSpan.Zero ? options.IdleTimeout : TimeSpan.FromSeconds(30)).TotalMilliseconds);
            bool loopback = options.Address == null || IPAddress.IsLoopback(options.Address);
            if (loopback && options.RefuseForeignHost)
            {
                var names = LoopbackHosts(port, options.Address);
                _loopbackHosts = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
                _hostNames = string.Join(", ", names.GetRange(0, names.Count - 1)) + " or " + names[names.Count - 1];
            }
            foreach (var l in listeners)
            {
                var socket = l;
                var t = new Thread(() => Accept(socket)) { IsBackground = true, Name = _threadName };
                _acceptors.Add(t);
                t.Start();
            }
        }

        /// <summary>The port it listens on.</summary>
        public int Port { get; }

        /// <summary>The endpoint's base URLs, e.g. http://127.0.0.1:9464/ and http://[::1]:9464/; http://+:9464/ for every address.</summary>
        public IReadOnlyList<string> Prefixes { get; }

        /// <summary>The addresses listened on, as text: "127.0.0.1", "127.0.0.1, ::1"; "0.0.0.0" for every IPv4 address, "::" for every address of both families.</summary>
        public string AddressText => _bothFamilies ? "::" : AddressTextOf(Prefixes);

        private readonly bool _bothFamilies; // one dual-stack socket on :: (read at the start: the sockets go when it stops)

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
        /// Connections closed to make room for a newer one while the endpoint held its most (64): each the longest-held of
        /// those none of whose requests had been admitted yet (see <see cref="LocalHttpEndpointOptions.Admit"/> and the
        /// bearer token). An admitted connection is never closed for room; when all are, a newcomer gets 503.
        /// </summary>
        public long Displaced => Interlocked.Read(ref _displaced);

        /// <summary>
        /// Starts listening. <paramref name="handler"/> gets the request's path (without query; see
        /// <see cref="LocalHttpRequest.Path"/>) and the request, after the Host and token checks.
        /// </summary>
        /// <exception cref="HttpEndpointException">The port is in use, the address is refused or not this machine's, or a token is missing.</exception>
        public static LocalHttpEndpoint Start(LocalHttpEndpointOptions options, Func<string, LocalHttpRequest, HttpReply> handler) =>
            Start(options, handler, requireToken: true);

        /// <summary>
        /// As <see cref="Start(LocalHttpEndpointOptions, Func{string, LocalHttpRequest, HttpReply})"/>, but on any address
        /// without a bearer token: for a caller whose handler authenticates every request itself (the dashboard's token and
        /// cookie). <see cref="LocalHttpEndpointOptions.BearerToken"/> still applies when set.
        /// </summary>
        public static LocalHttpEndpoint StartUnauthenticated(LocalHttpEndpointOptions options, Func<string, LocalHttpRequest, HttpReply> handler) =>
            Start(options, handler, requireToken: false);

        private static LocalHttpEndpoint Start(LocalHttpEndpointOptions options, Func<string, LocalHttpRequest, HttpReply> handler, bool requireToken)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (handler == null) throw new ArgumentNullException(nameof(handler));
            if (options.Port < 0 || options.Port > 65535) throw new ArgumentOutOfRangeException(nameof(options), options.Port, "The port must be from 0 to 65535.");
            bool loopback = options.Address == null || IPAddress.IsLoopback(options.Address);
            if (requireToken && !loopback && string.IsNullOrEmpty(options.BearerToken))
                throw new HttpEndpointException(HttpEndpointFailure.TokenRequired, options.Port, null,
                    "Listening on " + options.Address + " makes the endpoint reachable from other machines: that needs a bearer token, which every request must then carry.");
            byte[] hash = string.IsNullOrEmpty(options.BearerToken) ? null : Hash(options.BearerToken);

            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    var bound = Bind(options.Address, options.Port, out int port, out var prefixes);
                    return new LocalHttpEndpoint(bound, port, prefixes, hash, handler, options);
                }
                catch (HttpEndpointException ex) when (ex.Failure == HttpEndpointFailure.PortInUse && options.Port == 0 && attempt < 5) { } // ::1 had the port 127.0.0.1 got: another
            }
        }

        // The listening sockets: loopback is 127.0.0.1 and ::1 on one port (::1 left out where the system has no IPv6
        // loopback); every address of both families (::) is one dual-stack socket (IPv4 alone without IPv6); 0.0.0.0 is every
        // IPv4 address only (a trial asked for 0.0.0.0 and was served over IPv6 too).
        private static List<Socket> Bind(IPAddress address, int port, out int boundPort, out IReadOnlyList<string> prefixes)
        {
            var sockets = new List<Socket>();
            var urls = new List<string>();
            try
            {
                if (address == null)
                {
                    var v4 = Listen(IPAddress.Loopback, port);
                    sockets.Add(v4);
                    port = ((IPEndPoint)v4.LocalEndPoint).Port;
                    urls.Add(Url(IPAddress.Loopback, port));
                    if (Socket.OSSupportsIPv6)
                    {
                        try
                        {
                            sockets.Add(Listen(IPAddress.IPv6Loopback, port));
                            urls.Add(Url(IPAddress.IPv6Loopback, port));
                        }
                        catch (HttpEndpointException ex) when (ex.Failure == HttpEndpointFailure.AddressUnavailable) { } // no ::1 here
                    }
                }
                else if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
                {
                    var any = Listen(address.Equals(IPAddress.IPv6Any) && Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, port);
                    sockets.Add(any);
                    port = ((IPEndPoint)any.LocalEndPoint).Port;
                    urls.Add("http://+:" + port.ToString(CultureInfo.InvariantCulture) + "/");
                }
                else
                {
                    var one = Listen(address, port);
                    sockets.Add(one);
                    port = ((IPEndPoint)one.LocalEndPoint).Port;
                    urls.Add(Url(address, port));
                }
            }
            catch
            {
                foreach (var s in sockets) s.Dispose();
                throw;
            }
            boundPort = port;
            prefixes = urls;
            return sockets;
        }

        private static string Url(IPAddress a, int port) => "http://" + UrlHost(a) + ":" + port.ToString(CultureInfo.InvariantCulture) + "/";

        /// <summary>An address as a URL's host (RFC 3986): IPv6 in brackets ("[::1]"), IPv4 as it is.</summary>
        internal static string UrlHost(IPAddress a) => a.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + a + "]" : a.ToString();

        /// <summary>
        /// The Host values ("host:port") that name a loopback endpoint: 127.0.0.1, localhost and [::1] with its port, and
        /// <paramref name="bound"/> when that is another loopback address (127.0.0.2, which a user chose: its URL names it).
        /// A non-loopback or null <paramref name="bound"/> adds nothing.
        /// </summary>
        internal static List<string> LoopbackHosts(int port, IPAddress bound)
        {
            string p = ":" + port.ToString(CultureInfo.InvariantCulture);
            var names = new List<string> { "127.0.0.1" + p, "localhost" + p, "[::1]" + p };
            if (bound != null && IPAddress.IsLoopback(bound) && !names.Contains(UrlHost(bound) + p)) names.Add(UrlHost(bound) + p);
            return names;
        }

        private static Socket Listen(IPAddress address, int port)
        {
            Socket socket = null;
            try
            {
                socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
                else if (address.AddressFamily == AddressFamily.InterNetworkV6) socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.IPv6Only, true);
                // Windows: no other socket may take the port. (Elsewhere .NET gives every TCP socket SO_REUSEADDR, measured on
                // Linux: a restart binds while the last run's connections sit in TIME_WAIT, and a second listener is still refused.
                // Its ReuseAddress option would add SO_REUSEPORT, which lets another listener share the port: not set.)
                if (System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows)) socket.ExclusiveAddressUse = true;
                socket.Bind(new IPEndPoint(address, port));
                socket.Listen(128);
                return socket;
            }
            catch (SocketException ex)
            {
                socket?.Dispose();
                throw Describe(ex, (int)ex.SocketErrorCode, port, new[] { Url(address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Any) ? IPAddress.Any : address, port) });
            }
        }

        private static HttpEndpointException Describe(Exception ex, int code, int port, IReadOnlyList<string> prefixes)
        {
            string where = string.Join(" and ", prefixes);
            string p = port.ToString(CultureInfo.InvariantCulture);
            if (code == (int)SocketError.AddressAlreadyInUse)
                return new HttpEndpointException(HttpEndpointFailure.PortInUse, port, where,
                    "Port " + p + " is in use (" + where + "): another program or endpoint listens there. Choose another port, or stop what uses it.", ex);
            if (code == (int)SocketError.AccessDenied)
                return new HttpEndpointException(HttpEndpointFailure.AccessDenied, port, where,
                    "The system refused to listen on " + where + " (access denied): ports below 1024 need privileges; on Windows the port may lie in a range " +
                    "the system keeps for itself (netsh interface ipv4 show excludedportrange protocol=tcp).", ex);
            if (code == (int)SocketError.AddressNotAvailable || code == (int)SocketError.AddressFamilyNotSupported)
                return new HttpEndpointException(HttpEndpointFailure.AddressUnavailable, port, where,
                    "Cannot listen on " + where + ": the address is not one of this machine's.", ex);
            return new HttpEndpointException(HttpEndpointFailure.Other, port, where, "Cannot listen on " + where + ": " + ex.Message, ex);
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

        private void Accept(Socket listener)
        {
            while (!_stopping.IsCancellationRequested)
            {
                Socket client;
                try { client = listener.Accept(); }
                catch (Exception ex) when (ex is ObjectDisposedException || ex is InvalidOperationException) { return; } // stopped
                catch (SocketException ex)
                {
                    if (_stopping.IsCancellationRequested) return;
                    // A connection that went before it was taken: the next one. Anything else (out of descriptors): a pause
                    // first, so the loop does not spin; the endpoint keeps listening either way.
                    if (ex.SocketErrorCode != SocketError.ConnectionAborted && ex.SocketErrorCode != SocketError.ConnectionReset && ex.SocketErrorCode != SocketError.Interrupted)
                        _stopping.Token.WaitHandle.WaitOne(100);
                    continue;
                }
                bool full;
                Socket displaced = null;
                var connection = new OpenConnection { TakenTicks = System.Diagnostics.Stopwatch.GetTimestamp() };
                lock (_open)
                {
                    full = _open.Count >= MaxConnections || _stopping.IsCancellationRequested;
                    // Full: the newcomer takes the place of the longest-held connection none of whose requests was admitted
                    // (no valid token or cookie, nothing sent yet, or a head still coming). Otherwise anyone on the machine
                    // could keep the owner's browser out by holding MaxConnections idle sockets, each renewed within the idle
                    // time. A connection that was admitted is never displaced: it is the owner's.
                    if (full && !_stopping.IsCancellationRequested) displaced = Unadmitted();
                    if (displaced != null) { _open.Remove(displaced); full = false; Interlocked.Increment(ref _displaced); }
                    if (!full) _open.Add(client, connection);
                }
                if (displaced != null) Abort(displaced); // its thread's Receive fails now, and it ends
                if (full)
                {
                    try
                    {
                        client.SendTimeout = 1000;
                        client.Send(Encoding.ASCII.GetBytes("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
                    }
                    catch (Exception ex) when (ex is SocketException || ex is ObjectDisposedException) { }
                    client.Dispose();
                    continue;
                }
                var t = new Thread(() => Serve(client, connection)) { IsBackground = true, Name = _threadName };
                t.Start();
            }
        }

        private sealed class OpenConnection
        {
            internal long TakenTicks;
            internal volatile bool Admitted;
        }

        // Under the lock of _open: the longest-held connection with no admitted request, or null.
        private Socket Unadmitted()
        {
            Socket oldest = null;
            long oldestTicks = long.MaxValue;
            foreach (var pair in _open)
                if (!pair.Value.Admitted && pair.Value.TakenTicks < oldestTicks) { oldest = pair.Key; oldestTicks = pair.Value.TakenTicks; }
            return oldest;
        }

        private void Forget(Socket socket)
        {
            lock (_open) _open.Remove(socket);
            Abort(socket);
        }

        // One connection: requests one after another (keep-alive, pipelined ones from the bytes already read) until the client
        // closes, asks to close, idles 30 s, sends a bad or slow request, or a streamed reply takes the connection over.
        private void Serve(Socket socket, OpenConnection connection)
        {
            bool handedOver = false;
            try
            {
                socket.NoDelay = true;
                socket.SendTimeout = SendTimeoutMs;
                var buffer = new byte[MaxHeadBytes];
                int filled = 0;
                while (!_stopping.IsCancellationRequested)
                {
                    int end, scanned = 0;
                    var started = System.Diagnostics.Stopwatch.StartNew();
                    while ((end = LocalHttpRequest.HeadEnd(buffer, filled, scanned)) < 0)
                    {
                        scanned = Math.Max(0, filled - 3); // the next search starts where this one could not end
                        if (filled == buffer.Length) { Refuse(socket, 431, "the request head is over " + MaxHeadBytes + " bytes"); return; }
                        // Idle between requests: IdleTimeout (30 s). Once a head has begun, all of it within HeadTimeout (15 s).
                        int wait = filled == 0 ? _idleTimeoutMs : Remaining(started, _headTimeout);
                        if (wait <= 0) { Refuse(socket, 408, "the request head took over " + Seconds(_headTimeout)); return; }
                        int n = Receive(socket, buffer, filled, buffer.Length - filled, wait);
                        if (n < 0 && filled > 0) { Refuse(socket, 408, "the request head took over " + Seconds(_headTimeout)); return; }
                        if (n <= 0) return; // the client closed, or idled out
                        if (filled == 0) started.Restart(); // the idle wait is not the head's time
                        filled += n;
                    }
                    var request = LocalHttpRequest.ParseHead(buffer, end, out int status, out string reason);
                    if (request == null) { Refuse(socket, status, reason); return; }
                    request.RemoteEndPoint = socket.RemoteEndPoint as IPEndPoint;
                    bool v11 = request.ProtocolVersion.Minor == 1;
                    var refusal = Refusal(request, out var refusalHeaders);
                    if (refusal.HasValue)
                    {
                        // Refused on its head: a body it announced is not read, so the connection closes after the reply.
                        bool close = request.ContentLength64 > 0 || !request.KeepAlive;
                        if (refusal.Value.Headers != null) refusalHeaders.AddRange(refusal.Value.Headers);
                        SendReply(socket, request, refusal.Value, refusalHeaders, close);
                        if (close) { LingeringClose(socket); return; }
                        Buffer.BlockCopy(buffer, end, buffer, 0, filled - end);
                        filled -= end;
                        continue;
                    }
                    // Admitted, unless the accept thread displaced it a moment ago: then its request is not answered.
                    lock (_open)
                    {
                        if (!_open.ContainsKey(socket)) return;
                        connection.Admitted = true;
                    }
                    if (request.ContentLength64 > _maxBody) { Refuse(socket, 413, "the body is over " + _maxBody + " bytes"); return; }
                    int length = (int)request.ContentLength64, have = Math.Min(filled - end, length);
                    if (length > 0)
                    {
                        var body = new byte[length];
                        Buffer.BlockCopy(buffer, end, body, 0, have);
                        // 100 Continue only to HTTP/1.1 (RFC 9110 §10.1.1: an HTTP/1.0 client's expectation is ignored).
                        if (have < length && request.ExpectContinue && v11) SendAll(socket, Encoding.ASCII.GetBytes("HTTP/1.1 100 Continue\r\n\r\n"));
                        var bodyStarted = System.Diagnostics.Stopwatch.StartNew();
                        for (int got = have; got < length;)
                        {
                            int wait = Remaining(bodyStarted, _bodyTimeout);
                            int n = wait <= 0 ? -1 : Receive(socket, body, got, length - got, wait);
                            if (n < 0) { Refuse(socket, 408, "the request body took over " + Seconds(_bodyTimeout)); return; }
                            if (n == 0) return;
                            got += n;
                        }
                        request.InputStream = new System.IO.MemoryStream(body, false);
                    }
                    // What follows this request (a pipelined next one) moves to the front of the buffer.
                    int used = end + have;
                    Buffer.BlockCopy(buffer, used, buffer, 0, filled - used);
                    filled -= used;

                    if (Answer(socket, request)) { handedOver = true; return; }
                    if (!request.KeepAlive) { LingeringClose(socket); return; }
                }
            }
            catch (Exception ex) when (ex is SocketException || ex is ObjectDisposedException || ex is System.IO.IOException || ex is InvalidOperationException) { } // the client went away, or the endpoint stops
            finally
            {
                if (!handedOver) Forget(socket);
            }
        }

        private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

        private static int Remaining(System.Diagnostics.Stopwatch clock, TimeSpan deadline) => (int)Math.Ceiling((deadline - clock.Elapsed).TotalMilliseconds);

        // Bytes received; 0 when the client closed; -1 when nothing came within the wait.
        private static int Receive(Socket socket, byte[] buffer, int offset, int count, int waitMs)
        {
            socket.ReceiveTimeout = Math.Max(1, waitMs);
            try { return socket.Receive(buffer, offset, count, SocketFlags.None); }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut || ex.SocketErrorCode == SocketError.WouldBlock) { return -1; }
        }

        private void Refuse(Socket socket, int status, string reason)
        {
            var body = Encoding.UTF8.GetBytes(status.ToString(CultureInfo.InvariantCulture) + " " + ReasonPhrase(status) + ": " + reason + ".\n");
            var head = Head(status, "text/plain; charset=utf-8", body.Length, null, close: true, chunked: false, version11: true);
            SendAll(socket, head);
            SendAll(socket, body);
            Count();
            LingeringClose(socket);
        }

        // A lingering close, for every close the server starts: the client may still be sending (a body refused unread, a
        // stray line after a request that asked to close). Closing with unread bytes sends a reset, and a reset can make the
        // client's system drop the reply before it is read; so end our side first (the reply's bytes still go out) and read
        // what comes until the client closes, for up to 2 s and 1 MiB.
        private static void LingeringClose(Socket socket)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Send);
                var sink = new byte[8192];
                var clock = System.Diagnostics.Stopwatch.StartNew();
                for (long total = 0; total < 1024 * 1024;)
                {
                    int wait = Remaining(clock, TimeSpan.FromSeconds(2));
                    if (wait <= 0) break;
                    int n = Receive(socket, sink, 0, sink.Length, wait);
                    if (n <= 0) break;
                    total += n;
                }
            }
            catch (Exception ex) when (ex is SocketException || ex is ObjectDisposedException) { }
        }

        private void Count()
        {
            Interlocked.Increment(ref _requests);
            Interlocked.Exchange(ref _lastRequestTicks, DateTime.UtcNow.Ticks);
        }

        private static void SendAll(Socket socket, byte[] bytes) => SendAll(socket, bytes, 0, bytes.Length);

        private static void SendAll(Socket socket, byte[] bytes, int offset, int count)
        {
            while (count > 0)
            {
                int n = socket.Send(bytes, offset, count, SocketFlags.None);
                offset += n;
                count -= n;
            }
        }

        /// <summary>Streamed replies running now.</summary>
        public int ActiveStreams
        {
            get { lock (_streams) return _streams.Count; }
        }

        private long _streamFaults;

        /// <summary>Streamed replies ended by a fault of their body (an exception other than the client going away or the endpoint stopping).</summary>
        public long StreamFaults => Interlocked.Read(ref _streamFaults);

        // The checks on a request's head, in order: a loopback endpoint's Host, the caller's Admit, the bearer token, the
        // method. A reply refuses the request; null lets the handler have it.
        private HttpReply? Refusal(LocalHttpRequest request, out List<KeyValuePair<string, string>> extra)
        {
            extra = new List<KeyValuePair<string, string>>();
            string host = request.Headers["Host"];
            // (An HTTP/1.0 request may come without Host: then there is no name to have been rebound.)
            if (_loopbackHosts != null && !(host == null && request.ProtocolVersion.Minor == 0) && !_loopbackHosts.Contains((host ?? "").Trim()))
                return Text(403, "403 Forbidden: the Host header must name this endpoint (" + _hostNames +
                    "); another name reaching a loopback port is how a page of another site gets in (DNS rebinding).\n");
            if (_admit != null)
            {
                HttpReply? admitted;
                try
                {
                    lock (_dispatch) admitted = _admit(request);
                }
                catch (Exception ex) when (!(ex is OutOfMemoryException)) { admitted = Text(500, "500 Internal Server Error\n"); }
                if (admitted.HasValue) return admitted;
            }
            if (!Authorized(request.Headers["Authorization"], _tokenHash))
            {
                Interlocked.Increment(ref _unauthorized);
                extra.Add(new KeyValuePair<string, string>("WWW-Authenticate", "Bearer realm=\"connectionsmonitor\""));
                return Text(401, "401 Unauthorized: this endpoint needs its bearer token (Authorization: Bearer ...).\n");
            }
            if (!_methods.Contains(request.HttpMethod))
            {
                var allowed = new List<string>(_methods);
                allowed.Sort(StringComparer.Ordinal);
                extra.Add(new KeyValuePair<string, string>("Allow", string.Join(", ", allowed)));
                return Text(405, "405 Method Not Allowed\n");
            }
            return null;
        }

        // Runs the handler and sends its reply; true when the connection went to a stream thread, which closes it.
        private bool Answer(Socket socket, LocalHttpRequest request)
        {
            HttpReply reply;
            var extra = new List<KeyValuePair<string, string>>();
            try
            {
                lock (_dispatch) reply = _handler(request.Path, request);
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException)) { reply = Text(500, "500 Internal Server Error\n"); }
            if (reply.Headers != null) extra.AddRange(reply.Headers);
            bool head = request.HttpMethod == "HEAD", v11 = request.ProtocolVersion.Minor == 1;
            if (reply.Stream != null && head)
            {
                // The head a GET would get (chunked on HTTP/1.1), and no body.
                SendAll(socket, Head(reply.Status, reply.ContentType, -1, extra, close: !request.KeepAlive, chunked: v11, version11: v11, keepAlive10: !v11 && request.KeepAlive));
                Count();
                return false;
            }
            if (reply.Stream != null)
            {
                var body = reply.Stream;
                Thread t = null;
                lock (_streams)
                {
                    if (_streams.Count < _maxStreams && !_stopping.IsCancellationRequested)
                    {
                        // HTTP/1.1: chunked; HTTP/1.0 has no chunks, so the body ends when the connection closes.
                        SendAll(socket, Head(reply.Status, reply.ContentType, -1, extra, close: !v11, chunked: v11, version11: v11));
                        Count();
                        t = new Thread(() => RunStream(socket, body, v11)) { IsBackground = true, Name = "cmon-http-stream" };
                        _streams.Add(t, socket);
                    }
                }
                if (t != null)
                {
                    t.Start();
                    return true;
                }
                reply = Text(503, "503 Service Unavailable: too many open streams.\n");
                extra.Clear();
            }
            SendReply(socket, request, reply, extra, close: !request.KeepAlive);
            return false;
        }

        // A whole reply (not a stream) to the request, with its length; no body for HEAD. close: the connection ends after it.
        private void SendReply(Socket socket, LocalHttpRequest request, HttpReply reply, List<KeyValuePair<string, string>> extra, bool close)
        {
            bool v11 = request.ProtocolVersion.Minor == 1;
            var parts = reply.Body != null || reply.BodyParts == null ? new[] { new ArraySegment<byte>(reply.Body ?? new byte[0]) } : reply.BodyParts;
            long length = 0;
            foreach (var part in parts) length += part.Count;
            SendAll(socket, Head(reply.Status, reply.ContentType, length, extra, close: close, chunked: false, version11: v11, keepAlive10: !v11 && !close));
            if (request.HttpMethod != "HEAD" && length > 0)
            {
                if (parts.Count == 1) SendAll(socket, parts[0].Array, parts[0].Offset, parts[0].Count);
                else SendParts(socket, parts);
            }
            Count();
        }

        // Many small parts (rows of a few hundred bytes) go out gathered 64 KiB at a time: a send per part would cost a
        // system call each.
        private static void SendParts(Socket socket, IReadOnlyList<ArraySegment<byte>> parts)
        {
            var buffer = new byte[64 * 1024];
            int filled = 0;
            foreach (var part in parts)
            {
                if (part.Count == 0) continue; // (an empty part, or a default segment with no array)
                if (part.Count >= buffer.Length)
                {
                    if (filled > 0) { SendAll(socket, buffer, 0, filled); filled = 0; }
                    SendAll(socket, part.Array, part.Offset, part.Count);
                    continue;
                }
                if (filled + part.Count > buffer.Length) { SendAll(socket, buffer, 0, filled); filled = 0; }
                Buffer.BlockCopy(part.Array, part.Offset, buffer, filled, part.Count);
                filled += part.Count;
            }
            if (filled > 0) SendAll(socket, buffer, 0, filled);
        }

        private void RunStream(Socket socket, Action<System.IO.Stream, CancellationToken> body, bool chunked)
        {
            try
            {
                using (var stream = new ReplyStream(socket, chunked))
                    body(stream, _stopping.Token); // Dispose writes the last chunk
            }
            catch (Exception ex) when (ex is SocketException || ex is System.IO.IOException || ex is ObjectDisposedException || ex is InvalidOperationException || ex is OperationCanceledException) { } // the client went away, or the endpoint stops
            // A fault of the stream's body (a bug of its owner's) ends this reply only (its headers are out: closing it is all
            // there is to say); left unhandled on this thread it would end the host process.
            catch (Exception ex) when (!(ex is OutOfMemoryException)) { Interlocked.Increment(ref _streamFaults); }
            finally
            {
                Forget(socket);
                lock (_streams) _streams.Remove(Thread.CurrentThread);
            }
        }

        // The status line and header section of a reply. Header values with CR or LF are dropped (no header injection).
        private static byte[] Head(int status, string contentType, long length, List<KeyValuePair<string, string>> extra, bool close, bool chunked, bool version11, bool keepAlive10 = false)
        {
            var sb = new StringBuilder(256);
            sb.Append(version11 ? "HTTP/1.1 " : "HTTP/1.0 ").Append(status.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(ReasonPhrase(status)).Append("\r\n");
            sb.Append("Date: ").Append(DateTime.UtcNow.ToString("r", CultureInfo.InvariantCulture)).Append("\r\n");
            if (contentType != null) sb.Append("Content-Type: ").Append(contentType).Append("\r\n");
            if (chunked) sb.Append("Transfer-Encoding: chunked\r\n");
            else if (length >= 0) sb.Append("Content-Length: ").Append(length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
            sb.Append("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
            if (extra != null)
                foreach (var h in extra)
                    if (h.Key != null && h.Value != null && h.Key.IndexOfAny(new[] { '\r', '\n', ':' }) < 0 && h.Value.IndexOfAny(new[] { '\r', '\n' }) < 0)
                        sb.Append(h.Key).Append(": ").Append(h.Value).Append("\r\n");
            if (close) sb.Append("Connection: close\r\n");
            else if (keepAlive10) sb.Append("Connection: keep-alive\r\n");
            sb.Append("\r\n");
            return Encoding.ASCII.GetBytes(sb.ToString());
        }

        private static string ReasonPhrase(int status)
        {
            switch (status)
            {
                case 200: return "OK";
                case 204: return "No Content";
                case 302: return "Found";
                case 303: return "See Other";
                case 304: return "Not Modified";
                case 400: return "Bad Request";
                case 401: return "Unauthorized";
                case 403: return "Forbidden";
                case 404: return "Not Found";
                case 405: return "Method Not Allowed";
                case 406: return "Not Acceptable";
                case 408: return "Request Timeout";
                case 409: return "Conflict";
                case 413: return "Content Too Large";
                case 415: return "Unsupported Media Type";
                case 422: return "Unprocessable Content";
                case 429: return "Too Many Requests";
                case 431: return "Request Header Fields Too Large";
                case 500: return "Internal Server Error";
                case 501: return "Not Implemented";
                case 503: return "Service Unavailable";
                case 505: return "HTTP Version Not Supported";
                default: return "Status";
            }
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

        /// <summary>
        /// Stops listening and closes every connection: streamed replies see their token cancelled and get 2 s to end
        /// cleanly (the last chunk sent) before their sockets close too. Waits for the threads (5 s each at most).
        /// </summary>
        public void Dispose()
        {
            Dictionary<Thread, Socket> streams;
            lock (_streams)
            {
                if (_stopping.IsCancellationRequested) return;
                _stopping.Cancel();
                streams = new Dictionary<Thread, Socket>(_streams);
            }
            foreach (var l in _listeners) l.Dispose();
            var streamSockets = new HashSet<Socket>(streams.Values);
            List<Socket> open;
            lock (_open) open = new List<Socket>(_open.Keys);
            foreach (var s in open)
                if (!streamSockets.Contains(s)) Abort(s);
            foreach (var t in _acceptors)
                if (t != Thread.CurrentThread) t.Join(TimeSpan.FromSeconds(5));
            // One 2 s deadline for all the streams together; then the sockets of those still sending (clients that do not
            // read) close, which fails their sends at once.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            foreach (var pair in streams)
                if (pair.Key != Thread.CurrentThread) pair.Key.Join(Math.Max(0, Remaining(clock, TimeSpan.FromSeconds(2))));
            foreach (var pair in streams)
                if (pair.Key.IsAlive) Abort(pair.Value);
            foreach (var pair in streams)
                if (pair.Key != Thread.CurrentThread) pair.Key.Join(Math.Max(0, Remaining(clock, TimeSpan.FromSeconds(5))));
        }

        private static void Abort(Socket s)
        {
            try { s.Shutdown(SocketShutdown.Both); } catch (Exception ex) when (ex is SocketException || ex is ObjectDisposedException) { }
            s.Dispose();
        }

        // The body of a streamed reply: HTTP/1.1 chunks, or the bytes as they are for HTTP/1.0. Writes gather until Flush (or
        // 64 KiB), so a frame written in parts goes out as one chunk in one send; Dispose flushes and sends the last, empty chunk.
        private sealed class ReplyStream : System.IO.Stream
        {
            private const int Gather = 64 * 1024;
            private readonly Socket _socket;
            private readonly bool _chunked;
            private readonly System.IO.MemoryStream _pending = new System.IO.MemoryStream();
            private bool _closed;

            public ReplyStream(Socket socket, bool chunked)
            {
                _socket = socket;
                _chunked = chunked;
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                if (_closed) throw new ObjectDisposedException(nameof(ReplyStream));
                if (count == 0) return;
                if (_pending.Length + count < Gather)
                {
                    _pending.Write(buffer, offset, count);
                    return;
                }
                // A large write (a whole table's frame): one chunk of what waits and this write, the write sent from where it is.
                Send(buffer, offset, count);
            }

            public override void Flush()
            {
                if (_closed || _pending.Length == 0) return;
                Send(null, 0, 0);
            }

            // Sends what waits and then buffer[offset, offset + count) as one chunk (or as they are, for HTTP/1.0).
            private void Send(byte[] buffer, int offset, int count)
            {
                int waiting = (int)_pending.Length;
                if (_chunked)
                {
                    var size = Encoding.ASCII.GetBytes((waiting + count).ToString("x", CultureInfo.InvariantCulture) + "\r\n");
                    var first = new byte[size.Length + waiting + (count == 0 ? 2 : 0)];
                    Buffer.BlockCopy(size, 0, first, 0, size.Length);
                    Buffer.BlockCopy(_pending.GetBuffer(), 0, first, size.Length, waiting);
                    if (count == 0) { first[first.Length - 2] = (byte)'\r'; first[first.Length - 1] = (byte)'\n'; }
                    SendAll(_socket, first);
                    if (count > 0)
                    {
                        SendAll(_socket, buffer, offset, count);
                        SendAll(_socket, CrLf);
                    }
                }
                else
                {
                    if (waiting > 0) SendAll(_socket, _pending.GetBuffer(), 0, waiting);
                    if (count > 0) SendAll(_socket, buffer, offset, count);
                }
                _pending.SetLength(0);
            }

            private static readonly byte[] CrLf = { (byte)'\r', (byte)'\n' };

            protected override void Dispose(bool disposing)
            {
                if (disposing && !_closed)
                {
                    try
                    {
                        Flush();
                        if (_chunked) SendAll(_socket, Encoding.ASCII.GetBytes("0\r\n\r\n"));
                    }
                    catch (Exception ex) when (ex is SocketException || ex is ObjectDisposedException) { }
                    _closed = true;
                }
                base.Dispose(disposing);
            }

            public override bool CanRead => false;
            public override bool CanSeek => false;
            public override bool CanWrite => !_closed;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
            public override long Seek(long offset, System.IO.SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
        }
    }
}
