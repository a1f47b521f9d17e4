using System;
using System.Collections;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>The module as shipped: manifest, exports, help content (the build's help check), isolation.</summary>
    public class ModuleTests : IClassFixture<ModuleSessionFixture>
    {
        private readonly ModuleSession _ps;

        public ModuleTests(ModuleSessionFixture fixture) => _ps = fixture.Session;

        private string[] ManifestCmdlets()
        {
            var info = (PSModuleInfo)_ps.Invoke("Test-ModuleManifest -Path $args[0]", Repo.ModuleManifest).Single().BaseObject;
            return info.ExportedCmdlets.Keys.ToArray();
        }

        [Fact]
        public void ManifestIsValidAndDeclaresBothEditions()
        {
            var info = (PSModuleInfo)_ps.Invoke("Test-ModuleManifest -Path $args[0]", Repo.ModuleManifest).Single().BaseObject;
            Assert.Equal(new Version(5, 1), info.PowerShellVersion);
            Assert.Contains("Desktop", info.CompatiblePSEditions);
            Assert.Contains("Core", info.CompatiblePSEditions);
            Assert.Contains("Get-MonitoredConnection", ManifestCmdlets());
        }

        [Fact]
        public void ExportsExactlyTheManifestCmdletsEachWithOutputType()
        {
            var commands = _ps.Invoke("Get-Command -Module ConnectionsMonitor").Select(c => (CommandInfo)c.BaseObject).ToList();
            Assert.Equal(ManifestCmdlets().OrderBy(x => x), commands.Select(c => c.Name).OrderBy(x => x));
            foreach (var c in commands)
            {
                Assert.Equal(CommandTypes.Cmdlet, c.CommandType);
                Assert.NotEmpty(c.OutputType);
                Assert.Contains(c.Name.Split('-')[0], ApprovedVerbs());
            }
        }

        private static string[] ApprovedVerbs() =>
            new[] { typeof(VerbsCommon), typeof(VerbsCommunications), typeof(VerbsData), typeof(VerbsDiagnostic),
                    typeof(VerbsLifecycle), typeof(VerbsOther), typeof(VerbsSecurity) }
                .SelectMany(t => t.GetFields()).Select(f => (string)f.GetValue(null)).ToArray();

        /// <summary>Every cmdlet has written help: synopsis, description, two examples or more, and every parameter described.</summary>
        [Fact]
        public void EveryCmdletHasCompleteHelp()
        {
            foreach (var name in ManifestCmdlets())
            {
                var help = _ps.Invoke("Get-Help -Name $args[0] -Full", name).Single();
                string synopsis = help.Properties["Synopsis"].Value?.ToString().Trim();
                Assert.False(string.IsNullOrEmpty(synopsis), name + " has no synopsis");
                Assert.False(synopsis.StartsWith(name, StringComparison.OrdinalIgnoreCase), name + " has only the generated syntax as synopsis");
                var examples = _ps.Invoke("@($args[0].examples.example).Count", help).Single();
                Assert.True((int)examples.BaseObject >= 2, name + " has fewer than two examples");
                var description = _ps.Invoke("($args[0].description | ForEach-Object { $_.Text }) -join ' '", help).Single().ToString();
                Assert.True(description.Length > 40, name + " has no description");

                var parameters = _ps.Invoke(
                    "(Get-Command $args[0]).Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.PSCmdlet]::OptionalCommonParameters }",
                    name).Select(p => p.ToString()).ToList();
                foreach (var p in parameters)
                {
                    var text = _ps.Invoke("($args[0].parameters.parameter | Where-Object name -eq $args[1]).description.Text -join ' '", help, p).Single().ToString();
                    Assert.False(string.IsNullOrWhiteSpace(text), name + " -" + p + " has no description in the help");
                }
            }
        }

        /// <summary>
        /// A host that already loaded another YamlDotNet (13.1.1, as powershell-yaml brings one) imports
        /// the module: the module loads its own copy into its private context, both work.
        /// </summary>
        [Fact]
        public void ImportsIntoAHostThatLoadedAnotherYamlDotNet()
        {
            string probe = Path.Combine(Repo.Root, "tests", "ImportProbe", "bin", Repo.Configuration, "net10.0", "ConnectionsMonitor.ImportProbe.dll");
            Assert.True(File.Exists(probe), "probe not built: " + probe);
            string config = Path.Combine(Repo.Root, "config.yml");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(probe);
            psi.ArgumentList.Add(Repo.ModuleManifest);
            psi.ArgumentList.Add(config);
            using var p = Process.Start(psi);
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, "probe failed:\n" + stdout + stderr);
            var lines = stdout.Split('\n').Select(l => l.Trim()).ToList();
            Assert.Contains("hostYamlVersion=13.0.0.0", lines);
            Assert.Contains("hostYamlStillWorks=True", lines);
            Assert.DoesNotContain(lines, l => l.StartsWith("error="));
            Assert.Contains("firstType=ConnectionsMonitor.MonitoredConnection", lines);
            Assert.Contains(lines, l => l.StartsWith("loaded=YamlDotNet|13.0.0.0|Default"));
            Assert.Contains(lines, l => l.StartsWith("loaded=YamlDotNet|18.") && l.EndsWith("|ConnectionsMonitor"));
            Assert.Contains(lines, l => l.StartsWith("loaded=ConnectionsMonitor.Engine|") && l.EndsWith("|ConnectionsMonitor"));
        }
    }
}
