using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using DnsClient;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// A real dnsmasq in the foreground on 127.0.0.1 and a high port, answering PTR queries from a hosts file of
    /// its own ("10.1.2.3 host-a.test" lines, IPv4 and IPv6) and NXDOMAIN for every other reverse name. It logs
    /// each query it receives, so tests count what the server saw rather than what the client says it sent.
    /// The constructor returns once dnsmasq answers; Dispose kills it. A missing dnsmasq fails the test (with the
    /// package to install), it does not skip it.
    /// </summary>
    public sealed class DnsmasqServer : IDisposable
    {
        private readonly string _hostsFile;
        private readonly List<string> _log = new List<string>();
        private Process _process;
        private int _syncCounter;

        /// <param name="hosts">The hosts file's text (address, then names).</param>
        /// <param name="port">The port to listen on (UDP and TCP); 0 picks a free one (and picks again if another process takes it first).</param>
        /// <param name="extraArguments">More dnsmasq options, e.g. "--local-ttl=2" or "--ptr-record=NAME,TARGET".</param>
        public DnsmasqServer(string hosts, int port = 0, IEnumerable<string> extraArguments = null)
        {
            string executable = FindExecutable() ?? throw new InvalidOperationException(
                "dnsmasq is not installed; the DNS tests need it (apt-get install -y dnsmasq-base).");
            // Not in a private temporary folder: dnsmasq reads the file after dropping to the 'nobody' user.
            _hostsFile = Path.Combine(Path.GetTempPath(), "cm-dnsmasq-hosts-" + Guid.NewGuid().ToString("N"));
            File.WriteAllText(_hostsFile, hosts ?? "");
            var extra = (extraArguments ?? Enumerable.Empty<string>()).ToList();
            for (int attempt = 1; ; attempt++)
            {
                Port = port == 0 ? FreePort() : port;
                Launch(executable, extra);
                try
                {
                    WaitUntilAnswering();
                    return;
                }
                catch (InvalidOperationException) when (port == 0 && attempt < 3 && Log.Any(line => line.Contains("Address already in use")))
                {
                    StopProcess();
                    lock (_log) _log.Clear();
                }
                catch
                {
                    Dispose();
                    throw;
                }
            }
        }

        public int Port { get; private set; }

        private void Launch(string executable, IEnumerable<string> extraArguments)
        {
            var psi = new ProcessStartInfo(executable)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in new[]
            {
                "--keep-in-foreground", "--conf-file=/dev/null", "--port=" + Port, "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--addn-hosts=" + _hostsFile,
                "--local=/in-addr.arpa/", "--local=/ip6.arpa/", "--pid-file=", "--user=nobody",
                "--log-queries", "--log-facility=-",
            }.Concat(extraArguments))
                psi.ArgumentList.Add(argument);

            _process = Process.Start(psi);
            _process.OutputDataReceived += (_, e) => Record(e.Data);
            _process.ErrorDataReceived += (_, e) => Record(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public IPEndPoint EndPoint => new IPEndPoint(IPAddress.Loopback, Port);

        /// <summary>dnsmasq's output so far (start-up lines and one "query[...]" line per query received).</summary>
        public IReadOnlyList<string> Log
        {
            get { lock (_log) return _log.ToList(); }
        }

        /// <summary>
        /// How many PTR queries for <paramref name="address"/> dnsmasq has received. Waits first until dnsmasq has
        /// logged a query sent after this call began, so no earlier query is still on its way into the log.
        /// </summary>
        public int PtrQueriesFor(IPAddress address)
        {
            Sync();
            string needle = "query[PTR] " + address.GetArpaName().TrimEnd('.') + " from ";
            lock (_log) return _log.Count(line => line.Contains(needle));
        }

        /// <summary>Every PTR query dnsmasq has received, by reverse name (after the same wait as <see cref="PtrQueriesFor"/>).</summary>
        public int PtrQueryCount()
        {
            Sync();
            lock (_log) return _log.Count(line => line.Contains("query[PTR] ") && !line.Contains(".sync.in-addr.arpa"));
        }

        /// <summary>dnsmasq handles queries one at a time and logs them in order: once a fresh marker query shows in the log, every earlier one does.</summary>
        private void Sync()
        {
            string marker = "m" + Interlocked.Increment(ref _syncCounter) + ".sync.in-addr.arpa";
            var client = Client(TimeSpan.FromSeconds(2));
            var stop = Stopwatch.StartNew();
            bool answered = false;
            while (!answered && stop.Elapsed < TimeSpan.FromSeconds(10))
            {
                try { client.Query(marker, QueryType.PTR); answered = true; }
                catch (DnsResponseException) { }
            }
            lock (_log)
            {
                while (stop.Elapsed < TimeSpan.FromSeconds(15))
                {
                    if (_log.Any(line => line.Contains(marker))) return;
                    Monitor.Wait(_log, 100);
                }
            }
            throw new TimeoutException("dnsmasq did not log the marker query " + marker + ":\n" + string.Join("\n", Log));
        }

        private void WaitUntilAnswering()
        {
            var client = Client(TimeSpan.FromMilliseconds(300));
            var stop = Stopwatch.StartNew();
            while (stop.Elapsed < TimeSpan.FromSeconds(15))
            {
                if (_process.HasExited)
                {
                    _process.WaitForExit(); // drains the output readers
                    throw new InvalidOperationException("dnsmasq exited with code " + _process.ExitCode + ":\n" + string.Join("\n", Log));
                }
                try
                {
                    client.Query("ready.sync.in-addr.arpa", QueryType.PTR);
                    return;
                }
                catch (DnsResponseException)
                {
                    Thread.Sleep(50);
                }
            }
            throw new TimeoutException("dnsmasq did not answer on port " + Port + " within 15 s:\n" + string.Join("\n", Log));
        }

        private LookupClient Client(TimeSpan timeout) =>
            new LookupClient(new LookupClientOptions(new NameServer(IPAddress.Loopback, Port))
            {
                UseCache = false, Retries = 0, Timeout = timeout, ThrowDnsErrors = false, UseTcpFallback = false,
            });

        private void Record(string line)
        {
            if (line == null) return;
            lock (_log)
            {
                _log.Add(line);
                Monitor.PulseAll(_log);
            }
        }

        /// <summary>A loopback port free for both UDP and TCP right now.</summary>
        public static int FreePort()
        {
            for (int attempt = 0; attempt < 50; attempt++)
            {
                using (var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
                {
                    udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                    int port = ((IPEndPoint)udp.LocalEndPoint).Port;
                    using (var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
                    {
                        try { tcp.Bind(new IPEndPoint(IPAddress.Loopback, port)); }
                        catch (SocketException) { continue; }
                    }
                    return port;
                }
            }
            throw new InvalidOperationException("found no loopback port free for both UDP and TCP");
        }

        /// <summary>The dnsmasq executable: on PATH, or in the sbin folders a non-root PATH may lack.</summary>
        public static string FindExecutable()
        {
            var folders = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
                .Concat(new[] { "/usr/sbin", "/sbin", "/usr/local/sbin" });
            return folders.Where(f => f.Length > 0).Select(f => Path.Combine(f, "dnsmasq")).FirstOrDefault(File.Exists);
        }

        private void StopProcess()
        {
            if (_process == null) return;
            try
            {
                if (!_process.HasExited) _process.Kill();
                _process.WaitForExit();
            }
            catch (InvalidOperationException) { }
            _process.Dispose();
            _process = null;
        }

        /// <summary>Kills dnsmasq and deletes its hosts file.</summary>
        public void Dispose()
        {
            StopProcess();
            try { File.Delete(_hostsFile); } catch (IOException) { }
        }
    }
}
