using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;
using Response = ConnectionsMonitor.Tests.TestSupport.LocalHttpServer.Response;

namespace ConnectionsMonitor.Tests.Alerts.Delivery
{
    /// <summary>Retries, rate limits, time-outs, the breaker, grouping, the queue bound, secrets and the dead-letter file, against a real local endpoint.</summary>
    public sealed class WebhookDeliveryTests : IDisposable
    {
        private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
        private readonly WebhookTestBed _bed = new WebhookTestBed();

        public void Dispose() => _bed.Dispose();

        private (AlertRule Rule, string Path) RuleWith(string name, AlertTargetKind kind, params Response[] script)
        {
            string path = _bed.NewHookPath();
            _bed.Server.Script(path, script);
            return (WebhookTestBed.Rule(name, TimeSpan.Zero, _bed.Target(path, kind)), path);
        }

        [Fact]
        public void PrepareSendsNothingToTheTargets()
        {
            var (rule, _) = RuleWith("prep", AlertTargetKind.Discord, Response.Answer(204));
            var delivery = _bed.Delivery();
            delivery.Prepare(rule);
            Thread.Sleep(1000); // the background part (pipelines, payload code) has long finished by then
            Assert.Empty(_bed.Server.Requests);
            Assert.Equal(0, delivery.StatsFor("prep").Delivered);
        }

