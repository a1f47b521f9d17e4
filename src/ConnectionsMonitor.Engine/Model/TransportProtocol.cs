namespace ConnectionsMonitor.Engine.Model
{
    /// <summary>Transport protocol of a socket.</summary>
    public enum TransportProtocol
    {
        Tcp,
        Udp,
    }
}
