namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Linux: one connection table and one process catalogue for the life of the platform object,
    /// since their caches (netlink socket, inode → PID, PID → process) are what make repeated reads cheap.
    /// </summary>
    public sealed class LinuxPlatform : IPlatform, System.IDisposable
    {
        private readonly LinuxConnectionTable _connections;
        private readonly LinuxProcessCatalog _processes = new LinuxProcessCatalog();
        private readonly LinuxClosedConnectionFeed _closed;
        private readonly LinuxNetworkInterfaceCatalog _interfaces = new LinuxNetworkInterfaceCatalog();

        public LinuxPlatform() : this(LinuxTableMode.Auto) { }

        public LinuxPlatform(LinuxTableMode mode)
        {
            _connections = new LinuxConnectionTable(mode);
            // Closed connections are matched to the table's recent rows, hence one feed per table.
            _closed = new LinuxClosedConnectionFeed(_connections.Recent);
        }

        public string Name => "Linux";
        public IConnectionTable Connections => _connections;
        public IProcessCatalog Processes => _processes;
        public IClosedConnectionFeed ClosedConnections => _closed;
        public INetworkInterfaceCatalog Interfaces => _interfaces;

        public void Dispose()
        {
            _closed.Dispose();
            _connections.Dispose();
        }
    }
}
