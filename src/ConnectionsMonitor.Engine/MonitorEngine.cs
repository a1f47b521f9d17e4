using System;
using System.Collections.Generic;
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

        public MonitorEngine(IPlatform platform)
        {
            _platform = platform ?? throw new ArgumentNullException(nameof(platform));
        }

        public IPlatform Platform => _platform;

        /// <summary>
        /// Takes a snapshot of the connections that satisfy every filter given (null filters are
        /// skipped). Cheap row criteria run before process lookup so only owners of kept rows are
        /// looked up.
        /// </summary>
        public ConnectionSnapshot TakeSnapshot(params ConnectionQuery[] filters)
        {
            var active = new List<ConnectionQuery>();
            if (filters != null)
                foreach (var f in filters) if (f != null) active.Add(f);

            var request = BuildRequest(active);
            ConnectionTableResult table;
            IReadOnlyDictionary<int, ProcessInfo> processes;
            var kept = new List<(SocketEntry Entry, ConnectionKey Key, double? Send, double? Receive)>();
            DateTime now;
            lock (_gate)
            {
                table = _platform.Connections.Read(request);
                now = DateTime.UtcNow;
                // Rates follow every connection read, not only the ones this call keeps, so calls with
                // different filters do not reset each other's samples. A read narrowed by protocol
                // does not see the other protocol's connections: leave their samples alone then.
                bool fullRead = request.IncludeTcp && request.IncludeUdp && request.IncludeIPv4 && request.IncludeIPv6;
                if (fullRead) _rates.BeginRead();
                var pids = new HashSet<int>();
                foreach (var e in table.Entries)
                {
                    var key = ConnectionKey.Of(e);
                    var (send, receive) = _rates.Observe(key, e.BytesSent, e.BytesReceived, now);
                    if (!MatchesRows(active, e)) continue;
                    kept.Add((e, key, send, receive));
                    if (e.ProcessId != null) pids.Add(e.ProcessId.Value);
                }
                if (fullRead) _rates.EndRead();
                processes = pids.Count == 0 ? EmptyProcesses : _platform.Processes.Lookup(pids);
            }

            var records = new List<ConnectionRecord>(kept.Count);
            foreach (var (e, key, send, receive) in kept)
            {
                var record = ToRecord(e, key, processes, active);
                if (record == null) continue;
                record.SendRate = send;
                record.ReceiveRate = receive;
                records.Add(record);
            }
            return new ConnectionSnapshot(now, records, table.Warnings);
        }

        /// <summary>
        /// Records for rows that did not come from a table read (connections the platform saw close),
        /// with their owners looked up and the same filters applied.
        /// </summary>
        public IReadOnlyList<ConnectionRecord> Describe(IReadOnlyList<SocketEntry> entries, params ConnectionQuery[] filters)
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
            foreach (var e in rows)
            {
                var record = ToRecord(e, ConnectionKey.Of(e), processes, active);
                if (record != null) records.Add(record);
            }
            return records;
        }

        private static ConnectionRecord ToRecord(SocketEntry e, ConnectionKey key, IReadOnlyDictionary<int, ProcessInfo> processes, List<ConnectionQuery> filters)
        {
            ProcessInfo p = null;
            if (e.ProcessId != null) processes.TryGetValue(e.ProcessId.Value, out p);
            if (!MatchesProcesses(filters, p?.Name)) return null;
            return new ConnectionRecord
            {
                Key = key,
                Protocol = e.Protocol,
                LocalAddress = e.LocalAddress,
                LocalPort = e.LocalPort,
                RemoteAddress = e.RemoteAddress,
                RemotePort = e.RemotePort,
                State = e.State,
                ProcessId = e.ProcessId,
                ProcessName = p?.Name,
                ProcessPath = p?.Path,
                UserName = p?.UserName,
                CreationTime = e.CreationTime,
                BytesSent = e.BytesSent,
                BytesReceived = e.BytesReceived,
            };
        }

        private static readonly IReadOnlyDictionary<int, ProcessInfo> EmptyProcesses = new Dictionary<int, ProcessInfo>();

        private static ConnectionTableRequest BuildRequest(List<ConnectionQuery> filters)
        {
            var request = new ConnectionTableRequest();
            foreach (var f in filters)
            {
                if (f.Protocols != null && f.Protocols.Count > 0)
                {
                    request.IncludeTcp &= f.Protocols.Contains(TransportProtocol.Tcp);
                    request.IncludeUdp &= f.Protocols.Contains(TransportProtocol.Udp);
                }
                // A TCP state filter can never match UDP rows (they have no state).
                if (f.States != null && f.States.Count > 0) request.IncludeUdp = false;
            }
            return request;
        }

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
            (_platform as IDisposable)?.Dispose();
        }
    }
}
