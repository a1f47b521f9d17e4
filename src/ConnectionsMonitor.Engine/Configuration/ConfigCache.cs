using System;
using System.Collections.Generic;
using System.IO;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>
    /// Keeps the last load of each file so that every snapshot can ask for the configuration without
    /// re-parsing an unchanged file. A file counts as unchanged while its full path, last-write time
    /// and length are the same. Policy on failure: a load that throws caches nothing and evicts the
    /// entry for that path, so the broken version is re-read (and fails again) until it is fixed, and
    /// a caller never gets a configuration that no longer matches the file. Thread-safe.
    /// </summary>
    public sealed class ConfigCache
    {
        private readonly object _gate = new object();
        private readonly Dictionary<string, Entry> _entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        private readonly ConfigLoadResult _builtIn = ConfigLoadResult.BuiltInDefaults();

        private sealed class Entry
        {
            public DateTime LastWriteUtc;
            public long Length;
            public ConfigLoadResult Result;
        }

        /// <summary>How many times a file was actually parsed (for diagnostics and tests).</summary>
        public int ParseCount { get; private set; }

        /// <summary>The configuration at a location; the same instance while the file is unchanged.</summary>
        public ConfigLoadResult Get(ConfigLocation location)
        {
            if (location == null) throw new ArgumentNullException(nameof(location));
            return location.Path == null ? _builtIn : Get(location.Path);
        }

        public ConfigLoadResult Get(string path)
        {
            string full = Path.GetFullPath(path);
            lock (_gate)
            {
                // Stamp before reading: if the file changes while it is read, the next call sees a
                // newer stamp than the one stored and reads again.
                var info = new FileInfo(full);
                if (!info.Exists)
                {
                    _entries.Remove(full);
                    throw Directory.Exists(full)
                        ? new ConfigException(full, "this is a folder; expected the path of a configuration file (config.yml) in it.")
                        : ConfigException.Missing(full, "the configuration file does not exist.");
                }
                var stamp = (Time: info.LastWriteTimeUtc, info.Length);
                if (_entries.TryGetValue(full, out var entry) && entry.LastWriteUtc == stamp.Time && entry.Length == stamp.Length)
                    return entry.Result;

                _entries.Remove(full);
                ParseCount++;
                var result = ConfigLoader.Load(full);
                _entries[full] = new Entry { LastWriteUtc = stamp.Time, Length = stamp.Length, Result = result };
                return result;
            }
        }
    }
}
