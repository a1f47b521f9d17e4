using System;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>
    /// Something that delivers kernel send/receive events: the ETW session on Windows, a script in tests.
    /// </summary>
    internal interface INetworkEventSource : IDisposable
    {
        /// <summary>
        /// Starts delivering events to <paramref name="sink"/> (on a thread of the source's own). Returns
        /// null when delivering, else the reason it cannot, worded for the user. Called once.
        /// </summary>
        string Start(Action<NetworkEvent> sink);

        /// <summary>Null while events flow; why delivery stopped after a successful start otherwise.</summary>
        string Failure { get; }
    }

    /// <summary>
    /// Something that delivers the kernel's TCP accept events: an ETW session on Windows, a script in tests.
    /// </summary>
    internal interface IAcceptEventSource : IDisposable
    {
        /// <summary>
        /// Starts delivering accepts to <paramref name="sink"/> (on a thread of the source's own). Returns
        /// null when delivering, else the reason it cannot, one sentence worded for the user. Called once.
        /// </summary>
        string StartAccepts(Action<TcpAcceptEvent> sink);

        /// <summary>Null while events flow; why delivery stopped after a successful start otherwise (one sentence).</summary>
        string Failure { get; }
    }
}
