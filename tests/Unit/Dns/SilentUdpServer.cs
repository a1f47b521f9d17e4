using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Tests.TestSupport;

namespace ConnectionsMonitor.Tests.Dns
{
    /// <summary>
    /// A "DNS server" that never answers: a UDP socket on 127.0.0.1 that counts the datagrams it receives and
    /// replies to none. The port is also free for TCP, so a real server can take it over once this one is closed.
    /// </summary>
    public sealed class SilentUdpServer : IDisposable
    {
        private readonly Socket _socket;
        private readonly Thread _reader;
        private int _received;

        public SilentUdpServer()
        {
            for (int attempt = 0; ; attempt++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Loopback, DnsmasqServer.FreePort()));
                    _socket = socket;
                    break;
                }
                catch (SocketException) when (attempt < 20)
                {
                    socket.Dispose();
                }
            }
            Port = ((IPEndPoint)_socket.LocalEndPoint).Port;
            _reader = new Thread(Read) { IsBackground = true, Name = "silent DNS server" };
            _reader.Start();
        }

        public int Port { get; }

        public IPEndPoint EndPoint => new IPEndPoint(IPAddress.Loopback, Port);

        /// <summary>Datagrams (queries) received so far.</summary>
        public int Received => Volatile.Read(ref _received);

        private void Read()
        {
            var buffer = new byte[4096];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            try
            {
                while (true)
                {
                    _socket.ReceiveFrom(buffer, ref from);
                    Interlocked.Increment(ref _received);
                }
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }

        /// <summary>Closes the socket, freeing the port.</summary>
        public void Dispose()
        {
            _socket.Dispose();
            _reader.Join(TimeSpan.FromSeconds(5));
        }
    }
}
