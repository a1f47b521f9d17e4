namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>Windows: IP Helper connection tables and a toolhelp-based process catalogue.</summary>
    public sealed class WindowsPlatform : IPlatform
    {
        // One instance of each for the platform's lifetime: the table keeps its native buffer and
        // the catalogue its per-process cache across snapshots.
        private readonly WindowsConnectionTable _connections = new WindowsConnectionTable();
        private readonly WindowsProcessCatalog _processes = new WindowsProcessCatalog();

        public string Name => "Windows";
        public IConnectionTable Connections => _connections;
        public IProcessCatalog Processes => _processes;
        public IClosedConnectionFeed ClosedConnections => null;
    }
}
