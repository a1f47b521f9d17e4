using System;
using System.Threading;

namespace ConnectionsMonitor.Tests.Dns
{
    /// <summary>
    /// The clock a resolver measures cache lifetimes on, moved by the test: a lifetime is checked a
    /// millisecond before and a millisecond after it ends, whatever the machine's speed.
    /// </summary>
    internal sealed class ManualClock
    {
        private long _ticks = TimeSpan.FromHours(1).Ticks; // not zero: nothing may treat 0 as "never"

        public TimeSpan Now => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

        public Func<TimeSpan> Read => () => Now;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
