using System;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>A loopback TCP connection and a way to move exact amounts both ways at once.</summary>
    internal sealed class TcpPair : IDisposable
    {
        public readonly Socket Listener, Client, Server;
        public readonly int ListenPort, ClientPort;

        public TcpPair(bool ipv6 = false)
        {
            var family = ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
            Listener = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
            Listener.Bind(new IPEndPoint(ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
            Listener.Listen(1);
            ListenPort = ((IPEndPoint)Listener.LocalEndPoint).Port;
            Client = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
            Client.Connect(Listener.LocalEndPoint);
            ClientPort = ((IPEndPoint)Client.LocalEndPoint).Port;
            Server = Listener.Accept();
        }

        /// <summary>a sends exactly n bytes to b while b sends exactly m to a; returns when both have read all.</summary>
        public static async Task ExchangeAsync(Socket a, Socket b, int n, int m)
        {
            await Task.WhenAll(SendAsync(a, n), SendAsync(b, m), ReceiveAsync(b, n), ReceiveAsync(a, m));
        }

        public Task ExchangeAsync(int clientSends, int serverSends) => ExchangeAsync(Client, Server, clientSends, serverSends);

        private static async Task SendAsync(Socket s, int count)
        {
            var chunk = new byte[Math.Min(count, 1 << 20)];
            int left = count;
            while (left > 0) left -= await s.SendAsync(chunk.AsMemory(0, Math.Min(left, chunk.Length)), SocketFlags.None);
        }

        private static async Task ReceiveAsync(Socket s, int count)
        {
            var buf = new byte[1 << 20];
            int left = count;
            while (left > 0)
            {
                int r = await s.ReceiveAsync(buf.AsMemory(0, Math.Min(left, buf.Length)), SocketFlags.None);
                if (r == 0) throw new InvalidOperationException("connection closed with " + left + " bytes still expected");
                left -= r;
            }
        }

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
            Listener.Dispose();
        }
    }
}
