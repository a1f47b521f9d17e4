namespace ConnectionsMonitor.Engine.Platform.Windows
{
    public sealed class WindowsPlatform : IPlatform
    {
        public string Name => "Windows";
        public IConnectionTable Connections => throw new System.NotImplementedException();
        public IProcessCatalog Processes => throw new System.NotImplementedException();
    }
}
