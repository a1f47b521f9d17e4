using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using ConnectionsMonitor.Engine.Display;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>
    /// A Teams Workflows ("When a Teams webhook request is received") body: a message with one Adaptive Card 1.4
    /// attachment whose body is a title TextBlock, a FactSet (rule, host, status, kind, time) and one TextBlock
    /// per alert or item line (at most <see cref="MaxLines"/>, then "… and N more"). TextBlocks and fact values
    /// render a Markdown subset, so every text goes through <see cref="UntrustedText.ForMarkdown"/>.
    /// </summary>
    internal static class TeamsPayload
    {
        public const int MaxLines = 40;
        private const int MaxLine = 400;

        public static byte[] Build(IReadOnlyList<AlertEvent> alerts)
        {
            var text = AlertMessageText.For(alerts);
            var first = alerts[0];
            var last = alerts[alerts.Count - 1];
            string M(string s) => AlertMessageText.Cut(UntrustedText.ForMarkdown(s), MaxLine);
            string time = first.TimeUtc.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC"
                + (alerts.Count > 1 ? " – " + last.TimeUtc.ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "");
            var facts = new List<KeyValuePair<string, string>>
            {
                new KeyValuePair<string, string>("Rule", first.RuleName),
                new KeyValuePair<string, string>("Host", first.HostName),
                new KeyValuePair<string, string>("Status", string.Join(", ", alerts.Select(a => a.Status.ToString()).Distinct())),
                new KeyValuePair<string, string>("Kind", string.Join(", ", alerts.Select(a => a.Kind.ToString()).Distinct())),
                new KeyValuePair<string, string>("Time", time),
            };
            if (alerts.Count > 1) facts.Add(new KeyValuePair<string, string>("Alerts", alerts.Count.ToString(CultureInfo.InvariantCulture)));

            return JsonBody.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "message");
                w.WriteStartArray("attachments");
                w.WriteStartObject();
                w.WriteString("contentType", "application/vnd.microsoft.card.adaptive");
                w.WriteNull("contentUrl");
                w.WriteStartObject("content");
                w.WriteString("$schema", "http://adaptivecards.io/schemas/adaptive-card.json");
                w.WriteString("type", "AdaptiveCard");
                w.WriteString("version", "1.4");
                w.WriteStartArray("body");

                TextBlock(w, M(text.Title), bold: true, spacingNone: false);
                w.WriteStartObject();
                w.WriteString("type", "FactSet");
                w.WriteStartArray("facts");
                foreach (var f in facts)
                {
                    w.WriteStartObject();
                    w.WriteString("title", f.Key);
                    w.WriteString("value", M(f.Value));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();

                int shown = 0;
                foreach (var line in text.Lines)
                {
                    if (shown == MaxLines)
                    {
                        TextBlock(w, "… and " + (text.Lines.Count - shown).ToString(CultureInfo.InvariantCulture) + " more", bold: false, spacingNone: true);
                        break;
                    }
                    TextBlock(w, (line.Level == AlertMessageText.LineLevel.Alert ? "▸ " : "    • ") + M(line.Text), bold: false, spacingNone: line.Level == AlertMessageText.LineLevel.Item);
                    shown++;
                }

                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }

        private static void TextBlock(Utf8JsonWriter w, string text, bool bold, bool spacingNone)
        {
            w.WriteStartObject();
            w.WriteString("type", "TextBlock");
            w.WriteString("text", text);
            w.WriteBoolean("wrap", true);
            if (bold)
            {
                w.WriteString("weight", "Bolder");
                w.WriteString("size", "Medium");
            }
            if (spacingNone) w.WriteString("spacing", "None");
            w.WriteEndObject();
        }
    }
}
