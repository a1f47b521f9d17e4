using System;
using System.Collections.Generic;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;

namespace ConnectionsMonitor.Engine
{
    /// <summary>One read of the connection table with owners attached, filtered.</summary>
    public sealed class ConnectionSnapshot
    {
        public ConnectionSnapshot(DateTime timeStampUtc, IReadOnlyList<ConnectionRecord> connections, IReadOnlyList<string> warnings)
        {
            TimeStampUtc = timeStampUtc;
            Connections = connections;
            Warnings = warnings;
        }

        public DateTime TimeStampUtc { get; }
        public IReadOnlyList<ConnectionRecord> Connections { get; }

        /// <summary>Partial-data conditions (missing privilege, fallbacks) to tell the user once.</summary>
        public IReadOnlyList<string> Warnings { get; }
    }

    /// <summary>
    /// The engine's front door: reads the platform's connection table, attaches owning processes and
    /// applies filters. Long-lived: the platform's caches (socket owners, process details) make
    /// repeated snapshots cheap. Thread-safe; snapshots are serialised.
    /// </summary>
    public sealed class MonitorEngine : IDisposable
    {
        private readonly IPlatform _platform;
        private readonly object _gate = new object();
        private readonly Traffic.RateTracker _rates = new Traffic.RateTracker();
        private readonly ConnectionEnricher _enricher;

        /// <param name="bundledGeoDirectory">The folder of the GeoIP databases shipped with the module (null: none).</param>
        public MonitorEngine(IPlatform platform, string bundledGeoDirectory = null)
        {
            _platform = platform ?? throw new ArgumentNullException(nameof(platform));
            _enricher = new ConnectionEnricher(_platform.Interfaces, bundledGeoDirectory);
        }

        public IPlatform Platform => _platform;

        private Platform.ClosedConnectionReaders _closedReaders;

        /// <summary>
        /// A reader of the platform's closed-connection feed of its own (the sampler and traffic windows each
        /// open one, so neither takes the other's reports); null where the platform reports no closings.
        /// Dispose it when done.
        /// </summary>
        internal Platform.ClosedConnectionReaders.Reader OpenClosedConnections()
        {
            var feed = _platform.ClosedConnections;
            if (feed == null) return null;
            // Not under _gate: that lock is held for whole table reads.
            System.Threading.Interlocked.CompareExchange(ref _closedReaders, new Platform.ClosedConnectionReaders(feed), null);
            return _closedReaders.Open();
        }

        /// <summary>The session's GeoIP lookups (shared by every snapshot).</summary>
        public Enrichment.Geo.GeoLocator Geo => _enricher.Geo;

        /// <summary>A snapshot with the default enrichment (the built-in configuration's).</summary>
        public ConnectionSnapshot TakeSnapshot(params ConnectionQuery[] filters) => TakeSnapshot(EnrichmentOptions.Default, filters);

        /// <summary>
        /// Takes a snapshot of the connections that satisfy every filter given (null filters are
        /// skipped). Cheap row criteria run before process lookup so only owners of kept rows are
        /// looked up. Every read updates the engine's per-connection memory (rates since the previous
        /// read, at least <see cref="MinSnapshotWindow"/> back; first sighting); see <see cref="Peek"/> for a read that leaves it alone. While
        /// <see cref="SamplerKeepsWindows"/> says the session's sampler is reading, the rates are the
        /// sampler's latest window's instead and no window starts here (counters, states and first
        /// sightings are still this read's).
        /// </summary>
        public ConnectionSnapshot TakeSnapshot(EnrichmentOptions enrichment, params ConnectionQuery[] filters) =>
            Read(enrichment, filters, observe: true, sameWindow: SamplerKeepsWindows?.Invoke() == true, minWindow: MinSnapshotWindow);

        /// <summary>
        /// The shortest rate window a snapshot starts: a connection whose window began less than this before carries that
        /// window's rates and the window goes on (two calls back to back would otherwise divide a few milliseconds' bytes by
        /// a few milliseconds). The sampler's windows follow its own rule.
        /// </summary>
        public static readonly TimeSpan MinSnapshotWindow = TimeSpan.FromMilliseconds(500);

