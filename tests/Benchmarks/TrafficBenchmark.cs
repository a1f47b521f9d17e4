using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Tracking;
using ConnectionsMonitor.Engine.Traffic;

// Usage: ConnectionsMonitor.Benchmarks --traffic [--connections 10000] [--seconds 10]
// With N established loopback sockets held open:
//   toptalker : CPU of one Get-TopTalker window (TrafficWindow.Measure, 1 s) minus the CPU of its
//               two snapshots, as % of one core over the window. Target <= 5 %.
//   watch     : CPU of Watch-Connection's loop (snapshot + tracker every 1 s, table unchanged) as %
//               of one core. Target <= 5 %.
//   tracker   : managed heap before and after 1,000,000 connections opened and closed through the
//               tracker and the rate tracker (1,000 per snapshot). Target: flat.
internal static class TrafficBenchmark
{
    public static int Run(string[] args)
    {
        int connections = 10000, seconds = 10;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--connections") connections = int.Parse(args[i + 1]);
            if (args[i] == "--seconds") seconds = int.Parse(args[i + 1]);
        }
        BenchmarkSockets.RaiseFileLimit(connections + 1024);
        using var pairs = new BenchmarkSockets.LoopbackPairs(connections / 2);
        using var engine = new MonitorEngine(PlatformServices.CreateForCurrentOS());
        var process = Process.GetCurrentProcess();
        TimeSpan Cpu() { process.Refresh(); return process.TotalProcessorTime; }

        Console.WriteLine($"# traffic benchmark, {Environment.ProcessorCount} cores, {connections} held sockets");
        for (int i = 0; i < 3; i++) engine.TakeSnapshot(); // warm-up

        // Two snapshots' CPU, median of several pairs.
        var pairCpu = Enumerable.Range(0, 7).Select(_ =>
        {
            var c0 = Cpu();
            engine.TakeSnapshot();
            engine.TakeSnapshot();
            return (Cpu() - c0).TotalMilliseconds;
        }).OrderBy(x => x).ToList()[3];
        var windows = Enumerable.Range(0, 5).Select(_ =>
        {
            var c0 = Cpu();
            var w = TrafficWindow.Measure(engine, TimeSpan.FromSeconds(1), CancellationToken.None);
            TopTalkers.Rank(w, TalkerGrouping.Process, TalkerMetric.Bytes, 5);
            return ((Cpu() - c0).TotalMilliseconds, w.Duration.TotalMilliseconds);
        }).OrderBy(x => x.Item1).ToList()[2];
        double beyond = Math.Max(0, windows.Item1 - pairCpu);
        Console.WriteLine($"toptalker  two_snapshots_cpu_ms {pairCpu:F1}  window_cpu_ms {windows.Item1:F1}  beyond_snapshots {beyond / windows.Item2 * 100:F2} % of one core");

        var tracker = new ConnectionTracker();
        tracker.Update(engine.TakeSnapshot());
        var cpu0 = Cpu();
        var wall = Stopwatch.StartNew();
        for (int s = 0; s < seconds; s++)
        {
            var due = Stopwatch.StartNew();
            tracker.Update(engine.TakeSnapshot());
            int left = 1000 - (int)due.ElapsedMilliseconds;
            if (left > 0) Thread.Sleep(left);
        }
        Console.WriteLine($"watch      {(Cpu() - cpu0).TotalMilliseconds / wall.Elapsed.TotalMilliseconds * 100:F2} % of one core (1 s refresh, unchanged table)");

        var churnTracker = new ConnectionTracker();
        var rates = new RateTracker();
        long before = 0;
        for (int round = 0; round < 1000; round++)
        {
            var rows = new ConnectionRecord[1000];
            var now = DateTime.UtcNow;
            rates.BeginRead();
            for (int i = 0; i < rows.Length; i++)
            {
                var e = new SocketEntry
                {
                    Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, LocalPort = i, RemoteAddress = IPAddress.Loopback,
                    RemotePort = 80, State = TcpState.Established, ProcessId = 1, Inode = (ulong)(round * 1000 + i), BytesSent = round, BytesReceived = round,
                };
                rows[i] = new ConnectionRecord { Key = ConnectionKey.Of(e), LocalPort = i, State = e.State };
                rates.Observe(rows[i].Key, e.BytesSent, e.BytesReceived, now);
            }
            rates.EndRead();
            churnTracker.Update(new ConnectionSnapshot(now, rows, new string[0]));
            if (round == 9) before = GC.GetTotalMemory(true);
        }
        long after = GC.GetTotalMemory(true);
        Console.WriteLine($"tracker    heap after 10,000 connections {before / 1024} KiB, after 1,000,000 {after / 1024} KiB (tracked now: {churnTracker.Count}, rate samples: {rates.Count})");
        return 0;
    }
}
