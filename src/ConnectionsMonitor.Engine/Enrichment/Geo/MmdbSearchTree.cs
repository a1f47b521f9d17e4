using System;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>
    /// The search tree of a MaxMind DB file, walked directly (MaxMind DB format 2.0, "Search Tree
    /// Section"), to find which data record answers an address without decoding it. Many addresses
    /// share one record (a country database has a few hundred records for billions of addresses), so
    /// GeoDatabase decodes each record once, through MaxMind.Db, and answers later hits from the
    /// offset alone. Reads nothing but the tree and the metadata's node_count, record_size and
    /// ip_version.
    /// </summary>
    internal sealed class MmdbSearchTree
    {
        private static readonly byte[] MetadataMarker = { 0xAB, 0xCD, 0xEF, (byte)'M', (byte)'a', (byte)'x', (byte)'M', (byte)'i', (byte)'n', (byte)'d', (byte)'.', (byte)'c', (byte)'o', (byte)'m' };
        private const int MetadataSearchWindow = 128 * 1024; // the spec: metadata is within the last 128 KiB

        private readonly byte[] _file;
        private readonly uint _nodeCount;
        private readonly int _recordSize;
        private readonly int _nodeBytes;
        private readonly int _ipVersion;
        private readonly uint _ipv4Start;   // the node after 96 zero bits (IPv6 trees), where IPv4 lookups begin
        private readonly int _ipv4StartDepth;

        private MmdbSearchTree(byte[] file, uint nodeCount, int recordSize, int ipVersion)
        {
            _file = file;
            _nodeCount = nodeCount;
            _recordSize = recordSize;
            _nodeBytes = recordSize * 2 / 8;
            _ipVersion = ipVersion;
            uint node = 0;
            int depth = 0;
            if (ipVersion == 6)
                for (; depth < 96 && node < nodeCount; depth++) node = Record(node, 0);
            _ipv4Start = node;
            _ipv4StartDepth = depth;
        }

        /// <summary>The tree of a whole .mmdb file held in memory; null when the metadata cannot be read this way (the caller then decodes every lookup).</summary>
        public static MmdbSearchTree TryCreate(byte[] file)
        {
            int start = LastIndexOf(file, MetadataMarker);
            if (start < 0) return null;
            int pos = start + MetadataMarker.Length;
            long nodeCount = -1, recordSize = -1, ipVersion = -1;
            try
            {
                if (!ReadControl(file, ref pos, out int type, out int size) || type != 7) return null; // a map
                for (int i = 0; i < size; i++)
                {
                    if (!ReadControl(file, ref pos, out int keyType, out int keyLength) || keyType != 2) return null;
                    string key = Encoding.UTF8.GetString(file, pos, keyLength);
                    pos += keyLength;
                    if (!ReadControl(file, ref pos, out int valueType, out int valueSize)) return null;
                    if ((valueType == 5 || valueType == 6 || valueType == 9) && valueSize <= 8)
                    {
                        long value = 0;
                        for (int b = 0; b < valueSize; b++) value = (value << 8) | file[pos + b];
                        if (key == "node_count") nodeCount = value;
                        else if (key == "record_size") recordSize = value;
                        else if (key == "ip_version") ipVersion = value;
                    }
                    if (!Skip(file, ref pos, valueType, valueSize)) return null;
                }
            }
            catch (IndexOutOfRangeException)
            {
                return null;
            }
            if (nodeCount <= 0 || nodeCount > uint.MaxValue / 2 || (ipVersion != 4 && ipVersion != 6)) return null;
            if (recordSize != 24 && recordSize != 28 && recordSize != 32) return null;
            if (nodeCount * recordSize * 2 / 8 + 16 > start) return null; // the tree must fit before the metadata
            return new MmdbSearchTree(file, (uint)nodeCount, (int)recordSize, (int)ipVersion);
        }

        /// <summary>The data-section offset of the record that answers <paramref name="address"/>, or -1 when none does.</summary>
        public long Find(IPAddress address)
        {
            uint node;
            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                node = _ipv4Start;
                uint v4 = AddressScopes.IPv4Value(address);
                for (int bit = 31; bit >= 0 && node < _nodeCount; bit--)
                    node = Record(node, (int)(v4 >> bit) & 1);
            }
            else if (address.AddressFamily == AddressFamily.InterNetworkV6 && _ipVersion == 6)
            {
                byte[] bytes = address.GetAddressBytes();
                node = 0;
                for (int i = 0; i < 128 && node < _nodeCount; i++)
                    node = Record(node, (bytes[i >> 3] >> (7 - (i & 7))) & 1);
            }
            else
            {
                return -1;
            }
            if (node <= _nodeCount) return -1; // == node_count: no data; < node_count: ran out of bits (malformed)
            return (long)node - _nodeCount - 16;
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

        /// <summary>A control byte (and extended type and size bytes): the field's type and its size or length.</summary>
        private static bool ReadControl(byte[] f, ref int pos, out int type, out int size)
        {
            int control = f[pos++];
            type = control >> 5;
            size = 0;
            if (type == 1) // pointer: never expected in metadata
                return false;
            if (type == 0) type = 7 + f[pos++];
            size = control & 0x1F;
            if (size == 29) size = 29 + f[pos++];
            else if (size == 30) { size = 285 + (f[pos] << 8 | f[pos + 1]); pos += 2; }
            else if (size == 31) { size = 65821 + (f[pos] << 16 | f[pos + 1] << 8 | f[pos + 2]); pos += 3; }
            return true;
        }

        /// <summary>Steps over a value whose control byte was just read.</summary>
        private static bool Skip(byte[] f, ref int pos, int type, int size)
        {
            switch (type)
            {
                case 7: // map: size pairs
                    for (int i = 0; i < size * 2; i++)
                    {
                        if (!ReadControl(f, ref pos, out int t, out int s) || !Skip(f, ref pos, t, s)) return false;
                    }
                    return true;
                case 11: // array
                    for (int i = 0; i < size; i++)
                    {
                        if (!ReadControl(f, ref pos, out int t, out int s) || !Skip(f, ref pos, t, s)) return false;
                    }
                    return true;
                case 14: // boolean: the value is the size
                    return true;
                case 3: pos += 8; return true;  // double
                case 15: pos += 4; return true; // float
                default: pos += size; return true; // strings, bytes, integers
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
