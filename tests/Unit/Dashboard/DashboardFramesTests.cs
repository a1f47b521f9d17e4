using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.Json;
using ConnectionsMonitor.Engine.Dashboard;
using ConnectionsMonitor.Engine.Model;
using Xunit;

namespace ConnectionsMonitor.Tests.Dashboard
{
    /// <summary>What the page gets per sample: the whole table once, then only what changed.</summary>
    public sealed class DashboardFramesTests
    {
        private static readonly DateTime T0 = new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc);

        private static ConnectionRecord Row(int localPort, int? remotePort, long? sent = null, string name = "web", TcpState? state = TcpState.Established) => new ConnectionRecord
        {
            Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, LocalPort = localPort,
            RemoteAddress = remotePort == null ? IPAddress.Any : IPAddress.Loopback, RemotePort = remotePort ?? 0, State = state,
            ProcessId = 100, ProcessName = name, BytesSent = sent, FirstSeenUtc = T0,
            Key = new ConnectionKey(TransportProtocol.Tcp, IPAddress.Loopback, localPort, remotePort == null ? IPAddress.Any : IPAddress.Loopback, remotePort ?? 0, 100, (ulong)(localPort * 100000 + (remotePort ?? 0))),
        };

        private static JsonElement Json(byte[] bytes) => JsonDocument.Parse(bytes).RootElement.Clone();

        // A row as WriteRow writes it with the key the frames gave it.
        private static string TableRow(ConnectionRecord r, DateTime snapshotUtc) =>
            Encoding.UTF8.GetString(new DashboardFrames.RowWriter().Write(DashboardFrames.BaseKey(r), r, snapshotUtc));

        // The full form as a client gets it: its parts one after another.
        private static JsonElement Json(IReadOnlyList<ArraySegment<byte>> parts) => Json(parts.SelectMany(p => p).ToArray());

        [Fact]
        public void ManyRowsOfChangedCountersTravelInBinaryAndAFewInTheJson()
        {
            var frames = new DashboardFrames();
            int n = DashboardFrames.InlineCounterRows + 1;
            var before = Enumerable.Range(0, n).Select(i => Row(9000, 40000 + i, 1000 + i)).ToArray();
            frames.Next(before, T0, TimeSpan.FromSeconds(1));
            // Every row's counters move; the last one's send counter becomes unknown and its rate has decimals.
            var after = Enumerable.Range(0, n).Select(i => Row(9000, 40000 + i, i == n - 1 ? (long?)null : 5_000_000_000L + i)).ToArray();
            after[n - 1].SendRate = 12.345;
            var busy = frames.Next(after, T0.AddSeconds(1), TimeSpan.FromSeconds(1));
            var delta = Json(busy.Delta);
            Assert.Equal("[]", delta.GetProperty("counters").GetRawText());
            Assert.Equal(n, delta.GetProperty("binaryCounters").GetInt32());
            Assert.Equal(n, busy.Counters);
            Assert.Equal(n * 5 * 8, busy.CountersBinary.Length);
            var values = Enumerable.Range(0, n * 5).Select(i => BitConverter.Int64BitsToDouble(System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(busy.CountersBinary.AsSpan(i * 8, 8)))).ToArray();
            // id, BytesSent, BytesReceived, SendRate, ReceiveRate: ids as the first frame gave them (1..n), NaN for unknown.
            Assert.Equal(new double[] { 1, 5_000_000_000, double.NaN, double.NaN, double.NaN }, values.Take(5));
            Assert.Equal(new double[] { n, double.NaN, double.NaN, 12.3, double.NaN }, values.Skip((n - 1) * 5));
            // The same numbers the JSON form writes for a row (rates to 0.1 B/s).
            Assert.Equal(TableRow(after[n - 1], busy.SnapshotUtc), Json(busy.FullParts).GetProperty("rows")[n - 1].GetRawText());

            // One row fewer than that moving (the first stays as it was): in the JSON, nothing apart.
            var few = Enumerable.Range(0, n).Select(i => i == 0 ? after[0] : Row(9000, 40000 + i, i == 1 ? (long?)null : 6_000_000_000L + i)).ToArray();
            few[1].SendRate = 12.345;
            var quiet = frames.Next(few, T0.AddSeconds(2), TimeSpan.FromSeconds(1));
            Assert.Equal(n - 1, quiet.Counters);
            Assert.Null(quiet.CountersBinary);
            Assert.False(Json(quiet.Delta).TryGetProperty("binaryCounters", out _));
            var inline = Json(quiet.Delta).GetProperty("counters");
            Assert.Equal((n - 1) * 5, inline.GetArrayLength());
            Assert.Equal("[2,null,null,12.3,null]", "[" + string.Join(",", Enumerable.Range(0, 5).Select(i => inline[i].GetRawText())) + "]");
        }

