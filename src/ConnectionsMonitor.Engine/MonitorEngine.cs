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
            var kept = new List<SocketEntry>();
            lock (_gate)
            {
                table = _platform.Connections.Read(request);
                var pids = new HashSet<int>();
                foreach (var e in table.Entries)
                {
                    if (!MatchesRows(active, e)) continue;
                    kept.Add(e);
                    if (e.ProcessId != null) pids.Add(e.ProcessId.Value);
                }
                processes = pids.Count == 0 ? EmptyProcesses : _platform.Processes.Lookup(pids);
            }

            var now = DateTime.UtcNow;
            var records = new List<ConnectionRecord>(kept.Count);
            foreach (var e in kept)
            {
                ProcessInfo p = null;
                if (e.ProcessId != null) processes.TryGetValue(e.ProcessId.Value, out p);
                if (!MatchesProcesses(active, p?.Name)) continue;
                records.Add(new ConnectionRecord
                {
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
                });
            }
            return new ConnectionSnapshot(now, records, table.Warnings);
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
