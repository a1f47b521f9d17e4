using System;
using System.IO;
using ConnectionsMonitor.Engine.Configuration;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>Where downloaded GeoIP databases live (placeholder until the updater lands).</summary>
    public static class GeoIpPaths
    {
        public const string CountryFile = "country.mmdb";
        public const string AsnFile = "asn.mmdb";
        public const string CityFile = "city.mmdb";

        public static string DataDirectory(GeoIpConfig config)
        {
            if (config?.Directory != null) return Path.GetFullPath(Environment.ExpandEnvironmentVariables(config.Directory));
            string root = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
            if (string.IsNullOrEmpty(root)) root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            return Path.Combine(root, "ConnectionsMonitor", "GeoIP");
        }
    }
}
