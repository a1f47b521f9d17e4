using System;
using System.Runtime.InteropServices;
using System.Text;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    internal static partial class Interop
    {
        internal static class Kernel32
        {
            internal const uint TH32CS_SNAPPROCESS = 0x00000002;
            internal const int PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
            internal const int MAX_PATH = 260;

            [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
            internal struct PROCESSENTRY32W
            {
                internal int dwSize;
                internal int cntUsage;
                internal int th32ProcessID;
                internal IntPtr th32DefaultHeapID;
                internal int th32ModuleID;
                internal int cntThreads;
                internal int th32ParentProcessID;
                internal int pcPriClassBase;
                internal int dwFlags;
                [MarshalAs(UnmanagedType.ByValTStr, SizeConst = MAX_PATH)]
                internal string szExeFile;
            }

            [DllImport("kernel32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern SafeKernelHandle CreateToolhelp32Snapshot(uint dwFlags, int th32ProcessID);

            [DllImport("kernel32.dll", ExactSpelling = true, SetLastError = true, CharSet = CharSet.Unicode)]
            internal static extern bool Process32FirstW(SafeKernelHandle hSnapshot, ref PROCESSENTRY32W lppe);

            [DllImport("kernel32.dll", ExactSpelling = true, SetLastError = true, CharSet = CharSet.Unicode)]
            internal static extern bool Process32NextW(SafeKernelHandle hSnapshot, ref PROCESSENTRY32W lppe);

            [DllImport("kernel32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern SafeKernelHandle OpenProcess(int dwDesiredAccess, bool bInheritHandle, int dwProcessId);

            [DllImport("kernel32.dll", ExactSpelling = true, SetLastError = true, CharSet = CharSet.Unicode)]
            internal static extern bool QueryFullProcessImageNameW(
                SafeKernelHandle hProcess, int dwFlags, StringBuilder lpExeName, ref int lpdwSize);

            // FILETIMEs arrive as 64-bit little-endian values, which is exactly a long on x86/x64/arm64.
            [DllImport("kernel32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern bool GetProcessTimes(
                SafeKernelHandle hProcess, out long lpCreationTime, out long lpExitTime,
                out long lpKernelTime, out long lpUserTime);

            [DllImport("kernel32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern bool CloseHandle(IntPtr hObject);

            /// <summary>The pseudo-handle (-1) of the calling process; never closed.</summary>
            [DllImport("kernel32.dll", ExactSpelling = true)]
            internal static extern IntPtr GetCurrentProcess();

            [DllImport("kernel32.dll", ExactSpelling = true, CharSet = CharSet.Unicode)]
            internal static extern IntPtr GetModuleHandleW(string lpModuleName);

            // GetProcAddress exists only as an ANSI export.
            [DllImport("kernel32.dll", ExactSpelling = true, CharSet = CharSet.Ansi, BestFitMapping = false)]
            internal static extern IntPtr GetProcAddress(IntPtr hModule, string lpProcName);
        }
    }
}
