using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Web;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Web
{
    /// <summary>The module's HTTP/1.1 server over real loopback sockets: raw requests in, exact bytes out.</summary>
    public class LocalHttpEndpointTests
    {
        // Echoes what the handler saw: method, path, the query's "q", Host and the body.
        private static HttpReply Echo(string path, LocalHttpRequest r)
        {
            string body;
            using (var reader = new StreamReader(r.InputStream, Encoding.UTF8)) body = reader.ReadToEnd();
            return LocalHttpEndpoint.Text(200, r.HttpMethod + " " + path + " q=" + r.QueryString["q"] + " host=" + r.Headers["Host"] + " body=" + body);
        }

        private static LocalHttpEndpoint Start(Func<string, LocalHttpRequest, HttpReply> handler = null, Action<LocalHttpEndpointOptions> tune = null)
        {
            var o = new LocalHttpEndpointOptions { Methods = new[] { "GET", "HEAD", "POST" }, ThreadName = "cmon-http-test" };
            tune?.Invoke(o);
            return LocalHttpEndpoint.Start(o, handler ?? Echo);
        }

        // Sends raw bytes on one connection and reads until the server closes it (or 10 s pass).
        private static string Exchange(int port, string request, IPAddress address = null)
        {
            using var client = new TcpClient(address?.AddressFamily ?? AddressFamily.InterNetwork);
            client.Connect(address ?? IPAddress.Loopback, port);
            client.ReceiveTimeout = 10000;
            var stream = client.GetStream();
            var bytes = Encoding.ASCII.GetBytes(request);
            stream.Write(bytes, 0, bytes.Length);
            var all = new MemoryStream();
            var buffer = new byte[8192];
            int n;
            try { while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) all.Write(buffer, 0, n); }
            catch (IOException) { }
            return Encoding.UTF8.GetString(all.ToArray());
        }

        private static string WithoutDate(string response) => string.Join("\r\n", response.Split("\r\n").Where(l => !l.StartsWith("Date: ", StringComparison.Ordinal)));

        [Fact]
        public void APipelinedKeptAliveRequestAndAClosingOneGetExactRepliesInOrder()
        {
            using var endpoint = Start();
            int p = endpoint.Port;
            string got = Exchange(p,
                "GET /a?q=x%20y+z HTTP/1.1\r\nHost: 127.0.0.1:" + p + "\r\n\r\n" +
                "POST /b/../c HTTP/1.1\r\nHost: localhost:" + p + "\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
            string one = "GET /a q=x y z host=127.0.0.1:" + p + " body=";
            string two = "POST /c q= host=localhost:" + p + " body=hello";
            Assert.Equal(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + one.Length + "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n" + one +
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + two.Length + "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n" + two,
                WithoutDate(got));
            Assert.Equal(2, endpoint.Requests);
            Assert.Contains("\r\nDate: ", got);
        }

        [Fact]
        public void ABodyInPartsGoesOutWholeWithTheSummedLengthAndHeadGetsTheLengthOnly()
        {
            // Many small parts, an empty one, one over the 64 KiB gathering buffer, and a part that is a slice of a larger array.
            var rng = new Random(7);
            var parts = new List<ArraySegment<byte>>();
            for (int i = 0; i < 3000; i++) parts.Add(new ArraySegment<byte>(Encoding.ASCII.GetBytes("[" + i + ",\"" + new string((char)('a' + i % 26), rng.Next(1, 300)) + "\"]")));
            parts.Insert(1500, new ArraySegment<byte>(new byte[0]));
            parts.Insert(1600, default);
            parts.Insert(2000, new ArraySegment<byte>(Enumerable.Repeat((byte)'x', 100_000).ToArray()));
            parts.Add(new ArraySegment<byte>(Encoding.ASCII.GetBytes("--TAIL--end"), 2, 4));
            string expected = string.Concat(parts.Where(x => x.Count > 0).Select(x => Encoding.ASCII.GetString(x.Array, x.Offset, x.Count)));
            Assert.True(expected.Length > 400_000, "the body is " + expected.Length + " bytes");
            using var endpoint = Start((path, r) => new HttpReply { Status = 200, ContentType = "application/json", BodyParts = parts });
            int p = endpoint.Port;
            string got = Exchange(p, "GET /t HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n");
            Assert.Equal("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + expected.Length +
                         "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n" + expected, WithoutDate(got));
            Assert.EndsWith("TAIL", got);
            string head = WithoutDate(Exchange(p, "HEAD /t HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n"));
            Assert.EndsWith("Content-Length: " + expected.Length + "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n", head);
        }

        [Fact]
        public void Http10ClosesUnlessAskedToKeepAliveAndHeadSendsNoBody()
        {
            using var endpoint = Start();
            int p = endpoint.Port;
            string body = "GET / q= host= body=";
            Assert.Equal("HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.Length +
                         "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n" + body,
                WithoutDate(Exchange(p, "GET / HTTP/1.0\r\n\r\n")));
            string head = WithoutDate(Exchange(p, "HEAD /x HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n"));
            Assert.EndsWith("Content-Length: " + ("HEAD /x q= host=localhost:" + p + " body=").Length + "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n", head);
        }

        [Fact]
        public async Task ExpectContinueGetsA100BeforeTheBodyIsSent()
        {
            using var endpoint = Start();
            int p = endpoint.Port;
            using var client = new TcpClient(AddressFamily.InterNetwork);
            client.Connect(IPAddress.Loopback, p);
            var stream = client.GetStream();
            var head = Encoding.ASCII.GetBytes("POST /up HTTP/1.1\r\nHost: localhost:" + p + "\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(head);
            var buffer = new byte[256];
            int n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", Encoding.ASCII.GetString(buffer, 0, n));
            await stream.WriteAsync(Encoding.ASCII.GetBytes("abc"));
            string rest = new StreamReader(stream).ReadToEnd();
            Assert.EndsWith("POST /up q= host=localhost:" + p + " body=abc", rest);
        }

        [Theory]
        [InlineData("GET / HTTP/1.1\r\n\r\n", "400 Bad Request: no Host header.\n")]
        [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400 Bad Request: more than one Host header.\n")]
        [InlineData("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "400 Bad Request: a folded header field (obsolete line folding).\n")]
        [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n", "400 Bad Request: a header field that is not \"name: value\".\n")]
        [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "400 Bad Request: two different Content-Length values.\n")]
        [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "400 Bad Request: Content-Length is not a decimal number of bytes.\n")]
        [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "501 Not Implemented: request bodies must come with Content-Length; Transfer-Encoding is not accepted.\n")]
        [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "505 HTTP Version Not Supported: only HTTP/1.0 and HTTP/1.1 are served.\n")]
        [InlineData("GET nowhere HTTP/1.1\r\nHost: a\r\n\r\n", "400 Bad Request: the request target is neither a path nor an http URI.\n")]
        [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: \u0007\r\n\r\n", "400 Bad Request: a control character in the X field.\n")]
        [InlineData("GET /\u0001 HTTP/1.1\r\nHost: a\r\n\r\n", "400 Bad Request: the request target has a character a URI does not (a control, space, '#' or non-ASCII one).\n")]
        [InlineData("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", "400 Bad Request: the request target has a character a URI does not (a control, space, '#' or non-ASCII one).\n")]
        public void AMalformedRequestGetsItsStatusAndReasonAndTheConnectionCloses(string request, string expected)
        {
            using var endpoint = Start(tune: o => o.RefuseForeignHost = false);
            string got = Exchange(endpoint.Port, request);
            int status = int.Parse(expected.Substring(0, 3));
            Assert.StartsWith("HTTP/1.1 " + expected.Substring(0, expected.IndexOf(':')) + "\r\n", got);
            Assert.Contains("\r\nConnection: close\r\n", got);
            Assert.EndsWith("\r\n\r\n" + expected, got);
            Assert.True(status >= 400);
        }

        [Fact]
        public void ALaterMinorVersionIsAnsweredAs11AndLeadingEmptyLinesInEitherEndingAreSkipped()
        {
            using var endpoint = Start();
            int p = endpoint.Port;
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", Exchange(p, "GET / HTTP/1.2\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n"));
            Assert.EndsWith("GET /lf q= host=localhost:" + p + " body=", Exchange(p, "\n\nGET /lf HTTP/1.1\nHost: localhost:" + p + "\nConnection: close\n\n"));
        }

        [Fact]
        public void SlowHeadsAndBodiesGet408AtTheirDeadlineAndAnIdleConnectionCloses()
        {
            using var endpoint = Start(tune: o =>
            {
                o.HeadTimeout = TimeSpan.FromSeconds(1);
                o.BodyTimeout = TimeSpan.FromSeconds(1);
                o.IdleTimeout = TimeSpan.FromSeconds(1);
            });
            int p = endpoint.Port;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // Part of a head, then silence: 408 when the head's time is up, not when a read would time out.
            string head = Exchange(p, "GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\n");
            Assert.StartsWith("HTTP/1.1 408 Request Timeout\r\n", head);
            Assert.EndsWith("408 Request Timeout: the request head took over 1 s.\n", head);
            Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 5);
            clock.Restart();
            string body = Exchange(p, "POST / HTTP/1.1\r\nHost: localhost:" + p + "\r\nContent-Length: 10\r\n\r\nabc");
            Assert.EndsWith("408 Request Timeout: the request body took over 1 s.\n", body);
            Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 5);
            clock.Restart();
            string one = "GET / q= host=localhost:" + p + " body=";
            Assert.EndsWith(one, Exchange(p, "GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n")); // kept alive, then closed idle
            Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 5);
        }

        [Fact]
        public void AdmitRefusesOnTheHeadBeforeTheMethodCheckAndBefore100ContinueAndHttp10GetsNo100()
        {
            int admitted = 0;
            using var endpoint = Start(tune: o =>
            {
                o.RefuseForeignHost = false;
                o.Admit = r =>
                {
                    if (r.Headers["Cookie"] == "ok") { admitted++; return null; }
                    return LocalHttpEndpoint.Text(403, "403 Forbidden: no cookie\n");
                };
            });
            int p = endpoint.Port;
            // A method the endpoint does not take, from a page that may not have it: the 403, not 405.
            Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", Exchange(p, "PUT / HTTP/1.1\r\nHost: evil.example:" + p + "\r\nConnection: close\r\n\r\n"));
            // A refused head with a body: no 100 Continue, the 403, and the connection closes (the body is not read).
            string refused = Exchange(p, "POST / HTTP/1.1\r\nHost: localhost:" + p + "\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            Assert.DoesNotContain("100 Continue", refused);
            Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", refused);
            Assert.Contains("\r\nConnection: close\r\n", refused);
            Assert.Equal(0, admitted);
            // HTTP/1.0 with Expect: no 100 (RFC 9110 §10.1.1); the client sends its body anyway.
            using var client = new TcpClient(AddressFamily.InterNetwork);
            client.Connect(IPAddress.Loopback, p);
            var stream = client.GetStream();
            stream.Write(Encoding.ASCII.GetBytes("POST /x HTTP/1.0\r\nCookie: ok\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
            Thread.Sleep(300);
            stream.Write(Encoding.ASCII.GetBytes("abc"));
            string reply = new StreamReader(stream).ReadToEnd();
            Assert.StartsWith("HTTP/1.0 200 OK\r\n", reply);
            Assert.EndsWith("POST /x q= host= body=abc", reply);
            Assert.Equal(1, admitted);
        }

        [Fact]
        public void AReplyThatClosesTheConnectionArrivesWholeThoughTheClientSentMoreAfterIt()
        {
            var big = new byte[4 * 1024 * 1024];
            new Random(7).NextBytes(big);
            using var endpoint = Start((path, r) => new HttpReply { Status = 200, ContentType = "application/octet-stream", Body = big });
            int p = endpoint.Port;
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.ReceiveBufferSize = 65536; // the reply cannot all be in flight before the stray line arrives
            client.Connect(IPAddress.Loopback, p);
            client.Send(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n"));
            Thread.Sleep(300);
            client.Send(Encoding.ASCII.GetBytes("\r\n")); // a stray line the server never reads
            Thread.Sleep(500);
            var all = new MemoryStream();
            var buffer = new byte[65536];
            client.ReceiveTimeout = 10000;
            int n;
            while ((n = client.Receive(buffer)) > 0) all.Write(buffer, 0, n); // a reset would throw here
            byte[] got = all.ToArray();
            int headEnd = LocalHttpRequest.HeadEnd(got, got.Length);
            Assert.Equal(big.Length, got.Length - headEnd);
            Assert.True(big.AsSpan().SequenceEqual(got.AsSpan(headEnd)));
        }

        [Fact]
        public void AnOversizedHeadGets431AndAnOversizedBody413Unread()
        {
            using var endpoint = Start(tune: o => o.MaxRequestBodyBytes = 10);
            int p = endpoint.Port;
            string big = Exchange(p, "GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\nX: " + new string('a', 17000) + "\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n", big);
            Assert.EndsWith("431 Request Header Fields Too Large: the request head is over 16384 bytes.\n", big);
            string body = Exchange(p, "POST / HTTP/1.1\r\nHost: localhost:" + p + "\r\nContent-Length: 11\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 413 Content Too Large\r\n", body);
            Assert.EndsWith("413 Content Too Large: the body is over 10 bytes.\n", body);
        }

        [LinuxFact]
        public void BoundToAnotherLoopbackAddressItsOwnUrlIsAnswered()
        {
            // 127.0.0.2 is loopback (Linux routes all of 127/8 to lo): the Host check stays on, and takes the address the
            // user chose, which the endpoint's URL names (a newcomer's trial got 403 for every scrape of that URL).
            var address = IPAddress.Parse("127.0.0.2");
            using var endpoint = Start(tune: o => { o.Address = address; o.BearerToken = "s3cret"; });
            int p = endpoint.Port;
            string own = Exchange(p, "GET / HTTP/1.1\r\nHost: 127.0.0.2:" + p + "\r\nAuthorization: Bearer s3cret\r\nConnection: close\r\n\r\n", address);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", own);
            string foreign = Exchange(p, "GET / HTTP/1.1\r\nHost: rebound.example:" + p + "\r\nAuthorization: Bearer s3cret\r\nConnection: close\r\n\r\n", address);
            Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", foreign);
            Assert.Contains("the Host header must name this endpoint (127.0.0.1:" + p + ", localhost:" + p + ", [::1]:" + p + " or 127.0.0.2:" + p + ")", foreign);
        }

        /// <summary>
        /// 0.0.0.0 is every IPv4 address and no IPv6 one; :: is every address of both (a newcomer's trial asked for 0.0.0.0 and was
        /// served on IPv6 too, and :: was reported as 0.0.0.0).
        /// </summary>
        [LinuxFact]
        public void EveryIpv4AddressIsNotEveryIpv6OneAndBothFamiliesAreSaidSo()
        {
            bool Connects(IPAddress to, int port)
            {
                using var s = new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try { s.Connect(new IPEndPoint(to, port)); return true; }
                catch (SocketException) { return false; }
            }
            using (var v4 = Start(tune: o => { o.Address = IPAddress.Any; o.BearerToken = "s3cret"; }))
            {
                Assert.Equal("0.0.0.0", v4.AddressText);
                Assert.True(Connects(IPAddress.Loopback, v4.Port));
                Assert.False(Connects(IPAddress.IPv6Loopback, v4.Port));
            }
            using (var both = Start(tune: o => { o.Address = IPAddress.IPv6Any; o.BearerToken = "s3cret"; }))
            {
                Assert.Equal("::", both.AddressText);
                Assert.True(Connects(IPAddress.Loopback, both.Port));
                Assert.True(Connects(IPAddress.IPv6Loopback, both.Port));
            }
        }

        [Fact]
        public void OnLoopbackAForeignHostGets403AndMethodsTokensAndHeadersAreChecked()
        {
            using var endpoint = Start(tune: o => o.BearerToken = "s3cret");
            int p = endpoint.Port;
            string foreign = Exchange(p, "GET / HTTP/1.1\r\nHost: rebound.example:" + p + "\r\nAuthorization: Bearer s3cret\r\nConnection: close\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", foreign);
            Assert.Contains("the Host header must name this endpoint (127.0.0.1:" + p + ", localhost:" + p + " or [::1]:" + p + ")", foreign);
            string noToken = Exchange(p, "GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 401 Unauthorized\r\n", noToken);
            Assert.Contains("\r\nWWW-Authenticate: Bearer realm=\"connectionsmonitor\"\r\n", noToken);
            Assert.Equal(1, endpoint.Unauthorized);
            string put = Exchange(p, "PUT / HTTP/1.1\r\nHost: [::1]:" + p + "\r\nAuthorization: bearer s3cret\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 405 Method Not Allowed\r\n", put);
            Assert.Contains("\r\nAllow: GET, HEAD, POST\r\n", put);
            // A handler's header with CR or LF is dropped, not sent (no response splitting).
            using var injecting = Start((path, r) => new HttpReply
            {
                Status = 200, ContentType = "text/plain", Body = Encoding.ASCII.GetBytes("ok"),
                Headers = new[] { new KeyValuePair<string, string>("X-Ok", "fine"), new KeyValuePair<string, string>("X-Bad", "a\r\nSet-Cookie: x=1") },
            });
            string split = Exchange(injecting.Port, "GET / HTTP/1.1\r\nHost: localhost:" + injecting.Port + "\r\nConnection: close\r\n\r\n");
            Assert.Contains("\r\nX-Ok: fine\r\n", split);
            Assert.DoesNotContain("Set-Cookie", split);
            Assert.DoesNotContain("X-Bad", split);
        }

        [Fact]
        public async Task IPv6LoopbackServesWhereTheMachineHasIt()
        {
            using var endpoint = Start();
            if (!LoopbackSockets.Ipv6LoopbackBindable())
            {
                Assert.Equal(new[] { "http://127.0.0.1:" + endpoint.Port + "/" }, endpoint.Prefixes);
                return;
            }
            Assert.Equal(new[] { "http://127.0.0.1:" + endpoint.Port + "/", "http://[::1]:" + endpoint.Port + "/" }, endpoint.Prefixes);
            Assert.Equal("127.0.0.1, ::1", endpoint.AddressText);
            using var http = new HttpClient();
            Assert.Equal("GET /v6 q= host=[::1]:" + endpoint.Port + " body=", await http.GetStringAsync("http://[::1]:" + endpoint.Port + "/v6"));
        }

        /// <summary>
        /// A stream's body that fails (a bug of its owner's, say the dashboard's rows failing to be written) ends that reply
        /// only: left unhandled on the stream's thread the exception would end the test host here, and PowerShell for a user.
        /// </summary>
        [Fact]
        public async Task AStreamWhoseBodyFaultsEndsThatReplyOnly()
        {
            using var endpoint = Start((path, r) => path == "/events" ? new HttpReply
            {
                Status = 200, ContentType = "text/event-stream",
                Stream = (s, stop) =>
                {
                    var hello = Encoding.UTF8.GetBytes("data: hello\n\n");
                    s.Write(hello, 0, hello.Length);
                    s.Flush();
                    throw new InvalidCastException("a test's fault");
                },
            } : Echo(path, r));
            int p = endpoint.Port;
            using var http = new HttpClient();
            using var response = await http.GetAsync("http://127.0.0.1:" + p + "/events", HttpCompletionOption.ResponseHeadersRead);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal("data: hello", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal("", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Null(await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10))); // ended (the reply's last chunk goes as the stream is disposed)
            Assert.True(SpinWait.SpinUntil(() => endpoint.ActiveStreams == 0, TimeSpan.FromSeconds(10)));
            Assert.Equal(1, endpoint.StreamFaults);
            Assert.EndsWith("GET /after q= host=localhost:" + p + " body=", Exchange(p, "GET /after HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n")); // still serving
        }

        [Fact]
        public async Task AStreamIsChunkedHttpClientReadsItAndDisposeEndsItAndEveryThread()
        {
            var started = new ManualResetEventSlim();
            using var endpoint = Start((path, r) => new HttpReply
            {
                Status = 200, ContentType = "text/event-stream",
                Stream = (s, stop) =>
                {
                    var hello = Encoding.UTF8.GetBytes("data: hello\n\n");
                    s.Write(hello, 0, 6); // two writes, one chunk: sent at Flush
                    s.Write(hello, 6, hello.Length - 6);
                    s.Flush();
                    started.Set();
                    stop.WaitHandle.WaitOne();
                },
            });
            int p = endpoint.Port;
            string raw = Exchange(p, "HEAD /events HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n");
            Assert.EndsWith("\r\nTransfer-Encoding: chunked\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n", raw); // what GET gets, no body
            Assert.DoesNotContain("Content-Length", raw);
            Assert.Equal(0, endpoint.ActiveStreams);
            using var http = new HttpClient();
            using var response = await http.GetAsync("http://127.0.0.1:" + p + "/events", HttpCompletionOption.ResponseHeadersRead);
            Assert.True(response.Headers.TransferEncodingChunked);
            Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal("data: hello", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
            Assert.Equal(1, endpoint.ActiveStreams);
            endpoint.Dispose();
            Assert.Equal("", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Null(await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10))); // the stream ended
            Assert.Equal(0, endpoint.ActiveStreams);
            Assert.True(SpinWait.SpinUntil(() => !ThreadNames().Any(n => n == "cmon-http-test"), TimeSpan.FromSeconds(10)),
                "threads left: " + string.Join(", ", ThreadNames()));
            Assert.ThrowsAny<SocketException>(() => Exchange(p, "GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n"));
        }

        [Fact]
        public void AStreamThatReturnsIsFramedExactlyInChunksOrForHttp10EndsWithTheConnection()
        {
            using var endpoint = Start((path, r) => new HttpReply
            {
                Status = 200, ContentType = "text/event-stream",
                Stream = (s, stop) =>
                {
                    s.Write(Encoding.ASCII.GetBytes("event: a\n"));
                    s.Write(Encoding.ASCII.GetBytes("data: 1\n\n"));
                    s.Flush();
                    s.Write(Encoding.ASCII.GetBytes("data: 2\n\n")); // sent when the body returns
                },
            });
            int p = endpoint.Port;
            string head = "Content-Type: text/event-stream\r\n";
            Assert.Equal("HTTP/1.1 200 OK\r\n" + head + "Transfer-Encoding: chunked\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n" +
                         "12\r\nevent: a\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n",
                WithoutDate(Exchange(p, "GET /s HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n")));
            Assert.Equal("HTTP/1.0 200 OK\r\n" + head + "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n" +
                         "event: a\ndata: 1\n\ndata: 2\n\n",
                WithoutDate(Exchange(p, "GET /s HTTP/1.0\r\n\r\n")));
        }

        [Fact]
        public void DisposeEndsStreamsToClientsThatDoNotReadWithinOneDeadlineForAll()
        {
            var chunk = new byte[64 * 1024];
            var endpoint = Start((path, r) => new HttpReply
            {
                Status = 200, ContentType = "application/octet-stream",
                Stream = (s, stop) =>
                {
                    while (true) { s.Write(chunk, 0, chunk.Length); s.Flush(); } // blocks once the client's window is full
                },
            });
            int p = endpoint.Port;
            var clients = new List<Socket>();
            try
            {
                for (int i = 0; i < 6; i++)
                {
                    var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                    c.Connect(IPAddress.Loopback, p);
                    c.Send(Encoding.ASCII.GetBytes("GET /s HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n"));
                    clients.Add(c);
                }
                Assert.True(SpinWait.SpinUntil(() => endpoint.ActiveStreams == 6, TimeSpan.FromSeconds(10)));
                Thread.Sleep(500); // every stream blocked in a send
                var clock = System.Diagnostics.Stopwatch.StartNew();
                endpoint.Dispose();
                Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 6); // 2 s for all six, not 2 s each (12 s before the fix)
                Assert.Equal(0, endpoint.ActiveStreams);
            }
            finally
            {
                foreach (var c in clients) c.Dispose();
                endpoint.Dispose();
            }
        }

        [Fact]
        public void ALargeWriteGoesOutWithWhatWaitsAsOneChunk()
        {
            var big = new byte[100 * 1024];
            new Random(3).NextBytes(big);
            using var endpoint = Start((path, r) => new HttpReply
            {
                Status = 200, ContentType = "application/octet-stream",
                Stream = (s, stop) =>
                {
                    s.Write(Encoding.ASCII.GetBytes("head:"));
                    s.Write(big, 0, big.Length);
                    s.Write(Encoding.ASCII.GetBytes("\n\n"));
                    s.Flush();
                },
            });
            int p = endpoint.Port;
            using var client = new TcpClient(AddressFamily.InterNetwork);
            client.Connect(IPAddress.Loopback, p);
            var stream = client.GetStream();
            stream.Write(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n"));
            var all = new MemoryStream();
            stream.CopyTo(all);
            byte[] got = all.ToArray();
            int at = LocalHttpRequest.HeadEnd(got, got.Length);
            var expected = new MemoryStream();
            expected.Write(Encoding.ASCII.GetBytes((5 + big.Length).ToString("x") + "\r\nhead:"));
            expected.Write(big);
            expected.Write(Encoding.ASCII.GetBytes("\r\n2\r\n\n\n\r\n0\r\n\r\n"));
            Assert.True(expected.ToArray().AsSpan().SequenceEqual(got.AsSpan(at)), "the chunked body differs");
        }

        // A kept-alive connection that has had one request answered (read whole by its Content-Length): admitted.
        private static TcpClient Admitted(int port, string headers = "")
        {
            var c = new TcpClient(AddressFamily.InterNetwork);
            c.Connect(IPAddress.Loopback, port);
            c.ReceiveTimeout = 10000;
            var bytes = Encoding.ASCII.GetBytes("GET /held HTTP/1.1\r\nHost: localhost:" + port + "\r\n" + headers + "\r\n");
            c.GetStream().Write(bytes, 0, bytes.Length);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", ReadReply(c));
            return c;
        }

        // One reply on a kept-alive connection, read whole by its Content-Length: its head.
        private static string ReadReply(TcpClient c)
        {
            c.ReceiveTimeout = 10000;
            var head = new StringBuilder();
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                int b = c.GetStream().ReadByte();
                Assert.NotEqual(-1, b);
                head.Append((char)b);
            }
            int length = int.Parse(head.ToString().Split("\r\n").Single(l => l.StartsWith("Content-Length: ", StringComparison.Ordinal)).Substring(16));
            for (int i = 0; i < length; i++) Assert.NotEqual(-1, c.GetStream().ReadByte());
            return head.ToString();
        }

        // True once the server has closed the client's connection (a read returns 0 or the connection was reset); false when
        // nothing came within the wait. The client's own receive time-out is as it was after.
        private static bool ClosedByServer(TcpClient c, TimeSpan within)
        {
            int was = c.Client.ReceiveTimeout;
            c.Client.ReceiveTimeout = (int)within.TotalMilliseconds;
            try { return c.Client.Receive(new byte[1]) == 0; }
            catch (SocketException ex) { return ex.SocketErrorCode == SocketError.ConnectionReset; }
            finally { c.Client.ReceiveTimeout = was; }
        }

        [Fact]
        public void BeyondSixtyFourAdmittedConnectionsTheNextGets503AndRestartingOnThePortWorks()
        {
            var endpoint = Start();
            int p = endpoint.Port;
            // The server closes this one first, so its side of the connection stays in TIME_WAIT on the endpoint's port.
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", Exchange(p, "GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n"));
            var held = new List<TcpClient>();
            try
            {
                // Each held connection had a request admitted: none is displaced, so the 65th is turned away.
                for (int i = 0; i < 64; i++) held.Add(Admitted(p));
                // (Tried again if the reply is lost: the 503 closes at once, and a reset may overtake it on some systems.)
                Assert.True(SpinWait.SpinUntil(() => Exchange(p, "GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n").StartsWith("HTTP/1.1 503 Service Unavailable\r\n", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(10)));
                Assert.Equal(0, endpoint.Displaced);
                Assert.All(held, c => Assert.False(ClosedByServer(c, TimeSpan.FromMilliseconds(50))));
            }
            finally
            {
                foreach (var c in held) c.Dispose();
                endpoint.Dispose();
            }
            // The same port again at once: a restart while the last run's connections are in TIME_WAIT (Linux: bind refuses
            // that port then, unless the socket has SO_REUSEADDR).
            if (OperatingSystem.IsLinux())
                Assert.Contains(File.ReadAllLines("/proc/net/tcp").Skip(1), l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is var f &&
                    f[1].EndsWith(":" + p.ToString("X4"), StringComparison.Ordinal) && f[3] == "06");
            using var again = LocalHttpEndpoint.Start(new LocalHttpEndpointOptions { Port = p }, Echo);
            Assert.Equal(p, again.Port);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", Exchange(p, "GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n"));
        }

        [Fact]
        public void WhenFullANewcomerDisplacesTheOldestConnectionThatWasNeverAdmittedSoIdleSocketsCannotLockTheOwnerOut()
        {
            // As the dashboard's guard: a request without the right cookie is refused on its head (403) and not admitted.
            using var endpoint = Start(tune: o => o.Admit = r => r.Headers["Cookie"] == "t=1" ? (HttpReply?)null : LocalHttpEndpoint.Text(403, "no\n"));
            int p = endpoint.Port;
            var owner = new List<TcpClient>();
            var others = new List<TcpClient>();
            try
            {
                // Someone without the cookie: two connections refused on a request (kept alive after the 403), then idle ones
                // that never send anything, up to the limit with the owner's 3 admitted ones.
                for (int i = 0; i < 3; i++) owner.Add(Admitted(p, "Cookie: t=1\r\n"));
                for (int i = 0; i < 2; i++)
                {
                    var c = new TcpClient(AddressFamily.InterNetwork);
                    c.Connect(IPAddress.Loopback, p);
                    var bytes = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n");
                    c.GetStream().Write(bytes, 0, bytes.Length);
                    Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", ReadReply(c));
                    others.Add(c);
                }
                while (owner.Count + others.Count < 64)
                {
                    var c = new TcpClient(AddressFamily.InterNetwork);
                    c.Connect(IPAddress.Loopback, p);
                    others.Add(c);
                    Thread.Sleep(2); // each taken after the one before
                }
                // The owner's browser comes back: served on a kept-alive connection, and the oldest never-admitted connection
                // (the first refused one) made room for it. Then a newcomer without the cookie displaces the next oldest and gets its 403.
                owner.Add(Admitted(p, "Cookie: t=1\r\n")); // kept alive: the endpoint stays full
                Assert.True(ClosedByServer(others[0], TimeSpan.FromSeconds(5)), "the oldest unadmitted connection was not closed");
                Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", Exchange(p, "GET / HTTP/1.1\r\nHost: localhost:" + p + "\r\nConnection: close\r\n\r\n"));
                Assert.True(ClosedByServer(others[1], TimeSpan.FromSeconds(5)), "the second oldest unadmitted connection was not closed");
                Assert.Equal(2, endpoint.Displaced);
                // The owner's admitted connections and the younger idle ones are all still open.
                Assert.All(owner, c => Assert.False(ClosedByServer(c, TimeSpan.FromMilliseconds(50))));
                Assert.All(others.Skip(2), c => Assert.False(ClosedByServer(c, TimeSpan.FromMilliseconds(20))));
                foreach (var c in owner)
                {
                    var again = Encoding.ASCII.GetBytes("GET /again HTTP/1.1\r\nHost: localhost:" + p + "\r\nCookie: t=1\r\nConnection: close\r\n\r\n");
                    c.GetStream().Write(again, 0, again.Length);
                    Assert.StartsWith("HTTP/1.1 200 OK\r\n", new StreamReader(c.GetStream(), Encoding.ASCII).ReadToEnd());
                }
            }
            finally
            {
                foreach (var c in owner.Concat(others)) c.Dispose();
            }
        }

        [Fact]
        public void APortInUseIsNamedAndAnOtherAddressNeedsAToken()
        {
            using var first = Start();
            var ex = Assert.Throws<HttpEndpointException>(() => LocalHttpEndpoint.Start(new LocalHttpEndpointOptions { Port = first.Port }, Echo));
            Assert.Equal(HttpEndpointFailure.PortInUse, ex.Failure);
            Assert.Equal("Port " + first.Port + " is in use (http://127.0.0.1:" + first.Port + "/): another program or endpoint listens there. Choose another port, or stop what uses it.", ex.Message);
            var token = Assert.Throws<HttpEndpointException>(() => LocalHttpEndpoint.Start(new LocalHttpEndpointOptions { Address = IPAddress.Any }, Echo));
            Assert.Equal(HttpEndpointFailure.TokenRequired, token.Failure);
        }

        [Fact]
        public void HeadEndFindsTheEmptyLineInEitherLineEnding()
        {
            byte[] B(string s) => Encoding.ASCII.GetBytes(s);
            Assert.Equal(-1, LocalHttpRequest.HeadEnd(B("GET / HTTP/1.1\r\nHost: a\r\n"), 25));
            var crlf = B("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY");
            Assert.Equal(crlf.Length - 4, LocalHttpRequest.HeadEnd(crlf, crlf.Length));
            var lf = B("GET / HTTP/1.1\nHost: a\n\nBODY");
            Assert.Equal(lf.Length - 4, LocalHttpRequest.HeadEnd(lf, lf.Length));
            var leading = B("\r\n\r\nGET / HTTP/1.0\r\n\r\n");
            Assert.Equal(leading.Length, LocalHttpRequest.HeadEnd(leading, leading.Length));
            var r = LocalHttpRequest.ParseHead(leading, leading.Length, out int status, out string reason);
            Assert.Equal(("GET", "/", 0, (string)null), (r.HttpMethod, r.Path, status, reason));
            Assert.False(r.KeepAlive);
        }

        private static IEnumerable<string> ThreadNames()
        {
            if (!OperatingSystem.IsLinux()) return Array.Empty<string>();
            return Directory.GetDirectories("/proc/self/task").Select(d =>
            {
                try { return File.ReadAllText(Path.Combine(d, "comm")).Trim(); }
                catch (IOException) { return ""; }
            }).ToList();
        }
    }
}
