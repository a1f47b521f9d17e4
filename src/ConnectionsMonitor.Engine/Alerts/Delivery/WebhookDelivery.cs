using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>
    /// Sends alerts to Discord, Slack, Teams and generic webhooks (docs/alert-webhooks.md). <see cref="Enqueue"/>
    /// only queues (bounded; the oldest is dropped and counted when full); the first alert of a rule after a quiet
    /// GroupWindow is sent at once, and the alerts that follow within the window go together as one message when it
    /// ends (at most one message per rule and target per window); a background task sends, one message at a time per target, through a
    /// Polly pipeline per target: circuit breaker around retries (exponential backoff with jitter, 429
    /// Retry-After honoured up to a cap) around a per-attempt time-out. Failed messages, and whatever
    /// <see cref="Flush"/> finds still undelivered, go to the dead-letter file. The webhook URL is a secret: no
    /// counter, error, file line or ToString here contains it. Thread-safe.
    /// </summary>
    public sealed class WebhookDelivery : IAlertDelivery
    {
        private readonly WebhookDeliveryOptions _options;
        private readonly HttpClient _http;
        private readonly DeadLetterFile _deadLetters;
        private readonly ResiliencePipeline _attemptTimeout;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly SemaphoreSlim _signal = new SemaphoreSlim(0);
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly object _gate = new object();
        private readonly Dictionary<string, TargetState> _targets = new Dictionary<string, TargetState>(StringComparer.Ordinal);
        private readonly Dictionary<string, Counters> _counters = new Dictionary<string, Counters>(StringComparer.OrdinalIgnoreCase);
        private readonly List<Message> _queued = new List<Message>();
        private readonly Dictionary<string, Message> _grouping = new Dictionary<string, Message>(StringComparer.Ordinal);
        // When the latest message of each rule and target was (or is) due: kept after it is sent, for the window after it.
        private readonly Dictionary<string, long> _lastDue = new Dictionary<string, long>(StringComparer.Ordinal);
        private readonly HashSet<Message> _inFlight = new HashSet<Message>();
        private readonly Task _dispatcher;
        private long _sequence;
        private int _flushing;
        private int _disposed;

        /// <summary>A delivery with the default options.</summary>
        public WebhookDelivery() : this(null) { }

        /// <summary>A delivery with <paramref name="options"/> (copied; null for the defaults).</summary>
        /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
        public WebhookDelivery(WebhookDeliveryOptions options)
        {
            _options = (options ?? new WebhookDeliveryOptions()).Validated();
            DeadLetterPath = string.IsNullOrWhiteSpace(_options.DeadLetterPath) ? WebhookDeliveryOptions.DefaultDeadLetterPath() : _options.DeadLetterPath;
            _deadLetters = new DeadLetterFile(DeadLetterPath);
            // The default handler (system proxy settings as everywhere else); time-outs are the pipeline's, not HttpClient's.
            _http = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("ConnectionsMonitor", typeof(WebhookDelivery).Assembly.GetName().Version?.ToString(3) ?? "0"));
            _attemptTimeout = new ResiliencePipelineBuilder().AddTimeout(_options.AttemptTimeout).Build();
            _dispatcher = Task.Run(DispatchLoop);
        }

        /// <summary>The dead-letter file this delivery appends to.</summary>
        public string DeadLetterPath { get; }

        /// <inheritdoc />
        public void Prepare(AlertRule rule)
        {
            if (rule == null || rule.Targets.Count == 0 || Volatile.Read(ref _disposed) != 0) return;
            var targets = Distinct(rule.Targets);
            try { _ = WarmHttpPath(); }
            catch (Exception) { } // only a head start: the first real send does this work itself
            Task.Run(() =>
            {
                try
                {
                    // Builds each target's pipeline and runs the payload and request code once (JIT), with no request sent.
                    var probe = new AlertEvent(rule.Name, rule.Conditions[0].Kind, AlertStatus.Test, DateTime.UtcNow, "", new AlertItem[0]);
                    foreach (var t in targets)
                    {
                        TargetState state;
                        lock (_gate) state = TargetFor(t);
                        // One pass through a pipeline like the target's, with a result made here instead of a request,
                        // compiles Polly's generic strategies; the target's own pipeline (and its breaker) stays untouched.
                        _ = state.Pipeline;
                        var probeAttempt = new Attempt { Success = true, StatusCode = 204 };
                        BuildPipeline().ExecuteAsync(async ct =>
                            await _attemptTimeout.ExecuteAsync(c => new ValueTask<Attempt>(probeAttempt), ct).ConfigureAwait(false)).AsTask().Wait();
                        using (var request = new HttpRequestMessage(HttpMethod.Post, t.Url) { Content = new ByteArrayContent(AlertPayloads.Build(t.Kind, new[] { probe }, _options.DiscordUserName)) })
                            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    }
                }
                catch (Exception) { } // only a head start: the first real send does this work itself
            });
        }

        private static int s_httpWarmed;

        /// <summary>
        /// Once per process: one POST through a handler like <see cref="_http"/>'s to a listener of our own on
        /// 127.0.0.1 that answers 204, so the HTTP/1.1 send path is compiled before the first alert (it cost
        /// 60–130 ms there). Nothing leaves the machine and no target sees a request; proxies are bypassed.
        /// </summary>
        /// <returns>The loopback port the warm-up listened on (closed again on return), or 0 when it had run already.</returns>
        internal static int WarmHttpPath(bool again = false)
        {
            if (Interlocked.Exchange(ref s_httpWarmed, 1) != 0 && !again) return 0;
            var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start(1);
            try
            {
                var answer = Task.Run(async () =>
                {
                    using (var peer = await listener.AcceptTcpClientAsync().ConfigureAwait(false))
                    {
                        var stream = peer.GetStream();
                        var buffer = new byte[4096];
                        var seen = new System.Text.StringBuilder();
                        // Headers, then the Content-Length body the warm-up request carries (2 bytes).
                        while (true)
                        {
                            int n = await stream.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false);
                            if (n == 0) return;
                            seen.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
                            int end = seen.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal);
                            if (end >= 0 && seen.Length >= end + 4 + 2) break;
                        }
                        byte[] reply = System.Text.Encoding.ASCII.GetBytes("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
                        await stream.WriteAsync(reply, 0, reply.Length).ConfigureAwait(false);
                    }
                });
                using (var handler = new HttpClientHandler { UseProxy = false })
                using (var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) })
                using (var content = new ByteArrayContent(new[] { (byte)'{', (byte)'}' }))
                {
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
                    using (var response = client.PostAsync("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture) + "/", content).GetAwaiter().GetResult())
                        _ = response.StatusCode;
                }
                answer.Wait(TimeSpan.FromSeconds(5));
                return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            }
            finally
            {
                listener.Stop();
            }
        }

        /// <inheritdoc />
        public void Enqueue(AlertRule rule, AlertEvent alert)
        {
            if (rule == null) throw new ArgumentNullException(nameof(rule));
            if (alert == null) throw new ArgumentNullException(nameof(alert));
            var targets = Distinct(rule.Targets);
            if (targets.Count == 0) return;
            List<Message> dropped = null;
            lock (_gate)
            {
                var counters = CountersFor(rule.Name);
                if (Volatile.Read(ref _disposed) != 0)
                {
                    lock (counters)
                    {
                        counters.Dropped += targets.Count;
                        counters.LastError = "delivery stopped: alert not sent";
                    }
                    return;
                }
                long now = _clock.ElapsedTicks;
                foreach (var target in targets)
                {
                    var state = TargetFor(target);
                    string groupKey = rule.Name.ToUpperInvariant() + "\n" + state.Key;
                    if (_grouping.TryGetValue(groupKey, out var open) && now < open.Due)
                    {
                        open.Alerts.Add(alert);
                        continue;
                    }
                    // Leading edge: the first alert after a quiet window goes at once (no waiting between the sample
                    // and the POST); alerts within the window after it wait for the window's end and go as one message.
                    long window = Ticks(rule.GroupWindow);
                    long due = _lastDue.TryGetValue(groupKey, out long lastDue) && now < lastDue + window ? lastDue + window : now;
                    _lastDue[groupKey] = due;
                    if (_queued.Count >= _options.QueueCapacity) (dropped ?? (dropped = new List<Message>())).Add(DropOldest_NeedsLock());
                    var message = new Message(++_sequence, rule.Name, groupKey, counters, state, due);
                    message.Alerts.Add(alert);
                    _queued.Add(message);
                    _grouping[groupKey] = message;
                    lock (counters) counters.Pending++;
                }
            }
            // Dropped, not lost: the file keeps what the queue could not (written outside the lock: it is a file write).
            if (dropped != null)
                WriteDeadLetters(dropped.Select(m => Entry(m, BuildPayload(m), 0, "dropped: the queue was full (" +
                    _options.QueueCapacity.ToString(CultureInfo.InvariantCulture) + " messages)")).ToList());
            _signal.Release();
        }

        /// <inheritdoc />
        public async Task<IReadOnlyList<AlertDeliveryResult>> SendNowAsync(AlertRule rule, AlertEvent alert, CancellationToken cancel)
        {
            if (rule == null) throw new ArgumentNullException(nameof(rule));
            if (alert == null) throw new ArgumentNullException(nameof(alert));
            if (Volatile.Read(ref _disposed) != 0) throw new ObjectDisposedException(nameof(WebhookDelivery));
            var targets = Distinct(rule.Targets);
            Counters counters;
            var states = new List<TargetState>();
            lock (_gate)
            {
                counters = CountersFor(rule.Name);
                foreach (var t in targets) states.Add(TargetFor(t));
            }
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, _stop.Token))
            {
                var sends = states.Select(async state =>
                {
                    byte[] payload = AlertPayloads.Build(state.Target.Kind, new[] { alert }, _options.DiscordUserName);
                    var outcome = await SendAsync(state, payload, linked.Token).ConfigureAwait(false);
                    // Stopped by its caller (Ctrl+C on Test-ConnectionAlert): not the webhook's failure.
                    if (!(outcome.Cancelled && cancel.IsCancellationRequested)) Record(counters, state, outcome);
                    return outcome.ToResult(state);
                }).ToList();
                var results = await Task.WhenAll(sends).ConfigureAwait(false);
                cancel.ThrowIfCancellationRequested();
                return results;
            }
        }

        /// <inheritdoc />
        public AlertDeliveryStats StatsFor(string ruleName)
        {
            Counters c;
            lock (_gate)
                if (ruleName == null || !_counters.TryGetValue(ruleName, out c)) return new AlertDeliveryStats();
            lock (c)
                return new AlertDeliveryStats
                {
                    Delivered = c.Delivered,
                    Failed = c.Failed,
                    Dropped = c.Dropped,
                    Pending = c.Pending,
                    LastError = c.LastError,
                    LastDeliveredUtc = c.LastDeliveredUtc,
                };
        }

        /// <inheritdoc />
        public void Forget(string ruleName)
        {
            if (ruleName == null) return;
            lock (_gate) _counters.Remove(ruleName);
        }

        /// <inheritdoc />
        public int Flush(TimeSpan timeout)
        {
            if (timeout < TimeSpan.Zero) timeout = TimeSpan.Zero;
            var deadline = Stopwatch.StartNew();
            List<Message> leftovers;
            List<Message> cancelled;
            Interlocked.Increment(ref _flushing);
            try
            {
                _signal.Release();
                lock (_gate)
                {
                    while (_queued.Count + _inFlight.Count > 0 && deadline.Elapsed < timeout)
                        Monitor.Wait(_gate, Min(timeout - deadline.Elapsed, TimeSpan.FromMilliseconds(200)));
                    leftovers = _queued.ToList();
                    _queued.Clear();
                    _grouping.Clear();
                    cancelled = _inFlight.ToList();
                    foreach (var m in cancelled) m.FlushCancelled = true;
                }

                foreach (var m in cancelled) m.Cancel();
                var entries = new List<DeadLetter>();
                foreach (var m in leftovers)
                {
                    byte[] payload = BuildPayload(m);
                    string error = "not sent within the flush time-out";
                    Fail(m.Counters, m.Target, error, pendingDone: true);
                    entries.Add(Entry(m, payload, 0, error));
                }
                bool written = WriteDeadLetters(entries);

                // In-flight sends end at once when cancelled; each writes its own line (it knows its attempts and last error).
                var wait = Stopwatch.StartNew();
                lock (_gate)
                    while (cancelled.Any(_inFlight.Contains) && wait.Elapsed < TimeSpan.FromSeconds(5))
                        Monitor.Wait(_gate, TimeSpan.FromMilliseconds(100));
                // Only what is in the file: a message the file could not take is in Failed, with "(dead-letter file not writable)".
                return (written ? leftovers.Count : 0) + cancelled.Count(m => m.DeadLettered);
            }
            finally
            {
                Interlocked.Decrement(ref _flushing);
            }
        }

        /// <summary>Flushes (<see cref="WebhookDeliveryOptions.DisposeFlushTimeout"/>) to the dead-letter file, then stops sending and cancels what is in flight.</summary>
        public void Dispose()
        {
            if (Volatile.Read(ref _disposed) != 0) return;
            Flush(_options.DisposeFlushTimeout);
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            Flush(TimeSpan.Zero); // anything enqueued while the first flush ran
            _stop.Cancel();
            _signal.Release();
            try { _dispatcher.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
            lock (_gate)
                while (_inFlight.Count > 0)
                    if (!Monitor.Wait(_gate, TimeSpan.FromSeconds(2))) break;
            _http.Dispose();
        }

        /// <summary>"WebhookDelivery: 2 queued, 1 sending, 3 targets" (never a URL).</summary>
        public override string ToString()
        {
            lock (_gate)
                return "WebhookDelivery: " + _queued.Count + " queued, " + _inFlight.Count + " sending, " + _targets.Count + " targets";
        }

        // ---- queue ----

        private async Task DispatchLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TimeSpan wait = System.Threading.Timeout.InfiniteTimeSpan;
                lock (_gate)
                {
                    long now = _clock.ElapsedTicks;
                    bool flushing = Volatile.Read(ref _flushing) > 0;
                    foreach (var m in _queued.ToList())
                    {
                        if (m.Target.Busy) continue;
                        if (m.Due <= now || flushing)
                        {
                            _queued.Remove(m);
                            if (_grouping.TryGetValue(m.GroupKey, out var g) && ReferenceEquals(g, m)) _grouping.Remove(m.GroupKey);
                            m.Target.Busy = true;
                            m.Start(_stop.Token);
                            _inFlight.Add(m);
                            _ = Task.Run(() => SendQueuedAsync(m));
                        }
                        else
                        {
                            var left = TimeSpan.FromTicks((long)((m.Due - now) * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency)) + TimeSpan.FromMilliseconds(1);
                            if (wait == System.Threading.Timeout.InfiniteTimeSpan || left < wait) wait = left;
                        }
                    }
                }
                try { await _signal.WaitAsync(wait, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }

        private async Task SendQueuedAsync(Message m)
        {
            try
            {
                byte[] payload = BuildPayload(m);
                var outcome = await SendAsync(m.Target, payload, m.Token).ConfigureAwait(false);
                if (outcome.Cancelled)
                {
                    string error = (m.FlushCancelled ? "not delivered within the flush time-out" : DeliveryErrors.Cancelled)
                        + (outcome.Error != null && outcome.Error != DeliveryErrors.Cancelled ? "; last: " + outcome.Error : "");
                    outcome.Error = error;
                }
                Record(m.Counters, m.Target, outcome, pendingDone: true);
                if (!outcome.Delivered)
                    m.DeadLettered = WriteDeadLetters(new[] { Entry(m, payload, outcome.Attempts, outcome.Error) });
            }
            catch (Exception e)
            {
                // Payload building cannot fail on valid alerts; keep the counters honest if it ever does.
                Fail(m.Counters, m.Target, "internal error (" + e.GetType().Name + ")", pendingDone: true);
            }
            finally
            {
                m.Finish();
                lock (_gate)
                {
                    m.Target.Busy = false;
                    _inFlight.Remove(m);
                    Monitor.PulseAll(_gate);
                }
                try { _signal.Release(); } catch (ObjectDisposedException) { }
            }
        }

        private Message DropOldest_NeedsLock()
        {
            var oldest = _queued[0];
            _queued.RemoveAt(0);
            if (_grouping.TryGetValue(oldest.GroupKey, out var g) && ReferenceEquals(g, oldest)) _grouping.Remove(oldest.GroupKey);
            lock (oldest.Counters)
            {
                oldest.Counters.Pending--;
                oldest.Counters.Dropped++;
                oldest.Counters.LastError = oldest.Target.Target.Redacted + ": queue full (" + _options.QueueCapacity.ToString(CultureInfo.InvariantCulture)
                    + " messages), oldest message dropped (" + oldest.Alerts.Count.ToString(CultureInfo.InvariantCulture) + " alerts) and written to the dead-letter file";
            }
            return oldest;
        }

        private byte[] BuildPayload(Message m)
        {
            AlertEvent[] alerts;
            lock (_gate) alerts = m.Alerts.ToArray();
            return AlertPayloads.Build(m.Target.Target.Kind, alerts, _options.DiscordUserName);
        }

        // ---- sending ----

        /// <summary>One message to one target through its pipeline; never throws (cancellation included).</summary>
        private async Task<Outcome> SendAsync(TargetState state, byte[] payload, CancellationToken cancel)
        {
            var result = new Outcome();
            try
            {
                var last = await state.Pipeline.ExecuteAsync(async ct =>
                {
                    Interlocked.Increment(ref result.Attempts);
                    await PaceAsync(state, ct).ConfigureAwait(false);
                    try
                    {
                        var attempt = await _attemptTimeout.ExecuteAsync(c => new ValueTask<Attempt>(PostAsync(state, payload, c)), ct).ConfigureAwait(false);
                        result.LastAttempt = attempt;
                        return attempt;
                    }
                    catch (TimeoutRejectedException)
                    {
                        result.LastAttempt = new Attempt { Error = DeliveryErrors.TimeOut(_options.AttemptTimeout), Retryable = true };
                        throw;
                    }
                }, cancel).ConfigureAwait(false);
                result.StatusCode = last.StatusCode;
                result.Delivered = last.Success;
                result.Error = last.Success ? null : last.Error;
            }
            catch (BrokenCircuitException)
            {
                result.Error = DeliveryErrors.BreakerOpen;
                result.StatusCode = null;
            }
            catch (TimeoutRejectedException)
            {
                result.Error = DeliveryErrors.TimeOut(_options.AttemptTimeout);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                result.Cancelled = true;
                result.StatusCode = result.LastAttempt?.StatusCode;
                result.Error = result.LastAttempt?.Error ?? DeliveryErrors.Cancelled;
            }
            catch (Exception e)
            {
                result.Error = DeliveryErrors.Network(e);
            }
            if (!result.Delivered && result.StatusCode == null) result.StatusCode = result.LastAttempt?.StatusCode;
            result.Error = DeliveryErrors.Scrub(result.Error, state.Target.Url);
            return result;
        }

        /// <summary>One POST; HTTP outcomes and network errors come back as an <see cref="Attempt"/>, cancellation is thrown.</summary>
        private async Task<Attempt> PostAsync(TargetState state, byte[] payload, CancellationToken cancel)
        {
            using (var request = new HttpRequestMessage(HttpMethod.Post, state.Target.Url))
            {
                request.Content = new ByteArrayContent(payload);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                try
                {
                    using (var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false))
                    {
                        int code = (int)response.StatusCode;
                        if (code >= 200 && code <= 299) return new Attempt { StatusCode = code, Success = true };
                        if (code == 429)
                        {
                            var wait = RetryAfter(response);
                            if (wait != null && wait.Value > _options.RetryAfterCap)
                                return new Attempt { StatusCode = code, Retryable = true, Error = DeliveryErrors.RetryAfterTooLong(code, wait.Value, _options.RetryAfterCap) };
                            return new Attempt { StatusCode = code, Retryable = true, RetryAfter = wait, Error = DeliveryErrors.Status(code, false) };
                        }
                        if (code == 408 || code >= 500) return new Attempt { StatusCode = code, Retryable = true, Error = DeliveryErrors.Status(code, false) };
                        return new Attempt { StatusCode = code, Retryable = false, Error = DeliveryErrors.Status(code, true) };
                    }
                }
                catch (Exception e) when (e is HttpRequestException || e is IOException || e is SocketException)
                {
                    return new Attempt { Retryable = true, Error = DeliveryErrors.Network(e) };
                }
            }
        }

        /// <summary>Discord's X-RateLimit-Reset-After (fractional seconds) first, then Retry-After (seconds or an HTTP date).</summary>
        private static TimeSpan? RetryAfter(HttpResponseMessage response)
        {
            if (response.Headers.TryGetValues("X-RateLimit-Reset-After", out var discord)
                && double.TryParse(discord.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out double resetAfter) && resetAfter >= 0)
                return TimeSpan.FromSeconds(resetAfter);
            var header = response.Headers.RetryAfter;
            if (header?.Delta != null) return header.Delta.Value < TimeSpan.Zero ? TimeSpan.Zero : header.Delta.Value;
            if (header?.Date != null)
            {
                var wait = header.Date.Value - DateTimeOffset.UtcNow;
                return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
            }
            // "Retry-After: 1.5" is not valid HTTP but some servers send it.
            if (response.Headers.TryGetValues("Retry-After", out var raw)
                && double.TryParse(raw.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds >= 0)
                return TimeSpan.FromSeconds(seconds);
            return null;
        }

        /// <summary>Slack: claims the next free slot at least <see cref="WebhookDeliveryOptions.SlackInterval"/> after the previous request to this URL, and waits for it.</summary>
        private async Task PaceAsync(TargetState state, CancellationToken cancel)
        {
            if (state.Target.Kind != AlertTargetKind.Slack || _options.SlackInterval <= TimeSpan.Zero) return;
            long wait;
            lock (state)
            {
                long now = _clock.ElapsedTicks;
                long slot = Math.Max(now, state.NextSlot);
                state.NextSlot = slot + Ticks(_options.SlackInterval);
                wait = slot - now;
            }
            if (wait > 0) await Task.Delay(FromTicks(wait), cancel).ConfigureAwait(false);
        }

        private ResiliencePipeline<Attempt> BuildPipeline()
        {
            var builder = new ResiliencePipelineBuilder<Attempt>();
            // Outermost: one outcome per message, so the breaker counts failed messages, not attempts.
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<Attempt>
            {
                FailureRatio = 1.0,
                MinimumThroughput = _options.BreakerFailures,
                SamplingDuration = _options.BreakerSamplingDuration,
                BreakDuration = _options.BreakerDuration,
                ShouldHandle = args => new ValueTask<bool>(
                    args.Outcome.Exception != null ? !(args.Outcome.Exception is OperationCanceledException) : !args.Outcome.Result.Success),
            });
            if (_options.MaxAttempts > 1)
            {
                builder.AddRetry(new RetryStrategyOptions<Attempt>
                {
                    MaxRetryAttempts = _options.MaxAttempts - 1,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = _options.BackoffBase,
                    MaxDelay = _options.BackoffCap,
                    ShouldHandle = args => new ValueTask<bool>(
                        args.Outcome.Exception != null ? args.Outcome.Exception is TimeoutRejectedException : args.Outcome.Result.Retryable),
                    // A 429's own wait (already checked against the cap) replaces the backoff; null keeps the backoff.
                    DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Exception == null ? args.Outcome.Result.RetryAfter : null),
                });
            }
            return builder.Build();
        }

        // ---- counters and dead letters ----

        private void Record(Counters counters, TargetState state, Outcome outcome, bool pendingDone = false)
        {
            if (outcome.Delivered)
            {
                lock (counters)
                {
                    if (pendingDone) counters.Pending--;
                    counters.Delivered++;
                    counters.LastDeliveredUtc = DateTime.UtcNow;
                }
            }
            else Fail(counters, state, outcome.Error + DeliveryErrors.After(outcome.Attempts), pendingDone);
        }

        private static void Fail(Counters counters, TargetState state, string error, bool pendingDone)
        {
            string text = DeliveryErrors.Scrub(state.Target.Redacted + ": " + error, state.Target.Url);
            lock (counters)
            {
                if (pendingDone) counters.Pending--;
                counters.Failed++;
                counters.LastError = text;
            }
        }

        private DeadLetter Entry(Message m, byte[] payload, int attempts, string error)
        {
            AlertEvent[] alerts;
            lock (_gate) alerts = m.Alerts.ToArray();
            return new DeadLetter
            {
                Target = m.Target.Target.Redacted,
                Kind = m.Target.Target.Kind,
                Rule = m.RuleName,
                AlertIds = alerts.Select(a => a.Id).ToList(),
                Attempts = attempts,
                Error = DeliveryErrors.Scrub(error, m.Target.Target.Url),
                Payload = payload,
            };
        }

        /// <summary>Appends the entries to the dead-letter file; true when they are in it (false when the file is off or not writable).</summary>
        private bool WriteDeadLetters(IReadOnlyCollection<DeadLetter> entries)
        {
            if (entries.Count == 0) return true;
            if (!_options.DeadLetterEnabled) return false;
            if (_deadLetters.Append(entries)) return true;
            foreach (var e in entries)
            {
                Counters c;
                lock (_gate) _counters.TryGetValue(e.Rule, out c);
                if (c != null) lock (c) c.LastError += " (dead-letter file not writable)";
            }
            return false;
        }

        // ---- helpers ----

        private Counters CountersFor(string rule)
        {
            if (!_counters.TryGetValue(rule, out var c)) _counters[rule] = c = new Counters();
            return c;
        }

        private TargetState TargetFor(AlertTarget target)
        {
            string key = target.Kind + " " + target.Url.AbsoluteUri;
            if (!_targets.TryGetValue(key, out var state))
                _targets[key] = state = new TargetState(key, target, new Lazy<ResiliencePipeline<Attempt>>(BuildPipeline));
            return state;
        }

        private static List<AlertTarget> Distinct(IReadOnlyList<AlertTarget> targets) =>
            (targets ?? new AlertTarget[0]).Where(t => t != null)
                .GroupBy(t => t.Kind + " " + t.Url.AbsoluteUri, StringComparer.Ordinal).Select(g => g.First()).ToList();

        private static long Ticks(TimeSpan t) => t <= TimeSpan.Zero ? 0 : (long)(t.TotalSeconds * Stopwatch.Frequency);

        private static TimeSpan FromTicks(long stopwatchTicks) => TimeSpan.FromSeconds(stopwatchTicks / (double)Stopwatch.Frequency);

        private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? (a < TimeSpan.Zero ? TimeSpan.Zero : a) : b;

        private sealed class Counters
        {
            public long Delivered, Failed, Dropped, Pending;
            public string LastError;
            public DateTime? LastDeliveredUtc;
        }

        private sealed class TargetState
        {
            private readonly Lazy<ResiliencePipeline<Attempt>> _pipeline;

            public TargetState(string key, AlertTarget target, Lazy<ResiliencePipeline<Attempt>> pipeline)
            {
                Key = key;
                Target = target;
                _pipeline = pipeline;
            }

            public string Key { get; }              // holds the URL: never shown
            public AlertTarget Target { get; }
            /// <summary>Built on first send (on a sending task), so Enqueue never pays for it.</summary>
            public ResiliencePipeline<Attempt> Pipeline => _pipeline.Value;
            public bool Busy;                        // a queued message to it is in flight (under _gate)
            public long NextSlot;                    // Slack pacing (under lock(this))

            public override string ToString() => Target.Redacted;
        }

        private sealed class Message
        {
            private CancellationTokenSource _cts;

            public Message(long sequence, string ruleName, string groupKey, Counters counters, TargetState target, long due)
            {
                Sequence = sequence;
                RuleName = ruleName;
                GroupKey = groupKey;
                Counters = counters;
                Target = target;
                Due = due;
            }

            public long Sequence { get; }
            public string RuleName { get; }
            public string GroupKey { get; }
            public Counters Counters { get; }
            public TargetState Target { get; }
            public long Due { get; }
            public List<AlertEvent> Alerts { get; } = new List<AlertEvent>();
            public bool FlushCancelled;
            public volatile bool DeadLettered;
            public CancellationToken Token => _cts?.Token ?? CancellationToken.None;

            public void Start(CancellationToken stop) => _cts = CancellationTokenSource.CreateLinkedTokenSource(stop);

            public void Cancel()
            {
                try { _cts?.Cancel(); } catch (ObjectDisposedException) { }
            }

            public void Finish()
            {
                var cts = Interlocked.Exchange(ref _cts, null);
                cts?.Dispose();
            }

            public override string ToString() => "message #" + Sequence + " of rule " + RuleName + " to " + Target.Target.Redacted;
        }

        /// <summary>One attempt's result as the pipeline sees it.</summary>
        private sealed class Attempt
        {
            public bool Success;
            public bool Retryable;
            public int? StatusCode;
            public TimeSpan? RetryAfter;
            public string Error;

            public override string ToString() => Success ? "HTTP " + StatusCode : Error;
        }

        /// <summary>A whole message's result.</summary>
        private sealed class Outcome
        {
            public bool Delivered;
            public bool Cancelled;
            public int? StatusCode;
            public int Attempts;
            public string Error;
            public Attempt LastAttempt;

            public AlertDeliveryResult ToResult(TargetState state) => new AlertDeliveryResult
            {
                Target = state.Target.Redacted,
                Delivered = Delivered,
                StatusCode = StatusCode,
                Attempts = Attempts,
                Error = Delivered ? null : DeliveryErrors.Scrub(Error + DeliveryErrors.After(Attempts), state.Target.Url),
            };
        }
    }
}
