using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ConnectionsMonitor.GeoDataBuilder
{
    /// <summary>
    /// Reads RFC 4180 CSV: comma-separated fields, a field in double quotes may hold commas, line
    /// breaks and doubled quotes ("" for "). Lines may end in LF or CRLF.
    /// </summary>
    public static class CsvReader
    {
        /// <summary>A CSV record and the line it starts on (1-based).</summary>
        public readonly record struct Row(int LineNumber, IReadOnlyList<string> Fields);

        /// <summary>The records of <paramref name="reader"/>; empty lines are skipped.</summary>
        /// <exception cref="FormatException">A quoted field is not closed, or text follows its closing quote.</exception>
        public static IEnumerable<Row> Read(TextReader reader)
        {
            var fields = new List<string>();
            var field = new StringBuilder();
            int line = 1;
            int rowLine = 1;
            bool inQuotes = false;
            bool fieldWasQuoted = false;
            int c;
            while ((c = reader.Read()) >= 0)
            {
                if (inQuotes)
                {
                    if (c == '"')
                    {
                        if (reader.Peek() == '"')
                        {
                            reader.Read();
                            field.Append('"');
                        }
                        else
                        {
                            inQuotes = false;
                        }
                    }
                    else
                    {
                        if (c == '\n') line++;
                        field.Append((char)c);
                    }
                    continue;
                }
                switch (c)
                {
                    case '"':
                        if (field.Length > 0 || fieldWasQuoted) throw new FormatException($"Line {line}: a quote inside an unquoted field.");
                        inQuotes = true;
                        fieldWasQuoted = true;
                        break;
                    case ',':
                        fields.Add(field.ToString());
                        field.Clear();
                        fieldWasQuoted = false;
                        break;
                    case '\r':
                        if (reader.Peek() != '\n') throw new FormatException($"Line {line}: a carriage return outside quotes that does not end the line.");
                        break;
                    case '\n':
                        if (fields.Count > 0 || field.Length > 0 || fieldWasQuoted)
                        {
                            fields.Add(field.ToString());
                            yield return new Row(rowLine, fields.ToArray());
                        }
                        fields.Clear();
                        field.Clear();
                        fieldWasQuoted = false;
                        line++;
                        rowLine = line;
                        break;
                    default:
                        if (fieldWasQuoted) throw new FormatException($"Line {line}: text after a closing quote.");
                        field.Append((char)c);
                        break;
                }
            }
            if (inQuotes) throw new FormatException($"Line {rowLine}: a quoted field is not closed.");
            if (fields.Count > 0 || field.Length > 0 || fieldWasQuoted)
            {
                fields.Add(field.ToString());
                yield return new Row(rowLine, fields.ToArray());
            }
        }
    }
}
