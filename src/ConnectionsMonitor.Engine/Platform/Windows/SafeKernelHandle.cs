using Microsoft.Win32.SafeHandles;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// A kernel object handle closed with CloseHandle: toolhelp snapshots, processes, access tokens.
    /// CreateToolhelp32Snapshot signals failure with INVALID_HANDLE_VALUE and OpenProcess with NULL,
    /// so both values count as invalid.
    /// </summary>
    internal sealed class SafeKernelHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        public SafeKernelHandle() : base(ownsHandle: true)
        {
        }

        protected override bool ReleaseHandle() => Interop.Kernel32.CloseHandle(handle);
    }
}
