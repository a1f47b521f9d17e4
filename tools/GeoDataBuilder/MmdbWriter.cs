using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;

namespace ConnectionsMonitor.GeoDataBuilder
{
    /// <summary>
    /// Writes MaxMind DB files (format 2.0, https://maxmind.github.io/MaxMind-DB/) that MaxMind.Db's
    /// Reader and MaxMind.GeoIP2's DatabaseReader open.
    /// </summary>
    /// <remarks>
    /// <para>The tree is always IPv6 (ip_version 6). IPv4 networks live at ::/96 (::a.b.c.d), where
    /// readers look IPv4 addresses up. With <see cref="AliasIPv4MappedAddresses"/> the IPv4-mapped
    /// range ::ffff:0:0/96 answers exactly like ::/96.</para>
    /// <para>Overlaps: the later insert wins for every address it covers. Inserting a network replaces
    /// whatever it held, including more specific networks inserted earlier; inserting a network inside
    /// an earlier, larger one carves it out and the rest of the larger network keeps its record.</para>
    /// <para>Records are plain .NET values: <c>Dictionary&lt;string, object&gt;</c> (map), string, double,
    /// float, byte[], ushort (uint16), uint (uint32), int (int32), ulong (uint64), bool, and
    /// <c>object[]</c> or any other list (array). A record is converted when it is inserted, so changing
    /// the .NET object afterwards has no effect. Equal records are stored once, and repeated values
    /// inside records (map keys, names) become pointers. Sibling networks with equal records are merged,
    /// so a reader may report a larger network than was inserted.</para>
    /// <para>Output is deterministic: the same inserts and metadata give the same bytes.</para>
    /// </remarks>
    public sealed class MmdbWriter
    {
        private const int IPv4Depth = 96;
        private const int SeparatorLength = 16;
        private static readonly byte[] MetadataMarker = { 0xAB, 0xCD, 0xEF, (byte)'M', (byte)'a', (byte)'x', (byte)'M', (byte)'i', (byte)'n', (byte)'d', (byte)'.', (byte)'c', (byte)'o', (byte)'m' };
        private static readonly UInt128 IPv4MappedNetwork = (UInt128)0xFFFF << 32;

        private readonly SearchTree _tree = new SearchTree();
        private readonly MmdbValue.Interner _interner = new MmdbValue.Interner();
        private readonly List<MmdbValue> _records = new List<MmdbValue>();
        private readonly Dictionary<MmdbValue, int> _recordIds = new Dictionary<MmdbValue, int>(ReferenceEqualityComparer.Instance);
        private int? _recordSize;

        /// <summary>Starts an empty database of the given type (metadata "database_type").</summary>
        public MmdbWriter(string databaseType)
        {
            if (string.IsNullOrWhiteSpace(databaseType)) throw new ArgumentException("A database type is required.", nameof(databaseType));
            DatabaseType = databaseType;
        }

        /// <summary>Metadata "database_type": readers pick the record layout by it (GeoIP2 checks it contains e.g. "GeoLite2-ASN").</summary>
        public string DatabaseType { get; }

        /// <summary>Metadata "description": language code → text.</summary>
        public IDictionary<string, string> Description { get; } = new Dictionary<string, string>();

        /// <summary>Metadata "languages": the locales the records carry names in.</summary>
        public IList<string> Languages { get; } = new List<string>();

        /// <summary>Metadata "build_epoch", seconds since 1970-01-01 UTC. A parameter, so builds are reproducible.</summary>
        public ulong BuildEpoch { get; set; }

        /// <summary>
        /// Bits per search-tree record: 24, 28 or 32; null (the default) picks the smallest that can
        /// address the tree and data section. <see cref="Write"/> fails if a forced size is too small.
        /// </summary>
        public int? RecordSize
        {
            get => _recordSize;
            set
            {
                if (value != null && value != 24 && value != 28 && value != 32)
                    throw new ArgumentOutOfRangeException(nameof(value), value, "A record size is 24, 28 or 32 bits.");
                _recordSize = value;
            }
        }

        /// <summary>
        /// Whether ::ffff:0:0/96 (IPv4-mapped IPv6 addresses) answers like the IPv4 networks (default
        /// true). When on, networks inserted inside ::ffff:0:0/96 are stored as their IPv4 network.
        /// </summary>
        public bool AliasIPv4MappedAddresses { get; init; } = true;

        /// <summary>Distinct records inserted so far.</summary>
        public int RecordCount => _records.Count;

        /// <summary>Maps every address of <paramref name="network"/>/<paramref name="prefixLength"/> to <paramref name="record"/>.</summary>
        /// <exception cref="ArgumentException">The prefix is out of range, the address has host bits set, or the record has no MaxMind DB type.</exception>
        public void Insert(IPAddress network, int prefixLength, object record)
        {
            ArgumentNullException.ThrowIfNull(network);
            int familyBits = FamilyBits(network);
            if (prefixLength < 0 || prefixLength > familyBits)
                throw new ArgumentOutOfRangeException(nameof(prefixLength), prefixLength, $"A prefix length for {network.AddressFamily} is 0 to {familyBits}.");
            int depth = prefixLength + (128 - familyBits);
            UInt128 address = ToNumber(network);
            if ((address & HostMask(depth)) != 0)
                throw new ArgumentException($"{network}/{prefixLength} has host bits set; the network is {ToAddress(address & ~HostMask(depth), network.AddressFamily)}/{prefixLength}.", nameof(network));
            InsertNetwork(address, depth, RecordFor(record));
        }

