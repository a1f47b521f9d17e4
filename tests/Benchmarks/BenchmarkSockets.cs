using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

/// <summary>Sockets for the benchmarks: loopback pairs held open, and room for them in the fd limit.</summary>
internal static class BenchmarkSockets
{
    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit { public ulong Cur; public ulong Max; }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    private static extern int setrlimit(int resource, ref RLimit limit);

    /// <summary>Raises the soft open-file limit towards <paramref name="wanted"/> (never above the hard limit).</summary>
    internal static void RaiseFileLimit(int wanted)
    {
        const int RLIMIT_NOFILE = 7;
        if (getrlimit(RLIMIT_NOFILE, out var l) != 0 || l.Cur >= (ulong)wanted) return;
        l.Cur = Math.Min(l.Max, (ulong)wanted);
        setrlimit(RLIMIT_NOFILE, ref l);
    }

    /// <summary>
    /// N established loopback TCP client/server pairs (2N sockets). Closed with RST (linger 0) so
    /// no TIME_WAIT rows are left behind to inflate the next measurement.
    /// </summary>
    internal sealed class LoopbackPairs : IDisposable
    {
        private readonly List<Socket> _sockets = new List<Socket>();
        private readonly Socket _listener;

        public LoopbackPairs(int pairs)
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(4096);
            var ep = (IPEndPoint)_listener.LocalEndPoint;
            for (int i = 0; i < pairs; i++)
            {
                var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                c.Connect(ep);
                _sockets.Add(c);
                _sockets.Add(_listener.Accept());
            }
        }

        public void Dispose()
        {
            foreach (var s in _sockets)
            {
                s.LingerState = new LingerOption(true, 0);
                s.Dispose();
            }
            _listener.Dispose();
        }
    }
}
