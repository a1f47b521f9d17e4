using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using YamlDotNet.Serialization;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>
    /// A platform that replays a recorded sequence of connection tables instead of reading the OS:
    /// each table read returns the next recorded sample (the last one repeats), stamped with its
    /// recorded time, so rates and changes come out exactly as recorded. For demonstrations, bug
    /// reports and tests of everything above the platform. The file is YAML or JSON:
    /// <code>
    /// processes:
    ///   - { pid: 100, name: web, path: /usr/bin/web, user: www }
    /// samples:
    ///   - t: 0                     # seconds after the first sample
    ///     rows:
    ///       - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50000,
    ///           state: Established, pid: 100, sent: 0, received: 0, inode: 1 }
    /// </code>
    /// Thread-safe.
    /// </summary>
    public sealed class ReplayPlatform : IPlatform, IConnectionTable, IProcessCatalog
    {
        /// <summary>The time of the first sample: a fixed UTC instant, so replays are reproducible.</summary>
        public static readonly DateTime Epoch = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        private readonly List<(DateTime Time, List<SocketEntry> Rows)> _samples;
        private readonly Dictionary<int, ProcessInfo> _processes;
        private readonly object _gate = new object();
        private int _next;

        private ReplayPlatform(List<(DateTime, List<SocketEntry>)> samples, Dictionary<int, ProcessInfo> processes)
        {
            _samples = samples;
            _processes = processes;
        }

        /// <summary>
        /// Reads a replay file. Throws <see cref="InvalidDataException"/> naming the sample, row and
        /// field that is wrong, and <see cref="IOException"/> when the file cannot be read.
        /// </summary>
        public static ReplayPlatform Load(string path) => Parse(File.ReadAllText(path), path);

        /// <summary>As <see cref="Load"/>, from text; <paramref name="source"/> names it in errors.</summary>
        public static ReplayPlatform Parse(string text, string source = "replay")
        {
            ReplayFile file;
            try
            {
                file = new DeserializerBuilder().Build().Deserialize<ReplayFile>(text) ?? new ReplayFile();
            }
            catch (YamlDotNet.Core.YamlException ex)
            {
                throw new InvalidDataException(source + ": not a replay file (" + ex.Message + ")", ex);
            }
            if (file.samples == null || file.samples.Count == 0) throw new InvalidDataException(source + ": no samples.");
            var processes = new Dictionary<int, ProcessInfo>();
            foreach (var p in file.processes ?? new List<ReplayProcess>())
                processes[p.pid] = new ProcessInfo(p.pid, p.name, p.path, p.user, null);
            var samples = new List<(DateTime, List<SocketEntry>)>();
            double last = double.NegativeInfinity;
            for (int i = 0; i < file.samples.Count; i++)
            {
                var s = file.samples[i];
                if (s.t < last) throw new InvalidDataException(source + ": sample " + (i + 1) + " has t " + s.t.ToString(CultureInfo.InvariantCulture) + ", earlier than the sample before it.");
                last = s.t;
                var rows = new List<SocketEntry>();
                int n = 0;
                foreach (var r in s.rows ?? new List<ReplayRow>())
                {
                    n++;
                    rows.Add(ToEntry(r, source + ": sample " + (i + 1) + ", row " + n));
                }
                samples.Add((Epoch.AddSeconds(s.t), rows));
            }
            return new ReplayPlatform(samples, processes);
        }

        private static SocketEntry ToEntry(ReplayRow r, string where)
        {
            TransportProtocol protocol;
            if (string.Equals(r.protocol, "TCP", StringComparison.OrdinalIgnoreCase)) protocol = TransportProtocol.Tcp;
            else if (string.Equals(r.protocol, "UDP", StringComparison.OrdinalIgnoreCase)) protocol = TransportProtocol.Udp;
            else throw new InvalidDataException(where + ": protocol must be TCP or UDP, not '" + r.protocol + "'.");
            TcpState? state = null;
            if (!string.IsNullOrEmpty(r.state))
            {
                if (!Enum.TryParse(r.state, true, out TcpState parsed) || !Enum.IsDefined(typeof(TcpState), parsed))
                    throw new InvalidDataException(where + ": state '" + r.state + "' is not a TCP state (Listen, Established, TimeWait ...).");
                state = parsed;
            }
            return new SocketEntry
            {
                Protocol = protocol,
                LocalAddress = Address(r.local, where, "local") ?? throw new InvalidDataException(where + ": local address missing."),
                LocalPort = r.localPort,
                RemoteAddress = Address(r.remote, where, "remote"),
                RemotePort = r.remotePort,
                State = state,
                ProcessId = r.pid,
                Inode = r.inode,
                BytesSent = r.sent,
                BytesReceived = r.received,
            };
        }

        private static IPAddress Address(string text, string where, string field)
        {
            if (string.IsNullOrEmpty(text)) return null;
            if (!IPAddress.TryParse(text, out var a)) throw new InvalidDataException(where + ": " + field + " '" + text + "' is not an IP address.");
            return a;
        }

        /// <summary>Samples in the file.</summary>
        public int SampleCount => _samples.Count;

        /// <summary>Table reads so far (each returned one sample).</summary>
        public int Reads
        {
            get { lock (_gate) return _next; }
        }

        /// <summary>"Replay".</summary>
        public string Name => "Replay";

        /// <summary>This object: each read returns the next recorded sample.</summary>
        public IConnectionTable Connections => this;

        /// <summary>This object: the file's processes section.</summary>
        public IProcessCatalog Processes => this;

        /// <summary>Null: a recording has no closing reports.</summary>
        public IClosedConnectionFeed ClosedConnections => null;

        /// <summary>Null: a recording has no interfaces (VPN detection then cannot tell: IsVpn stays null).</summary>
        public INetworkInterfaceCatalog Interfaces => null;

        /// <summary>The next recorded sample (the last one again once they run out), cut to the protocols asked for.</summary>
        public ConnectionTableResult Read(ConnectionQuery request)
        {
            (DateTime Time, List<SocketEntry> Rows) sample;
            lock (_gate) sample = _samples[Math.Min(_next++, _samples.Count - 1)];
            var rows = new List<SocketEntry>(sample.Rows.Count);
            foreach (var e in sample.Rows)
            {
                if (request != null && (!request.Reads(e.Protocol) || (e.LocalAddress != null && !request.Reads(e.LocalAddress.AddressFamily)))) continue;
                rows.Add(Copy(e));
            }
            return new ConnectionTableResult(rows, new string[0]) { TimeStampUtc = sample.Time };
        }

        /// <summary>The recorded processes among those asked for.</summary>
        public IReadOnlyDictionary<int, ProcessInfo> Lookup(IReadOnlyCollection<int> processIds)
        {
            var found = new Dictionary<int, ProcessInfo>();
            foreach (var pid in processIds)
                if (_processes.TryGetValue(pid, out var p)) found[pid] = p;
            return found;
        }

        private static SocketEntry Copy(SocketEntry e) => new SocketEntry
        {
            Protocol = e.Protocol, LocalAddress = e.LocalAddress, LocalPort = e.LocalPort, RemoteAddress = e.RemoteAddress,
            RemotePort = e.RemotePort, State = e.State, ProcessId = e.ProcessId, Inode = e.Inode, UserId = e.UserId,
            CreationTime = e.CreationTime, BytesSent = e.BytesSent, BytesReceived = e.BytesReceived,
        };

        // YAML shapes (lower-case to match the file's keys with the default naming convention).
#pragma warning disable IDE1006
        private sealed class ReplayFile
        {
            public List<ReplayProcess> processes { get; set; }
            public List<ReplaySample> samples { get; set; }
        }

        private sealed class ReplayProcess
        {
            public int pid { get; set; }
            public string name { get; set; }
            public string path { get; set; }
            public string user { get; set; }
        }

        private sealed class ReplaySample
        {
            public double t { get; set; }
            public List<ReplayRow> rows { get; set; }
        }

        private sealed class ReplayRow
        {
            public string protocol { get; set; }
            public string local { get; set; }
            public int localPort { get; set; }
            public string remote { get; set; }
            public int? remotePort { get; set; }
            public string state { get; set; }
            public int? pid { get; set; }
            public ulong? inode { get; set; }
            public long? sent { get; set; }
            public long? received { get; set; }
        }
#pragma warning restore IDE1006
    }
}
