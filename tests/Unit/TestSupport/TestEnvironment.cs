using System;
using System.IO;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// Keeps the tests away from this machine's own configuration: the module reads
    /// $env:CONNECTIONSMONITOR_CONFIG, then $XDG_CONFIG_HOME (~/.config)/ConnectionsMonitor/config.yml, and keeps
    /// downloaded GeoIP databases in $XDG_DATA_HOME (~/.local/share)/ConnectionsMonitor/GeoIP, any of which would
    /// change what a cmdlet test sees. On first use (<see cref="Repo"/> and <see cref="ModuleSession"/> touch it,
    /// so before any runspace or child process exists) this test process drops CONNECTIONSMONITOR_CONFIG and
    /// points both XDG folders at empty folders of its own; hosted runspaces and child processes (cmon, pwsh)
    /// inherit that. Tests about the lookup order itself give a child process its own environment.
    /// </summary>
    public static class TestEnvironment
    {
        static TestEnvironment()
        {
            Root = Path.Combine(Path.GetTempPath(), "cm-tests-home-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            ConfigHome = Path.Combine(Root, "config");
            DataHome = Path.Combine(Root, "data");
            Directory.CreateDirectory(ConfigHome);
            Directory.CreateDirectory(DataHome);
            Environment.SetEnvironmentVariable("CONNECTIONSMONITOR_CONFIG", null);
            Environment.SetEnvironmentVariable("XDG_CONFIG_HOME", ConfigHome);
            Environment.SetEnvironmentVariable("XDG_DATA_HOME", DataHome);
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try { Directory.Delete(Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            };
        }

        /// <summary>The folder both XDG folders live in (deleted when the test process ends).</summary>
        public static string Root { get; }

        /// <summary>$XDG_CONFIG_HOME of this test process: empty, so no user config.yml is found.</summary>
        public static string ConfigHome { get; }

        /// <summary>$XDG_DATA_HOME of this test process: empty, so no downloaded GeoIP database is found.</summary>
        public static string DataHome { get; }

        /// <summary>Makes sure the isolation is in place (it is done once, on first use of this class).</summary>
        public static void Isolate() { }
    }
}
