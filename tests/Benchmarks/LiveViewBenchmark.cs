using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Threading;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Session;

// Usage: ConnectionsMonitor.Benchmarks --live [--connections 10000] [--seconds 15] [--churn 1000] [--width 200] [--height 50] [--warmup 10]
// Measures the CPU the live view costs: Show-ConnectionMonitor's own loop (MonitorSession.RunLiveView with the
// default configuration, so the real sampler thread, enrichment, feed, view, differ) on a terminal double of
// width × height that polls the console for keys as the cmdlet does and throws the output away. Refresh 1 s.
// Only CPU time is measured (the machine may be shared, so wall time says little):
//   total    : the process's CPU time (all threads, GC included) over the measured wall time, % of one core
//   snapshot : the sampler thread ("cmon-sampler"): reading the table, owners, byte counters, enrichment
//              (and the GCs its allocations trigger)
//   view     : the loop's thread ("cmon-live"): waiting/key polls, the feed (query filter, change diff), the
//              view's update (rows, sort, filter, totals for the header), the frame, the differ, the write
//   bgc      : the background GC thread (".NET BGC"; the blocking parts of collections run on the allocating threads)
//   jit      : the tiered compiler (".NET Tiered Com"): a start-up cost that fades as methods reach tier 1
//   rest     : everything else (finalizer, the runtime's other threads, threads that ended)
// The first --warmup frames are not measured (JIT, caches, the first full draw). Run it in a network namespace of its
// own (`unshare -n sh -c 'ip link set lo up && dotnet ...'`) so that other programs' sockets do not add rows.
// and the view thread's CPU per refresh stage by stage (thread CPU clock read at each stage's end).
//   steady : N established loopback sockets held open, nothing changes
//   churn  : the same, while a child process (python3, so its CPU is not counted) opens and closes
//            `--churn` loopback connections per second
// Target (issue #9): total <= 5 % of one core at 10,000 rows, steady.
internal static class LiveViewBenchmark
{

