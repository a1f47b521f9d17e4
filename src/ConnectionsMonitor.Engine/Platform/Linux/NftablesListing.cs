using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;
using ConnectionsMonitor.Engine.Blocking;
using ConnectionsMonitor.Engine.Display;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Reads the module's blocks from <c>nft -j list table inet connectionsmonitor</c> (libnftables JSON, schema 1):
    /// the "set" objects of the table whose names are the four sets of <see cref="NftablesScript"/>, and their "elem"
    /// arrays. An element is a string ("203.0.113.7"), a {"prefix": {"addr", "len"}} object, or, when it has a
    /// time-out or comment, {"elem": {"val": one of those, "timeout": seconds, "expires": seconds left, "comment": text}}.
    /// Elements of other shapes (ranges someone added by hand) are skipped. Created time and reason come from the
    /// module's comment (<see cref="NftablesScript.TryReadComment"/>); the expiry is created + timeout when both are
    /// known, else now + expires.
    /// </summary>
    public static class NftablesListing
    {
        /// <summary>The firewall name records carry.</summary>
        public const string FirewallName = "nftables table " + NftablesScript.Family + " " + NftablesScript.Table;

        /// <summary>The blocks in the JSON, one per target, in the order first seen (inbound sets first).</summary>
        /// <exception cref="BlockingException">The text is not the JSON nft writes (<see cref="BlockFailure.UnreadableAnswer"/>).</exception>
        public static List<BlockRecord> Parse(string json, DateTime nowUtc)
        {
            var found = new List<(BlockTarget Target, BlockDirection Direction, BlockRecord Record)>();
            try
            {
                using (var doc = JsonDocument.Parse(json))
                {
                    if (!doc.RootElement.TryGetProperty("nftables", out var items) || items.ValueKind != JsonValueKind.Array)
                        throw new BlockingException(BlockFailure.UnreadableAnswer, "nft's JSON listing has no \"nftables\" array.");
                    foreach (var item in items.EnumerateArray())
                    {
                        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("set", out var set)) continue;
                        if (Text(set, "family") != NftablesScript.Family || Text(set, "table") != NftablesScript.Table) continue;
                        string name = Text(set, "name");
                        BlockDirection dir;
                        bool v6;
                        if (name == NftablesScript.SetName(BlockDirection.Inbound, false)) { dir = BlockDirection.Inbound; v6 = false; }
                        else if (name == NftablesScript.SetName(BlockDirection.Inbound, true)) { dir = BlockDirection.Inbound; v6 = true; }
                        else if (name == NftablesScript.SetName(BlockDirection.Outbound, false)) { dir = BlockDirection.Outbound; v6 = false; }
                        else if (name == NftablesScript.SetName(BlockDirection.Outbound, true)) { dir = BlockDirection.Outbound; v6 = true; }
                        else continue;
                        if (!set.TryGetProperty("elem", out var elems) || elems.ValueKind != JsonValueKind.Array) continue;
                        foreach (var e in elems.EnumerateArray())
                        {
                            var record = Element(e, dir, v6, nowUtc);
                            if (record != null) found.Add((record.Target, dir, record));
                        }
                    }
                }
            }
            catch (JsonException ex)
            {
                // Not ex.Message: it quotes the text it stopped at, newlines and all (JsonReadError).
                throw new BlockingException(BlockFailure.UnreadableAnswer, "nft's JSON listing " + JsonReadError.Describe(ex, json) + ".");
            }
            var order = new List<BlockTarget>();
            var byTarget = new Dictionary<BlockTarget, BlockRecord>();
            foreach (var (target, dir, record) in found)
            {
                if (byTarget.TryGetValue(target, out var have)) byTarget[target] = have.WithDirection(have.Direction | dir);
                else { byTarget[target] = record; order.Add(target); }
            }
            var result = new List<BlockRecord>(order.Count);
            foreach (var t in order) result.Add(byTarget[t]);
            return result;
        }

        private static BlockRecord Element(JsonElement e, BlockDirection dir, bool v6, DateTime nowUtc)
        {
            JsonElement val = e;
            double? timeout = null, expires = null;
            string comment = null;
            if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("elem", out var inner))
            {
                if (!inner.TryGetProperty("val", out val)) return null;
                timeout = Number(inner, "timeout");
                expires = Number(inner, "expires");
                comment = Text(inner, "comment");
            }
            string text;
            if (val.ValueKind == JsonValueKind.String) text = val.GetString();
            else if (val.ValueKind == JsonValueKind.Object && val.TryGetProperty("prefix", out var prefix) && prefix.ValueKind == JsonValueKind.Object)
            {
                string addr = Text(prefix, "addr");
                double? len = Number(prefix, "len");
                if (addr == null || len == null) return null;
                text = addr + "/" + ((int)len.Value).ToString(CultureInfo.InvariantCulture);
            }
            else return null;
            if (!BlockTarget.TryParse(text, out var target, out _) || target.IsIPv6 != v6) return null;
            DateTime? created = null;
            string reason = null;
            if (NftablesScript.TryReadComment(comment, out var c, out var r)) { created = c; reason = r; }
            DateTime? expiresUtc = null;
            if (timeout.HasValue && created.HasValue) expiresUtc = created.Value.AddSeconds(timeout.Value);
            else if (expires.HasValue) expiresUtc = new DateTime(nowUtc.Ticks - nowUtc.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc).AddSeconds(expires.Value);
            return new BlockRecord(target, dir, reason, created, expiresUtc, FirewallName);
        }

        private static string Text(JsonElement o, string name) =>
            o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        private static double? Number(JsonElement o, string name) =>
            o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : (double?)null;
    }
}
