using System;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Alerts.Delivery
{
    /// <summary>The bodies each kind of webhook receives, parsed from what a real local endpoint got.</summary>
    public sealed class PayloadTests : IDisposable
    {
        /// <summary>A process name that tries every kind of ping and markup.</summary>
        private const string Hostile = "@everyone @here <!channel> <!here> <@123> <@&456> **x** [a](http://evil.invalid) <script>alert(1)</script>\u001b[31m";

        private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
        private readonly WebhookTestBed _bed = new WebhookTestBed();

        public void Dispose() => _bed.Dispose();

        private LocalHttpServer.Request SendOne(AlertTargetKind kind, AlertEvent alert, string ruleName = "r1")
        {
            string path = _bed.NewHookPath();
            _bed.Server.Script(path, LocalHttpServer.Response.Answer(204));
            var rule = WebhookTestBed.Rule(ruleName, TimeSpan.Zero, _bed.Target(path, kind));
            var delivery = _bed.Delivery();
            delivery.Enqueue(rule, alert);
            var request = _bed.Server.WaitForRequests(1, Wait).Single();
            Assert.Equal("POST", request.Method);
            Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
            return request;
        }

        [Fact]
        public void DiscordGetsContentWithNoMentionsAllowedAndEscapedMarkdown()
        {
            var json = WebhookTestBed.Json(SendOne(AlertTargetKind.Discord, WebhookTestBed.Alert("r1", Hostile)));

            Assert.Equal(JsonValueKind.Array, json.GetProperty("allowed_mentions").GetProperty("parse").ValueKind);
            Assert.Equal(0, json.GetProperty("allowed_mentions").GetProperty("parse").GetArrayLength());
            string content = json.GetProperty("content").GetString();
            Assert.True(content.Length <= 2000);
            Assert.StartsWith("**Firing — rule r1 on testhost**\n", content, StringComparison.Ordinal);
            Assert.Contains("@\u200Beveryone", content, StringComparison.Ordinal);
            Assert.Contains("@\u200Bhere", content, StringComparison.Ordinal);
            Assert.DoesNotContain("@everyone", content, StringComparison.Ordinal);
            Assert.DoesNotContain("@here", content, StringComparison.Ordinal);
            Assert.Contains("\\<\u200B@123\\>", content, StringComparison.Ordinal);
            Assert.Contains("\\<\u200B!channel\\>", content, StringComparison.Ordinal);
            Assert.DoesNotContain("<@", content, StringComparison.Ordinal);
            Assert.DoesNotContain("<!", content, StringComparison.Ordinal);
            Assert.Contains("\\*\\*x\\*\\*", content, StringComparison.Ordinal);
            Assert.DoesNotContain("**x**", content, StringComparison.Ordinal);
            Assert.Contains("\\[a\\]\u200B(http:\u200B//evil.invalid)", content, StringComparison.Ordinal);
            Assert.DoesNotContain("](", content, StringComparison.Ordinal);
            Assert.DoesNotContain("://", content, StringComparison.Ordinal);
            Assert.Contains("\\<script\\>", content, StringComparison.Ordinal);
            Assert.DoesNotContain("<script>", content, StringComparison.Ordinal);
            Assert.DoesNotContain("\u001b", content, StringComparison.Ordinal);
            Assert.False(json.TryGetProperty("username", out _));
        }

        [Fact]
        public void DiscordUserNameIsSentWhenSet()
        {
            string path = _bed.NewHookPath();
            _bed.Server.Script(path, LocalHttpServer.Response.Answer(204));
            var options = _bed.FastOptions();
            options.DiscordUserName = "Monitor\u001b[2J";
            var delivery = _bed.Delivery(options);
            delivery.Enqueue(WebhookTestBed.Rule("r1", TimeSpan.Zero, _bed.Target(path, AlertTargetKind.Discord)), WebhookTestBed.Alert("r1"));
            var json = WebhookTestBed.Json(_bed.Server.WaitForRequests(1, Wait).Single());
            Assert.Equal("Monitor\u241B[2J", json.GetProperty("username").GetString());
        }

        [Fact]
        public void SlackGetsPlainTextWithControlCharactersEscaped()
        {
            var json = WebhookTestBed.Json(SendOne(AlertTargetKind.Slack, WebhookTestBed.Alert("r1", Hostile + " a & b")));

            Assert.False(json.GetProperty("mrkdwn").GetBoolean());
            string text = json.GetProperty("text").GetString();
            Assert.StartsWith("Firing — rule r1 on testhost\n", text, StringComparison.Ordinal);
            Assert.DoesNotContain("<", text, StringComparison.Ordinal);
            Assert.DoesNotContain(">", text, StringComparison.Ordinal);
            Assert.Contains("&lt;\u200B!channel&gt;", text, StringComparison.Ordinal);
            Assert.Contains("&lt;\u200B!here&gt;", text, StringComparison.Ordinal);
            Assert.Contains("&lt;\u200B@123&gt;", text, StringComparison.Ordinal);
            Assert.Contains("@\u200Beveryone", text, StringComparison.Ordinal);
            Assert.DoesNotContain("@everyone", text, StringComparison.Ordinal);
            Assert.DoesNotContain("@here", text, StringComparison.Ordinal);
            Assert.Contains("&lt;script&gt;", text, StringComparison.Ordinal);
            Assert.Contains("a &amp; b", text, StringComparison.Ordinal);
            Assert.DoesNotContain("://", text, StringComparison.Ordinal);
        }

        [Fact]
        public void TeamsGetsAnAdaptiveCardWhoseTextCannotCarryMarkup()
        {
            var json = WebhookTestBed.Json(SendOne(AlertTargetKind.Teams, WebhookTestBed.Alert("r1", Hostile)));

            Assert.Equal("message", json.GetProperty("type").GetString());
            var attachment = json.GetProperty("attachments").EnumerateArray().Single();
            Assert.Equal("application/vnd.microsoft.card.adaptive", attachment.GetProperty("contentType").GetString());
            Assert.Equal(JsonValueKind.Null, attachment.GetProperty("contentUrl").ValueKind);
            var card = attachment.GetProperty("content");
            Assert.Equal("http://adaptivecards.io/schemas/adaptive-card.json", card.GetProperty("$schema").GetString());
            Assert.Equal("AdaptiveCard", card.GetProperty("type").GetString());
            Assert.Equal("1.4", card.GetProperty("version").GetString());
            var body = card.GetProperty("body").EnumerateArray().ToList();
            Assert.Equal("TextBlock", body[0].GetProperty("type").GetString());
            Assert.Equal("Firing — rule r1 on testhost", body[0].GetProperty("text").GetString());
            var facts = body.Single(b => b.GetProperty("type").GetString() == "FactSet").GetProperty("facts").EnumerateArray()
                .ToDictionary(f => f.GetProperty("title").GetString(), f => f.GetProperty("value").GetString());
            Assert.Equal("r1", facts["Rule"]);
            Assert.Equal("testhost", facts["Host"]);
            Assert.Equal("Firing", facts["Status"]);
            Assert.Equal("NewListeningPort", facts["Kind"]);

            var texts = body.Where(b => b.GetProperty("type").GetString() == "TextBlock").Select(b => b.GetProperty("text").GetString()).ToList();
            string all = string.Join("\n", texts.Concat(facts.Values));
            Assert.Contains(texts, t => t.Contains("\\*\\*x\\*\\*"));
            Assert.DoesNotContain("**x**", all, StringComparison.Ordinal);
            Assert.DoesNotContain("](", all, StringComparison.Ordinal);
            Assert.DoesNotContain("://", all, StringComparison.Ordinal);
            Assert.DoesNotContain("@everyone", all, StringComparison.Ordinal);
            Assert.DoesNotContain("<@", all, StringComparison.Ordinal);
            Assert.DoesNotContain("<script>", all, StringComparison.Ordinal);
            Assert.Contains("@\u200Beveryone", all, StringComparison.Ordinal);
        }

        [Fact]
        public void GenericGetsTheVersionedSchemaWithRawButCleanStrings()
        {
            var alert = WebhookTestBed.Alert("r1", Hostile);
            alert.Value = 120;
            alert.Threshold = 100;
            alert.Subject = "nginx";
            var json = WebhookTestBed.Json(SendOne(AlertTargetKind.Generic, alert));

            Assert.Equal("connectionsmonitor.alert-batch/v1", json.GetProperty("schema").GetString());
            Assert.Equal("r1", json.GetProperty("rule").GetString());
            Assert.Equal("testhost", json.GetProperty("host").GetString());
            Assert.Equal(1, json.GetProperty("count").GetInt32());
            var a = json.GetProperty("alerts").EnumerateArray().Single();
            Assert.Equal("connectionsmonitor.alert/v1", a.GetProperty("schema").GetString());
            Assert.Equal(alert.Id, a.GetProperty("id").GetGuid());
            Assert.Equal("r1", a.GetProperty("rule").GetString());
            Assert.Equal("NewListeningPort", a.GetProperty("kind").GetString());
            Assert.Equal("firing", a.GetProperty("status").GetString());
            Assert.Equal("2026-03-04T05:06:07.890Z", a.GetProperty("time").GetString());
            Assert.Equal("testhost", a.GetProperty("host").GetString());
            Assert.Equal(120, a.GetProperty("value").GetDouble());
            Assert.Equal(100, a.GetProperty("threshold").GetDouble());
            Assert.Equal("nginx", a.GetProperty("subject").GetString());
            string cleanHostile = Hostile.Replace("\u001b", "\u241B"); // the ESC shown as ␛, the rest as it was
            Assert.Equal("New listening port 8080/TCP by " + cleanHostile, a.GetProperty("summary").GetString());

            var item = a.GetProperty("items").EnumerateArray().Single();
            Assert.Equal("TCP", item.GetProperty("protocol").GetString());
            Assert.Equal("0.0.0.0", item.GetProperty("localAddress").GetString());
            Assert.Equal(8080, item.GetProperty("localPort").GetInt32());
            Assert.Equal("203.0.113.9", item.GetProperty("remoteAddress").GetString());
            Assert.Equal(443, item.GetProperty("remotePort").GetInt32());
            Assert.Equal("Listen", item.GetProperty("state").GetString());
            Assert.Equal(412, item.GetProperty("processId").GetInt32());
            Assert.Equal(cleanHostile, item.GetProperty("processName").GetString());
            Assert.Equal("/usr/sbin/" + cleanHostile, item.GetProperty("processPath").GetString());
            Assert.Equal("host.example", item.GetProperty("remoteHostName").GetString());
            Assert.Equal("NL", item.GetProperty("country").GetString());
            Assert.Equal(64500, item.GetProperty("asn").GetInt64());
            Assert.Equal("Example Org", item.GetProperty("asnOrganization").GetString());
            Assert.Equal("first seen", item.GetProperty("detail").GetString());
        }

        [Fact]
        public async Task TestMessagesAreClearlyMarked()
        {
            string discord = _bed.NewHookPath(), slack = _bed.NewHookPath(), teams = _bed.NewHookPath(), generic = _bed.NewHookPath();
            foreach (var p in new[] { discord, slack, teams, generic }) _bed.Server.Script(p, LocalHttpServer.Response.Answer(200));
            var rule = WebhookTestBed.Rule("r1", TimeSpan.Zero,
                _bed.Target(discord, AlertTargetKind.Discord), _bed.Target(slack, AlertTargetKind.Slack),
                _bed.Target(teams, AlertTargetKind.Teams), _bed.Target(generic, AlertTargetKind.Generic));
            var results = await _bed.Delivery().SendNowAsync(rule, WebhookTestBed.Alert("r1", status: AlertStatus.Test, summary: "Test alert"), CancellationToken.None);

            Assert.Equal(4, results.Count);
            Assert.All(results, r => { Assert.True(r.Delivered); Assert.Equal(200, r.StatusCode); Assert.Equal(1, r.Attempts); Assert.Null(r.Error); });
            var byPath = _bed.Server.Requests.ToDictionary(r => r.Path, WebhookTestBed.Json);
            Assert.StartsWith("**TEST — ConnectionsMonitor test message for rule r1", byPath[discord].GetProperty("content").GetString(), StringComparison.Ordinal);
            Assert.StartsWith("TEST — ConnectionsMonitor test message for rule r1", byPath[slack].GetProperty("text").GetString(), StringComparison.Ordinal);
            var card = byPath[teams].GetProperty("attachments")[0].GetProperty("content");
            Assert.StartsWith("TEST — ConnectionsMonitor test message for rule r1", card.GetProperty("body")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
            Assert.Equal("test", byPath[generic].GetProperty("alerts")[0].GetProperty("status").GetString());
        }

        [Fact]
        public void DiscordContentIsCutAt2000WithoutSplittingSurrogatePairs()
        {
            var items = Enumerable.Range(0, 200).Select(i => new AlertItem { ProcessName = "proc😀😀😀" + i, ProcessId = i, Detail = new string('x', 20) + "😀" }).ToArray();
            var alert = new AlertEvent("r1", AlertKind.NewProcessTalkingOut, AlertStatus.Firing, DateTime.UtcNow, "burst", items) { HostName = "h" };
            byte[] body = AlertPayloads.Build(AlertTargetKind.Discord, new[] { alert });
            using var doc = JsonDocument.Parse(body);
            string content = doc.RootElement.GetProperty("content").GetString();

            Assert.True(content.Length <= DiscordPayload.MaxContent, content.Length.ToString());
            Assert.True(content.Length > 1900, "cut far too early: " + content.Length);
            int shownItems = content.Split('\n').Count(l => l.StartsWith("    • "));
            Assert.EndsWith("\n… and " + (200 - shownItems) + " more", content, StringComparison.Ordinal);
            AssertNoLoneSurrogates(content);
        }

        [Fact]
        public void CutNeverSplitsASurrogatePairNorLeavesAnEscapingBackslash()
        {
            string emoji = string.Concat(Enumerable.Repeat("😀", 10));
            for (int max = 2; max < 21; max++) AssertNoLoneSurrogates(AlertMessageText.Cut(emoji, max));
            Assert.Equal("ab…", AlertMessageText.Cut("ab\\*cdef", 4));
            Assert.Equal("ab\\\\…", AlertMessageText.Cut("ab\\\\cdef", 5));
        }

        [Fact]
        public void MarkdownEscapeKeepsPlainNamesAndBreaksEveryTrick()
        {
            Assert.Equal("nginx-worker.exe (1)", UntrustedText.ForMarkdown("nginx-worker.exe (1)"));
            Assert.Equal("\\*\\*x\\*\\* \\_y\\_ \\~\\~z\\~\\~ \\`c\\` \\|\\|s\\|\\|", UntrustedText.ForMarkdown("**x** _y_ ~~z~~ `c` ||s||"));
            Assert.Equal("\\[a\\]\u200B(http:\u200B//evil)", UntrustedText.ForMarkdown("[a](http://evil)"));
            Assert.Equal("@\u200Beveryone @\u200Bhere me@example.invalid", UntrustedText.ForMarkdown("@everyone @here me@example.invalid"));
            Assert.Equal("\\<\u200B@123\\> \\<\u200B!channel\\> \\<\u200B\\#9\\>", UntrustedText.ForMarkdown("<@123> <!channel> <#9>"));
            Assert.Equal("\\\\", UntrustedText.ForMarkdown("\\"));
            Assert.Equal("a b", UntrustedText.ForMarkdown("a\nb".Replace("\n", " ")));
            Assert.Equal("a\u240D\u240Ab", UntrustedText.ForMarkdown("a\r\nb")); // no line break: shown as ␍␊
        }

        private static void AssertNoLoneSurrogates(string s)
        {
            for (int i = 0; i < s.Length; i++)
            {
                if (char.IsHighSurrogate(s[i])) { Assert.True(i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]), "lone high surrogate at " + i); i++; }
                else Assert.False(char.IsLowSurrogate(s[i]), "lone low surrogate at " + i);
            }
        }
    
        [Fact]
        public void AGenericBodyKeepsTheFirst200ItemsOfABurstAndCountsTheRest()
        {
            var one = WebhookTestBed.Alert("burst").Items[0];
            var items = Enumerable.Range(0, 2000).Select(i => new AlertItem { Protocol = one.Protocol, LocalPort = 40000 + i, ProcessName = "p" + i }).ToArray();
            var alert = new AlertEvent("burst", AlertKind.NewProcessTalkingOut, AlertStatus.Firing, DateTime.UtcNow, "2000 connections", items);
            byte[] body = AlertPayloads.Build(AlertTargetKind.Generic, new[] { alert });
            var a = JsonDocument.Parse(body).RootElement.GetProperty("alerts")[0];
            Assert.Equal(200, a.GetProperty("items").GetArrayLength());
            Assert.Equal(40199, a.GetProperty("items")[199].GetProperty("localPort").GetInt32());
            Assert.Equal(1800, a.GetProperty("itemsOmitted").GetInt32());
            Assert.True(body.Length < 100_000, body.Length + " bytes");
            var small = JsonDocument.Parse(AlertPayloads.Build(AlertTargetKind.Generic, new[] { WebhookTestBed.Alert("one") })).RootElement.GetProperty("alerts")[0];
            Assert.Equal(0, small.GetProperty("itemsOmitted").GetInt32());
        }
}
}
