using System;
using System.Runtime.InteropServices;
using System.Text;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    internal static partial class Interop
    {
        internal static class Advapi32
        {
            internal const int TOKEN_QUERY = 0x0008;
            internal const int TOKEN_ADJUST_PRIVILEGES = 0x0020;
            internal const int TokenUser = 1;
            internal const int TokenPrivileges = 3;
            internal const int TokenElevation = 20;

            // The current process's pseudo-handle (GetCurrentProcess, -1) is no SafeHandle: it needs no closing.
            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern bool OpenProcessToken(
                IntPtr processHandle, int desiredAccess, out SafeKernelHandle tokenHandle);

            // TOKEN_ELEVATION is a single DWORD (TokenIsElevated).
            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern bool GetTokenInformation(
                SafeKernelHandle tokenHandle, int tokenInformationClass, out int tokenInformation,
                int tokenInformationLength, out int returnLength);

            // TOKEN_PRIVILEGES and other variable-length classes, parsed by managed code (DebugPrivilege).
            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern bool GetTokenInformation(
                SafeKernelHandle tokenHandle, int tokenInformationClass, byte[] tokenInformation,
                int tokenInformationLength, out int returnLength);

            // A LUID is { DWORD LowPart; LONG HighPart; }: on little-endian Windows exactly a long.
            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true, CharSet = CharSet.Unicode)]
            internal static extern bool LookupPrivilegeValueW(string systemName, string name, out long luid);

            // newState is a TOKEN_PRIVILEGES built by DebugPrivilege.EnableRequest. The function returns
            // TRUE with ERROR_NOT_ALL_ASSIGNED when the token lacks the privilege.
            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern bool AdjustTokenPrivileges(
                SafeKernelHandle tokenHandle, bool disableAllPrivileges, byte[] newState, int bufferLength,
                IntPtr previousState, IntPtr returnLength);

            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern bool OpenProcessToken(
                SafeKernelHandle processHandle, int desiredAccess, out SafeKernelHandle tokenHandle);

            // TOKEN_USER is a SID_AND_ATTRIBUTES whose first field points at the SID inside the same buffer,
            // so the buffer is handed over as raw memory and read with Marshal.ReadIntPtr.
            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern bool GetTokenInformation(
                SafeKernelHandle tokenHandle, int tokenInformationClass, IntPtr tokenInformation,
                int tokenInformationLength, out int returnLength);

            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true, CharSet = CharSet.Unicode)]
            internal static extern bool LookupAccountSidW(
                string lpSystemName, IntPtr sid, StringBuilder name, ref int cchName,
                StringBuilder referencedDomainName, ref int cchReferencedDomainName, out int peUse);
        }
    }
}
