using System;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>
    /// A platform whose byte counters cost a scarce system resource while they run (Windows: an ETW
    /// system-logger session, one of eight per machine) and therefore run only while someone holds a
    /// claim on them. A session that needs byte counts for a while (a sampler with subscribers, a
    /// sample window) takes a claim and disposes it when done; counters stop with the last claim.
    /// Platforms whose counters are free (Linux tcp_info) do not implement this.
    /// </summary>
    public interface IByteCounterUsers
    {
        /// <summary>
        /// Claims byte counters until the returned object is disposed. <paramref name="problem"/> is null
        /// while counting, else why counts are off (missing elevation …), worded for the user; the claim
        /// must be disposed either way.
        /// </summary>
        IDisposable AcquireByteCounters(out string problem);
    }
}
