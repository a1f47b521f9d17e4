using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;


namespace ConnectionsMonitor.Commands
{
    internal sealed class WatchOptions
    {
        public int? RefreshInterval;
        public TimeSpan? Duration;
        public int? Count;
        public bool IncludeExisting;
    }

    /// <summary>The Watch-Connection loop: snapshot, diff, write, wait — on the calling (pipeline) thread.</summary>
    internal static class WatchSupport
    {
        internal static void Run(PSCmdlet cmdlet, ConnectionRequest request, WatchOptions options, CancellationToken stop, Action<object> write)
        {
            // The state filter applies to events, not to what is tracked: a connection going from
            // Established to CloseWait is a StateChanged event for -State Established, not a Closed one.
            var states = request.States?.Select(s => (TcpState)s).ToList();
            request.States = null;
            var plan = CmdletSupport.Plan(cmdlet, request);
            var config = plan.Config;
            int interval = options.RefreshInterval ?? config.RefreshInterval;
            var engine = EngineBridge.Engine;
            var tracker = new Engine.Tracking.ConnectionTracker();
            var clock = Stopwatch.StartNew();
            int written = 0;
            bool first = true;

            while (true)
            {
                var snapshot = plan.Take(engine);
                foreach (var warning in snapshot.Warnings) CmdletSupport.WarnOncePerSession(cmdlet, warning);
                foreach (var e in tracker.Update(snapshot, first && options.IncludeExisting))
                {
                    if (!Matches(states, e)) continue;
                    write(EngineBridge.ToPowerShell(e));
                    if (options.Count != null && ++written >= options.Count.Value) return;
                }
                first = false;

                var wait = TimeSpan.FromMilliseconds(interval);
                if (options.Duration != null)
                {
                    var left = options.Duration.Value - clock.Elapsed;
                    if (left <= TimeSpan.Zero) return;
                    if (left < wait) wait = left;
                }
                if (stop.WaitHandle.WaitOne(wait)) throw new PipelineStoppedException();
                if (options.Duration != null && clock.Elapsed >= options.Duration.Value)
                {
                    // One last look so changes in the final interval are not lost.
                    foreach (var e in tracker.Update(plan.Take(engine)))
                    {
                        if (!Matches(states, e)) continue;
                        write(EngineBridge.ToPowerShell(e));
                        if (options.Count != null && ++written >= options.Count.Value) return;
                    }
                    return;
                }
            }
        }

        private static bool Matches(List<TcpState> states, Engine.Tracking.ConnectionEvent e)
        {
            if (states == null || states.Count == 0) return true;
            var now = e.Connection.State;
            return (now != null && states.Contains(now.Value)) || (e.PreviousState != null && states.Contains(e.PreviousState.Value));
        }
    }
}
