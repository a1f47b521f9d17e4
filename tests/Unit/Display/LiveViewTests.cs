using System;
using System.Linq;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Model;
using Xunit;
using static ConnectionsMonitor.Tests.Display.DisplayTestSupport;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>The live view's frames and keys (sort, pause, scroll, filter, quit), without a terminal.</summary>
    public class LiveViewTests
    {
        private static readonly DateTime T0 = new DateTime(2025, 1, 1, 12, 0, 0, DateTimeKind.Utc);

        private static LiveView ViewOf(int rows, string yaml = "monitoring:\n  showStats: true\n  showTopTalkers: true\n")
        {
            var view = new LiveView(Config(yaml), ColorDepth.TrueColor);
            view.Update(Snapshot(T0, Enumerable.Range(0, rows).Select(i => Tcp(10000 + (rows - i), 443, TcpState.Established, "p" + (i % 7), 100 + i)).ToArray()), null);
            return view;
        }

        [Fact]
        public void FrameFillsTheHeightWithTitleStatsTalkersHeaderRowsAndFooter()
        {
            var view = ViewOf(100);
            var frame = view.BuildFrame(120, 20);
            Assert.Equal(20, frame.Count);
            Assert.StartsWith("ConnectionsMonitor", frame[0].Text);
            Assert.StartsWith("TCP: 100  UDP: 0  Total: 100  Bandwidth: measuring...", frame[1].Text);
            Assert.StartsWith("Top talkers: ", frame[2].Text);
            Assert.StartsWith("Proto Local", frame[3].Text);
            Assert.StartsWith("rows 1-15 of 100", frame[19].Text);
            Assert.All(frame, l => Assert.True(l.Text.Length <= 120 || l.Text.StartsWith("Top"), l.Text));
        }

        [Fact]
        public void StatsAndTopTalkerLinesFollowMonitoringSwitches()
        {
            var view = ViewOf(3, "monitoring:\n  showStats: false\n  showTopTalkers: false\n");
            var frame = view.BuildFrame(120, 10);
            Assert.StartsWith("Proto Local", frame[1].Text);
            Assert.DoesNotContain(frame, l => l.Text.StartsWith("TCP:") || l.Text.StartsWith("Top talkers"));
        }

        [Fact]
        public void BandwidthAndTalkersUseTheCountersBetweenTwoRefreshes()
        {
            var view = new LiveView(Config("monitoring:\n  topTalkersCount: 2\n"), ColorDepth.None);
            var a1 = Tcp(50001, 443, TcpState.Established, "curl", 1); a1.BytesSent = 0; a1.BytesReceived = 0;
            var b1 = Tcp(50002, 443, TcpState.Established, "wget", 2); b1.BytesSent = 0; b1.BytesReceived = 0;
            var first = Snapshot(T0, a1, b1);
            var a2 = Tcp(50001, 443, TcpState.Established, "curl", 1); a2.BytesSent = 1024; a2.BytesReceived = 4096;
            var b2 = Tcp(50002, 443, TcpState.Established, "wget", 2); b2.BytesSent = 10; b2.BytesReceived = 0;
            var c2 = Tcp(50003, 443, TcpState.Established, "nc", 3);
            view.Update(first, null);
            view.Update(Snapshot(T0.AddSeconds(2), a2, b2, c2), first);
            var frame = view.BuildFrame(150, 10);
            Assert.Equal("TCP: 3  UDP: 0  Total: 3  Bandwidth: sent 517B/s, received 2.0KB/s", frame[1].Text);
            Assert.Equal("Top talkers: curl 2.5KB/s (1)  wget 5B/s (1)", frame[2].Text);
        }

        [Fact]
        public void RateColumnAndSortShowWhatEachConnectionMovesNow()
        {
            var view = new LiveView(Config("monitoring:\n  showStats: false\n  showTopTalkers: false\n"), ColorDepth.None);
            var idle = Tcp(50001, 443, TcpState.Established, "idle", 1); idle.SendRate = 0; idle.ReceiveRate = 0;
            idle.BytesSent = 50L << 20; // the most bytes in all, none now
            var busy = Tcp(50002, 443, TcpState.Established, "busy", 2); busy.SendRate = 1024; busy.ReceiveRate = 2048;
            var slow = Tcp(50003, 443, TcpState.Established, "slow", 3); slow.SendRate = null; slow.ReceiveRate = 10;
            var unknown = Tcp(50004, 443, TcpState.Established, "new", 4); // no rate yet: blank, never 0
            view.Update(Snapshot(T0, idle, busy, slow, unknown), null);
            for (int i = 0; i < 8; i++) view.HandleKey(ConsoleKey.S, 's');
            Assert.Equal(LiveSortKey.Rate, view.SortKey);
            Assert.Equal(new[] { "busy", "slow", "idle", "new" }, view.ShownRecords.Select(r => r.ProcessName));
            var frame = view.BuildFrame(200, 8);
            Assert.Contains("sort: Rate", frame[0].Text);
            var header = frame[1].Text;
            int at = header.IndexOf("Rate", StringComparison.Ordinal);
            Assert.True(at > header.IndexOf("Bytes", StringComparison.Ordinal), header);
            Assert.Equal(new[] { "3.0KB/s", "10B/s", "0B/s", "" }, frame.Skip(2).Take(4).Select(l => l.Text.Substring(at, 8).Trim()));
        }

        [Fact]
        public void AtEightyColumnsTheSortsColumnStaysWhileOthersGiveWay()
        {
            var view = new LiveView(Config("monitoring:\n  showStats: false\n  showTopTalkers: false\n"), ColorDepth.None);
            var busy = Tcp(50002, 443, TcpState.Established, "busy", 2); busy.SendRate = 1024; busy.ReceiveRate = 2048;
            var idle = Tcp(50001, 443, TcpState.Established, "idle", 1); idle.SendRate = 0; idle.ReceiveRate = 0;
            view.Update(Snapshot(T0, idle, busy), null);
            // Sorted by Port, 80 columns drop Port, Age, Bytes, Geo, Rate and PID (RenderingTests).
            Assert.DoesNotContain("Rate", view.BuildFrame(80, 8)[1].Text);
            for (int i = 0; i < 8; i++) view.HandleKey(ConsoleKey.S, 's');
            Assert.Equal(LiveSortKey.Rate, view.SortKey);
            var frame = view.BuildFrame(80, 8);
            var header = frame[1].Text;
            int at = header.IndexOf("Rate", StringComparison.Ordinal);
            Assert.True(at >= 0, header);
            Assert.Equal(new[] { "Proto", "Local", "Foreign", "Process", "Rate" }, header.Split(" ", StringSplitOptions.RemoveEmptyEntries)); // State, next in the give-way order, goes in its place
            Assert.Equal(new[] { "3.0KB/s", "0B/s" }, frame.Skip(2).Take(2).Select(l => l.Text.Substring(at, Math.Min(8, l.Text.Length - at)).Trim()));
            Assert.True(frame.Skip(1).Take(3).All(l => l.Text.Length <= 80));
            // Sorted by Bytes, Bytes stays instead.
            view.HandleKey(ConsoleKey.S, 's'); // wraps to Port
            while (view.SortKey != LiveSortKey.Bytes) view.HandleKey(ConsoleKey.S, 's');
            header = view.BuildFrame(80, 8)[1].Text;
            Assert.Contains("Bytes", header);
            Assert.DoesNotContain("Rate", header);
        }

        [Fact]
        public void ANarrowWindowsFooterKeepsTheKeysOnScreen()
        {
            var view = ViewOf(10);
            Assert.Equal("rows 1-10 of 10  q quit  s sort  p pause  / filter  arrows/PgUp/PgDn scroll", view.BuildFrame(200, 20)[19].Text.TrimEnd());
            // At 60 columns the table hides columns; the keys come before the explanation, in the shorter words.
            Assert.Matches(@"^rows 1-10 of 10  q quit  s sort  p pause  / filter  \(\d+ hidden\)$", view.BuildFrame(70, 20)[19].Text.TrimEnd());
            Assert.Equal("rows 1-10 of 10  q quit  s sort  p pause  / filter", view.BuildFrame(60, 20)[19].Text.TrimEnd());
            Assert.Equal("rows 1-10 of 10  q s p /", view.BuildFrame(30, 20)[19].Text.TrimEnd());
        }

        [Fact]
        public void CountsOfOneAreSingular()
        {
            // Was "1 connections" in the title and "(1 columns hidden: window too narrow)", "rows 1-1 of 1" in the footer.
            var one = ViewOf(1);
            var frame = one.BuildFrame(200, 20);
            Assert.Contains(" 1 connection  refresh ", frame[0].Text);
            Assert.StartsWith("row 1 of 1  q quit", frame[19].Text);
            Assert.Contains(" 3 connections  refresh ", ViewOf(3).BuildFrame(200, 20)[0].Text);

            // The long form of the hidden columns' note shows beside a notice, at any width: the widest window that hides a
            // column hides one, a narrower one more.
            one.Notice = "note";
            var notes = Enumerable.Range(20, 181).Reverse().Select(w => one.BuildFrame(w, 20)[19].Text)
                .Where(t => t.Contains(" hidden: window too narrow)")).ToList();
            Assert.StartsWith("row 1 of 1  (1 column hidden: window too narrow)  note", notes[0]);
            Assert.Contains(notes, t => t.StartsWith("row 1 of 1  (2 columns hidden: window too narrow)  note", StringComparison.Ordinal));

            // A page of one row of many: title, stats, talkers and header leave one line above the footer.
            var many = ViewOf(16);
            Assert.StartsWith("row 1 of 16", many.BuildFrame(120, 6)[5].Text);
            many.HandleKey(ConsoleKey.End, '\0');
            Assert.StartsWith("row 16 of 16", many.BuildFrame(120, 6)[5].Text);
            Assert.StartsWith("rows 2-16 of 16", many.BuildFrame(120, 20)[19].Text);
        }

        [Fact]
        public void ArrowsAndPagesScrollWithinTheRows()
        {
            var view = ViewOf(100);
            view.BuildFrame(120, 20); // 15 rows fit
            Assert.Equal(LiveAction.None, view.HandleKey(ConsoleKey.UpArrow, '\0'));
            Assert.Equal(LiveAction.Redraw, view.HandleKey(ConsoleKey.DownArrow, '\0'));
            Assert.Equal(1, view.ScrollOffset);
            view.HandleKey(ConsoleKey.PageDown, '\0');
            Assert.Equal(16, view.ScrollOffset);
            view.HandleKey(ConsoleKey.End, '\0');
            Assert.Equal(85, view.ScrollOffset);
            var frame = view.BuildFrame(120, 20);
            Assert.StartsWith("rows 86-100 of 100", frame[19].Text);
            view.HandleKey(ConsoleKey.PageUp, '\0');
            Assert.Equal(70, view.ScrollOffset);
            view.HandleKey(ConsoleKey.Home, '\0');
            Assert.Equal(0, view.ScrollOffset);
        }

        [Fact]
        public void SKeyCyclesTheSortAndRowsFollowIt()
        {
            var view = ViewOf(20);
            Assert.Equal(LiveSortKey.Port, view.SortKey);
            var ports = view.ShownRecords.Select(r => r.LocalPort).ToList();
            Assert.Equal(ports.OrderBy(p => p), ports);
            Assert.Equal(LiveAction.Redraw, view.HandleKey(ConsoleKey.S, 's'));
            Assert.Equal(LiveSortKey.Process, view.SortKey);
            var names = view.ShownRecords.Select(r => r.ProcessName).ToList();
            Assert.Equal(names.OrderBy(n => n, StringComparer.OrdinalIgnoreCase), names);
            view.HandleKey(ConsoleKey.S, 's');
            Assert.Equal(LiveSortKey.Pid, view.SortKey);
            Assert.Contains("sort: PID", view.BuildFrame(120, 10)[0].Text); // the column's heading, not the enum's spelling
            for (int i = 0; i < 5; i++) view.HandleKey(ConsoleKey.S, 's');
            Assert.Equal(LiveSortKey.Protocol, view.SortKey);
            Assert.Contains("sort: Proto", view.BuildFrame(120, 10)[0].Text);
        }

        [Fact]
        public void PKeyPausesAndQQuits()
        {
            var view = ViewOf(3);
            view.HandleKey(ConsoleKey.P, 'p');
            Assert.True(view.Paused);
            Assert.Contains("[PAUSED]", view.BuildFrame(120, 10)[0].Text);
            view.HandleKey(ConsoleKey.P, 'p');
            Assert.False(view.Paused);
            Assert.Equal(LiveAction.Quit, view.HandleKey(ConsoleKey.Q, 'q'));
            Assert.Equal(LiveAction.Quit, view.HandleKey(ConsoleKey.C, '\u0003', control: true));
        }

        /// <summary>README: "`p` (or Space) pauses".</summary>
        [Fact]
        public void SpacePausesAndResumesAsPDoes()
        {
            var view = ViewOf(3);
            Assert.Equal(LiveAction.Redraw, view.HandleKey(ConsoleKey.Spacebar, ' '));
            Assert.True(view.Paused);
            Assert.Contains("[PAUSED]", view.BuildFrame(120, 10)[0].Text);
            Assert.Equal(LiveAction.Redraw, view.HandleKey(ConsoleKey.Spacebar, ' '));
            Assert.False(view.Paused);
            Assert.DoesNotContain("[PAUSED]", view.BuildFrame(120, 10)[0].Text);
        }

        /// <summary>README: "`/` filters rows by text (Enter applies, Esc cancels, Esc again clears)".</summary>
        [Fact]
        public void EscCancelsTheFilterBeingTypedAndEscAgainClearsTheAppliedOne()
        {
            var view = ViewOf(21);
            view.HandleKey(ConsoleKey.Oem2, '/');
            foreach (char c in "p3") view.HandleKey(ConsoleKey.A, c);
            view.HandleKey(ConsoleKey.Enter, '\r');
            Assert.Equal(3, view.ShownCount);

            // A new prompt, typed into, then Esc: the prompt closes and the applied filter stays as it was.
            view.HandleKey(ConsoleKey.Oem2, '/');
            foreach (char c in "5") view.HandleKey(ConsoleKey.A, c);
            Assert.Equal(LiveAction.Redraw, view.HandleKey(ConsoleKey.Escape, '\u001b'));
            Assert.False(view.EditingFilter);
            Assert.Equal("p3", view.Filter);
            Assert.Equal(3, view.ShownCount);
            Assert.DoesNotContain(view.BuildFrame(120, 10), l => l.Text.StartsWith("Filter (", StringComparison.Ordinal));

            // Esc again: the filter is cleared and every row is back.
            Assert.Equal(LiveAction.Redraw, view.HandleKey(ConsoleKey.Escape, '\u001b'));
            Assert.Equal("", view.Filter);
            Assert.Equal(21, view.ShownCount);
            Assert.DoesNotContain("filter:", view.BuildFrame(120, 10)[0].Text);
            // With nothing left to clear, Esc does nothing (it does not quit).
            Assert.Equal(LiveAction.None, view.HandleKey(ConsoleKey.Escape, '\u001b'));
        }

        [Fact]
        public void SlashOpensAFilterPromptThatNarrowsTheRows()
        {
            var view = ViewOf(21);
            view.HandleKey(ConsoleKey.Oem2, '/');
            Assert.True(view.EditingFilter);
            foreach (char c in "P3x") view.HandleKey(ConsoleKey.A, c);
            view.HandleKey(ConsoleKey.Backspace, '\b');
            Assert.StartsWith("Filter (Enter applies, Esc cancels): P3_", view.BuildFrame(120, 10)[9].Text);
            Assert.Equal(LiveAction.Redraw, view.HandleKey(ConsoleKey.Q, 'q')); // q is text while the prompt is open
            view.HandleKey(ConsoleKey.Backspace, '\b');
            view.HandleKey(ConsoleKey.Enter, '\r');
            Assert.False(view.EditingFilter);
            Assert.Equal("P3", view.Filter);
            Assert.Equal(3, view.ShownCount); // p3 appears for i = 3, 10, 17
            Assert.All(view.ShownRecords, r => Assert.Equal("p3", r.ProcessName));
            Assert.Contains("filter: P3", view.BuildFrame(120, 10)[0].Text);
            view.HandleKey(ConsoleKey.Escape, '\u001b');
            Assert.Equal(21, view.ShownCount);
        }

        [Fact]
        public void PlainFrameHasEveryRowAndNoStyles()
        {
            var view = new LiveView(Config("highlightedPorts:\n  '443': '#FFA500'\n"), ColorDepth.None);
            view.Update(Snapshot(T0, Enumerable.Range(0, 500).Select(i => Tcp(20000 + i, 443, TcpState.Established)).ToArray()), null);
            var frame = view.BuildPlainFrame();
            Assert.Equal(500 + 4, frame.Count);
            Assert.All(frame, l => Assert.Equal("", l.Style));
        }

        [Fact]
        public void RowStylesCarryTheChosenColour()
        {
            var view = new LiveView(Config("highlightedPorts:\n  '8443': '#FFA500'\ncolors:\n  tcp:\n    listening: 'blue'\n"), ColorDepth.TrueColor);
            view.Update(Snapshot(T0, Tcp(8443, 0, TcpState.Listen, remote: "0.0.0.0"), Tcp(9000, 0, TcpState.Listen, remote: "0.0.0.0")), null);
            var frame = view.BuildFrame(200, 10);
            Assert.Equal("\u001b[38;2;255;165;0m", frame.Single(l => l.Text.Contains(":8443")).Style);
            Assert.Equal("\u001b[34m", frame.Single(l => l.Text.Contains(":9000")).Style);
        }
    }
}
