using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;
using ConnectionsMonitor.Engine.Display;

namespace ConnectionsMonitor.Engine.Baseline
{
    /// <summary>A baseline file that cannot be used: the message says what was wrong and what is expected.</summary>
    public sealed class BaselineFormatException : Exception
    {
        public BaselineFormatException(string path, string message, Exception inner = null) : base(message, inner) { Path = path; }

        /// <summary>The file.</summary>
        public string Path { get; }
    }

    /// <summary>
    /// The baseline file: UTF-8 JSON, indented, one object:
    /// <code>
    /// { "format": "ConnectionsMonitor.Baseline", "formatVersion": 1, "created": "2026-12-01T06:00:00.0000000Z", "hostName": "web1",
    ///   "listeners": [ { "protocol": "TCP", "localAddress": "0.0.0.0", "localPort": 22, "processName": "sshd", "processPath": "/usr/sbin/sshd" } ],
    ///   "outbound":  [ { "protocol": "TCP", "processName": "curl", "processPath": "/usr/bin/curl", "remotePort": 443,
    ///                    "addressScope": "Public", "asn": 13335, "asnOrganization": "CLOUDFLARENET", "country": "US" } ],
    ///   "vpn":       [ { "processName": "openvpn", "processPath": "/usr/sbin/openvpn", "vpnReason": "remote port 1194 (OpenVPN)" } ] }
    /// </code>
    /// Unknown values are null. Text is escaped by System.Text.Json (non-ASCII and control characters as \uXXXX).
    /// A reader takes files of its format version or older; unknown properties are ignored (a later minor addition).
    /// Writes are atomic: a temporary file in the same folder, then a rename over the target.
    /// </summary>
    public static class BaselineFile
    {
        public static void Write(Stream stream, ConnectionBaseline baseline)
        {
            if (baseline == null) throw new ArgumentNullException(nameof(baseline));
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteString("format", ConnectionBaseline.FormatName);
                w.WriteNumber("formatVersion", baseline.FormatVersion);
                w.WriteString("created", DateTime.SpecifyKind(baseline.CreatedUtc, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
                Text(w, "hostName", baseline.HostName);
                Section(w, "listeners", baseline, BaselineEntryKind.Listener, (x, e) =>
                {
                    Text(x, "protocol", e.Protocol); Text(x, "localAddress", e.LocalAddress); Number(x, "localPort", e.LocalPort);
                    Text(x, "processName", e.ProcessName); Text(x, "processPath", e.ProcessPath);
                });
                Section(w, "outbound", baseline, BaselineEntryKind.Outbound, (x, e) =>
                {
                    Text(x, "protocol", e.Protocol); Text(x, "processName", e.ProcessName); Text(x, "processPath", e.ProcessPath);
                    Number(x, "remotePort", e.RemotePort); Text(x, "addressScope", e.AddressScope); Number(x, "asn", e.Asn);
                    Text(x, "asnOrganization", e.AsnOrganization); Text(x, "country", e.Country);
                });
                Section(w, "vpn", baseline, BaselineEntryKind.Vpn, (x, e) =>
                {
                    Text(x, "processName", e.ProcessName); Text(x, "processPath", e.ProcessPath); Text(x, "vpnReason", e.VpnReason);
                });
                w.WriteEndObject();
            }
        }

        /// <summary>
        /// Writes <paramref name="baseline"/> to <paramref name="path"/> atomically: a temporary file next to it, then a
        /// rename. An existing file is replaced only when <paramref name="overwrite"/> is true (else IOException, nothing written).
        /// </summary>
        public static void Write(string path, ConnectionBaseline baseline, bool overwrite)
        {
            string full = System.IO.Path.GetFullPath(path);
            if (!overwrite && File.Exists(full)) throw new IOException("The file '" + full + "' already exists.");
            string dir = System.IO.Path.GetDirectoryName(full);
            string temp = System.IO.Path.Combine(dir, "." + System.IO.Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp");
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    Write(stream, baseline);
                    stream.Flush(true);
                }
                if (File.Exists(full))
                {
                    if (!overwrite) throw new IOException("The file '" + full + "' already exists.");
                    File.Replace(temp, full, null);
                }
                else File.Move(temp, full);
            }
            finally
            {
                try { if (File.Exists(temp)) File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }

        private static void Section(Utf8JsonWriter w, string name, ConnectionBaseline b, BaselineEntryKind kind, Action<Utf8JsonWriter, BaselineEntry> fields)
        {
            w.WriteStartArray(name);
            foreach (var e in ConnectionBaseline.Sort(b.OfKind(kind)))
            {
                w.WriteStartObject();
                fields(w, e);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }

        private static void Text(Utf8JsonWriter w, string name, string value)
        {
            if (value == null) w.WriteNull(name); else w.WriteString(name, value);
        }

        private static void Number(Utf8JsonWriter w, string name, long? value)
        {
            if (value == null) w.WriteNull(name); else w.WriteNumber(name, value.Value);
        }

        private const string Expected = "A baseline file is the JSON object that a baseline export writes, with \"format\": \"" + ConnectionBaseline.FormatName + "\" and \"formatVersion\" 1.";

        /// <summary>Reads the baseline file at <paramref name="path"/>; <see cref="BaselineFormatException"/> when it cannot be used (unreadable, not JSON, another format, a newer version, a bad field).</summary>
        public static ConnectionBaseline Read(string path)
        {
            byte[] bytes;
            try { bytes = File.ReadAllBytes(path); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NotSupportedException || ex is ArgumentException)
            {
                throw new BaselineFormatException(path, "The baseline file '" + path + "' cannot be read: " + ex.Message, ex);
            }
            return Read(bytes, path);
        }

        /// <summary>Reads a baseline from the bytes of a file (<paramref name="path"/> names it in messages).</summary>
        public static ConnectionBaseline Read(byte[] bytes, string path)
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip }); }
            catch (JsonException ex)
            {
                // Not ex.Message, nor ex as the inner exception (Get-Error shows it): it quotes the file's bytes and the reader's internals.
                throw Bad(path, JsonReadError.Describe(ex, bytes) + ".");
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw Bad(path, "holds a JSON " + root.ValueKind.ToString().ToLowerInvariant() + ", not an object.");
                if (!root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != ConnectionBaseline.FormatName)
                    throw Bad(path, "is not a connection baseline (its \"format\" is " + Describe(root, "format") + ").");
                if (!root.TryGetProperty("formatVersion", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v < 1)
                    throw Bad(path, "has no usable \"formatVersion\" (it is " + Describe(root, "formatVersion") + ").");
                if (v > ConnectionBaseline.CurrentFormatVersion)
                    throw new BaselineFormatException(path, "The baseline file '" + path + "' has format version " + v + ", newer than this module reads (version "
                        + ConnectionBaseline.CurrentFormatVersion + " and older): it was written by a newer ConnectionsMonitor. Update the module, or export the baseline again with this one.");

                var b = new ConnectionBaseline { FormatVersion = v, HostName = OptionalText(path, root, "hostName") };
                if (!root.TryGetProperty("created", out var created) || created.ValueKind != JsonValueKind.String
                    || !DateTime.TryParse(created.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var createdUtc))
                    throw Bad(path, "has no usable \"created\" time (it is " + Describe(root, "created") + "; expected an ISO 8601 time such as \"2026-12-01T06:00:00Z\").");
                b.CreatedUtc = DateTime.SpecifyKind(createdUtc, DateTimeKind.Utc);

                foreach (var item in Items(path, root, "listeners"))
                    b.Entries.Add(new BaselineEntry
                    {
                        Kind = BaselineEntryKind.Listener, Protocol = ProtocolText(path, item), LocalAddress = OptionalText(path, item, "localAddress"),
                        LocalPort = (int?)OptionalNumber(path, item, "localPort", 0, 65535), ProcessName = OptionalText(path, item, "processName"),
                        ProcessPath = OptionalText(path, item, "processPath"),
                    });
                foreach (var item in Items(path, root, "outbound"))
                    b.Entries.Add(new BaselineEntry
                    {
                        Kind = BaselineEntryKind.Outbound, Protocol = ProtocolText(path, item), ProcessName = OptionalText(path, item, "processName"),
                        ProcessPath = OptionalText(path, item, "processPath"), RemotePort = (int?)OptionalNumber(path, item, "remotePort", 0, 65535),
                        AddressScope = OptionalText(path, item, "addressScope"), Asn = OptionalNumber(path, item, "asn", 0, uint.MaxValue),
                        AsnOrganization = OptionalText(path, item, "asnOrganization"), Country = OptionalText(path, item, "country"),
                    });
                foreach (var item in Items(path, root, "vpn"))
                    b.Entries.Add(new BaselineEntry
                    {
                        Kind = BaselineEntryKind.Vpn, ProcessName = OptionalText(path, item, "processName"),
                        ProcessPath = OptionalText(path, item, "processPath"), VpnReason = OptionalText(path, item, "vpnReason"),
                    });
                return b;
            }
        }

