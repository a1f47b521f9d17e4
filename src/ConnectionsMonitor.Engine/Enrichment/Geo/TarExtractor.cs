using System;
using System.IO;
using System.Text;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>
    /// Just enough of a tar reader to take one .mmdb out of MaxMind's EDITION_DATE/EDITION.mmdb
    /// archives (netstandard2.0 has no System.Formats.Tar). Reads ustar and old-style headers, GNU
    /// long names ('L') and pax 'path' records; checks header checksums; reads the archive once,
    /// front to back, so it works on a decompressing stream.
    /// </summary>
    internal static class TarExtractor
    {
        private const int BlockSize = 512;

        /// <summary>True when the first block of <paramref name="path"/> is a tar header (ustar magic or a valid header checksum).</summary>
        public static bool LooksLikeTar(string path)
        {
            var block = new byte[BlockSize];
            using (var f = File.OpenRead(path))
            {
                if (ReadFully(f, block, 0, BlockSize) != BlockSize) return false;
            }
            return !IsZeroBlock(block) && ChecksumMatches(block);
        }

        /// <summary>
        /// Copies the regular file ending in .mmdb (the one named <paramref name="preferredName"/> when
        /// there are several) to <paramref name="destination"/> and returns its name in the archive.
        /// </summary>
        /// <exception cref="InvalidDataException">A corrupt or truncated archive, or no .mmdb in it.</exception>
        public static string ExtractMmdb(Stream archive, string destination, string preferredName)
        {
            var header = new byte[BlockSize];
            string longName = null;
            string extracted = null;
            while (true)
            {
                int read = ReadFully(archive, header, 0, BlockSize);
                if (read == 0 || (read == BlockSize && IsZeroBlock(header))) break; // end of archive
                if (read != BlockSize) throw new InvalidDataException("The tar archive is truncated (a header is cut short).");
                if (!ChecksumMatches(header)) throw new InvalidDataException("The tar archive is corrupt (a header checksum does not match).");

                long size = ParseOctal(header, 124, 12);
                char type = (char)header[156];
                string name = longName ?? HeaderName(header);
                longName = null;

                if (type == 'L' || type == 'x')
                {
                    var data = ReadEntry(archive, size);
                    string text = Encoding.UTF8.GetString(data);
                    longName = type == 'L' ? text.TrimEnd('\0') : PaxPath(text);
                    continue;
                }

                bool regular = type == '0' || type == '\0' || type == '7';
                bool wanted = regular && name.EndsWith(".mmdb", StringComparison.OrdinalIgnoreCase)
                    && (extracted == null || Path.GetFileName(name).Equals(preferredName, StringComparison.OrdinalIgnoreCase));
                if (wanted)
                {
                    if (size > GeoDatabaseUpdater.MaxFileBytes) throw new InvalidDataException("The tar archive holds a " + size + "-byte .mmdb, larger than any GeoIP database.");
                    using (var output = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None))
                        CopyExactly(archive, output, size);
                    SkipExactly(archive, Padding(size));
                    extracted = name;
                }
                else
                {
                    SkipExactly(archive, size + Padding(size));
                }
            }
            if (extracted == null) throw new InvalidDataException("The tar archive holds no .mmdb file.");
            return extracted;
        }

        private static string HeaderName(byte[] header)
        {
            string name = CString(header, 0, 100);
            bool ustar = Encoding.ASCII.GetString(header, 257, 5) == "ustar";
            string prefix = ustar ? CString(header, 345, 155) : "";
            return prefix.Length > 0 ? prefix + "/" + name : name;
        }

        /// <summary>The "path" record of a pax extended header ("LEN path=VALUE\n" records).</summary>
        private static string PaxPath(string records)
        {
            foreach (var line in records.Split('\n'))
            {
                int space = line.IndexOf(' ');
                if (space < 0) continue;
                string record = line.Substring(space + 1);
                if (record.StartsWith("path=", StringComparison.Ordinal)) return record.Substring(5);
            }
            return null;
        }

        private static byte[] ReadEntry(Stream s, long size)
        {
            if (size > 1024 * 1024) throw new InvalidDataException("The tar archive is corrupt (an extended header of " + size + " bytes).");
            var data = new byte[size];
            if (ReadFully(s, data, 0, (int)size) != size) throw new InvalidDataException("The tar archive is truncated.");
            SkipExactly(s, Padding(size));
            return data;
        }

        private static long Padding(long size) => (BlockSize - size % BlockSize) % BlockSize;

        private static void CopyExactly(Stream from, Stream to, long count)
        {
            var buffer = new byte[81920];
            while (count > 0)
            {
                int n = from.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
                if (n <= 0) throw new InvalidDataException("The tar archive is truncated (a file in it is cut short).");
                to.Write(buffer, 0, n);
                count -= n;
            }
        }

        private static void SkipExactly(Stream s, long count)
        {
            var buffer = new byte[8192];
            while (count > 0)
            {
                int n = s.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
                if (n <= 0) throw new InvalidDataException("The tar archive is truncated.");
                count -= n;
            }
        }

        private static int ReadFully(Stream s, byte[] buffer, int offset, int count)
        {
            int total = 0;
            while (total < count)
            {
                int n = s.Read(buffer, offset + total, count - total);
                if (n <= 0) break;
                total += n;
            }
            return total;
        }

        private static bool IsZeroBlock(byte[] block)
        {
            foreach (var b in block) if (b != 0) return false;
            return true;
        }

        /// <summary>The header checksum: the sum of all header bytes with the checksum field read as spaces.</summary>
        private static bool ChecksumMatches(byte[] header)
        {
            long stored;
            try { stored = ParseOctal(header, 148, 8); }
            catch (InvalidDataException) { return false; }
            long sum = 0;
            for (int i = 0; i < BlockSize; i++) sum += i >= 148 && i < 156 ? (byte)' ' : header[i];
            return sum == stored;
        }

        /// <summary>An octal number field (NUL- or space-terminated); base-256 sizes (over 8 GB) are refused.</summary>
        private static long ParseOctal(byte[] header, int offset, int length)
        {
            if ((header[offset] & 0x80) != 0) throw new InvalidDataException("The tar archive holds a file larger than a GeoIP database can be.");
            long value = 0;
            int i = offset, end = offset + length;
            while (i < end && header[i] == ' ') i++;
            for (; i < end && header[i] != 0 && header[i] != ' '; i++)
            {
                int digit = header[i] - '0';
                if (digit < 0 || digit > 7) throw new InvalidDataException("The tar archive is corrupt (a number field is not octal).");
                value = value * 8 + digit;
            }
            return value;
        }

        private static string CString(byte[] buffer, int offset, int length)
        {
            int end = Array.IndexOf(buffer, (byte)0, offset, length);
            return Encoding.UTF8.GetString(buffer, offset, (end < 0 ? offset + length : end) - offset);
        }
    }
}
