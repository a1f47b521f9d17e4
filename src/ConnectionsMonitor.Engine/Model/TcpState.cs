namespace ConnectionsMonitor.Engine.Model
{
    /// <summary>
    /// TCP connection state. Names follow Get-NetTCPConnection's State values so scripts port over;
    /// numeric values are the Windows MIB_TCP_STATE values (1..12).
    /// </summary>
    public enum TcpState
    {
        Closed = 1,
        Listen = 2,
        SynSent = 3,
        SynReceived = 4,
        Established = 5,
        FinWait1 = 6,
        FinWait2 = 7,
        CloseWait = 8,
        Closing = 9,
        LastAck = 10,
        TimeWait = 11,
        DeleteTcb = 12,
    }
}
