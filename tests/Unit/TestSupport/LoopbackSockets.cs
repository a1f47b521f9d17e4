using System;
using System.Net;
using System.Net.Sockets;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>A TCP listener, a connected client/server pair and a bound UDP socket on 127.0.0.1, owned by this process.</summary>
    public sealed class LoopbackSockets : IDisposable
    {
        public LoopbackSockets()
        {
            Listener = new TcpListener(IPAddress.Loopback, 0);
            Listener.Start();
            ListenerPort = ((IPEndPoint)Listener.LocalEndpoint).Port;

            PairListener = new TcpListener(IPAddress.Loopback, 0);
            PairListener.Start();
            Client = new TcpClient(AddressFamily.InterNetwork);
            Client.Connect(IPAddress.Loopback, ((IPEndPoint)PairListener.LocalEndpoint).Port);
            Server = PairListener.AcceptTcpClient();
            ServerPort = ((IPEndPoint)Server.Client.LocalEndPoint).Port;
            ClientPort = ((IPEndPoint)Client.Client.LocalEndPoint).Port;

            Udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            UdpPort = ((IPEndPoint)Udp.Client.LocalEndPoint).Port;
        }

        public TcpListener Listener { get; }
        public int ListenerPort { get; }
        public TcpListener PairListener { get; }
        public TcpClient Client { get; }
        public TcpClient Server { get; }
        public int ServerPort { get; }
        public int ClientPort { get; }
        public UdpClient Udp { get; }
        public int UdpPort { get; }

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
            PairListener.Stop();
            Listener.Stop();
            Udp.Dispose();
        }
    }
}