        /// <summary>
        /// Set by the session: true while its background sampler runs and has read the table at least once. Rates are
        /// then the sampler's: every other observing read (a snapshot, a traffic window's two reads) carries the rates of
        /// the sampler's latest window and starts none, so a script's call between two samples neither gets a rate over the
        /// few milliseconds since the last sample (0, or many times the real rate) nor cuts the next sample's window
        /// short for the dashboard, the live view and the alert rules. Null: every read starts a window.
        /// </summary>
        internal Func<bool> SamplerKeepsWindows { get; set; }

        /// <summary>
        /// The session's sampler's read: a new rate window starts, except with <paramref name="sameWindow"/> (a second read
        /// of the same moment, once per enrichment in one tick; or a tick too soon after the latest window began), whose
        /// rows carry the rates of the window the previous read ended. A connection whose window began less than
        /// <see cref="MinSnapshotWindow"/> ago carries that window's rates too: the sampler's first read, started just after a
        /// snapshot of the caller's (Get-MonitoredConnection, then the live view), would otherwise give rates over a tenth of
        /// a second (0, or several times the real one; a newcomer's trial saw 1.3MB/s for a 500KB/s flow, 0B/s for others).
        /// </summary>
        internal ConnectionSnapshot TakeSamplerSnapshot(EnrichmentOptions enrichment, bool sameWindow) =>
            Read(enrichment, new ConnectionQuery[0], observe: true, sameWindow: sameWindow, minWindow: MinSnapshotWindow);

        /// <summary>
        /// A read for read-only helpers (tab completion): owners attached, the enrichment given
        /// applied, but the per-connection memory is neither read nor changed, so rates and ages of
        /// the next <see cref="TakeSnapshot(EnrichmentOptions, ConnectionQuery[])"/> do not depend on
        /// it. Rows carry no rates and no first sighting. Reverse DNS is never asked.
        /// </summary>
        public ConnectionSnapshot Peek(EnrichmentOptions enrichment, params ConnectionQuery[] filters)
        {
            if (enrichment == null) throw new ArgumentNullException(nameof(enrichment));
            var noDns = new EnrichmentOptions { Geo = enrichment.Geo, Vpn = enrichment.Vpn };
            return Read(noDns, filters, observe: false);
        }

