using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;

namespace ConnectionsMonitor.Engine.Dashboard
{
    /// <summary>One file of the dashboard's page.</summary>
    internal sealed class DashboardAsset
    {
        public DashboardAsset(string contentType, byte[] bytes) { ContentType = contentType; Bytes = bytes; }
        /// <summary>Content-Type with charset for text.</summary>
        public string ContentType { get; }
        /// <summary>The file's bytes.</summary>
        public byte[] Bytes { get; }
    }

    /// <summary>
    /// The page's files, embedded in this assembly (Dashboard/Assets; resource names ConnectionsMonitor.Dashboard.&lt;file&gt;),
    /// so the page loads nothing from anywhere else. Only names in the assembly are served: a request names a file, never
    /// a path on disk.
    /// </summary>
    internal static class DashboardAssets
    {
        private const string Prefix = "ConnectionsMonitor.Dashboard.";
        private static readonly Dictionary<string, DashboardAsset> Cache = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);

        /// <summary>The names of the files there are (index.html, app.js …).</summary>
        public static IEnumerable<string> Names
        {
            get
            {
                foreach (var n in typeof(DashboardAssets).Assembly.GetManifestResourceNames())
                    if (n.StartsWith(Prefix, StringComparison.Ordinal)) yield return n.Substring(Prefix.Length);
            }
        }

        /// <summary>The file called <paramref name="name"/>, or null when there is none.</summary>
        public static DashboardAsset Find(string name)
        {
            if (string.IsNullOrEmpty(name) || name.IndexOf('/') >= 0 || name.IndexOf('\\') >= 0) return null;
            lock (Cache)
            {
                if (Cache.TryGetValue(name, out var cached)) return cached;
                using (var stream = typeof(DashboardAssets).Assembly.GetManifestResourceStream(Prefix + name))
                {
                    if (stream == null) return null;
                    var bytes = new MemoryStream();
                    stream.CopyTo(bytes);
                    var asset = new DashboardAsset(TypeOf(name), bytes.ToArray());
                    Cache[name] = asset;
                    return asset;
                }
            }
        }

        private static string TypeOf(string name)
        {
            switch (Path.GetExtension(name).ToLowerInvariant())
            {
                case ".html": return "text/html; charset=utf-8";
                case ".js": return "text/javascript; charset=utf-8";
                case ".css": return "text/css; charset=utf-8";
                case ".svg": return "image/svg+xml";
                case ".png": return "image/png";
                case ".txt": return "text/plain; charset=utf-8";
                default: return "application/octet-stream";
            }
        }
    }
}
