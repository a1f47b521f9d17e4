using System;
using System.Net;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    internal enum TrafficDirection : byte
    {
        Send,
        Receive,
    }

    /// <summary>
    /// One kernel send or receive as the TcpIp / UdpIp event classes report it, seen from this machine:
    /// Local is this host's end, Remote the peer, whatever the direction. A struct with raw address bits so
    /// the ETW thread allocates nothing per packet.
    /// </summary>
    internal readonly struct NetworkEvent
    {
        /// <summary>The payload's PID field for events that carry none we can use (0 and 0xFFFFFFFF).</summary>
        public const uint UnknownProcessId = 0;

        public NetworkEvent(TransportProtocol protocol, TrafficDirection direction, uint processId, uint size,
            AddressBits localAddress, int localPort, AddressBits remoteAddress, int remotePort, AddressFamily family)
        {
            Protocol = protocol;
            Direction = direction;
            ProcessId = processId == uint.MaxValue ? UnknownProcessId : processId;
            Size = size;
            LocalAddress = localAddress;
            LocalPort = localPort;
            RemoteAddress = remoteAddress;
            RemotePort = remotePort;
            Family = family;
        }

        public TransportProtocol Protocol { get; }
        public TrafficDirection Direction { get; }

        /// <summary>Owning process, or <see cref="UnknownProcessId"/>.</summary>
        public uint ProcessId { get; }

        /// <summary>Payload bytes of this send or receive.</summary>
        public uint Size { get; }

        public AddressBits LocalAddress { get; }
        public int LocalPort { get; }
        public AddressBits RemoteAddress { get; }
        public int RemotePort { get; }

        /// <summary>The family of the event class (IPv4 opcodes 10/11, IPv6 opcodes 26/27).</summary>
        public AddressFamily Family { get; }

        public bool HasKnownProcess => ProcessId != UnknownProcessId;

        /// <summary>Test and diagnostic helper; the hot path never builds IPAddress objects.</summary>
        public static NetworkEvent Create(TransportProtocol protocol, TrafficDirection direction, uint processId, uint size,
            IPEndPoint local, IPEndPoint remote)
        {
            if (local == null) throw new ArgumentNullException(nameof(local));
            if (remote == null) throw new ArgumentNullException(nameof(remote));
            return new NetworkEvent(protocol, direction, processId, size,
                AddressBits.From(local.Address), local.Port, AddressBits.From(remote.Address), remote.Port,
                local.AddressFamily);
        }

        public override string ToString() =>
            string.Format("{0} {1} pid={2} {3}B {4}:{5} <-> {6}:{7}", Protocol, Direction, ProcessId, Size,
                LocalAddress, LocalPort, RemoteAddress, RemotePort);
    }
}