        private static BaselineFormatException Bad(string path, string what, Exception inner = null) =>
            new BaselineFormatException(path, "The file '" + path + "' " + what + " " + Expected, inner);

        private static string Describe(JsonElement obj, string name)
        {
            if (!obj.TryGetProperty(name, out var v)) return "missing";
            string raw = v.GetRawText();
            return raw.Length > 60 ? raw.Substring(0, 57) + "..." : raw;
        }

        private static IEnumerable<JsonElement> Items(string path, JsonElement root, string name)
        {
            // Always written, [] when there were none: a file without the array is damaged or hand-made, and reading it as
            // "no entries" would report every entry of the other side as added or removed.
            if (!root.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
                throw Bad(path, "has no \"" + name + "\" array (every baseline has one, [] when there were none).");
            if (array.ValueKind != JsonValueKind.Array) throw Bad(path, "has a \"" + name + "\" that is not an array.");
            int i = 0;
            foreach (var item in array.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object) throw Bad(path, "has an entry " + i + " of \"" + name + "\" that is not an object.");
                i++;
                yield return item;
            }
        }

        private static string OptionalText(string path, JsonElement obj, string name)
        {
            if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.String) throw Bad(path, "has a \"" + name + "\" of " + v.GetRawText() + ", not text.");
            return v.GetString();
        }

        private static string ProtocolText(string path, JsonElement obj)
        {
            string p = OptionalText(path, obj, "protocol");
            if (p != "TCP" && p != "UDP") throw Bad(path, "has a \"protocol\" of " + Describe(obj, "protocol") + "; expected \"TCP\" or \"UDP\".");
            return p;
        }

        private static long? OptionalNumber(string path, JsonElement obj, string name, long min, long max)
        {
            if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n) || n < min || n > max)
                throw Bad(path, "has a \"" + name + "\" of " + v.GetRawText() + "; expected a whole number from " + min + " to " + max + ".");
            return n;
        }
    }
}
