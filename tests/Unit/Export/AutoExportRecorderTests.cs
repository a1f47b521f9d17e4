using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Tests.Session;
using Xunit;

namespace ConnectionsMonitor.Tests.Export
{
    /// <summary>The auto-export as a recording runs it: a real session, a real listener, a configuration file that asks for it.</summary>
    [Collection(SamplerThreads.Name)]
    public sealed class AutoExportRecorderTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-autoexport-" + Guid.NewGuid().ToString("N"));

        public AutoExportRecorderTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private string Config(string export)
        {
            string path = Path.Combine(_dir, "config.yml");
            File.WriteAllText(path, "resolveDNS: false\ngeoip:\n  enabled: false\ndashboard:\n  export:\n" + export);
            return path;
        }

        [Fact]
        public void ARecordingWritesSnapshotsNextToItsConfigurationAndPrunesThem()
        {
            string config = Config("    autoExport: true\n    exportInterval: 1000\n    exportPath: exports\n    keep: 2\n");
            using var session = new MonitorSession(new MonitorSessionOptions());
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            string exports = Path.Combine(_dir, "exports");
            // A rule that flags connections to the listener's port: the exported rows carry its name, as Get-MonitoredConnection's do.
            session.Alerts.Register(new AlertRule("watched", new[] { new AlertCondition(AlertKind.RemotePort) { Ports = new[] { port } } }));
            using var client = new TcpClient(AddressFamily.InterNetwork);
            client.Connect(IPAddress.Loopback, port);
            int clientPort = ((IPEndPoint)client.Client.LocalEndPoint).Port;
            using var server = listener.AcceptSocket();
            try
            {
                session.History.Start(Path.Combine(_dir, "h.db"), null, TimeSpan.FromMilliseconds(250), new ConnectionQuery { ConfigPath = config });
                // Four exports of each format happen within ~4 s; keep: 2 leaves the newest two of each.
                Assert.True(SpinWait.SpinUntil(() => Directory.Exists(exports) && Directory.GetFiles(exports, "connections-*.json").Length >= 2, TimeSpan.FromSeconds(15)));
                Thread.Sleep(2500);
            }
            finally
            {
                session.History.Stop();
                listener.Stop();
            }
            // Counted once the recorder has stopped: during an export the new CSV is there a moment before the oldest goes.
            Assert.Equal(2, Directory.GetFiles(exports, "connections-*.csv").Length);
            Assert.Equal(2, Directory.GetFiles(exports, "connections-*.json").Length);
            Assert.Empty(session.History.TakeWarnings());
            string newest = Directory.GetFiles(exports, "connections-*.json").OrderBy(f => f, StringComparer.Ordinal).Last();
            using var json = JsonDocument.Parse(File.ReadAllBytes(newest));
            var mine = json.RootElement.EnumerateArray().Where(e => e.GetProperty("LocalPort").GetInt32() == port && e.GetProperty("State").GetString() == "Listen").ToList();
            var row = Assert.Single(mine);
            Assert.Equal(Environment.ProcessId, row.GetProperty("ProcessId").GetInt32());
            Assert.Equal("127.0.0.1", row.GetProperty("LocalAddress").GetString());
            Assert.Equal(JsonValueKind.Null, row.GetProperty("Flags").ValueKind); // not flagged: unknown is null
            var flagged = Assert.Single(json.RootElement.EnumerateArray(), e => e.GetProperty("LocalPort").GetInt32() == clientPort && e.GetProperty("RemotePort").GetInt32() == port);
            Assert.Equal("watched", flagged.GetProperty("Flags").GetString());
            Assert.Empty(Directory.GetFiles(exports, ".*.tmp"));
        }

        [Fact]
        public void WithAutoExportOffNothingIsWritten()
        {
            string config = Config("    autoExport: false\n    exportInterval: 1000\n    exportPath: exports\n");
            using var session = new MonitorSession(new MonitorSessionOptions());
            session.History.Start(Path.Combine(_dir, "h.db"), null, TimeSpan.FromMilliseconds(250), new ConnectionQuery { ConfigPath = config });
            Assert.True(SpinWait.SpinUntil(() => session.History.State.SamplesWritten >= 8, TimeSpan.FromSeconds(15)));
            session.History.Stop();
            Assert.False(Directory.Exists(Path.Combine(_dir, "exports")));
        }

        [Fact]
        public void AnExportFolderThatCannotBeMadeIsAWarningAndRecordingGoesOn()
        {
            File.WriteAllText(Path.Combine(_dir, "blocker"), "a file where the folder should be");
            string config = Config("    autoExport: true\n    exportInterval: 1000\n    exportPath: blocker/exports\n");
            using var session = new MonitorSession(new MonitorSessionOptions());
            session.History.Start(Path.Combine(_dir, "h.db"), null, TimeSpan.FromMilliseconds(250), new ConnectionQuery { ConfigPath = config });
            string warning = null;
            Assert.True(SpinWait.SpinUntil(() => (warning = session.History.TakeWarnings().FirstOrDefault(w => w.StartsWith("Auto-export failed", StringComparison.Ordinal))) != null, TimeSpan.FromSeconds(15)));
            Assert.Contains(Path.Combine(_dir, "blocker", "exports"), warning);
            long written = session.History.State.SamplesWritten;
            Assert.True(SpinWait.SpinUntil(() => session.History.State.SamplesWritten >= written + 4, TimeSpan.FromSeconds(15)));
            Assert.True(session.History.State.IsRecording);
            session.History.Stop();
        }
    }
}
