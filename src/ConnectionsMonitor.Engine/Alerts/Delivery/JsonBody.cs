using System;
using System.IO;
using System.Text.Json;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>Writes one JSON document with <see cref="Utf8JsonWriter"/> and hands back its UTF-8 bytes.</summary>
    internal static class JsonBody
    {
        public static byte[] Write(Action<Utf8JsonWriter> write)
        {
            using (var stream = new MemoryStream())
            {
                using (var writer = new Utf8JsonWriter(stream))
                    write(writer);
                return stream.ToArray();
            }
        }
    }
}
