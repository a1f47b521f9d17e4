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
    /// a host route for that one address (/32) sends connections there. Connections from this
    /// process then have a genuinely public remote address for GeoIP to locate. Needs root (CI runs
    /// as root); everything is removed on Dispose. Tests running in parallel must each use their own
    /// public address (the host route is per address).
    /// </summary>
    public sealed class PublicPeer : IDisposable
    {
        private static int _counter;
        private readonly string _ns;
        private readonly string _hostLink;
        private readonly Process _listener;

        public PublicPeer(string publicAddress, int port = 4433)
        {
            Address = IPAddress.Parse(publicAddress);
            Port = port;
            int n = Interlocked.Increment(ref _counter);
            string tag = (Environment.ProcessId % 10000).ToString() + "x" + n;
            _ns = "cmpeer" + tag;
            _hostLink = "cmph" + tag;
            string peerLink = "cmpp" + tag;
            // A link-local-free /30 of the benchmarking block (198.18/15) joins the two ends.
            int third = n % 250;
            string hostSide = "198.18." + third + ".1", peerSide = "198.18." + third + ".2";
            try
            {
                IpCommand.Run("netns add " + _ns);
                IpCommand.Run("link add " + _hostLink + " type veth peer name " + peerLink);
                IpCommand.Run("link set " + peerLink + " netns " + _ns);
                IpCommand.Run("addr add " + hostSide + "/30 dev " + _hostLink);
                IpCommand.Run("link set " + _hostLink + " up");
                IpCommand.Run("netns exec " + _ns + " ip addr add " + peerSide + "/30 dev " + peerLink);
                IpCommand.Run("netns exec " + _ns + " ip addr add " + publicAddress + "/32 dev " + peerLink);
                IpCommand.Run("netns exec " + _ns + " ip link set " + peerLink + " up");
                IpCommand.Run("netns exec " + _ns + " ip link set lo up");
                IpCommand.Run("netns exec " + _ns + " ip route add default via " + hostSide);
                // replace, not add: a route left by a crashed run must not fail this one. Each test uses its own address.
                IpCommand.Run("route replace " + publicAddress + "/32 via " + peerSide + " dev " + _hostLink);
                // Accepts and holds connections until killed.
                string script = "import socket,time\n" +
                                "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n" +
                                "s.bind(('" + publicAddress + "'," + port + ")); s.listen(64); print('ready', flush=True)\n" +
                                "held=[]\n" +
                                "while True:\n    c,_=s.accept(); held.append(c)\n";
                var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
                foreach (var a in new[] { "netns", "exec", _ns, "python3", "-c", script }) psi.ArgumentList.Add(a);
                _listener = Process.Start(psi);
                string line = _listener.StandardOutput.ReadLine();
                if (line != "ready") throw new InvalidOperationException("the listener in " + _ns + " did not start (said '" + line + "')");
            }
            catch
            {
                Dispose();
                throw;
            }
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
            try { _listener?.Kill(); _listener?.WaitForExit(5000); } catch (InvalidOperationException) { }
            _listener?.Dispose();
            IpCommand.Try("route del " + Address + "/32 dev " + _hostLink);
            IpCommand.Try("link del " + _hostLink); // deletes the peer end too
            IpCommand.Try("netns del " + _ns);
        }
    }
}
