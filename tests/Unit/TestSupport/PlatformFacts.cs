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
