using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Traffic;
using Xunit;
using static ConnectionsMonitor.Tests.Display.DisplayTestSupport;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>
    /// The shortcuts that keep a 10,000-row refresh cheap give exactly what the long way gives: the page's rows
    /// (selected, not sorted in full), the header totals (one pass instead of a traffic window), reused row lines
    /// (only when every shown value reads the same) and the differ's skipped lines.
    /// </summary>
    public class LiveViewCostTests
    {
        private static readonly DateTime T0 = new DateTime(2025, 1, 1, 12, 0, 0, DateTimeKind.Utc);

        // Rows with repeated ports, PIDs, names in two casings, missing owners, states, UDP and counters.
        private static ConnectionRecord[] Rows(Random random, int count, int portBase = 20000)
        {
            string[] names = { "curl", "Curl", "sshd", "nginx", null, "python3", "chrome" };
            var rows = new ConnectionRecord[count];
            for (int i = 0; i < count; i++)
            {
                int kind = random.Next(10);
                var r = kind == 0
                    ? Udp(portBase + random.Next(500), names[random.Next(names.Length)] ?? "dns")
                    : Tcp(portBase + random.Next(500), random.Next(3) == 0 ? 443 : 1024 + random.Next(60000),
                        kind == 1 ? TcpState.Listen : (TcpState)random.Next(1, 13), names[random.Next(names.Length)], random.Next(1, 40),
                        remote: "203.0.113." + random.Next(1, 250));
                if (kind != 1 && random.Next(4) != 0) r.BytesSent = random.Next(0, 1 << 20);
                if (kind != 1 && random.Next(4) != 0) r.BytesReceived = random.Next(0, 1 << 20);
                r.FirstSeenUtc = random.Next(5) == 0 ? (DateTime?)null : T0.AddSeconds(-random.Next(0, 90000));
                // Most keys carry a kernel cookie (Linux), every third none (Windows, /proc): both kinds of identity.
                r.Key = new ConnectionKey(r.Protocol, r.LocalAddress, r.LocalPort, r.RemoteAddress, r.RemotePort, r.ProcessId, (ulong)i, i % 3 == 0 ? 0UL : (ulong)(i + 1));
                rows[i] = r;
            }
            return rows;
        }

        // The next read: most rows again (same keys, counters moved on or reset), some gone, some new, one key read twice.
        private static ConnectionRecord[] NextRead(Random random, ConnectionRecord[] before, int fresh)
        {
            var next = new List<ConnectionRecord>();
            foreach (var r0 in before)
            {
                if (random.Next(8) == 0) continue; // closed
                var r = Copy(r0);
                if (r.BytesSent != null) r.BytesSent = random.Next(10) == 0 ? random.Next(100) : r.BytesSent + random.Next(5000);
                if (r.BytesReceived != null) r.BytesReceived += random.Next(5000);
                if (random.Next(20) == 0) r.BytesSent = null;
                next.Add(r);
            }
            var opened = Rows(random, fresh, 40000);
            for (int i = 0; i < opened.Length; i++)
            {
                var r = opened[i];
                r.Key = new ConnectionKey(r.Protocol, r.LocalAddress, r.LocalPort, r.RemoteAddress, r.RemotePort, r.ProcessId, null, i % 3 == 0 ? 0UL : (ulong)random.Next(1 << 30) + 100000);
                next.Add(r);
            }
            if (next.Count > 2) next.Insert(random.Next(next.Count), Copy(next[random.Next(next.Count)]));
            // A socket shared with a child process: the same cookie under another owner is another connection.
            var shared = Copy(next[random.Next(next.Count)]);
            shared.ProcessId = (shared.ProcessId ?? 0) + 1000;
            var k = shared.Key;
            shared.Key = new ConnectionKey(k.Protocol, k.LocalAddress, k.LocalPort, k.RemoteAddress, k.RemotePort, shared.ProcessId, k.Inode, k.Cookie);
            next.Add(shared);
            return next.ToArray();
        }

        private static ConnectionRecord Copy(ConnectionRecord r) => new ConnectionRecord
        {
            Key = r.Key, Protocol = r.Protocol, LocalAddress = r.LocalAddress, LocalPort = r.LocalPort, RemoteAddress = r.RemoteAddress,
            RemotePort = r.RemotePort, State = r.State, ProcessId = r.ProcessId, ProcessName = r.ProcessName, ProcessPath = r.ProcessPath,
            UserName = r.UserName, CreationTime = r.CreationTime, FirstSeenUtc = r.FirstSeenUtc, FirstSeenIsLowerBound = r.FirstSeenIsLowerBound,
            RemoteHostName = r.RemoteHostName, Country = r.Country, CountryName = r.CountryName, City = r.City, Latitude = r.Latitude,
            Longitude = r.Longitude, Asn = r.Asn, AsnOrganization = r.AsnOrganization, AddressScope = r.AddressScope, IsVpn = r.IsVpn,
            VpnReason = r.VpnReason, Flags = r.Flags, BytesSent = r.BytesSent, BytesReceived = r.BytesReceived, SendRate = r.SendRate,
            ReceiveRate = r.ReceiveRate,
        };

        private static void AssertSameTotals(LiveTotals totals, ConnectionSnapshot current, ConnectionSnapshot previous, int top)
        {
            bool measured = previous != null && current.TimeStampUtc > previous.TimeStampUtc;
            var window = measured
                ? TrafficWindow.FromParts(previous, current, current.TimeStampUtc - previous.TimeStampUtc, new ConnectionRecord[0], false)
                : TrafficWindow.Single(current);
            var stats = measured ? ConnectionStatistics.Compute(window) : ConnectionStatistics.Compute(current);
            Assert.Equal(measured, totals.Measured);
            Assert.Equal(stats.Tcp, totals.Tcp);
            Assert.Equal(stats.Udp, totals.Udp);
            Assert.Equal(stats.SendRate, totals.SendRate);
            Assert.Equal(stats.ReceiveRate, totals.ReceiveRate);
            var expected = TopTalkers.Rank(window, TalkerGrouping.Process, TalkerMetric.Bytes, top);
            Assert.Equal(expected.Select(t => (t.Rank, t.Name, t.Connections, t.BytesSent, t.BytesReceived, t.SendRate, t.ReceiveRate)),
                totals.Talkers.Select(t => (t.Rank, t.Name, t.Connections, t.BytesSent, t.BytesReceived, t.SendRate, t.ReceiveRate)));
        }

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(3)]
        [InlineData(4)]
        public void HeaderTotalsAreTheTrafficWindowsStatisticsAndRanking(int seed)
        {
            var random = new Random(seed);
            var totals = new LiveTotals();
            var s1 = Snapshot(T0, Rows(random, 400));
            totals.Compute(s1, null, true, 4);
            AssertSameTotals(totals, s1, null, 4);
            var s2 = Snapshot(T0.AddSeconds(1), NextRead(random, s1.Connections.ToArray(), 30));
            totals.Compute(s2, s1, true, 4);
            AssertSameTotals(totals, s2, s1, 4);
            var s3 = Snapshot(T0.AddSeconds(2.5), NextRead(random, s2.Connections.ToArray(), 50));
            totals.Compute(s3, s2, true, 10);
            AssertSameTotals(totals, s3, s2, 10);
            // A previous snapshot other than the last one taken in (the index is rebuilt for it).
            var s4 = Snapshot(T0.AddSeconds(4), NextRead(random, s3.Connections.ToArray(), 5));
            totals.Compute(s4, s2, true, 3);
            AssertSameTotals(totals, s4, s2, 3);
            // The same time stamp twice: nothing measured.
            var s5 = Snapshot(T0.AddSeconds(4), NextRead(random, s4.Connections.ToArray(), 5));
            totals.Compute(s5, s4, true, 3);
            AssertSameTotals(totals, s5, s4, 3);
        }

        private static LiveView ViewOf(ConnectionRecord[] rows, string yaml = "monitoring:\n  showStats: true\n  showTopTalkers: true\n")
        {
            var view = new LiveView(Config(yaml), ColorDepth.TrueColor);
            view.Update(Snapshot(T0, rows), null);
            return view;
        }

        [Fact]
        public void OnlyThePageIsFormattedAndItsRowsAreThoseOfAFullSort()
        {
            var rows = Rows(new Random(7), 3000);
            foreach (LiveSortKey key in Enum.GetValues(typeof(LiveSortKey)))
            {
                var selected = ViewOf(rows);
                var sorted = ViewOf(rows);
                while (selected.SortKey != key)
                {
                    selected.HandleKey(ConsoleKey.S, 's');
                    sorted.HandleKey(ConsoleKey.S, 's');
                }
                var all = sorted.ShownRecords; // orders every row
                foreach (int scroll in new[] { 0, 1234, 2999 })
                {
                    selected.BuildFrame(160, 30);
                    sorted.BuildFrame(160, 30);
                    selected.HandleKey(ConsoleKey.Home, '\0');
                    sorted.HandleKey(ConsoleKey.Home, '\0');
                    for (int i = 0; i < scroll; i++)
                    {
                        selected.HandleKey(ConsoleKey.DownArrow, '\0');
                        sorted.HandleKey(ConsoleKey.DownArrow, '\0');
                    }
                    var frame = selected.BuildFrame(160, 30);
                    Assert.Equal(sorted.BuildFrame(160, 30).Select(l => l.Text), frame.Select(l => l.Text));
                    int shown = frame.Count - 5; // title, stats, talkers, header, footer
                    Assert.Equal(25, shown);
                    Assert.True(selected.LastFormattedRows <= shown, key + ": " + selected.LastFormattedRows + " rows formatted");
                    // The page is the full order's rows from the scroll position.
                    var layout = TableLayout.FromConfig(Config("monitoring:\n  showStats: true\n"), 160);
                    int first = selected.ScrollOffset;
                    Assert.Equal(Math.Min(scroll, 3000 - shown), first);
                    for (int i = 0; i < shown; i++)
                        Assert.Equal(layout.Row(all[first + i], RowLook.For(all[first + i], new MonitorConfig(), new HashSet<int>(new MonitorConfig().Alerts.Conditions.SuspiciousPorts)), T0), frame[4 + i].Text);
                }
            }
        }

        [Fact]
        public void AFilteredViewSelectsItsPageFromTheMatchingRows()
        {
            var rows = Rows(new Random(11), 2000);
            var view = ViewOf(rows);
            view.HandleKey(ConsoleKey.Oem2, '/');
            foreach (char c in "sshd") view.HandleKey(ConsoleKey.A, c);
            view.HandleKey(ConsoleKey.Enter, '\r');
            var frame = view.BuildFrame(160, 30);
            var expected = rows.Where(r => r.ProcessName == "sshd").OrderBy(r => r.LocalPort).ThenBy(r => (int)r.Protocol).ThenBy(r => r.RemotePort ?? -1).ThenBy(r => r.ProcessId ?? -1).ThenBy(r => Array.IndexOf(rows, r)).ToList();
            Assert.Equal(expected.Count, view.ShownCount);
            Assert.Equal(expected.Take(25).Select(r => r.LocalPort + ":" + r.RemotePort + ":" + r.ProcessId),
                view.ShownRecords.Take(25).Select(r => r.LocalPort + ":" + r.RemotePort + ":" + r.ProcessId));
            Assert.All(frame.Skip(4).Take(25), l => Assert.Contains("sshd", l.Text));
        }

        [Fact]
        public void AnUnchangedRowKeepsItsLineAndAChangedOneIsFormattedAgain()
        {
            var config = new MonitorConfig();
            var layout = TableLayout.FromConfig(config, 200);
            var look = new RowLook(ConfigColor.Parse("white"), false, false);
            var r = Tcp(8080, 50000, TcpState.Established, "python3", 4242, local: "10.0.0.5", remote: "203.0.113.9");
            r.BytesSent = 1000;
            r.BytesReceived = 2000;
            r.FirstSeenUtc = T0.AddSeconds(-75);
            r.AddressScope = "Documentation";
            r.Country = "ZZ";

            var cache = new RowLineCache();
            cache.BeginFrame(layout);
            Assert.Equal(layout.Row(r, look, T0), cache.Line(layout, r, look, T0));
            cache.EndFrame();
            Assert.Equal(1, cache.Formatted);

            // A new record with the same values (the next refresh) and the same whole second: the line is reused.
            cache.BeginFrame(layout);
            string again = cache.Line(layout, Copy(r), look, T0.AddMilliseconds(400));
            cache.EndFrame();
            Assert.Equal(0, cache.Formatted);
            Assert.Equal(layout.Row(r, look, T0.AddMilliseconds(400)), again);

            // Every property of the record, changed on its own: the cached line is what formatting gives.
            var changed = 0;
            foreach (var property in typeof(ConnectionRecord).GetProperties().Where(p => p.CanWrite && p.Name != nameof(ConnectionRecord.Key)))
            {
                var other = Copy(r);
                property.SetValue(other, Different(property.PropertyType, property.GetValue(r)));
                cache.BeginFrame(layout);
                cache.Line(layout, r, look, T0);
                cache.EndFrame();
                cache.BeginFrame(layout);
                string line = cache.Line(layout, other, look, T0);
                cache.EndFrame();
                Assert.Equal(layout.Row(other, look, T0), line);
                if (line != layout.Row(r, look, T0)) changed++;
            }
            Assert.True(changed >= 14, changed + " properties changed the line"); // every cell's inputs, not a vacuous pass

            // The age moves on by a second; a new colour or marker; a resize: formatted again.
            foreach (var (now, rowLook, table) in new[]
            {
                (T0.AddSeconds(1), look, layout),
                (T0, new RowLook(ConfigColor.Parse("red"), true, false), layout),
                (T0, new RowLook(ConfigColor.Parse("white"), false, true), layout),
                (T0, look, TableLayout.FromConfig(config, 120)),
            })
            {
                cache.BeginFrame(layout);
                cache.Line(layout, r, look, T0);
                cache.EndFrame();
                cache.BeginFrame(table);
                Assert.Equal(table.Row(r, rowLook, now), cache.Line(table, r, rowLook, now));
                cache.EndFrame();
                Assert.Equal(1, cache.Formatted);
            }
        }

        private static object Different(Type type, object value)
        {
            var t = Nullable.GetUnderlyingType(type) ?? type;
            if (t == typeof(string)) return "changed-" + value;
            if (t == typeof(int)) return value == null ? 7 : (int)value + 1;
            if (t == typeof(long)) return value == null ? 7L : (long)value + 1048576;
            if (t == typeof(double)) return value == null ? 1.5 : (double)value + 1;
            if (t == typeof(bool)) return value == null || !(bool)value;
            if (t == typeof(DateTime)) return value == null ? T0.AddHours(-3) : ((DateTime)value).AddSeconds(-3700);
            if (t == typeof(IPAddress)) return IPAddress.Parse("198.51.100.77");
            if (t == typeof(TcpState)) return value != null && (TcpState)value == TcpState.Established ? TcpState.CloseWait : TcpState.Established;
            if (t == typeof(TransportProtocol)) return (TransportProtocol)value == TransportProtocol.Tcp ? TransportProtocol.Udp : TransportProtocol.Tcp;
            throw new InvalidOperationException("No other value for " + type);
        }

        [Fact]
        public void TheDifferEncodesOnlyLinesThatDifferFromTheFrameBefore()
        {
            var differ = new ScreenDiffer();
            var frame = new List<ScreenLine> { new ScreenLine("title", "\u001b[1m"), new ScreenLine("row a", "\u001b[32m"), new ScreenLine("row b") };
            differ.Render(frame, 20, 4);
            Assert.Equal(4, differ.LastEncodedLines);
            Assert.Equal("", differ.Render(frame.ToList(), 20, 4));
            Assert.Equal(0, differ.LastEncodedLines);
            frame[1] = new ScreenLine("row a", "\u001b[31m"); // same text, another colour
            Assert.Equal("\u001b[2;1H\u001b[31mrow a\u001b[0m\u001b[K", differ.Render(frame, 20, 4));
            Assert.Equal(1, differ.LastEncodedLines);
            // Different lines whose output is the same (cut at the width) are encoded but not sent.
            differ.Render(new[] { new ScreenLine("0123456789AB") }, 10, 1);
            Assert.Equal("", differ.Render(new[] { new ScreenLine("0123456789CD") }, 10, 1));
            Assert.Equal(1, differ.LastEncodedLines);
            Assert.Equal(0, differ.LastChangedLines);
        }

        [Fact]
        public void SelectionPutsExactlyTheWantedRangeInPlace()
        {
            var random = new Random(5);
            foreach (int n in new[] { 2, 30, 100, 1000, 5000 })
                for (int round = 0; round < 20; round++)
                {
                    // Many equal sort values, so the tie-breaks decide.
                    var keys = Enumerable.Range(0, n).Select(i => new OrderKey(random.Next(n / 3 + 1), random.Next(3), i)).OrderBy(_ => random.Next()).ToArray();
                    var sorted = keys.OrderBy(k => k).ToArray();
                    int from = random.Next(n), to = Math.Min(n, from + 1 + random.Next(60));
                    OrderSelection.Select(keys, 0, n, from, to);
                    Assert.Equal(sorted.Skip(from).Take(to - from).Select(k => k.Index), keys.Skip(from).Take(to - from).Select(k => k.Index));
                    Assert.Equal(sorted.Select(k => k.Index).OrderBy(i => i), keys.Select(k => k.Index).OrderBy(i => i)); // a permutation
                }
            // Already sorted and reversed input (the kernel's order is often one of them).
            var ascending = Enumerable.Range(0, 4000).Select(i => new OrderKey(i, 0, i)).ToArray();
            OrderSelection.Select(ascending, 0, 4000, 100, 150);
            Assert.Equal(Enumerable.Range(100, 50), ascending.Skip(100).Take(50).Select(k => k.Index));
            var descending = Enumerable.Range(0, 4000).Select(i => new OrderKey(-i, 0, i)).ToArray();
            OrderSelection.Select(descending, 0, 4000, 0, 45);
            Assert.Equal(Enumerable.Range(0, 45).Select(i => 3999 - i), descending.Take(45).Select(k => k.Index));
        }

        [Fact]
        public void AsciiCellsAreCutLikeAnyOther()
        {
            Assert.Equal("abcdefg...", CellWidth.Fit("abcdefghijklmnop", 10, "..."));
            Assert.Equal("abcdefghij", CellWidth.Fit("abcdefghijklmnop", 10, null));
            Assert.Equal("ab", CellWidth.Fit("abcdef", 2, "..."));
            Assert.Equal("abc", CellWidth.Fit("abc", 3, "..."));
            Assert.Equal("abcd\u2026", CellWidth.Fit("abcdefg", 5, CellWidth.Ellipsis));
        }
    }
}
