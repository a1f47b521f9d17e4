using System;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine.Platform.Linux;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// A named network namespace joined to this one by a veth pair, for tests that need a real remote
    /// host whose traffic arrives on a real interface (root only). Each instance has its own names and
    /// its own subnets: IPv4 10.(150 + pid % 100).(n).0/30 (this side .1, the namespace .2) and IPv6
    /// fd7e:5ca0:PID:N::/64 (::1 here, ::2 there, no duplicate address detection). Dispose deletes the
    /// veth pair and the namespace; the constructor does the same when it fails half-way.
    /// A missing prerequisite (not root, no iproute2) throws with a message that says so.
    /// </summary>
    public sealed class VethNamespace : IDisposable
    {
        private static int _counter;

        public VethNamespace()
        {
            if (LinuxNative.geteuid() != 0)
                throw new InvalidOperationException("this test makes a network namespace and a veth pair and must run as root (euid is " + LinuxNative.geteuid() + ")");
            int n = Interlocked.Increment(ref _counter);
            string tag = (Environment.ProcessId % 10000) + "x" + n;
            Name = "cmns" + tag;
            HostLink = "cmvh" + tag;
            PeerLink = "cmvp" + tag;
            string net = "10." + (150 + Environment.ProcessId % 100) + "." + (n % 250) + ".";
            HostAddress = IPAddress.Parse(net + "1");
            PeerAddress = IPAddress.Parse(net + "2");
            string net6 = "fd7e:5ca0:" + (Environment.ProcessId % 65536).ToString("x") + ":" + n.ToString("x") + "::";
            HostAddress6 = IPAddress.Parse(net6 + "1");
            PeerAddress6 = IPAddress.Parse(net6 + "2");
            try
            {
                Ip("netns add " + Name);
                Ip("link add " + HostLink + " type veth peer name " + PeerLink + " netns " + Name);
                Ip("addr add " + HostAddress + "/30 dev " + HostLink);
                Ip("addr add " + HostAddress6 + "/64 dev " + HostLink + " nodad");
                Ip("link set " + HostLink + " up");
                Ip("-n " + Name + " addr add " + PeerAddress + "/30 dev " + PeerLink);
                Ip("-n " + Name + " addr add " + PeerAddress6 + "/64 dev " + PeerLink + " nodad");
                Ip("-n " + Name + " link set " + PeerLink + " up");
                Ip("-n " + Name + " link set lo up");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        /// <summary>The namespace's name (ip netns).</summary>
        public string Name { get; }

        /// <summary>This side of the veth pair.</summary>
        public string HostLink { get; }

        /// <summary>The namespace's side of the veth pair.</summary>
        public string PeerLink { get; }

        public IPAddress HostAddress { get; }
        public IPAddress PeerAddress { get; }
        public IPAddress HostAddress6 { get; }
        public IPAddress PeerAddress6 { get; }

        private static void Ip(string args)
        {
            try
            {
                IpCommand.Run(args);
            }
            catch (Win32Exception ex)
            {
                throw new InvalidOperationException("this test needs iproute2's 'ip' command, which could not be started: " + ex.Message, ex);
            }
        }

        // The system's interpreter, as LinkLocalZoneTests uses: a version manager's shim on PATH may behave differently under the test host.
        private static string Python => System.IO.File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

        /// <summary>Starts <c>python3 -c SCRIPT ARGS…</c> inside the namespace, with standard input and output redirected.</summary>
        public Process StartPython(string script, params string[] args)
        {
            var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "netns", "exec", Name, Python, "-c", script }) psi.ArgumentList.Add(a);
            foreach (var a in args) psi.ArgumentList.Add(a);
            return Process.Start(psi);
        }

        /// <summary>Ends a process started by <see cref="StartPython"/> (closing its input first, then killing it if it stays).</summary>
        public static void Stop(Process p)
        {
            if (p == null) return;
            try
            {
                try { p.StandardInput.Close(); } catch (System.IO.IOException) { }
                if (!p.WaitForExit(3000)) p.Kill(true);
                p.WaitForExit();
            }
            catch (InvalidOperationException) { }
            p.Dispose();
        }

        public void Dispose()
        {
            try
            {
                IpCommand.Try("link del " + HostLink);
                IpCommand.Try("netns del " + Name);
            }
            catch (Win32Exception) { } // no iproute2: nothing was made
        }
    }
}
