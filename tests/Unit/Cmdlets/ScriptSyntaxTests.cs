using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation.Language;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>
    /// The PowerShell sources that only run where pwsh or Windows PowerShell exist (build.ps1, the
    /// Pester suite, the module's root script) must at least parse with the real PowerShell parser.
    /// </summary>
    public class ScriptSyntaxTests
    {
        public static IEnumerable<object[]> Scripts() =>
            new[] { "build.ps1", "ConnectionsMonitor.psd1", "src/ConnectionsMonitor.PowerShell/ConnectionsMonitor.psm1" }
                .Concat(Directory.GetFiles(Path.Combine(Repo.Root, "tests", "Pester"), "*.ps1")
                    .Select(f => Path.GetRelativePath(Repo.Root, f)))
                .Select(f => new object[] { f.Replace('\\', '/') });

        [Theory]
        [MemberData(nameof(Scripts))]
        public void Parses(string relativePath)
        {
            Parser.ParseFile(Path.Combine(Repo.Root, relativePath), out _, out ParseError[] errors);
            Assert.True(errors.Length == 0, relativePath + ": " + string.Join("; ", errors.Select(e => e.Extent.StartLineNumber + ": " + e.Message)));
        }

        [Fact]
        public void PesterSuiteExists()
        {
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(Repo.Root, "tests", "Pester"), "*.Tests.ps1"));
        }

        [Fact]
        public void WindowsWorkflowRunsBuildTestOnWindowsAndLinux()
        {
            var yaml = new YamlDotNet.RepresentationModel.YamlStream();
            yaml.Load(new StringReader(File.ReadAllText(Path.Combine(Repo.Root, ".github", "workflows", "ci.yml"))));
            string text = File.ReadAllText(Path.Combine(Repo.Root, ".github", "workflows", "ci.yml"));
            Assert.Contains("windows-latest", text);
            Assert.Contains("ubuntu-latest", text);
            Assert.Contains("shell: powershell", text);
            Assert.Contains("./build.ps1 -Test", text);
        }
    }
}
