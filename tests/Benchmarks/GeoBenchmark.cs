using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using ConnectionsMonitor.Engine.Platform;

/// <summary>
/// --geo: what GeoIP enrichment costs.
///  1. Lookups per second through the module's own path (GeoLocator.Lookup), single thread, with the
///     bundled country and ASN databases: every address new (first with the databases' records new
///     too, then with them met before), and a steady table's addresses again and again; and the
///     MaxMind.Db reader alone for scale.
///  2. A warm 10,000-connection snapshot whose remote ends are public addresses, with and without
///     geo enrichment, alternated run by run. The public peers live in a network namespace made for
///     the run (1.0.0.0/24, 8.8.8.0/24 and 2.16.0.0/24 routed into it), so nothing leaves the machine.
/// Target: geo adds at most 10 % to the warm snapshot; lookups at least 1 M/s.
/// </summary>
internal static class GeoBenchmark
{
    private static readonly string[] Prefixes = { "1.0.0", "8.8.8", "2.16.0" };

    public static int Run(string[] args)
    {
        int connections = 10000, runs = 15;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--connections") connections = int.Parse(args[i + 1]);
            if (args[i] == "--runs") runs = int.Parse(args[i + 1]);
        }
        string bundled = FindBundledDirectory();
        var config = ConfigLoader.LoadText("geoip:\n  directory: '" + Path.Combine(Path.GetTempPath(), "cm-geo-bench-empty") + "'\n", "bench.yml").Config;
        Console.WriteLine($"# geo benchmark, {Environment.ProcessorCount} cores, bundled databases in {bundled}");
        LookupThroughput(bundled, config.GeoIp);
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Console.WriteLine("# snapshot part skipped: it makes a network namespace, which needs root on Linux");
            return 0;
        }
        BenchmarkSockets.RaiseFileLimit(connections * 2 + 1024);
        using var peers = new PublicPeers(Prefixes, connections);
        using var engine = new MonitorEngine(PlatformServices.CreateForCurrentOS(), bundled);
        var withGeo = new EnrichmentOptions { Geo = config.GeoIp };
        var without = EnrichmentOptions.None;
        var first = engine.TakeSnapshot(withGeo);
        int publicRows = first.Connections.Count(c => c.AddressScope == "Public");
        int located = first.Connections.Count(c => c.Country != null);
        var (geoMs, plainMs) = Program.MeasureAlternating(runs, () => engine.TakeSnapshot(withGeo), () => engine.TakeSnapshot(without));
        Console.WriteLine("rows   public_rows  located  warm_no_geo_ms  warm_geo_ms  geo_overhead");
        Console.WriteLine($"{first.Connections.Count,5}  {publicRows,11}  {located,7}  {plainMs,14:F2}  {geoMs,11:F2}  {(geoMs / plainMs - 1) * 100,11:F1}%");
        return 0;
    }

    private static void LookupThroughput(string bundled, GeoIpConfig config)
    {
        var rng = new Random(42);
        var addresses = new List<IPAddress>();
        while (addresses.Count < 420000)
        {
            var a = new IPAddress(BitConverter.GetBytes(rng.Next()));
            if (AddressScopes.Classify(a) == AddressScope.Public) addresses.Add(a);
        }
        // Fresh objects (no reference shortcuts); the first 20,000 only warm up JIT and pages.
        var warmup = addresses.Take(20000).ToList();
        var firstSet = addresses.Skip(20000).Take(200000).Select(a => new IPAddress(a.GetAddressBytes())).ToList();
        var secondSet = addresses.Skip(220000).Select(a => new IPAddress(a.GetAddressBytes())).ToList();

        // The MaxMind.Db reader alone (no tree-walk shortcut, no caches) on the bundled country file.
        double readerPerSecond;
        using (var country = GeoDatabase.Open(Path.Combine(bundled, GeoLocator.BundledCountryFile)))
        {
            foreach (var a in warmup) country.Decode(a);
            var raw = Stopwatch.StartNew();
            foreach (var a in firstSet) country.Decode(a);
            readerPerSecond = firstSet.Count / raw.Elapsed.TotalSeconds;
        }

        using var geo = new GeoLocator(bundled);
        foreach (var p in geo.Refresh(config)) Console.WriteLine("# warning: " + p);
        foreach (var a in warmup) geo.Lookup(a);
        // New addresses, database records mostly new too (a fresh session meeting the internet).
        double firstPerSecond = PerSecond(geo, firstSet, out int found);
        // New addresses again, but the databases' records (countries, networks) have been met.
        double secondPerSecond = PerSecond(geo, secondSet, out _);
        // Warm: the 10,000 most recent addresses again and again, as successive snapshots of one machine ask.
        var hot = secondSet.Skip(secondSet.Count - 10000).ToList();
        foreach (var a in hot) geo.Lookup(a);
        var sw = Stopwatch.StartNew();
        int lookups = 0;
        while (sw.ElapsedMilliseconds < 1000)
            foreach (var a in hot) { geo.Lookup(a); lookups++; }
        double warmPerSecond = lookups / sw.Elapsed.TotalSeconds;
        Console.WriteLine("reader_only_per_s  new_addresses_per_s  new_addresses_known_records_per_s  repeated_addresses_per_s  located");
        Console.WriteLine($"{readerPerSecond,17:N0}  {firstPerSecond,19:N0}  {secondPerSecond,33:N0}  {warmPerSecond,24:N0}  {found * 100.0 / firstSet.Count,6:F1}%");
    }

    private static double PerSecond(GeoLocator geo, List<IPAddress> addresses, out int found)
    {
        found = 0;
        var sw = Stopwatch.StartNew();
        foreach (var a in addresses) if (geo.Lookup(a).Country != null) found++;
        return addresses.Count / sw.Elapsed.TotalSeconds;
    }

    private static string FindBundledDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "ConnectionsMonitor.sln"))) dir = dir.Parent;
        if (dir == null) throw new InvalidOperationException("run the benchmark from inside the repository");
        return Path.Combine(dir.FullName, "data", "GeoIP");
    }

    /// <summary>
    /// A network namespace that answers every address of some public /24s (a local route), a
    /// listener there that holds what it accepts, and host routes into it; then N client sockets
    /// from this process spread over those addresses. All removed on Dispose.
    /// </summary>
    private sealed class PublicPeers : IDisposable
    {
        private const string Ns = "cmgeobench", HostLink = "cmgbh0", PeerLink = "cmgbp0";
        private const int Port = 7443;
        private readonly string[] _prefixes;
        private readonly List<Socket> _clients = new List<Socket>();
        private readonly Process _listener;

        public PublicPeers(string[] prefixes, int count)
        {
            _prefixes = prefixes;
            Cleanup();
            Sh("ip netns add " + Ns);
            Sh("ip link add " + HostLink + " type veth peer name " + PeerLink);
            Sh("ip link set " + PeerLink + " netns " + Ns);
            Sh("ip addr add 198.18.250.1/30 dev " + HostLink + " && ip link set " + HostLink + " up");
            Sh("ip netns exec " + Ns + " sh -c 'ip addr add 198.18.250.2/30 dev " + PeerLink + " && ip link set " + PeerLink + " up && ip link set lo up && ip route add default via 198.18.250.1'");
            foreach (var p in prefixes)
            {
                Sh("ip netns exec " + Ns + " ip route add local " + p + ".0/24 dev lo");
                Sh("ip route add " + p + ".0/24 via 198.18.250.2 dev " + HostLink);
            }
            string script = "import socket,resource\n" +
                            "h=resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE,(h,h))\n" +
                            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n" +
                            "s.setsockopt(socket.SOL_IP, 19, 1)\n" + // IP_FREEBIND: bind before the local route answers
                            "s.bind(('0.0.0.0'," + Port + ")); s.listen(4096); print('ready', flush=True)\n" +
                            "held=[]\nwhile True:\n    c,_=s.accept(); held.append(c)\n";
            var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "netns", "exec", Ns, "python3", "-c", script }) psi.ArgumentList.Add(a);
            _listener = Process.Start(psi);
            if (_listener.StandardOutput.ReadLine() != "ready") throw new InvalidOperationException("the listener in the namespace did not start");
            for (int i = 0; i < count; i++)
            {
                string address = prefixes[i % prefixes.Length] + "." + (1 + i / prefixes.Length % 254);
                var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                c.Connect(new IPEndPoint(IPAddress.Parse(address), Port));
                _clients.Add(c);
            }
        }

        private static void Sh(string command)
        {
            using var p = Process.Start(new ProcessStartInfo("sh", "-c \"" + command.Replace("\"", "\\\"") + "\"") { RedirectStandardError = true, UseShellExecute = false });
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException(command + ": " + err.Trim());
        }

        private void Cleanup()
        {
            foreach (var p in _prefixes) TryRun("ip route del " + p + ".0/24 dev " + HostLink);
            TryRun("ip link del " + HostLink);
            TryRun("ip netns del " + Ns);
        }

        private static void TryRun(string command)
        {
            try { Sh(command + " 2>/dev/null"); } catch (InvalidOperationException) { }
        }

        public void Dispose()
        {
            foreach (var c in _clients)
            {
                c.LingerState = new LingerOption(true, 0);
                c.Dispose();
            }
            try { _listener.Kill(); _listener.WaitForExit(5000); } catch (InvalidOperationException) { }
            Cleanup();
        }
    }
}