        private ConnectionSnapshot Read(EnrichmentOptions enrichment, ConnectionQuery[] filters, bool observe, bool sameWindow = false, TimeSpan minWindow = default)
        {
            if (enrichment == null) throw new ArgumentNullException(nameof(enrichment));
            var active = new List<ConnectionQuery>();
            if (filters != null)
                foreach (var f in filters) if (f != null) active.Add(f);

            var scope = ConnectionQuery.ReadScope(active);
            // A peek (completion, the import's preparation) shows no traffic: it starts no counters
            // where they cost a system resource (Windows ETW), and its rows are not kept.
            if (!observe) scope.IncludeByteCounts = false;
            ConnectionTableResult table;
            IReadOnlyDictionary<int, ProcessInfo> processes;
            // One record per kept row, made here with its rates (no list of intermediate rows: at 10,000 connections
            // that was a megabyte on the large-object heap every read); owners are filled in once they are looked up.
            List<ConnectionRecord> records;
            DateTime now;
            lock (_gate)
            {
                table = _platform.Connections.Read(scope);
                records = new List<ConnectionRecord>(table.Entries.Count);
                now = table.TimeStampUtc ?? DateTime.UtcNow;
                // Rates follow every connection read, not only the ones this call keeps, so calls with
                // different filters do not reset each other's samples. A read narrowed by protocol
                // does not see the other protocol's connections: leave their samples alone then.
                bool bothFamilies = scope.Reads(AddressFamily.InterNetwork) && scope.Reads(AddressFamily.InterNetworkV6);
                bool fullRead = observe && scope.Reads(TransportProtocol.Tcp) && scope.Reads(TransportProtocol.Udp) && bothFamilies;
                if (fullRead) _rates.BeginRead();
                if (observe)
                {
                    _rates.StartObserving();
                    _rates.Expect(table.Entries.Count);
                }
                var pids = new HashSet<int>();
                foreach (var e in table.Entries)
                {
                    var key = ConnectionKey.Of(e);
                    double? send = null, receive = null;
                    DateTime firstSeen = default;
                    bool lowerBound = false;
                    if (observe)
                        (send, receive) = _rates.Observe(key, e.BytesSent, e.BytesReceived, now, sameWindow, minWindow,
                            e.Protocol == TransportProtocol.Tcp && e.State == TcpState.Closed, out firstSeen, out lowerBound);
                    if (!MatchesRows(active, e)) continue;
                    var record = ToRecord(e, key);
                    record.SendRate = send;
                    record.ReceiveRate = receive;
                    if (observe)
                    {
                        record.FirstSeenUtc = firstSeen;
                        record.FirstSeenIsLowerBound = lowerBound;
                    }
                    records.Add(record);
                    if (e.ProcessId != null) pids.Add(e.ProcessId.Value);
                }
                // A read that left bound-but-inactive sockets out (Linux, unless a query names the Closed state) does not make them gone,
                // nor does it count as having looked for new ones.
                if (fullRead) _rates.EndRead(keepUnseenBound: table.LeftOutBoundSockets);
                if (observe && bothFamilies)
                {
                    if (scope.Reads(TransportProtocol.Tcp)) _rates.MarkBaseline(TransportProtocol.Tcp, now);
                    if (scope.Reads(TransportProtocol.Tcp) && !table.LeftOutBoundSockets) _rates.MarkBoundBaseline(now);
                    if (scope.Reads(TransportProtocol.Udp)) _rates.MarkBaseline(TransportProtocol.Udp, now);
                }
                processes = pids.Count == 0 ? EmptyProcesses : _platform.Processes.Lookup(pids);
            }

            records = AttachOwners(records, processes, active);
            var warnings = new List<string>(table.Warnings);
            return new ConnectionSnapshot(now, Enrich(records, enrichment, active, warnings), warnings);
        }

        /// <summary>
        /// Classifies rows of an earlier read (<see cref="Peek"/>) as a snapshot with this enrichment
        /// would — scope, geo, VPN; never reverse DNS — so that what the first real snapshot would load
        /// (GeoIP databases, only when a row has a public remote address; the VPN rules' interface map)
        /// and compile is ready before it. The rows are changed; problems are dropped (the snapshot that
        /// meets them reports them). Leaves the per-connection memory alone.
        /// </summary>
        public void PrepareEnrichment(IReadOnlyList<ConnectionRecord> rows, EnrichmentOptions enrichment)
        {
            if (rows == null) throw new ArgumentNullException(nameof(rows));
            if (enrichment == null) throw new ArgumentNullException(nameof(enrichment));
            _enricher.Classify(rows, new EnrichmentOptions { Geo = enrichment.Geo, Vpn = enrichment.Vpn }, new List<string>());
        }

        /// <summary>
        /// Scope, geo and VPN for every record, then the filters that need them (country), then
        /// reverse DNS for what is left, so DNS is asked only about connections the caller keeps.
        /// </summary>
        private List<ConnectionRecord> Enrich(List<ConnectionRecord> records, EnrichmentOptions enrichment, List<ConnectionQuery> filters, List<string> warnings)
        {
            _enricher.Classify(records, enrichment, warnings);
            bool byCountry = false;
            foreach (var f in filters) byCountry |= f.Countries != null && f.Countries.Count > 0;
            if (byCountry)
            {
                if (enrichment.Geo == null)
                    warnings.Add("Country filters match nothing: GeoIP is off (geoip.enabled is false in config.yml).");
                records = records.FindAll(r => MatchesEnriched(filters, r));
            }
            _enricher.Resolve(records, enrichment, warnings);
            return records;
        }

