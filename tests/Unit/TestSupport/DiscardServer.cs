using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>A loopback TCP server in this process that reads and discards whatever its clients send.</summary>
    public sealed class DiscardServer : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<Socket> _clients = new List<Socket>();
        private readonly Thread _accept;
        private volatile bool _stopping;

        public DiscardServer()
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(64);
            Port = ((IPEndPoint)_listener.LocalEndPoint).Port;
            _accept = new Thread(AcceptLoop) { IsBackground = true };
            _accept.Start();
        }

        public int Port { get; }

        private void AcceptLoop()
        {
            while (!_stopping)
            {
                Socket client;
                try { client = _listener.Accept(); }
                catch (SocketException) { return; }
                catch (ObjectDisposedException) { return; }
                lock (_clients) _clients.Add(client);
                new Thread(() => Drain(client)) { IsBackground = true }.Start();
            }
        }

        private static void Drain(Socket client)
        {
            var buffer = new byte[1 << 16];
            try
            {
                while (client.Receive(buffer) > 0) { }
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }

        public void Dispose()
        {
            _stopping = true;
            _listener.Dispose();
            lock (_clients) foreach (var c in _clients) c.Dispose();
        }
    }
}
