using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// A real TCP peer at a public address, without leaving the machine: a network namespace made for
    /// the test, joined to this one by a veth pair, holds the public address and a listener on it;
    /// a host route for that one address (/32) through the veth sends connections there. Connections
    /// from this process then have a genuinely public remote address for GeoIP to locate. Needs root
    /// (CI runs as root). Tests running in parallel must each use their own public address (the host
    /// route is per address); the addresses are in well-known networks but are no public resolver's
    /// (never 8.8.8.8, 8.8.4.4, 1.1.1.1–3, 1.0.0.1–3, 9.9.9.9–12), so the machine's own DNS never
    /// goes into a test namespace while a test runs.
    /// <para>Nothing outlives the test process, even when it crashes: the namespace has no name (no
    /// <c>ip netns add</c> bind mount) and belongs to the listener process alone (<c>unshare --net</c>),
    /// which the kernel kills when this process dies (PR_SET_PDEATHSIG); the namespace then goes, the veth
    /// pair with it, and the host route with the veth. Dispose does the same at once.</para>
    /// </summary>
    public sealed class PublicPeer : IDisposable
    {
        private static int _counter;
        private readonly string _hostLink;
        private readonly Process _listener;

        public PublicPeer(string publicAddress, int port = 4433)
        {
            Address = IPAddress.Parse(publicAddress);
            Port = port;
            int n = Interlocked.Increment(ref _counter);
            string tag = (Environment.ProcessId % 10000).ToString() + "x" + n;
            _hostLink = "cmph" + tag;
            string peerLink = "cmpp" + tag;
            // A /30 of the benchmarking block (198.18/15) joins the two ends.
            int third = n % 250;
            string hostSide = "198.18." + third + ".1", peerSide = "198.18." + third + ".2";
            try
            {
                // The listener, in a network namespace of its own that dies with it; it dies with this process.
                // It binds once told its address is in place ("go"), then accepts and holds connections.
                string script = "import ctypes,os,signal,socket,sys\n" +
                                "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n" +   // PR_SET_PDEATHSIG
                                "if os.getppid() != " + Environment.ProcessId + ": sys.exit(1)\n" + // this process already gone
                                "print('ns', os.getpid(), flush=True)\n" +
                                "sys.stdin.readline()\n" +
                                "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n" +
                                "s.bind(('" + publicAddress + "'," + port + ")); s.listen(64); print('ready', flush=True)\n" +
                                "held=[]\n" +
                                "while True:\n    c,_=s.accept(); held.append(c)\n";
                var psi = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
                foreach (var a in new[] { "--net", "python3", "-c", script }) psi.ArgumentList.Add(a);
                _listener = Process.Start(psi); // unshare execs python3: same process
                string hello = _listener.StandardOutput.ReadLine();
                if (hello == null || !hello.StartsWith("ns ", StringComparison.Ordinal))
                    throw new InvalidOperationException("the listener's namespace was not made (said '" + hello + "'); unshare --net needs root");
                string pid = hello.Substring(3);
                string inPeer = "-t " + pid + " -n ";

                IpCommand.Run("link add " + _hostLink + " type veth peer name " + peerLink + " netns " + pid);
                IpCommand.Run("addr add " + hostSide + "/30 dev " + _hostLink);
                IpCommand.Run("link set " + _hostLink + " up");
                Nsenter(inPeer + "ip addr add " + peerSide + "/30 dev " + peerLink);
                Nsenter(inPeer + "ip addr add " + publicAddress + "/32 dev " + peerLink);
                Nsenter(inPeer + "ip link set " + peerLink + " up");
                Nsenter(inPeer + "ip link set lo up");
                Nsenter(inPeer + "ip route add default via " + hostSide);
                // Through the veth: the route goes when the veth goes.
                IpCommand.Run("route replace " + publicAddress + "/32 via " + peerSide + " dev " + _hostLink);

                _listener.StandardInput.WriteLine("go");
                _listener.StandardInput.Flush();
                string line = _listener.StandardOutput.ReadLine();
                if (line != "ready") throw new InvalidOperationException("the listener in the test namespace did not start (said '" + line + "')");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        private static void Nsenter(string args)
        {
            var psi = new ProcessStartInfo("nsenter", args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            p.StandardOutput.ReadToEnd();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException("'nsenter " + args + "' failed (exit " + p.ExitCode + "): " + err.Trim());
        }

        public IPAddress Address { get; }
        public int Port { get; }

        /// <summary>A connected socket from this process (host namespace) to the public peer.</summary>
        public Socket Connect()
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(new IPEndPoint(Address, Port));
            return s;
        }

        public void Dispose()
        {
            // The namespace dies with its only process, taking the veth pair and the route through it along.
            try { _listener?.Kill(); _listener?.WaitForExit(5000); } catch (InvalidOperationException) { }
            _listener?.Dispose();
            IpCommand.Try("link del " + _hostLink); // at once, should the kernel be slow to free the namespace
        }
    }
}
