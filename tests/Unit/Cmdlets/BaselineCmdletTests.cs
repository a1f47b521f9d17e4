using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>Export-/Compare-ConnectionBaseline in a real runspace with the built module, against a real listener this test opens.</summary>
    public sealed class BaselineCmdletTests : IClassFixture<ModuleSessionFixture>, IDisposable
    {
        private readonly ModuleSession _ps;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-baseline-cmdlet-" + Guid.NewGuid().ToString("N"));

        public BaselineCmdletTests(ModuleSessionFixture fixture)
        {
            _ps = fixture.Session;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

        private static readonly string Me = System.Diagnostics.Process.GetCurrentProcess().ProcessName;

        [Fact]
        public void ANewListenerIsOneAddedEntryAndClosingItIsOneRemoved()
        {
            string before = Path.Combine(_dir, "before.json"), during = Path.Combine(_dir, "during.json");
            var info = Assert.Single(_ps.Invoke("Export-ConnectionBaseline -Path $args[0] -PassThru", before));
            Assert.Equal("ConnectionsMonitor.ConnectionBaselineInfo", info.TypeNames[0]);
            Assert.Equal(before, Prop<string>(info, "Path"));
            Assert.Equal(1, Prop<int>(info, "FormatVersion"));
            Assert.Equal(Environment.MachineName, Prop<string>(info, "HostName"));

            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            try
            {
                // Other programs (and other tests) may open listeners meanwhile: only this port's entries are this test's.
                var diff = _ps.Invoke("Compare-ConnectionBaseline -Path $args[0]", before);
                var mine = Assert.Single(diff, d => Prop<int?>(d, "LocalPort") == port);
                Assert.Equal("ConnectionsMonitor.ConnectionBaselineDifference", mine.TypeNames[0]);
                Assert.Equal("Added", Prop<string>(mine, "Change"));
                Assert.Equal("Listener", Prop<string>(mine, "Kind"));
                Assert.Equal("TCP", Prop<string>(mine, "Protocol"));
                Assert.Equal("127.0.0.1", Prop<string>(mine, "LocalAddress"));
                Assert.Equal(Me, Prop<string>(mine, "ProcessName"));
                Assert.Equal(Environment.ProcessId, Prop<int?>(mine, "ProcessId"));

                Assert.Single(_ps.Invoke("Export-ConnectionBaseline $args[0] -PassThru", during));
            }
            finally { listener.Stop(); }

            var after = _ps.Invoke("Compare-ConnectionBaseline $args[0]", during);
            var gone = Assert.Single(after, d => Prop<int?>(d, "LocalPort") == port);
            Assert.Equal("Removed", Prop<string>(gone, "Change"));
            Assert.Equal("Listener", Prop<string>(gone, "Kind"));
            Assert.Equal(Me, Prop<string>(gone, "ProcessName"));
            Assert.Null(Prop<int?>(gone, "ProcessId"));

            // Two files: the listener is in the second only.
            var files = _ps.Invoke("Compare-ConnectionBaseline -Path $args[0] -DifferencePath $args[1]", before, during);
            var added = Assert.Single(files, d => Prop<int?>(d, "LocalPort") == port);
            Assert.Equal("Added", Prop<string>(added, "Change"));
            Assert.Null(Prop<int?>(added, "ProcessId"));

            // The table view: its columns, this listener's row.
            string table = _ps.Render("Compare-ConnectionBaseline -Path '" + before + "' -DifferencePath '" + during + "' | Where-Object LocalPort -eq " + port);
            Assert.Contains("Change  Kind     Proto Process             Local", table);
            Assert.Contains("Added   Listener TCP   " + TextFormat.Cell(Me, 19) + " 127.0.0.1:" + port, table);
        }

        [Fact]
        public void AnExistingFileIsKeptWithoutForceAndWhatIfWritesNothing()
        {
            string path = Path.Combine(_dir, "b.json");
            File.WriteAllText(path, "keep");
            var errors = _ps.InvokeExpectingErrors("Export-ConnectionBaseline -Path $args[0]", path);
            var error = Assert.Single(errors);
            Assert.StartsWith("BaselineFileExists", error.FullyQualifiedErrorId);
            Assert.Contains("-Force", error.Exception.Message);
            Assert.Equal("keep", File.ReadAllText(path));

            _ps.Invoke("Export-ConnectionBaseline -Path $args[0] -Force -WhatIf", path);
            Assert.Equal("keep", File.ReadAllText(path));

            _ps.Invoke("Export-ConnectionBaseline -Path $args[0] -Force", path);
            Assert.Contains("\"format\": \"ConnectionsMonitor.Baseline\"", File.ReadAllText(path));
            Assert.Empty(_ps.Invoke("Compare-ConnectionBaseline -Path $args[0] -DifferencePath $args[0]", path));
        }

        [Fact]
        public void ABadFileStopsTheCommandSayingWhatIsWrongAndExpected()
        {
            string path = Path.Combine(_dir, "other.json");
            File.WriteAllText(path, "[{\"Protocol\":\"TCP\"}]");
            var error = Assert.Single(_ps.InvokeExpectingErrors("Compare-ConnectionBaseline -Path $args[0]", path));
            Assert.StartsWith("BaselineFileInvalid", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
            Assert.Equal("The file '" + path + "' holds a JSON array, not an object. A baseline file is the JSON object that a baseline export writes, with \"format\": \"ConnectionsMonitor.Baseline\" and \"formatVersion\" 1. (-Path; Export-ConnectionBaseline writes baseline files.)",
                error.Exception.Message);

            var missing = Assert.Single(_ps.InvokeExpectingErrors("Compare-ConnectionBaseline -Path $args[0]", Path.Combine(_dir, "nosuch.json")));
            Assert.Equal("BaselineFileNotFound,ConnectionsMonitor.Commands.CompareConnectionBaselineCommand", missing.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, missing.CategoryInfo.Category);
            Assert.Equal("The baseline file '" + Path.Combine(_dir, "nosuch.json") + "' does not exist (-Path; Export-ConnectionBaseline writes baseline files).", missing.Exception.Message);

            // A folder where a file is expected, and a file in a folder that is not there: said so, in those words.
            var folder = Assert.Single(_ps.InvokeExpectingErrors("Compare-ConnectionBaseline -Path $args[0]", _dir));
            Assert.StartsWith("BaselinePathIsFolder", folder.FullyQualifiedErrorId);
            Assert.Equal("'" + _dir + "' is a folder; -Path names a baseline file, e.g. ./baseline.json.", folder.Exception.Message);
            string nowhere = Path.Combine(_dir, "nodir", "x.json");
            var noFolder = Assert.Single(_ps.InvokeExpectingErrors("Export-ConnectionBaseline -Path $args[0]", nowhere));
            Assert.StartsWith("BaselineFolderNotFound", noFolder.FullyQualifiedErrorId);
            Assert.Equal("The folder '" + Path.Combine(_dir, "nodir") + "' does not exist; create it first (New-Item -ItemType Directory), or give -Path a file in a folder that exists.",
                noFolder.Exception.Message);
            Assert.False(Directory.Exists(Path.Combine(_dir, "nodir")));
        }

        [Fact]
        public void TheTableViewShowsHostileNamesAndPathsWithoutTheirControlCharacters()
        {
            string empty = Path.Combine(_dir, "empty.json"), hostile = Path.Combine(_dir, "hostile.json");
            const string head = "{\"format\":\"ConnectionsMonitor.Baseline\",\"formatVersion\":1,\"created\":\"2026-12-01T06:00:00Z\",\"hostName\":\"h\"";
            File.WriteAllText(empty, head + ",\"listeners\":[],\"outbound\":[],\"vpn\":[]}");
            File.WriteAllText(hostile, head + ",\"listeners\":[{\"protocol\":\"TCP\",\"localAddress\":\"0.0.0.0\",\"localPort\":4444," +
                "\"processName\":\"evil\\u001b]0;owned\\u0007name\",\"processPath\":\"/tmp/\\u001b[2Jx\"}],\"outbound\":[],\"vpn\":[]}");
            var d = Assert.Single(_ps.Invoke("Compare-ConnectionBaseline $args[0] -DifferencePath $args[1]", empty, hostile));
            // The object carries the text with its controls made visible (it goes to terminals and Export-Csv as it is).
            Assert.Equal("evil\u241b]0;owned\u2407name", Prop<string>(d, "ProcessName"));
            Assert.Equal("/tmp/\u241b[2Jx", Prop<string>(d, "ProcessPath"));

            string table = _ps.Render("Compare-ConnectionBaseline '" + empty + "' -DifferencePath '" + hostile + "'");
            Assert.DoesNotContain('\u001b', table);
            Assert.DoesNotContain('\u0007', table);
            Assert.Contains("Added   Listener TCP   " + TextFormat.Cell("evil\u241b]0;owned\u2407name", 19) + " 0.0.0.0:4444", table);
            Assert.Contains("/tmp/", table);
        }
    }
}
