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
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;

/// <summary>
/// --geo: what GeoIP enrichment costs.
///  1. Lookups per second through the module's own path (ConnectionEnricher.Classify, what a snapshot
///     runs, and GeoLocator.Lookup alone), single thread, with the bundled country and ASN databases:
///     every address new (first with the databases' records new too, then with them met before), and
///     a steady table's addresses again and again; never-seen IPv6 addresses; the locator's lookups
///     alone (what is left of the enricher's time is the rows' own); MaxMind.Db's reader alone for
///     scale; and the memory that opening both databases costs (RSS and managed-heap delta against
///     the files' size).
///  2. A warm 10,000-connection snapshot whose remote ends are public addresses, with and without
///     geo enrichment, alternated run by run. The public peers live in a network namespace made for
///     the run (1.0.0.0/24, 8.8.8.0/24 and 2.16.0.0/24 routed into it), so nothing leaves the machine.
/// Targets: geo adds at most 10 % to the warm snapshot; at least 1 M lookups/s of never-seen public
/// addresses; each database in memory once (RSS delta about the files' size).
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
        string load = File.Exists("/proc/loadavg") ? ", load average " + File.ReadAllText("/proc/loadavg").Split(' ')[0] : "";
        Console.WriteLine($"# geo benchmark, {Environment.ProcessorCount} cores{load}, bundled databases in {bundled}");
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

    private const double LookupTarget = 1_000_000; // lookups per second of never-seen public addresses (issue #9)

    private static void LookupThroughput(string bundled, GeoIpConfig config)
    {
        var rng = new Random(42);
        var addresses = new List<IPAddress>();
        while (addresses.Count < 500000)
        {
            var a = new IPAddress(BitConverter.GetBytes(rng.Next()));
            if (AddressScopes.Classify(a) == AddressScope.Public) addresses.Add(a);
        }
        // Fresh objects (no reference shortcuts). The first 100,000 only warm up: JIT (tiered
        // compilation settles while a throwaway enricher runs them) and pages.
        var warmup = addresses.Take(100000).ToList();
        var firstSet = addresses.Skip(100000).Take(200000).Select(a => new IPAddress(a.GetAddressBytes())).ToList();
        var secondSet = addresses.Skip(300000).Select(a => new IPAddress(a.GetAddressBytes())).ToList();
        long fileBytes = new FileInfo(Path.Combine(bundled, GeoLocator.BundledCountryFile)).Length + new FileInfo(Path.Combine(bundled, GeoLocator.BundledAsnFile)).Length;

        // 1. Through the module's path: the enricher a snapshot uses (ConnectionEnricher.Classify:
        //    scope, then GeoLocator.Refresh and Lookup per public row), over rows the way a snapshot hands them.
        var options = new EnrichmentOptions { Geo = config };
        var warnings = new List<string>();
        double newPerSecond, knownPerSecond, repeatedPerSecond, newPerCpuSecond, knownPerCpuSecond;
        int found;
        double v6PerSecond, v6PerCpuSecond, v6Located;
        long rssBefore, rssAfter, anonBefore, anonAfter, heapBefore, heapAfter;
        using (var enricher = new ConnectionEnricher(null, bundled))
        {
            // Measured first, before anything else in the process held a copy of the files (memory the
            // runtime keeps after a copy is collected would hide the next one).
            (rssBefore, anonBefore, heapBefore) = Memory();
            enricher.Classify(Rows(warmup.Take(1)), options, warnings); // the first public row opens both databases
            (rssAfter, anonAfter, heapAfter) = Memory();
            foreach (var w in warnings) Console.WriteLine("# warning: " + w);
            // IPv6: the regional registries' large blocks (2400::/12, 2600::/12, 2800::/12, 2a00::/12, 2c00::/12), where random addresses are often located.
            var v6 = new List<IPAddress>();
            var v6Bytes = new byte[16];
            byte[] registryBlocks = { 0x24, 0x26, 0x28, 0x2A, 0x2C };
            while (v6.Count < 250000)
            {
                rng.NextBytes(v6Bytes);
                v6Bytes[0] = registryBlocks[rng.Next(registryBlocks.Length)];
                v6Bytes[1] &= 0x0F;
                v6.Add(new IPAddress(v6Bytes));
            }
            var v6Warmup = v6.Take(50000).ToList();
            var v6Set = v6.Skip(50000).ToList();
            using (var throwaway = new ConnectionEnricher(null, bundled))
            {
                // JIT: tiered compilation settles while a throwaway enricher (its own databases and caches) runs the warm-up addresses.
                var warmRows = Rows(warmup.Concat(v6Warmup.Take(20000)));
                var warm = Stopwatch.StartNew();
                while (warm.ElapsedMilliseconds < 1500) throwaway.Classify(warmRows, options, warnings);
                EnrichPerSecond(throwaway, options, warmup.Take(50000).Select(a => new IPAddress(a.GetAddressBytes())).ToList(), out _, out _);
            }
            using (var throwaway = new GeoLocator(bundled))
            {
                // The same for the locator's own entry points, measured alone below.
                throwaway.Refresh(config);
                var warm = Stopwatch.StartNew();
                while (warm.ElapsedMilliseconds < 1000)
                {
                    LookupPerSecond(throwaway, warmup);
                    LookupManyPerSecond(throwaway, warmup);
                }
            }

            // New addresses, database records mostly new too (a fresh session meeting the internet).
            newPerSecond = EnrichPerSecond(enricher, options, firstSet, out found, out newPerCpuSecond);
            // New addresses again, but the databases' records (countries, networks) have been met.
            knownPerSecond = EnrichPerSecond(enricher, options, secondSet, out _, out knownPerCpuSecond);
            // The 10,000 most recent addresses again and again, as successive snapshots of one machine ask.
            var hot = Rows(secondSet.Skip(secondSet.Count - 10000));
            enricher.Classify(hot, options, warnings);
            var sw = Stopwatch.StartNew();
            long rows = 0;
            while (sw.ElapsedMilliseconds < 1000) { enricher.Classify(hot, options, warnings); rows += hot.Count; }
            repeatedPerSecond = rows / sw.Elapsed.TotalSeconds;
            // New IPv6 addresses (records new too).
            v6PerSecond = EnrichPerSecond(enricher, options, v6Set, out int v6Found, out v6PerCpuSecond);
            v6Located = v6Found * 100.0 / v6Set.Count;
        }

        // 2. GeoLocator.Lookup alone (no scope classification, no row objects), a fresh session each:
        //    the many-address Lookup the enricher uses (what is left of the enricher's time is the rows'
        //    own: their scope, gathering the public ones, writing seven fields), and one address at a time.
        double manyNew, manyKnown, lookupNew, lookupKnown;
        using (var geo = new GeoLocator(bundled))
        {
            geo.Refresh(config);
            manyNew = LookupManyPerSecond(geo, firstSet);
            manyKnown = LookupManyPerSecond(geo, secondSet);
        }
        using (var geo = new GeoLocator(bundled))
        {
            geo.Refresh(config);
            lookupNew = LookupPerSecond(geo, firstSet);
            lookupKnown = LookupPerSecond(geo, secondSet);
        }

        // 3. For scale: MaxMind.Db's Reader alone (its own copy of the file, no caches) on the country file.
        double readerPerSecond;
        using (var reader = new MaxMind.Db.Reader(Path.Combine(bundled, GeoLocator.BundledCountryFile), MaxMind.Db.FileAccessMode.Memory))
        {
            foreach (var a in warmup) reader.Find<CountryCodeRecord>(a);
            var raw = Stopwatch.StartNew();
            foreach (var a in firstSet) reader.Find<CountryCodeRecord>(a);
            readerPerSecond = firstSet.Count / raw.Elapsed.TotalSeconds;
        }

        Console.WriteLine("# through the enricher (ConnectionEnricher.Classify, bundled country + ASN databases), rows per second of wall time,");
        Console.WriteLine("# and per second of this thread's CPU time (the same work without the time other processes took the cores):");
        Console.WriteLine("new_addresses_per_s  new_addresses_known_records_per_s  repeated_addresses_per_s  located  target_per_s  new_per_cpu_s  known_records_per_cpu_s");
        Console.WriteLine($"{newPerSecond,19:N0}  {knownPerSecond,33:N0}  {repeatedPerSecond,24:N0}  {found * 100.0 / firstSet.Count,6:F1}%  {LookupTarget,12:N0}  {newPerCpuSecond,13:N0}  {knownPerCpuSecond,22:N0}");
        Console.WriteLine("# GeoLocator.Lookup alone: many addresses a call (as the enricher asks, 64 a call) and one a call; MaxMind.Db's Reader.Find alone (country file, for scale):");
        Console.WriteLine("many_new_per_s  many_known_records_per_s  lookup_new_per_s  lookup_known_records_per_s  reader_only_per_s");
        Console.WriteLine($"{manyNew,14:N0}  {manyKnown,23:N0}  {lookupNew,16:N0}  {lookupKnown,26:N0}  {readerPerSecond,17:N0}");
        Console.WriteLine("# never-seen IPv6 addresses (registries' blocks) through the enricher, rows per second of wall time and of this thread's CPU time:");
        Console.WriteLine("new_ipv6_per_s  located  new_ipv6_per_cpu_s");
        Console.WriteLine($"{v6PerSecond,14:N0}  {v6Located,6:F1}%  {v6PerCpuSecond,18:N0}");
        Console.WriteLine("# memory for opening both databases (process RSS and its private part: RssAnon + RssShmem, which include the runtime's own for the first call;");
        Console.WriteLine("# the managed heap: the files' bytes, held once, plus the trees' IPv4 prefix tables and the locator's caches), against the files' size, MiB:");
        Console.WriteLine("files_mb  rss_delta_mb  private_delta_mb  heap_delta_mb  target_mb");
        Console.WriteLine($"{fileBytes / 1048576.0,8:F1}  {(rssAfter - rssBefore) / 1048576.0,12:F1}  {(anonAfter - anonBefore) / 1048576.0,16:F1}  {(heapAfter - heapBefore) / 1048576.0,13:F1}  {fileBytes / 1048576.0 * 1.1,9:F1}");
    }

    /// <summary>The bundled country file's records: {country_code}.</summary>
    internal sealed class CountryCodeRecord
    {
        [MaxMind.Db.Constructor]
        public CountryCodeRecord([MaxMind.Db.MapKey("country_code")] string countryCode) { CountryCode = countryCode; }
        public string CountryCode { get; }
    }

    private static List<ConnectionRecord> Rows(IEnumerable<IPAddress> remotes) =>
        remotes.Select(a => new ConnectionRecord { Protocol = TransportProtocol.Tcp, RemoteAddress = a, RemotePort = 443 }).ToList();

    /// <summary>Rows per second of wall time, and per second of the process's CPU time (what the work costs when other processes share the cores).</summary>
    private static double EnrichPerSecond(ConnectionEnricher enricher, EnrichmentOptions options, List<IPAddress> addresses, out int found, out double perCpuSecond)
    {
        // Snapshot-sized batches of rows, each made just before it is enriched (as a snapshot makes its
        // rows), outside the timing: the rows' own cost is the platform's, not geo's.
        var batches = new List<List<ConnectionRecord>>();
        var warnings = new List<string>();
        double wall = 0, cpuTime = 0;
        for (int i = 0; i < addresses.Count; i += 10000)
        {
            var batch = Rows(addresses.Skip(i).Take(10000));
            batches.Add(batch);
            var cpu = CpuSeconds();
            var sw = Stopwatch.StartNew();
            enricher.Classify(batch, options, warnings);
            wall += sw.Elapsed.TotalSeconds;
            cpuTime += CpuSeconds() - cpu;
        }
        double perSecond = addresses.Count / wall;
        perCpuSecond = addresses.Count / cpuTime;
        found = batches.Sum(b => b.Count(r => r.Country != null));
        return perSecond;
    }

    /// <summary>CPU time of this thread (Linux: nanoseconds on a CPU from /proc/thread-self/schedstat), else of the process.</summary>
    private static double CpuSeconds()
    {
        if (File.Exists("/proc/thread-self/schedstat"))
            return long.Parse(File.ReadAllText("/proc/thread-self/schedstat").Split(' ')[0]) / 1e9;
        using var p = Process.GetCurrentProcess();
        return p.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>GeoLocator.Lookup(IPAddress[], …) 64 addresses a call (the enricher's group), addresses per second of wall time.</summary>
    private static double LookupManyPerSecond(GeoLocator geo, List<IPAddress> addresses)
    {
        var group = new IPAddress[64];
        var answers = new GeoInfo[64];
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < addresses.Count; i += group.Length)
        {
            int n = Math.Min(group.Length, addresses.Count - i);
            addresses.CopyTo(i, group, 0, n);
            geo.Lookup(group, n, answers);
        }
        return addresses.Count / sw.Elapsed.TotalSeconds;
    }

    private static double LookupPerSecond(GeoLocator geo, List<IPAddress> addresses)
    {
        var sw = Stopwatch.StartNew();
        foreach (var a in addresses) geo.Lookup(a);
        return addresses.Count / sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Resident bytes of the process, and the part that is private to it (anonymous memory plus
    /// shared-memory mappings such as an anonymous MemoryMappedFile), after a full collection;
    /// Windows: working set and private bytes. And the managed heap's size (GC.GetTotalMemory).
    /// </summary>
    private static (long Rss, long Private, long Heap) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long heap = GC.GetTotalMemory(false); // (after the collections above: another would change what the RSS figures compare)
        if (!OperatingSystem.IsLinux())
        {
            using var p = Process.GetCurrentProcess();
            return (p.WorkingSet64, p.PrivateMemorySize64, heap);
        }
        long rss = 0, own = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:")) rss = Kilobytes(line);
            else if (line.StartsWith("RssAnon:") || line.StartsWith("RssShmem:")) own += Kilobytes(line);
        }
        return (rss, own, heap);
    }

    private static long Kilobytes(string statusLine) =>
        long.Parse(statusLine.Substring(statusLine.IndexOf(':') + 1).Trim().Split(' ')[0]) * 1024;

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
