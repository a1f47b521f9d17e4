using System;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Engine.Platform.Windows;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>Picks the platform implementation for the running OS.</summary>
    public static class PlatformServices
    {
        public static IPlatform CreateForCurrentOS()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                return new WindowsPlatform();
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
                return new LinuxPlatform();
            throw new PlatformNotSupportedException(
                "ConnectionsMonitor reads connection tables on Windows and Linux; " +
                RuntimeInformation.OSDescription + " is not supported yet.");
        }
    }
}