        private static bool MatchesEnriched(List<ConnectionQuery> filters, ConnectionRecord r)
        {
            foreach (var f in filters) if (!f.MatchesEnriched(r)) return false;
            return true;
        }

        /// <summary>
        /// Records for rows that did not come from a table read (connections the platform saw close),
        /// with their owners looked up and the same filters applied.
        /// </summary>
        public IReadOnlyList<ConnectionRecord> Describe(IReadOnlyList<SocketEntry> entries, params ConnectionQuery[] filters) =>
            Describe(entries, EnrichmentOptions.Default, filters);

        /// <summary>As <see cref="Describe(IReadOnlyList{SocketEntry}, ConnectionQuery[])"/>, enriched as asked; enrichment problems are dropped (the snapshots around them report the same ones).</summary>
        public IReadOnlyList<ConnectionRecord> Describe(IReadOnlyList<SocketEntry> entries, EnrichmentOptions enrichment, params ConnectionQuery[] filters)
        {
            var active = new List<ConnectionQuery>();
            if (filters != null)
                foreach (var f in filters) if (f != null) active.Add(f);
            var rows = new List<SocketEntry>();
            var pids = new HashSet<int>();
            foreach (var e in entries)
            {
                if (!MatchesRows(active, e)) continue;
                rows.Add(e);
                if (e.ProcessId != null) pids.Add(e.ProcessId.Value);
            }
            IReadOnlyDictionary<int, ProcessInfo> processes;
            lock (_gate) processes = pids.Count == 0 ? EmptyProcesses : _platform.Processes.Lookup(pids);
            var records = new List<ConnectionRecord>(rows.Count);
            foreach (var e in rows) records.Add(ToRecord(e, ConnectionKey.Of(e)));
            return Enrich(AttachOwners(records, processes, active), enrichment, active, new List<string>());
        }

        private static ConnectionRecord ToRecord(SocketEntry e, ConnectionKey key) => new ConnectionRecord
        {
            Key = key,
            Protocol = e.Protocol,
            LocalAddress = e.LocalAddress,
            LocalPort = e.LocalPort,
            RemoteAddress = e.RemoteAddress,
            RemotePort = e.RemotePort,
            State = e.State,
            ProcessId = e.ProcessId,
            CreationTime = e.CreationTime,
            BytesSent = e.BytesSent,
            BytesReceived = e.BytesReceived,
        };

        /// <summary>
        /// Fills each record's process name, path and user from the owners looked up, and drops the records whose
        /// process the filters do not take (the list is compacted in place; no copy when every record stays).
        /// </summary>
        private static List<ConnectionRecord> AttachOwners(List<ConnectionRecord> records, IReadOnlyDictionary<int, ProcessInfo> processes, List<ConnectionQuery> filters)
        {
            int kept = 0;
            for (int i = 0; i < records.Count; i++)
            {
                var r = records[i];
                ProcessInfo p = null;
                if (r.ProcessId != null) processes.TryGetValue(r.ProcessId.Value, out p);
                if (!MatchesProcesses(filters, p?.Name)) continue;
                r.ProcessName = p?.Name;
                r.ProcessPath = p?.Path;
                r.UserName = p?.UserName;
                records[kept++] = r;
            }
            if (kept < records.Count) records.RemoveRange(kept, records.Count - kept);
            return records;
        }

        private static readonly IReadOnlyDictionary<int, ProcessInfo> EmptyProcesses = new Dictionary<int, ProcessInfo>();

        private static bool MatchesRows(List<ConnectionQuery> filters, SocketEntry e)
        {
            foreach (var f in filters) if (!f.MatchesRow(e)) return false;
            return true;
        }

        private static bool MatchesProcesses(List<ConnectionQuery> filters, string name)
        {
            foreach (var f in filters) if (!f.MatchesProcess(name)) return false;
            return true;
        }

        public void Dispose()
        {
            _enricher.Dispose();
            (_platform as IDisposable)?.Dispose();
        }
    }
}
