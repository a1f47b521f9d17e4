using System;
using System.IO;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Configuration;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>
    /// Where downloaded GeoIP databases live: the one place that resolves geoip.directory, shared by
    /// the lookup side (which reads these files before the bundled ones) and Update-ConnectionGeoDatabase
    /// (which writes them).
    /// </summary>
    public static class GeoIpPaths
    {
        /// <summary>The installed country database's file name.</summary>
        public const string CountryFile = "country.mmdb";
        /// <summary>The installed ASN database's file name.</summary>
        public const string AsnFile = "asn.mmdb";
        /// <summary>The installed city database's file name.</summary>
        public const string CityFile = "city.mmdb";

        /// <summary>
        /// geoip.directory when set (environment variables and a leading ~ expanded, made absolute);
        /// otherwise the user's data folder: %LOCALAPPDATA%\ConnectionsMonitor\GeoIP on Windows,
        /// $XDG_DATA_HOME/ConnectionsMonitor/GeoIP or ~/.local/share/ConnectionsMonitor/GeoIP elsewhere.
        /// </summary>
        public static string DataDirectory(GeoIpConfig config)
        {
            string configured = config?.Directory;
            if (!string.IsNullOrWhiteSpace(configured)) return Path.GetFullPath(ExpandHome(Environment.ExpandEnvironmentVariables(configured.Trim())));
            return DefaultDataDirectory();
        }

        /// <summary>A configured file path (geoip.countryDatabase …) made absolute the same way: environment variables and a leading ~ expanded.</summary>
        public static string ResolveFile(string configured) =>
            Path.GetFullPath(ExpandHome(Environment.ExpandEnvironmentVariables(configured.Trim())));

        internal static string DefaultDataDirectory()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "ConnectionsMonitor", "GeoIP");
            // XDG Base Directory: a relative XDG_DATA_HOME is invalid and must be ignored.
            string xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
            string dataHome = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)
                ? xdg
                : Path.Combine(HomeDirectory(), ".local", "share");
            return Path.Combine(dataHome, "ConnectionsMonitor", "GeoIP");
        }

        internal static string ExpandHome(string path)
        {
            if (path == "~") return HomeDirectory();
            if (path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
                return Path.Combine(HomeDirectory(), path.Substring(2));
            return path;
        }

        private static string HomeDirectory()
        {
            string home = Environment.GetEnvironmentVariable("HOME");
            return string.IsNullOrEmpty(home) ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) : home;
        }
    }
}
