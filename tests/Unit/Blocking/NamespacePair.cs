using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>
    /// Two network namespaces made for one test, joined by a veth pair, so firewall changes never touch the machine's
    /// own namespace: the client <see cref="A"/> (where blocks are made) and the peer <see cref="B"/>. Addresses: IPv4
    /// 10.(200 + pid % 50).(n).1 (A) and .2 (B) /30; IPv6 fd7e:b10c:PID:N::1 and ::2 /64 (no duplicate address detection).
    /// Dispose deletes both namespaces (and with them the veth pair and any table made inside). Root only; a missing
    /// prerequisite throws saying what is missing.
    /// </summary>
    public sealed class NamespacePair : IDisposable
    {
        private static int _counter;
        private readonly List<Process> _processes = new List<Process>();

        public NamespacePair()
        {
            if (LinuxNative.geteuid() != 0)
                throw new InvalidOperationException("this test makes network namespaces and changes nftables inside them, so it must run as root (euid is " + LinuxNative.geteuid() + ")");
            if (!System.IO.File.Exists("/usr/sbin/nft") && !System.IO.File.Exists("/sbin/nft") && !System.IO.File.Exists("/usr/bin/nft"))
                throw new InvalidOperationException("this test needs the nft program (Debian package nftables; tests/run.sh installs it)");
            int n = Interlocked.Increment(ref _counter);
            string tag = (Environment.ProcessId % 10000) + "x" + n;
            A = "cmba" + tag;
            B = "cmbb" + tag;
            string net = "10." + (200 + Environment.ProcessId % 50) + "." + (n % 250) + ".";
            AddressA = IPAddress.Parse(net + "1");
            AddressB = IPAddress.Parse(net + "2");
            string net6 = "fd7e:b10c:" + (Environment.ProcessId % 65536).ToString("x") + ":" + n.ToString("x") + "::";
            AddressA6 = IPAddress.Parse(net6 + "1");
            AddressB6 = IPAddress.Parse(net6 + "2");
            try
            {
                IpCommand.Run("netns add " + A);
                IpCommand.Run("netns add " + B);
                IpCommand.Run("-n " + A + " link add veth0 type veth peer name veth0 netns " + B);
                IpCommand.Run("-n " + A + " addr add " + AddressA + "/30 dev veth0");
                IpCommand.Run("-n " + A + " addr add " + AddressA6 + "/64 dev veth0 nodad");
                IpCommand.Run("-n " + B + " addr add " + AddressB + "/30 dev veth0");
                IpCommand.Run("-n " + B + " addr add " + AddressB6 + "/64 dev veth0 nodad");
                foreach (var ns in new[] { A, B })
                {
                    IpCommand.Run("-n " + ns + " link set veth0 up");
                    IpCommand.Run("-n " + ns + " link set lo up");
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        /// <summary>The client namespace, where the firewall changes happen.</summary>
        public string A { get; }

        /// <summary>The peer namespace.</summary>
        public string B { get; }

        public IPAddress AddressA { get; }
        public IPAddress AddressB { get; }
        public IPAddress AddressA6 { get; }
        public IPAddress AddressB6 { get; }

        /// <summary>A command runner whose commands run inside <paramref name="ns"/>.</summary>
        public static ProcessCommandRunner RunnerIn(string ns) => new ProcessCommandRunner(new[] { "ip", "netns", "exec", ns });

        /// <summary>Runs a program inside <paramref name="ns"/> and returns its result.</summary>
        public static CommandResult Exec(string ns, string file, params string[] args) => RunnerIn(ns).Run(file, args, null);

        /// <summary><c>nft list ruleset</c> inside <paramref name="ns"/>, exactly as nft prints it.</summary>
        public static string Ruleset(string ns)
        {
            var r = Exec(ns, "nft", "list", "ruleset");
            if (r.ExitCode != 0) throw new InvalidOperationException("nft list ruleset failed in " + ns + ": " + r.Error);
            return r.Output;
        }

        private static string Python => System.IO.File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

        // Listens on every address of the namespace (v4 and v6), answers "hi" and closes; prints "ready" when listening.
        private const string Listener =
            "import socket,sys,threading\n" +
            "def serve(fam,addr):\n" +
            "    s=socket.socket(fam); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n" +
            "    if fam==socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,1)\n" +
            "    s.bind((addr,int(sys.argv[1]))); s.listen(16); return s\n" +
            "socks=[serve(socket.AF_INET,'0.0.0.0'),serve(socket.AF_INET6,'::')]\n" +
            "def loop(s):\n" +
            "    while True:\n" +
            "        c,_=s.accept(); c.sendall(b'hi'); c.close()\n" +
            "for s in socks: threading.Thread(target=loop,args=(s,),daemon=True).start()\n" +
            "print('ready',flush=True)\n" +
            "sys.stdin.read()\n";

        // One connection with a time limit; prints ok, refused, unreachable, timeout or the error.
        private const string Connector =
            "import socket,sys,errno\n" +
            "try:\n" +
            "    c=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=float(sys.argv[3]))\n" +
            "    c.settimeout(float(sys.argv[3])); d=c.recv(2); print('ok' if d==b'hi' else 'bad '+repr(d))\n" +
            "except socket.timeout: print('timeout')\n" +
            "except OSError as e:\n" +
            "    print({errno.ECONNREFUSED:'refused',errno.EHOSTUNREACH:'unreachable',errno.ENETUNREACH:'unreachable',errno.EACCES:'denied',errno.EPERM:'denied'}.get(e.errno,'error '+str(e.errno)))\n";

        /// <summary>Starts a listener on <paramref name="port"/> (IPv4 and IPv6) inside <paramref name="ns"/> and waits until it listens.</summary>
        public void Listen(string ns, int port)
        {
            var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "netns", "exec", ns, Python, "-c", Listener, port.ToString() }) psi.ArgumentList.Add(a);
            var p = Process.Start(psi);
            _processes.Add(p);
            string line = p.StandardOutput.ReadLine();
            if (line != "ready") throw new InvalidOperationException("the listener in " + ns + " did not start: " + line + " " + p.StandardError.ReadToEnd());
        }

        /// <summary>Connects once from <paramref name="ns"/> to address:port: "ok" (answered), "refused", "unreachable", "timeout" or "error N".</summary>
        public static string Connect(string ns, IPAddress address, int port, double timeoutSeconds = 3)
        {
            var r = Exec(ns, Python, "-c", Connector, address.ToString(), port.ToString(), timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (r.ExitCode != 0) throw new InvalidOperationException("the connector failed: " + r.Error);
            return r.Output.Trim();
        }

        /// <summary>Whether <c>nft list tables</c> in <paramref name="ns"/> shows the module's table.</summary>
        public static bool HasTable(string ns)
        {
            var r = Exec(ns, "nft", "list", "tables");
            if (r.ExitCode != 0) throw new InvalidOperationException("nft list tables failed in " + ns + ": " + r.Error);
            return r.Output.Contains("table inet connectionsmonitor");
        }

        public void Dispose()
        {
            foreach (var p in _processes)
            {
                try
                {
                    try { p.StandardInput.Close(); } catch (System.IO.IOException) { }
                    if (!p.WaitForExit(2000)) p.Kill(true);
                }
                catch (InvalidOperationException) { }
                p.Dispose();
            }
            try
            {
                IpCommand.Try("netns del " + A);
                IpCommand.Try("netns del " + B);
            }
            catch (Win32Exception) { }
        }
    }
}
