using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using ConnectionsMonitor.Engine.Configuration;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>The databases a lookup uses, by role, and the problems met choosing them.</summary>
    internal sealed class GeoSources
    {
        public string Country;
        public string Asn;
        public string City;
        public readonly List<string> Problems = new List<string>();
        public string Signature => Country + "|" + Asn + "|" + City;
    }

    /// <summary>
    /// Answers "where is this address" from the configured, downloaded or bundled databases.
    /// Each file is opened once (held in memory once) and shared by every snapshot of the session. A
    /// lookup walks each database's search tree to the record that answers the address; the merged
    /// answer is kept by that combination of records, so an address whose records were met before
    /// (through any address) is answered without decoding or allocating anything, and recent IPv4
    /// addresses are answered without walking. A file replaced on disk (Update-ConnectionGeoDatabase, or a user copying one in) is
    /// noticed within a second and reopened, without re-importing the module. A file that cannot be
    /// opened gives one warning and empty geo fields — never a failed snapshot.
    /// </summary>
    public sealed class GeoLocator : IDisposable
    {
        /// <summary>Bundled with the module (DB-IP Lite, CC BY 4.0).</summary>
        public const string BundledCountryFile = "dbip-country.mmdb";
        /// <summary>Bundled with the module: ASN data (see GeoIP/SOURCES.md).</summary>
        public const string BundledAsnFile = "ip-location-db-asn.mmdb";

        private const int MaxCachedAnswers = 1 << 16; // combinations of records; the bundled files have about 100,000 ASN records
        private static readonly TimeSpan FileCheckInterval = TimeSpan.FromSeconds(1);

        private readonly object _gate = new object();
        private readonly string _bundledDirectory;
        private readonly Dictionary<string, Slot> _slots = new Dictionary<string, Slot>(StringComparer.Ordinal);
        // Merged answers by the records that make them: a new address whose country and ASN records
        // were met before (most are: a country database has a few hundred records, an ASN database some
        // tens of thousands) costs the tree walks and one lookup here, no merge and no allocation.
        private readonly Dictionary<RecordSet, int> _byRecords = new Dictionary<RecordSet, int>(); // the answer's number in _answers
        private readonly List<GeoInfo> _answers = new List<GeoInfo>();
        // Recent IPv4 addresses with the number of their answer: a steady table's addresses are
        // answered without walking the trees. 2,048 sets of 8 slots (an address goes to the set its
        // hash picks, newest first; the oldest of a full set makes room): 128 KiB of numbers, no references, so
        // they stay in the CPU's second-level cache next to the rows being filled, and writing one
        // costs the garbage collector nothing. (A dictionary of addresses cost new addresses 20-30 %;
        // one slot per hash made 40 % of a 10,000-address table collide; 65,536 single slots
        // touched a cache line per address and slowed the filling of the rows threefold.)
        private const int RecentSetBits = 11, RecentWays = 8;
        private readonly RecentAddress[] _recentIPv4 = new RecentAddress[RecentWays << RecentSetBits];
        private string _cacheSignature;
        private DateTime _lastFileCheckUtc = DateTime.MinValue;
        private GeoSources _sources;
        private GeoIpConfig _sourcesFor;
        private static readonly Slot[] NoSlots = new Slot[0];
        private Slot[] _reading = NoSlots; // the sources' slots in the order Read asks them (City, Country, ASN), one per file

        /// <param name="bundledDirectory">The module's GeoIP folder (null: no bundled databases).</param>
        public GeoLocator(string bundledDirectory)
        {
            _bundledDirectory = bundledDirectory;
        }

        /// <summary>Lookups answered by a kept answer: the same IPv4 address recently, or the same records for an earlier address (for tests and benchmarks).</summary>
        public long CacheHits { get; private set; }
        /// <summary>Lookups whose combination of records was new: their records were decoded (or taken from the databases' own record caches) and merged.</summary>
        public long CacheMisses { get; private set; }

        /// <summary>
        /// Starts a batch (one snapshot): checks, at most once a second, whether the database files
        /// changed on disk and reopens those that did. Returns the problems to tell the user.
        /// </summary>
        public IReadOnlyList<string> Refresh(GeoIpConfig config)
        {
            lock (_gate)
            {
                var now = DateTime.UtcNow;
                bool recheck = now - _lastFileCheckUtc >= FileCheckInterval;
                if (recheck || !ReferenceEquals(config, _sourcesFor))
                {
                    _sources = ChooseSources(config);
                    _sourcesFor = config;
                }
                var problems = new List<string>(_sources.Problems);
                foreach (var path in new[] { _sources.Country, _sources.Asn, _sources.City })
                {
                    if (path == null) continue;
                    var slot = SlotFor(path);
                    if (recheck || slot.Database == null && slot.Error == null) slot.Check();
                    if (slot.Error != null) problems.Add(slot.Error);
                }
                if (recheck) _lastFileCheckUtc = now;
                var reading = new List<Slot>(3);
                foreach (var path in new[] { _sources.City, _sources.Country, _sources.Asn })
                    if (path != null && !reading.Contains(_slots[path])) reading.Add(_slots[path]);
                _reading = reading.ToArray();
                // A changed file or a changed choice of files invalidates every cached answer.
                string signature = _sources.Signature + "#" + StampOf(_sources.Country) + StampOf(_sources.Asn) + StampOf(_sources.City);
                if (signature != _cacheSignature)
                {
                    ClearCaches();
                    _cacheSignature = signature;
                }
                return problems;
            }
        }

        /// <summary>What the databases say about an address (IPv4-mapped IPv6 addresses as IPv4); call Refresh first (once per batch).</summary>
        public GeoInfo Lookup(IPAddress address)
        {
            if (address == null) return GeoInfo.Empty;
            lock (_gate)
            {
                if (_sources == null) return GeoInfo.Empty;
                address = Filtering.AddressPattern.Normalize(address);
                if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork) return Read(address);
                // IPv4: a steady table's addresses are answered from the recent slots, without walking.
                uint v4 = AddressScopes.IPv4Value(address);
                uint hash = v4 * 2654435769u;
                int set = (int)(hash >> (32 - RecentSetBits)) * RecentWays;
                var recent = _recentIPv4;
                for (int i = set; i < set + RecentWays; i++)
                {
                    if (recent[i].Answer > 0 && recent[i].Address == v4)
                    {
                        CacheHits++;
                        return _answers[recent[i].Answer - 1];
                    }
                }
                var info = Read(address, out int answer);
                // The newest first: the set's oldest address (its last slot) makes room.
                Array.Copy(recent, set, recent, set + 1, RecentWays - 1);
                recent[set].Address = v4;
                recent[set].Answer = answer;
                return info;
            }
        }

        /// <summary>The databases in use, for Get-ConnectionGeoDatabase-style reporting and tests.</summary>
        public IReadOnlyList<GeoDatabase> OpenDatabases
        {
            get
            {
                lock (_gate)
                {
                    var list = new List<GeoDatabase>();
                    if (_sources == null) return list;
                    foreach (var path in new[] { _sources.City, _sources.Country, _sources.Asn })
                        if (path != null && _slots.TryGetValue(path, out var s) && s.Database != null && !list.Contains(s.Database)) list.Add(s.Database);
                    return list;
                }
            }
        }

        private GeoInfo Read(IPAddress address) => Read(address, out _);

        /// <summary>The merged answer, and its number in _answers plus one (0: not kept).</summary>
        private GeoInfo Read(IPAddress address, out int answer)
        {
            answer = 0;
            // Which record of each database answers; at most three databases (City, Country, ASN).
            var slots = _reading;
            var key = new RecordSet();
            for (int i = 0; i < slots.Length; i++)
            {
                var database = slots[i].Database;
                key[i] = database == null ? -1 : database.Find(address);
            }
            if (_byRecords.TryGetValue(key, out int number))
            {
                CacheHits++;
                answer = number + 1;
                return _answers[number];
            }
            CacheMisses++;
            // City answers first (it is the more precise place and carries the country too), then
            // the country database fills what it left blank, then ASN.
            GeoInfo result = GeoInfo.Empty;
            bool failed = false;
            for (int i = 0; i < slots.Length; i++)
            {
                var database = slots[i].Database;
                if (database == null) continue;
                try
                {
                    result = result.Merge(database.Answer(key[i]));
                }
                catch (GeoDatabaseException ex)
                {
                    slots[i].Fail(ex.Message + ".");
                    failed = true;
                }
            }
            if (failed)
            {
                ClearCaches(); // answers read from the damaged file are not trusted any longer
                return result;
            }
            if (_answers.Count >= MaxCachedAnswers) ClearCaches();
            _byRecords[key] = _answers.Count;
            _answers.Add(result);
            answer = _answers.Count;
            return result;
        }

        private void ClearCaches()
        {
            _byRecords.Clear();
            _answers.Clear();
            Array.Clear(_recentIPv4, 0, _recentIPv4.Length);
        }

        /// <summary>An IPv4 address and the number of its answer in _answers plus one (0: empty slot).</summary>
        private struct RecentAddress
        {
            public uint Address;
            public int Answer;
        }

        /// <summary>The record positions (-1: none) that answer an address in each database read, in reading order.</summary>
        private struct RecordSet : IEquatable<RecordSet>
        {
            private int _a, _b, _c;

            public int this[int i]
            {
                get => i == 0 ? _a : i == 1 ? _b : _c;
                set { if (i == 0) _a = value; else if (i == 1) _b = value; else _c = value; }
            }

            public bool Equals(RecordSet other) => _a == other._a && _b == other._b && _c == other._c;
            public override bool Equals(object obj) => obj is RecordSet other && Equals(other);
            public override int GetHashCode() => unchecked((_a * 397 ^ _b) * 397 ^ _c);
        }

        private string StampOf(string path) => path != null && _slots.TryGetValue(path, out var s) ? s.Stamp : "";

        private Slot SlotFor(string path)
        {
            if (!_slots.TryGetValue(path, out var slot)) _slots[path] = slot = new Slot(path);
            return slot;
        }

        /// <summary>
        /// For each role: the configured file (it must work: no silent fallback from a file the user
        /// named), else the file in the data directory, else the bundled one. A downloaded file that
        /// does not open falls back to the bundled one, with a warning.
        /// </summary>
        private GeoSources ChooseSources(GeoIpConfig config)
        {
            var s = new GeoSources();
            if (!config.Enabled) return s;
            string dataDir = null;
            try { dataDir = GeoIpPaths.DataDirectory(config); }
            catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException || ex is PathTooLongException)
            {
                s.Problems.Add("geoip.directory '" + config.Directory + "' is not a usable folder path: " + ex.Message);
            }
            s.Country = Choose("geoip.countryDatabase", config.CountryDatabase, dataDir, GeoIpPaths.CountryFile, BundledCountryFile, s.Problems);
            s.Asn = Choose("geoip.asnDatabase", config.AsnDatabase, dataDir, GeoIpPaths.AsnFile, BundledAsnFile, s.Problems);
            s.City = Choose("geoip.cityDatabase", config.CityDatabase, dataDir, GeoIpPaths.CityFile, null, s.Problems);
            // An IPinfo Lite file in the country role carries ASNs too; its answers win over the ASN database's (see Read).
            return s;
        }

        private string Choose(string key, string configured, string dataDir, string downloadedName, string bundledName, List<string> problems)
        {
            if (configured != null)
            {
                string full = GeoIpPaths.ResolveFile(configured);
                if (!File.Exists(full))
                {
                    problems.Add(key + ": the GeoIP database '" + full + "' does not exist; geo fields from it stay empty. Fix the path in config.yml or remove the key to use the bundled database.");
                    return null;
                }
                return full;
            }
            if (dataDir != null)
            {
                string downloaded = Path.Combine(dataDir, downloadedName);
                if (File.Exists(downloaded))
                {
                    var slot = SlotFor(downloaded);
                    if (slot.Database == null && slot.Error == null) slot.Check();
                    if (slot.Database != null) return downloaded;
                    problems.Add(slot.Error + " Using the bundled database instead until the file is replaced by a working one (downloading the database again does that).");
                }
            }
            if (bundledName == null || _bundledDirectory == null) return null;
            string bundled = Path.Combine(_bundledDirectory, bundledName);
            if (File.Exists(bundled)) return bundled;
            problems.Add("the bundled GeoIP database '" + bundled + "' is missing; reinstall the module, or set " + key + " in config.yml.");
            return null;
        }

        /// <summary>Closes every open database file.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                foreach (var slot in _slots.Values) slot.Close();
                _slots.Clear();
                ClearCaches();
                _sources = null;
                _reading = NoSlots;
            }
        }

        /// <summary>One database file: its open copy and the on-disk stamp (write time and length) that copy came from.</summary>
        private sealed class Slot
        {
            private readonly string _path;

            public Slot(string path) { _path = path; }

            public GeoDatabase Database { get; private set; }
            public string Error { get; private set; }
            public string Stamp { get; private set; } = "";

            /// <summary>Reopens the file when its stamp changed since it was opened (or first failed).</summary>
            public void Check()
            {
                string stamp;
                try
                {
                    var info = new FileInfo(_path);
                    stamp = info.Exists ? info.LastWriteTimeUtc.Ticks + ":" + info.Length : "missing";
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    stamp = "unreadable";
                }
                if (stamp == Stamp && (Database != null || Error != null)) return;
                Stamp = stamp;
                Close();
                if (stamp == "missing")
                {
                    Error = "the GeoIP database '" + _path + "' was removed; geo fields from it stay empty until it is back.";
                    return;
                }
                try
                {
                    Database = GeoDatabase.Open(_path);
                    Error = null;
                }
                catch (GeoDatabaseException ex)
                {
                    Error = "GeoIP: " + ex.Message + ". Geo fields from it stay empty.";
                }
            }

            public void Fail(string message)
            {
                Close();
                Error = "GeoIP: " + message + " Geo fields from it stay empty.";
            }

            public void Close()
            {
                Database?.Dispose();
                Database = null;
            }
        }
    }
}