    public static int Run(string[] args)
    {
        int connections = 10000, seconds = 15, churn = 1000, width = 200, height = 50, warmUp = 10;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--connections") connections = int.Parse(args[i + 1]);
            if (args[i] == "--seconds") seconds = int.Parse(args[i + 1]);
            if (args[i] == "--churn") churn = int.Parse(args[i + 1]);
            if (args[i] == "--width") width = int.Parse(args[i + 1]);
            if (args[i] == "--height") height = int.Parse(args[i + 1]);
            if (args[i] == "--warmup") warmUp = int.Parse(args[i + 1]);
        }
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("The live-view benchmark reads per-thread CPU times from /proc and runs on Linux.");
            return 2;
        }
        BenchmarkSockets.RaiseFileLimit(connections + 1024);
        using var pairs = new BenchmarkSockets.LoopbackPairs(connections / 2);
        Console.WriteLine($"# live-view benchmark, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, " +
                          $"{connections} held sockets, 1 s refresh, {width}x{height} terminal, {warmUp} frames warm-up, {seconds} s per phase; CPU time as % of one core");
        Console.WriteLine("phase      rows  total_%  snapshot_%  view_%   bgc_%   jit_%  rest_%  view_ms_per_refresh  lines_redrawn_per_refresh");
        var results = new List<(string, Result)> { ("steady", Measure(seconds, width, height, warmUp)) };
        Print(results[0]);
        using (var churner = Churner.Start(churn))
        {
            Thread.Sleep(1000); // let the churn reach its pace
            results.Add(($"churn{churn}", Measure(seconds, width, height, warmUp)));
            Print(results[1]);
        }
        Console.WriteLine("# view thread, CPU ms per refresh by stage (then KB allocated per refresh by stage):");
        var stages = results.SelectMany(r => r.Item2.StageMs.Keys).Distinct().ToList();
        Console.WriteLine("phase      " + string.Join("", stages.Select(s => $"{s,9}")));
        foreach (var (phase, r) in results)
            Console.WriteLine($"{phase,-9}  " + string.Join("", stages.Select(s => $"{(r.StageMs.TryGetValue(s, out double v) ? v : 0),9:F3}")));
        foreach (var (phase, r) in results)
            Console.WriteLine($"{phase + " KB",-9}  " + string.Join("", stages.Select(s => $"{(r.StageKb.TryGetValue(s, out double v) ? v : 0),9:F0}")));
        Console.WriteLine("# process: MB allocated per refresh (all threads), collections per refresh by generation, and the threads besides sampler and view (% of one core)");
        foreach (var (phase, r) in results)
            Console.WriteLine($"{phase,-9}  alloc {r.AllocatedMb,6:F2} MB  gen0 {r.Gen0,5:F2}  gen1 {r.Gen1,5:F2}  gen2 {r.Gen2,5:F2}  threads: {r.OtherThreads}");
        return 0;
    }

    private static void Print((string Phase, Result R) x) =>
        Console.WriteLine($"{x.Phase,-9} {x.R.Rows,5}  {x.R.Total,7:F2}  {x.R.Snapshot,10:F2}  {x.R.View,6:F2}  {x.R.Bgc,6:F2}  {x.R.Jit,6:F2}  {x.R.Rest,6:F2}  {x.R.ViewMsPerRefresh,19:F2}  {x.R.Lines,25:F1}");

    private sealed class Result
    {
        public int Rows;
        public double Total, Snapshot, View, Bgc, Jit, Rest, ViewMsPerRefresh, Lines;
        public double AllocatedMb, Gen0, Gen1, Gen2;
        public string OtherThreads = "";
        public Dictionary<string, double> StageMs = new Dictionary<string, double>();
        public Dictionary<string, double> StageKb = new Dictionary<string, double>();
    }

    private static Result Measure(int seconds, int width, int height, int warmUp)
    {
        using var session = new MonitorSession(PlatformServices.CreateForCurrentOS());
        var terminal = new SinkTerminal(width, height);
        var stageNs = new Dictionary<string, long>();
        var stageBytes = new Dictionary<string, long>();
        long lastMark = 0, lastBytes = 0;
        long allocated0 = 0, allocated1 = 0;
        int[] gcs0 = null, gcs1 = null;
        bool measuring = false;
        Dictionary<int, (string Name, long Ns)> threads0 = null;
        TimeSpan process0 = TimeSpan.Zero;
        Stopwatch wall = null;
        int lines = 0;

        terminal.Written = (frame, changed) =>
        {
            if (measuring) lines += changed;
            if (frame != warmUp) return;
            using var self = Process.GetCurrentProcess();
            process0 = self.TotalProcessorTime;
            threads0 = Threads();
            allocated0 = GC.GetTotalAllocatedBytes();
            gcs0 = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) };
            wall = Stopwatch.StartNew();
            measuring = true;
            lastMark = ThreadCpuNs();
            lastBytes = GC.GetAllocatedBytesForCurrentThread();
        };
        var options = new LiveViewOptions
        {
            Interval = TimeSpan.FromSeconds(1),
            Count = warmUp + seconds,
            StageDone = stage =>
            {
                if (!measuring) return;
                long now = ThreadCpuNs();
                long bytes = GC.GetAllocatedBytesForCurrentThread();
                stageNs[stage] = (stageNs.TryGetValue(stage, out long ns) ? ns : 0) + now - lastMark;
                stageBytes[stage] = (stageBytes.TryGetValue(stage, out long b) ? b : 0) + bytes - lastBytes;
                lastMark = now;
                lastBytes = bytes;
            },
        };

        Exception failure = null;
        var loop = new Thread(() =>
        {
            try { session.RunLiveView(terminal, new ConnectionQuery(), options, CancellationToken.None); }
            catch (Exception ex) { failure = ex; }
        }) { Name = "cmon-live" };
        loop.Start();
        // The loop thread's own CPU is read from /proc while it is alive: join only after the last frame's counters are in.
        Dictionary<int, (string Name, long Ns)> threads1 = null;
        TimeSpan process1 = TimeSpan.Zero;
        double wallMs = 0;
        terminal.Finished = () =>
        {
            wallMs = wall.Elapsed.TotalMilliseconds;
            using var self = Process.GetCurrentProcess();
            process1 = self.TotalProcessorTime;
            threads1 = Threads();
            allocated1 = GC.GetTotalAllocatedBytes();
            gcs1 = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) };
        };
        loop.Join();
        if (failure != null) throw failure;

        double Percent(double ns) => ns / 1e6 / wallMs * 100;
        long ThreadsNamed(string name) => threads1.Where(t => t.Value.Name == name)
            .Sum(t => t.Value.Ns - (threads0.TryGetValue(t.Key, out var before) && before.Name == name ? before.Ns : 0));
        double total = (process1 - process0).TotalMilliseconds / wallMs * 100;
        double snapshot = Percent(ThreadsNamed("cmon-sampler"));
        double view = Percent(ThreadsNamed("cmon-live"));
        double bgc = Percent(ThreadsNamed(".NET BGC"));
        double jit = Percent(ThreadsNamed(".NET Tiered Com"));
        var result = new Result
        {
            Rows = terminal.Rows,
            Total = total,
            Snapshot = snapshot,
            View = view,
            Bgc = bgc,
            Jit = jit,
            Rest = total - snapshot - view - bgc - jit,
            ViewMsPerRefresh = ThreadsNamed("cmon-live") / 1e6 / seconds,
            Lines = (double)lines / seconds,
        };
        foreach (var s in stageNs) result.StageMs[s.Key] = s.Value / 1e6 / seconds;
        foreach (var s in stageBytes) result.StageKb[s.Key] = s.Value / 1024.0 / seconds;
        result.AllocatedMb = (allocated1 - allocated0) / 1048576.0 / seconds;
        result.Gen0 = (double)(gcs1[0] - gcs0[0]) / seconds;
        result.Gen1 = (double)(gcs1[1] - gcs0[1]) / seconds;
        result.Gen2 = (double)(gcs1[2] - gcs0[2]) / seconds;
        result.OtherThreads = string.Join(", ", threads1
            .Where(t => t.Value.Name != "cmon-sampler" && t.Value.Name != "cmon-live")
            .GroupBy(t => t.Value.Name)
            .Select(g => (Name: g.Key, Ns: g.Sum(t => t.Value.Ns - (threads0.TryGetValue(t.Key, out var before) && before.Name == t.Value.Name ? before.Ns : 0))))
            .Where(x => x.Ns > 0)
            .OrderByDescending(x => x.Ns)
            .Take(5)
            .Select(x => $"{x.Name} {Percent(x.Ns):F2}"));
        return result;
    }

    // Every thread of this process: its name (comm) and the CPU time it has run, in ns (schedstat's first field).
    /// <summary>Each thread of this process (or of <paramref name="pid"/>): its name and CPU time so far (ns, schedstat).</summary>
    internal static Dictionary<int, (string, long)> Threads(int? pid = null)
    {
        var result = new Dictionary<int, (string, long)>();
        foreach (var dir in Directory.GetDirectories("/proc/" + (pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "self") + "/task"))
        {
            try
            {
                int tid = int.Parse(Path.GetFileName(dir));
                string name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                long ns = long.Parse(File.ReadAllText(Path.Combine(dir, "schedstat")).Split(' ')[0]);
                result[tid] = (name, ns);
            }
            catch (IOException) { } // the thread ended meanwhile
        }
        return result;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID

    private static long ThreadCpuNs()
    {
        ClockGetTime(ClockThreadCpuTime, out var t);
        return t.Seconds * 1_000_000_000L + t.Nanoseconds;
    }

    /// <summary>An interactive terminal of a fixed size that polls the console for keys (none come) and counts what it is sent.</summary>
    private sealed class SinkTerminal : ILiveTerminal
    {
        private static readonly Regex Connections = new Regex(@"  (\d+) connections?  ", RegexOptions.Compiled);
        private int _frames;

        public SinkTerminal(int width, int height)
        {
            Width = width;
            Height = height;
        }

        public Action<int, int> Written;
        public Action Finished;
        public int Rows;

        public bool IsInteractive => true;
        public ColorDepth ColorDepth => ColorDepth.TrueColor;
        public int Width { get; }
        public int Height { get; }

        // The key poll the cmdlet makes every 40 ms (PowerShell's host asks the console); nothing is ever pressed here.
        public bool KeyAvailable
        {
            get
            {
                _ = !Console.IsInputRedirected && Console.KeyAvailable;
                return false;
            }
        }

        public LiveKey ReadKey() => throw new InvalidOperationException("No key was announced.");

        public void Write(string text)
        {
            if (text.StartsWith(Ansi.Enter, StringComparison.Ordinal) || text.StartsWith(Ansi.Restore, StringComparison.Ordinal))
            {
                if (text.StartsWith(Ansi.Restore, StringComparison.Ordinal)) Finished?.Invoke();
                return;
            }
            _frames++;
            var m = Connections.Match(text);
            if (m.Success) Rows = int.Parse(m.Groups[1].Value);
            int changed = 0;
            for (int i = text.IndexOf(";1H", StringComparison.Ordinal); i >= 0; i = text.IndexOf(";1H", i + 3, StringComparison.Ordinal)) changed++;
            Written?.Invoke(_frames, changed);
        }

        public void WriteFrame(string frame) => throw new InvalidOperationException("The sink is interactive.");
        public void Warn(string message) { }
    }

    /// <summary>A python3 child that opens and closes loopback connections at a steady rate.</summary>
    private sealed class Churner : IDisposable
    {
        private readonly Process _process;
        private Churner(Process p) { _process = p; }

        public static Churner Start(int perSecond)
        {
            if (perSecond <= 0) return new Churner(null); // --churn 0: a second steady phase, no child
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
            if (_process == null) return;
            try { _process.Kill(); _process.WaitForExit(); } catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }
}
