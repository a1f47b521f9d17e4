using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// A real HTTP/1.1 server on 127.0.0.1 and a free port, for download and webhook tests: serves given
    /// bytes per path (with or without the query) with a chosen status and headers, or a script of answers
    /// taken one per request (<see cref="Script"/>); can cut a response short by closing the connection
    /// early, stop sending altogether, answer late or never; records every request with its headers, body
    /// and arrival time, and lets a test wait for the n-th request. One request per connection (Connection: close).
    /// </summary>
    public sealed class LocalHttpServer : IDisposable
    {
        public sealed class Response
        {
            public int Status = 200;
            public byte[] Body = Array.Empty<byte>();
            /// <summary>Send only this many body bytes (after a Content-Length of the whole body), then close.</summary>
            public int? TruncateAfter;
            /// <summary>Send the headers and this many bytes, then hold the connection open without sending more.</summary>
            public int? StallAfter;
            public Dictionary<string, string> Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            /// <summary>Headers whose value is made when the answer is sent (an HTTP date relative to then, say).</summary>
            public Dictionary<string, Func<string>> LateHeaders = new Dictionary<string, Func<string>>(StringComparer.OrdinalIgnoreCase);
            /// <summary>Wait this long after reading the request before answering.</summary>
            public TimeSpan Delay;
            /// <summary>Read the request, never answer; the connection stays open until the client gives up or the server is disposed.</summary>
            public bool Hang;

            public static Response Answer(int status, params (string Name, string Value)[] headers)
            {
                var r = new Response { Status = status };
                foreach (var (name, value) in headers) r.Headers[name] = value;
                return r;
            }

            public static Response NeverAnswer() => new Response { Hang = true };
        }

        public sealed class Request
        {
            public string Method;
            /// <summary>Path and query as sent (e.g. /free/dbip-country-lite-2026-11.mmdb.gz).</summary>
            public string Target;
            public Dictionary<string, string> Headers;
            public byte[] Body = Array.Empty<byte>();
            /// <summary>When the whole request had arrived, on the server's clock (<see cref="LocalHttpServer.Clock"/>).</summary>
            public TimeSpan ReceivedAt;
            public string BodyText => Encoding.UTF8.GetString(Body);
            public string Path => Target.Split('?')[0];
            public string Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
        }

        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly ConcurrentDictionary<string, Response> _routes = new ConcurrentDictionary<string, Response>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, ConcurrentQueue<Response>> _scripts = new ConcurrentDictionary<string, ConcurrentQueue<Response>>(StringComparer.Ordinal);
        private readonly ConcurrentQueue<Request> _requests = new ConcurrentQueue<Request>();
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private readonly List<TcpClient> _open = new List<TcpClient>();
        private readonly Task _accepting;

        public LocalHttpServer()
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _accepting = Task.Run(AcceptLoop);
        }

        public int Port { get; }
        public Uri BaseUri => new Uri("http://127.0.0.1:" + Port + "/");
        public IReadOnlyList<Request> Requests => _requests.ToArray();

        /// <summary>Time since the server started: the clock of <see cref="Request.ReceivedAt"/>.</summary>
        public TimeSpan Clock => _clock.Elapsed;

        /// <summary>
        /// Answers requests to <paramref name="target"/> (path, or path and query) with <paramref name="responses"/>
        /// in order, one per request; the last one answers every request after it.
        /// </summary>
        public void Script(string target, params Response[] responses)
        {
            if (responses == null || responses.Length == 0) throw new ArgumentException("A script needs at least one response.", nameof(responses));
            _scripts[target] = new ConcurrentQueue<Response>(responses);
        }

        /// <summary>Waits until at least <paramref name="count"/> requests have arrived; throws on time-out (saying how many came).</summary>
        public IReadOnlyList<Request> WaitForRequests(int count, TimeSpan timeout)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            lock (_requests)
            {
                while (_requests.Count < count)
                {
                    var left = timeout - watch.Elapsed;
                    if (left <= TimeSpan.Zero)
                        throw new TimeoutException("Expected " + count + " requests within " + timeout.TotalSeconds + " s; got " + _requests.Count + ".");
                    Monitor.Wait(_requests, left);
                }
            }
            return Requests;
        }

        /// <summary>Serves <paramref name="body"/> at <paramref name="target"/>: a path, or a path and query for an exact match.</summary>
        public Response Serve(string target, byte[] body, int status = 200)
        {
            var response = new Response { Status = status, Body = body ?? Array.Empty<byte>() };
            _routes[target] = response;
            return response;
        }

        public Uri Url(string target) => new Uri(BaseUri, target.TrimStart('/'));

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception) { return; }
                lock (_open) _open.Add(client);
                _ = Task.Run(() => Handle(client));
            }
        }

        private async Task Handle(TcpClient client)
        {
            bool keepOpen = false;
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequest(stream);
                if (request == null) return;
                request.ReceivedAt = _clock.Elapsed;
                lock (_requests)
                {
                    _requests.Enqueue(request);
                    Monitor.PulseAll(_requests);
                }

                var response = Next(request.Target) ?? Next(request.Path);
                if (response == null && !_routes.TryGetValue(request.Target, out response) && !_routes.TryGetValue(request.Path, out response))
                    response = new Response { Status = 404, Body = Encoding.ASCII.GetBytes("not found") };
                if (response.Hang)
                {
                    keepOpen = true; // closed by Dispose
                    return;
                }
                if (response.Delay > TimeSpan.Zero) await Task.Delay(response.Delay, _stop.Token);

                var head = new StringBuilder();
                head.Append("HTTP/1.1 ").Append(response.Status).Append(' ').Append(Reason(response.Status)).Append("\r\n");
                head.Append("Content-Length: ").Append(response.Body.Length).Append("\r\n");
                head.Append("Connection: close\r\n");
                foreach (var h in response.Headers) head.Append(h.Key).Append(": ").Append(h.Value).Append("\r\n");
                foreach (var h in response.LateHeaders) head.Append(h.Key).Append(": ").Append(h.Value()).Append("\r\n");
                head.Append("\r\n");
                var headBytes = Encoding.ASCII.GetBytes(head.ToString());
                await stream.WriteAsync(headBytes, 0, headBytes.Length);
                int count = Math.Min(response.Body.Length, response.StallAfter ?? response.TruncateAfter ?? response.Body.Length);
                await stream.WriteAsync(response.Body, 0, count);
                await stream.FlushAsync();
                if (response.StallAfter != null)
                {
                    keepOpen = true; // closed by Dispose
                    return;
                }
                client.Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
            catch (IOException)
            {
                // The client went away (cancelled download): nothing to do.
            }
            finally
            {
                if (!keepOpen)
                {
                    lock (_open) _open.Remove(client);
                    client.Dispose();
                }
            }
        }

        private Response Next(string target)
        {
            if (!_scripts.TryGetValue(target, out var script)) return null;
            lock (script)
            {
                if (script.Count > 1 && script.TryDequeue(out var next)) return next;
                return script.TryPeek(out var last) ? last : null;
            }
        }

        private static async Task<Request> ReadRequest(NetworkStream stream)
        {
            var buffer = new List<byte>();
            var one = new byte[1];
            while (true)
            {
                int n = await stream.ReadAsync(one, 0, 1);
                if (n == 0) return null;
                buffer.Add(one[0]);
                int c = buffer.Count;
                if (c >= 4 && buffer[c - 4] == '\r' && buffer[c - 3] == '\n' && buffer[c - 2] == '\r' && buffer[c - 1] == '\n') break;
                if (c > 64 * 1024) return null;
            }
            var lines = Encoding.ASCII.GetString(buffer.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var parts = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in lines.Skip(1))
            {
                int colon = line.IndexOf(':');
                if (colon > 0) headers[line.Substring(0, colon).Trim()] = line.Substring(colon + 1).Trim();
            }
            var body = Array.Empty<byte>();
            if (headers.TryGetValue("Content-Length", out var lengthText) && int.TryParse(lengthText, out int length) && length > 0)
            {
                if (length > 16 * 1024 * 1024) return null;
                body = new byte[length];
                int read = 0;
                while (read < length)
                {
                    int n = await stream.ReadAsync(body, read, length - read);
                    if (n == 0) return null;
                    read += n;
                }
            }
            return new Request { Method = parts[0], Target = parts[1], Headers = headers, Body = body };
        }

        private static string Reason(int status) => status switch
        {
            200 => "OK", 301 => "Moved Permanently", 302 => "Found", 401 => "Unauthorized", 403 => "Forbidden",
            404 => "Not Found", 204 => "No Content", 400 => "Bad Request", 408 => "Request Timeout", 429 => "Too Many Requests",
            500 => "Internal Server Error", 502 => "Bad Gateway", 503 => "Service Unavailable", _ => "Status",
        };

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_open)
            {
                foreach (var c in _open) c.Dispose();
                _open.Clear();
            }
            try { _accepting.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }
}
