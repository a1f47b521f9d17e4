using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Tracking;

// Usage: ConnectionsMonitor.Benchmarks --live [--connections 10000] [--seconds 15] [--churn 1000]
// Measures the CPU the live view's loop costs (Show-ConnectionMonitor's loop without the PowerShell
// host): every 1 s a snapshot with one long-lived engine, the tracker, LiveView.Update, a 200×50 frame
// and the differ's output into a string sink; keys polled every 40 ms in between, as the cmdlet does.
// Process CPU time (all threads, GC included) over wall time, as % of one core:
//   steady : N established loopback sockets held open, nothing changes
//   churn  : the same, while a child process (python3, so its CPU is not counted) opens and closes
//            `--churn` loopback connections per second
// Targets: steady <= 5 %, churn <= 20 %.
internal static class LiveViewBenchmark
{
    public static int Run(string[] args)
    {
        int connections = 10000, seconds = 15, churn = 1000;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--connections") connections = int.Parse(args[i + 1]);
            if (args[i] == "--seconds") seconds = int.Parse(args[i + 1]);
            if (args[i] == "--churn") churn = int.Parse(args[i + 1]);
        }
        BenchmarkSockets.RaiseFileLimit(connections + 1024);
        using var pairs = new BenchmarkSockets.LoopbackPairs(connections / 2);
        using var engine = new MonitorEngine(PlatformServices.CreateForCurrentOS());
        Console.WriteLine($"# live-view benchmark, {Environment.ProcessorCount} cores, {connections} held sockets, 1 s refresh, {seconds} s per phase");
        Console.WriteLine("phase    rows   cpu_%_of_one_core  ms_per_refresh  lines_redrawn_per_refresh");
        Report("steady", Loop(engine, seconds));
        using (var churner = Churner.Start(churn))
        {
            Thread.Sleep(1000); // let the churn reach its pace
            Report($"churn{churn}", Loop(engine, seconds));
        }
        return 0;
    }

    private static void Report(string phase, (int Rows, double Cpu, double MsPerRefresh, double Lines) r) =>
        Console.WriteLine($"{phase,-8} {r.Rows,5}   {r.Cpu,17:F2}  {r.MsPerRefresh,14:F1}  {r.Lines,25:F1}");

    private static (int, double, double, double) Loop(MonitorEngine engine, int seconds)
    {
        var view = new LiveView(new MonitorConfig(), ColorDepth.TrueColor) { RefreshInterval = 1000 };
        var tracker = new ConnectionTracker();
        var differ = new ScreenDiffer();
        ConnectionSnapshot previous = null;
        long sink = 0;
        int rows = 0, refreshes = 0;
        double busyMs = 0, lines = 0;
        var process = Process.GetCurrentProcess();

        void Refresh(bool measured)
        {
            var busy = Stopwatch.StartNew();
            var snapshot = engine.TakeSnapshot();
            tracker.Update(snapshot);
            view.Update(snapshot, previous);
            previous = snapshot;
            sink += differ.Render(view.BuildFrame(200, 50), 200, 50).Length;
            rows = snapshot.Connections.Count;
            if (!measured) return;
            busyMs += busy.Elapsed.TotalMilliseconds;
            lines += differ.LastChangedLines;
            refreshes++;
        }

        // Warm-up: JIT, caches, the first full draw.
        for (int i = 0; i < 3; i++) { Refresh(false); Thread.Sleep(1000); }

        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        for (int s = 0; s < seconds; s++)
        {
            var due = Stopwatch.StartNew();
            Refresh(true);
            while (due.ElapsedMilliseconds < 1000)
            {
                _ = Console.IsInputRedirected || Console.KeyAvailable; // the key poll the cmdlet does
                Thread.Sleep(40);
            }
        }
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpu0).TotalMilliseconds / wall.Elapsed.TotalMilliseconds * 100;
        GC.KeepAlive(sink);
        return (rows, cpu, busyMs / refreshes, lines / refreshes);
    }

    /// <summary>A python3 child that opens and closes loopback connections at a steady rate.</summary>
    private sealed class Churner : IDisposable
    {
        private readonly Process _process;
        private Churner(Process p) { _process = p; }

        public static Churner Start(int perSecond)
        {
            const string script = @"
import socket, sys, time, threading
rate = int(sys.argv[1])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', 0)); srv.listen(1024)
def accept():
    while True:
        c, _ = srv.accept(); c.close()
threading.Thread(target=accept, daemon=True).start()
port = srv.getsockname()[1]
start = time.monotonic(); n = 0
while True:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
    s.connect(('127.0.0.1', port)); s.close(); n += 1
    delay = start + n / rate - time.monotonic()
    if delay > 0: time.sleep(delay)
";
            var psi = new ProcessStartInfo("python3") { UseShellExecute = false, RedirectStandardInput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(perSecond.ToString());
            return new Churner(Process.Start(psi));
        }

        public void Dispose()
        {
            try { _process.Kill(); _process.WaitForExit(); } catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }
}
