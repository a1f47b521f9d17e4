using System.Net.Sockets;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// Which of the eight IP Helper owner tables a buffer holds, and where its fields sit.
    /// Offsets follow the documented structs (tcpmib.h, udpmib.h) under default MSVC packing:
    /// rows holding a LARGE_INTEGER are 8-byte aligned, which pushes the first row of a
    /// MIB_*TABLE_OWNER_MODULE to offset 8 and pads a few rows after dwOwningPid.
    /// </summary>
    internal sealed class IpHelperTableLayout
    {
        private IpHelperTableLayout(string structName, TransportProtocol protocol, AddressFamily family,
            bool ownerModule, int rowSize, int firstRowOffset, int localAddress, int localScopeId, int localPort,
            int remoteAddress, int remoteScopeId, int remotePort, int state, int owningPid, int createTimestamp)
        {
            StructName = structName;
            Protocol = protocol;
            Family = family;
            OwnerModule = ownerModule;
            RowSize = rowSize;
            FirstRowOffset = firstRowOffset;
            LocalAddressOffset = localAddress;
            LocalScopeIdOffset = localScopeId;
            LocalPortOffset = localPort;
            RemoteAddressOffset = remoteAddress;
            RemoteScopeIdOffset = remoteScopeId;
            RemotePortOffset = remotePort;
            StateOffset = state;
            OwningPidOffset = owningPid;
            CreateTimestampOffset = createTimestamp;
        }

        private const int None = -1;

        //                                          struct name                      proto                     family                          module rowSize first  lAddr lScope lPort rAddr rScope rPort state pid   created
        public static readonly IpHelperTableLayout TcpV4Pid = new IpHelperTableLayout("MIB_TCPTABLE_OWNER_PID", TransportProtocol.Tcp, AddressFamily.InterNetwork, false, 24, 4, 4, None, 8, 12, None, 16, 0, 20, None);
        public static readonly IpHelperTableLayout TcpV4Module = new IpHelperTableLayout("MIB_TCPTABLE_OWNER_MODULE", TransportProtocol.Tcp, AddressFamily.InterNetwork, true, 160, 8, 4, None, 8, 12, None, 16, 0, 20, 24);
        public static readonly IpHelperTableLayout TcpV6Pid = new IpHelperTableLayout("MIB_TCP6TABLE_OWNER_PID", TransportProtocol.Tcp, AddressFamily.InterNetworkV6, false, 56, 4, 0, 16, 20, 24, 40, 44, 48, 52, None);
        public static readonly IpHelperTableLayout TcpV6Module = new IpHelperTableLayout("MIB_TCP6TABLE_OWNER_MODULE", TransportProtocol.Tcp, AddressFamily.InterNetworkV6, true, 192, 8, 0, 16, 20, 24, 40, 44, 48, 52, 56);
        public static readonly IpHelperTableLayout UdpV4Pid = new IpHelperTableLayout("MIB_UDPTABLE_OWNER_PID", TransportProtocol.Udp, AddressFamily.InterNetwork, false, 12, 4, 0, None, 4, None, None, None, None, 8, None);
        public static readonly IpHelperTableLayout UdpV4Module = new IpHelperTableLayout("MIB_UDPTABLE_OWNER_MODULE", TransportProtocol.Udp, AddressFamily.InterNetwork, true, 160, 8, 0, None, 4, None, None, None, None, 8, 16);
        public static readonly IpHelperTableLayout UdpV6Pid = new IpHelperTableLayout("MIB_UDP6TABLE_OWNER_PID", TransportProtocol.Udp, AddressFamily.InterNetworkV6, false, 28, 4, 0, 16, 20, None, None, None, None, 24, None);
        public static readonly IpHelperTableLayout UdpV6Module = new IpHelperTableLayout("MIB_UDP6TABLE_OWNER_MODULE", TransportProtocol.Udp, AddressFamily.InterNetworkV6, true, 176, 8, 0, 16, 20, None, None, None, None, 24, 32);

        public static IpHelperTableLayout For(TransportProtocol protocol, AddressFamily family, bool ownerModule)
        {
            bool v6 = family == AddressFamily.InterNetworkV6;
            if (protocol == TransportProtocol.Tcp)
                return v6 ? (ownerModule ? TcpV6Module : TcpV6Pid) : (ownerModule ? TcpV4Module : TcpV4Pid);
            return v6 ? (ownerModule ? UdpV6Module : UdpV6Pid) : (ownerModule ? UdpV4Module : UdpV4Pid);
        }

        /// <summary>The C name of the table struct, for error messages.</summary>
        public string StructName { get; }
        public TransportProtocol Protocol { get; }
        public AddressFamily Family { get; }

        /// <summary>True for the OWNER_MODULE classes, which add the creation time and module info.</summary>
        public bool OwnerModule { get; }

        public int RowSize { get; }

        /// <summary>Offset of the first row after the table's DWORD dwNumEntries (4, or 8 when rows are 8-byte aligned).</summary>
        public int FirstRowOffset { get; }

        // Field offsets within a row; -1 where the struct has no such field.
        internal int LocalAddressOffset { get; }
        internal int LocalScopeIdOffset { get; }
        internal int LocalPortOffset { get; }
        internal int RemoteAddressOffset { get; }
        internal int RemoteScopeIdOffset { get; }
        internal int RemotePortOffset { get; }
        internal int StateOffset { get; }
        internal int OwningPidOffset { get; }
        internal int CreateTimestampOffset { get; }

        public override string ToString() => StructName;
    }
}
