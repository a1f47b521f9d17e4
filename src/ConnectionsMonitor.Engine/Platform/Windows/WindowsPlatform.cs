using System;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// Windows: IP Helper connection tables, a toolhelp-based process catalogue, and byte counters from an
    /// ETW session of kernel network events. The session runs only while byte counts are wanted: while a
    /// claim taken through <see cref="IByteCounterUsers.AcquireByteCounters"/> is held, or for a while
    /// after a read that asked for them; it stops with the last claim, after the idle time, and on Dispose.
    /// Port-scan watches get inbound attempts from ETW TcpIp Accept events (<see cref="CreateInboundSynSource"/>),
    /// an ETW session of each watch's own that runs while the watch does.
    /// </summary>
    public sealed class WindowsPlatform : IPlatform, IByteCounterUsers, IInboundSynCapture, IDisposable
    {
        // One instance of each for the platform's lifetime: the table keeps its native buffer, the
        // catalogue its per-process cache, and the counters their ETW session across snapshots.
        private readonly WindowsTrafficCounters _traffic;
        private readonly WindowsConnectionTable _connections;
        private readonly WindowsProcessCatalog _processes = new WindowsProcessCatalog();
        private readonly WindowsNetworkInterfaceCatalog _interfaces = new WindowsNetworkInterfaceCatalog();

        public WindowsPlatform() : this(new WindowsTrafficCounters())
        {
        }

        internal WindowsPlatform(WindowsTrafficCounters traffic)
        {
            _traffic = traffic ?? throw new ArgumentNullException(nameof(traffic));
            // A read that resolves owners says once per session (the session drops repeats) when user
            // names of services and other users' processes will be null, before any process is opened.
            _connections = new WindowsConnectionTable(_traffic, () => _processes.UserNameLimitation);
        }

        public string Name => "Windows";
        public IConnectionTable Connections => _connections;
        public IProcessCatalog Processes => _processes;
        public IClosedConnectionFeed ClosedConnections => _traffic;
        public INetworkInterfaceCatalog Interfaces => _interfaces;

        /// <inheritdoc />
        public IDisposable AcquireByteCounters(out string problem) => ((IByteCounterUsers)_traffic).AcquireByteCounters(out problem);

        /// <summary>
        /// A new, not yet started source of the connections this host accepts (TCP, IPv4 and IPv6), from
        /// the kernel's ETW TcpIp Accept events. Its Start needs an elevated process and returns one
        /// sentence when it cannot run (not elevated; Wine, which has no ETW); the caller disposes it.
        /// </summary>
        public IInboundSynSource CreateInboundSynSource() => new EtwAcceptSource();

        /// <summary>Stops the byte counters' ETW session (a session outlives its process unless stopped).</summary>
        public void Dispose() => _traffic.Dispose();
    }
}
