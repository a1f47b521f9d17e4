namespace ConnectionsMonitor.Engine.Platform.Linux
{
    public sealed class LinuxPlatform : IPlatform
    {
        public string Name => "Linux";
        public IConnectionTable Connections => throw new System.NotImplementedException();
        public IProcessCatalog Processes => throw new System.NotImplementedException();
    }
}
