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
            var view = new LiveView(plan.Config, interactive ? terminal.ColorDepth : ColorDepth.None) { RefreshInterval = (int)interval.TotalMilliseconds };
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
                    terminal.Write(differ.Render(view.BuildFrame(width, height), width, height));
                }
                else
                {
                    terminal.WriteFrame(ScreenDiffer.Plain(view.BuildPlainFrame()));
                }
            }

            using (var feed = session.Subscribe(plan, interval))
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
                            if (!WaitInteractive(terminal, view, feed, cancel, Draw, ref width, ref height, out sample)) return;
                        }
                        else if (!feed.TryNext(TimeSpan.FromMilliseconds(-1), cancel, out sample))
                        {
                            continue;
                        }

                        // Paused: samples keep coming (other subscribers are not held up) but the view keeps its rows.
                        if (!view.Paused || previous == null)
                        {
                            var snapshot = sample.Snapshot;
                            if (interactive)
                            {
                                // A warning written mid-screen would be overdrawn; the view shows it on its bottom line.
                                view.Notice = snapshot.Warnings.Count > 0 ? snapshot.Warnings[0] : null;
                            }
                            else
                            {
                                foreach (var w in session.Unsaid(snapshot.Warnings)) terminal.Warn(w);
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
        }

        /// <summary>Handles keys and resizes until the next sample arrives; false when the user quit.</summary>
        private static bool WaitInteractive(ILiveTerminal terminal, LiveView view, SessionFeed feed, CancellationToken cancel, Action draw,
            ref int width, ref int height, out SessionSample sample)
        {
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
                if (feed.TryNext(KeyPoll, cancel, out sample)) return true;
            }
        }
    }
}
