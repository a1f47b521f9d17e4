using System;
using System.Runtime.InteropServices;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    internal static partial class Interop
    {
        /// <summary>IP Helper: the extended TCP/UDP tables with their owning process.</summary>
        internal static class IpHlpApi
        {
            internal const int AF_INET = 2;
            internal const int AF_INET6 = 23;

            // TCP_TABLE_CLASS values (tcpmib.h).
            internal const int TCP_TABLE_OWNER_PID_ALL = 5;
            internal const int TCP_TABLE_OWNER_MODULE_ALL = 8;

            // UDP_TABLE_CLASS values (udpmib.h).
            internal const int UDP_TABLE_OWNER_PID = 1;
            internal const int UDP_TABLE_OWNER_MODULE = 2;

            // The tables are written into caller memory we own and parse by hand
            // (IpHelperTableParser), so the buffer is passed as a raw pointer.
            [DllImport("iphlpapi.dll", ExactSpelling = true)]
            internal static extern unsafe uint GetExtendedTcpTable(
                byte* pTcpTable, ref uint pdwSize, bool bOrder, int ulAf, int tableClass, uint reserved);

            [DllImport("iphlpapi.dll", ExactSpelling = true)]
            internal static extern unsafe uint GetExtendedUdpTable(
                byte* pUdpTable, ref uint pdwSize, bool bOrder, int ulAf, int tableClass, uint reserved);
        }
    }
}
