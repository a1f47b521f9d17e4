using System.Collections.Generic;
using System;
using System.Threading;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Engine.Session
{
    /// <summary>Options of <see cref="MonitorSession.RunLiveView"/>.</summary>
    public sealed class LiveViewOptions
    {
        /// <summary>Time between refreshes; null for the configuration's refreshInterval.</summary>
        public TimeSpan? Interval { get; set; }

        /// <summary>Stop after this many frames; null to run until q or cancellation.</summary>
        public int? Count { get; set; }

        /// <summary>
        /// For the CPU benchmark only: called on the loop's thread when a stage of a refresh has finished
        /// ("wait", "feed", the view's own stages, "frame", "diff", "write"), so it can read the thread's CPU
        /// clock and charge the time since the previous call to that stage. Null (always, outside the benchmark): no calls.
        /// </summary>
        internal Action<string> StageDone { get; set; }
    }

    /// <summary>The live view's loop: samples from the session's sampler → LiveView → frames, with keys handled in between.</summary>
    internal static class LiveViewRunner
    {
        // Key polling period: short enough to feel immediate, long enough to cost nothing.
        private static readonly TimeSpan KeyPoll = TimeSpan.FromMilliseconds(40);

        internal static void Run(MonitorSession session, ILiveTerminal terminal, ConnectionQuery query, LiveViewOptions options, CancellationToken cancel)
        {
            var plan = session.Plan(query);
            var interval = options.Interval ?? TimeSpan.FromMilliseconds(plan.Config.RefreshInterval);
            bool interactive = terminal.IsInteractive;
            var stage = options.StageDone;
            var view = new LiveView(plan.Config, interactive ? terminal.ColorDepth : ColorDepth.None) { RefreshInterval = (int)interval.TotalMilliseconds, StageDone = stage };
            var differ = new ScreenDiffer();
            ConnectionSnapshot previous = null;
            int frames = 0;
            bool entered = false;
            int width = 0, height = 0;

            void Draw()
            {
                if (interactive)
                {
                    width = terminal.Width;
                    height = terminal.Height;
                    var frame = view.BuildFrame(width, height);
                    stage?.Invoke("frame");
                    string output = differ.Render(frame, width, height);
                    stage?.Invoke("diff");
                    terminal.Write(output);
                    stage?.Invoke("write");
                }
                else
                {
                    terminal.WriteFrame(ScreenDiffer.Plain(view.BuildPlainFrame()));
                }
            }

            // Alert rules' warnings (a port-scan watch that cannot capture …): on the status line while the view
            // runs, then as warnings once the screen is back.
            var alertNotes = new List<string>();
            using (var feed = session.Subscribe(plan, interval, trackChanges: false))
            {
                foreach (var w in feed.SetupWarnings) if (!interactive) terminal.Warn(w);
                try
                {
                    if (interactive)
                    {
                        terminal.Write(Ansi.Enter);
                        entered = true;
                    }
                    while (!cancel.IsCancellationRequested)
                    {
                        SessionSample sample;
                        if (interactive)
                        {
                            if (!WaitInteractive(terminal, view, feed, cancel, Draw, stage, ref width, ref height, out sample)) return;
                        }
                        else if (!feed.TryNext(TimeSpan.FromMilliseconds(-1), cancel, out sample))
                        {
                            continue;
                        }

                        // Paused: samples keep coming (other subscribers are not held up) but the view keeps its rows.
                        if (!view.Paused || previous == null)
                        {
                            var snapshot = sample.Snapshot;
                            session.Alerts.ApplyFlags(snapshot.Connections);
                            if (interactive)
                            {
                                // A warning written mid-screen would be overdrawn; the view shows it on its bottom line.
                                alertNotes.AddRange(session.Alerts.TakeWarnings());
                                view.Notice = snapshot.Warnings.Count > 0 ? snapshot.Warnings[0] : alertNotes.Count > 0 ? alertNotes[alertNotes.Count - 1] : null;
                            }
                            else
                            {
                                foreach (var w in session.Unsaid(snapshot.Warnings)) terminal.Warn(w);
                                foreach (var w in session.Alerts.TakeWarnings()) terminal.Warn(w);
                            }
                            view.Update(snapshot, previous);
                            previous = snapshot;
                        }
                        Draw();
                        frames++;
                        if (options.Count != null && frames >= options.Count.Value) return;
                    }
                }
                finally
                {
                    // Also after an error or Ctrl+C: the user gets their screen, cursor and colours back.
                    if (entered) terminal.Write(Ansi.Restore);
                }
            }
            foreach (var w in alertNotes) terminal.Warn(w);
        }

        /// <summary>Handles keys and resizes until the next sample arrives; false when the user quit.</summary>
        private static bool WaitInteractive(ILiveTerminal terminal, LiveView view, SessionFeed feed, CancellationToken cancel, Action draw,
            Action<string> stage, ref int width, ref int height, out SessionSample sample)
        {
            // Intervals shorter than two polls (tests; the cmdlet allows 100 ms and up) are polled at half the interval.
            var half = TimeSpan.FromTicks(feed.Subscription.Interval.Ticks / 2);
            var poll = half < KeyPoll ? (half > TimeSpan.Zero ? half : TimeSpan.FromMilliseconds(1)) : KeyPoll;
            while (true)
            {
                while (terminal.KeyAvailable)
                {
                    var key = terminal.ReadKey();
                    var action = view.HandleKey(key.Key, key.Character, key.Control);
                    if (action == LiveAction.Quit) { sample = null; return false; }
                    if (action == LiveAction.Redraw) draw();
                }
                if (width != 0 && (terminal.Width != width || terminal.Height != height)) draw();
                stage?.Invoke("wait");
                // TryNext filters the rows and diffs them on this thread once a sample is there.
                bool got = feed.TryNext(TimeSpan.Zero, cancel, out sample);
                stage?.Invoke(got ? "feed" : "wait");
                if (got) return true;
                // Between samples, sleep on the cancellation token rather than inside the feed's wait: that wait
                // spins before it blocks, 25 times a second, which cost more CPU than the rest of an idle second. A
                // sample that comes meanwhile is drawn at the next poll (within one poll period).
                if (cancel.WaitHandle.WaitOne(poll)) cancel.ThrowIfCancellationRequested();
            }
        }
    }
}
