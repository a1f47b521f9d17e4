using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment.Geo;

namespace ConnectionsMonitor.Engine.Export
{
    /// <summary>
    /// What the recorder's auto-export does (dashboard.export.* of config.yml), with the folder resolved to an
    /// absolute path. Made by <see cref="From"/>; tests build one directly.
    /// </summary>
    public sealed class ExportOptions
    {
        /// <summary>The absolute folder the files go to (created when missing).</summary>
        public string Folder { get; set; }

        /// <summary>Write connections-&lt;time&gt;.csv (dashboard.export.formats has csv).</summary>
        public bool Csv { get; set; } = true;

        /// <summary>Write connections-&lt;time&gt;.json (dashboard.export.formats has json).</summary>
        public bool Json { get; set; } = true;

        /// <summary>Time between exports (dashboard.export.exportInterval); exports fall on whole multiples of it in UTC, so hourly ones land on the hour.</summary>
        public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

        /// <summary>How many files of each format stay, the newest (dashboard.export.keep); 0 for no count limit.</summary>
        public int Keep { get; set; } = 168;

        /// <summary>Files older than this are deleted (dashboard.export.maxAge); <see cref="TimeSpan.Zero"/> for no age limit.</summary>
        public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

        /// <summary>
        /// The auto-export a loaded configuration asks for, or null when it asks for none (dashboard.export.enabled
        /// false, autoExport false, or no formats). A relative exportPath (after expanding environment variables and
        /// a leading ~) is taken from the folder of the configuration file that set it; from the user's data folder
        /// (~/.local/share/ConnectionsMonitor, %LOCALAPPDATA%\ConnectionsMonitor) when the configuration is the
        /// module's own config.yml (<paramref name="moduleConfigPath"/>) or the built-in defaults, because the
        /// module's folder may be read-only and is replaced by an update. An empty exportPath means "exports" there.
        /// </summary>
        /// <param name="load">The configuration and the file it came from (null SourcePath: the built-in defaults).</param>
        /// <param name="moduleConfigPath">The module's own config.yml, or null.</param>
        /// <exception cref="ConfigException">exportPath cannot be made into a path (after expanding environment variables).</exception>
        public static ExportOptions From(ConfigLoadResult load, string moduleConfigPath)
        {
            if (load == null) throw new ArgumentNullException(nameof(load));
            var x = load.Config.Dashboard.Export;
            if (!x.AutoExport || x.OfferedFormats.Count == 0) return null;
            string folder;
            try
            {
                folder = ResolveFolder(x.ExportPath, load.SourcePath, moduleConfigPath);
            }
            catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException || ex is PathTooLongException || ex is System.Security.SecurityException)
            {
                // Environment variables can expand to what no path may hold; the file itself was checked when it loaded.
                throw new ConfigException(load.SourcePath ?? "the built-in configuration",
                    "key 'dashboard.export.exportPath': expected a folder path, found '" + x.ExportPath + "', which cannot be used as one: " + ex.Message);
            }
            return new ExportOptions
            {
                Folder = folder,
                Csv = x.OfferedFormats.Contains("csv"),
                Json = x.OfferedFormats.Contains("json"),
                Interval = TimeSpan.FromMilliseconds(x.ExportInterval),
                Keep = x.Keep,
                MaxAge = TimeSpan.FromMilliseconds(x.MaxAge),
            };
        }

        /// <summary>The absolute export folder for an exportPath as written; see <see cref="From"/>.</summary>
        public static string ResolveFolder(string exportPath, string configSourcePath, string moduleConfigPath)
        {
            string path = string.IsNullOrWhiteSpace(exportPath) ? "exports" : GeoIpPaths.ExpandHome(Environment.ExpandEnvironmentVariables(exportPath.Trim()));
            if (Path.IsPathRooted(path)) return Path.GetFullPath(path);
            string baseFolder = configSourcePath == null || SamePath(configSourcePath, moduleConfigPath)
                ? Path.GetDirectoryName(GeoIpPaths.DefaultDataDirectory())
                : Path.GetDirectoryName(Path.GetFullPath(configSourcePath));
            return Path.GetFullPath(Path.Combine(baseFolder, path));
        }

        private static bool SamePath(string a, string b)
        {
            if (a == null || b == null) return false;
            var comparison = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            return string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), comparison);
        }
    }
}
