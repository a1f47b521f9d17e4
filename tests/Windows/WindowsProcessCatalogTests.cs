using System;
using System.Diagnostics;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;

namespace ConnectionsMonitor.WindowsTests
{
    public sealed class WindowsProcessCatalogTests
    {
        private static readonly int Self = Environment.ProcessId;

        [Fact]
        public void One_pass_name_listing_contains_this_process()
        {
            var names = WindowsProcessCatalog.ReadProcessNames();
            Assert.True(names.TryGetValue(Self, out string name), "own PID missing from the toolhelp snapshot");
            Assert.Equal(Process.GetCurrentProcess().ProcessName, name);
        }

        [Fact]
        public void Lookup_gives_name_and_start_time_for_own_pid()
        {
            var info = new WindowsProcessCatalog().Lookup(new[] { Self })[Self];
            Assert.Equal(Self, info.ProcessId);
            Assert.Equal(Process.GetCurrentProcess().ProcessName, info.Name);
            Assert.NotNull(info.StartTime);
            Assert.Equal(DateTimeKind.Utc, info.StartTime.Value.Kind);
            Assert.InRange(info.StartTime.Value, Process.GetCurrentProcess().StartTime.ToUniversalTime().AddSeconds(-2),
                DateTime.UtcNow);
        }

        [Fact]
        public void Lookup_gives_path_and_user_for_own_pid()
        {
            var info = new WindowsProcessCatalog().Lookup(new[] { Self })[Self];
            Assert.Equal(Environment.ProcessPath, info.Path, ignoreCase: true);
            Assert.NotNull(info.UserName);
            Assert.EndsWith("\\" + Environment.UserName, info.UserName, StringComparison.OrdinalIgnoreCase);
        }

        [Fact]
        public void Cached_info_is_reused_while_the_process_lives()
        {
            var catalog = new WindowsProcessCatalog();
            var first = catalog.Lookup(new[] { Self })[Self];
            var second = catalog.Lookup(new[] { Self })[Self];
            Assert.Same(first, second);
        }

        [Fact]
        public void Exited_and_unknown_pids_are_absent_not_errors()
        {
            int gone;
            using (var child = Process.Start(new ProcessStartInfo("cmd.exe", "/c exit 0") { UseShellExecute = false, CreateNoWindow = true }))
            {
                gone = child.Id;
                child.WaitForExit();
            }

            // PIDs are multiples of 4 on Windows; an odd one never names a process. The exited child's PID
            // could in principle be reused within these milliseconds, which Windows makes rare.
            var result = new WindowsProcessCatalog().Lookup(new[] { gone, 1_000_001, Self });
            Assert.False(result.ContainsKey(1_000_001));
            Assert.False(result.ContainsKey(gone));
            Assert.True(result.ContainsKey(Self));
        }
    }
}
