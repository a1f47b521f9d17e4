using System;
using System.Collections.Generic;
using System.Net;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>One TCP connection attempt addressed to this host: a SYN without ACK that came in.</summary>
    public readonly struct InboundSyn
    {
        public InboundSyn(IPAddress remoteAddress, int remotePort, IPAddress localAddress, int localPort, DateTime timeUtc)
        {
            RemoteAddress = remoteAddress;
            RemotePort = remotePort;
            LocalAddress = localAddress;
            LocalPort = localPort;
            TimeUtc = timeUtc;
        }

        public IPAddress RemoteAddress { get; }
        public int RemotePort { get; }
        public IPAddress LocalAddress { get; }
        public int LocalPort { get; }

        /// <summary>When it was read (UTC).</summary>
        public DateTime TimeUtc { get; }

        public override string ToString() => RemoteAddress + ":" + RemotePort + " -> " + LocalAddress + ":" + LocalPort;
    }

    /// <summary>
    /// Inbound TCP connection attempts as they arrive, including those to ports nobody listens on and
    /// half-open ones that never make a socket (Linux: packet capture of SYNs). Made by platforms that
    /// implement <see cref="IInboundSynCapture"/>; one per watch, disposed by it.
    /// </summary>
    public interface IInboundSynSource : IDisposable
    {
        /// <summary>Starts capturing. Null when capturing, else why it cannot (missing privilege …), in one sentence.</summary>
        string Start();

        /// <summary>Returns, and forgets, the attempts seen since the previous call.</summary>
        IReadOnlyList<InboundSyn> Drain();

        /// <summary>Set (one sentence) when capture stopped after it had started (a read error); null while it runs.</summary>
        string Failure { get; }

        /// <summary>Attempts dropped because too many waited for <see cref="Drain"/>; it only grows.</summary>
        long Dropped { get; }
    }

    /// <summary>
    /// A platform that can capture inbound SYNs. Deliberately not a member of <see cref="IPlatform"/>:
    /// consumers discover it with a type check, and platforms (and test fakes) without it simply lack it.
    /// </summary>
    public interface IInboundSynCapture
    {
        /// <summary>A new, not yet started source.</summary>
        IInboundSynSource CreateInboundSynSource();
    }
}
