using System;
using System.IO;
using ConnectionsMonitor.Engine.History;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>
    /// Files other users must not read, on real files: the service's dashboard.url (its token) and a new history file (a
    /// newcomer's trial found them 0644: readable by every user of the machine).
    /// </summary>
    public sealed class PrivateFileTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-private-" + Guid.NewGuid().ToString("N"));

        public PrivateFileTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private const UnixFileMode Others = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

        [LinuxFact]
        public void ASecretIsOwnerOnlyWhetherNewOrWrittenOverAReadableFile()
        {
            string fresh = Path.Combine(_dir, "dashboard.url"), old = Path.Combine(_dir, "old.url");
            PrivateFile.WriteSecret(fresh, "http://127.0.0.1:1/?token=a\n");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(fresh));
            Assert.Equal("http://127.0.0.1:1/?token=a\n", File.ReadAllText(fresh));

            File.WriteAllText(old, "a longer text than the new one, from the run before");
            File.SetUnixFileMode(old, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            PrivateFile.WriteSecret(old, "b\n");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(old));
            Assert.Equal("b\n", File.ReadAllText(old));

            var refused = Assert.ThrowsAny<Exception>(() => PrivateFile.WriteSecret(Path.Combine(_dir, "no", "such", "folder.url"), "x"));
            Assert.Contains("cannot be created with a mode that keeps other users out", refused.Message);
        }

        /// <summary>The alerts' dead-letter file holds alert payloads (process names, addresses): a newcomer's trial found it 0644.</summary>
        [LinuxFact]
        public void ANewDeadLetterFileIsOwnerOnlyAndAnExistingOneKeepsItsMode()
        {
            string path = Path.Combine(_dir, "dead", "alerts-undelivered.jsonl");
            var file = new ConnectionsMonitor.Engine.Alerts.Delivery.DeadLetterFile(path);
            var entry = new ConnectionsMonitor.Engine.Alerts.Delivery.DeadLetter
            {
                Target = "generic http://127.0.0.1", Kind = ConnectionsMonitor.Engine.Alerts.AlertTargetKind.Generic, Rule = "r1",
                AlertIds = new[] { Guid.NewGuid() }, Attempts = 1, Error = "refused", Payload = System.Text.Encoding.UTF8.GetBytes("{\"process\":\"curl\"}"),
            };
            Assert.True(file.Append(new[] { entry }));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.True(file.Append(new[] { entry }));
            Assert.Equal(2, File.ReadAllLines(path).Length);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            Assert.True(file.Append(new[] { entry }));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path)); // an administrator's choice stays
        }

        [LinuxFact]
        public void ANewHistoryAndItsWalAreNotReadableByOtherUsersAndAnExistingOneKeepsItsMode()
        {
            string path = Path.Combine(_dir, "history.db");
            using (var store = HistoryStore.OpenWriter(path, new HistoryOptions()))
            {
                Assert.Equal((UnixFileMode)0, File.GetUnixFileMode(path) & Others);
                Assert.True(File.Exists(path + "-wal"));
                Assert.Equal((UnixFileMode)0, File.GetUnixFileMode(path + "-wal") & Others);
                Assert.True((File.GetUnixFileMode(path) & UnixFileMode.UserRead) != 0);
            }

            string shared = Path.Combine(_dir, "shared.db");
            using (HistoryStore.OpenWriter(shared, new HistoryOptions())) { }
            File.SetUnixFileMode(shared, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            using (HistoryStore.OpenWriter(shared, new HistoryOptions())) { }
            Assert.Equal(UnixFileMode.OtherRead, File.GetUnixFileMode(shared) & Others); // an administrator's choice stays
        }
    }
}
