using System;
using System.IO;
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

        /// <summary>
        /// Moves one byte each way on every pair (a send on each socket, then what arrived read off each): every connection's
        /// byte counters move, as on a busy server where every row changes every second.
        /// </summary>
        public void Exchange()
        {
            var one = new byte[1];
            var sink = new byte[256];
            foreach (var s in _sockets) s.Send(one);
            foreach (var s in _sockets)
                while (s.Available > 0) s.Receive(sink);
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

    /// <summary>
    /// The same pairs held by a child process of their own (this program with --hold-sockets), as a server holds its
    /// connections: neither this process nor a pwsh it starts owns them. The owner resolver looks harder at a process that
    /// has just started a child (it may have handed it a socket), so a benchmark that held the sockets itself and started
    /// pwsh would measure that case instead of the usual one.
    /// </summary>
    internal sealed class LoopbackPairsElsewhere : IDisposable
    {
        private readonly System.Diagnostics.Process _holder;

        /// <param name="pairs">Connections (two sockets each).</param>
        /// <param name="exchangeMs">When above zero, the holder moves a byte each way on every connection this often (see
        /// <see cref="LoopbackPairs.Exchange"/>), so every row's counters change.</param>
        public LoopbackPairsElsewhere(int pairs, int exchangeMs = 0)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(Environment.ProcessPath) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") psi.ArgumentList.Add(typeof(LoopbackPairsElsewhere).Assembly.Location);
            psi.ArgumentList.Add("--hold-sockets");
            psi.ArgumentList.Add((pairs * 2).ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (exchangeMs > 0)
            {
                psi.ArgumentList.Add("--exchange-ms");
                psi.ArgumentList.Add(exchangeMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            _holder = System.Diagnostics.Process.Start(psi);
            string line = _holder.StandardOutput.ReadLine();
            if (line != "ready") throw new InvalidOperationException("The socket holder did not start: " + line);
            ProcessId = _holder.Id;
        }

        public int ProcessId { get; }

        /// <summary>
        /// --hold-sockets N [--exchange-ms M]: opens N/2 pairs, says "ready", holds them until standard input closes; with M,
        /// moves a byte each way on every pair every M ms meanwhile.
        /// </summary>
        internal static int Hold(int sockets, int exchangeMs = 0)
        {
            RaiseFileLimit(sockets + 1024);
            using var pairs = new LoopbackPairs(sockets / 2);
            using var stop = new System.Threading.CancellationTokenSource();
            var pump = exchangeMs > 0 ? new System.Threading.Thread(() => { while (!stop.Token.WaitHandle.WaitOne(exchangeMs)) pairs.Exchange(); }) { IsBackground = true } : null;
            pump?.Start();
            Console.WriteLine("ready");
            Console.Out.Flush();
            Console.In.ReadToEnd();
            stop.Cancel();
            pump?.Join();
            return 0;
        }

        public void Dispose()
        {
            _holder.StandardInput.Close();
            if (!_holder.WaitForExit(30_000)) _holder.Kill();
            _holder.Dispose();
        }
    }
}
