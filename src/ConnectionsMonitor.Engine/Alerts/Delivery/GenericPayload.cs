using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>
    /// The generic webhook body (docs/alert-webhooks.md, "Generic webhook schema"): always a batch,
    /// <c>{"schema":"connectionsmonitor.alert-batch/v1","rule":…,"host":…,"count":n,"alerts":[alert/v1 …]}</c>,
    /// one element per alert, each with its own <c>"schema":"connectionsmonitor.alert/v1"</c>. Strings are the
    /// raw values (the receiver's data) with only <see cref="UntrustedText.Clean"/> applied and JSON escaping.
    /// </summary>
    internal static class GenericPayload
    {
        public const string BatchSchema = "connectionsmonitor.alert-batch/v1";
        public const string AlertSchema = "connectionsmonitor.alert/v1";

        public static byte[] Build(IReadOnlyList<AlertEvent> alerts)
        {
            return JsonBody.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("schema", BatchSchema);
                w.WriteString("rule", UntrustedText.Clean(alerts[0].RuleName));
                String(w, "host", alerts[0].HostName);
                w.WriteNumber("count", alerts.Count);
                w.WriteStartArray("alerts");
                foreach (var a in alerts) Alert(w, a);
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }

        /// <summary>Status as the schema writes it: firing, repeating, resolved, test.</summary>
        public static string StatusText(AlertStatus status) => status.ToString().ToLowerInvariant();

        private static void Alert(Utf8JsonWriter w, AlertEvent a)
        {
            w.WriteStartObject();
            w.WriteString("schema", AlertSchema);
            w.WriteString("id", a.Id.ToString("D"));
            String(w, "rule", a.RuleName);
            w.WriteString("kind", a.Kind.ToString());
            w.WriteString("status", StatusText(a.Status));
            w.WriteString("time", a.TimeUtc.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            String(w, "host", a.HostName);
            String(w, "summary", a.Summary);
            Number(w, "value", a.Value);
            Number(w, "threshold", a.Threshold);
            String(w, "subject", a.Subject);
            w.WriteStartArray("items");
            int written = 0, omitted = 0;
            foreach (var i in a.Items)
            {
                if (i == null) continue;
                if (written == MaxItems) { omitted++; continue; }
                written++;
                w.WriteStartObject();
                if (i.Protocol == null) w.WriteNull("protocol"); else w.WriteString("protocol", i.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP");
                String(w, "localAddress", i.LocalAddress);
                Number(w, "localPort", i.LocalPort);
                String(w, "remoteAddress", i.RemoteAddress);
                Number(w, "remotePort", i.RemotePort);
                if (i.State == null) w.WriteNull("state"); else w.WriteString("state", i.State.Value.ToString());
                Number(w, "processId", i.ProcessId);
                String(w, "processName", i.ProcessName);
                String(w, "processPath", i.ProcessPath);
                String(w, "remoteHostName", i.RemoteHostName);
                String(w, "country", i.Country);
                if (i.Asn == null) w.WriteNull("asn"); else w.WriteNumber("asn", i.Asn.Value);
                String(w, "asnOrganization", i.AsnOrganization);
                String(w, "detail", i.Detail);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("itemsOmitted", omitted);
            w.WriteEndObject();
        }

        /// <summary>Items written per alert at most (a burst of thousands of connections would make a body of megabytes); the rest are counted in "itemsOmitted".</summary>
        public const int MaxItems = 200;

        private static void String(Utf8JsonWriter w, string name, string value)
        {
            if (value == null) w.WriteNull(name);
            else w.WriteString(name, UntrustedText.Clean(value));
        }

        private static void Number(Utf8JsonWriter w, string name, double? value)
        {
            if (value == null || double.IsNaN(value.Value) || double.IsInfinity(value.Value)) w.WriteNull(name);
            else w.WriteNumber(name, value.Value);
        }

        private static void Number(Utf8JsonWriter w, string name, int? value)
        {
            if (value == null) w.WriteNull(name);
            else w.WriteNumber(name, value.Value);
        }
    }
}
