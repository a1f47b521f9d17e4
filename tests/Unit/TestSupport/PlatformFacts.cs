using System.Runtime.InteropServices;
using Xunit;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>A fact that runs only on Linux (the Linux connection-table code needs a Linux kernel).</summary>
    public sealed class LinuxFactAttribute : FactAttribute
    {
        public LinuxFactAttribute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Skip = "needs Linux";
        }
    }

    /// <summary>A fact that runs only on Windows.</summary>
    public sealed class WindowsFactAttribute : FactAttribute
    {
        public WindowsFactAttribute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) Skip = "needs Windows";
        }
    }

    public sealed class LinuxTheoryAttribute : TheoryAttribute
    {
        public LinuxTheoryAttribute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Skip = "needs Linux";
        }
    }
}

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// A fact that needs something of the machine it runs on: skipped, with the reason given, when
    /// <c>missing</c> names what is absent (xunit 2 decides skips before the test runs; a test that
    /// found its prerequisite missing and returned would pass without asserting anything).
    /// </summary>
    public abstract class PrerequisiteFactAttribute : FactAttribute
    {
        protected PrerequisiteFactAttribute(System.Func<string> missing)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Skip = "needs Linux";
            else
            {
                string reason = missing();
                if (reason != null) Skip = reason;
            }
        }
    }

    /// <summary>Linux as root (what the kernel tells only root: sock_diag destroy events with a closed socket's final counters).</summary>
    public sealed class RootFactAttribute : PrerequisiteFactAttribute
    {
        public RootFactAttribute() : base(() => System.Environment.UserName == "root" ? null : "needs root (sock_diag destroy events)") { }
    }

    /// <summary>Linux with IPv6 sockets (a kernel booted with ipv6.disable=1 has none).</summary>
    public sealed class IPv6FactAttribute : PrerequisiteFactAttribute
    {
        public IPv6FactAttribute() : base(() => System.Net.Sockets.Socket.OSSupportsIPv6 ? null : "IPv6 is not available on this machine (Socket.OSSupportsIPv6 is false)") { }
    }
}
