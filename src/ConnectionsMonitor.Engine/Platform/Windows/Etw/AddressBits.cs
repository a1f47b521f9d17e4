using System;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace ConnectionsMonitor.Engine.Platform.Windows.Etw
{
    /// <summary>
    /// An IP address as 128 bits, IPv4 held in its IPv4-mapped IPv6 form (::ffff:a.b.c.d). That single form
    /// is what lets an IPv4 ETW event match the row of a dual-mode socket, which IP Helper lists in the
    /// IPv6 table as ::ffff:a.b.c.d. Scope ids are dropped: events carry none.
    /// </summary>
    internal readonly struct AddressBits : IEquatable<AddressBits>
    {
        private const ulong MappedPrefixLow = 0x0000FFFF00000000UL;

        public AddressBits(ulong high, ulong low)
        {
            High = high;
            Low = low;
        }

        /// <summary>First 8 bytes of the IPv6 address, big-endian.</summary>
        public ulong High { get; }

        /// <summary>Last 8 bytes of the IPv6 address, big-endian.</summary>
        public ulong Low { get; }

        public bool IsIPv4 => High == 0 && (Low & 0xFFFFFFFF00000000UL) == MappedPrefixLow;

        /// <summary>0.0.0.0 or :: — a socket bound to every address.</summary>
        public bool IsUnspecified => (High == 0 && Low == 0) || (High == 0 && Low == MappedPrefixLow);

        /// <summary>Four bytes in network order, as IP Helper and the kernel events store an IPv4 address.</summary>
        public static AddressBits FromIPv4(ReadOnlySpan<byte> networkOrder) =>
            new AddressBits(0, MappedPrefixLow | BinaryPrimitives.ReadUInt32BigEndian(networkOrder));

        /// <summary>Sixteen bytes in network order (IN6_ADDR).</summary>
        public static AddressBits FromIPv6(ReadOnlySpan<byte> networkOrder) =>
            new AddressBits(BinaryPrimitives.ReadUInt64BigEndian(networkOrder), BinaryPrimitives.ReadUInt64BigEndian(networkOrder.Slice(8)));

        public static AddressBits From(IPAddress address)
        {
            if (address == null) throw new ArgumentNullException(nameof(address));
            byte[] bytes = address.GetAddressBytes();
            return address.AddressFamily == AddressFamily.InterNetwork ? FromIPv4(bytes) : FromIPv6(bytes);
        }

        public IPAddress ToIPAddress()
        {
            var bytes = new byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, High);
            BinaryPrimitives.WriteUInt64BigEndian(new Span<byte>(bytes, 8, 8), Low);
            var v6 = new IPAddress(bytes);
            return IsIPv4 ? v6.MapToIPv4() : v6;
        }

        public bool Equals(AddressBits other) => High == other.High && Low == other.Low;
        public override bool Equals(object obj) => obj is AddressBits other && Equals(other);
        public override int GetHashCode() => (High ^ (Low * 31)).GetHashCode();
        public override string ToString() => ToIPAddress().ToString();
    }
}
