using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using ConnectionsMonitor.Engine.History;
using ConnectionsMonitor.Engine.Session;

// --history: the recorder's cost and the history's size (issue #13's targets: the recorder at 10,000 connections
// and a 2 s refresh <= 3 % of one core including writes; Get-ConnectionHistory over a week of per-process roll-ups
// <= 200 ms; the store's size per week).
//  1. N loopback connections held open, a real session recording every 2 s into a temporary file for S seconds:
//     CPU time of the recorder thread ("cmon-history", which also filters and diffs its feed and writes SQLite) and
//     of the sampler from /proc/self/task/*/schedstat, as % of one core; the file's growth per sample.
//  2. A generated week written through HistoryStore and rolled up by its own Maintain every simulated hour, as a
//     recorder at 2 s would leave it: totals per sample, 100 processes per minute, 1,000 steady connections and 10
//     new ones a second (each living 30 s) to 2,000 remote addresses (--remotes), then the file's size.
//  3. Get-ConnectionHistory -Kind Process over that week, timed in a real pwsh (first and warm calls), when the
//     pwsh the test command installs is there.
internal static class HistoryBenchmark
{
    public static int Run(string[] args)
    {
        int connections = 10000, seconds = 30, processes = 100, remotes = 2000;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--connections") connections = int.Parse(args[i + 1]);
            if (args[i] == "--seconds") seconds = int.Parse(args[i + 1]);
            if (args[i] == "--remotes") remotes = int.Parse(args[i + 1]);
        }
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("The history benchmark reads per-thread CPU times from /proc and runs on Linux.");
            return 2;
        }
        string dir = Path.Combine(Path.GetTempPath(), "cm-history-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Recorder(Path.Combine(dir, "live.db"), connections, seconds);
            string week = Path.Combine(dir, "week.db");
            GenerateWeek(week, processes, remotes);
            QueryThroughCmdlet(week);
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
        return 0;
    }

    private static void Recorder(string path, int connections, int seconds)
    {
        BenchmarkSockets.RaiseFileLimit(connections + 1024);
        using var pairs = new BenchmarkSockets.LoopbackPairs(connections / 2);
        using var session = new MonitorSession();
        session.History.Start(path, new HistoryOptions(), TimeSpan.FromSeconds(2), null);
        SpinWait.SpinUntil(() => session.History.State.SamplesWritten >= 2, TimeSpan.FromSeconds(60)); // JIT, the first sample's inserts
        var state0 = session.History.State;
        var before = LiveViewBenchmark.Threads();
        var clock = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        var after = LiveViewBenchmark.Threads();
        var state1 = session.History.State;
        double wallNs = clock.Elapsed.TotalMilliseconds * 1e6;
        double Pct(string name) => after.Where(t => t.Value.Item1 == name)
            .Sum(t => t.Value.Item2 - (before.TryGetValue(t.Key, out var b) && b.Item1 == name ? b.Item2 : 0)) / wallNs * 100;
        long samples = state1.SamplesWritten - state0.SamplesWritten;
        double bytesPerSample = samples > 0 ? (double)(state1.SizeBytes - state0.SizeBytes) / samples : double.NaN;
        session.History.Stop();
        Console.WriteLine($"# history benchmark, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {state1.OpenConnections} connections recorded, 2 s samples, {seconds} s");
        Console.WriteLine("samples  recorder_%_of_core  sampler_%_of_core  file_bytes_per_sample  target");
        double rec = Pct("cmon-history");
        Console.WriteLine($"{samples,7}  {rec,18:F2}  {Pct(MonitorSession.SamplerThreadName),17:F2}  {bytesPerSample,21:F0}  recorder <= 3 %: {(rec <= 3 ? "met" : "NOT met")}");
    }

    private static void GenerateWeek(string path, int processes, int remotes)
    {
        var now = DateTime.UtcNow;
        var start = now.AddDays(-7);
        var clock = Stopwatch.StartNew();
        long livesWritten = 0;
        using (var store = HistoryStore.OpenWriter(path, new HistoryOptions()))
        {
            var random = new Random(13);
            // 1,000 steady connections for the whole week.
            var steady = new HistoryBatch();
            for (int c = 0; c < 1000; c++) steady.Opened.Add(Life(start, c, processes, remotes));
            store.Write(steady);
            var open = new Queue<OpenedConnection>();
            int n = 1000;
            // Minute by minute, as the recorder writes: 30 samples of totals, 100 process rows, 600 new lives, the lives 30 s old closed.
            for (var minute = start; minute < now; minute = minute.AddMinutes(1))
            {
                var batch = new HistoryBatch();
                for (int p = 0; p < processes; p++)
                    batch.Processes.Add(new ProcessRow
                    {
                        TimeUtc = minute, Period = TimeSpan.FromMinutes(1), ProcessName = "process" + p.ToString("D3", CultureInfo.InvariantCulture), Samples = 30,
                        Connections = 10 + random.Next(5), MaxConnections = 15, BytesSent = random.Next(1 << 20), BytesReceived = random.Next(1 << 22),
                    });
                for (int k = 0; k < 600; k++)
                {
                    var o = Life(minute.AddMilliseconds(100 * k), n++, processes, remotes);
                    batch.Opened.Add(o);
                    open.Enqueue(o);
                }
                while (open.Count > 300)
                {
                    var gone = open.Dequeue();
                    batch.Closed.Add(new ClosedConnection { Connection = gone, ClosedUtc = gone.Row.OpenedUtc.AddSeconds(30), BytesSent = 4096, BytesReceived = 65536 });
                }
                livesWritten += 600;
                // One transaction per simulated minute (the recorder's is one per sample; its cost is part 1's).
                var minuteBatches = new List<HistoryBatch> { batch };
                for (int s = 0; s < 30; s++)
                {
                    var sample = new HistoryBatch
                    {
                        Totals = new TotalsRow
                        {
                            TimeUtc = minute.AddSeconds(2 * s), Period = TimeSpan.FromSeconds(2), Samples = 1, Tcp = 1300 + random.Next(20), Udp = 40,
                            Established = 1300, Listening = 30, MaxConnections = 1340, BytesSent = random.Next(1 << 20), BytesReceived = random.Next(1 << 22),
                        },
                    };
                    minuteBatches.Add(sample);
                }
                store.Write(minuteBatches);
                if (minute.Minute == 0) store.Maintain(minute); // hourly here; the recorder runs it every ten minutes
            }
            store.Maintain(now);
        }
        long size = new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0);
        using var db = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path + ";Mode=ReadOnly;Pooling=False");
        db.Open();
        long Scalar(string sql) { using var c = new Microsoft.Data.Sqlite.SqliteCommand(sql, db); return Convert.ToInt64(c.ExecuteScalar(), CultureInfo.InvariantCulture); }
        long raw = Scalar("SELECT count(*) FROM connection WHERE rolled_up = 0"), rolled = Scalar("SELECT count(*) FROM connection WHERE rolled_up = 1");
        Console.WriteLine($"# a generated week: {processes} processes, totals every 2 s, 1,000 steady connections and 10 new a second (each living 30 s) to {remotes} remote addresses; written and rolled up in {clock.Elapsed.TotalSeconds:F0} s");
        Console.WriteLine("file_MB  lives_written  raw_life_rows  rolled_up_rows  target");
        double mb = size / 1048576.0;
        Console.WriteLine($"{mb,7:F1}  {livesWritten,13}  {raw,13}  {rolled,14}  week <= 200 MB: {(mb <= 200 ? "met" : "NOT met")}");
    }

    /// <summary>The n-th connection: an ephemeral local port to port 443 of one of <paramref name="remotes"/> addresses, owned by one of the processes.</summary>
    private static OpenedConnection Life(DateTime opened, int n, int processes, int remotes)
    {
        int r = n % remotes;
        return new OpenedConnection
        {
            Row = new ConnectionRow
            {
                OpenedUtc = opened, Protocol = "TCP", LocalAddress = "10.0.0.5", LocalPort = 32768 + n % 28000,
                RemoteAddress = "203.0." + (r / 250 % 256).ToString(CultureInfo.InvariantCulture) + "." + (r % 250).ToString(CultureInfo.InvariantCulture), RemotePort = 443,
                State = "Established", ProcessId = 1000 + n % processes, ProcessName = "process" + (n % processes).ToString("D3", CultureInfo.InvariantCulture),
                Country = "US", Asn = 64500, AsnOrganization = "Example Net",
            },
        };
    }

    private static void QueryThroughCmdlet(string path)
    {
        string repo = CmdletBenchmark.FindRepoRoot();
        string pwsh = Path.Combine(repo, "out", "tools", "pwsh", "pwsh");
        string manifest = Path.Combine(repo, "out", "ConnectionsMonitor", "ConnectionsMonitor.psd1");
        if (!File.Exists(pwsh) || !File.Exists(manifest))
        {
            Console.WriteLine($"# Get-ConnectionHistory timing skipped: needs {pwsh} and {manifest}");
            return;
        }
        string script =
            "$ErrorActionPreference = 'Stop'; Import-Module '" + manifest.Replace("'", "''") + "'; $since = (Get-Date).AddDays(-7); " +
            "$sw = [Diagnostics.Stopwatch]::StartNew(); $r = Get-ConnectionHistory -Path '" + path.Replace("'", "''") + "' -Kind Process -Since $since; $first = $sw.Elapsed.TotalMilliseconds; " +
            "$warm = foreach ($i in 1..5) { $sw.Restart(); $r = Get-ConnectionHistory -Path '" + path.Replace("'", "''") + "' -Kind Process -Since $since; $sw.Elapsed.TotalMilliseconds }; " +
            "$sorted = @($warm | Sort-Object); '{0} {1} {2}' -f $first, $sorted[2], $r.Count";
        var psi = new ProcessStartInfo(pwsh) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-NoProfile", "-NonInteractive", "-Command", script }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi);
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        var last = output.Trim().Split('\n').Last().Trim().Split(' ');
        if (p.ExitCode != 0 || last.Length != 3)
        {
            Console.WriteLine("# Get-ConnectionHistory timing failed: " + (output + error).Trim());
            return;
        }
        double first = double.Parse(last[0], CultureInfo.InvariantCulture), warm = double.Parse(last[1], CultureInfo.InvariantCulture);
        Console.WriteLine("# Get-ConnectionHistory -Kind Process -Since (a week ago), in a real pwsh, over the generated week");
        Console.WriteLine("rows    first_ms  warm_ms  target");
        Console.WriteLine($"{last[2],6}  {first,8:F0}  {warm,7:F0}  warm <= 200 ms: {(warm <= 200 ? "met" : "NOT met")}");
    }
}
