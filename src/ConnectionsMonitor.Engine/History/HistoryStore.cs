using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using ConnectionsMonitor.Engine.Filtering;
using Microsoft.Data.Sqlite;

namespace ConnectionsMonitor.Engine.History
{
    /// <summary>
    /// The connection history on disk: one SQLite file (Microsoft.Data.Sqlite over the bundled e_sqlite3) in WAL mode,
    /// written by one recorder at a time and read by any number of sessions meanwhile.
    /// <para>Tables (times are Unix milliseconds, UTC):</para>
    /// <list type="bullet">
    /// <item><c>totals</c>: one row per sample (resolution 0) for <see cref="HistoryOptions.RawRetention"/>, then
    /// one-minute roll-ups until <see cref="HistoryOptions.Retention"/>.</item>
    /// <item><c>process</c>: one row per process name and minute, then per hour after the raw retention.</item>
    /// <item><c>connection</c>: one row per connection's life (opened, closed, ends, owner, country, ASN, bytes at
    /// close), kept for <see cref="HistoryOptions.ConnectionRetention"/>.</item>
    /// </list>
    /// Each <see cref="Write"/> is one transaction: after a crash (kill -9 included) every committed sample is there
    /// (WAL, synchronous=NORMAL: durable against a process crash; a power cut may lose the last transactions).
    /// A writer holds an exclusive lock on "&lt;file&gt;.lock" (an OS file lock, released when the process dies; the empty
    /// file stays), so a second writer gets <see cref="HistoryLockedException"/>, never a shared file. A history of ours
    /// (PRAGMA application_id <see cref="ApplicationId"/>, or a lock file beside it) that is damaged is renamed
    /// "&lt;file&gt;.corrupt-&lt;time&gt;" and a new one started (a warning says so); any other file is refused untouched.
    /// Not thread-safe: one writer thread; readers open their own store.
    /// </summary>
    public sealed class HistoryStore : IDisposable
    {
        /// <summary>The schema this code writes (PRAGMA user_version).</summary>
        public const int SchemaVersion = 1;

        private const long Minute = 60000, Hour = 3600000;

        private readonly SqliteConnection _db;
        private readonly FileStream _lock;
        private readonly HistoryOptions _options;
        private readonly List<string> _warnings = new List<string>();
        private SqliteCommand _insertTotals, _insertProcess, _insertConnection, _closeConnection, _progressConnection, _insertAlert;

        private HistoryStore(string path, SqliteConnection db, FileStream writerLock, HistoryOptions options)
        {
            Path = path;
            _db = db;
            _lock = writerLock;
            _options = options;
        }

        /// <summary>The database file.</summary>
        public string Path { get; }

        /// <summary>True for the store that records (holds the writer lock).</summary>
        public bool IsWriter => _lock != null;

        /// <summary>
        /// Opens (creating folders and file as needed) the history at <paramref name="path"/> for recording.
        /// </summary>
        /// <exception cref="HistoryLockedException">Another process (or store) records into this file.</exception>
        /// <exception cref="HistoryException">The file cannot be created or opened (permissions, a directory there …).</exception>
        public static HistoryStore OpenWriter(string path, HistoryOptions options)
        {
            if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("A history file path is needed.", nameof(path));
            options = options ?? new HistoryOptions();
            path = System.IO.Path.GetFullPath(path);
            try { Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new HistoryException("The folder of the history file '" + path + "' cannot be created: " + ex.Message, ex);
            }
            if (Directory.Exists(path)) throw new HistoryException("'" + path + "' is a folder: name a file for the history.");
            // A device, pipe or socket (/dev/null took an SQLite journal beside it): refused before anything is made beside it.
            if (Platform.PrivateFile.IsSpecialFile(path)) throw new HistoryException("'" + path + "' is not a regular file (a device, pipe or socket): name a file for the history.");
            bool lockFileExisted = File.Exists(path + ".lock");
            var writerLock = TakeWriterLock(path);
            var warnings = new List<string>();
            SqliteConnection db = null;
            try
            {
                CheckOwnership(path, lockFileExisted, warnings);
                db = OpenChecked(path, warnings);
                var store = new HistoryStore(path, db, writerLock, options);
                store._warnings.AddRange(warnings);
                store.CreateSchema();
                store.CloseLeftOpen();
                return store;
            }
            catch
            {
                db?.Dispose();
                // A refused path keeps nothing of ours beside it: the lock file goes again if this call made it (unlinked
                // while still held on Unix, so no other recorder can have taken it meanwhile).
                bool unixLike = !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
                if (!lockFileExisted && unixLike) TryDelete(path + ".lock");
                writerLock.Dispose();
                if (!lockFileExisted && !unixLike) TryDelete(path + ".lock");
                throw;
            }
        }

