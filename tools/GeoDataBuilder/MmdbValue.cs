using System;
using System.Buffers.Binary;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ConnectionsMonitor.GeoDataBuilder
{
    /// <summary>
    /// One value of the MaxMind DB data section, converted from a plain .NET value and interned, so
    /// that equal values are the same instance. <see cref="Canonical"/> is the value's complete
    /// encoding without pointers; it is both the identity used for de-duplication and the bytes
    /// written for a scalar. Containers keep their children so the data section writer can replace
    /// repeated children with pointers.
    /// </summary>
    internal sealed class MmdbValue
    {
        private MmdbValue(byte[] canonical, int headerLength, MmdbValue[] children)
        {
            Canonical = canonical;
            HeaderLength = headerLength;
            Children = children;
        }

        /// <summary>The pointer-free encoding: control byte(s), size and payload.</summary>
        public byte[] Canonical { get; }

        /// <summary>For a container, the length of its control and size bytes; for a scalar, the whole length.</summary>
        public int HeaderLength { get; }

        /// <summary>A map's keys and values alternating, an array's elements; null for a scalar.</summary>
        public MmdbValue[] Children { get; }

        /// <summary>
        /// Converts .NET values to interned <see cref="MmdbValue"/>s. Equal values (maps compared after
        /// sorting their keys ordinally) come back as the same instance.
        /// </summary>
        internal sealed class Interner
        {
            private readonly Dictionary<byte[], MmdbValue> _values = new Dictionary<byte[], MmdbValue>(ByteArrayComparer.Instance);

            /// <summary>
            /// Converts <paramref name="value"/>: string (utf8_string), double, float, byte[] (bytes),
            /// ushort (uint16), uint (uint32), int (int32), ulong (uint64), bool (boolean), a string-keyed
            /// dictionary (map, keys written in ordinal order) or any other IList (array).
            /// </summary>
            /// <exception cref="ArgumentException">A value, at any depth, has no MaxMind DB type.</exception>
            public MmdbValue Convert(object value)
            {
                switch (value)
                {
                    case null:
                        throw new ArgumentException("MaxMind DB has no null value; leave the key out instead.");
                    case string text:
                        return Scalar(MmdbType.Utf8String, Encoding.UTF8.GetBytes(text));
                    case double number:
                        {
                            var payload = new byte[8];
                            BinaryPrimitives.WriteDoubleBigEndian(payload, number);
                            return Scalar(MmdbType.Double, payload);
                        }
                    case float number:
                        {
                            var payload = new byte[4];
                            BinaryPrimitives.WriteSingleBigEndian(payload, number);
                            return Scalar(MmdbType.Float, payload);
                        }
                    case byte[] bytes:
                        return Scalar(MmdbType.Bytes, (byte[])bytes.Clone());
                    case ushort number:
                        return Scalar(MmdbType.Uint16, UnsignedPayload(number));
                    case uint number:
                        return Scalar(MmdbType.Uint32, UnsignedPayload(number));
                    case ulong number:
                        return Scalar(MmdbType.Uint64, UnsignedPayload(number));
                    case int number:
                        // Two's complement: non-negative values drop their leading zero bytes, negative
                        // ones keep all four so the reader sees the sign.
                        return Scalar(MmdbType.Int32, UnsignedPayload((uint)number));
                    case bool flag:
                        return Intern(Header(MmdbType.Boolean, flag ? 1 : 0), null);
                    case IDictionary<string, object> map:
                        return Map(map);
                    case IReadOnlyDictionary<string, object> map:
                        return Map(map);
                    case IList list:
                        return Array(list);
                    default:
                        throw new ArgumentException(
                            $"{value.GetType()} has no MaxMind DB type; use string, double, float, byte[], ushort, uint, int, ulong, bool, " +
                            "Dictionary<string, object> or an array/list of those.");
                }
            }

            private MmdbValue Map(IEnumerable<KeyValuePair<string, object>> map)
            {
                var entries = map.OrderBy(entry => entry.Key, StringComparer.Ordinal).ToList();
                var children = new MmdbValue[entries.Count * 2];
                for (int i = 0; i < entries.Count; i++)
                {
                    if (entries[i].Key == null) throw new ArgumentException("A map key cannot be null.");
                    children[2 * i] = Convert(entries[i].Key);
                    try
                    {
                        children[2 * i + 1] = Convert(entries[i].Value);
                    }
                    catch (ArgumentException e)
                    {
                        throw new ArgumentException($"Map key '{entries[i].Key}': {e.Message}", e);
                    }
                }
                return Intern(Header(MmdbType.Map, entries.Count), children);
            }

            private MmdbValue Array(IList list)
            {
                var children = new MmdbValue[list.Count];
                for (int i = 0; i < list.Count; i++) children[i] = Convert(list[i]);
                return Intern(Header(MmdbType.Array, list.Count), children);
            }

            private MmdbValue Scalar(MmdbType type, byte[] payload)
            {
                byte[] header = Header(type, payload.Length);
                var canonical = new byte[header.Length + payload.Length];
                header.CopyTo(canonical, 0);
                payload.CopyTo(canonical, header.Length);
                return Intern(canonical, null);
            }

            private MmdbValue Intern(byte[] header, MmdbValue[] children)
            {
                byte[] canonical = header;
                if (children != null)
                {
                    canonical = new byte[header.Length + children.Sum(child => child.Canonical.Length)];
                    header.CopyTo(canonical, 0);
                    int position = header.Length;
                    foreach (MmdbValue child in children)
                    {
                        child.Canonical.CopyTo(canonical, position);
                        position += child.Canonical.Length;
                    }
                }
                if (_values.TryGetValue(canonical, out MmdbValue existing)) return existing;
                var value = new MmdbValue(canonical, header.Length, children);
                _values.Add(canonical, value);
                return value;
            }
        }

        /// <summary>Big-endian bytes of <paramref name="number"/> without leading zero bytes (zero is empty).</summary>
        private static byte[] UnsignedPayload(ulong number)
        {
            int length = 0;
            for (ulong rest = number; rest != 0; rest >>= 8) length++;
            var payload = new byte[length];
            for (int i = length - 1; i >= 0; i--, number >>= 8) payload[i] = (byte)number;
            return payload;
        }

        /// <summary>
        /// The control byte, the extended-type byte for types above 7, and the size bytes: sizes below
        /// 29 fit the control byte; 29, 30 and 31 announce one, two or three further bytes.
        /// </summary>
        internal static byte[] Header(MmdbType type, int size)
        {
            var header = new List<byte>(5);
            int typeBits = (int)type <= 7 ? (int)type : 0;
            int sizeBits;
            byte[] sizeBytes;
            if (size < 29)
            {
                sizeBits = size;
                sizeBytes = System.Array.Empty<byte>();
            }
            else if (size < 29 + 256)
            {
                sizeBits = 29;
                sizeBytes = new[] { (byte)(size - 29) };
            }
            else if (size < 285 + 65536)
            {
                sizeBits = 30;
                int rest = size - 285;
                sizeBytes = new[] { (byte)(rest >> 8), (byte)rest };
            }
            else if (size < 65821 + (1 << 24))
            {
                sizeBits = 31;
                int rest = size - 65821;
                sizeBytes = new[] { (byte)(rest >> 16), (byte)(rest >> 8), (byte)rest };
            }
            else
            {
                throw new ArgumentException($"A {type} of size {size} is larger than MaxMind DB allows.");
            }
            header.Add((byte)((typeBits << 5) | sizeBits));
            if ((int)type > 7) header.Add((byte)((int)type - 7));
            header.AddRange(sizeBytes);
            return header.ToArray();
        }

        private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
        {
            public static readonly ByteArrayComparer Instance = new ByteArrayComparer();

            public bool Equals(byte[] x, byte[] y) => x.AsSpan().SequenceEqual(y);

            public int GetHashCode(byte[] bytes)
            {
                var hash = new HashCode();
                hash.AddBytes(bytes);
                return hash.ToHashCode();
            }
        }
    }

    /// <summary>The MaxMind DB data types (spec, "Output Data Section").</summary>
    internal enum MmdbType
    {
        Pointer = 1,
        Utf8String = 2,
        Double = 3,
        Bytes = 4,
        Uint16 = 5,
        Uint32 = 6,
        Map = 7,
        Int32 = 8,
        Uint64 = 9,
        Array = 11,
        Boolean = 14,
        Float = 15,
    }
}
