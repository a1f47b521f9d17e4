using System;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Runtime.InteropServices;
using System.Threading;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Tracking;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// Show-ConnectionMonitor's loop, on the pipeline thread: snapshot → tracker (ages) → LiveView →
    /// frame, every refresh interval, with keys polled in between. Everything goes through the host
    /// (Host.UI.Write, RawUI.ReadKey), never System.Console, because PowerShell hosts differ.
    /// </summary>
    internal static class LiveViewSupport
    {
        // Key polling period: short enough to feel immediate, long enough to cost nothing.
        private const int KeyPollMilliseconds = 40;

        internal static void Run(PSCmdlet cmdlet, ConnectionRequest request, int? refreshMs, int? count, CancellationToken stop)
        {
            var plan = CmdletSupport.Plan(cmdlet, request);
            var config = plan.Config;
            int interval = refreshMs ?? config.RefreshInterval;
            var ui = cmdlet.Host.UI;
            var raw = TerminalOf(cmdlet.Host);
            bool interactive = raw != null;
            // PowerShell 7 hosts strip every escape sequence, cursor moves included, while
            // $PSStyle.OutputRendering is PlainText (NO_COLOR sets it). The view needs its cursor moves,
            // so it lifts PlainText for its own duration and draws without colour instead.
            var rendering = interactive ? OutputRendering.Lift(cmdlet) : null;
            var depth = interactive && !(rendering?.WasPlainText ?? false)
                ? TerminalColors.Detect(Environment.GetEnvironmentVariable, RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                : ColorDepth.None;
            var view = new LiveView(config, depth) { RefreshInterval = interval };
            var tracker = new ConnectionTracker();
            var engine = EngineBridge.Engine;
            var differ = new ScreenDiffer();
            ConnectionSnapshot previous = null;
            int frames = 0;
            bool entered = false;

            void Draw()
            {
                if (interactive)
                {
                    var size = raw.WindowSize;
                    ui.Write(differ.Render(view.BuildFrame(size.Width, size.Height), size.Width, size.Height));
                }
                else
                {
                    if (frames > 0) ui.Write(Environment.NewLine);
                    ui.Write(ScreenDiffer.Plain(view.BuildPlainFrame()));
                }
            }

            try
            {
                if (interactive)
                {
                    ui.Write(Ansi.Enter);
                    entered = true;
                }
                while (!stop.IsCancellationRequested)
                {
                    if (!view.Paused || previous == null)
                    {
                        var snapshot = plan.Take(engine);
                        tracker.Update(snapshot);
                        // A warning written mid-screen would be overdrawn; the view shows it on its bottom line.
                        if (interactive) view.Notice = snapshot.Warnings.Count > 0 ? snapshot.Warnings[0] : null;
                        else foreach (var w in snapshot.Warnings) CmdletSupport.WarnOncePerSession(cmdlet, w);
                        view.Update(snapshot, previous);
                        previous = snapshot;
                    }
                    Draw();
                    frames++;
                    if (count != null && frames >= count.Value) break;
                    if (!interactive)
                    {
                        if (stop.WaitHandle.WaitOne(interval)) break;
                        continue;
                    }
                    if (!WaitForNextRefresh(raw, view, interval, stop, Draw)) break;
                }
            }
            finally
            {
                // Also after an error or Ctrl+C: the user gets their screen, cursor and colours back.
                if (entered) ui.Write(Ansi.Restore);
                rendering?.Restore();
            }
        }

        /// <summary>Temporarily switches $PSStyle.OutputRendering from PlainText to Ansi (PowerShell 7.2+; nothing to do on 5.1).</summary>
        private sealed class OutputRendering
        {
            private readonly object _style;
            private readonly System.Reflection.PropertyInfo _property;
            private readonly object _saved;

            private OutputRendering(object style, System.Reflection.PropertyInfo property, object saved)
            {
                _style = style;
                _property = property;
                _saved = saved;
            }

            internal bool WasPlainText => _saved != null && _saved.ToString() == "PlainText";

            internal static OutputRendering Lift(PSCmdlet cmdlet)
            {
                object style = cmdlet.SessionState.PSVariable.GetValue("PSStyle");
                if (style is PSObject wrapped) style = wrapped.BaseObject;
                var property = style?.GetType().GetProperty("OutputRendering");
                if (property == null || !property.CanWrite) return null;
                var result = new OutputRendering(style, property, property.GetValue(style));
                if (result.WasPlainText) property.SetValue(style, Enum.Parse(property.PropertyType, "Ansi"));
                return result;
            }

            internal void Restore()
            {
                if (WasPlainText) _property.SetValue(_style, _saved);
            }
        }

        /// <summary>Handles keys and resizes until the next refresh is due; false when the user quit or the pipeline stopped.</summary>
        private static bool WaitForNextRefresh(PSHostRawUserInterface raw, LiveView view, int interval, CancellationToken stop, Action draw)
        {
            var clock = Stopwatch.StartNew();
            var size = raw.WindowSize;
            while (clock.ElapsedMilliseconds < interval)
            {
                while (raw.KeyAvailable)
                {
                    var key = raw.ReadKey(ReadKeyOptions.NoEcho | ReadKeyOptions.IncludeKeyDown);
                    bool control = (key.ControlKeyState & (ControlKeyStates.LeftCtrlPressed | ControlKeyStates.RightCtrlPressed)) != 0;
                    var action = view.HandleKey((ConsoleKey)key.VirtualKeyCode, key.Character, control);
                    if (action == LiveAction.Quit) return false;
                    if (action == LiveAction.Redraw) draw();
                }
                var now = raw.WindowSize;
                if (now.Width != size.Width || now.Height != size.Height)
                {
                    size = now;
                    draw();
                }
                long left = interval - clock.ElapsedMilliseconds;
                if (left > 0 && stop.WaitHandle.WaitOne((int)Math.Min(left, KeyPollMilliseconds))) return false;
            }
            return !stop.IsCancellationRequested;
        }

        /// <summary>
        /// The host's raw UI when it is an interactive terminal that takes escape sequences and gives
        /// keys and a window size; null otherwise (output redirected, remoting, a test's buffer), and
        /// the view then prints plain frames.
        /// </summary>
        private static PSHostRawUserInterface TerminalOf(PSHost host)
        {
            var ui = host?.UI;
            if (ui == null || !ui.SupportsVirtualTerminal) return null;
            // pwsh's own console host keeps VT support on when stdout goes to a file.
            if (host.Name == "ConsoleHost" && (Console.IsOutputRedirected || Console.IsInputRedirected)) return null;
            try
            {
                var raw = ui.RawUI;
                if (raw == null) return null;
                var size = raw.WindowSize;
                _ = raw.KeyAvailable;
                return size.Width > 0 && size.Height > 0 ? raw : null;
            }
            catch (Exception ex) when (ex is NotSupportedException || ex is NotImplementedException || ex is InvalidOperationException || ex is System.IO.IOException || ex is HostException)
            {
                return null;
            }
        }
    }
}
