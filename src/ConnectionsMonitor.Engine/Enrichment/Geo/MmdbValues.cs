using System;
using System.IO;
using System.Text;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>
    /// Reads values in the MaxMind DB data format (MaxMind DB format 2.0, "Output Data Section" and
    /// "Database Metadata") straight from the bytes of a file held in memory: the metadata map, and
    /// the data records GeoDatabase needs, a field at a time, without building MaxMind's response
    /// objects. Positions are indices into the file; pointers are resolved against
    /// <see cref="PointerBase"/> (the start of the data section). Every read is checked against
    /// <see cref="End"/>; a value that does not fit throws <see cref="InvalidDataException"/>.
    /// Stateless apart from the immutable file, so one instance serves any number of threads.
    /// </summary>
    internal sealed class MmdbValues
    {
        // Value types (the control byte's top three bits, or 7 + the extended type byte).
        internal const int Pointer = 1, Utf8String = 2, Double = 3, Bytes = 4, UInt16 = 5, UInt32 = 6, Map = 7,
            Int32 = 8, UInt64 = 9, UInt128 = 10, Array = 11, Boolean = 14, Float = 15;

        private const int MaxDepth = 64; // maps and arrays nest a few levels in real files; a deeper nest is a damaged file

        private readonly byte[] _file;

        /// <param name="file">The whole .mmdb file.</param>
        /// <param name="pointerBase">Where pointers count from (the data section's first byte).</param>
        /// <param name="end">The first position past the values (the metadata marker for the data section, the file's length for the metadata).</param>
        public MmdbValues(byte[] file, int pointerBase, int end)
        {
            _file = file;
            PointerBase = pointerBase;
            End = end;
        }

        /// <summary>Where pointers count from.</summary>
        public int PointerBase { get; }

        /// <summary>The first position past the values.</summary>
        public int End { get; }

        /// <summary>
        /// The value at <paramref name="pos"/>, following a pointer: its type, its size (length in
        /// bytes for strings and numbers, entries for maps and arrays, the value itself for booleans)
        /// and the position of its payload.
        /// </summary>
        public int Resolve(int pos, out int type, out int size)
        {
            int payload = Header(pos, out type, out size);
            if (type != Pointer) return payload;
            payload = Header(size, out type, out size);
            if (type == Pointer) throw new InvalidDataException("a pointer at byte " + pos + " points to another pointer");
            return payload;
        }

        /// <summary>The position just past the value at <paramref name="pos"/> (for a pointer: past the pointer, not its target).</summary>
        public int Skip(int pos) => Skip(pos, 0);

        private int Skip(int pos, int depth)
        {
            if (depth > MaxDepth) throw new InvalidDataException("values nest more than " + MaxDepth + " levels deep at byte " + pos);
            int payload = Header(pos, out int type, out int size);
            switch (type)
            {
                case Pointer:
                case Boolean:
                    return payload;
                case Map:
                    for (int i = 0; i < size * 2; i++) payload = Skip(payload, depth + 1);
                    return payload;
                case Array:
                    for (int i = 0; i < size; i++) payload = Skip(payload, depth + 1);
                    return payload;
                default:
                    return Within(payload, size) + size;
            }
        }

        /// <summary>The position of the value stored under <paramref name="key"/> (UTF-8 bytes) in the map at <paramref name="map"/>; -1 when the map has no such key, or <paramref name="map"/> is -1 or not a map.</summary>
        public int Find(int map, byte[] key)
        {
            if (map < 0) return -1;
            int pos = Resolve(map, out int type, out int entries);
            if (type != Map) return -1;
            for (int i = 0; i < entries; i++)
            {
                int keyAt = Resolve(pos, out int keyType, out int keyLength);
                pos = Skip(pos);
                if (keyType == Utf8String && keyLength == key.Length && Within(keyAt, keyLength) >= 0 && SameBytes(keyAt, key)) return pos;
                pos = Skip(pos);
            }
            return -1;
        }

        /// <summary>The map at <paramref name="map"/>, then the map under each key but the last, then the value under the last key; -1 where the path ends.</summary>
        public int Find(int map, byte[] key1, byte[] key2) => Find(Find(map, key1), key2);

        /// <inheritdoc cref="Find(int, byte[], byte[])"/>
        public int Find(int map, byte[] key1, byte[] key2, byte[] key3) => Find(Find(Find(map, key1), key2), key3);

        /// <summary>The string at <paramref name="pos"/>; null when <paramref name="pos"/> is -1 or holds another type.</summary>
        public string String(int pos)
        {
            if (pos < 0) return null;
            int at = Resolve(pos, out int type, out int length);
            if (type != Utf8String) return null;
            return Encoding.UTF8.GetString(_file, Within(at, length), length);
        }

        /// <summary>The integer (uint16, uint32, int32 or uint64 up to long.MaxValue) at <paramref name="pos"/>; null when <paramref name="pos"/> is -1 or holds another type.</summary>
        public long? Integer(int pos)
        {
            if (pos < 0) return null;
            int at = Resolve(pos, out int type, out int length);
            if (length > 8 || (type != UInt16 && type != UInt32 && type != Int32 && type != UInt64)) return null;
            ulong value = Unsigned(at, length);
            if (type == Int32) return length == 4 ? (int)(uint)value : (long)value;
            return value > long.MaxValue ? (long?)null : (long)value;
        }

        /// <summary>The floating-point number (double, or float widened) at <paramref name="pos"/>; null when <paramref name="pos"/> is -1 or holds another type.</summary>
        public double? Number(int pos)
        {
            if (pos < 0) return null;
            int at = Resolve(pos, out int type, out int length);
            if (type == Double && length == 8) return BitConverter.Int64BitsToDouble((long)Unsigned(at, 8));
            if (type == Float && length == 4) return SingleFromBits((uint)Unsigned(at, 4));
            return null;
        }

        /// <summary>Big-endian unsigned integer of <paramref name="length"/> (at most 8) bytes.</summary>
        public ulong Unsigned(int pos, int length)
        {
            Within(pos, length);
            ulong value = 0;
            for (int i = 0; i < length; i++) value = (value << 8) | _file[pos + i];
            return value;
        }

        /// <summary>Whether the bytes at <paramref name="pos"/> are <paramref name="text"/> (already checked to fit).</summary>
        private bool SameBytes(int pos, byte[] text)
        {
            for (int i = 0; i < text.Length; i++)
                if (_file[pos + i] != text[i]) return false;
            return true;
        }

        /// <summary>
        /// The control byte at <paramref name="pos"/> and the bytes that extend it: type and size as
        /// <see cref="Resolve"/> describes, or for a pointer its target's position in <paramref name="size"/>.
        /// Returns the position after them.
        /// </summary>
        private int Header(int pos, out int type, out int size)
        {
            int control = Byte(pos++);
            type = control >> 5;
            if (type == Pointer)
            {
                int width = (control >> 3) & 3, high = control & 7;
                long value = Byte(pos);
                for (int i = 1; i <= width; i++) value = (value << 8) | (uint)Byte(pos + i); // a byte: never negative
                switch (width)
                {
                    case 0: value |= (long)high << 8; break;
                    case 1: value = (value | (long)high << 16) + 2048; break;
                    case 2: value = (value | (long)high << 24) + 526336; break;
                    default: break; // four bytes; the three low bits are not used
                }
                long target = PointerBase + value;
                if (target >= End) throw new InvalidDataException("a pointer at byte " + (pos - 1) + " points past the data section");
                size = (int)target;
                return pos + width + 1;
            }
            if (type == 0) type = 7 + Byte(pos++);
            size = control & 0x1F;
            if (size == 29) size = 29 + Byte(pos++);
            else if (size == 30) { size = 285 + (Byte(pos) << 8 | Byte(pos + 1)); pos += 2; }
            else if (size == 31) { size = 65821 + (Byte(pos) << 16 | Byte(pos + 1) << 8 | Byte(pos + 2)); pos += 3; }
            return pos;
        }

        private int Byte(int pos)
        {
            if ((uint)pos >= (uint)End) throw new InvalidDataException("a value runs past byte " + End);
            return _file[pos];
        }

        /// <summary><paramref name="pos"/>, after checking that <paramref name="length"/> bytes from there fit.</summary>
        private int Within(int pos, int length)
        {
            if (pos < 0 || length < 0 || (long)pos + length > End) throw new InvalidDataException("a value of " + length + " bytes at byte " + pos + " runs past byte " + End);
            return pos;
        }

        private static unsafe float SingleFromBits(uint bits) => *(float*)&bits;
    }
}
