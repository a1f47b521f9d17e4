using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using ConnectionsMonitor.Engine.Dashboard;
using ConnectionsMonitor.Engine.Session;

// --dashboard: the web dashboard's cost (issue #14's targets at 10,000 rows and one update a second: the server <= 3 % of
// one core; the browser's main thread <= 16 ms per update; first paint <= 1 s after the address opens).
//  N loopback connections held open by a process of their own, the dashboard served as users run it (Start-ConnectionDashboard
//  -NoBrowser in a real pwsh with the built module: its ReadyToRun code, its own process) with a sample every --interval
//  seconds, and a real Chromium (tests/Dashboard/browser-perf.mjs through playwright-core) showing the page for --seconds:
//   - server CPU from /proc/<pid>/task/*/schedstat: the dashboard thread ("cmon-dashboard": the JSON of each sample), the
//     page's event stream ("cmon-http-strea[m]": writing it) and the connections' threads ("cmon-dash-web"), as % of one core; and the sampler's
//     table read, which the dashboard shares with every other subscriber (its own cost when nothing else watches);
//   - measured once the dashboard has taken --warmup samples (30 unless told: a method run once a sample is compiled again,
//     optimised, after 30 calls), as a dashboard left open runs; the same threads' CPU over those first samples is printed too;
//   - the browser's figures as browser-perf.mjs measured them.
//  --in-process: the engine's dashboard in this process instead (its IL, the sockets held here), for a profile of the engine
//  alone; --pwsh PATH: another pwsh than the one the test command installs (out/tools/pwsh/pwsh).
internal static class DashboardBenchmark
{
    /// <summary>A dashboard being measured: where it runs, its launch address, its samples and its threads.</summary>
    private interface IServer : IDisposable
    {
        string Where { get; }
        string LaunchUrl { get; }
        string Url { get; }
        long Samples { get; }
        int Clients { get; }
        Dictionary<int, (string, long)> Threads();
        /// <summary>The server process's collections so far (gen0, gen1, gen2), their pauses (ms) and the bytes it allocated.</summary>
        (long Gen0, long Gen1, long Gen2, double PauseMs, long Allocated) Gc { get; }
        /// <summary>What the last update sent, where the benchmark can see it (in-process only), or null.</summary>
        string LastUpdate { get; }
    }

