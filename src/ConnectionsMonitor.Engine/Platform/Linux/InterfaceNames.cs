using System;
using System.Runtime.InteropServices;
using System.Text;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Interface index → name in the calling thread's network namespace (libc if_indextoname, i.e. the SIOCGIFNAME ioctl, which is what ss uses to print "%eth1" after a
    /// link-local address). Not cached: links come, go and are renamed, and link-local rows are few.
    /// </summary>
    internal static unsafe class InterfaceNames
    {
        private const int IF_NAMESIZE = 16;

        [DllImport("libc", EntryPoint = "if_indextoname", SetLastError = true)]
        private static extern byte* if_indextoname(uint index, byte* name);

        /// <summary>The name of interface <paramref name="index"/> ("eth1"), or null when no such interface exists now.</summary>
        internal static string NameOf(uint index)
        {
            if (index == 0) return null;
            byte* buf = stackalloc byte[IF_NAMESIZE + 1];
            try
            {
                if (if_indextoname(index, buf) == null) return null;
            }
            catch (DllNotFoundException) { return null; }
            catch (EntryPointNotFoundException) { return null; }
            int len = 0;
            while (len < IF_NAMESIZE && buf[len] != 0) len++;
            return len == 0 ? null : Encoding.UTF8.GetString(buf, len);
        }
    }
}
