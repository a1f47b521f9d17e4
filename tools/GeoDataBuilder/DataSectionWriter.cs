using System;
using System.Collections.Generic;
using System.IO;

namespace ConnectionsMonitor.GeoDataBuilder
{
    /// <summary>
    /// Lays out the data section. Each distinct value is written once in full; a later occurrence of
    /// the same value nested in a map or array becomes a pointer to the first one when the pointer is
    /// shorter than the value (map keys such as "autonomous_system_organization" shrink to 3 bytes).
    /// </summary>
    internal sealed class DataSectionWriter
    {
        private const int TwoBytePointerLimit = 1 << 11;
        private const int ThreeBytePointerLimit = TwoBytePointerLimit + (1 << 19);
        private const int FourBytePointerLimit = ThreeBytePointerLimit + (1 << 27);

        private readonly MemoryStream _section = new MemoryStream();
        private readonly Dictionary<MmdbValue, int> _offsets = new Dictionary<MmdbValue, int>(ReferenceEqualityComparer.Instance);

        /// <summary>Bytes written so far.</summary>
        public long Length => _section.Length;

        /// <summary>
        /// Returns the data-section offset of <paramref name="value"/>, writing it first if it is not
        /// there yet. The offset always addresses the value itself, never a pointer.
        /// </summary>
        public int Add(MmdbValue value)
        {
            if (_offsets.TryGetValue(value, out int offset)) return offset;
            return WriteInline(value);
        }

        /// <summary>Copies the section to <paramref name="output"/>.</summary>
        public void CopyTo(Stream output)
        {
            _section.Position = 0;
            _section.CopyTo(output);
        }

        private int WriteInline(MmdbValue value)
        {
            if (_section.Length > int.MaxValue) throw new InvalidOperationException("The data section is larger than 2 GiB.");
            int offset = (int)_section.Length;
            _offsets.TryAdd(value, offset);
            if (value.Children == null)
            {
                _section.Write(value.Canonical, 0, value.Canonical.Length);
                return offset;
            }
            _section.Write(value.Canonical, 0, value.HeaderLength);
            foreach (MmdbValue child in value.Children) WriteNested(child);
            return offset;
        }

        private void WriteNested(MmdbValue value)
        {
            if (_offsets.TryGetValue(value, out int target) && PointerLength(target) < value.Canonical.Length)
                WritePointer(target);
            else
                WriteInline(value);
        }

        private static int PointerLength(int target) =>
            target < TwoBytePointerLimit ? 2 : target < ThreeBytePointerLimit ? 3 : target < FourBytePointerLimit ? 4 : 5;

        /// <summary>
        /// A pointer's control byte is 001SSVVV: SS picks 11, 19, 27 or 32 value bits, the wider forms
        /// biased by the ranges the narrower ones cover (spec, "pointer - 1").
        /// </summary>
        private void WritePointer(int target)
        {
            const int pointerType = (int)MmdbType.Pointer << 5;
            if (target < TwoBytePointerLimit)
            {
                _section.WriteByte((byte)(pointerType | (target >> 8)));
                _section.WriteByte((byte)target);
            }
            else if (target < ThreeBytePointerLimit)
            {
                int value = target - TwoBytePointerLimit;
                _section.WriteByte((byte)(pointerType | (1 << 3) | (value >> 16)));
                _section.WriteByte((byte)(value >> 8));
                _section.WriteByte((byte)value);
            }
            else if (target < FourBytePointerLimit)
            {
                int value = target - ThreeBytePointerLimit;
                _section.WriteByte((byte)(pointerType | (2 << 3) | (value >> 24)));
                _section.WriteByte((byte)(value >> 16));
                _section.WriteByte((byte)(value >> 8));
                _section.WriteByte((byte)value);
            }
            else
            {
                _section.WriteByte((byte)(pointerType | (3 << 3)));
                _section.WriteByte((byte)(target >> 24));
                _section.WriteByte((byte)(target >> 16));
                _section.WriteByte((byte)(target >> 8));
                _section.WriteByte((byte)target);
            }
        }
    }
}
