using System;
using System.Globalization;
using System.Text.Json;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>
    /// Why JSON from outside the module (a baseline file, nft's listing) did not parse, in the module's words. System.Text.Json's
    /// own messages are never shown: they quote the bytes the reader stopped at ("'not json\n' is an invalid JSON literal"),
    /// newlines and all, and speak of its internals ("when isFinalBlock is true", "BytePositionInLine: 0"). Every reader of
    /// such JSON words a parse failure through here, so they all say it alike.
    /// </summary>
    public static class JsonReadError
    {
        /// <summary>
        /// "is empty" when <paramref name="json"/> holds nothing but white space (after a UTF-8 byte order mark); else
        /// "is not valid JSON at line L, byte B", 1-based, from <paramref name="ex"/>'s position ("is not valid JSON" when it
        /// has none). Meant to follow what was read: "The file 'x.json' is empty".
        /// </summary>
        public static string Describe(JsonException ex, ReadOnlySpan<byte> json)
        {
            var rest = json.StartsWith(new byte[] { 0xEF, 0xBB, 0xBF }) ? json.Slice(3) : json;
            foreach (byte b in rest)
                if (b != (byte)' ' && b != (byte)'\t' && b != (byte)'\r' && b != (byte)'\n') return NotValid(ex);
            return "is empty";
        }

        /// <summary>As <see cref="Describe(JsonException, ReadOnlySpan{byte})"/>, for JSON read as text (a byte order mark is U+FEFF).</summary>
        public static string Describe(JsonException ex, string json) =>
            string.IsNullOrWhiteSpace((json ?? "").TrimStart('\uFEFF')) ? "is empty" : NotValid(ex);

        private static string NotValid(JsonException ex)
        {
            // The reader counts lines and bytes from 0; people (and editors) from 1.
            if (ex?.LineNumber is long line && ex.BytePositionInLine is long position)
                return string.Format(CultureInfo.InvariantCulture, "is not valid JSON at line {0}, byte {1}", line + 1, position + 1);
            return "is not valid JSON";
        }
    }
}
