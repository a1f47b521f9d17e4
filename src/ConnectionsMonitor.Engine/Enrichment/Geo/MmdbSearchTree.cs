using System;
using System.Net;
using System.Net.Sockets;
using System.IO;
using System.Threading;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>
    /// One MaxMind DB file held in memory (one byte[] for everything: tree, data, metadata), and its
    /// search tree walked directly (MaxMind DB format 2.0, "Search Tree Section") to find which data
    /// record answers an address without decoding it. Many addresses share one record (a country
    /// database has a few hundred records for billions of addresses), so GeoDatabase decodes each
    /// record once, from <see cref="Data"/>, and answers later hits from the offset alone. The
    /// metadata read here: node_count, record_size, ip_version, database_type and build_epoch.
    /// </summary>
    internal sealed class MmdbSearchTree
    {
        private static readonly byte[] MetadataMarker = { 0xAB, 0xCD, 0xEF, (byte)'M', (byte)'a', (byte)'x', (byte)'M', (byte)'i', (byte)'n', (byte)'d', (byte)'.', (byte)'c', (byte)'o', (byte)'m' };
        private const int MetadataSearchWindow = 128 * 1024; // the spec: metadata is within the last 128 KiB
        private const int DataSectionSeparator = 16;

        private readonly byte[] _file;
        private readonly uint _nodeCount;
        private readonly int _recordSize;
        private readonly int _nodeBytes;
        private readonly int _ipVersion;
        private readonly uint _ipv4Start;   // the node after 96 zero bits (IPv6 trees), where IPv4 lookups begin

        // Where the walk stands after the first 16 bits of an address, for each value of those bits:
        // a lookup starts 16 levels down. Each step of the walk reads a node somewhere in megabytes of
        // tree and depends on the step before, so steps cost memory latency, not instructions; 256 KiB
        // per table (1.5 % of the bundled files) takes away the 16 steps every lookup shares the most.
        // The IPv6 table is made by the first IPv6 lookup: a session that meets no IPv6 peer never needs it.
        private const int PrefixBits = 16;
        private readonly uint[] _ipv4Prefix;
        private uint[] _ipv6Prefix;

        private MmdbSearchTree(byte[] file, uint nodeCount, int recordSize, int ipVersion, int metadataStart, string databaseType, ulong buildEpoch)
        {
            _file = file;
            _nodeCount = nodeCount;
            _recordSize = recordSize;
            _nodeBytes = recordSize * 2 / 8;
            _ipVersion = ipVersion;
            DatabaseType = databaseType;
            BuildEpoch = buildEpoch;
            Data = new MmdbValues(file, (int)(nodeCount * (long)_nodeBytes) + DataSectionSeparator, metadataStart);
            uint node = 0;
            if (ipVersion == 6)
                for (int depth = 0; depth < 96 && node < nodeCount; depth++) node = Record(node, 0);
            _ipv4Start = node;
            _ipv4Prefix = PrefixTable(_ipv4Start);
        }

        /// <summary>
        /// For each 16-bit prefix, the node (or the record, or "no data") the walk from <paramref name="root"/>
        /// reaches after those 16 bits; built by visiting the top 16 levels once (at most 65,535 nodes).
        /// </summary>
        private uint[] PrefixTable(uint root)
        {
            var table = new uint[1 << PrefixBits];
            Fill(table, root, 0, 0);
            return table;
        }

        private void Fill(uint[] table, uint node, int depth, int prefix)
        {
            if (depth == PrefixBits || node >= _nodeCount)
            {
                // A walk that stops above depth 16 (a record or "no data" covers a wider network) stops for every prefix under it.
                int span = 1 << (PrefixBits - depth);
                for (int i = 0; i < span; i++) table[(prefix << (PrefixBits - depth)) + i] = node;
                return;
            }
            Fill(table, Record(node, 0), depth + 1, prefix << 1);
            Fill(table, Record(node, 1), depth + 1, (prefix << 1) | 1);
        }

        /// <summary>The data section: where the records <see cref="Find"/> points to are read.</summary>
        public MmdbValues Data { get; }

        /// <summary>The metadata's database_type, e.g. "GeoLite2-City" or "DBIP-Country-Lite" ("" when absent).</summary>
        public string DatabaseType { get; }

        /// <summary>The metadata's build_epoch: seconds since 1970-01-01 UTC (0 when absent).</summary>
        public ulong BuildEpoch { get; }

        /// <summary>Size of the file in memory, bytes.</summary>
        public int Length => _file.Length;

        /// <summary>The tree of a whole .mmdb file held in memory; null when its metadata cannot be read (not a MaxMind DB file, or damaged).</summary>
        public static MmdbSearchTree TryCreate(byte[] file)
        {
            int start = LastIndexOf(file, MetadataMarker);
            if (start < 0) return null;
            var metadata = new MmdbValues(file, start + MetadataMarker.Length, file.Length);
            long nodeCount = -1, recordSize = -1, ipVersion = -1;
            string databaseType = "";
            ulong buildEpoch = 0;
            try
            {
                int pos = metadata.Resolve(metadata.PointerBase, out int type, out int size);
                if (type != MmdbValues.Map) return null;
                for (int i = 0; i < size; i++)
                {
                    string key = metadata.String(pos);
                    pos = metadata.Skip(pos);
                    if (key == "database_type") databaseType = metadata.String(pos) ?? "";
                    else if (key == "node_count" || key == "record_size" || key == "ip_version" || key == "build_epoch")
                    {
                        int at = metadata.Resolve(pos, out int valueType, out int valueSize);
                        if ((valueType == MmdbValues.UInt16 || valueType == MmdbValues.UInt32 || valueType == MmdbValues.UInt64) && valueSize <= 8)
                        {
                            ulong value = metadata.Unsigned(at, valueSize);
                            if (key == "build_epoch") buildEpoch = value;
                            else if (value <= int.MaxValue * 2L)
                            {
                                if (key == "node_count") nodeCount = (long)value;
                                else if (key == "record_size") recordSize = (long)value;
                                else ipVersion = (long)value;
                            }
                        }
                    }
                    pos = metadata.Skip(pos);
                }
            }
            catch (InvalidDataException)
            {
                return null;
            }
            if (nodeCount <= 0 || nodeCount > uint.MaxValue / 2 || (ipVersion != 4 && ipVersion != 6)) return null;
            if (recordSize != 24 && recordSize != 28 && recordSize != 32) return null;
            if (nodeCount * recordSize * 2 / 8 + DataSectionSeparator > start) return null; // the tree must fit before the metadata
            return new MmdbSearchTree(file, (uint)nodeCount, (int)recordSize, (int)ipVersion, start, databaseType, buildEpoch);
        }

        /// <summary>The position in the file (for <see cref="Data"/>) of the record that answers <paramref name="address"/>, or -1 when none does.</summary>
        public int Find(IPAddress address)
        {
            if (address.AddressFamily == AddressFamily.InterNetwork) return Find(AddressScopes.IPv4Value(address));
            if (address.AddressFamily != AddressFamily.InterNetworkV6) return -1;
            SplitIPv6(address, out ulong high, out ulong low);
            return Find(high, low);
        }

        /// <summary>An IPv6 address as two 64-bit halves, most significant first (one allocation: the address's bytes).</summary>
        public static void SplitIPv6(IPAddress address, out ulong high, out ulong low)
        {
            byte[] b = address.GetAddressBytes();
            high = 0;
            low = 0;
            for (int i = 0; i < 8; i++)
            {
                high = (high << 8) | b[i];
                low = (low << 8) | b[i + 8];
            }
        }

        /// <summary>The position of the record that answers the IPv6 address <paramref name="high"/>:<paramref name="low"/> (see <see cref="SplitIPv6"/>), or -1 when none does (always in an IPv4-only tree).</summary>
        public int Find(ulong high, ulong low)
        {
            if (_ipVersion != 6) return -1;
            return Position(Walk(IPv6Prefix()[high >> 48], high, low, PrefixBits, 128));
        }

        /// <summary>The IPv6 prefix table, made by the first IPv6 lookup (at most twice, by two threads at once; kept once).</summary>
        private uint[] IPv6Prefix()
        {
            var prefix = Volatile.Read(ref _ipv6Prefix);
            if (prefix != null) return prefix;
            Interlocked.CompareExchange(ref _ipv6Prefix, PrefixTable(0), null);
            return _ipv6Prefix;
        }

        /// <summary>
        /// <see cref="Find(ulong, ulong)"/> for each of the first <paramref name="count"/> IPv6 addresses
        /// (<paramref name="high"/>[i]:<paramref name="low"/>[i]), walked side by side as
        /// <see cref="Find(uint[], int, int[])"/> walks IPv4 addresses; an IPv6 walk is longer (networks
        /// of /32 to /48 are 16 to 32 steps past the prefix table), so it gains more.
        /// </summary>
        public unsafe void Find(ulong[] high, ulong[] low, int count, int[] records)
        {
            if (_ipVersion != 6)
            {
                for (int i = 0; i < count; i++) records[i] = -1;
                return;
            }
            uint nodeCount = _nodeCount;
            var prefix = IPv6Prefix();
            bool walking = false;
            for (int i = 0; i < count; i++)
            {
                uint node = prefix[high[i] >> 48];
                records[i] = (int)node;
                walking |= node < nodeCount;
            }
            fixed (byte* f = _file)
            {
                for (int depth = PrefixBits; walking && depth < 128; depth++)
                {
                    walking = false;
                    for (int i = 0; i < count; i++)
                    {
                        uint node = (uint)records[i];
                        if (node >= nodeCount) continue;
                        node = Child(f, node, Bit(high[i], low[i], depth));
                        records[i] = (int)node;
                        walking |= node < nodeCount;
                    }
                }
            }
            for (int i = 0; i < count; i++) records[i] = Position((uint)records[i]);
        }

        /// <summary>The position of the record that answers the IPv4 address <paramref name="v4"/> (host order: a.b.c.d is a&lt;&lt;24 | …), or -1 when none does.</summary>
        public int Find(uint v4) => Position(Walk(_ipv4Prefix[v4 >> 16], (ulong)v4 << 32, 0, PrefixBits, 32));

        /// <summary>
        /// <see cref="Find(uint)"/> for each of the first <paramref name="count"/> IPv4 addresses of
        /// <paramref name="v4"/>, into the same index of <paramref name="records"/>. The walks go side by
        /// side, a level of the tree at a time: each step reads a node somewhere in megabytes of tree, and
        /// one address's steps wait for each other, but different addresses' steps do not, so the
        /// processor has the reads of the whole group in flight at once instead of one after another.
        /// </summary>
        public unsafe void Find(uint[] v4, int count, int[] records)
        {
            uint nodeCount = _nodeCount;
            var prefix = _ipv4Prefix;
            bool walking = false;
            for (int i = 0; i < count; i++)
            {
                uint node = prefix[v4[i] >> 16];
                records[i] = (int)node; // a node or a record pointer, kept as its bits until the walk ends
                walking |= node < nodeCount;
            }
            fixed (byte* f = _file)
            {
                for (int depth = PrefixBits; walking && depth < 32; depth++)
                {
                    walking = false;
                    int shift = 31 - depth;
                    for (int i = 0; i < count; i++)
                    {
                        uint node = (uint)records[i];
                        if (node >= nodeCount) continue;
                        node = Child(f, node, (int)(v4[i] >> shift) & 1);
                        records[i] = (int)node;
                        walking |= node < nodeCount;
                    }
                }
            }
            for (int i = 0; i < count; i++) records[i] = Position((uint)records[i]);
        }

        /// <summary>The left (<paramref name="bit"/> 0) or right record of <paramref name="node"/>, read in place from <paramref name="f"/> (the file).</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private unsafe uint Child(byte* f, uint node, int bit)
        {
            switch (_recordSize)
            {
                case 24:
                {
                    byte* p = f + (long)node * 6 + bit * 3;
                    return (uint)(p[0] << 16 | p[1] << 8 | p[2]);
                }
                case 28:
                {
                    byte* p = f + (long)node * 7;
                    return bit == 0
                        ? (uint)((p[3] & 0xF0) << 20 | p[0] << 16 | p[1] << 8 | p[2])
                        : (uint)((p[3] & 0x0F) << 24 | p[4] << 16 | p[5] << 8 | p[6]);
                }
                default:
                {
                    byte* p = f + (long)node * 8 + bit * 4;
                    return (uint)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]);
                }
            }
        }

        /// <summary>
        /// Follows the tree from <paramref name="node"/> by the bits of a 128-bit key (<paramref name="high"/>
        /// first, most significant bit first) from bit <paramref name="depth"/> up to <paramref name="bits"/>,
        /// until a record or "no data" is reached. The hot loop of every lookup: one loop per record size,
        /// reading the node's bytes in place (every node read is inside the tree, which TryCreate checked
        /// fits in the file).
        /// </summary>
        private unsafe uint Walk(uint node, ulong high, ulong low, int depth, int bits)
        {
            uint count = _nodeCount;
            fixed (byte* f = _file)
            {
                switch (_recordSize)
                {
                    case 24:
                        for (; depth < bits && node < count; depth++)
                        {
                            byte* p = f + (long)node * 6 + Bit(high, low, depth) * 3;
                            node = (uint)(p[0] << 16 | p[1] << 8 | p[2]);
                        }
                        break;
                    case 28:
                        for (; depth < bits && node < count; depth++)
                        {
                            byte* p = f + (long)node * 7;
                            node = Bit(high, low, depth) == 0
                                ? (uint)((p[3] & 0xF0) << 20 | p[0] << 16 | p[1] << 8 | p[2])
                                : (uint)((p[3] & 0x0F) << 24 | p[4] << 16 | p[5] << 8 | p[6]);
                        }
                        break;
                    default:
                        for (; depth < bits && node < count; depth++)
                        {
                            byte* p = f + (long)node * 8 + Bit(high, low, depth) * 4;
                            node = (uint)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]);
                        }
                        break;
                }
            }
            return node;
        }

        private static int Bit(ulong high, ulong low, int depth) => (int)((depth < 64 ? high << depth : low << (depth - 64)) >> 63);

        /// <summary>The file position of the record a walk ended on, or -1 (see <see cref="Find(IPAddress)"/>).</summary>
        private int Position(uint node)
        {
            if (node <= _nodeCount) return -1; // == node_count: no data; < node_count: ran out of bits (malformed)
            long position = (long)node - _nodeCount - DataSectionSeparator + Data.PointerBase; // the record's data-section offset, from the file's start
            return position < Data.End ? (int)position : Data.End; // past the data: reading it reports the file as damaged
        }

        private uint Record(uint node, int right)
        {
            long o = (long)node * _nodeBytes;
            var f = _file;
            switch (_recordSize)
            {
                case 24:
                    o += right * 3;
                    return (uint)(f[o] << 16 | f[o + 1] << 8 | f[o + 2]);
                case 28:
                    if (right == 0) return (uint)((f[o + 3] & 0xF0) << 20 | f[o] << 16 | f[o + 1] << 8 | f[o + 2]);
                    return (uint)((f[o + 3] & 0x0F) << 24 | f[o + 4] << 16 | f[o + 5] << 8 | f[o + 6]);
                default:
                    o += right * 4;
                    return (uint)(f[o] << 24 | f[o + 1] << 16 | f[o + 2] << 8 | f[o + 3]);
            }
        }

        private static int LastIndexOf(byte[] data, byte[] marker)
        {
            int stop = Math.Max(0, data.Length - MetadataSearchWindow);
            for (int i = data.Length - marker.Length; i >= stop; i--)
            {
                int j = 0;
                while (j < marker.Length && data[i + j] == marker[j]) j++;
                if (j == marker.Length) return i;
            }
            return -1;
        }
    }
}
