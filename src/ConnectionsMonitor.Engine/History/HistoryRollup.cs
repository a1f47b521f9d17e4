using System;
using System.Collections.Generic;
using System.Linq;

namespace ConnectionsMonitor.Engine.History
{
    /// <summary>Where and how long the recorder keeps history (config.yml's history.* and monitoring.historyRetention).</summary>
    public sealed class HistoryOptions
    {
        /// <summary>Everything older goes (monitoring.historyRetention; default 7 days).</summary>
        public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
        /// <summary>Totals are kept per sample, and processes per minute, for this long; then per minute and per hour (history.rawRetention; default 1 day).</summary>
        public TimeSpan RawRetention { get; set; } = TimeSpan.FromDays(1);
        /// <summary>Connection life records are kept this long after they close (history.connectionRetention; default 7 days).</summary>
        public TimeSpan ConnectionRetention { get; set; } = TimeSpan.FromDays(7);
        /// <summary>How often roll-ups and pruning run (default every 10 minutes).</summary>
        public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>The options a configuration gives (monitoring.historyRetention, history.rawRetention, history.connectionRetention).</summary>
        public static HistoryOptions From(Configuration.MonitorConfig config) => new HistoryOptions
        {
            Retention = TimeSpan.FromMilliseconds(config.Monitoring.HistoryRetention),
            RawRetention = TimeSpan.FromMilliseconds(config.History.RawRetention),
            ConnectionRetention = TimeSpan.FromMilliseconds(config.History.ConnectionRetention),
        };

        /// <summary>
        /// The history file a configuration names (history.path, as <see cref="ExpandConfigured"/> makes it; a relative one
        /// is the caller's to anchor), else <see cref="DefaultPath"/>.
        /// </summary>
        public static string PathFrom(Configuration.MonitorConfig config) =>
            config?.History.Path != null ? ExpandConfigured(config.History.Path) : DefaultPath();

        /// <summary>
        /// history.path as written with environment variables and a leading ~ expanded, as the module's other configured
        /// paths are (GeoIpPaths): "~/h.db" is the home folder's h.db, never a folder named "~" in the current one (a
        /// newcomer's trial got that). A relative result stays relative.
        /// </summary>
        public static string ExpandConfigured(string configured) =>
            Enrichment.Geo.GeoIpPaths.ExpandHome(Environment.ExpandEnvironmentVariables(configured.Trim()));

        /// <summary>history.db in the user's data folder: %LOCALAPPDATA%\ConnectionsMonitor on Windows, $XDG_DATA_HOME (or ~/.local/share)/ConnectionsMonitor elsewhere.</summary>
        public static string DefaultPath() =>
            System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Enrichment.Geo.GeoIpPaths.DefaultDataDirectory()), "history.db");
    }

    /// <summary>
    /// Sums stored rows into longer periods at query time (Get-ConnectionHistory -Interval, the dashboard's graphs). A stored
    /// row longer than the interval (a minute's roll-up asked for in 10 s periods) cannot be split: it stays a period of its
    /// own length, labelled so, and is never counted as one of the interval's (that gave a minute's bytes as 10 s worth).
    /// </summary>
    internal static class HistoryRollup
    {
        // The period a stored row goes into: the interval, or the row's own when that is longer.
        private static TimeSpan PeriodFor(TimeSpan rowPeriod, TimeSpan interval) => rowPeriod > interval ? rowPeriod : interval;

        /// <summary>The UTC start of the period <paramref name="t"/> falls in: periods counted from midnight 0001-01-01 on the zone's clock.</summary>
        private static long Bucket(DateTime t, TimeSpan interval, TimeZoneInfo zone)
        {
            if (zone == null || zone == TimeZoneInfo.Utc) return t.Ticks / interval.Ticks * interval.Ticks;
            var offset = zone.GetUtcOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc));
            long local = t.Ticks + offset.Ticks;
            return local / interval.Ticks * interval.Ticks - offset.Ticks;
        }

        private static long? Sum(IEnumerable<long?> values)
        {
            long? total = null;
            foreach (var v in values) if (v != null) total = (total ?? 0) + v.Value;
            return total;
        }

        public static List<TotalsRow> Totals(List<TotalsRow> rows, TimeSpan interval, TimeZoneInfo zone = null)
        {
            if (interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), "The interval must be longer than zero.");
            return rows.GroupBy(r => { var p = PeriodFor(r.Period, interval); return (Start: Bucket(r.TimeUtc, p, zone), Period: p); }).Select(g =>
            {
                int samples = g.Sum(r => r.Samples);
                double Avg(Func<TotalsRow, double> f) => g.Sum(r => f(r) * r.Samples) / samples;
                return new TotalsRow
                {
                    TimeUtc = new DateTime(g.Key.Start, DateTimeKind.Utc), Period = g.Key.Period, Samples = samples,
                    Tcp = Avg(r => r.Tcp), Udp = Avg(r => r.Udp), Established = Avg(r => r.Established), Listening = Avg(r => r.Listening),
                    MaxConnections = g.Max(r => r.MaxConnections),
                    BytesSent = Sum(g.Select(r => r.BytesSent)), BytesReceived = Sum(g.Select(r => r.BytesReceived)),
                };
            }).OrderBy(r => r.TimeUtc).ThenBy(r => r.Period).ToList();
        }

        public static List<ProcessRow> Processes(List<ProcessRow> rows, TimeSpan interval, TimeZoneInfo zone = null)
        {
            if (interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), "The interval must be longer than zero.");
            return rows.GroupBy(r => { var p = PeriodFor(r.Period, interval); return (Start: Bucket(r.TimeUtc, p, zone), Period: p, r.ProcessName); }).Select(g =>
            {
                int samples = g.Sum(r => r.Samples);
                return new ProcessRow
                {
                    TimeUtc = new DateTime(g.Key.Start, DateTimeKind.Utc), Period = g.Key.Period, ProcessName = g.Key.ProcessName, Samples = samples,
                    Connections = samples == 0 ? 0 : g.Sum(r => r.Connections * r.Samples) / samples, MaxConnections = g.Max(r => r.MaxConnections),
                    BytesSent = Sum(g.Select(r => r.BytesSent)), BytesReceived = Sum(g.Select(r => r.BytesReceived)),
                };
            }).OrderBy(r => r.TimeUtc).ThenBy(r => r.ProcessName, StringComparer.OrdinalIgnoreCase).ToList();
        }
    }
}