        [Fact]
        public void TheFirstFrameIsAllUpsertsThenOnlyChangedNewAndGoneRowsTravel()
        {
            var frames = new DashboardFrames();
            var listen = Row(8080, null, state: TcpState.Listen);
            var a = Row(8080, 50001, 100);
            var b = Row(8080, 50002, 200);
            var first = frames.Next(new[] { listen, a, b }, T0, TimeSpan.FromSeconds(1));
            Assert.Equal(1, first.Version);
            Assert.Equal(3, first.Upserts);
            var full = Json(first.FullParts);
            Assert.Equal("2026-12-01T10:00:00.000Z", full.GetProperty("time").GetString());
            Assert.Equal(1000, full.GetProperty("interval").GetInt32());
            Assert.Equal(3, full.GetProperty("stats").GetProperty("tcp").GetInt32());
            Assert.Equal(JsonValueKind.Null, full.GetProperty("stats").GetProperty("sendRate").ValueKind);
            Assert.Equal("Key", full.GetProperty("columns")[0].GetString());
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|0.0.0.0|0", "TCP|127.0.0.1|8080|127.0.0.1|50001", "TCP|127.0.0.1|8080|127.0.0.1|50002" },
                full.GetProperty("rows").EnumerateArray().Select(r => r[0].GetString()));
            Assert.Equal(new[] { 1, 2, 3 }, full.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()));

            // One second later: a's counter moved (only its counters travel, by its id), b closed, c opened; the listener is
            // the same, so it does not travel.
            var a2 = Row(8080, 50001, 150);
            a2.SendRate = 49.96; // rows and counters give rates to 0.1 B/s
            var c = Row(8080, 50003, 0, name: "<b>x</b>\u001b[31m");
            var second = frames.Next(new[] { listen, a2, c }, T0.AddSeconds(1), TimeSpan.FromSeconds(1));
            var delta = Json(second.Delta);
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50003" }, delta.GetProperty("upserts").EnumerateArray().Select(r => r[0].GetString()));
            Assert.Equal(new[] { 4 }, delta.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()));
            Assert.Equal("[2,150,null,50,null]", delta.GetProperty("counters").GetRawText());
            Assert.Equal((1, 1, 1), (second.Upserts, second.Counters, second.Removes));
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50002" }, delta.GetProperty("removes").EnumerateArray().Select(k => k.GetString()));
            Assert.Equal("2026-12-01T10:00:01.000Z", delta.GetProperty("time").GetString());
            int name = 1 + Array.IndexOf(ConnectionsMonitor.Engine.Export.ConnectionFileFormat.RowColumnNames.ToArray(), "ProcessName");
            // Outside text as the terminal shows it: the escape visible, the markup as text for the page to insert as text.
            Assert.Equal("<b>x</b>\u241b[31m", delta.GetProperty("upserts")[0][name].GetString());
            Assert.Contains("\\u003Cb\\u003E", Encoding.UTF8.GetString(second.Delta)); // and escaped in the JSON itself

            // Nothing changed: an empty delta, whatever the time.
            var third = frames.Next(new[] { listen, a2, c }, T0.AddSeconds(2), TimeSpan.FromSeconds(1));
            Assert.Equal(0, third.Upserts);
            Assert.Equal(0, third.Removes);
            Assert.Equal("[]", Json(third.Delta).GetProperty("counters").GetRawText());
            var thirdFull = Json(third.FullParts);
            Assert.Equal(new[] { 1, 2, 4 }, thirdFull.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()));
            // a's row, not sent whole since its counters moved, is written for the whole table with them.
            int sent = 1 + Array.IndexOf(ConnectionsMonitor.Engine.Export.ConnectionFileFormat.RowColumnNames.ToArray(), "BytesSent");
            Assert.Equal(150, thirdFull.GetProperty("rows")[1][sent].GetInt64());
            Assert.Equal(50, thirdFull.GetProperty("rows")[1][sent + 2].GetDouble());
            Assert.Equal(TableRow(a2, third.SnapshotUtc), thirdFull.GetProperty("rows")[1].GetRawText());
            // The second frame's whole table, asked for only now, writes that row with the counters it had.
            Assert.Equal(TableRow(a2, second.SnapshotUtc), Json(second.FullParts).GetProperty("rows")[1].GetRawText());
            // The whole table is the rows' own arrays, not a copy: the listener's row is the one the first frame wrote.
            Assert.Same(first.FullParts[1].Array, third.FullParts[1].Array);
            // a's row, of which only the counters had moved, was written once by the third frame and is the next one's too
            // (not written again for every frame's whole table).
            var fourth = frames.Next(new[] { listen, a2, c }, T0.AddSeconds(3), TimeSpan.FromSeconds(1));
            Assert.Same(third.FullParts[3].Array, fourth.FullParts[3].Array);

            // No rows: still a whole document.
            var empty = frames.Next(Array.Empty<ConnectionRecord>(), T0.AddSeconds(4), TimeSpan.FromSeconds(1));
            Assert.Equal(0, Json(empty.FullParts).GetProperty("rows").GetArrayLength());
            Assert.Equal(3, Json(empty.Delta).GetProperty("removes").GetArrayLength());
        }

        /// <summary>
        /// Flags are set on a sample's records by every consumer that applies the alert rules (a watch in the same session,
        /// Get-MonitoredConnection), on its own thread, possibly after this frame was made: a rule registered meanwhile flags
        /// the previous sample's record too, and comparing with it would say nothing changed. The frame compares with the
        /// flags it sent, so the row travels whole with its flag, once.
        /// </summary>
        [Fact]
        public void FlagsSetOnThePreviousRecordAfterItsFrameStillTravel()
        {
            var frames = new DashboardFrames();
            var before = Row(8080, 50001, 100);
            frames.Next(new[] { before }, T0, TimeSpan.FromSeconds(1));
            before.Flags = "exposed"; // another consumer applied a new rule to the shared record
            var now = before.Copy();
            var second = frames.Next(new[] { now }, T0.AddSeconds(1), TimeSpan.FromSeconds(1));
            Assert.Equal((1, 0), (second.Upserts, second.Counters));
            var upsert = Json(second.Delta).GetProperty("upserts")[0];
            Assert.Equal(TableRow(now, T0.AddSeconds(1)), upsert.GetRawText());
            Assert.Equal(Json(second.Delta).GetProperty("ids")[0].GetInt32(), Json(second.FullParts).GetProperty("ids")[0].GetInt32()); // the same id: the same socket
            var third = frames.Next(new[] { now.Copy() }, T0.AddSeconds(2), TimeSpan.FromSeconds(1));
            Assert.Equal((0, 0), (third.Upserts, third.Counters)); // once
        }

        /// <summary>Every property of a record that a row shows is compared: a new one must be added to SameShown (or this list).</summary>
        [Fact]
        public void EveryShownPropertyCountsAsAChange()
        {
            var notShown = new[] { nameof(ConnectionRecord.Key) }; // the socket's identity, not a column
            foreach (var p in typeof(ConnectionRecord).GetProperties().Where(p => p.CanWrite && !notShown.Contains(p.Name)))
            {
                var a = Row(8080, 50001, 100);
                a.Latitude = 1.5; a.Longitude = 2.5; a.Asn = 64500; a.IsVpn = false; a.SendRate = 0; a.ReceiveRate = 0; a.BytesReceived = 5;
                a.CreationTime = T0; a.Country = "DE"; a.City = "Berlin"; a.CountryName = "Germany"; a.AsnOrganization = "Org"; a.AddressScope = "Public";
                a.VpnReason = "r"; a.Flags = "f"; a.RemoteHostName = "h"; a.ProcessPath = "/p"; a.UserName = "u";
                var b = a.Copy();
                Assert.True(DashboardFrames.SameShown(a, b), p.Name);
                object other = p.PropertyType == typeof(string) ? "other"
                    : p.PropertyType == typeof(IPAddress) ? IPAddress.Parse("192.0.2.1")
                    : p.PropertyType == typeof(int) || p.PropertyType == typeof(int?) ? 7
                    : p.PropertyType == typeof(long?) ? 7L
                    : p.PropertyType == typeof(double?) ? 7.25
                    : p.PropertyType == typeof(bool) || p.PropertyType == typeof(bool?) ? (object)!(bool)(p.GetValue(a) ?? false)
                    : p.PropertyType == typeof(DateTime?) ? T0.AddSeconds(-7)
                    : p.PropertyType == typeof(TcpState?) ? TcpState.CloseWait
                    : p.PropertyType == typeof(TransportProtocol) ? TransportProtocol.Udp
                    : throw new InvalidOperationException("no other value for " + p.Name + " of type " + p.PropertyType);
                p.SetValue(b, other);
                Assert.False(DashboardFrames.SameShown(a, b), p.Name + " changed but the row would not travel");
                // Only the four counters may travel as counters; any other change sends the row whole.
                bool counter = p.Name is nameof(ConnectionRecord.BytesSent) or nameof(ConnectionRecord.BytesReceived) or nameof(ConnectionRecord.SendRate) or nameof(ConnectionRecord.ReceiveRate);
                Assert.True(counter == DashboardFrames.SameExceptCounters(a, b), p.Name);
            }
        }

        [Fact]
        public void ASocketKeepsItsKeyAndAnotherSocketWithTheSameEndsTakesItOnlyWhenFree()
        {
            var frames = new DashboardFrames();
            var old = Row(8080, 50001, 100);
            old.Key = new ConnectionKey(TransportProtocol.Tcp, IPAddress.Loopback, 8080, IPAddress.Loopback, 50001, null, null, cookie: 1);
            frames.Next(new[] { old }, T0, TimeSpan.FromSeconds(1));
            // The old socket goes and a new one with the same ends comes: one upsert under the same key, no remove.
            var fresh = Row(8080, 50001, 0);
            fresh.Key = new ConnectionKey(TransportProtocol.Tcp, IPAddress.Loopback, 8080, IPAddress.Loopback, 50001, null, null, cookie: 2);
            var next = frames.Next(new[] { fresh }, T0.AddSeconds(1), TimeSpan.FromSeconds(1));
            var delta = Json(next.Delta);
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50001" }, delta.GetProperty("upserts").EnumerateArray().Select(r => r[0].GetString()));
            Assert.Equal(0, delta.GetProperty("removes").GetArrayLength());
            // Both at once: the one that had the key keeps it, the other gets "|2".
            var both = frames.Next(new[] { old, fresh }, T0.AddSeconds(2), TimeSpan.FromSeconds(1));
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50001|2", "TCP|127.0.0.1|8080|127.0.0.1|50001" }, both.Keys);
            var gone = frames.Next(new[] { old }, T0.AddSeconds(3), TimeSpan.FromSeconds(1));
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50001|2" }, gone.Keys);
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50001" }, Json(gone.Delta).GetProperty("removes").EnumerateArray().Select(k => k.GetString()));
        }

        [Fact]
        public void ASocketShownTwiceInOneSampleHasTheSecondRowUnderAKeyOfItsOwnThatGoesWhenTheRepeatDoes()
        {
            var frames = new DashboardFrames();
            var a = Row(8080, 50001, 100);
            var again = Row(8080, 50001, 100); // the same socket (same table key) twice in one sample
            var first = frames.Next(new[] { a, again }, T0, TimeSpan.FromSeconds(1));
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50001", "TCP|127.0.0.1|8080|127.0.0.1|50001|2" }, first.Keys);
            Assert.Equal(2, first.Upserts);
            // Seen once: the repeat's key is removed, the socket keeps its key and id and is unchanged.
            var once = frames.Next(new[] { Row(8080, 50001, 100) }, T0.AddSeconds(1), TimeSpan.FromSeconds(1));
            var delta = Json(once.Delta);
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50001|2" }, delta.GetProperty("removes").EnumerateArray().Select(k => k.GetString()));
            Assert.Equal(0, once.Upserts);
            Assert.Equal(Json(first.FullParts).GetProperty("ids")[0].GetInt32(), Json(once.FullParts).GetProperty("ids")[0].GetInt32());
            // The freed key is free: another socket with the same ends takes "|2" again, not "|3".
            var other = Row(8080, 50001, 5);
            other.Key = new ConnectionKey(TransportProtocol.Tcp, IPAddress.Loopback, 8080, IPAddress.Loopback, 50001, null, null, cookie: 77);
            var both = frames.Next(new[] { Row(8080, 50001, 100), other }, T0.AddSeconds(2), TimeSpan.FromSeconds(1));
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50001", "TCP|127.0.0.1|8080|127.0.0.1|50001|2" }, both.Keys);
            Assert.Equal(0, Json(both.Delta).GetProperty("removes").GetArrayLength());
        }

        [Fact]
        public void RowsWithTheSameEndsGetKeysOfTheirOwn()
        {
            var keys = DashboardFrames.Keys(new[] { Row(8080, 50001, state: TcpState.TimeWait), Row(8080, 50001), Row(8080, 50001), Row(8081, null) });
            Assert.Equal(new[] { "TCP|127.0.0.1|8080|127.0.0.1|50001", "TCP|127.0.0.1|8080|127.0.0.1|50001|2", "TCP|127.0.0.1|8080|127.0.0.1|50001|3", "TCP|127.0.0.1|8081|0.0.0.0|0" }, keys);
        }
    }
}
