using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;

// --baseline: Export-ConnectionBaseline and Compare-ConnectionBaseline as users run them (issue #15's target: Compare on a
// 10,000-connection host <= 1 s). N loopback connections held open (N/2 pairs), a fresh pwsh that imports the module,
// exports a baseline, then compares against it: the first Compare (what a scheduled task pays) and the median of five more.
internal static class BaselineBenchmark
{
    internal static int Run(string[] args)
    {
        int connections = 10000;
        for (int i = 0; i < args.Length - 1; i++)
            if (args[i] == "--connections") connections = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
        string root = CmdletBenchmark.FindRepoRoot();
        string pwsh = Path.Combine(root, "out", "tools", "pwsh", OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh");
        string manifest = Path.Combine(root, "out", "ConnectionsMonitor", "ConnectionsMonitor.psd1");
        if (!File.Exists(pwsh) || !File.Exists(manifest))
        {
            Console.WriteLine($"# baseline benchmark skipped: needs {pwsh} and {manifest} (bash tests/run.sh installs and builds both)");
            return 1;
        }
        BenchmarkSockets.RaiseFileLimit(connections + 1024);
        using var pairs = new BenchmarkSockets.LoopbackPairs(connections / 2);
        string file = Path.Combine(Path.GetTempPath(), "cm-bench-baseline-" + Guid.NewGuid().ToString("N") + ".json");
        string script =
            "$ErrorActionPreference = 'Stop'; Import-Module '" + manifest.Replace("'", "''") + "'; $sw = [Diagnostics.Stopwatch]::StartNew(); " +
            "$info = Export-ConnectionBaseline -Path '" + file.Replace("'", "''") + "' -PassThru; $export = $sw.Elapsed.TotalMilliseconds; $sw.Restart(); " +
            "$d = @(Compare-ConnectionBaseline -Path '" + file.Replace("'", "''") + "'); $first = $sw.Elapsed.TotalMilliseconds; " +
            "$warm = foreach ($i in 1..5) { $sw.Restart(); $d = @(Compare-ConnectionBaseline -Path '" + file.Replace("'", "''") + "'); $sw.Elapsed.TotalMilliseconds }; " +
            "$s = @($warm | Sort-Object); $rows = @(Get-MonitoredConnection).Count; " +
            "'{0} {1} {2} {3} {4} {5}' -f $export, $first, $s[2], ($info.Listeners + $info.Outbound + $info.Vpn), $d.Count, $rows";
        var psi = new ProcessStartInfo(pwsh) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-NoProfile", "-NonInteractive", "-Command", script }) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi);
            string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            var last = output.Trim().Split('\n').Last().Trim().Split(' ');
            if (p.ExitCode != 0 || last.Length != 6) { Console.WriteLine("pwsh failed (" + p.ExitCode + "): " + output + error); return 1; }
            double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
            Console.WriteLine($"# baseline benchmark: {connections} loopback connections held open, a fresh pwsh; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            Console.WriteLine("rows  entries  differences  export_ms  compare_first_ms  compare_warm_ms");
            Console.WriteLine($"{last[5],4}  {last[3],7}  {last[4],11}  {D(last[0]),9:F0}  {D(last[1]),16:F0}  {D(last[2]),15:F0}");
            Console.WriteLine($"target: Compare <= 1 s on a 10,000-connection host: {(D(last[1]) <= 1000 ? "met" : "NOT met")} (first), {(D(last[2]) <= 1000 ? "met" : "NOT met")} (warm)");
            return 0;
        }
        finally { File.Delete(file); }
    }
}
