using System;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// Tells whether the Windows code runs under Wine, where IP Helper reports no owning PIDs or
    /// creation times. Wine's ntdll exports wine_get_version; real Windows never does.
    /// </summary>
    internal static class WineDetection
    {
        private static readonly Lazy<bool> s_isWine = new Lazy<bool>(Detect);

        public static bool IsRunningUnderWine => s_isWine.Value;

        private static bool Detect()
        {
            IntPtr ntdll = Interop.Kernel32.GetModuleHandleW("ntdll.dll");
            return ntdll != IntPtr.Zero && Interop.Kernel32.GetProcAddress(ntdll, "wine_get_version") != IntPtr.Zero;
        }
    }
}
