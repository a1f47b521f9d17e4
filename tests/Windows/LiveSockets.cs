using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;

namespace ConnectionsMonitor.WindowsTests
{
    /// <summary>
    /// Sockets this test process owns, so assertions look only at our own ports (the table also holds
    /// every other socket on the machine; under Wine, every socket of the Linux host). Each socket is
    /// created with an explicit address family: a default dual-mode socket would show up only in the
    /// IPv6 table as ::ffff:127.0.0.1.
    /// </summary>
    public sealed class LiveSockets : IDisposable
    {
        private readonly List<Socket> _all = new List<Socket>();

        public LiveSockets()
        {
            CreatedUtc = DateTime.UtcNow;
            V4 = new TcpTrio(this, IPAddress.Loopback);
            V6 = new TcpTrio(this, IPAddress.IPv6Loopback);
            UdpV4 = Own(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
            UdpV4.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            UdpV6 = Own(new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp));
            UdpV6.DualMode = false;
            UdpV6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        }

        public DateTime CreatedUtc { get; }
        public TcpTrio V4 { get; }
        public TcpTrio V6 { get; }
        public Socket UdpV4 { get; }
        public Socket UdpV6 { get; }

        public static int PortOf(Socket socket) => ((IPEndPoint)socket.LocalEndPoint).Port;

        private Socket Own(Socket socket)
        {
            _all.Add(socket);
            return socket;
        }

        public void Dispose()
        {
            foreach (var socket in _all) socket.Dispose();
        }

        /// <summary>A listener plus one connection to it: the client end and the accepted end.</summary>
        public sealed class TcpTrio
        {
            internal TcpTrio(LiveSockets owner, IPAddress loopback)
            {
                Address = loopback;
                Listener = owner.Own(new Socket(loopback.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
                if (loopback.AddressFamily == AddressFamily.InterNetworkV6) Listener.DualMode = false;
                Listener.Bind(new IPEndPoint(loopback, 0));
                Listener.Listen(4);
                Client = owner.Own(new Socket(loopback.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
                Client.Connect(Listener.LocalEndPoint);
                Accepted = owner.Own(Listener.Accept());
            }

            public IPAddress Address { get; }
            public Socket Listener { get; }
            public Socket Client { get; }
            public Socket Accepted { get; }
            public int ListenPort => PortOf(Listener);
            public int ClientPort => PortOf(Client);
        }
    }
}
