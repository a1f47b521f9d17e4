using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading;
using ConnectionsMonitor.Engine.Metrics;
using ConnectionsMonitor.Engine.Session;

// --metrics: the Prometheus endpoint's cost (issue #15's targets: a scrape at 10,000 connections <= 20 ms, and
// <= 1 % of one core at a 15 s scrape interval).
//  N loopback connections held open (N/2 pairs plus the listener), a real session serving metrics with samples every
//  --interval seconds (2 by default, so a short run sees many samples) for --seconds:
//   - scrapes: --scrapes GETs of /metrics over one keep-alive HttpClient in this process, wall time each (median, p99);
//   - CPU from /proc/self/task/*/schedstat: the metrics thread ("cmon-metrics": the collector and the renderings, per
//     sample), the connections' threads ("cmon-metrics-we[b]", per scrape) and the sampler (the table read, shared with every
//     other subscriber), each per sample or scrape;
//   - the endpoint's own cost at a 15 s interval: (metrics CPU per sample + web CPU per scrape) / 15 s, as % of one core,
//     and with the sampler's read added when nothing else subscribes.
internal static class MetricsBenchmark
{
    public static int Run(string[] args)
    {
        int connections = 10000, seconds = 30, scrapes = 200;
        double interval = 2;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--connections") connections = int.Parse(args[i + 1]);
            if (args[i] == "--seconds") seconds = int.Parse(args[i + 1]);
            if (args[i] == "--scrapes") scrapes = int.Parse(args[i + 1]);
            if (args[i] == "--interval") interval = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
        }
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("The metrics benchmark reads per-thread CPU times from /proc and runs on Linux.");
            return 2;
        }
        BenchmarkSockets.RaiseFileLimit(connections + 1024);
        using var pairs = new BenchmarkSockets.LoopbackPairs(connections / 2);
        using var session = new MonitorSession();
        var state = session.Metrics.Start(new MetricsEndpointOptions { Port = 0, Interval = TimeSpan.FromSeconds(interval), TopProcesses = 10 }, null);
        using var http = new HttpClient();
        // Warm-up: JIT of the request path and a couple of samples.
        for (int i = 0; i < 20; i++) http.GetStringAsync(state.Url).GetAwaiter().GetResult();
        SpinWait.SpinUntil(() => session.Metrics.State.Samples >= 3, TimeSpan.FromSeconds(60));

        var before = LiveViewBenchmark.Threads();
        var s0 = session.Metrics.State;
        long reads0 = session.SamplerReads;
        var clock = Stopwatch.StartNew();
        var times = new List<double>();
        int bytes = 0;
        for (int i = 0; i < scrapes; i++)
        {
            var sw = Stopwatch.StartNew();
            bytes = http.GetStringAsync(state.Url).GetAwaiter().GetResult().Length;
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        var rest = TimeSpan.FromSeconds(seconds) - clock.Elapsed;
        if (rest > TimeSpan.Zero) Thread.Sleep(rest);
        var after = LiveViewBenchmark.Threads();
        var s1 = session.Metrics.State;
        long reads = session.SamplerReads - reads0;
        double wallS = clock.Elapsed.TotalSeconds;
        double CpuMs(Func<string, bool> name) => after.Where(t => name(t.Value.Item1))
            .Sum(t => t.Value.Item2 - (before.TryGetValue(t.Key, out var b) && b.Item1 == t.Value.Item1 ? b.Item2 : 0)) / 1e6;
        long samples = s1.Samples - s0.Samples;
        long served = s1.ScrapesServed - s0.ScrapesServed;
        double metricsMs = CpuMs(n => n == "cmon-metrics"), webMs = CpuMs(n => n.StartsWith("cmon-metrics-we", StringComparison.Ordinal));
        double samplerMs = CpuMs(n => n == MonitorSession.SamplerThreadName);
        double perSample = samples > 0 ? metricsMs / samples : double.NaN, perScrape = served > 0 ? webMs / served : double.NaN;
        double readPerSample = reads > 0 ? samplerMs / reads : double.NaN;
        times.Sort();
        double median = times[times.Count / 2], p99 = times[Math.Min(times.Count - 1, (int)Math.Ceiling(times.Count * 0.99) - 1)];
        double own15 = (perSample + perScrape) / 15000 * 100, withRead15 = (perSample + perScrape + readPerSample) / 15000 * 100;
        string Met(bool ok) => ok ? "met" : "NOT met";
        Console.WriteLine($"# metrics benchmark, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {connections} connections, samples every {interval} s, {wallS:F0} s, exposition {bytes} bytes, {s1.AdmittedProcesses} process names admitted");
        Console.WriteLine("scrapes  median_ms  p99_ms  web_cpu_ms_per_scrape  samples  metrics_cpu_ms_per_sample  sampler_cpu_ms_per_read  endpoint_%_core_at_15s  with_read_%_core_at_15s");
        Console.WriteLine($"{served,7}  {median,9:F2}  {p99,6:F2}  {perScrape,21:F3}  {samples,7}  {perSample,25:F2}  {readPerSample,23:F1}  {own15,22:F3}  {withRead15,23:F3}");
        Console.WriteLine($"targets: scrape <= 20 ms: {Met(median <= 20)} (median); <= 1 % of one core at 15 s: {Met(own15 <= 1)} (endpoint), {Met(withRead15 <= 1)} (with its own table read)");
        session.Metrics.Stop();
        return 0;
    }
}
