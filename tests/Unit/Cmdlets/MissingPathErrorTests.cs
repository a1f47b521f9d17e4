using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>
    /// A file or folder that does not exist is ErrorCategory.ObjectNotFound in every cmdlet (as Get-Item and Get-Content say
    /// it), with an error id that names what is missing and the full path as the target. A newcomer's trial found three
    /// categories for the same thing: InvalidData for -ConfigPath, ReadError for Compare-ConnectionBaseline -Path, ObjectNotFound
    /// for Export-ConnectionBaseline's folder (and OpenError for Get-ConnectionHistory -Path).
    /// </summary>
    public sealed class MissingPathErrorTests : IClassFixture<ModuleSessionFixture>, IDisposable
    {
        private readonly ModuleSession _ps;
        private readonly string _dir = Directory.CreateTempSubdirectory("cm-missing-path-").FullName;

        public MissingPathErrorTests(ModuleSessionFixture fixture) => _ps = fixture.Session;

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        [Theory]
        [InlineData("Get-MonitoredConnection -ConfigPath $args[0]", "none.yml", "ConfigNotFound,ConnectionsMonitor.Commands.GetMonitoredConnectionCommand", "none.yml")]
        [InlineData("Get-TopTalker -ConfigPath $args[0]", "nodir/none.yml", "ConfigNotFound,ConnectionsMonitor.Commands.GetTopTalkerCommand", "nodir/none.yml")]
        [InlineData("Compare-ConnectionBaseline -Path $args[0]", "none.json", "BaselineFileNotFound,ConnectionsMonitor.Commands.CompareConnectionBaselineCommand", "none.json")]
        [InlineData("Compare-ConnectionBaseline -Path $args[0]", "nodir/none.json", "BaselineFileNotFound,ConnectionsMonitor.Commands.CompareConnectionBaselineCommand", "nodir/none.json")]
        [InlineData("Export-ConnectionBaseline -Path $args[0]", "nodir/b.json", "BaselineFolderNotFound,ConnectionsMonitor.Commands.ExportConnectionBaselineCommand", "nodir")]
        [InlineData("Get-ConnectionHistory -Path $args[0]", "none.db", "HistoryFileNotFound,ConnectionsMonitor.Commands.GetConnectionHistoryCommand", "none.db")]
        [InlineData("Get-ConnectionHistory -Path $args[0]", "nodir/h.db", "HistoryFileNotFound,ConnectionsMonitor.Commands.GetConnectionHistoryCommand", "nodir/h.db")]
        public void AMissingFileOrFolderIsObjectNotFound(string script, string relative, string errorId, string target)
        {
            var errors = _ps.InvokeExpectingErrors(script, Path.Combine(_dir, relative));
            var error = Assert.Single(errors);
            Assert.Equal(errorId, error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
            Assert.Equal(Path.Combine(_dir, target), error.TargetObject);
            Assert.False(Directory.Exists(Path.Combine(_dir, "nodir")));
        }

        /// <summary>Other failures to use a file keep their own categories: a file that is there but not valid is InvalidData.</summary>
        [Fact]
        public void AFileThatIsThereButInvalidKeepsItsCategory()
        {
            string config = Path.Combine(_dir, "bad.yml"), baseline = Path.Combine(_dir, "bad.json"), history = Path.Combine(_dir, "bad.db");
            File.WriteAllText(config, "refreshInterval: fast\n");
            File.WriteAllText(baseline, "[]");
            File.WriteAllText(history, "not a database");
            var c = Assert.Single(_ps.InvokeExpectingErrors("Get-MonitoredConnection -ConfigPath $args[0]", config));
            Assert.Equal(("InvalidConfiguration,ConnectionsMonitor.Commands.GetMonitoredConnectionCommand", ErrorCategory.InvalidData), (c.FullyQualifiedErrorId, c.CategoryInfo.Category));
            var b = Assert.Single(_ps.InvokeExpectingErrors("Compare-ConnectionBaseline -Path $args[0]", baseline));
            Assert.Equal(("BaselineFileInvalid,ConnectionsMonitor.Commands.CompareConnectionBaselineCommand", ErrorCategory.InvalidData), (b.FullyQualifiedErrorId, b.CategoryInfo.Category));
            var h = Assert.Single(_ps.InvokeExpectingErrors("Get-ConnectionHistory -Path $args[0]", history));
            Assert.Equal(("HistoryFileUnusable,ConnectionsMonitor.Commands.GetConnectionHistoryCommand", ErrorCategory.OpenError), (h.FullyQualifiedErrorId, h.CategoryInfo.Category));
            var folder = Assert.Single(_ps.InvokeExpectingErrors("Get-MonitoredConnection -ConfigPath $args[0]", _dir));
            Assert.Equal(("InvalidConfiguration,ConnectionsMonitor.Commands.GetMonitoredConnectionCommand", ErrorCategory.InvalidData), (folder.FullyQualifiedErrorId, folder.CategoryInfo.Category));
        }
    }
}
