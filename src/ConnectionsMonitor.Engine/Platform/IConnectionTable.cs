using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>The rows of one read plus anything the user should be told (partial data, fallbacks).</summary>
    public sealed class ConnectionTableResult
    {
        public ConnectionTableResult(IReadOnlyList<SocketEntry> entries, IReadOnlyList<string> warnings)
        {
            Entries = entries;
            Warnings = warnings ?? new string[0];
        }

        public IReadOnlyList<SocketEntry> Entries { get; }

        /// <summary>
        /// When the rows were read (UTC), for sources that know better than the reader's clock (a
        /// replayed capture); null to use the time the read returned.
        /// </summary>
        public DateTime? TimeStampUtc { get; set; }

        /// <summary>
        /// True when the read left out TCP sockets that are bound but neither listening nor connected although the table
        /// has them (Linux sock_diag without <see cref="ConnectionQuery.IncludeBoundSockets"/>): such a socket an earlier
        /// read showed is not known to be gone. False where every socket of the read's scope was read.
        /// </summary>
        public bool LeftOutBoundSockets { get; set; }

        /// <summary>Non-fatal conditions, e.g. "owners of 12 sockets could not be read: run as root".</summary>
        public IReadOnlyList<string> Warnings { get; }
    }

    /// <summary>An operating system's TCP/UDP connection table.</summary>
    public interface IConnectionTable
    {
        /// <summary>
        /// Reads the tables <paramref name="query"/> can match (<see cref="ConnectionQuery.Reads(TransportProtocol)"/>,
        /// <see cref="ConnectionQuery.Reads(System.Net.Sockets.AddressFamily)"/>), with owners when
        /// <see cref="ConnectionQuery.ResolveOwners"/> is set. The rows are not filtered further: the
        /// engine applies the rest of the query. Null reads everything.
        /// </summary>
        ConnectionTableResult Read(ConnectionQuery query);
    }

    /// <summary>Names, paths and users of processes, looked up for many PIDs in one pass.</summary>
    public interface IProcessCatalog
    {
        /// <summary>
        /// Returns what is known of each PID asked for. PIDs of processes that exited are simply absent.
        /// </summary>
        IReadOnlyDictionary<int, ProcessInfo> Lookup(IReadOnlyCollection<int> processIds);
    }

    /// <summary>
    /// Connections that closed between reads, with their final byte counts, so traffic of
    /// short-lived connections is not lost (Linux: sock_diag destroy events; Windows: ETW counters
    /// of connections that left the table).
    /// </summary>
    public interface IClosedConnectionFeed
    {
        /// <summary>
        /// Starts collecting (idempotent, cheap when already started). Returns null when collecting,
        /// else the reason it cannot (missing privilege …), for one warning to the user.
        /// </summary>
        string Start();

        /// <summary>Returns, and forgets, the connections that closed since the previous call (ProcessId set where known).</summary>
        IReadOnlyList<SocketEntry> DrainClosed();

        /// <summary>
        /// Nothing reads the feed any more (its last reader closed): stop collecting, dropping what was not drained; a
        /// later <see cref="Start"/> collects again. Linux closes its sock_diag subscription and ends its thread (woken, and
        /// waited for); Windows does nothing here, as its ETW session already stops after an idle time-out.
        /// </summary>
        void Stop();

        /// <summary>
        /// Closing reports lost so far (kernel buffer overruns, caps on pending reports); it only grows.
        /// A rise during a sample window means some short-lived traffic was not counted.
        /// </summary>
        long LostReports { get; }
    }

    /// <summary>The seam through which the engine reaches the OS; tests substitute their own.</summary>
    public interface IPlatform
    {
        string Name { get; }
        IConnectionTable Connections { get; }
        IProcessCatalog Processes { get; }

        /// <summary>Closed connections' final traffic; null where the platform cannot see them.</summary>
        IClosedConnectionFeed ClosedConnections { get; }

        /// <summary>Network interfaces, their addresses and link kinds (for VPN detection); null where the platform cannot list them.</summary>
        INetworkInterfaceCatalog Interfaces { get; }
    }
}
