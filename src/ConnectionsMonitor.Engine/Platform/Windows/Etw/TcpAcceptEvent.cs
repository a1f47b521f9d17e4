using System.Net.Sockets;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>
    /// One TCP connection this host accepted on a listening socket, as the kernel's TcpIp Accept events
    /// (opcode 15 IPv4, 31 IPv6) report it: Local is the listening side (this host's address and the
    /// listening port), Remote the peer that connected. A type of its own, not a <see cref="NetworkEvent"/>,
    /// so nothing that counts bytes can take an accept for traffic. A struct with raw address bits so the
    /// ETW thread allocates nothing per event.
    /// </summary>
    internal readonly struct TcpAcceptEvent
    {
        public TcpAcceptEvent(uint processId, AddressBits localAddress, int localPort, AddressBits remoteAddress, int remotePort, AddressFamily family)
        {
            ProcessId = processId == uint.MaxValue ? NetworkEvent.UnknownProcessId : processId;
            LocalAddress = localAddress;
            LocalPort = localPort;
            RemoteAddress = remoteAddress;
            RemotePort = remotePort;
            Family = family;
        }

        /// <summary>The payload's PID (the listening process), or <see cref="NetworkEvent.UnknownProcessId"/> (0; 0xFFFFFFFF is read as 0).</summary>
        public uint ProcessId { get; }

        /// <summary>This host's address of the connection (saddr).</summary>
        public AddressBits LocalAddress { get; }

        /// <summary>The listening port that accepted it (sport), 0-65535.</summary>
        public int LocalPort { get; }

        /// <summary>The connecting peer's address (daddr).</summary>
        public AddressBits RemoteAddress { get; }

        /// <summary>The peer's port (dport), 0-65535.</summary>
        public int RemotePort { get; }

        /// <summary>The family of the event class (IPv4 opcode 15, IPv6 opcode 31).</summary>
        public AddressFamily Family { get; }

        public override string ToString() =>
            "accept pid=" + ProcessId + " " + LocalAddress + ":" + LocalPort + " <- " + RemoteAddress + ":" + RemotePort;
    }
}
