using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>One undelivered message as the dead-letter file keeps it.</summary>
    internal sealed class DeadLetter
    {
        public string Target;      // redacted: kind, scheme and host only
        public AlertTargetKind Kind;
        public string Rule;
        public IReadOnlyList<Guid> AlertIds;
        public int Attempts;
        public string Error;       // scrubbed
        public byte[] Payload;     // the JSON body that was (to be) sent
    }

    /// <summary>
    /// Appends undelivered messages to a JSON-lines file, one object a line:
    /// <c>{"time","target","kind","rule","alerts":[ids],"attempts","error","payload":{…}}</c>. Never the URL.
    /// A new file is readable by its owner only (0600 on Linux); an existing one keeps its mode. Thread-safe (one writer at a time in this process).
    /// </summary>
    internal sealed class DeadLetterFile
    {
        private readonly object _lock = new object();

        public DeadLetterFile(string path) { Path = path; }

        public string Path { get; }

        /// <summary>Appends <paramref name="entries"/>; false (nothing thrown) when the file cannot be written.</summary>
        public bool Append(IReadOnlyCollection<DeadLetter> entries)
        {
            if (entries.Count == 0) return true;
            var text = new StringBuilder();
            foreach (var e in entries) text.Append(Encoding.UTF8.GetString(Line(e))).Append('\n');
            lock (_lock)
            {
                try
                {
                    string dir = System.IO.Path.GetDirectoryName(Path);
                    if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
                    // Alert payloads name processes and addresses: a new file is readable by its owner only (0600).
                    Platform.PrivateFile.CreateOwnerOnlyIfMissing(Path);
                    File.AppendAllText(Path, text.ToString(), new UTF8Encoding(false));
                    return true;
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException)
                {
                    return false;
                }
            }
        }

        private static byte[] Line(DeadLetter e) => JsonBody.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("time", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteString("target", e.Target);
            w.WriteString("kind", e.Kind.ToString());
            w.WriteString("rule", e.Rule);
            w.WriteStartArray("alerts");
            foreach (var id in e.AlertIds) w.WriteStringValue(id.ToString("D"));
            w.WriteEndArray();
            w.WriteNumber("attempts", e.Attempts);
            w.WriteString("error", e.Error);
            w.WritePropertyName("payload");
            if (e.Payload == null || e.Payload.Length == 0) w.WriteNullValue();
            else w.WriteRawValue(e.Payload, skipInputValidation: false);
            w.WriteEndObject();
        });
    }
}
