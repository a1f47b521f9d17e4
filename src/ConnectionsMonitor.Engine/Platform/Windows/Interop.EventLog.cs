using System;
using System.Runtime.InteropServices;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    internal static partial class Interop
    {
        /// <summary>advapi32's event logging and the few registry calls an event source's registration needs.</summary>
        internal static class EventLogApi
        {
            internal static readonly IntPtr HKEY_LOCAL_MACHINE = new IntPtr(unchecked((int)0x80000002));
            internal const int KEY_READ = 0x20019;
            internal const int KEY_ALL_ACCESS = 0xF003F;
            internal const int REG_EXPAND_SZ = 2;
            internal const int REG_DWORD = 4;
            internal const int ERROR_FILE_NOT_FOUND = 2;
            internal const int ERROR_ACCESS_DENIED = 5;

            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true, CharSet = CharSet.Unicode)]
            internal static extern IntPtr RegisterEventSourceW(string uncServerName, string sourceName);

            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern bool DeregisterEventSource(IntPtr eventLog);

            // lpStrings is an array of LPCWSTR (CharSet.Unicode marshals each element so).
            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true, CharSet = CharSet.Unicode)]
            internal static extern bool ReportEventW(IntPtr eventLog, ushort type, ushort category, uint eventId, IntPtr userSid,
                ushort numStrings, uint dataSize, string[] strings, IntPtr rawData);

            // The Reg* functions return the Win32 error code (0 on success); they do not set the last error.
            [DllImport("advapi32.dll", ExactSpelling = true, CharSet = CharSet.Unicode)]
            internal static extern int RegOpenKeyExW(IntPtr key, string subKey, int options, int samDesired, out IntPtr result);

            [DllImport("advapi32.dll", ExactSpelling = true, CharSet = CharSet.Unicode)]
            internal static extern int RegCreateKeyExW(IntPtr key, string subKey, int reserved, string keyClass, int options, int samDesired,
                IntPtr securityAttributes, out IntPtr result, out int disposition);

            [DllImport("advapi32.dll", ExactSpelling = true, CharSet = CharSet.Unicode)]
            internal static extern int RegSetValueExW(IntPtr key, string valueName, int reserved, int type, byte[] data, int dataSize);

            [DllImport("advapi32.dll", ExactSpelling = true, CharSet = CharSet.Unicode)]
            internal static extern int RegQueryValueExW(IntPtr key, string valueName, IntPtr reserved, out int type, byte[] data, ref int dataSize);

            [DllImport("advapi32.dll", ExactSpelling = true, CharSet = CharSet.Unicode)]
            internal static extern int RegDeleteKeyW(IntPtr key, string subKey);

            [DllImport("advapi32.dll", ExactSpelling = true)]
            internal static extern int RegCloseKey(IntPtr key);
        }
    }
}