        private static void TryDelete(string file)
        {
            try { File.Delete(file); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
        }

        /// <summary>Opens the history at <paramref name="path"/> to read; it may be written meanwhile.</summary>
        /// <exception cref="HistoryException">No such file, or it is not a history database (an SQLite database of another program is said so).</exception>
        public static HistoryStore OpenReader(string path)
        {
            if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("A history file path is needed.", nameof(path));
            path = System.IO.Path.GetFullPath(path);
            // A folder is said to be one, as the writer says it (a newcomer's trial was told there was no history file there).
            if (Directory.Exists(path)) throw new HistoryException("'" + path + "' is a folder: name a history file.");
            if (!File.Exists(path)) throw new HistoryFileNotFoundException(path);
            // Another program's database is said so, as the writer says it (not as a history with nothing in it yet).
            (bool Sqlite, int? Id) owner = (false, null);
            try { owner = Owner(path, File.Exists(path + ".lock")); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { } // SQLite's open below says why
            if (owner.Sqlite && owner.Id != ApplicationId) throw OfAnotherProgram(path, owner.Id.Value, "");
            if (!owner.Sqlite && owner.Id != null) throw NotADatabase(path, "");
            var db = new SqliteConnection(ConnectionString(path, SqliteOpenMode.ReadOnly));
            try
            {
                db.Open();
                long version = Scalar(db, "PRAGMA user_version");
                if (version == 0 && Scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'totals'") == 0)
                    throw new HistoryException("'" + path + "' holds no connection history yet.");
                if (version > SchemaVersion)
                    throw new HistoryException("'" + path + "' was written by a newer version of the module (history schema " + version + "; this one reads " + SchemaVersion + ").");
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 26 /* SQLITE_NOTADB */)
            {
                db.Dispose();
                throw NotADatabase(path, "");
            }
            catch (SqliteException ex)
            {
                db.Dispose();
                throw new HistoryException("'" + path + "' cannot be read as a connection history: " + ex.Message, ex);
            }
            catch
            {
                db.Dispose();
                throw;
            }
            return new HistoryStore(path, db, null, new HistoryOptions());
        }

        /// <summary>Warnings since the previous call (a corrupt file set aside, a full disk …), each once.</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            var w = _warnings.ToArray();
            _warnings.Clear();
            return w;
        }

        private static string ConnectionString(string path, SqliteOpenMode mode) => new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            Pooling = false, // a closed store lets go of the file at once (set aside, deleted by a test …)
            DefaultTimeout = 10,
        }.ToString();

        private static FileStream TakeWriterLock(string path)
        {
            string lockPath = path + ".lock";
            try
            {
                // FileShare.None is an OS lock (flock on Unix, a share mode on Windows) that dies with the process.
                // The writer's process id goes into the database (meta), where a refused writer can read it.
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException ex) when (IsLockedByOther(ex))
            {
                throw new HistoryLockedException(path, WriterOf(path));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw CannotRecordThere(path, lockPath, ex);
            }
        }

        /// <summary>
        /// The lock file beside the history could not be made: said of the file the user named, with the OS's reason (on
        /// Linux its own words; .NET's say "Could not find file '….lock'" for /proc), not of the lock file, an internal detail.
        /// </summary>
        private static HistoryException CannotRecordThere(string path, string lockPath, Exception ex)
        {
            string reason = Platform.PrivateFile.CreateRefusal(lockPath) ?? ex.Message.TrimEnd('.');
            string folder = System.IO.Path.GetDirectoryName(path);
            return File.Exists(path)
                ? new HistoryException("The history file '" + path + "' cannot be recorded into: its folder '" + folder + "' refuses the lock file a recorder makes beside it (" + reason + "). Record into a file in a folder you may write to.", ex)
                : new HistoryException("The history file '" + path + "' cannot be created there: " + reason + ". Name a file in a folder you may write to.", ex);
        }

        /// <summary>
        /// Another holder of the lock: Windows reports a sharing or lock violation (ERROR_SHARING_VIOLATION 32,
        /// ERROR_LOCK_VIOLATION 33 in the HRESULT); .NET on Unix gives flock's EWOULDBLOCK as the HResult (11 on Linux,
        /// 35 on macOS).
        /// </summary>
        private static bool IsLockedByOther(IOException ex)
        {
            int code = ex.HResult & 0xFFFF;
            if (code == 32 || code == 33) return true;
            return !RuntimeInformation.IsOSPlatform(OSPlatform.Windows) && (ex.HResult == 11 || ex.HResult == 35);
        }

        /// <summary>PRAGMA application_id of a history file ("CMON"), so a file of another program is never written into.</summary>
        public const int ApplicationId = 0x434D4F4E;

        /// <summary>
        /// Refuses a file that is not a history of ours: an SQLite database of another program (its application_id is
        /// not <see cref="ApplicationId"/>), or another kind of file, unless a lock file beside it says a recorder of
        /// ours used this path before (then the file is ours and damaged: it is set aside with a warning).
        /// </summary>
        private static void CheckOwnership(string path, bool recordedBefore, List<string> warnings)
        {
            if (Directory.Exists(path)) throw new HistoryException("'" + path + "' is a folder: name a file for the history.");
            var (sqlite, id) = Owner(path, recordedBefore);
            if (id == null || id == ApplicationId) return;
            if (sqlite) throw OfAnotherProgram(path, id.Value, ": nothing was written to it");
            if (!recordedBefore)
                throw NotADatabase(path, ": nothing was written to it");
            string aside = SetAside(path);
            warnings.Add("The history file '" + path + "' was damaged (not a database any more); it was moved to '" + aside + "' and a new one started.");
        }

        /// <summary>
        /// Whose file <paramref name="path"/> is, the one check the writer and the reader share: (false, null) for a missing
        /// or empty file (a history not begun), (true, id) for an SQLite database whose PRAGMA application_id is id (ours:
        /// <see cref="ApplicationId"/>), (false, 0) for another kind of file. Reads the header without SQLite (nothing of the
        /// file changes), and through the write-ahead log when the header has not got the id yet.
        /// </summary>
        private static (bool Sqlite, int? ApplicationId) Owner(string path, bool recordedBefore)
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length == 0) return (false, null);
            byte[] header = new byte[100];
            int read;
            using (var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)) read = f.Read(header, 0, header.Length);
            if (read != 100 || Encoding.ASCII.GetString(header, 0, 16) != "SQLite format 3\0") return (false, 0);
            int id = (header[68] << 24) | (header[69] << 16) | (header[70] << 8) | header[71];
            // A recorder killed before its first checkpoint (or one still recording) has the id in the write-ahead log, not in the file's header.
            if (id != ApplicationId && (recordedBefore || File.Exists(path + "-wal"))) id = ApplicationIdThroughLog(path) ?? id;
            return (true, id);
        }

        /// <summary>A file that is not an SQLite database at all, as the writer and the reader both say it; <paramref name="done"/> is what the caller did not do (": nothing was written to it"), or "".</summary>
        private static HistoryException NotADatabase(string path, string done) =>
            new HistoryException("'" + path + "' is not a ConnectionsMonitor history (not an SQLite database)" + done + ". Choose another path.");

        /// <summary>The error for an SQLite database of another program, worded alike for the writer and the reader.</summary>
        private static HistoryException OfAnotherProgram(string path, int id, string done) =>
            new HistoryException("'" + path + "' is an SQLite database of another program (application id " + id.ToString(CultureInfo.InvariantCulture) +
                                 "), not a ConnectionsMonitor history" + done + ". Choose another path.");

        /// <summary>PRAGMA application_id as SQLite reads it (through the write-ahead log), read-only; null when it cannot be read.</summary>
        private static int? ApplicationIdThroughLog(string path)
        {
            try
            {
                using (var db = new SqliteConnection(ConnectionString(path, SqliteOpenMode.ReadOnly)))
                {
                    db.Open();
                    return (int)Scalar(db, "PRAGMA application_id");
                }
            }
            catch (SqliteException) { return null; }
        }

        /// <summary>The process id the recording writer put into the file's meta table, or null.</summary>
        private static int? WriterOf(string path)
        {
            try
            {
                using (var db = new SqliteConnection(ConnectionString(path, SqliteOpenMode.ReadOnly)))
                {
                    db.Open();
                    using (var c = new SqliteCommand("SELECT value FROM meta WHERE key = 'writer_pid'", db))
                        return c.ExecuteScalar() is string text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : (int?)null;
                }
            }
            catch (SqliteException) { return null; }
        }

        /// <summary>Opens read-write; a file that is not a database, or a corrupt one, is set aside and a new one made.</summary>
        private static SqliteConnection OpenChecked(string path, List<string> warnings)
        {
            for (int attempt = 0; ; attempt++)
            {
                // A new file is never readable by other users (0640 less the umask: a history of the machine's connections is
                // not every user's to read); SQLite gives its -wal and -shm files the same mode. An existing file keeps its own.
                try { Platform.PrivateFile.CreateIfMissing(path); }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    throw new HistoryException("The history file '" + path + "' cannot be created: " + ex.Message, ex);
                }
                var db = new SqliteConnection(ConnectionString(path, SqliteOpenMode.ReadWriteCreate));
                try
                {
                    db.Open();
                    Execute(db, "PRAGMA journal_mode=WAL");
                    Execute(db, "PRAGMA synchronous=NORMAL");
                    string check = (string)new SqliteCommand("PRAGMA quick_check(1)", db).ExecuteScalar();
                    // SQLite's own report ("*** in database main ***", page numbers) means nothing to a user: the warning says only that the check failed.
                    if (!string.Equals(check, "ok", StringComparison.OrdinalIgnoreCase)) throw new InvalidDataException(FailedIntegrityCheck);
                    long version = Scalar(db, "PRAGMA user_version");
                    if (version > SchemaVersion)
                        throw new HistoryException("'" + path + "' was written by a newer version of the module (history schema " + version + "; this one writes " + SchemaVersion + "): record into another file.");
                    return db;
                }
                catch (Exception ex) when (attempt == 0 && (IsCorrupt(ex) || ex is InvalidDataException))
                {
                    db.Dispose();
                    string aside = SetAside(path);
                    warnings.Add("The history file '" + path + "' was damaged (" + DamageOf(ex) + "); it was moved to '" + aside + "' and a new one started.");
                }
                catch (SqliteException ex)
                {
                    db.Dispose();
                    throw new HistoryException("The history file '" + path + "' cannot be opened: " + ex.Message, ex);
                }
                catch
                {
                    db.Dispose();
                    throw;
                }
            }
        }

        private const string FailedIntegrityCheck = "failed its integrity check";

        /// <summary>What was wrong with a damaged history, in plain words (not SQLite's error text or its integrity report).</summary>
        private static string DamageOf(Exception ex) =>
            ex is SqliteException s && s.SqliteErrorCode == 26 /* SQLITE_NOTADB */ ? "not a database any more" : FailedIntegrityCheck;

        internal static bool IsCorrupt(Exception ex) =>
            ex is SqliteException s && (s.SqliteErrorCode == 11 /* SQLITE_CORRUPT */ || s.SqliteErrorCode == 26 /* SQLITE_NOTADB */);

        private static bool IsDiskFull(Exception ex) =>
            ex is SqliteException s && (s.SqliteErrorCode == 13 /* SQLITE_FULL */ || (s.SqliteErrorCode == 10 /* SQLITE_IOERR */ && s.SqliteExtendedErrorCode == (10 | (13 << 8)) /* IOERR_WRITE */));

        private static string SetAside(string path)
        {
            string aside = path + ".corrupt-" + DateTime.UtcNow.ToString("yyyyMMddTHHmmssZ", CultureInfo.InvariantCulture);
            for (int i = 1; File.Exists(aside); i++) aside = aside.Split('~')[0] + "~" + i;
            SqliteConnection.ClearAllPools();
            File.Move(path, aside);
            foreach (var suffix in new[] { "-wal", "-shm" })
                if (File.Exists(path + suffix)) File.Move(path + suffix, aside + suffix);
            return aside;
        }

        private static string FirstLine(string text)
        {
            int nl = text.IndexOfAny(new[] { '\r', '\n' });
            return nl < 0 ? text : text.Substring(0, nl);
        }

        private void CreateSchema()
        {
            using (var tx = _db.BeginTransaction())
            {
                Execute(_db, @"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS totals (
  ts INTEGER NOT NULL, resolution_ms INTEGER NOT NULL, period_ms INTEGER NOT NULL, samples INTEGER NOT NULL,
  tcp REAL NOT NULL, udp REAL NOT NULL, established REAL NOT NULL, listening REAL NOT NULL, max_connections INTEGER NOT NULL,
  bytes_sent INTEGER, bytes_received INTEGER,
  PRIMARY KEY (resolution_ms, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS process (
  ts INTEGER NOT NULL, resolution_ms INTEGER NOT NULL, name TEXT, samples INTEGER NOT NULL,
  connections REAL NOT NULL, max_connections INTEGER NOT NULL, bytes_sent INTEGER, bytes_received INTEGER);
CREATE INDEX IF NOT EXISTS process_time ON process (resolution_ms, ts);
CREATE TABLE IF NOT EXISTS connection (
  id INTEGER PRIMARY KEY, opened INTEGER NOT NULL, closed INTEGER, closed_by_stop INTEGER NOT NULL DEFAULT 0,
  protocol TEXT NOT NULL, local_address TEXT NOT NULL, local_port INTEGER, remote_address TEXT, remote_port INTEGER,
  state TEXT, pid INTEGER, process_name TEXT, country TEXT, asn INTEGER, asn_organization TEXT,
  bytes_sent INTEGER, bytes_received INTEGER, lives INTEGER NOT NULL DEFAULT 1, rolled_up INTEGER NOT NULL DEFAULT 0,
  opened_before INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS connection_opened ON connection (opened);
CREATE INDEX IF NOT EXISTS connection_remote ON connection (remote_address);
CREATE INDEX IF NOT EXISTS connection_open ON connection (closed) WHERE closed IS NULL;
CREATE TABLE IF NOT EXISTS alert (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, alert_id TEXT NOT NULL, rule TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
  summary TEXT, subject TEXT, value REAL, threshold REAL, protocol TEXT, local_address TEXT, local_port INTEGER,
  remote_address TEXT, remote_port INTEGER, state TEXT, pid INTEGER, process_name TEXT, country TEXT, asn INTEGER, detail TEXT);
CREATE INDEX IF NOT EXISTS alert_time ON alert (ts);
PRAGMA user_version = " + SchemaVersion.ToString(CultureInfo.InvariantCulture) + @";
PRAGMA application_id = " + ApplicationId.ToString(CultureInfo.InvariantCulture) + ";", tx);
                Execute(_db, "INSERT OR REPLACE INTO meta VALUES ('writer_pid', $pid), ('writer_started', $at)", tx,
                    ("$pid", System.Diagnostics.Process.GetCurrentProcess().Id.ToString(CultureInfo.InvariantCulture)), ("$at", DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture)));
                tx.Commit();
            }
        }

        /// <summary>Connections a recorder left open (it stopped, or was killed) end with its last sample (closed_by_stop).</summary>
        internal void CloseLeftOpen()
        {
            Execute(_db, "UPDATE connection SET closed = max(opened, coalesce((SELECT max(ts) FROM totals WHERE resolution_ms = 0), opened)), closed_by_stop = 1 WHERE closed IS NULL");
        }

        /// <summary>
        /// Writes one sample in one transaction. A full disk adds a warning (once until a write succeeds again) and
        /// loses only this sample; a file found corrupt is set aside, a new one started, and the sample written there.
        /// Returns true when the sample is on disk.
        /// </summary>
        public bool Write(HistoryBatch batch)
        {
            if (batch == null) throw new ArgumentNullException(nameof(batch));
            return Write(new[] { batch });
        }

        /// <summary>
        /// Writes several samples in one transaction (all or none): a recorder catching up, or a generator of test data.
        /// Otherwise as <see cref="Write(HistoryBatch)"/>.
        /// </summary>
        public bool Write(IReadOnlyList<HistoryBatch> batches)
        {
            if (batches == null) throw new ArgumentNullException(nameof(batches));
            if (!IsWriter) throw new InvalidOperationException("This history store was opened to read.");
            try
            {
                using (var tx = _db.BeginTransaction())
                {
                    foreach (var b in batches) WriteCore(b, tx);
                    tx.Commit();
                }
                _diskFullSaid = false;
                return true;
            }
            catch (Exception ex) when (IsDiskFull(ex))
            {
                if (!_diskFullSaid) _warnings.Add("The disk of the history file '" + Path + "' is full: samples are not recorded until there is room again (" + FirstLine(ex.Message) + ").");
                _diskFullSaid = true;
                return false;
            }
        }

        private bool _diskFullSaid;

        private void WriteCore(HistoryBatch b, SqliteTransaction tx)
        {
            {
                if (b.Totals != null)
                {
                    var c = _insertTotals ?? (_insertTotals = Prepare("INSERT OR REPLACE INTO totals VALUES ($ts, 0, $period, 1, $tcp, $udp, $est, $listen, $max, $sent, $recv)",
                        "$ts", "$period", "$tcp", "$udp", "$est", "$listen", "$max", "$sent", "$recv"));
                    c.Transaction = tx;
                    var t = b.Totals;
                    Bind(c, ToMs(t.TimeUtc), (long)t.Period.TotalMilliseconds, t.Tcp, t.Udp, t.Established, t.Listening, t.MaxConnections, t.BytesSent, t.BytesReceived);
                    c.ExecuteNonQuery();
                }
                if (b.Processes.Count > 0)
                {
                    var c = _insertProcess ?? (_insertProcess = Prepare("INSERT INTO process VALUES ($ts, $res, $name, $samples, $conn, $max, $sent, $recv)",
                        "$ts", "$res", "$name", "$samples", "$conn", "$max", "$sent", "$recv"));
                    c.Transaction = tx;
                    foreach (var p in b.Processes)
                    {
                        Bind(c, ToMs(p.TimeUtc), (long)p.Period.TotalMilliseconds, p.ProcessName, p.Samples, p.Connections, p.MaxConnections, p.BytesSent, p.BytesReceived);
                        c.ExecuteNonQuery();
                    }
                }
                if (b.Opened.Count > 0)
                {
                    var c = _insertConnection ?? (_insertConnection = Prepare(
                        "INSERT INTO connection (opened, protocol, local_address, local_port, remote_address, remote_port, state, pid, process_name, country, asn, asn_organization, bytes_sent, bytes_received, opened_before) " +
                        "VALUES ($opened, $proto, $laddr, $lport, $raddr, $rport, $state, $pid, $name, $country, $asn, $org, $sent, $recv, $before) RETURNING id",
                        "$opened", "$proto", "$laddr", "$lport", "$raddr", "$rport", "$state", "$pid", "$name", "$country", "$asn", "$org", "$sent", "$recv", "$before"));
                    c.Transaction = tx;
                    foreach (var o in b.Opened)
                    {
                        var r = o.Row;
                        Bind(c, ToMs(r.OpenedUtc), r.Protocol, r.LocalAddress, r.LocalPort, r.RemoteAddress, r.RemotePort, r.State, r.ProcessId, r.ProcessName, r.Country, r.Asn, r.AsnOrganization, r.BytesSent, r.BytesReceived, r.OpenedBeforeRecording ? 1 : 0);
                        o.Id = (long)c.ExecuteScalar();
                    }
                }
                if (b.Closed.Count > 0)
                {
                    var c = _closeConnection ?? (_closeConnection = Prepare("UPDATE connection SET closed = $closed, bytes_sent = coalesce($sent, bytes_sent), bytes_received = coalesce($recv, bytes_received), state = coalesce($state, state) WHERE id = $id",
                        "$closed", "$sent", "$recv", "$state", "$id"));
                    c.Transaction = tx;
                    foreach (var x in b.Closed)
                    {
                        if (x.Connection == null || x.Connection.Id == 0) continue;
                        Bind(c, ToMs(x.ClosedUtc), x.BytesSent, x.BytesReceived, x.State, x.Connection.Id);
                        c.ExecuteNonQuery();
                    }
                }
                if (b.Alerts.Count > 0)
                {
                    var c = _insertAlert ?? (_insertAlert = Prepare(
                        "INSERT INTO alert (ts, alert_id, rule, kind, status, summary, subject, value, threshold, protocol, local_address, local_port, remote_address, remote_port, state, pid, process_name, country, asn, detail) " +
                        "VALUES ($ts, $aid, $rule, $kind, $status, $summary, $subject, $value, $threshold, $proto, $laddr, $lport, $raddr, $rport, $state, $pid, $name, $country, $asn, $detail)",
                        "$ts", "$aid", "$rule", "$kind", "$status", "$summary", "$subject", "$value", "$threshold", "$proto", "$laddr", "$lport", "$raddr", "$rport", "$state", "$pid", "$name", "$country", "$asn", "$detail"));
                    c.Transaction = tx;
                    foreach (var a in b.Alerts)
                    {
                        Bind(c, ToMs(a.TimeUtc), a.AlertId.ToString("D"), a.RuleName ?? "", a.AlertKind ?? "", a.Status ?? "", a.Summary, a.Subject, a.Value, a.Threshold,
                            a.Protocol, a.LocalAddress, a.LocalPort, a.RemoteAddress, a.RemotePort, a.State, a.ProcessId, a.ProcessName, a.Country, a.Asn, a.Detail);
                        c.ExecuteNonQuery();
                    }
                }
                if (b.Progress.Count > 0)
                {
                    var c = _progressConnection ?? (_progressConnection = Prepare("UPDATE connection SET bytes_sent = coalesce($sent, bytes_sent), bytes_received = coalesce($recv, bytes_received), state = coalesce($state, state) WHERE id = $id",
                        "$sent", "$recv", "$state", "$id"));
                    c.Transaction = tx;
                    foreach (var x in b.Progress)
                    {
                        if (x.Connection == null || x.Connection.Id == 0) continue;
                        Bind(c, x.BytesSent, x.BytesReceived, x.State, x.Connection.Id);
                        c.ExecuteNonQuery();
                    }
                }
            }
        }

        /// <summary>
        /// Rolls up and prunes at <paramref name="nowUtc"/>, in one transaction. Two tiers per table, both kept up to
        /// date: totals per sample and per minute, processes per minute and per hour. Whole minutes (hours) that ended
        /// a little while ago (<see cref="RollUpLag"/>, so a late sample still lands in its minute) are summed into the
        /// coarse tier as they end; the fine tier is kept for <see cref="HistoryOptions.RawRetention"/>, the coarse one
        /// and everything else for <see cref="HistoryOptions.Retention"/>; connection lives for
        /// <see cref="HistoryOptions.ConnectionRetention"/> after they closed.
        /// </summary>
        public void Maintain(DateTime nowUtc)
        {
            if (!IsWriter) throw new InvalidOperationException("This history store was opened to read.");
            long now = ToMs(nowUtc);
            long lag = (long)RollUpLag.TotalMilliseconds;
            long minutesDone = (now - lag) / Minute * Minute, hoursDone = (now - lag) / Hour * Hour;
            long rawCut = Math.Min(now - (long)_options.RawRetention.TotalMilliseconds, minutesDone);
            long minuteCut = Math.Min(now - (long)_options.RawRetention.TotalMilliseconds, hoursDone);
            long keep = now - (long)_options.Retention.TotalMilliseconds;
            long keepConnections = now - (long)_options.ConnectionRetention.TotalMilliseconds;
            long livesCut = Math.Min(now - (long)_options.RawRetention.TotalMilliseconds, hoursDone);
            try
            {
                using (var tx = _db.BeginTransaction())
                {
                    long totalsFrom = Through("totals_minutes_through", tx), processFrom = Through("process_hours_through", tx);
                    Execute(_db, @"
INSERT OR REPLACE INTO totals
SELECT (ts / 60000) * 60000, 60000, 60000, sum(samples), avg(tcp), avg(udp), avg(established), avg(listening), max(max_connections),
       sum(bytes_sent), sum(bytes_received)
FROM totals WHERE resolution_ms = 0 AND ts >= $tfrom AND ts < $tdone GROUP BY ts / 60000;
DELETE FROM process WHERE resolution_ms = 3600000 AND ts >= $pfrom AND ts < $pdone;
INSERT INTO process
SELECT (ts / 3600000) * 3600000, 3600000, name, sum(samples), ifnull(sum(connections * samples) / nullif(sum(samples), 0), 0), max(max_connections),
       sum(bytes_sent), sum(bytes_received)
FROM process WHERE resolution_ms = 60000 AND ts >= $pfrom AND ts < $pdone GROUP BY ts / 3600000, name;
INSERT OR REPLACE INTO meta VALUES ('totals_minutes_through', $tdone), ('process_hours_through', $pdone);
DELETE FROM totals WHERE resolution_ms = 0 AND ts < $rawcut;
DELETE FROM process WHERE resolution_ms = 60000 AND ts < $minutecut;
DELETE FROM totals WHERE ts < $keep;
DELETE FROM process WHERE ts < $keep;
INSERT INTO connection (opened, closed, closed_by_stop, protocol, local_address, local_port, remote_address, remote_port, process_name, country, asn, asn_organization, bytes_sent, bytes_received, lives, rolled_up)
SELECT (opened / 3600000) * 3600000, max(closed), min(closed_by_stop), protocol, local_address,
       CASE WHEN remote_port IS NULL OR local_port <= remote_port THEN local_port END,
       remote_address,
       CASE WHEN remote_port IS NOT NULL AND local_port > remote_port THEN remote_port END,
       process_name, country, asn, asn_organization, sum(bytes_sent), sum(bytes_received), count(*), 1
FROM connection WHERE rolled_up = 0 AND closed IS NOT NULL AND opened < $livescut AND closed < $livescut
GROUP BY opened / 3600000, protocol, local_address, remote_address, process_name,
         CASE WHEN remote_port IS NULL OR local_port <= remote_port THEN local_port END,
         CASE WHEN remote_port IS NOT NULL AND local_port > remote_port THEN remote_port END;
DELETE FROM connection WHERE rolled_up = 0 AND closed IS NOT NULL AND opened < $livescut AND closed < $livescut;
DELETE FROM connection WHERE coalesce(closed, opened) < $keepc AND closed IS NOT NULL;
DELETE FROM alert WHERE ts < $keep;", tx,
                        ("$tfrom", Math.Min(totalsFrom, minutesDone)), ("$tdone", Math.Max(totalsFrom, minutesDone)),
                        ("$pfrom", Math.Min(processFrom, hoursDone)), ("$pdone", Math.Max(processFrom, hoursDone)),
                        ("$rawcut", rawCut), ("$minutecut", minuteCut), ("$keep", keep), ("$keepc", keepConnections), ("$livescut", livesCut));
                    tx.Commit();
                }
            }
            catch (Exception ex) when (IsDiskFull(ex))
            {
                if (!_diskFullSaid) _warnings.Add("The disk of the history file '" + Path + "' is full: roll-ups wait until there is room (" + FirstLine(ex.Message) + ").");
                _diskFullSaid = true;
            }
        }

        /// <summary>How long after a minute (an hour) ends it is rolled up: samples the recorder queued still land in it.</summary>
        public static readonly TimeSpan RollUpLag = TimeSpan.FromMinutes(2);

        /// <summary>The time (Unix ms) up to which the fine tier has been summed into the coarse one; 0 before the first roll-up.</summary>
        private long Through(string key, SqliteTransaction tx = null)
        {
            try
            {
                using (var c = new SqliteCommand("SELECT value FROM meta WHERE key = $k", _db, tx))
                {
                    c.Parameters.AddWithValue("$k", key);
                    return c.ExecuteScalar() is object v && v != DBNull.Value ? Convert.ToInt64(v, CultureInfo.InvariantCulture) : 0;
                }
            }
            catch (SqliteException) when (tx == null) { return 0; } // a reader of a file without a meta table yet
        }

        /// <summary>
        /// Which tier answers: the coarse one (where rolled up, the fine one after that) when the question asks for all
        /// history, reaches back past where the fine tier begins while the coarse one holds older rows (the fine ones were
        /// pruned), or sums into periods no shorter than the coarse resolution; else the fine one alone, which then holds everything asked for (a
        /// range reaching back before the recording began is no reason for minutes: a newcomer's trial got them for the
        /// dashboard's hour ten minutes into a recording). Returns the SQL condition on resolution_ms and ts.
        /// </summary>
        private string Tier(HistoryQuery q, string table, long fine, long coarse, string throughKey, SqliteCommand c)
        {
            long through = Through(throughKey);
            // Where each tier begins, from the file itself (its writer's retention is not known to a reader).
            long? Start(long resolution)
            {
                using (var first = new SqliteCommand("SELECT min(ts) FROM " + table + " WHERE resolution_ms = " + resolution.ToString(CultureInfo.InvariantCulture), _db))
                    return first.ExecuteScalar() is object v && v != DBNull.Value ? Convert.ToInt64(v, CultureInfo.InvariantCulture) : (long?)null;
            }
            long? fineStart = Start(fine);
            bool useCoarse = q.SinceUtc == null || fineStart == null
                             || (ToMs(q.SinceUtc.Value) < fineStart.Value && Start(coarse) is long coarseStart && coarseStart < fineStart.Value)
                             || (q.Interval != null && q.Interval.Value.TotalMilliseconds >= coarse);
            c.Parameters.AddWithValue("$through", through);
            return useCoarse
                ? "((resolution_ms = " + coarse.ToString(CultureInfo.InvariantCulture) + " AND ts < $through) OR (resolution_ms = " + fine.ToString(CultureInfo.InvariantCulture) + " AND ts >= $through))"
                : "resolution_ms = " + fine.ToString(CultureInfo.InvariantCulture);
        }

        // ---- reading ----

        /// <summary>
        /// The SQL condition for totals and process rows that cover some of [since, until): a sample row (resolution 0) at
        /// or after since, a roll-up row (a minute, an hour: it stands for [ts, ts + resolution)) that ends after since —
        /// so "since 14:51:03" includes the minute 14:51, whole (its time says where it begins), which holds what moved from
        /// then on (a newcomer's trial asked a one-minute recording for its process since it began and got nothing) — and
        /// each begun before until. Adds the parameters $since, $until and $sinceLow (since less the longest resolution, for
        /// the index on ts).
        /// </summary>
        private static string Covering(SqliteCommand c, long since, long until)
        {
            c.Parameters.AddWithValue("$since", since);
            c.Parameters.AddWithValue("$until", until);
            c.Parameters.AddWithValue("$sinceLow", since == long.MinValue ? long.MinValue : since - Hour);
            return "ts >= $sinceLow AND ts < $until AND (ts >= $since OR ts + resolution_ms > $since)";
        }

        /// <summary>Totals rows in the range, oldest first; with an interval, summed into periods of that length.</summary>
        public IReadOnlyList<TotalsRow> QueryTotals(HistoryQuery q)
        {
            var (since, until) = Range(q);
            var rows = new List<TotalsRow>();
            using (var c = new SqliteCommand { Connection = _db })
            {
                c.CommandText = "SELECT ts, period_ms, samples, tcp, udp, established, listening, max_connections, bytes_sent, bytes_received FROM totals WHERE " + Covering(c, since, until) + " AND "
                    + Tier(q, "totals", 0, Minute, "totals_minutes_through", c) + " ORDER BY ts, resolution_ms";
                using (var r = c.ExecuteReader())
                    while (r.Read())
                        rows.Add(new TotalsRow
                        {
                            TimeUtc = FromMs(r.GetInt64(0)), Period = TimeSpan.FromMilliseconds(r.GetInt64(1)), Samples = r.GetInt32(2),
                            Tcp = r.GetDouble(3), Udp = r.GetDouble(4), Established = r.GetDouble(5), Listening = r.GetDouble(6),
                            MaxConnections = r.GetInt32(7), BytesSent = NullableLong(r, 8), BytesReceived = NullableLong(r, 9),
                        });
            }
            if (q.Interval != null) rows = HistoryRollup.Totals(rows, q.Interval.Value, q.TimeZone);
            return Limit(rows, q.Limit);
        }

        /// <summary>Process rows in the range, oldest first, for the names asked (all when none); with an interval, summed per name into periods of that length.</summary>
        public IReadOnlyList<ProcessRow> QueryProcesses(HistoryQuery q)
        {
            var (since, until) = Range(q);
            var names = Patterns(q.ProcessNames);
            var rows = new List<ProcessRow>();
            using (var c = new SqliteCommand { Connection = _db })
            {
                c.CommandText = "SELECT ts, resolution_ms, name, samples, connections, max_connections, bytes_sent, bytes_received FROM process WHERE " + Covering(c, since, until) + " AND "
                    + Tier(q, "process", Minute, Hour, "process_hours_through", c) + " ORDER BY ts, name";
                using (var r = c.ExecuteReader())
                    while (r.Read())
                    {
                        string name = r.IsDBNull(2) ? null : r.GetString(2);
                        if (names != null && !ConnectionQuery.MatchesAnyProcessName(names, name)) continue;
                        rows.Add(new ProcessRow
                        {
                            TimeUtc = FromMs(r.GetInt64(0)), Period = TimeSpan.FromMilliseconds(r.GetInt64(1)), ProcessName = name,
                            Samples = r.GetInt32(3), Connections = r.GetDouble(4), MaxConnections = r.GetInt32(5),
                            BytesSent = NullableLong(r, 6), BytesReceived = NullableLong(r, 7),
                        });
                    }
            }
            if (q.Interval != null) rows = HistoryRollup.Processes(rows, q.Interval.Value, q.TimeZone);
            return Limit(rows, q.Limit);
        }

        /// <summary>Connections alive at some time in the range (opened before its end, not closed before its start), oldest first.</summary>
        public IReadOnlyList<ConnectionRow> QueryConnections(HistoryQuery q)
        {
            var (since, until) = Range(q);
            var names = Patterns(q.ProcessNames);
            var sql = new StringBuilder("SELECT opened, closed, closed_by_stop, protocol, local_address, local_port, remote_address, remote_port, state, pid, process_name, country, asn, asn_organization, bytes_sent, bytes_received, lives, opened_before FROM connection WHERE opened < $until AND (closed IS NULL OR closed >= $since)");
            var c = new SqliteCommand { Connection = _db };
            // Plain addresses narrow the read through the index; networks and wildcards are matched below.
            var exact = q.RemoteAddresses != null && q.RemoteAddresses.Count > 0 && q.RemoteAddresses.All(IsSingleAddress)
                ? q.RemoteAddresses.Select(p => AddressPattern.FormatAddress(AddressPattern.Normalize(IPAddress.Parse(p.Text)))).ToList()
                : null;
            if (exact != null)
            {
                sql.Append(" AND remote_address IN (");
                for (int i = 0; i < exact.Count; i++)
                {
                    sql.Append(i == 0 ? "" : ", ").Append("$a").Append(i);
                    c.Parameters.AddWithValue("$a" + i.ToString(CultureInfo.InvariantCulture), exact[i]);
                }
                sql.Append(')');
            }
            sql.Append(" ORDER BY opened, id");
            c.CommandText = sql.ToString();
            c.Parameters.AddWithValue("$since", since);
            c.Parameters.AddWithValue("$until", until);
            var rows = new List<ConnectionRow>();
            var countries = q.Countries != null && q.Countries.Count > 0 ? new HashSet<string>(q.Countries, StringComparer.OrdinalIgnoreCase) : null;
            using (c)
            using (var r = c.ExecuteReader())
                while (r.Read())
                {
                    var row = new ConnectionRow
                    {
                        OpenedUtc = FromMs(r.GetInt64(0)), ClosedUtc = r.IsDBNull(1) ? (DateTime?)null : FromMs(r.GetInt64(1)), ClosedByRecorderStop = r.GetInt64(2) != 0,
                        Protocol = r.GetString(3), LocalAddress = r.GetString(4), LocalPort = r.IsDBNull(5) ? (int?)null : r.GetInt32(5), Lives = r.GetInt32(16), OpenedBeforeRecording = r.GetInt64(17) != 0,
                        RemoteAddress = r.IsDBNull(6) ? null : r.GetString(6), RemotePort = r.IsDBNull(7) ? (int?)null : r.GetInt32(7),
                        State = r.IsDBNull(8) ? null : r.GetString(8), ProcessId = r.IsDBNull(9) ? (int?)null : r.GetInt32(9),
                        ProcessName = r.IsDBNull(10) ? null : r.GetString(10), Country = r.IsDBNull(11) ? null : r.GetString(11),
                        Asn = NullableLong(r, 12), AsnOrganization = r.IsDBNull(13) ? null : r.GetString(13),
                        BytesSent = NullableLong(r, 14), BytesReceived = NullableLong(r, 15),
                    };
                    if (names != null && !ConnectionQuery.MatchesAnyProcessName(names, row.ProcessName)) continue;
                    if (countries != null && (row.Country == null || !countries.Contains(row.Country))) continue;
                    if (exact == null && !MatchesRemote(q.RemoteAddresses, row.RemoteAddress)) continue;
                    if (!MatchesEnds(q, row.Protocol, row.ProcessId, row.LocalPort, row.RemotePort)) continue;
                    rows.Add(row);
                }
            return Limit(rows, q.Limit);
        }

        /// <summary>
        /// Alert rows raised in the range, oldest first, filtered by process name, remote address and country like
        /// connection lives (a filter drops rows whose field is null). A file written before alerts were recorded has none.
        /// </summary>
        public IReadOnlyList<AlertRow> QueryAlerts(HistoryQuery q)
        {
            var (since, until) = Range(q);
            var names = Patterns(q.ProcessNames);
            var countries = q.Countries != null && q.Countries.Count > 0 ? new HashSet<string>(q.Countries, StringComparer.OrdinalIgnoreCase) : null;
            var rows = new List<AlertRow>();
            if (Scalar(_db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alert'") == 0) return rows;
            using (var c = new SqliteCommand("SELECT ts, alert_id, rule, kind, status, summary, subject, value, threshold, protocol, local_address, local_port, remote_address, remote_port, state, pid, process_name, country, asn, detail " +
                                             "FROM alert WHERE ts >= $since AND ts < $until ORDER BY ts, id", _db))
            {
                c.Parameters.AddWithValue("$since", since);
                c.Parameters.AddWithValue("$until", until);
                using (var r = c.ExecuteReader())
                    while (r.Read())
                    {
                        var row = new AlertRow
                        {
                            TimeUtc = FromMs(r.GetInt64(0)), AlertId = Guid.TryParse(r.GetString(1), out var id) ? id : Guid.Empty, RuleName = r.GetString(2),
                            AlertKind = r.GetString(3), Status = r.GetString(4), Summary = Text(r, 5), Subject = Text(r, 6),
                            Value = r.IsDBNull(7) ? (double?)null : r.GetDouble(7), Threshold = r.IsDBNull(8) ? (double?)null : r.GetDouble(8),
                            Protocol = Text(r, 9), LocalAddress = Text(r, 10), LocalPort = r.IsDBNull(11) ? (int?)null : r.GetInt32(11),
                            RemoteAddress = Text(r, 12), RemotePort = r.IsDBNull(13) ? (int?)null : r.GetInt32(13), State = Text(r, 14),
                            ProcessId = r.IsDBNull(15) ? (int?)null : r.GetInt32(15), ProcessName = Text(r, 16), Country = Text(r, 17), Asn = NullableLong(r, 18), Detail = Text(r, 19),
                        };
                        if (names != null && !ConnectionQuery.MatchesAnyProcessName(names, row.ProcessName)) continue;
                        if (countries != null && (row.Country == null || !countries.Contains(row.Country))) continue;
                        if (!MatchesRemote(q.RemoteAddresses, row.RemoteAddress)) continue;
                        if (!MatchesEnds(q, row.Protocol, row.ProcessId, row.LocalPort, row.RemotePort)) continue;
                        rows.Add(row);
                    }
            }
            return Limit(rows, q.Limit);
        }

        private static bool MatchesRemote(IReadOnlyList<AddressPattern> patterns, string address) =>
            patterns == null || patterns.Count == 0 ||
            (address != null && IPAddress.TryParse(address, out var ip) && patterns.Any(p => p.IsMatch(ip)));

        /// <summary>The protocol, process id and port filters of <paramref name="q"/>; a null field never matches a filter on it.</summary>
        private static bool MatchesEnds(HistoryQuery q, string protocol, int? pid, int? localPort, int? remotePort)
        {
            if (q.Protocols != null && q.Protocols.Count > 0 && (protocol == null || !q.Protocols.Any(p => string.Equals(p, protocol, StringComparison.OrdinalIgnoreCase)))) return false;
            if (q.ProcessIds != null && q.ProcessIds.Count > 0 && (pid == null || !q.ProcessIds.Contains(pid.Value))) return false;
            if (q.LocalPorts != null && q.LocalPorts.Count > 0 && (localPort == null || !q.LocalPorts.Contains(localPort.Value))) return false;
            if (q.RemotePorts != null && q.RemotePorts.Count > 0 && (remotePort == null || !q.RemotePorts.Contains(remotePort.Value))) return false;
            if (q.Ports != null && q.Ports.Count > 0 &&
                !((localPort != null && q.Ports.Contains(localPort.Value)) || (remotePort != null && q.Ports.Contains(remotePort.Value)))) return false;
            return true;
        }

        private static string Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

        private static bool IsSingleAddress(AddressPattern p) =>
            p.Zone == null && p.Text.IndexOfAny(new[] { '/', '*', '?', '%' }) < 0 && IPAddress.TryParse(p.Text, out _);

        private static List<Wildcard> Patterns(IReadOnlyList<string> names) =>
            names == null || names.Count == 0 ? null : names.Select(n => new Wildcard(n)).ToList();

        private static (long Since, long Until) Range(HistoryQuery q)
        {
            if (q == null) throw new ArgumentNullException(nameof(q));
            long since = q.SinceUtc == null ? long.MinValue : ToMs(q.SinceUtc.Value);
            long until = q.UntilUtc == null ? long.MaxValue : ToMs(q.UntilUtc.Value);
            return (since, until);
        }

        private static IReadOnlyList<T> Limit<T>(List<T> rows, int? limit) =>
            limit == null || rows.Count <= limit.Value ? rows : rows.GetRange(rows.Count - limit.Value, limit.Value);

        /// <summary>Size of the database file and its write-ahead log, in bytes.</summary>
        public long SizeBytes =>
            FileLength(Path) + FileLength(Path + "-wal");

        private static long FileLength(string p) => File.Exists(p) ? new FileInfo(p).Length : 0;

        // ---- helpers ----

        internal static long ToMs(DateTime utc) =>
            (long)(DateTime.SpecifyKind(utc, DateTimeKind.Utc) - UnixEpoch).TotalMilliseconds;

        internal static DateTime FromMs(long ms) => UnixEpoch.AddMilliseconds(ms);

        private static readonly DateTime UnixEpoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        private static long? NullableLong(SqliteDataReader r, int i) => r.IsDBNull(i) ? (long?)null : r.GetInt64(i);

        private SqliteCommand Prepare(string sql, params string[] names)
        {
            var c = new SqliteCommand(sql, _db);
            foreach (var n in names) c.Parameters.Add(new SqliteParameter { ParameterName = n });
            c.Prepare();
            return c;
        }

        private static void Bind(SqliteCommand c, params object[] values)
        {
            for (int i = 0; i < values.Length; i++) c.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        private static long Scalar(SqliteConnection db, string sql)
        {
            using (var c = new SqliteCommand(sql, db)) return Convert.ToInt64(c.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        private static void Execute(SqliteConnection db, string sql, SqliteTransaction tx = null, params (string Name, object Value)[] parameters)
        {
            using (var c = new SqliteCommand(sql, db, tx))
            {
                foreach (var p in parameters) c.Parameters.AddWithValue(p.Name, p.Value);
                c.ExecuteNonQuery();
            }
        }

        /// <summary>Closes the database (checkpointing the WAL) and lets go of the writer lock.</summary>
        public void Dispose()
        {
            foreach (var c in new[] { _insertTotals, _insertProcess, _insertConnection, _closeConnection, _progressConnection, _insertAlert }) c?.Dispose();
            try
            {
                if (IsWriter) Execute(_db, "PRAGMA wal_checkpoint(TRUNCATE)");
            }
            catch (SqliteException) { } // a reader holding a snapshot; the next open checkpoints
            _db.Dispose();
            // The lock file stays (empty): it says a recorder of ours used this path, so a damaged file here is ours to set aside.
            _lock?.Dispose();
        }
    }

    /// <summary>What one sample adds to the history (built by <see cref="HistoryRecorder"/>).</summary>
    public sealed class HistoryBatch
    {
        /// <summary>The sample's totals row, or null.</summary>
        public TotalsRow Totals { get; set; }
        /// <summary>Process rows of minutes that ended.</summary>
        public List<ProcessRow> Processes { get; } = new List<ProcessRow>();
        /// <summary>Connections first seen in this sample; <see cref="OpenedConnection.Id"/> is set when written.</summary>
        public List<OpenedConnection> Opened { get; } = new List<OpenedConnection>();
        /// <summary>Connections gone in this sample.</summary>
        public List<ClosedConnection> Closed { get; } = new List<ClosedConnection>();
        /// <summary>Open connections whose counters or state changed since they were last written (once a minute).</summary>
        public List<ClosedConnection> Progress { get; } = new List<ClosedConnection>();
        /// <summary>Alerts raised since the previous batch, a row per item.</summary>
        public List<AlertRow> Alerts { get; } = new List<AlertRow>();
    }

    /// <summary>A connection to insert; <see cref="Id"/> is its row id once written.</summary>
    public sealed class OpenedConnection
    {
        /// <summary>The row as first seen.</summary>
        public ConnectionRow Row { get; set; }
        /// <summary>The row id, set by <see cref="HistoryStore.Write"/>; 0 before.</summary>
        public long Id { get; set; }
    }

    /// <summary>A connection that ended: its row (written earlier), when, and its counters when last seen.</summary>
    public sealed class ClosedConnection
    {
        /// <summary>The connection as it was opened; its <see cref="OpenedConnection.Id"/> names the row (0: never written, nothing to update).</summary>
        public OpenedConnection Connection { get; set; }
        /// <summary>The first sample it was gone from (UTC).</summary>
        public DateTime ClosedUtc { get; set; }
        /// <summary>Payload bytes sent when last seen (null keeps what the row has).</summary>
        public long? BytesSent { get; set; }
        /// <summary>Payload bytes received when last seen (null keeps what the row has).</summary>
        public long? BytesReceived { get; set; }
        /// <summary>The TCP state when last seen (null keeps what the row has).</summary>
        public string State { get; set; }
    }

    /// <summary>The history file cannot be used (missing, unreadable, not a history, from a newer module).</summary>
    public class HistoryException : Exception
    {
        /// <summary>An exception with a message that says what is wrong and what to do.</summary>
        public HistoryException(string message, Exception inner = null) : base(message, inner) { }
    }

    /// <summary>There is no file at the path a history was to be read from (the cmdlets report ErrorCategory.ObjectNotFound).</summary>
    public sealed class HistoryFileNotFoundException : HistoryException
    {
        /// <summary>The full path that holds no file.</summary>
        public HistoryFileNotFoundException(string path)
            : base("There is no history file at '" + path + "': start a recording first, or name the file of one.")
        {
            Path = path;
        }

        /// <summary>The full path that holds no file.</summary>
        public string Path { get; }
    }

    /// <summary>Another recorder writes this history file: one writer per file.</summary>
    public sealed class HistoryLockedException : HistoryException
    {
        /// <summary>The file and the writer's process id when known.</summary>
        public HistoryLockedException(string path, int? ownerProcessId)
            : base("The history file '" + path + "' is being recorded by another " + (ownerProcessId != null ? "process (PID " + ownerProcessId.Value.ToString(CultureInfo.InvariantCulture) + ")" : "process") +
                   ": one recorder per file. Stop that recording (or service) or record into another file.")
        {
            FilePath = path;
            OwnerProcessId = ownerProcessId;
        }

        /// <summary>The history file.</summary>
        public string FilePath { get; }

        /// <summary>The recording process's id (from the lock file), or null when it could not be read.</summary>
        public int? OwnerProcessId { get; }
    }
}
