using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Export
{
    /// <summary>
    /// The seed's auto-export, done by the history recorder: given every sample it records, it writes the connection
    /// snapshot once per <see cref="ExportOptions.Interval"/> as connections-&lt;UTC yyyyMMddTHHmmssZ&gt;.csv and/or .json
    /// (<see cref="ConnectionFileFormat"/>) into <see cref="ExportOptions.Folder"/>, then deletes the oldest of its own
    /// files beyond <see cref="ExportOptions.Keep"/> per format and those older than <see cref="ExportOptions.MaxAge"/>
    /// (judged by the time in the name). Files of any other name in the folder are never touched.
    /// <para>
    /// Each file is written whole or not at all: into a hidden temporary file in the same folder
    /// (.connections-&lt;time&gt;.&lt;format&gt;.&lt;random&gt;.tmp), flushed to the disk, then renamed over the final name, so
    /// a reader (a script polling the folder, a sync client) sees either no file or the complete one. A failed write
    /// deletes its temporary file; one left by a process killed while it wrote is deleted by a later export once it is
    /// ten minutes old.
    /// </para>
    /// <para>
    /// Exports fall on whole multiples of the interval counted in UTC (hourly ones on the hour): the first at the
    /// first sample on or after the next such moment, then one per interval; moments missed while nothing was
    /// sampled are skipped, not caught up. A failure (full disk, no permission, a folder that cannot be made) never
    /// throws: it becomes a warning (<see cref="TakeWarnings"/>, said once until an export works again) and the
    /// next export is tried at the next moment. Not thread-safe: one thread (the recorder's) calls it.
    /// </para>
    /// </summary>
    public sealed class SnapshotExporter
    {
        private static readonly Regex OwnFile = new Regex(@"^connections-(\d{8}T\d{6}Z)\.(csv|json)$", RegexOptions.CultureInvariant);
        private static readonly Regex OwnTemp = new Regex(@"^\.connections-\d{8}T\d{6}Z\.(csv|json)\.[0-9a-f]+\.tmp$", RegexOptions.CultureInvariant);
        private const string StampFormat = "yyyyMMdd'T'HHmmss'Z'";
        /// <summary>A temporary file this old is a leftover of a killed writer, not one being written.</summary>
        internal static readonly TimeSpan LeftoverAge = TimeSpan.FromMinutes(10);

        private readonly Func<DateTime> _clock;
        private readonly Action<IReadOnlyList<ConnectionRecord>> _flag;
        private readonly List<string> _warnings = new List<string>();
        private DateTime? _next;
        private string _lastFailure;

        /// <param name="options">What to write where; its Folder must be absolute.</param>
        /// <param name="clock">UTC now (tests inject one); null for <see cref="DateTime.UtcNow"/>.</param>
        /// <param name="flag">Sets each row's Flags (the session's alert rules, as Get-MonitoredConnection shows them)
        /// just before an export writes it; null leaves the rows' Flags as they come.</param>
        public SnapshotExporter(ExportOptions options, Func<DateTime> clock = null, Action<IReadOnlyList<ConnectionRecord>> flag = null)
        {
            _flag = flag;
            Options = options ?? throw new ArgumentNullException(nameof(options));
            if (string.IsNullOrEmpty(options.Folder) || !Path.IsPathRooted(options.Folder)) throw new ArgumentException("The export folder must be an absolute path.", nameof(options));
            if (options.Interval < TimeSpan.FromSeconds(1)) throw new ArgumentOutOfRangeException(nameof(options), "The export interval must be at least one second.");
            _clock = clock ?? (() => DateTime.UtcNow);
        }

        /// <summary>The options in force.</summary>
        public ExportOptions Options { get; }

        /// <summary>
        /// Opens the file a temporary export is written to (tests wrap it to fail mid-write); the default creates a new file
        /// that other users cannot read (mode 0640 less the umask on Unix, as the history file: an export holds the same
        /// connections, and the group that may read the history may read these); the rename keeps that mode.
        /// </summary>
        internal Func<string, Stream> OpenTemporary { get; set; } = path => Platform.PrivateFile.CreateNewForOwnerAndGroup(path, 64 * 1024);

        /// <summary>Files written since this exporter was made.</summary>
        public long FilesWritten { get; private set; }

        /// <summary>Exports that failed since this exporter was made (one per file).</summary>
        public long Failures { get; private set; }

        /// <summary>When the next export is due (UTC); null before the first sample.</summary>
        public DateTime? NextExportUtc => _next;

        /// <summary>The full paths of the files the last export wrote (empty before the first, or when it failed).</summary>
        public IReadOnlyList<string> LastFiles { get; private set; } = new string[0];

        /// <summary>
        /// Hands the exporter a sample; it writes the snapshot when an export is due (see the class remarks) and returns
        /// true when it wrote every file of that export. Never throws for I/O trouble.
        /// </summary>
        public bool Offer(ConnectionSnapshot snapshot)
        {
            if (snapshot == null) throw new ArgumentNullException(nameof(snapshot));
            DateTime now = _clock();
            long every = Options.Interval.Ticks;
            DateTime nextMoment = new DateTime((now.Ticks / every + 1) * every, DateTimeKind.Utc);
            if (_next == null || _next.Value - now > Options.Interval) // the first sample, or the clock went back
            {
                _next = now.Ticks % every == 0 ? now : nextMoment;
            }
            if (now < _next.Value) return false;
            _next = nextMoment;
            _flag?.Invoke(snapshot.Connections); // only when due: the rules' flags of 10,000 rows are not free
            return Export(snapshot, now);
        }

        /// <summary>Warnings since the last call (failed exports, failed pruning), each said once.</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            var w = _warnings.ToArray();
            _warnings.Clear();
            return w;
        }

        private bool Export(ConnectionSnapshot snapshot, DateTime now)
        {
            string stamp = now.ToString(StampFormat, CultureInfo.InvariantCulture);
            var written = new List<string>();
            bool ok = true;
            try
            {
                Directory.CreateDirectory(Options.Folder);
            }
            catch (Exception ex) when (IsIoTrouble(ex))
            {
                Failed("the folder '" + Options.Folder + "' cannot be made", ex.Message);
                Failures += (Options.Csv ? 1 : 0) + (Options.Json ? 1 : 0);
                LastFiles = written;
                return false;
            }
            if (Options.Csv) ok &= WriteOne(stamp, "csv", s => ConnectionFileFormat.WriteCsv(s, snapshot.Connections, snapshot.TimeStampUtc), written);
            if (Options.Json) ok &= WriteOne(stamp, "json", s => ConnectionFileFormat.WriteJson(s, snapshot.Connections, snapshot.TimeStampUtc), written);
            LastFiles = written;
            if (ok) _lastFailure = null;
            Prune(now);
            return ok;
        }

        private bool WriteOne(string stamp, string format, Action<Stream> write, List<string> written)
        {
            string name = "connections-" + stamp + "." + format;
            string target = Path.Combine(Options.Folder, name);
            string temp = Path.Combine(Options.Folder, "." + name + "." + Guid.NewGuid().ToString("N").Substring(0, 12) + ".tmp");
            try
            {
                using (var stream = OpenTemporary(temp))
                {
                    write(stream);
                    if (stream is FileStream file) file.Flush(flushToDisk: true);
                    else stream.Flush();
                }
                if (File.Exists(target)) File.Replace(temp, target, null); // the same second again (the clock went back): the newer wins
                else File.Move(temp, target);
                written.Add(target);
                FilesWritten++;
                return true;
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException)) // I/O trouble above all; whatever it is, the recording must go on
            {
                Failures++;
                try { File.Delete(temp); } catch (Exception e) when (IsIoTrouble(e)) { }
                Failed("'" + target + "' was not written", ex.Message);
                return false;
            }
        }

        /// <summary>
        /// Deletes this exporter's own files beyond Keep (per format, the oldest by the time in their names) and older
        /// than MaxAge, and temporary files left by a killed writer. Runs after every export.
        /// </summary>
        private void Prune(DateTime now)
        {
            string[] names;
            try
            {
                names = Directory.GetFiles(Options.Folder).Select(Path.GetFileName).ToArray();
            }
            catch (Exception ex) when (IsIoTrouble(ex))
            {
                Say("Auto-export: the folder '" + Options.Folder + "' cannot be listed to delete old exports: " + ex.Message);
                return;
            }
            var doomed = new List<string>();
            var own = new List<(string Name, string Format, DateTime Time)>();
            foreach (var name in names)
            {
                var match = OwnFile.Match(name);
                // Digits that are no time (connections-20261399T…) make the name not one of ours.
                if (match.Success && DateTime.TryParseExact(match.Groups[1].Value, StampFormat, CultureInfo.InvariantCulture,
                        DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
                    own.Add((name, match.Groups[2].Value, time));
            }
            foreach (var group in own.GroupBy(x => x.Format))
            {
                var files = group.OrderByDescending(x => x.Time).ThenByDescending(x => x.Name, StringComparer.Ordinal).ToList();
                for (int i = 0; i < files.Count; i++)
                {
                    bool tooMany = Options.Keep > 0 && i >= Options.Keep;
                    bool tooOld = Options.MaxAge > TimeSpan.Zero && now - files[i].Time > Options.MaxAge;
                    if (tooMany || tooOld) doomed.Add(files[i].Name);
                }
            }
            foreach (var name in names.Where(n => OwnTemp.IsMatch(n)))
            {
                try
                {
                    if (now - File.GetLastWriteTimeUtc(Path.Combine(Options.Folder, name)) > LeftoverAge) doomed.Add(name);
                }
                catch (Exception ex) when (IsIoTrouble(ex)) { }
            }
            foreach (var name in doomed)
            {
                try { File.Delete(Path.Combine(Options.Folder, name)); }
                catch (Exception ex) when (IsIoTrouble(ex))
                {
                    Say("Auto-export: the old export '" + Path.Combine(Options.Folder, name) + "' cannot be deleted: " + ex.Message);
                }
            }
        }

        private void Failed(string what, string reason)
        {
            // A full disk fails every interval the same way: say it once, and again only when the reason changes or after an export worked.
            if (reason == _lastFailure) return;
            _lastFailure = reason;
            Say("Auto-export failed: " + what + ": " + reason.TrimEnd('.') + ". Recording goes on; the next export is due at "
                + _next?.ToString("u", CultureInfo.InvariantCulture) + ".");
        }

        private void Say(string warning)
        {
            if (!_warnings.Contains(warning)) _warnings.Add(warning);
        }

        private static bool IsIoTrouble(Exception ex) => ex is IOException || ex is UnauthorizedAccessException || ex is System.Security.SecurityException || ex is NotSupportedException || ex is ArgumentException;
    }
}
