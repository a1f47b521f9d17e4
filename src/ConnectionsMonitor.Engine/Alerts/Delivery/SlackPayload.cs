using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine.Display;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>
    /// A Slack incoming-webhook body: <c>{"text": "…", "mrkdwn": false}</c>. Every line goes through
    /// <see cref="UntrustedText.ForChat"/> (&amp; &lt; &gt; escaped, so no &lt;!channel&gt;, &lt;@U123&gt; or
    /// &lt;url|text&gt; forms; @everyone/@here broken), and mrkdwn off so *bold*, _italics_ and `code` in a
    /// process name stay plain text. At most 4000 characters with "… and N more".
    /// </summary>
    internal static class SlackPayload
    {
        public const int MaxText = 4000;
        private const int MaxLine = 400;

        public static string Text(AlertMessageText text)
        {
            var lines = text.Lines.Select(l => (l.Level == AlertMessageText.LineLevel.Alert ? "▸ " : "    • ") + UntrustedText.ForChat(l.Text)).ToList();
            return AlertMessageText.Join(UntrustedText.ForChat(text.Title), lines, MaxText, MaxLine);
        }

        public static byte[] Build(IReadOnlyList<AlertEvent> alerts)
        {
            string body = Text(AlertMessageText.For(alerts));
            return JsonBody.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("text", body);
                w.WriteBoolean("mrkdwn", false);
                w.WriteEndObject();
            });
        }
    }
}
