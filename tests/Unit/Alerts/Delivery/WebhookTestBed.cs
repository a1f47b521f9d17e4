using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Tests.TestSupport;

namespace ConnectionsMonitor.Tests.Alerts.Delivery
{
    /// <summary>
    /// A local webhook endpoint, fast delivery options (tiny backoffs, a temporary dead-letter file) and alert
    /// builders for the delivery tests. Webhook URLs carry a secret path token and a secret query signature so
    /// every test can check neither leaks.
    /// </summary>
    public sealed class WebhookTestBed : IDisposable
    {
        public const string PathToken = "PaThSeCrEt0123456789abcdefTOKEN";
        public const string QueryToken = "QuErYsIgNaTuRe9876543210xyz";

        private readonly string _directory = Path.Combine(Path.GetTempPath(), "cm-webhook-" + Guid.NewGuid().ToString("N"));
        private readonly List<WebhookDelivery> _deliveries = new List<WebhookDelivery>();
        private int _hooks;

        public WebhookTestBed()
        {
            Directory.CreateDirectory(_directory);
            DeadLetterPath = Path.Combine(_directory, "dead", "alerts-undelivered.jsonl");
        }

        public LocalHttpServer Server { get; } = new LocalHttpServer();

        public string DeadLetterPath { get; }

        /// <summary>A new webhook path on the server: "/api/webhooks/{n}/{PathToken}".</summary>
        public string NewHookPath() => "/api/webhooks/" + (1000 + Interlocked.Increment(ref _hooks)) + "/" + PathToken;

        /// <summary>A target at <paramref name="path"/> on the server with the secret query.</summary>
        public AlertTarget Target(string path, AlertTargetKind kind) => new AlertTarget(Server.Url(path + "?sig=" + QueryToken), kind);

        public WebhookDeliveryOptions FastOptions() => new WebhookDeliveryOptions
        {
            AttemptTimeout = TimeSpan.FromSeconds(5),
            MaxAttempts = 3,
            BackoffBase = TimeSpan.FromMilliseconds(10),
            BackoffCap = TimeSpan.FromMilliseconds(50),
            DeadLetterPath = DeadLetterPath,
            DisposeFlushTimeout = TimeSpan.FromMilliseconds(100),
            SlackInterval = TimeSpan.FromSeconds(1),
        };

        public WebhookDelivery Delivery(WebhookDeliveryOptions options = null)
        {
            var d = new WebhookDelivery(options ?? FastOptions());
            lock (_deliveries) _deliveries.Add(d);
            return d;
        }

        public static AlertRule Rule(string name, TimeSpan groupWindow, params AlertTarget[] targets) =>
            new AlertRule(name, new[] { new AlertCondition(AlertKind.NewListeningPort) })
            {
                Targets = targets,
                GroupWindow = groupWindow,
            };

        public static AlertEvent Alert(string rule, string processName = "nginx", AlertStatus status = AlertStatus.Firing, string summary = null) =>
            new AlertEvent(rule, AlertKind.NewListeningPort, status, new DateTime(2026, 3, 4, 5, 6, 7, 890, DateTimeKind.Utc),
                summary ?? "New listening port 8080/TCP by " + processName,
                new[]
                {
                    new AlertItem
                    {
                        Protocol = TransportProtocol.Tcp,
                        LocalAddress = "0.0.0.0",
                        LocalPort = 8080,
                        RemoteAddress = "203.0.113.9",
                        RemotePort = 443,
                        State = TcpState.Listen,
                        ProcessId = 412,
                        ProcessName = processName,
                        ProcessPath = "/usr/sbin/" + processName,
                        RemoteHostName = "host.example",
                        Country = "NL",
                        Asn = 64500,
                        AsnOrganization = "Example Org",
                        Detail = "first seen",
                    },
                })
            {
                HostName = "testhost",
            };

        public static JsonElement Json(LocalHttpServer.Request request)
        {
            using var doc = JsonDocument.Parse(request.Body);
            return doc.RootElement.Clone();
        }

        /// <summary>Waits (polling) until <paramref name="condition"/> holds; fails the test with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
        public static void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
        {
            var watch = Stopwatch.StartNew();
            while (!condition())
            {
                if (watch.Elapsed > timeout) throw new TimeoutException("Timed out waiting for: " + what);
                Thread.Sleep(10);
            }
        }

        public string[] DeadLetterLines() => File.Exists(DeadLetterPath)
            ? File.ReadAllLines(DeadLetterPath).Where(l => l.Length > 0).ToArray()
            : Array.Empty<string>();

        public void Dispose()
        {
            lock (_deliveries)
                foreach (var d in _deliveries) d.Dispose();
            Server.Dispose();
            try { Directory.Delete(_directory, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
