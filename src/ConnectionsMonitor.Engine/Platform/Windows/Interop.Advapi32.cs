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
            internal const int TokenUser = 1;

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
