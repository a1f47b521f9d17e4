using System;
using System.Collections.Generic;
using System.Net;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>
    /// One inbound TCP connection attempt to this host, as its <see cref="IInboundSynSource"/> saw it
    /// (<see cref="IInboundSynSource.Kind"/>): on Linux a SYN without ACK that came in (packet capture),
    /// on Windows a connection the kernel accepted on a listening port (ETW TcpIp Accept events).
    /// </summary>
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

        /// <summary>The peer that tried to connect (IPv4, or IPv6 without scope id).</summary>
        public IPAddress RemoteAddress { get; }

        /// <summary>The peer's port, 0-65535.</summary>
        public int RemotePort { get; }

        /// <summary>This host's address the attempt was addressed to.</summary>
        public IPAddress LocalAddress { get; }

        /// <summary>The local port tried, 0-65535: what a port scan varies.</summary>
        public int LocalPort { get; }

        /// <summary>When the source read it (UTC); ETW delivers accepts up to about a second after they happen.</summary>
        public DateTime TimeUtc { get; }

        public override string ToString() => RemoteAddress + ":" + RemotePort + " -> " + LocalAddress + ":" + LocalPort;
    }

    /// <summary>What the attempts of an <see cref="IInboundSynSource"/> are, and so what it cannot see.</summary>
    public enum InboundAttemptKind
    {
        /// <summary>
        /// SYN packets addressed to this host (Linux: packet capture): also those to ports nobody listens
        /// on and half-open ones that never make a socket.
        /// </summary>
        Syn,

        /// <summary>
        /// Connections the kernel accepted on a listening port (Windows: ETW TcpIp Accept events), each as
        /// it happens, also those that close before a sample of the socket table could show them. Probes
        /// of closed ports and half-open (SYN) scans make no accept and are not seen.
        /// </summary>
        AcceptedConnection,
    }

    /// <summary>
    /// Inbound TCP connection attempts as they arrive, read from the OS in real time rather than sampled
    /// from the socket table: on Linux every SYN (packet capture), including those to ports nobody
    /// listens on and half-open ones that never make a socket; on Windows every accepted connection
    /// (ETW accept events). <see cref="Kind"/> says which. Made by platforms that implement
    /// <see cref="IInboundSynCapture"/>; one per watch, disposed by it.
    /// </summary>
    public interface IInboundSynSource : IDisposable
    {
        /// <summary>What the attempts are: SYNs (nothing inbound over TCP is missed) or accepted connections (closed-port probes and half-open scans are).</summary>
        InboundAttemptKind Kind { get; }

        /// <summary>Starts reading. Null when reading, else why it cannot (missing privilege, no ETW …), in one sentence.</summary>
        string Start();

        /// <summary>Returns, and forgets, the attempts seen since the previous call.</summary>
        IReadOnlyList<InboundSyn> Drain();

        /// <summary>Set (one sentence) when reading stopped after it had started (a read error, the ETW session stopped); null while it runs.</summary>
        string Failure { get; }

        /// <summary>Attempts dropped because too many waited for <see cref="Drain"/>; it only grows.</summary>
        long Dropped { get; }
    }

    /// <summary>
    /// A platform that can read inbound connection attempts in real time (Linux: SYN capture; Windows:
    /// ETW accept events). Deliberately not a member of <see cref="IPlatform"/>: consumers discover it
    /// with a type check, and platforms (and test fakes) without it simply lack it.
    /// </summary>
    public interface IInboundSynCapture
    {
        /// <summary>A new, not yet started source.</summary>
        IInboundSynSource CreateInboundSynSource();
    }
}
