using System;
using System.Threading;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;

namespace ConnectionsMonitor.Tests.Vpn
{
    /// <summary>
    /// A real network interface made with iproute2 for the length of a test (needs root), with one IPv4
    /// and one IPv6 address, set up, and deleted on Dispose. Names are unique per test process; a stale interface of
    /// the same name left by a crashed run is deleted first.
    /// </summary>
    public sealed class KernelLink : IDisposable
    {
        private static int _counter;

        private KernelLink(string name, string address, string address6)
        {
            Name = name;
            Address = address;
            Address6 = address6;
        }

        /// <summary>The interface name (at most 15 characters, the kernel's limit).</summary>
        public string Name { get; }

        /// <summary>The IPv4 address given to it, from 198.18.0.0/15 (RFC 2544 benchmarking, never routed).</summary>
        public string Address { get; }

        /// <summary>The IPv6 address given to it, from the unique-local fd7e:c0de::/32 (added without duplicate address detection).</summary>
        public string Address6 { get; }

        /// <summary>
        /// Creates the link with "ip" followed by <paramref name="createArgs"/> (where {0} is the name), e.g.
        /// "tuntap add dev {0} mode tun". Throws with iproute2's own words when the kernel refuses.
        /// </summary>
        public static KernelLink Create(string createArgs)
        {
            int n = Interlocked.Increment(ref _counter);
            string name = "cmvpn" + (Environment.ProcessId % 100000) + "x" + n;
            string address = "198.18." + ((Environment.ProcessId % 200) + 20) + "." + n;
            string address6 = "fd7e:c0de:" + (Environment.ProcessId % 65536).ToString("x") + "::" + n.ToString("x");
            IpCommand.Try("link del " + name); // a leftover of a crashed run with the same pid, if any
            IpCommand.Run(string.Format(createArgs, name));
            var link = new KernelLink(name, address, address6);
            try
            {
                IpCommand.Run("addr add " + address + "/32 dev " + name);
                IpCommand.Run("addr add " + address6 + "/128 dev " + name + " nodad");
                IpCommand.Run("link set " + name + " up");
            }
            catch
            {
                link.Dispose();
                throw;
            }
            return link;
        }

        /// <summary>Why iproute2 cannot make a link of this kind here (null when it can), probing with a throwaway link.</summary>
        public static string Unsupported(string createArgs)
        {
            if (LinuxNative.geteuid() != 0) return null; // not a kernel limit: let the test run and fail loudly
            string probe = "cmprobe" + (Environment.ProcessId % 100000);
            IpCommand.Try("link del " + probe);
            var (rc, err) = IpCommand.Try(string.Format(createArgs, probe));
            if (rc == 0)
            {
                IpCommand.Try("link del " + probe);
                return null;
            }
            return "the kernel refused 'ip " + string.Format(createArgs, "NAME") + "': " + err.Trim();
        }

        public void Dispose()
        {
            IpCommand.Try("link del " + Name);
        }
    }
}
