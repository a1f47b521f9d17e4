using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using ConnectionsMonitor.Engine.Dashboard;
using ConnectionsMonitor.Engine.Session;

// --dashboard: the web dashboard's cost (issue #14's targets at 10,000 rows and one update a second: the server <= 3 % of
// one core; the browser's main thread <= 16 ms per update; first paint <= 1 s after the address opens).
//  N loopback connections held open, a real session serving the dashboard with a sample every --interval seconds, and a
//  real Chromium (tests/Dashboard/browser-perf.mjs through playwright-core) showing the page for --seconds:
//   - server CPU from /proc/self/task/*/schedstat: the dashboard thread ("cmon-dashboard": the JSON of each sample), the
//     page's event stream ("cmon-http-strea[m]": writing it) and the connections' threads ("cmon-dash-web"), as % of one core; and the sampler's
//     table read, which the dashboard shares with every other subscriber (its own cost when nothing else watches);
//   - the browser's figures as browser-perf.mjs measured them.
internal static class DashboardBenchmark
{
    public static int Run(string[] args)
    {
        int connections = 10000, seconds = 30;
        double interval = 1;
        bool busy = args.Contains("--busy");
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--connections") connections = int.Parse(args[i + 1]);
            if (args[i] == "--seconds") seconds = int.Parse(args[i + 1]);
            if (args[i] == "--interval") interval = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
        }
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("The dashboard benchmark reads per-thread CPU times from /proc and runs on Linux.");
            return 2;
        }
        string root = FindRoot();
        string script = Path.Combine(root, "tests", "Dashboard", "browser-perf.mjs");
        if (!File.Exists(Path.Combine(root, "tests", "Dashboard", "node_modules", "playwright-core", "package.json")))
        {
            Console.Error.WriteLine("playwright-core is not installed (tests/run.sh runs npm ci in tests/Dashboard).");
            return 2;
        }
        BenchmarkSockets.RaiseFileLimit(connections + 1024);
        using var pairs = new BenchmarkSockets.LoopbackPairs(connections / 2);
        // --busy: a byte each way on every connection twice a second (on a thread of the benchmark's own, not counted as
        // the server's), so every row's counters and rates change at every sample: the page's hardest steady case.
        using var stopTraffic = new CancellationTokenSource();
        var pump = busy ? new Thread(() => { while (!stopTraffic.Token.WaitHandle.WaitOne(500)) pairs.Exchange(); }) { IsBackground = true, Name = "bench-traffic" } : null;
        pump?.Start();
        using var session = new MonitorSession();
        var state = session.Dashboard.Start(new DashboardOptions { Port = 0, Interval = TimeSpan.FromSeconds(interval) }, null);
        SpinWait.SpinUntil(() => session.Dashboard.State.Samples >= 3, TimeSpan.FromSeconds(60));

        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(state.LaunchUrl);
        psi.ArgumentList.Add(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var node = Process.Start(psi);
        var stderr = node.StandardError.ReadToEndAsync();
        // The server's figures over the browser's measuring window (it starts once the page shows rows).
        SpinWait.SpinUntil(() => session.Dashboard.State.Clients > 0 || node.HasExited, TimeSpan.FromSeconds(60));
        Thread.Sleep(3000);
        var before = LiveViewBenchmark.Threads();
        long samples0 = session.Dashboard.State.Samples, reads0 = session.SamplerReads;
        var clock = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(Math.Max(5, seconds - 5)));
        var after = LiveViewBenchmark.Threads();
        double wallMs = clock.Elapsed.TotalMilliseconds;
        long samples = session.Dashboard.State.Samples - samples0, reads = session.SamplerReads - reads0;
        var lastFrame = session.Dashboard.LatestFrame;
        string output = node.StandardOutput.ReadToEnd();
        node.WaitForExit();

        double CpuMs(Func<string, bool> name) => after.Where(t => name(t.Value.Item1))
            .Sum(t => t.Value.Item2 - (before.TryGetValue(t.Key, out var b) && b.Item1 == t.Value.Item1 ? b.Item2 : 0)) / 1e6;
        double render = CpuMs(n => n == "cmon-dashboard"), stream = CpuMs(n => n.StartsWith("cmon-http-strea", StringComparison.Ordinal)),
            web = CpuMs(n => n == "cmon-dash-web"), sampler = CpuMs(n => n == MonitorSession.SamplerThreadName);
        double server = (render + stream + web) / wallMs * 100, withRead = (render + stream + web + sampler) / wallMs * 100;
        int bytes = 0;
        using (var http = new System.Net.Http.HttpClient(new System.Net.Http.HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }))
        {
            // As the page does: the launch address swapped for the cookie and, in the redirect's fragment, the page's key.
            using var swap = http.Send(new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, state.LaunchUrl));
            var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, state.Url + "api/snapshot");
            request.Headers.Add("Cookie", swap.Headers.GetValues("Set-Cookie").First().Split(';')[0]);
            request.Headers.Add("X-Dashboard-Key", swap.Headers.Location.OriginalString.Substring("/#k=".Length));
            bytes = http.Send(request).Content.ReadAsByteArrayAsync().GetAwaiter().GetResult().Length;
        }
        session.Dashboard.Stop();
        stopTraffic.Cancel();
        pump?.Join();

        string Met(bool ok) => ok ? "met" : "NOT met";
        Console.WriteLine($"# dashboard benchmark, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {connections} connections{(busy ? " all moving bytes" : "")}, an update every {interval} s, {wallMs / 1000:F0} s measured; " +
            $"the whole table {bytes} bytes of JSON (sent once per page), the last update {lastFrame?.Delta.Length} bytes ({lastFrame?.Upserts} rows whole, {lastFrame?.Counters} as counters only, {lastFrame?.Removes} gone)");
        Console.WriteLine("samples  render_ms_per_sample  stream_ms_per_sample  server_%_core  sampler_ms_per_read  with_read_%_core");
        Console.WriteLine($"{samples,7}  {(samples > 0 ? render / samples : double.NaN),20:F2}  {(samples > 0 ? stream / samples : double.NaN),20:F2}  {server,13:F2}  {(reads > 0 ? sampler / reads : double.NaN),19:F1}  {withRead,16:F2}");
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
        Console.WriteLine($"targets: server <= 3 % of one core: {Met(server <= 3)} (dashboard threads), {Met(withRead <= 3)} (with its own table read); " +
            $"main thread <= 16 ms per update: {Met(Num("mainThreadPerUpdateMs") <= 16)}; first paint <= 1 s: {Met(Num("firstContentfulPaintMs") <= 1000)} (contentful), {Met(Num("firstRowsMs") <= 1000)} (rows)");
        return 0;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "ConnectionsMonitor.psd1"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
