using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Display;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>
    /// A Discord webhook body: <c>{"content": "…", "allowed_mentions": {"parse": []}, "username"?: "…"}</c>.
    /// Content is Markdown: the title in bold, every line <see cref="UntrustedText.ForMarkdown"/>-escaped, at most
    /// 2000 characters (Discord's limit) with "… and N more" when lines are left out. The empty allowed_mentions
    /// list means Discord pings nobody whatever the text says; the escaped mentions make that hold twice.
    /// </summary>
    internal static class DiscordPayload
    {
        /// <summary>Discord's content limit.</summary>
        public const int MaxContent = 2000;
        private const int MaxLine = 400;

        public static string Content(AlertMessageText text)
        {
            var lines = text.Lines.Select(l => (l.Level == AlertMessageText.LineLevel.Alert ? "▸ " : "    • ") + UntrustedText.ForMarkdown(l.Text)).ToList();
            string title = "**" + AlertMessageText.Cut(UntrustedText.ForMarkdown(text.Title), MaxLine) + "**";
            return AlertMessageText.Join(title, lines, MaxContent, MaxLine);
        }

        public static byte[] Build(IReadOnlyList<AlertEvent> alerts, string userName)
        {
            string content = Content(AlertMessageText.For(alerts));
            return JsonBody.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("content", content);
                string name = UntrustedText.Clean(userName);
                if (name.Length > 0) w.WriteString("username", AlertMessageText.Cut(name, 80));
                w.WriteStartObject("allowed_mentions");
                w.WriteStartArray("parse");
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
            });
        }
    }
}
