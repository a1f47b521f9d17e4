using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;

// Usage: ConnectionsMonitor.Benchmarks [--sizes 1000,10000] [--runs 9]
// For each size N it opens N/2 loopback TCP client/server pairs (N established sockets, as `ss`
// counts them), then measures, in the same run and on the same sockets:
//   cold  : a fresh engine (new platform, empty caches) taking one full snapshot with owners
//   warm  : one long-lived engine taking a snapshot of the unchanged table
//   warm_nobytes : the same without tcp_info byte counters (what the always-on counters cost)
//   warm_bound : the warm snapshot that also asks for TCP sockets bound but neither listening nor connected (Linux 6.7+
//                walks its bind table for them; only -State Closed asks), alternated with a plain warm one
//   ss    : the whole `ss -tanp` process, output read to the end
// and prints medians and the ratios to ss. Targets: cold <= 1.0x, warm <= 0.25x, bytes overhead <= 20 %.
internal static class Program
{
    private static int Main(string[] args)
    {
        int hold = Array.IndexOf(args, "--hold-sockets");
        int exchange = Array.IndexOf(args, "--exchange-ms");
        if (hold >= 0 && hold + 1 < args.Length) // a holder child (BenchmarkSockets.cs)
            return BenchmarkSockets.LoopbackPairsElsewhere.Hold(int.Parse(args[hold + 1]), exchange >= 0 && exchange + 1 < args.Length ? int.Parse(args[exchange + 1]) : 0);
        if (args.Contains("--live")) return LiveViewBenchmark.Run(args); // live-view CPU benchmark (LiveViewBenchmark.cs)
        if (args.Contains("--traffic")) return TrafficBenchmark.Run(args); // top talker, watch and tracker memory (TrafficBenchmark.cs)
        if (args.Contains("--geo")) return GeoBenchmark.Run(args); // GeoIP lookups per second and snapshot overhead (GeoBenchmark.cs)
        if (args.Contains("--alerts")) return AlertBenchmark.Run(args); // alert-rule evaluation cost (AlertBenchmark.cs)
        if (args.Contains("--history")) return HistoryBenchmark.Run(args); // recorder cost, history size, query time (HistoryBenchmark.cs)
        if (args.Contains("--baseline")) return BaselineBenchmark.Run(args); // Export-/Compare-ConnectionBaseline through pwsh (BaselineBenchmark.cs)
        if (args.Contains("--dashboard")) return DashboardBenchmark.Run(args); // web dashboard: server CPU, browser time per update (DashboardBenchmark.cs)
        if (args.Contains("--metrics")) return MetricsBenchmark.Run(args); // Prometheus endpoint: scrape time and CPU (MetricsBenchmark.cs)
        if (args.Contains("--sampler")) return SamplerBenchmark.Run(args); // the session sampler's shared table read (SamplerBenchmark.cs)
        if (args.Contains("--cmdlet")) return CmdletBenchmark.Run(args); // Get-MonitoredConnection in a fresh real pwsh vs ss (CmdletBenchmark.cs)
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("The snapshot benchmark compares against ss and runs on Linux.");
            return 2;
        }
        int[] sizes = { 1000, 10000 };
        int runs = 9;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--sizes") sizes = args[i + 1].Split(',').Select(int.Parse).ToArray();
            if (args[i] == "--runs") runs = int.Parse(args[i + 1]);
        }
        BenchmarkSockets.RaiseFileLimit(sizes.Max() + 1024);

        Console.WriteLine($"# snapshot benchmark, {Environment.ProcessorCount} cores, kernel {Environment.OSVersion.Version}, median of {runs} runs");
        Console.WriteLine("sockets  rows   cold_ms  warm_ms  warm_nobytes_ms  bytes_overhead  warm_bound_ms  bound_overhead  ss_tanp_ms  cold/ss  warm/ss");
        foreach (int n in sizes)
        {
            using var pairs = new BenchmarkSockets.LoopbackPairs(n / 2);
            var cold = Measure(runs, () =>
            {
                using var engine = new MonitorEngine(PlatformServices.CreateForCurrentOS());
                return engine.TakeSnapshot().Connections.Count;
            }, out int rows);
            using var shared = new MonitorEngine(PlatformServices.CreateForCurrentOS());
            shared.TakeSnapshot();
            var noBytesPlatform = PlatformServices.CreateForCurrentOS();
            ((LinuxConnectionTable)noBytesPlatform.Connections).ReadByteCounters = false;
            using var noBytes = new MonitorEngine(noBytesPlatform);
            noBytes.TakeSnapshot();
            // Alternated run by run, so that load from elsewhere on the machine hits both alike.
            var (warm, warmNoBytes) = MeasureAlternating(runs, () => shared.TakeSnapshot(), () => noBytes.TakeSnapshot());
            // What a read would cost if it also asked for TCP sockets bound but neither listening nor connected (Linux 6.7+:
            // the kernel then walks its bind table too), which only Get-MonitoredConnection -State Closed asks for.
            var withBound = new ConnectionQuery { IncludeBoundSockets = true };
            var (warmAgain, warmBound) = MeasureAlternating(runs, () => shared.TakeSnapshot(), () => shared.TakeSnapshot(withBound));
            var ss = Measure(runs, RunSs, out int ssLines);
            Console.WriteLine($"{n,7}  {rows,5}  {cold,8:F1}  {warm,7:F1}  {warmNoBytes,15:F1}  {(warm / warmNoBytes - 1) * 100,13:F1}%  {warmBound,13:F1}  {(warmBound / warmAgain - 1) * 100,13:F1}%  {ss,10:F1}  {cold / ss,6:F2}x  {warm / ss,6:F2}x");
            if (Math.Abs(ssLines - rows) > rows / 2)
                Console.WriteLine($"# note: ss printed {ssLines} TCP lines, the snapshot had {rows} rows (TCP+UDP)");
        }
        return 0;
    }

    private static double Measure(int runs, Func<int> action, out int lastResult)
    {
        lastResult = action(); // warm-up: JIT, page cache
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            lastResult = action();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    /// <summary>Medians of two actions run alternately, so that load from elsewhere on the machine hits both alike.</summary>
    internal static (double a, double b) MeasureAlternating(int runs, Action a, Action b)
    {
        a(); b();
        var ta = new List<double>();
        var tb = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            // ABBA order: whichever runs second pays for the first one's garbage, so take turns.
            if (i % 2 == 0) { ta.Add(Time(a)); tb.Add(Time(b)); }
            else { tb.Add(Time(b)); ta.Add(Time(a)); }
        }
        ta.Sort();
        tb.Sort();
        return (ta[ta.Count / 2], tb[tb.Count / 2]);
    }

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static int RunSs()
    {
        var psi = new ProcessStartInfo("ss", "-tanp") { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi);
        int lines = 0;
        while (p.StandardOutput.ReadLine() != null) lines++;
        p.WaitForExit();
        return lines - 1;
    }
}
