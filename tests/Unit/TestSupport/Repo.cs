using System;
using System.IO;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>Paths into the repository and the built module folder.</summary>
    public static class Repo
    {
        // Everything that runs the module finds it through here: isolate this process from the machine's own config first.
        static Repo() => TestEnvironment.Isolate();

        public static string Root { get; } = FindRoot();

        public static string ModuleManifest => Path.Combine(Root, "out", "ConnectionsMonitor", "ConnectionsMonitor.psd1");

        public static string Configuration =>
#if DEBUG
            "Debug";
#else
            "Release";
#endif

        private static string FindRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "ConnectionsMonitor.sln")))
                dir = dir.Parent;
            if (dir == null) throw new InvalidOperationException("Cannot find the repository root above " + AppContext.BaseDirectory);
            return dir.FullName;
        }
    }
}