        /// <summary>Maps every address of <paramref name="network"/> to <paramref name="record"/>.</summary>
        public void Insert(IPNetwork network, object record) => Insert(network.BaseAddress, network.PrefixLength, record);

        /// <summary>Maps every address of a CIDR such as "192.0.2.0/24" or "2001:db8::/32" to <paramref name="record"/>.</summary>
        /// <exception cref="ArgumentException">The text is not address/prefix, or as for <see cref="Insert(IPAddress, int, object)"/>.</exception>
        public void Insert(string cidr, object record)
        {
            ArgumentNullException.ThrowIfNull(cidr);
            int slash = cidr.IndexOf('/');
            if (slash < 0
                || !IPAddress.TryParse(cidr.AsSpan(0, slash), out IPAddress network)
                || !int.TryParse(cidr.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int prefixLength))
                throw new ArgumentException($"'{cidr}' is not a CIDR network such as 192.0.2.0/24 or 2001:db8::/32.", nameof(cidr));
            Insert(network, prefixLength, record);
        }

        /// <summary>
        /// Maps every address from <paramref name="first"/> to <paramref name="last"/> inclusive (same
        /// family) to <paramref name="record"/>, as the smallest set of CIDR networks that covers exactly
        /// that range. Returns how many networks that took.
        /// </summary>
        public int InsertRange(IPAddress first, IPAddress last, object record)
        {
            ArgumentNullException.ThrowIfNull(first);
            ArgumentNullException.ThrowIfNull(last);
            if (first.AddressFamily != last.AddressFamily)
                throw new ArgumentException($"The range {first} - {last} mixes IPv4 and IPv6.", nameof(last));
            UInt128 start = ToNumber(first);
            UInt128 end = ToNumber(last);
            if (start > end) throw new ArgumentException($"The range {first} - {last} ends before it starts.", nameof(last));

            int recordId = RecordFor(record);
            int networks = 0;
            while (true)
            {
                // The largest block aligned at start that does not run past end.
                int hostBits = start == 0 ? 128 : (int)UInt128.TrailingZeroCount(start);
                while ((start | HostMask(128 - hostBits)) > end) hostBits--;
                UInt128 blockEnd = start | HostMask(128 - hostBits);
                InsertNetwork(start, 128 - hostBits, recordId);
                networks++;
                if (blockEnd == end) return networks;
                start = blockEnd + 1;
            }
        }

        /// <summary>
        /// Writes the database: search tree, 16-byte separator, data section, metadata. The writer stays
        /// usable; later inserts and writes see everything inserted so far.
        /// </summary>
        public MmdbWriteSummary Write(Stream output)
        {
            ArgumentNullException.ThrowIfNull(output);
            SearchTree tree = _tree.Clone();
            tree.Collapse();
            if (AliasIPv4MappedAddresses)
                tree.Alias(IPv4MappedNetwork, IPv4Depth, tree.RecordAt(0, IPv4Depth));
            var (order, numberOf) = tree.Number();
            int nodeCount = order.Count;

            // The data section in tree order, so the layout depends only on the tree.
            var data = new DataSectionWriter();
            var dataOffsets = new int[_records.Count];
            Array.Fill(dataOffsets, -1);
            foreach (int node in order)
            {
                foreach (int record in new[] { tree.Left(node), tree.Right(node) })
                {
                    if (record >= 0) continue;
                    int id = SearchTree.DataId(record);
                    if (dataOffsets[id] < 0) dataOffsets[id] = data.Add(_records[id]);
                }
            }

            // Record values: a node number, node_count for "no data", or node_count + 16 + data offset.
            long largestValue = nodeCount + SeparatorLength + data.Length;
            int recordSize = ChooseRecordSize(largestValue);
            uint RecordValue(int record) =>
                record > 0 ? (uint)numberOf[record]
                : record == SearchTree.Empty ? (uint)nodeCount
                : (uint)(nodeCount + SeparatorLength + dataOffsets[SearchTree.DataId(record)]);

            var buffered = new BufferedStream(output, 1 << 16);
            var nodeBytes = new byte[recordSize / 4];
            foreach (int node in order)
            {
                WriteNode(nodeBytes, recordSize, RecordValue(tree.Left(node)), RecordValue(tree.Right(node)));
                buffered.Write(nodeBytes, 0, nodeBytes.Length);
            }
            buffered.Write(new byte[SeparatorLength], 0, SeparatorLength);
            buffered.Flush();
            data.CopyTo(output);
            output.Write(MetadataMarker, 0, MetadataMarker.Length);
            byte[] metadata = Metadata(nodeCount, recordSize).Canonical;
            output.Write(metadata, 0, metadata.Length);
            output.Flush();
            return new MmdbWriteSummary(nodeCount, recordSize, data.Length, _records.Count);
        }

