namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Linux: one connection table and one process catalogue for the life of the platform object,
    /// since their caches (netlink socket, inode → PID, PID → process) are what make repeated reads cheap.
    /// </summary>
    public sealed class LinuxPlatform : IPlatform, IInboundSynCapture, System.IDisposable
    {
        private readonly LinuxConnectionTable _connections;
        private readonly LinuxProcessCatalog _processes;
        private readonly LinuxClosedConnectionFeed _closed;
        private readonly LinuxNetworkInterfaceCatalog _interfaces = new LinuxNetworkInterfaceCatalog();

        /// <summary>The running system: sock_diag with /proc/net as fallback, processes from /proc.</summary>
        public LinuxPlatform() : this(LinuxTableMode.Auto) { }

        /// <summary>The running system through the given kernel interface.</summary>
        public LinuxPlatform(LinuxTableMode mode) : this(mode, "/proc") { }

        /// <summary>
        /// Reads processes, socket owners and (in <see cref="LinuxTableMode.ProcNet"/> mode or as the
        /// fallback) the /proc/net tables from the procfs tree at <paramref name="procRoot"/>; "/proc" on a
        /// real system, a fake tree in tests. Netlink and interface listings always ask the running kernel.
        /// </summary>
        /// <exception cref="System.ArgumentException"><paramref name="procRoot"/> is null or empty.</exception>
        public LinuxPlatform(LinuxTableMode mode, string procRoot)
        {
            _connections = new LinuxConnectionTable(mode, procRoot);
            _processes = new LinuxProcessCatalog(procRoot);
            // Closed connections are matched to the table's recent rows, hence one feed per table.
            _closed = new LinuxClosedConnectionFeed(_connections.Recent);
        }

        /// <summary>The directory read as /proc.</summary>
        public string ProcRoot => _connections.ProcRoot;

        /// <inheritdoc/>
        public string Name => "Linux";
        /// <inheritdoc/>
        public IConnectionTable Connections => _connections;
        /// <inheritdoc/>
        public IProcessCatalog Processes => _processes;
        /// <inheritdoc/>
        public IClosedConnectionFeed ClosedConnections => _closed;
        /// <inheritdoc/>
        public INetworkInterfaceCatalog Interfaces => _interfaces;

        /// <summary>
        /// A packet capture of inbound TCP SYNs addressed to this host's addresses (getifaddrs, read again
        /// when a destination is not among them); the caller starts and disposes it. Needs CAP_NET_RAW to start.
        /// </summary>
        public IInboundSynSource CreateInboundSynSource() => new LinuxSynCapture(LocalAddresses);

        private static System.Collections.Generic.IReadOnlyCollection<System.Net.IPAddress> LocalAddresses()
        {
            var all = new System.Collections.Generic.List<System.Net.IPAddress>();
            foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
                all.AddRange(NetworkInterfaces.UnicastAddresses(nic));
            return all;
        }

        /// <summary>Closes the netlink sockets of the table and the closed-connection feed.</summary>
        public void Dispose()
        {
            _closed.Dispose();
            _connections.Dispose();
        }
    }
}
