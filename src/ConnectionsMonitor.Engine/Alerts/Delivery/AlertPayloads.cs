using System;
using System.Collections.Generic;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>The JSON body for a group of alerts of one rule, in the format of a target's kind.</summary>
    internal static class AlertPayloads
    {
        /// <param name="kind">The target's format.</param>
        /// <param name="alerts">One or more alerts of one rule, oldest first.</param>
        /// <param name="discordUserName">Discord's optional display name for the message; null for the webhook's own.</param>
        public static byte[] Build(AlertTargetKind kind, IReadOnlyList<AlertEvent> alerts, string discordUserName = null)
        {
            if (alerts == null || alerts.Count == 0) throw new ArgumentException("A message needs at least one alert.", nameof(alerts));
            switch (kind)
            {
                case AlertTargetKind.Discord: return DiscordPayload.Build(alerts, discordUserName);
                case AlertTargetKind.Slack: return SlackPayload.Build(alerts);
                case AlertTargetKind.Teams: return TeamsPayload.Build(alerts);
                default: return GenericPayload.Build(alerts);
            }
        }
    }
}