        [Fact]
        public void TheHttpWarmUpExchangesOneRequestWithItsOwnLoopbackListenerAndClosesIt()
        {
            int port = WebhookDelivery.WarmHttpPath(again: true);
            Assert.InRange(port, 1, 65535);
            // Closed before it returned: nothing listens there any more (a connect is refused) …
            using (var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
            {
                var refused = Assert.Throws<System.Net.Sockets.SocketException>(() => probe.Connect(System.Net.IPAddress.Loopback, port));
                Assert.Equal(System.Net.Sockets.SocketError.ConnectionRefused, refused.SocketErrorCode);
            }
            // … and the kernel's table has no listener on that port (state 0A = LISTEN in /proc/net/tcp).
            if (File.Exists("/proc/net/tcp"))
                Assert.DoesNotContain(File.ReadAllLines("/proc/net/tcp").Skip(1), line =>
                {
                    var f = line.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
                    return f[3] == "0A" && Convert.ToInt32(f[1].Split(':')[1], 16) == port;
                });
        }

        [Theory]
        [InlineData(500)]
        [InlineData(503)]
        [InlineData(408)]
        public void ServerErrorThenSuccessIsDeliveredExactlyOnce(int status)
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, Response.Answer(status), Response.Answer(200));
            var delivery = _bed.Delivery();
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));

            var requests = _bed.Server.WaitForRequests(2, Wait);
            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Delivered == 1, Wait, "Delivered = 1");
            Assert.Equal(0, delivery.Flush(Wait));
            var stats = delivery.StatsFor("r1");
            Assert.Equal(1, stats.Delivered);
            Assert.Equal(0, stats.Failed);
            Assert.Equal(0, stats.Pending);
            Assert.NotNull(stats.LastDeliveredUtc);
            Assert.Equal(2, _bed.Server.Requests.Count);
            Assert.Equal(requests[0].BodyText, requests[1].BodyText);
        }

        [Fact]
        public void TooManyRequestsWaitsForRetryAfterSeconds()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, Response.Answer(429, ("Retry-After", "1")), Response.Answer(200));
            var delivery = _bed.Delivery();
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));

            var requests = _bed.Server.WaitForRequests(2, Wait);
            var gap = requests[1].ReceivedAt - requests[0].ReceivedAt;
            Assert.True(gap >= TimeSpan.FromMilliseconds(985), /* 1 s less the timer granularity */ "second request after " + gap.TotalMilliseconds + " ms");
            Assert.True(gap < TimeSpan.FromSeconds(5), "second request after " + gap.TotalMilliseconds + " ms");
            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Delivered == 1, Wait, "Delivered = 1");
            Assert.Equal(0, delivery.StatsFor("r1").Failed);
        }

        [Fact]
        public void TooManyRequestsHonoursRetryAfterAsAnHttpDate()
        {
            // An HTTP date has whole seconds: the answer asks for the start of a second 2–3 s after it is sent.
            var tooMany = Response.Answer(429);
            tooMany.LateHeaders["Retry-After"] = () =>
            {
                var at = DateTimeOffset.UtcNow.AddSeconds(3);
                return new DateTimeOffset(at.Year, at.Month, at.Day, at.Hour, at.Minute, at.Second, TimeSpan.Zero).ToString("R");
            };
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, tooMany, Response.Answer(200));
            var delivery = _bed.Delivery();
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));

            var requests = _bed.Server.WaitForRequests(2, Wait);
            var gap = requests[1].ReceivedAt - requests[0].ReceivedAt;
            Assert.True(gap >= TimeSpan.FromMilliseconds(1800), "second request after " + gap.TotalMilliseconds + " ms");
            Assert.True(gap < TimeSpan.FromSeconds(6), "second request after " + gap.TotalMilliseconds + " ms");
            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Delivered == 1, Wait, "Delivered = 1");
        }

        [Fact]
        public void DiscordRateLimitResetAfterIsHonouredOverRetryAfter()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Discord,
                Response.Answer(429, ("X-RateLimit-Reset-After", "1.25"), ("Retry-After", "0")), Response.Answer(204));
            var delivery = _bed.Delivery();
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));

            var requests = _bed.Server.WaitForRequests(2, Wait);
            var gap = requests[1].ReceivedAt - requests[0].ReceivedAt;
            // 1.25 s less the timer's granularity (a delay may end a millisecond or so early); Retry-After alone would be 0.
            Assert.True(gap >= TimeSpan.FromMilliseconds(1235), "second request after " + gap.TotalMilliseconds + " ms");
            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Delivered == 1, Wait, "Delivered = 1");
        }

        [Fact]
        public void RetryAfterBeyondTheCapFailsThatAttemptAndRetriesOnTheBackoff()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, Response.Answer(429, ("Retry-After", "120")), Response.Answer(200));
            var options = _bed.FastOptions();
            options.RetryAfterCap = TimeSpan.FromSeconds(10);
            var delivery = _bed.Delivery(options);
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));

            // Neither the 120 s asked for nor the 10 s cap: the backoff's short wait.
            var requests = _bed.Server.WaitForRequests(2, Wait);
            var gap = requests[1].ReceivedAt - requests[0].ReceivedAt;
            Assert.True(gap < TimeSpan.FromSeconds(5), "waited " + gap.TotalMilliseconds + " ms although beyond the cap");
            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Delivered == 1, Wait, "Delivered = 1");
        }

        [Fact]
        public void RetryAfterBeyondTheCapIsReportedWhenEveryAttemptGetsIt()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, Response.Answer(429, ("Retry-After", "120")));
            var options = _bed.FastOptions();
            options.RetryAfterCap = TimeSpan.FromSeconds(1);
            options.MaxAttempts = 2;
            var delivery = _bed.Delivery(options);
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));

            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Failed == 1, Wait, "Failed = 1");
            Assert.Equal(2, _bed.Server.Requests.Count);
            Assert.Contains("HTTP 429 (asked to wait 120 s, more than the 1 s cap) after 2 attempts", delivery.StatsFor("r1").LastError, StringComparison.Ordinal);
        }

        [Fact]
        public void AnEndpointThatNeverAnswersTimesOutWhileEnqueueStaysInstant()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, Response.NeverAnswer());
            var other = WebhookTestBed.Rule("r2", TimeSpan.Zero, rule.Targets[0]);
            var options = _bed.FastOptions();
            // Enqueue's bound (1 s, loose for a loaded machine: JIT, a GC pause) is below one attempt's time-out (2 s):
            // an Enqueue that waited for the network would take at least that.
            options.AttemptTimeout = TimeSpan.FromSeconds(2);
            options.MaxAttempts = 1;
            var delivery = _bed.Delivery(options);

            var watch = Stopwatch.StartNew();
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), "Enqueue took " + watch.Elapsed.TotalMilliseconds + " ms");
            _bed.Server.WaitForRequests(1, Wait);
            watch.Restart();
            delivery.Enqueue(other, WebhookTestBed.Alert("r2")); // while the endpoint hangs on the first
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), "Enqueue took " + watch.Elapsed.TotalMilliseconds + " ms while the endpoint hangs");

            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Failed == 1, Wait, "Failed = 1");
            var stats = delivery.StatsFor("r1");
            Assert.Equal(0, stats.Delivered);
            Assert.Equal(0, stats.Pending);
            Assert.Equal(rule.Targets[0].Redacted + ": time-out (no answer within 2 s) after 1 attempt", stats.LastError);
            Assert.StartsWith("Generic http://127.0.0.1:" + _bed.Server.Port + "/…", stats.LastError, StringComparison.Ordinal);
        }

        [Fact]
        public void ClientErrorIsNotRetried()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Slack, Response.Answer(400), Response.Answer(200));
            var delivery = _bed.Delivery();
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));

            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Failed == 1, Wait, "Failed = 1");
            Assert.Single(_bed.Server.Requests);
            var stats = delivery.StatsFor("r1");
            Assert.Equal(0, stats.Delivered);
            Assert.Equal(rule.Targets[0].Redacted + ": HTTP 400 (permanent, not retried) after 1 attempt", stats.LastError);
        }

        [Fact]
        public async Task SendNowRetriesAndReportsEachTarget()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, Response.Answer(503), Response.Answer(503), Response.Answer(202));
            var (bad, _) = RuleWith("unused", AlertTargetKind.Discord, Response.Answer(404));
            rule.Targets = new[] { rule.Targets[0], bad.Targets[0] };
            var delivery = _bed.Delivery();

            var results = await delivery.SendNowAsync(rule, WebhookTestBed.Alert("r1", status: AlertStatus.Test), CancellationToken.None);

            Assert.Equal(2, results.Count);
            Assert.True(results[0].Delivered);
            Assert.Equal(202, results[0].StatusCode);
            Assert.Equal(3, results[0].Attempts);
            Assert.Equal(rule.Targets[0].Redacted, results[0].Target);
            Assert.False(results[1].Delivered);
            Assert.Equal(404, results[1].StatusCode);
            Assert.Equal(1, results[1].Attempts);
            Assert.Equal("HTTP 404 (permanent, not retried) after 1 attempt", results[1].Error);
            var stats = delivery.StatsFor("r1");
            Assert.Equal(1, stats.Delivered);
            Assert.Equal(1, stats.Failed);
            Assert.Equal(4, _bed.Server.Requests.Count);
        }

        [Fact]
        public async Task TheBreakerOpensAfterFailedMessagesAndThenFailsFastWithoutARequest()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, Response.Answer(500));
            var options = _bed.FastOptions();
            options.MaxAttempts = 1;
            options.BreakerFailures = 3;
            var delivery = _bed.Delivery(options);

            for (int i = 0; i < 3; i++)
            {
                var r = (await delivery.SendNowAsync(rule, WebhookTestBed.Alert("r1"), CancellationToken.None)).Single();
                Assert.False(r.Delivered);
                Assert.Equal(500, r.StatusCode);
            }
            Assert.Equal(3, _bed.Server.Requests.Count);

            var fast = (await delivery.SendNowAsync(rule, WebhookTestBed.Alert("r1"), CancellationToken.None)).Single();
            Assert.False(fast.Delivered);
            Assert.Equal(0, fast.Attempts);
            Assert.Equal("circuit breaker open after repeated failures: not sent", fast.Error);

            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));
            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Failed == 5, Wait, "Failed = 5");
            Assert.Equal(3, _bed.Server.Requests.Count);
            Assert.Equal(rule.Targets[0].Redacted + ": circuit breaker open after repeated failures: not sent", delivery.StatsFor("r1").LastError);
        }

        [Fact]
        public void TheFirstAlertGoesAtOnceAndTheRestOfItsWindowGoOutAsOneMessage()
        {
            string path = _bed.NewHookPath();
            _bed.Server.Script(path, Response.Answer(200));
            var target = _bed.Target(path, AlertTargetKind.Generic);
            var ruleA = WebhookTestBed.Rule("ruleA", TimeSpan.FromSeconds(1), target);
            var ruleB = WebhookTestBed.Rule("ruleB", TimeSpan.FromSeconds(1), target);
            var delivery = _bed.Delivery();
            var a = new[] { WebhookTestBed.Alert("ruleA", "p1"), WebhookTestBed.Alert("ruleA", "p2"), WebhookTestBed.Alert("ruleA", "p3") };
            var b = WebhookTestBed.Alert("ruleB", "q1");

            var enqueuedAt = _bed.Server.Clock;
            foreach (var alert in a) delivery.Enqueue(ruleA, alert);
            delivery.Enqueue(ruleB, b);

            _bed.Server.WaitForRequests(3, Wait);
            WebhookTestBed.WaitUntil(() => delivery.StatsFor("ruleA").Delivered + delivery.StatsFor("ruleB").Delivered == 3, Wait, "all delivered");
            Assert.Equal(0, delivery.Flush(Wait));
            var requests = _bed.Server.Requests;
            var bodies = requests.Select(WebhookTestBed.Json).ToList();
            Assert.Equal(3, bodies.Count);
            var forA = bodies.Where(j => j.GetProperty("rule").GetString() == "ruleA").ToList();
            Assert.Equal(2, forA.Count);
            // p1 at once, alone; p2 and p3 together when ruleA's window has passed.
            Assert.Equal(new[] { a[0].Id }, forA[0].GetProperty("alerts").EnumerateArray().Select(x => x.GetProperty("id").GetGuid()));
            Assert.Equal(2, forA[1].GetProperty("count").GetInt32());
            Assert.Equal(new[] { a[1].Id, a[2].Id }, forA[1].GetProperty("alerts").EnumerateArray().Select(x => x.GetProperty("id").GetGuid()));
            var forB = bodies.Single(j => j.GetProperty("rule").GetString() == "ruleB");
            Assert.Equal(b.Id, forB.GetProperty("alerts").EnumerateArray().Single().GetProperty("id").GetGuid());
            var aRequests = requests.Where(r => WebhookTestBed.Json(r).GetProperty("rule").GetString() == "ruleA").ToList();
            // The window runs from the first alert's enqueue, not from its POST's arrival: a first POST slowed by a busy
            // machine (connection set-up, JIT) may arrive late in the window, and the grouped one still waits for its end.
            var afterEnqueue = aRequests[1].ReceivedAt - enqueuedAt;
            Assert.True(afterEnqueue >= TimeSpan.FromMilliseconds(950), "the grouped message came " + afterEnqueue.TotalMilliseconds + " ms after the first alert was queued");
            Assert.True(aRequests[0].ReceivedAt < aRequests[1].ReceivedAt, "the grouped message came before the first");
        }

        [Fact]
        public void AGroupedChatMessageListsEveryAlert()
        {
            string path = _bed.NewHookPath();
            _bed.Server.Script(path, Response.Answer(204));
            var rule = WebhookTestBed.Rule("burst", TimeSpan.FromSeconds(1), _bed.Target(path, AlertTargetKind.Discord));
            var delivery = _bed.Delivery();
            foreach (var p in new[] { "p1", "p2", "p3" }) delivery.Enqueue(rule, WebhookTestBed.Alert("burst", p));

            var requests = _bed.Server.WaitForRequests(2, Wait);
            string first = WebhookTestBed.Json(requests[0]).GetProperty("content").GetString();
            Assert.Contains("by p1", first, StringComparison.Ordinal);
            string content = WebhookTestBed.Json(requests[1]).GetProperty("content").GetString();
            Assert.StartsWith("**2 alerts — rule burst on testhost**", content, StringComparison.Ordinal);
            foreach (var p in new[] { "p2", "p3" }) Assert.Contains("by " + p, content, StringComparison.Ordinal);
        }

        [Fact]
        public void AFullQueueDropsTheOldestAndCountsIt()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, Response.NeverAnswer());
            var options = _bed.FastOptions();
            options.QueueCapacity = 2;
            options.AttemptTimeout = TimeSpan.FromSeconds(30);
            var delivery = _bed.Delivery(options);

            delivery.Enqueue(rule, WebhookTestBed.Alert("r1", "first"));
            _bed.Server.WaitForRequests(1, Wait); // in flight, hanging: no longer queued
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < 3; i++) delivery.Enqueue(rule, WebhookTestBed.Alert("r1", "later" + i));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), "Enqueue took " + watch.Elapsed.TotalMilliseconds + " ms");

            var stats = delivery.StatsFor("r1");
            Assert.Equal(1, stats.Dropped);
            Assert.Equal(3, stats.Pending);
            Assert.Equal(rule.Targets[0].Redacted + ": queue full (2 messages), oldest message dropped (1 alerts) and written to the dead-letter file", stats.LastError);
            Assert.Single(_bed.Server.Requests);
            // Dropped from the queue, kept in the file: the first queued after the hanging one ("later0").
            var line = Assert.Single(_bed.DeadLetterLines());
            Assert.Contains("\"error\":\"dropped: the queue was full (2 messages)\"", line);
            Assert.Contains("later0", line);
            Assert.DoesNotContain(WebhookTestBed.PathToken, line);
        }

        [Fact]
        public void SlackMessagesToOneUrlAreAtLeastOneSecondApart()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Slack, Response.Answer(200));
            var delivery = _bed.Delivery();
            var enqueuedAt = _bed.Server.Clock;
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1", "a"));
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1", "b"));

            // The second's slot is a second after the first's send began, which the server cannot see (the first may take a
            // while to arrive on a busy machine): measured from the enqueue, before both.
            var requests = _bed.Server.WaitForRequests(2, Wait);
            var afterEnqueue = requests[1].ReceivedAt - enqueuedAt;
            Assert.True(afterEnqueue >= TimeSpan.FromMilliseconds(990), "second Slack message " + afterEnqueue.TotalMilliseconds + " ms after the enqueue");
        }

        [Fact]
        public void FlushWritesWhatIsStillUndeliveredOneLineEach()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Discord, Response.NeverAnswer());
            var options = _bed.FastOptions();
            options.AttemptTimeout = TimeSpan.FromSeconds(30);
            var delivery = _bed.Delivery(options);
            var alerts = new[] { WebhookTestBed.Alert("r1", "a"), WebhookTestBed.Alert("r1", "b"), WebhookTestBed.Alert("r1", "c") };
            foreach (var a in alerts) delivery.Enqueue(rule, a);
            _bed.Server.WaitForRequests(1, Wait);

            Assert.Equal(3, delivery.Flush(TimeSpan.FromMilliseconds(200)));

            var lines = _bed.DeadLetterLines();
            Assert.Equal(3, lines.Length);
            var entries = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.All(entries, e =>
            {
                Assert.Equal(rule.Targets[0].Redacted, e.GetProperty("target").GetString());
                Assert.Equal("Discord", e.GetProperty("kind").GetString());
                Assert.Equal("r1", e.GetProperty("rule").GetString());
                Assert.Contains("flush", e.GetProperty("error").GetString(), StringComparison.Ordinal);
                Assert.Equal(0, e.GetProperty("payload").GetProperty("allowed_mentions").GetProperty("parse").GetArrayLength());
            });
            Assert.Equal(alerts.Select(a => a.Id).OrderBy(g => g),
                entries.Select(e => e.GetProperty("alerts").EnumerateArray().Single().GetGuid()).OrderBy(g => g));
            var stats = delivery.StatsFor("r1");
            Assert.Equal(3, stats.Failed);
            Assert.Equal(0, stats.Pending);
        }

        /// <summary>
        /// A target whose URL carries a user name and password is refused: the delivery never sent them (no Authorization
        /// header), so a receiver behind Basic authentication got unauthenticated posts. The error repeats neither.
        /// </summary>
        [Fact]
        public void AUrlWithCredentialsIsRefusedWithoutRepeatingThem()
        {
            var ex = Assert.Throws<ArgumentException>(() => new AlertTarget(new Uri("http://hookuser:" + WebhookTestBed.PathToken + "@127.0.0.1:41871/x")));
            Assert.StartsWith("A webhook URL must not carry a user name or password: ", ex.Message, StringComparison.Ordinal);
            Assert.Contains("put the secret in the URL's path or query instead", ex.Message);
            Assert.DoesNotContain(WebhookTestBed.PathToken, ex.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("hookuser", ex.ToString(), StringComparison.Ordinal);
            Assert.Null(AlertTarget.CredentialsRefusal(new Uri("https://hooks.slack.com/services/T0/B0/" + WebhookTestBed.PathToken)));
            Assert.Equal(AlertTargetKind.Generic, new AlertTarget(new Uri("http://127.0.0.1:41871/x?token=" + WebhookTestBed.QueryToken)).Kind);
        }

        [Fact]
        public void MessagesThatFailAreWrittenToTheDeadLetterFileWhenTheyFail()
        {
            using var closed = RefusingPort();
            int port = ((IPEndPoint)closed.LocalEndPoint).Port;
            var target = new AlertTarget(new Uri("http://127.0.0.1:" + port + "/hook/" + WebhookTestBed.PathToken + "?sig=" + WebhookTestBed.QueryToken), AlertTargetKind.Generic);
            var rule = WebhookTestBed.Rule("r1", TimeSpan.Zero, target);
            var options = _bed.FastOptions();
            options.MaxAttempts = 2;
            var delivery = _bed.Delivery(options);
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1", "a"));
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1", "b"));

            WebhookTestBed.WaitUntil(() => delivery.StatsFor("r1").Failed == 2, Wait, "Failed = 2");
            Assert.Equal(0, delivery.Flush(TimeSpan.FromSeconds(1)));
            var lines = _bed.DeadLetterLines();
            Assert.Equal(2, lines.Length);
            foreach (var line in lines)
            {
                var e = JsonDocument.Parse(line).RootElement;
                Assert.Equal("network error (ConnectionRefused)", e.GetProperty("error").GetString());
                Assert.Equal(2, e.GetProperty("attempts").GetInt32());
                Assert.Equal("connectionsmonitor.alert-batch/v1", e.GetProperty("payload").GetProperty("schema").GetString());
            }
            Assert.Equal(target.Redacted + ": network error (ConnectionRefused) after 2 attempts", delivery.StatsFor("r1").LastError);
        }

        [Fact]
        public void DisposeStopsPromptlyAndKeepsWhatWasInFlight()
        {
            var (rule, _) = RuleWith("r1", AlertTargetKind.Generic, Response.NeverAnswer());
            var options = _bed.FastOptions();
            options.AttemptTimeout = TimeSpan.FromSeconds(30);
            var delivery = new WebhookDelivery(options);
            delivery.Enqueue(rule, WebhookTestBed.Alert("r1"));
            _bed.Server.WaitForRequests(1, Wait);

            var watch = Stopwatch.StartNew();
            delivery.Dispose();
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), "Dispose took " + watch.Elapsed.TotalMilliseconds + " ms");
            Assert.Single(_bed.DeadLetterLines());
            Assert.Equal(1, delivery.StatsFor("r1").Failed);
            var ex = Assert.Throws<ObjectDisposedException>(() => delivery.SendNowAsync(rule, WebhookTestBed.Alert("r1"), CancellationToken.None).GetAwaiter().GetResult());
            Assert.DoesNotContain(WebhookTestBed.PathToken, ex.Message, StringComparison.Ordinal);
        }

        [Fact]
        public async Task TheWebhookUrlNeverAppearsAnywhere()
        {
            var options = _bed.FastOptions();
            options.MaxAttempts = 2;
            // Long enough that a refused connection on a busy machine (tests run in parallel) is refused, not timed out.
            options.AttemptTimeout = TimeSpan.FromSeconds(1);
            options.BreakerFailures = 2;
            var delivery = _bed.Delivery(options);
            var seen = new List<string>();

            var kinds = new[] { AlertTargetKind.Discord, AlertTargetKind.Slack, AlertTargetKind.Teams, AlertTargetKind.Generic };
            var scripts = new[] { Response.Answer(500), Response.Answer(400), Response.NeverAnswer(), Response.Answer(429, ("Retry-After", "3600")) };
            var rules = new List<AlertRule>();
            for (int i = 0; i < kinds.Length; i++)
            {
                var (rule, _) = RuleWith("s" + i, kinds[i], scripts[i]);
                rules.Add(rule);
                delivery.Enqueue(rule, WebhookTestBed.Alert(rule.Name));
                delivery.Enqueue(rule, WebhookTestBed.Alert(rule.Name));
            }
            using var closed = RefusingPort();
            var refused = new AlertTarget(new Uri("http://127.0.0.1:" + ((IPEndPoint)closed.LocalEndPoint).Port + "/hook/" + WebhookTestBed.PathToken + "?sig=" + WebhookTestBed.QueryToken), AlertTargetKind.Discord);
            var refusedRule = WebhookTestBed.Rule("refused", TimeSpan.Zero, refused);
            rules.Add(refusedRule);

            foreach (var rule in rules)
            {
                var results = await delivery.SendNowAsync(rule, WebhookTestBed.Alert(rule.Name, status: AlertStatus.Test), CancellationToken.None);
                foreach (var r in results) { seen.Add(r.Error); seen.Add(r.Target); seen.Add(r.ToString()); }
            }
            WebhookTestBed.WaitUntil(() => rules.Take(4).All(r => delivery.StatsFor(r.Name).Failed >= 3), Wait, "every queued message failed");
            delivery.Enqueue(rules[2], WebhookTestBed.Alert("s2"));
            delivery.Flush(TimeSpan.Zero);

            foreach (var rule in rules)
            {
                var s = delivery.StatsFor(rule.Name);
                seen.Add(s.LastError);
                seen.Add(s.ToString());
                Assert.NotNull(s.LastError);
                foreach (var t in rule.Targets) seen.Add(t.ToString());
            }
            seen.Add(delivery.ToString());
            seen.Add(options.ToString());
            seen.Add(File.ReadAllText(_bed.DeadLetterPath));
            Assert.True(_bed.DeadLetterLines().Length >= 8);
            delivery.Dispose();
            try { await delivery.SendNowAsync(rules[0], WebhookTestBed.Alert("s0"), CancellationToken.None); }
            catch (Exception e) { seen.Add(e.ToString()); }
            Assert.Throws<ArgumentException>(() => new AlertTarget(new Uri("ftp://127.0.0.1/" + WebhookTestBed.PathToken)));

            string all = string.Join("\n", seen.Where(s => s != null));
            Assert.Contains("HTTP 500", all, StringComparison.Ordinal);
            Assert.Contains("HTTP 400", all, StringComparison.Ordinal);
            Assert.Contains("time-out", all, StringComparison.Ordinal);
            Assert.Contains("ConnectionRefused", all, StringComparison.Ordinal);
            Assert.DoesNotContain(WebhookTestBed.PathToken, all, StringComparison.Ordinal);
            Assert.DoesNotContain(WebhookTestBed.QueryToken, all, StringComparison.Ordinal);
            Assert.DoesNotContain("/api/webhooks/", all, StringComparison.Ordinal);
            Assert.DoesNotContain("sig=", all, StringComparison.Ordinal);
        }

        [Fact]
        public void ScrubRemovesTheUrlItsPathItsQueryAndItsTokens()
        {
            var url = new Uri("https://discord.com/api/webhooks/123456789012345678/" + WebhookTestBed.PathToken + "?sig=" + WebhookTestBed.QueryToken);
            string text = "failed: " + url.AbsoluteUri + " | " + url.PathAndQuery + " | " + WebhookTestBed.PathToken + " | " + WebhookTestBed.QueryToken + " | 123456789012345678";
            string scrubbed = DeliveryErrors.Scrub(text, url);
            Assert.DoesNotContain(WebhookTestBed.PathToken, scrubbed, StringComparison.Ordinal);
            Assert.DoesNotContain(WebhookTestBed.QueryToken, scrubbed, StringComparison.Ordinal);
            Assert.DoesNotContain("123456789012345678", scrubbed, StringComparison.Ordinal);
            Assert.StartsWith("failed: ", scrubbed, StringComparison.Ordinal);
        }

        /// <summary>
        /// A loopback port that refuses connections for as long as the socket lives: bound, never listening, so no other test
        /// running alongside can take the port and answer (a port merely closed again could be).
        /// </summary>
        private static System.Net.Sockets.Socket RefusingPort()
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return socket;
        }
    }
}
