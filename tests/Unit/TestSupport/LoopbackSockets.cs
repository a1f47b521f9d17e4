using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// A steady set of real loopback sockets held by this process: a TCP listener with one accepted
    /// connection and its client, an IPv6 listener on ::1 (when the kernel has IPv6), a bound UDP
    /// socket and a connected one. Knows exactly which table rows they must produce.
    /// </summary>
    public sealed class LoopbackSockets : IDisposable
    {
        public Socket Listener, Server, Client, Listener6, Udp, UdpConnected;
        public int ListenPort, ClientPort, Listen6Port, UdpPort, UdpConnectedPort;

        /// <summary>True when this machine has an IPv6 loopback a socket can bind (a local web endpoint then listens on ::1 too).</summary>
        public static bool Ipv6LoopbackBindable()
        {
            if (!Socket.OSSupportsIPv6) return false;
            try
            {
                using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
                return true;
            }
            catch (SocketException) { return false; }
        }

        public LoopbackSockets()
        {
            Listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            Listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Listener.Listen(8);
            ListenPort = ((IPEndPoint)Listener.LocalEndPoint).Port;
            Client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            Client.Connect(new IPEndPoint(IPAddress.Loopback, ListenPort));
            ClientPort = ((IPEndPoint)Client.LocalEndPoint).Port;
            Server = Listener.Accept();

            if (Socket.OSSupportsIPv6)
            {
                Listener6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
                Listener6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
                Listener6.Listen(8);
                Listen6Port = ((IPEndPoint)Listener6.LocalEndPoint).Port;
            }

            Udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            Udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            UdpPort = ((IPEndPoint)Udp.LocalEndPoint).Port;
            UdpConnected = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            UdpConnected.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            UdpConnected.Connect(new IPEndPoint(IPAddress.Loopback, UdpPort));
            UdpConnectedPort = ((IPEndPoint)UdpConnected.LocalEndPoint).Port;
        }

        /// <summary>
        /// The rows that belong to these sockets. Local endpoints bound here are exclusive; the client's
        /// ephemeral port may be shared with other connections to other destinations, so it is matched
        /// together with its remote port.
        /// </summary>
        public bool IsOurs(SocketEntry e)
        {
            var lo4 = IPAddress.Loopback;
            if (e.Protocol == TransportProtocol.Tcp)
            {
                if (e.LocalAddress.Equals(lo4) && e.LocalPort == ListenPort) return true;
                if (e.LocalAddress.Equals(lo4) && e.LocalPort == ClientPort && e.RemotePort == ListenPort) return true;
                if (Listener6 != null && e.LocalAddress.Equals(IPAddress.IPv6Loopback) && e.LocalPort == Listen6Port) return true;
                return false;
            }
            return e.LocalAddress.Equals(lo4) && (e.LocalPort == UdpPort || e.LocalPort == UdpConnectedPort);
        }

        /// <summary>Row keys (see <see cref="Key"/>) that must exist while the sockets are open.</summary>
        public List<string> ExpectedOpenRows(int pid)
        {
            var rows = new List<string>
            {
                Key(TransportProtocol.Tcp, "127.0.0.1", ListenPort, "0.0.0.0", 0, TcpState.Listen, pid),
                Key(TransportProtocol.Tcp, "127.0.0.1", ListenPort, "127.0.0.1", ClientPort, TcpState.Established, pid),
                Key(TransportProtocol.Tcp, "127.0.0.1", ClientPort, "127.0.0.1", ListenPort, TcpState.Established, pid),
                Key(TransportProtocol.Udp, "127.0.0.1", UdpPort, null, null, null, pid),
                Key(TransportProtocol.Udp, "127.0.0.1", UdpConnectedPort, "127.0.0.1", UdpPort, null, pid),
            };
            if (Listener6 != null)
                rows.Add(Key(TransportProtocol.Tcp, "::1", Listen6Port, "::", 0, TcpState.Listen, pid));
            rows.Sort(StringComparer.Ordinal);
            return rows;
        }

        public static string Key(TransportProtocol p, string local, int lport, string remote, int? rport, TcpState? state, int? pid) =>
            $"{p} {local}:{lport} -> {remote ?? "null"}:{(rport?.ToString() ?? "null")} {(state?.ToString() ?? "-")} pid={(pid?.ToString() ?? "null")}";

        public static string Key(SocketEntry e) =>
            Key(e.Protocol, e.LocalAddress.ToString(), e.LocalPort, e.RemoteAddress?.ToString(), e.RemotePort, e.State, e.ProcessId);

        /// <summary>Everything the kernel said about a row, for comparing the two sources.</summary>
        public static string FullKey(SocketEntry e) => Key(e) + $" inode={e.Inode} uid={e.UserId} scope={(e.LocalAddress.AddressFamily == AddressFamily.InterNetworkV6 ? e.LocalAddress.ScopeId : -1)}";

        public List<string> Actual(IEnumerable<SocketEntry> rows) =>
            rows.Where(IsOurs).Select(Key).OrderBy(k => k, StringComparer.Ordinal).ToList();

        /// <summary>
        /// Closes everything so that exactly one row can remain: the client closes first (active close,
        /// so it alone ends in TIME_WAIT); the server closes only after it has seen the FIN (CLOSE_WAIT),
        /// so the two FINs cannot cross and leave two TIME_WAIT rows.
        /// </summary>
        public void CloseInOrder(Func<IReadOnlyList<SocketEntry>> read)
        {
            Client.Dispose();
            WaitUntil(() => read().Any(e => IsOurs(e) && e.LocalPort == ListenPort && e.RemotePort == ClientPort && e.State == TcpState.CloseWait));
            Dispose();
        }

        public static void WaitUntil(Func<bool> condition, int timeoutMs = 5000)
        {
            var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            while (!condition())
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not reached within " + timeoutMs + " ms");
                Thread.Sleep(20);
            }
        }

        public void Dispose()
        {
            Client?.Dispose();
            Server?.Dispose();
            Listener?.Dispose();
            Listener6?.Dispose();
            Udp?.Dispose();
            UdpConnected?.Dispose();
        }
    }
}
