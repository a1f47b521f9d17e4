using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>
    /// The YAML side of the loader: parses text into YamlDotNet's representation model, and reads
    /// typed values out of nodes while collecting every error and warning with its line and key, so
    /// one run reports all the problems of a file. Knows the shapes (number, colour, list …), not the
    /// schema; ConfigLoader knows the schema.
    /// </summary>
    internal sealed class YamlConfigReader
    {
        private readonly string _source;

        public YamlConfigReader(string source) { _source = source; }

        public List<ConfigError> Errors { get; } = new List<ConfigError>();
        public List<ConfigWarning> Warnings { get; } = new List<ConfigWarning>();

        public void Error(YamlNode at, string key, string detail) => Error(at.Start, key, detail);
        public void Error(Mark at, string key, string detail) =>
            Errors.Add(new ConfigError(_source, (int)at.Line, (int)at.Column, key, detail));

        // ---- parsing -------------------------------------------------------------------------------

        /// <summary>
        /// The root node of the only document, or null for an empty file (all defaults). Syntax errors
        /// and duplicate keys become errors. Duplicates are found in a pass over the parser events
        /// first, because YamlStream stops at the first one and does not say where in the tree it is.
        /// </summary>
        public YamlNode Parse(string text)
        {
            if (!CheckIndentation(text)) return null;
            if (!CheckEvents(text)) return null;
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException ex)
            {
                Error(ex.Start, null, SyntaxDetail(ex));
                return null;
            }
            if (stream.Documents.Count == 0) return null;
            return stream.Documents[0].RootNode;
        }

        private bool CheckEvents(string text)
        {
            var parser = new Parser(new StringReader(text));
            // One frame per open collection: the keys seen so far in a mapping, or the next index in a sequence.
            var frames = new Stack<Frame>();
            int documents = 0;
            int errorsBefore = Errors.Count;
            Mark lastGood = Mark.Empty;
            try
            {
                while (parser.MoveNext())
                {
                    var ev = parser.Current;
                    lastGood = ev.End;
                    if (ev is DocumentStart)
                    {
                        if (++documents == 2)
                            Error(ev.Start, null, "expected one YAML document, found a second one (a '---' line); only one configuration per file.");
                        continue;
                    }
                    if (ev is MappingEnd || ev is SequenceEnd) { frames.Pop(); continue; }
                    if (!(ev is NodeEvent || ev is AnchorAlias)) continue;

                    string path = frames.Count == 0 ? "" : frames.Peek().Next(ev, this);
                    if (ev is MappingStart) frames.Push(new Frame(path, isMapping: true));
                    else if (ev is SequenceStart) frames.Push(new Frame(path, isMapping: false));
                }
            }
            catch (YamlException ex)
            {
                Error(ex.Start, null, SyntaxDetail(ex));
            }
            catch (InvalidOperationException)
            {
                // YamlDotNet's parser throws this (with no position) for an unclosed flow collection.
                Error(lastGood, null, "this is not valid YAML: the text cannot be parsed after this point; check for an unclosed [ or { or a missing quote.");
            }
            return Errors.Count == errorsBefore;
        }

        /// <summary>
        /// Tabs in indentation, each reported at its own line and column. YAML allows only spaces there, and
        /// YamlDotNet reports the mapping the tab breaks (a line or more earlier), which sends the reader to the
        /// wrong place. Lines inside a block scalar (after "|" or "&gt;") are not indentation and are skipped.
        /// </summary>
        private bool CheckIndentation(string text)
        {
            int errorsBefore = Errors.Count;
            string[] lines = text.Replace("\r\n", "\n").Split('\n');
            int blockIndent = -1; // indentation of the key that opened a block scalar, while inside one
            for (int n = 0; n < lines.Length; n++)
            {
                string line = lines[n];
                int lead = 0;
                while (lead < line.Length && (line[lead] == ' ' || line[lead] == '\t')) lead++;
                bool blank = lead == line.Length || line[lead] == '#';
                if (blockIndent >= 0)
                {
                    if (blank || lead > blockIndent) continue;
                    blockIndent = -1;
                }
                if (blank) continue;
                int tab = line.IndexOf('\t', 0, lead);
                if (tab >= 0)
                {
                    string content = line.Substring(lead);
                    int colon = content.IndexOf(':');
                    string what = colon > 0 ? "the key '" + content.Substring(0, colon).Trim() + "' is" : "this line is";
                    Errors.Add(new ConfigError(_source, n + 1, tab + 1, null,
                        what + " indented with a tab character; YAML allows only spaces for indentation: replace the tab with spaces (as many as the keys above it at the same level)."));
                    continue;
                }
                string trimmed = line.TrimEnd();
                if (trimmed.EndsWith("|", StringComparison.Ordinal) || trimmed.EndsWith(">", StringComparison.Ordinal)
                    || trimmed.EndsWith("|-", StringComparison.Ordinal) || trimmed.EndsWith(">-", StringComparison.Ordinal))
                    blockIndent = lead;
            }
            return Errors.Count == errorsBefore;
        }

        /// <summary>A YamlDotNet syntax error in the loader's words, with what to do for the mistakes people make.</summary>
        private static string SyntaxDetail(YamlException ex)
        {
            string detail = "this is not valid YAML: " + ex.Message;
            if (ex.Message.IndexOf("hexadecimal", StringComparison.OrdinalIgnoreCase) >= 0
                || ex.Message.IndexOf("escape", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                detail += (detail.EndsWith(".", StringComparison.Ordinal) ? "" : ".")
                    + " In double quotes a backslash starts an escape sequence (\\U, \\x and \\u expect a hexadecimal number), so a Windows path"
                    + " such as \"C:\\Users\\me\\GeoIP\" cannot be written that way: use single quotes ('C:\\Users\\me\\GeoIP'),"
                    + " forward slashes (\"C:/Users/me/GeoIP\") or no quotes.";
            }
            return detail;
        }

        private sealed class Frame
        {
            private readonly string _path;
            private readonly bool _isMapping;
            private readonly HashSet<string> _keys = new HashSet<string>(StringComparer.Ordinal);
            private bool _expectKey = true;
            private string _pendingKey;
            private int _index;

            public Frame(string path, bool isMapping) { _path = path; _isMapping = isMapping; }

            /// <summary>The dotted path of the node that starts with this event; reports duplicate keys.</summary>
            public string Next(ParsingEvent ev, YamlConfigReader reader)
            {
                if (!_isMapping) return Index(_path, _index++);
                if (_expectKey)
                {
                    _expectKey = false;
                    _pendingKey = ev is Scalar s ? s.Value : null;
                    if (_pendingKey != null && !_keys.Add(_pendingKey))
                        reader.Error(ev.Start, Child(_path, _pendingKey), "duplicate key: this key already appears earlier in the same section; keep only one (the values are checked once the file reads as YAML).");
                    return Child(_path, _pendingKey ?? "?");
                }
                _expectKey = true;
                return Child(_path, _pendingKey ?? "?");
            }
        }

        // ---- paths ---------------------------------------------------------------------------------

        public static string Child(string parent, string key)
        {
            bool plain = key.Length > 0 && (char.IsLetter(key[0]) || key[0] == '_') && key.All(c => char.IsLetterOrDigit(c) || c == '_');
            // A key that is not a plain name (a port: '22') in brackets, so the message's quotes around the whole path do not
            // double up ("key 'highlightedPorts.'99999''", a trial found hard to read): highlightedPorts["99999"].
            if (!plain) return (parent ?? "") + "[\"" + key + "\"]";
            return string.IsNullOrEmpty(parent) ? key : parent + "." + key;
        }

        public static string Index(string parent, int index) => parent + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";

        // ---- node shapes ---------------------------------------------------------------------------

        /// <summary>An absent value, `key:` with nothing after it, `~` or `null`: the key takes its default.</summary>
        public static bool IsNull(YamlNode node) =>
            node == null || node is YamlScalarNode s && s.Style == ScalarStyle.Plain
                && (s.Value == "" || s.Value == "~" || string.Equals(s.Value, "null", StringComparison.OrdinalIgnoreCase));

        /// <summary>How a node is named in "found …": the text for a scalar (shortened), its shape otherwise.</summary>
        public static string Describe(YamlNode node)
        {
            if (IsNull(node)) return "an empty value";
            if (node is YamlMappingNode) return "a section of 'key: value' entries";
            if (node is YamlSequenceNode) return "a list";
            string text = ((YamlScalarNode)node).Value;
            if (text.Length > 60) text = text.Substring(0, 57) + "...";
            return "'" + text + "'";
        }

        /// <summary>How "found …" names a scalar that may be a secret.</summary>
        public const string SecretScalar = "a plain value (not shown: it may be a secret)";

        private void Expected(YamlNode node, string key, string expected) =>
            Error(node, key, "expected " + expected + ", found " + Describe(node) + ".");

        /// <summary>The text of a non-empty scalar; otherwise an error.</summary>
        private bool TryScalar(YamlNode node, string key, string expected, out string text)
        {
            text = null;
            if (node is YamlScalarNode s && !IsNull(node))
            {
                text = s.Value;
                return true;
            }
            Expected(node, key, expected);
            return false;
        }

        // ---- typed values: each returns the fallback when the node is absent or wrong -------------

        public bool Bool(YamlNode node, string key, bool fallback)
        {
            if (IsNull(node)) return fallback;
            if (TryScalar(node, key, "true or false", out var text))
            {
                if (string.Equals(text, "true", StringComparison.OrdinalIgnoreCase)) return true;
                if (string.Equals(text, "false", StringComparison.OrdinalIgnoreCase)) return false;
                Expected(node, key, "true or false");
            }
            return fallback;
        }

        /// <summary>A whole number within [min, max]; `expected` describes the range in words for the message.</summary>
        public long Integer(YamlNode node, string key, long min, long max, string expected, long fallback)
        {
            if (IsNull(node)) return fallback;
            if (TryInteger(node, key, min, max, expected, out long value)) return value;
            return fallback;
        }

        public bool TryInteger(YamlNode node, string key, long min, long max, string expected, out long value)
        {
            value = 0;
            if (!TryScalar(node, key, expected, out var text)) return false;
            if (long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
                return true;
            Expected(node, key, expected);
            return false;
        }

        // 0 is no port a connection or a rule can have (it stands for "none" in a listener's remote end): a list of ports
        // that takes it (suspiciousPorts: [0]) would hold a rule that can never fire, so 1 to 65535, as the cmdlets take.
        public const string PortExpectation = "a port number from 1 to 65535";

        public bool TryPort(YamlNode node, string key, out int port)
        {
            bool ok = TryInteger(node, key, 1, 65535, PortExpectation, out long value);
            port = (int)value;
            return ok;
        }

        public string Text(YamlNode node, string key, string expected, string fallback)
        {
            if (IsNull(node)) return fallback;
            return TryScalar(node, key, expected, out var text) ? text : fallback;
        }

        /// <summary>A secret string: an error never quotes it, and an empty value means "not set".</summary>
        public string Secret(YamlNode node, string key)
        {
            if (IsNull(node)) return null;
            if (node is YamlScalarNode s) return s.Value.Length == 0 ? null : s.Value;
            Expected(node, key, "a text value");
            return null;
        }

        /// <summary>A scalar parsed by one of the engine's TryParse methods, whose error text already says what was expected.</summary>
        public bool TryParsed<T>(YamlNode node, string key, string expected, TryParser<T> parse, out T value)
        {
            value = default(T);
            if (!TryScalar(node, key, expected, out var text)) return false;
            if (parse(text, out value, out var error)) return true;
            Error(node, key, error);
            return false;
        }

        public delegate bool TryParser<T>(string text, out T value, out string error);

        public ConfigColor Color(YamlNode node, string key, ConfigColor fallback)
        {
            if (IsNull(node)) return fallback;
            return TryParsed<ConfigColor>(node, key, ConfigColor.ExpectedForms, ConfigColor.TryParse, out var color) ? color : fallback;
        }

        /// <summary>
        /// A list; each item goes through readItem (which reports its own errors and returns false to
        /// drop the item). Absent or empty → fallback.
        /// </summary>
        /// <param name="secret">The items may be secrets: a scalar found instead of the list is not quoted.</param>
        public IReadOnlyList<T> List<T>(YamlNode node, string key, IReadOnlyList<T> fallback, ItemReader<T> readItem, bool secret = false)
        {
            if (IsNull(node)) return fallback;
            if (!(node is YamlSequenceNode seq))
            {
                const string expected = "a list, such as [a, b] or one '- item' line per entry";
                if (secret && node is YamlScalarNode) Error(node, key, "expected " + expected + ", found " + SecretScalar + ".");
                else Expected(node, key, expected);
                return fallback;
            }
            var items = new List<T>();
            for (int i = 0; i < seq.Children.Count; i++)
                if (readItem(seq.Children[i], Index(key, i), out var item)) items.Add(item);
            return MonitorConfig.ReadOnly(items);
        }

        public delegate bool ItemReader<T>(YamlNode node, string key, out T item);

        /// <summary>
        /// Reads a section with fixed key names: `read` asks for each known key; afterwards every key
        /// it did not ask for is warned about, with a suggestion among the keys it did ask for.
        /// </summary>
        public void Section(YamlNode node, string key, Action<YamlSection> read)
        {
            var section = new YamlSection(this, node, key);
            read(section);
            foreach (var entry in section.All.Where(e => !section.Asked.Contains(e.Key)))
                WarnUnknownKey(entry.KeyNode, section.Path, entry.Key, section.Asked);
        }

        /// <summary>Entries of a section whose keys are data (ports, column names); non-text keys are reported.</summary>
        public IReadOnlyList<Entry> Entries(YamlNode node, string key) => new YamlSection(this, node, key).All;

        public void WarnUnknownKey(YamlNode keyNode, string parentPath, string keyText, IEnumerable<string> known)
        {
            string suggestion = NameSuggestion.Nearest(keyText, known);
            string detail = "unknown key, ignored" + (suggestion != null ? "; did you mean '" + suggestion + "'?" : ".");
            Warnings.Add(new ConfigWarning(_source, (int)keyNode.Start.Line, (int)keyNode.Start.Column, Child(parentPath, keyText), detail, suggestion));
        }

        public struct Entry
        {
            public string Key;
            public YamlNode KeyNode;
            public YamlNode Value;
        }

        /// <summary>
        /// A section with fixed key names. Each accessor marks its key as known and reads the value
        /// with the reader's typed helpers, falling back to the default when the key is absent.
        /// </summary>
        public sealed class YamlSection
        {
            private readonly YamlConfigReader _r;

            internal YamlSection(YamlConfigReader reader, YamlNode node, string path)
            {
                _r = reader;
                Path = path;
                var entries = new List<Entry>();
                if (node is YamlMappingNode map)
                {
                    foreach (var pair in map.Children)
                    {
                        if (pair.Key is YamlScalarNode k) entries.Add(new Entry { Key = k.Value, KeyNode = k, Value = pair.Value });
                        else reader.Error(pair.Key, path, "expected a plain key name, found " + Describe(pair.Key) + " used as a key.");
                    }
                }
                else if (!IsNull(node))
                {
                    reader.Expected(node, path, "a section of 'key: value' entries");
                }
                All = entries;
            }

            public string Path { get; }
            internal IReadOnlyList<Entry> All { get; }
            internal HashSet<string> Asked { get; } = new HashSet<string>(StringComparer.Ordinal);

            /// <summary>The value node of a known key (null when absent), and its dotted path.</summary>
            public YamlNode Get(string key, out string path)
            {
                Asked.Add(key);
                path = Child(Path, key);
                foreach (var e in All)
                    if (e.Key == key) return e.Value;
                return null;
            }

            public bool Bool(string key, bool fallback) => _r.Bool(Get(key, out var p), p, fallback);
            public long Integer(string key, long min, long max, string expected, long fallback) => _r.Integer(Get(key, out var p), p, min, max, expected, fallback);
            public string Text(string key, string expected, string fallback) => _r.Text(Get(key, out var p), p, expected, fallback);
            public string Secret(string key) => _r.Secret(Get(key, out var p), p);
            public ConfigColor Color(string key, ConfigColor fallback) => _r.Color(Get(key, out var p), p, fallback);
            public IReadOnlyList<T> List<T>(string key, IReadOnlyList<T> fallback, ItemReader<T> readItem, bool secret = false) => _r.List(Get(key, out var p), p, fallback, readItem, secret);
            public void Section(string key, Action<YamlSection> read) => _r.Section(Get(key, out var p), p, read);
            public IReadOnlyList<Entry> Entries(string key, out string path) => _r.Entries(Get(key, out path), path);
        }
    }
}
