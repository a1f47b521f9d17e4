using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Session;

// --sampler: the session's shared table read as every watcher pays for it (the dashboard, the live view, alerts, history and
// the metrics endpoint all subscribe to one sampler). N loopback connections held open, one subscriber taking a sample every
// --interval seconds for --seconds; prints the sampler thread's CPU per read from /proc/self/task/<tid>/stat (user and
// kernel apart, clock ticks) and schedstat (all run time, ns), and the wall time of a read as the sampler timed it.
internal static class SamplerBenchmark
{
    public static int Run(string[] args)
    {
        int connections = 10000, seconds = 30, warmup = 10;
        double interval = 1;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--connections") connections = int.Parse(args[i + 1]);
            if (args[i] == "--seconds") seconds = int.Parse(args[i + 1]);
            if (args[i] == "--warmup") warmup = int.Parse(args[i + 1]);
            if (args[i] == "--interval") interval = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
        }
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("The sampler benchmark reads per-thread CPU times from /proc and runs on Linux.");
            return 2;
        }
        BenchmarkSockets.RaiseFileLimit(connections + 1024);
        using var pairs = new BenchmarkSockets.LoopbackPairs(connections / 2);
        using var session = new MonitorSession();
        using var feed = session.Subscribe(new ConnectionQuery(), TimeSpan.FromSeconds(interval));
        var stop = new CancellationTokenSource();
        long rows = 0;
        var reader = new Thread(() =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                    if (feed.TryNext(TimeSpan.FromMilliseconds(200), stop.Token, out var sample) && sample.Snapshot != null)
                        Interlocked.Exchange(ref rows, sample.Snapshot.Connections.Count);
            }
            catch (OperationCanceledException) { }
        }) { IsBackground = true };
        reader.Start();
        // Reads of warm-up (--warmup, ten unless told): the first walks /proc for every owner, and the runtime tiers up what a
        // read runs (a method called once a read is promoted after 30 calls, so ten reads leave some of its JIT in the window).
        SpinWait.SpinUntil(() => session.SamplerReads >= warmup, TimeSpan.FromSeconds(warmup * interval * 3 + 60));

        using var allocations = args.Contains("--alloc-types") ? new AllocationSampler() : null;
        var before = CpuTimes();
        long allocated0 = GC.GetTotalAllocatedBytes(true);
        var paused0 = GC.GetTotalPauseDuration();
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        long reads0 = session.SamplerReads;
        var clock = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        var after = CpuTimes();
        double wallMs = clock.Elapsed.TotalMilliseconds;
        long reads = session.SamplerReads - reads0;
        double allocatedMb = (GC.GetTotalAllocatedBytes(true) - allocated0) / 1e6;
        double pausedMs = (GC.GetTotalPauseDuration() - paused0).TotalMilliseconds;
        gen0 = GC.CollectionCount(0) - gen0; gen1 = GC.CollectionCount(1) - gen1; gen2 = GC.CollectionCount(2) - gen2;
        stop.Cancel();
        reader.Join();

        var (user, system, run) = Delta(before, after, MonitorSession.SamplerThreadName);
        double tick = 1000.0 / 100; // USER_HZ is 100 on Linux
        Console.WriteLine($"# sampler benchmark, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {connections} connections ({Interlocked.Read(ref rows)} rows), a read every {interval} s, {wallMs / 1000:F0} s measured");
        Console.WriteLine("reads  cpu_ms_per_read  user_ms_per_read  kernel_ms_per_read  %_core  MB_allocated_per_read  gc_gen0/1/2  gc_pause_ms_per_read");
        Console.WriteLine($"{reads,5}  {run / 1e6 / reads,15:F1}  {user * tick / reads,16:F1}  {system * tick / reads,18:F1}  {run / 1e6 / wallMs * 100,6:F2}  {allocatedMb / reads,21:F2}  {gen0}/{gen1}/{gen2}  {pausedMs / reads,20:F2}");
        allocations?.Print(reads);
        PrintKernelFloor(user * tick / reads, system * tick / reads);
        return 0;
    }

    /// <summary>
    /// For scale: <c>ss -tani</c> on the same sockets asks the kernel for the same sock_diag dump with tcp_info (the read's
    /// byte counters), so its kernel time is what any reader of these counters pays, whatever it does with them. The
    /// children's CPU ticks from /proc/self/stat (cutime, cstime: fields 16 and 17, counted once a child is waited for),
    /// over 20 runs.
    /// </summary>
    private static void PrintKernelFloor(double readUserMs, double readKernelMs)
    {
        const int runs = 20;
        (long user, long system) Children()
        {
            string stat = File.ReadAllText("/proc/self/stat");
            var fields = stat.Substring(stat.LastIndexOf(')') + 2).Split(' ');
            return (long.Parse(fields[13]), long.Parse(fields[14]));
        }
        try
        {
            var before = Children();
            for (int i = 0; i < runs; i++)
            {
                using var ss = Process.Start(new ProcessStartInfo("ss", "-tani") { RedirectStandardOutput = true, UseShellExecute = false });
                ss.StandardOutput.ReadToEnd();
                ss.WaitForExit();
            }
            var after = Children();
            double tick = 1000.0 / 100, user = (after.user - before.user) * tick / runs, kernel = (after.system - before.system) * tick / runs;
            Console.WriteLine($"# for scale, ss -tani on the same sockets (the same sock_diag dump with tcp_info, {runs} runs): {kernel:F1} ms kernel and {user:F1} ms user a run; " +
                $"this read: {readKernelMs:F1} ms kernel ({readKernelMs / Math.Max(kernel, 0.1):F2}x ss's), {readUserMs:F1} ms user ({readUserMs / Math.Max(user, 0.1):F2}x), " +
                $"{(readKernelMs + readUserMs) / Math.Max(kernel + user, 0.1):F2}x in all");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception || e is IOException)
        {
            Console.WriteLine("# ss -tani could not run for scale: " + e.Message);
        }
    }

    /// <summary>
    /// --alloc-types: which types the measured reads allocate, from the runtime's GCAllocationTick events (one about every
    /// 100 KB allocated, naming the type that crossed the mark), as MB per read estimated from the ticks.
    /// </summary>
    private sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
    {
        private readonly Dictionary<string, long> _bytes = new Dictionary<string, long>();

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
                EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)1); // GC keyword
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            if (e.EventName == null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal)) return;
            int type = e.PayloadNames.IndexOf("TypeName"), amount = e.PayloadNames.IndexOf("AllocationAmount");
            if (type < 0 || amount < 0) return;
            string name = e.Payload[type] as string ?? "?";
            long bytes = Convert.ToInt64(e.Payload[amount], System.Globalization.CultureInfo.InvariantCulture);
            lock (_bytes) _bytes[name] = _bytes.GetValueOrDefault(name) + bytes;
        }

        internal void Print(long reads)
        {
            lock (_bytes)
                foreach (var kv in _bytes.OrderByDescending(k => k.Value).Take(25))
                    Console.WriteLine($"#   {kv.Value / 1e6 / Math.Max(1, reads),7:F3} MB/read  {kv.Key}");
        }
    }

    private static (long user, long system, long run) Delta(Dictionary<int, (string name, long user, long system, long run)> before,
        Dictionary<int, (string name, long user, long system, long run)> after, string name)
    {
        long user = 0, system = 0, run = 0;
        foreach (var kv in after.Where(t => t.Value.name == name))
        {
            bool same = before.TryGetValue(kv.Key, out var b) && b.name == name;
            user += kv.Value.user - (same ? b.user : 0);
            system += kv.Value.system - (same ? b.system : 0);
            run += kv.Value.run - (same ? b.run : 0);
        }
        return (user, system, run);
    }

    /// <summary>
    /// Each thread's name and run time in ns (<see cref="LiveViewBenchmark.Threads"/>, from schedstat) with its user and
    /// kernel clock ticks (/proc/self/task/tid/stat fields 14 and 15); a thread that ended meanwhile is left out.
    /// </summary>
    private static Dictionary<int, (string name, long user, long system, long run)> CpuTimes()
    {
        var result = new Dictionary<int, (string, long, long, long)>();
        foreach (var (tid, (name, ns)) in LiveViewBenchmark.Threads())
        {
            try
            {
                string stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
                var fields = stat.Substring(stat.LastIndexOf(')') + 2).Split(' ');
                result[tid] = (name, long.Parse(fields[11]), long.Parse(fields[12]), ns);
            }
            catch (IOException) { }
        }
        return result;
    }
}