    public static int Run(string[] args)
    {
        int connections = 10000, seconds = 30, warmup = 30;
        double interval = 1;
        bool busy = args.Contains("--busy"), inProcess = args.Contains("--in-process");
        string root = FindRoot();
        string pwsh = Path.Combine(root, "out", "tools", "pwsh", "pwsh"), manifest = Path.Combine(root, "out", "ConnectionsMonitor", "ConnectionsMonitor.psd1");
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--connections") connections = int.Parse(args[i + 1]);
            if (args[i] == "--seconds") seconds = int.Parse(args[i + 1]);
            if (args[i] == "--warmup") warmup = int.Parse(args[i + 1]);
            if (args[i] == "--pwsh") pwsh = args[i + 1];
            if (args[i] == "--interval") interval = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
        }
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("The dashboard benchmark reads per-thread CPU times from /proc and runs on Linux.");
            return 2;
        }
        string script = Path.Combine(root, "tests", "Dashboard", "browser-perf.mjs");
        if (!File.Exists(Path.Combine(root, "tests", "Dashboard", "node_modules", "playwright-core", "package.json")))
        {
            Console.Error.WriteLine("playwright-core is not installed (tests/run.sh runs npm ci in tests/Dashboard).");
            return 2;
        }
        if (!inProcess && (!File.Exists(pwsh) || !File.Exists(manifest)))
        {
            Console.Error.WriteLine($"The dashboard benchmark runs the dashboard in {pwsh} with {manifest} (bash tests/run.sh installs and builds both), or in this process with --in-process.");
            return 2;
        }
        // --busy: a byte each way on every connection twice a second (by the sockets' holder, not counted as the server's),
        // so every row's counters and rates change at every sample: the page's hardest steady case.
        using IServer server = inProcess ? new InProcessServer(connections, busy, interval) : new PwshServer(pwsh, manifest, connections, busy, interval);
        var early0 = server.Threads();
        var earlyClock = Stopwatch.StartNew();
        if (!SpinWait.SpinUntil(() => server.Samples >= warmup, TimeSpan.FromSeconds(warmup * interval * 3 + 60)))
        {
            Console.WriteLine($"the dashboard took {server.Samples} samples, not the {warmup} of the warm-up");
            return 1;
        }
        var early1 = server.Threads();
        double earlyWallMs = earlyClock.Elapsed.TotalMilliseconds;

        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(server.LaunchUrl);
        psi.ArgumentList.Add(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var node = Process.Start(psi);
        var stderr = node.StandardError.ReadToEndAsync();
        // The server's figures over the browser's measuring window (it starts once the page shows rows).
        SpinWait.SpinUntil(() => server.Clients > 0 || node.HasExited, TimeSpan.FromSeconds(60));
        Thread.Sleep(3000);
        var before = server.Threads();
        var gc0 = server.Gc;
        long samples0 = server.Samples;
        var clock = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(Math.Max(5, seconds - 5)));
        var after = server.Threads();
        var gc1 = server.Gc;
        double wallMs = clock.Elapsed.TotalMilliseconds;
        long samples = server.Samples - samples0;
        string lastUpdate = server.LastUpdate;
        string output = node.StandardOutput.ReadToEnd();
        node.WaitForExit();

        static double CpuMs(Dictionary<int, (string, long)> from, Dictionary<int, (string, long)> to, Func<string, bool> name) => to.Where(t => name(t.Value.Item1))
            .Sum(t => t.Value.Item2 - (from.TryGetValue(t.Key, out var b) && b.Item1 == t.Value.Item1 ? b.Item2 : 0)) / 1e6;
        static bool Render(string n) => n == "cmon-dashboard";
        static bool Stream(string n) => n.StartsWith("cmon-http-strea", StringComparison.Ordinal);
        static bool Web(string n) => n == "cmon-dash-web";
        static bool Sampler(string n) => n == MonitorSession.SamplerThreadName;
        double render = CpuMs(before, after, Render), stream = CpuMs(before, after, Stream), web = CpuMs(before, after, Web), sampler = CpuMs(before, after, Sampler);
        double own = (render + stream + web) / wallMs * 100, withRead = (render + stream + web + sampler) / wallMs * 100;
        // Every thread of the server's process (threads that ended within the window are left out): the collector's
        // background thread, the JIT's, and in pwsh the prompt's once-a-second poll of the dashboard's state.
        double whole = CpuMs(before, after, n => true) / wallMs * 100;
        double earlyOwn = CpuMs(early0, early1, n => Render(n) || Stream(n) || Web(n)) / earlyWallMs * 100, earlyRead = CpuMs(early0, early1, Sampler) / earlyWallMs * 100;
        int bytes = 0;
        using (var http = new System.Net.Http.HttpClient(new System.Net.Http.HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }))
        {
            // As the page does: the launch address swapped for the cookie and, in the redirect's fragment, the page's key.
            using var swap = http.Send(new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, server.LaunchUrl));
            var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, server.Url + "api/snapshot");
            request.Headers.Add("Cookie", swap.Headers.GetValues("Set-Cookie").First().Split(';')[0]);
            request.Headers.Add("X-Dashboard-Key", swap.Headers.Location.OriginalString.Substring("/#k=".Length));
            bytes = http.Send(request).Content.ReadAsByteArrayAsync().GetAwaiter().GetResult().Length;
        }
        server.Dispose();

        string Met(bool ok) => ok ? "met" : "NOT met";
        Console.WriteLine($"# dashboard benchmark, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {server.Where}, {connections} connections{(busy ? " all moving bytes" : "")}, an update every {interval} s, " +
            $"{wallMs / 1000:F0} s measured after {warmup} samples; the whole table {bytes} bytes of JSON (sent once per page){(lastUpdate != null ? ", the last update " + lastUpdate : "")}");
        var others = after.Where(t => !t.Value.Item1.StartsWith("cmon-", StringComparison.Ordinal))
            .GroupBy(t => t.Value.Item1).Select(g => (Name: g.Key, Ms: CpuMs(before, after.Where(t => t.Value.Item1 == g.Key).ToDictionary(t => t.Key, t => t.Value), n => true)))
            .Where(x => x.Ms > 0).OrderByDescending(x => x.Ms).Take(4);
        Console.WriteLine($"# the server's whole process over the window: {whole:F2} % of one core; besides the module's threads: " +
            string.Join(", ", others.Select(x => $"{x.Name} {x.Ms / wallMs * 100:F2} %")));
        Console.WriteLine($"# over the first {warmup} samples (no page open yet): the dashboard's threads {earlyOwn:F2} % of one core, the sampler {earlyRead:F2} %");
        Console.WriteLine("samples  render_ms_per_sample  stream_ms_per_sample  server_%_core  sampler_ms_per_read  with_read_%_core  MB_allocated_per_sample  gc_gen0/1/2  gc_pause_ms_per_sample");
        Console.WriteLine($"{samples,7}  {(samples > 0 ? render / samples : double.NaN),20:F2}  {(samples > 0 ? stream / samples : double.NaN),20:F2}  {own,13:F2}  {(samples > 0 ? sampler / samples : double.NaN),19:F1}  {withRead,16:F2}  " +
            $"{(samples > 0 ? (gc1.Allocated - gc0.Allocated) / 1e6 / samples : double.NaN),23:F2}  {gc1.Gen0 - gc0.Gen0}/{gc1.Gen1 - gc0.Gen1}/{gc1.Gen2 - gc0.Gen2}  {(samples > 0 ? (gc1.PauseMs - gc0.PauseMs) / samples : double.NaN),22:F2}");
        JsonElement b;
        try { b = JsonDocument.Parse(output).RootElement; }
        catch (JsonException)
        {
            Console.WriteLine("the browser measured nothing: " + output + stderr.Result);
            return 1;
        }
        if (b.TryGetProperty("error", out var error)) { Console.WriteLine("the browser failed: " + error.GetString()); return 1; }
        double Num(string name) => b.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
        Console.WriteLine("browser  rows  updates  first_contentful_paint_ms  first_rows_ms  script_median_ms  script_max_ms  main_thread_ms_per_update  heap_mb");
        Console.WriteLine($"chromium  {Num("rows"),4:F0}  {Num("updates"),7:F0}  {Num("firstContentfulPaintMs"),25:F0}  {Num("firstRowsMs"),13:F0}  {Num("scriptMedianMs"),16:F1}  {Num("scriptMaxMs"),13:F1}  {Num("mainThreadPerUpdateMs"),25:F1}  {Num("heapMB"),7:F1}");
        Console.WriteLine($"# the main thread's CPU time per update (ThreadTime; the figure above is its tasks' wall time): {Num("mainThreadCpuPerUpdateMs"):F1} ms");
        if (b.TryGetProperty("mainThreadSplitMs", out var split) && split.ValueKind == JsonValueKind.Object)
            Console.WriteLine("# the main thread's time per update by kind (means; the rest is paint, compositing and the stream's data): " + string.Join(", ", split.EnumerateObject().Select(p => $"{p.Name} {(p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble().ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : "-")} ms")));
        if (b.TryGetProperty("stagesMedianMs", out var stages) && stages.ValueKind == JsonValueKind.Object)
            Console.WriteLine("# the script's stages per update (medians): " + string.Join(", ", stages.EnumerateObject().Select(p => $"{p.Name} {(p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble().ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : "-")} ms")));
        if (b.TryGetProperty("snapshotFetchMs", out var fetch) && fetch.ValueKind == JsonValueKind.Array && fetch.GetArrayLength() == 4)
            Console.WriteLine($"# first rows: the whole table asked at {fetch[0].GetDouble():F0} ms, sent at {fetch[1].GetDouble():F0}, its first byte at {fetch[2].GetDouble():F0}, " +
                $"its last at {fetch[3].GetDouble():F0}, in the page's script at {Num("snapshotTextMs"):F0}; the first update's script {Num("firstUpdateScriptMs"):F0} ms");
        Console.WriteLine($"targets: server <= 3 % of one core: {Met(own <= 3)} (dashboard threads), {Met(withRead <= 3)} (with its own table read); " +
            $"main thread <= 16 ms per update: {Met(Num("mainThreadPerUpdateMs") <= 16)}; first paint <= 1 s: {Met(Num("firstContentfulPaintMs") <= 1000)} (contentful), {Met(Num("firstRowsMs") <= 1000)} (rows)");
        return 0;
    }

    /// <summary>Start-ConnectionDashboard in a real pwsh, the connections held by a process of their own.</summary>
    private sealed class PwshServer : IServer
    {
        private readonly BenchmarkSockets.LoopbackPairsElsewhere _sockets;
        private readonly Process _pwsh;
        private readonly Thread _reader;
        private readonly int _pid;
        private readonly object _gate = new object();
        private long _samples;
        private int _clients;
        private (long, long, long, double, long) _gc;

        public PwshServer(string pwsh, string manifest, int connections, bool busy, double interval)
        {
            _sockets = new BenchmarkSockets.LoopbackPairsElsewhere(connections / 2, busy ? 500 : 0);
            string command =
                "$ErrorActionPreference = 'Stop'; Import-Module '" + manifest.Replace("'", "''") + "'; " +
                "$d = Start-ConnectionDashboard -NoBrowser -Port 0 -Interval ([TimeSpan]::FromSeconds(" + interval.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")); " +
                "\"pid $PID\"; \"url $($d.LaunchUrl) $($d.Url)\"; " +
                // Until the benchmark's process is gone, however it ends (pwsh would otherwise serve on with nobody to stop it).
                "while ($true) { try { $null = [Diagnostics.Process]::GetProcessById(" + Environment.ProcessId + ") } catch { exit }; $s = Get-ConnectionDashboard; \"state $($s.Samples) $($s.Clients) $([GC]::CollectionCount(0)) $([GC]::CollectionCount(1)) $([GC]::CollectionCount(2)) " +
                "$([long][GC]::GetTotalPauseDuration().TotalMicroseconds) $([GC]::GetTotalAllocatedBytes())\"; Start-Sleep -Milliseconds 1000 }";
            var psi = new ProcessStartInfo(pwsh) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (string a in new[] { "-NoProfile", "-NonInteractive", "-Command", command }) psi.ArgumentList.Add(a);
            _pwsh = Process.Start(psi);
            try
            {
                var errors = _pwsh.StandardError.ReadToEndAsync();
                // The lines it says first (anything before them, a warning at import, is passed over).
                string Line(string tag)
                {
                    string line;
                    do line = _pwsh.StandardOutput.ReadLine() ?? throw new InvalidOperationException("pwsh ended (" + (_pwsh.WaitForExit(5000) ? _pwsh.ExitCode.ToString() : "?") + "): " + errors.Result);
                    while (!line.StartsWith(tag + " ", StringComparison.Ordinal));
                    return line.Substring(tag.Length + 1);
                }
                _pid = int.Parse(Line("pid"), System.Globalization.CultureInfo.InvariantCulture);
                var parts = Line("url").Split(' ');
                LaunchUrl = parts[0];
                Url = parts[1];
            }
            catch
            {
                Dispose();
                throw;
            }
            Where = "Start-ConnectionDashboard in " + pwsh + " (process " + _pid + "), the sockets held by process " + _sockets.ProcessId;
            _reader = new Thread(() =>
            {
                string line;
                while ((line = _pwsh.StandardOutput.ReadLine()) != null)
                {
                    var f = line.Split(' ');
                    if (f.Length == 8 && f[0] == "state")
                    {
                        var n = f.Skip(1).Select(x => long.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                        lock (_gate)
                        {
                            _samples = n[0];
                            _clients = (int)n[1];
                            _gc = (n[2], n[3], n[4], n[5] / 1000.0, n[6]);
                        }
                    }
                }
            }) { IsBackground = true };
            _reader.Start();
        }

        public string Where { get; }
        public string LaunchUrl { get; }
        public string Url { get; }
        public long Samples { get { lock (_gate) return _samples; } }
        public int Clients { get { lock (_gate) return _clients; } }
        public (long Gen0, long Gen1, long Gen2, double PauseMs, long Allocated) Gc { get { lock (_gate) return _gc; } }
        public string LastUpdate => null;
        public Dictionary<int, (string, long)> Threads() => LiveViewBenchmark.Threads(_pid);

        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_pwsh != null)
            {
                try { if (!_pwsh.HasExited) _pwsh.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                _pwsh.WaitForExit(30_000);
                _reader?.Join(5000);
                _pwsh.Dispose();
            }
            _sockets.Dispose();
        }
    }

    /// <summary>The engine's dashboard in this process, the connections held here.</summary>
    private sealed class InProcessServer : IServer
    {
        private readonly BenchmarkSockets.LoopbackPairs _pairs;
        private readonly CancellationTokenSource _stopTraffic = new CancellationTokenSource();
        private readonly Thread _pump;
        private readonly MonitorSession _session;
        private readonly DashboardState _state;

        public InProcessServer(int connections, bool busy, double interval)
        {
            BenchmarkSockets.RaiseFileLimit(connections + 1024);
            _pairs = new BenchmarkSockets.LoopbackPairs(connections / 2);
            // The traffic on a thread of the benchmark's own, not counted as the server's.
            _pump = busy ? new Thread(() => { while (!_stopTraffic.Token.WaitHandle.WaitOne(500)) _pairs.Exchange(); }) { IsBackground = true, Name = "bench-traffic" } : null;
            _pump?.Start();
            _session = new MonitorSession();
            _state = _session.Dashboard.Start(new DashboardOptions { Port = 0, Interval = TimeSpan.FromSeconds(interval) }, null);
        }

        public string Where => "the engine's dashboard in the benchmark's process (IL, the sockets held there too)";
        public string LaunchUrl => _state.LaunchUrl;
        public string Url => _state.Url;
        public long Samples => _session.Dashboard.State.Samples;
        public int Clients => _session.Dashboard.State.Clients;
        public Dictionary<int, (string, long)> Threads() => LiveViewBenchmark.Threads();
        public (long Gen0, long Gen1, long Gen2, double PauseMs, long Allocated) Gc =>
            (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration().TotalMilliseconds, GC.GetTotalAllocatedBytes());

        public string LastUpdate
        {
            get
            {
                var f = _session.Dashboard.LatestFrame;
                return f == null ? null : $"{f.Delta.Length} bytes ({f.Upserts} rows whole, {f.Counters} as counters only, {f.Removes} gone)";
            }
        }

        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _session.Dashboard.Stop();
            _session.Dispose();
            _stopTraffic.Cancel();
            _pump?.Join();
            _pairs.Dispose();
        }
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "ConnectionsMonitor.psd1"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
