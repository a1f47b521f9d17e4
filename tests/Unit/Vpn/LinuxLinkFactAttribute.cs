using System.Runtime.InteropServices;
using Xunit;

namespace ConnectionsMonitor.Tests.Vpn
{
    /// <summary>
    /// A Linux fact that needs a kind of network interface the kernel may not offer (WireGuard, ipip, tun).
    /// It is skipped, with iproute2's own refusal as the reason, only when the kernel refuses that kind as
    /// root; without root it runs and fails loudly (CI runs as root).
    /// </summary>
    public sealed class LinuxLinkFactAttribute : FactAttribute
    {
        public LinuxLinkFactAttribute(string createArgs)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) { Skip = "needs Linux"; return; }
            Skip = KernelLink.Unsupported(createArgs);
        }
    }

    public sealed class LinuxLinkTheoryAttribute : TheoryAttribute
    {
        public LinuxLinkTheoryAttribute(string createArgs)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) { Skip = "needs Linux"; return; }
            Skip = KernelLink.Unsupported(createArgs);
        }
    }
}