        private MmdbValue Metadata(int nodeCount, int recordSize)
        {
            var description = new Dictionary<string, object>();
            foreach (var entry in Description) description[entry.Key] = entry.Value;
            var languages = new List<object>();
            foreach (string language in Languages) languages.Add(language);
            // Its own interner: the metadata is decoded on its own and must not point into the data section.
            return new MmdbValue.Interner().Convert(new Dictionary<string, object>
            {
                ["binary_format_major_version"] = (ushort)2,
                ["binary_format_minor_version"] = (ushort)0,
                ["build_epoch"] = BuildEpoch,
                ["database_type"] = DatabaseType,
                ["description"] = description,
                ["ip_version"] = (ushort)6,
                ["languages"] = languages,
                ["node_count"] = (uint)nodeCount,
                ["record_size"] = (ushort)recordSize,
            });
        }

        private int ChooseRecordSize(long largestValue)
        {
            if (_recordSize is int forced)
            {
                if (largestValue > 1L << forced)
                    throw new InvalidOperationException($"{forced}-bit records cannot address {largestValue} values (nodes + 16 + data bytes); use a larger record size.");
                return forced;
            }
            foreach (int size in new[] { 24, 28, 32 })
                if (largestValue <= 1L << size) return size;
            throw new InvalidOperationException($"The database needs {largestValue} record values; 32-bit records address at most 2^32.");
        }

        /// <summary>One node: two big-endian records; with 28 bits the middle byte holds the high nibble of each (left's in its upper half).</summary>
        private static void WriteNode(byte[] bytes, int recordSize, uint left, uint right)
        {
            switch (recordSize)
            {
                case 24:
                    Write24(bytes, 0, left);
                    Write24(bytes, 3, right);
                    break;
                case 28:
                    Write24(bytes, 0, left);
                    bytes[3] = (byte)(((left >> 24) & 0x0F) << 4 | ((right >> 24) & 0x0F));
                    Write24(bytes, 4, right);
                    break;
                default:
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(0), left);
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), right);
                    break;
            }
        }

        private static void Write24(byte[] bytes, int offset, uint value)
        {
            bytes[offset] = (byte)(value >> 16);
            bytes[offset + 1] = (byte)(value >> 8);
            bytes[offset + 2] = (byte)value;
        }

        private void InsertNetwork(UInt128 network, int depth, int recordId)
        {
            if (AliasIPv4MappedAddresses && depth >= IPv4Depth && (network >> 32) == 0xFFFF)
                network &= uint.MaxValue; // ::ffff:a.b.c.d is stored as ::a.b.c.d, which the alias mirrors
            _tree.Insert(network, depth, SearchTree.DataRecord(recordId));
        }

        private int RecordFor(object record)
        {
            MmdbValue value = _interner.Convert(record);
            if (!_recordIds.TryGetValue(value, out int id))
            {
                id = _records.Count;
                _records.Add(value);
                _recordIds.Add(value, id);
            }
            return id;
        }

        private static int FamilyBits(IPAddress address) => address.AddressFamily switch
        {
            AddressFamily.InterNetwork => 32,
            AddressFamily.InterNetworkV6 => 128,
            _ => throw new ArgumentException($"{address.AddressFamily} is not an IP address family.", nameof(address)),
        };

        /// <summary>The address as a 128-bit number; IPv4 a.b.c.d becomes ::a.b.c.d.</summary>
        private static UInt128 ToNumber(IPAddress address)
        {
            FamilyBits(address);
            UInt128 number = 0;
            foreach (byte b in address.GetAddressBytes()) number = (number << 8) | b;
            return number;
        }

        private static IPAddress ToAddress(UInt128 number, AddressFamily family)
        {
            int length = family == AddressFamily.InterNetwork ? 4 : 16;
            var bytes = new byte[length];
            for (int i = length - 1; i >= 0; i--, number >>= 8) bytes[i] = (byte)number;
            return new IPAddress(bytes);
        }

        /// <summary>The low 128 - <paramref name="depth"/> bits set: the host part of a /depth network.</summary>
        private static UInt128 HostMask(int depth) => depth == 0 ? UInt128.MaxValue : (UInt128.One << (128 - depth)) - 1;
    }

    /// <summary>What <see cref="MmdbWriter.Write"/> wrote.</summary>
    /// <param name="NodeCount">Search-tree nodes (metadata node_count).</param>
    /// <param name="RecordSize">Bits per record: 24, 28 or 32.</param>
    /// <param name="DataSectionLength">Bytes of the data section.</param>
    /// <param name="RecordCount">Distinct records inserted.</param>
    public sealed record MmdbWriteSummary(int NodeCount, int RecordSize, long DataSectionLength, int RecordCount);
}
