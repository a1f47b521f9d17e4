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
    /// addresses are answered without walking. Many addresses at once (what a snapshot asks) go through
    /// each of these steps in groups, so that their reads of memory overlap. A file replaced on disk (Update-ConnectionGeoDatabase, or a user copying one in) is
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
        // tens of thousands) costs the tree walks and one read here, no merge and no allocation. Open
        // addressing (linear probing, at most half full, nothing removed but everything at once): one
        // read of a 16-byte slot finds most answers, where a Dictionary read a bucket and then an entry
        // elsewhere, one after the other. It starts at 16 KiB and doubles as answers are kept, up to
        // 2 MiB for MaxCachedAnswers.
        private const int KeptMinBits = 10;
        private KeptAnswer[] _kept;
        private int _keptBits;
        private readonly List<GeoInfo> _answers = new List<GeoInfo>();
        // Recent IPv4 addresses with the number of their answer: a steady table's addresses are
        // answered without walking the trees. 2,048 sets of 8 slots (an address goes to the set its
        // hash picks, newest first; the oldest of a full set makes room): 128 KiB of numbers, no references, so
        // they stay in the CPU's second-level cache next to the rows being filled, and writing one
        // costs the garbage collector nothing. (A dictionary of addresses cost new addresses 20-30 %;
        // one slot per hash made 40 % of a 10,000-address table collide; 65,536 single slots
        // touched a cache line per address and slowed the filling of the rows threefold.) Made, with
        // _kept, when the first public address needs the databases.
        private const int RecentSetBits = 11, RecentWays = 8;
        private RecentAddress[] _recentIPv4;
        // A batch's scratch (used under _gate): addresses go through the lookup's steps in groups of
        // GroupSize, each step for the whole group before the next (see Lookup(IPAddress[], …)).
        private const int GroupSize = 32;
        private readonly int[] _v4Index = new int[GroupSize];       // an IPv4 address's index in the caller's arrays
        private readonly int[] _v4Set = new int[GroupSize];         // its first recent slot
        private readonly uint[] _v4Value = new uint[GroupSize];     // its value, host order
        private readonly int[] _v6Index = new int[GroupSize];
        private readonly ulong[] _v6High = new ulong[GroupSize], _v6Low = new ulong[GroupSize]; // an IPv6 address's halves (see MmdbSearchTree.SplitIPv6)
        private readonly int[][] _records = { new int[GroupSize], new int[GroupSize], new int[GroupSize] }; // each address's record in each database read
        private readonly int[] _numbers = new int[GroupSize];       // each address's answer's number in _answers plus one (0: not kept)
        private readonly RecordSet[] _pendingKey = new RecordSet[GroupSize]; // an address's records, as a key of _kept
        private readonly int[] _pendingSlot = new int[GroupSize];           // the slot of _kept its probe starts at
        private string _cacheSignature;
        private DateTime _lastFileCheckUtc = DateTime.MinValue;
        private GeoSources _sources;
        private GeoIpConfig _sourcesFor;
        private static readonly Slot[] NoSlots = new Slot[0];
        private Slot[] _reading = NoSlots; // the sources' slots in the order Answer merges them (City, Country, ASN), one per file

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
                if (_kept == null && _reading.Length > 0)
                {
                    _keptBits = KeptMinBits;
                    _kept = new KeptAnswer[1 << KeptMinBits];
                    _recentIPv4 = new RecentAddress[RecentWays << RecentSetBits];
                }
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
                var slots = _reading;
                if (_sources == null || slots.Length == 0) return GeoInfo.Empty;
                address = Filtering.AddressPattern.Normalize(address);
                var key = new RecordSet();
                if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                {
                    MmdbSearchTree.SplitIPv6(address, out ulong high, out ulong low); // once for every database
                    for (int j = 0; j < slots.Length; j++) key[j] = slots[j].Database?.Find(high, low) ?? -1;
                    return Answer(ref key, SlotOf(key), out _);
                }
                // IPv4: a steady table's addresses are answered from the recent slots, without walking.
                uint v4 = AddressScopes.IPv4Value(address);
                int set = RecentSet(v4);
                int known = Recent(v4, set);
                if (known > 0)
                {
                    CacheHits++;
                    return _answers[known - 1];
                }
                for (int j = 0; j < slots.Length; j++) key[j] = slots[j].Database?.Find(v4) ?? -1;
                var info = Answer(ref key, SlotOf(key), out int answer);
                if (answer > 0) Remember(set, v4, answer);
                return info;
            }
        }

        /// <summary>
        /// What the databases say about each of the first <paramref name="count"/> addresses, written to
        /// the same index of <paramref name="answers"/> (a null address: GeoInfo.Empty); call Refresh first
        /// (once per batch). The answers are those of <see cref="Lookup(IPAddress)"/> address by address.
        /// Faster for many addresses: one lock, and each step of the lookup (recent addresses, each
        /// database's tree, kept answers) taken for a group of addresses before the next, so that the
        /// processor waits for the group's reads of memory together rather than one after another.
        /// </summary>
        public void Lookup(IPAddress[] addresses, int count, GeoInfo[] answers)
        {
            if (addresses == null) throw new ArgumentNullException(nameof(addresses));
            if (answers == null) throw new ArgumentNullException(nameof(answers));
            if (count < 0 || count > addresses.Length || count > answers.Length) throw new ArgumentOutOfRangeException(nameof(count));
            lock (_gate)
            {
                if (_sources == null || _reading.Length == 0)
                {
                    for (int i = 0; i < count; i++) answers[i] = GeoInfo.Empty;
                    return;
                }
                for (int start = 0; start < count; start += GroupSize)
                    LookupGroup(addresses, start, Math.Min(GroupSize, count - start), answers);
            }
        }

        /// <summary>
        /// Addresses [start, start + n) (n at most GroupSize) into answers[start, start + n): the recent
        /// IPv4 addresses, then for the others the record each database's tree leads to, then the answer
        /// kept for that combination of records (or a new one, merged), remembered for the IPv4
        /// addresses; IPv6 addresses after the IPv4 ones, the same way but for the recent slots. Under _gate.
        /// </summary>
        private void LookupGroup(IPAddress[] addresses, int start, int n, GeoInfo[] answers)
        {
            int v4Count = 0, v6Count = 0;
            for (int k = start; k < start + n; k++)
            {
                var address = addresses[k];
                if (address == null)
                {
                    answers[k] = GeoInfo.Empty;
                    continue;
                }
                address = Filtering.AddressPattern.Normalize(address);
                if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                {
                    _v6Index[v6Count] = k;
                    MmdbSearchTree.SplitIPv6(address, out _v6High[v6Count], out _v6Low[v6Count]); // once for every database
                    v6Count++;
                    continue;
                }
                uint v4 = AddressScopes.IPv4Value(address);
                int set = RecentSet(v4);
                int known = Recent(v4, set);
                if (known > 0)
                {
                    CacheHits++;
                    answers[k] = _answers[known - 1];
                    continue;
                }
                _v4Index[v4Count] = k;
                _v4Set[v4Count] = set;
                _v4Value[v4Count++] = v4;
            }

            var slots = _reading;
            if (v4Count > 0)
            {
                for (int j = 0; j < slots.Length; j++)
                {
                    var database = slots[j].Database;
                    if (database == null) Fill(_records[j], v4Count, -1);
                    else database.Find(_v4Value, v4Count, _records[j]);
                }
                AnswerGroup(_v4Index, v4Count, answers, _numbers);
                for (int p = 0; p < v4Count; p++)
                    if (_numbers[p] > 0) Remember(_v4Set[p], _v4Value[p], _numbers[p]);
            }
            if (v6Count > 0)
            {
                for (int j = 0; j < slots.Length; j++)
                {
                    var database = slots[j].Database;
                    if (database == null) Fill(_records[j], v6Count, -1);
                    else database.Find(_v6High, _v6Low, v6Count, _records[j]);
                }
                AnswerGroup(_v6Index, v6Count, answers, _numbers);
            }
        }

        private static void Fill(int[] values, int count, int value)
        {
            for (int i = 0; i < count; i++) values[i] = value;
        }

        /// <summary>
        /// The answers of <paramref name="count"/> addresses whose records in each database are in
        /// _records[database][address], into answers[<paramref name="index"/>[address]], with their
        /// numbers (see <see cref="Answer"/>) in <paramref name="numbers"/>. First every address's
        /// first slot of _kept is read (the reads overlap), then each is probed from there.
        /// </summary>
        private void AnswerGroup(int[] index, int count, GeoInfo[] answers, int[] numbers)
        {
            var databases = _reading.Length;
            var kept = _kept;
            int touched = 0;
            for (int p = 0; p < count; p++)
            {
                var key = new RecordSet();
                for (int j = 0; j < databases; j++) key[j] = _records[j][p];
                _pendingKey[p] = key;
                int slot = SlotOf(key);
                _pendingSlot[p] = slot;
                touched |= kept[slot].Number;
            }
            _touched = touched;
            int bits = _keptBits;
            for (int p = 0; p < count; p++)
            {
                // (A new answer may have made _kept grow: then the slots of the rest are elsewhere.)
                int slot = _keptBits == bits ? _pendingSlot[p] : SlotOf(_pendingKey[p]);
                answers[index[p]] = Answer(ref _pendingKey[p], slot, out numbers[p]);
            }
        }

        private int _touched; // keeps AnswerGroup's first reads of _kept from being optimized away

        /// <summary>The first slot of _kept to look for <paramref name="key"/> in.</summary>
        private int SlotOf(RecordSet key) => (int)((uint)key.GetHashCode() * 2654435769u >> (32 - _keptBits));

        /// <summary>The first of the recent slots an IPv4 address (host order) may be kept in.</summary>
        private static int RecentSet(uint v4) => (int)((v4 * 2654435769u) >> (32 - RecentSetBits)) * RecentWays;

        /// <summary>The number of the answer kept for a recent IPv4 address (see <see cref="Answer"/>), or 0.</summary>
        private int Recent(uint v4, int set)
        {
            var recent = _recentIPv4;
            for (int i = set; i < set + RecentWays; i++)
                if (recent[i].Answer > 0 && recent[i].Address == v4) return recent[i].Answer;
            return 0;
        }

        /// <summary>Keeps an IPv4 address's answer number in its recent set, newest first: the set's oldest address (its last slot) makes room.</summary>
        private void Remember(int set, uint v4, int answer)
        {
            var recent = _recentIPv4;
            for (int i = set + RecentWays - 1; i > set; i--) recent[i] = recent[i - 1];
            recent[set].Address = v4;
            recent[set].Answer = answer;
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

        /// <summary>
        /// The merged answer for the records <paramref name="key"/> names (from the databases of
        /// _reading, in its order), looked for in _kept from <paramref name="slot"/> (its SlotOf), and
        /// its number in _answers plus one (0: not kept).
        /// </summary>
        private GeoInfo Answer(ref RecordSet key, int slot, out int answer)
        {
            answer = 0;
            var slots = _reading;
            // A database that failed earlier in this batch answers nothing from now on, as if it had been closed before the walk.
            bool changed = false;
            for (int i = 0; i < slots.Length; i++)
            {
                if (slots[i].Database == null && key[i] != -1)
                {
                    key[i] = -1;
                    changed = true;
                }
            }
            if (changed) slot = SlotOf(key);
            var kept = _kept;
            int mask = kept.Length - 1;
            while (kept[slot].Number != 0)
            {
                if (kept[slot].Key.Equals(key))
                {
                    CacheHits++;
                    answer = kept[slot].Number;
                    return _answers[answer - 1];
                }
                slot = (slot + 1) & mask;
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
            if (_answers.Count >= MaxCachedAnswers) ClearCaches(); // (then the table is empty, and slot is free)
            else if ((_answers.Count + 1) * 2 > kept.Length)
            {
                Grow();
                kept = _kept;
                slot = SlotOf(key);
                while (kept[slot].Number != 0) slot = (slot + 1) & (kept.Length - 1);
            }
            _answers.Add(result);
            answer = _answers.Count;
            kept[slot].Key = key;
            kept[slot].Number = answer;
            return result;
        }

        /// <summary>Doubles _kept (up to 2^17 slots, half of them for MaxCachedAnswers), its answers placed anew.</summary>
        private void Grow()
        {
            var old = _kept;
            _keptBits++;
            var kept = new KeptAnswer[1 << _keptBits];
            int mask = kept.Length - 1;
            foreach (var entry in old)
            {
                if (entry.Number == 0) continue;
                int slot = SlotOf(entry.Key);
                while (kept[slot].Number != 0) slot = (slot + 1) & mask;
                kept[slot] = entry;
            }
            _kept = kept;
        }

        private void ClearCaches()
        {
            _answers.Clear();
            if (_kept != null) Array.Clear(_kept, 0, _kept.Length);
            if (_recentIPv4 != null) Array.Clear(_recentIPv4, 0, _recentIPv4.Length);
        }

        /// <summary>A slot of _kept: the records of an answer, and its number in _answers plus one (0: empty slot).</summary>
        private struct KeptAnswer
        {
            public RecordSet Key;
            public int Number;
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
            // An IPinfo Lite file in the country role carries ASNs too; its answers win over the ASN database's (see Answer).
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
                    problems.Add(slot.Reason + " Using the bundled database instead until the file is replaced by a working one (downloading the database again does that).");
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
                _kept = null;
                _recentIPv4 = null;
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
            /// <summary>What is wrong with the file, without what follows from it (the caller may fall back to the bundled database).</summary>
            public string Reason { get; private set; }
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
                    Reason = "the GeoIP database '" + _path + "' was removed.";
                    Error = "the GeoIP database '" + _path + "' was removed; geo fields from it stay empty until it is back.";
                    return;
                }
                try
                {
                    Database = GeoDatabase.Open(_path);
                    Error = null; Reason = null;
                }
                catch (GeoDatabaseException ex)
                {
                    Reason = "GeoIP: " + ex.Message + ".";
                    Error = Reason + " Geo fields from it stay empty.";
                }
            }

            public void Fail(string message)
            {
                Close();
                Reason = "GeoIP: " + message;
                Error = Reason + " Geo fields from it stay empty.";
            }

            public void Close()
            {
                Database?.Dispose();
                Database = null;
            }
        }
    }
}
