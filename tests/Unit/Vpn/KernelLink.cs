using System;
using System.Diagnostics;
using System.Threading;
using ConnectionsMonitor.Engine.Platform.Linux;

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
            Ip("link del " + name); // a leftover of a crashed run with the same pid, if any
            Run(string.Format(createArgs, name));
            var link = new KernelLink(name, address, address6);
            try
            {
                Run("addr add " + address + "/32 dev " + name);
                Run("addr add " + address6 + "/128 dev " + name + " nodad");
                Run("link set " + name + " up");
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
            Ip("link del " + probe);
            var (rc, err) = Ip(string.Format(createArgs, probe));
            if (rc == 0)
            {
                Ip("link del " + probe);
                return null;
            }
            return "the kernel refused 'ip " + string.Format(createArgs, "NAME") + "': " + err.Trim();
        }

        private static void Run(string args)
        {
            var (rc, err) = Ip(args);
            if (rc != 0)
                throw new InvalidOperationException(
                    "'ip " + args + "' failed (exit " + rc + "): " + err.Trim() +
                    (LinuxNative.geteuid() != 0 ? " — these tests make real interfaces and must run as root" : ""));
        }

        private static (int, string) Ip(string args)
        {
            var psi = new ProcessStartInfo("ip", args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            p.StandardOutput.ReadToEnd();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, err);
        }

        public void Dispose()
        {
            Ip("link del " + Name);
        }
    }
}
