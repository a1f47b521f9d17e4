using System;
using System.IO;
using System.Reflection;
using ConnectionsMonitor.Loading;
using Xunit;

namespace ConnectionsMonitor.Tests.Loading
{
    /// <summary>
    /// Issue #11 (Windows first run): Windows PowerShell 5.1 raised FileLoadException 0x80131040 when a
    /// module dependency's reference named another version than the copy in the module folder. The
    /// resolver's decision is a pure function tested here; its handler is exercised on this runtime's
    /// AssemblyResolve arguments with a real module folder (Windows PowerShell itself: tests/Pester).
    /// </summary>
    public class DesktopDependencyResolverTests
    {
        private const string YamlToken = "ec19458f3c15af5e";

        private static AssemblyName Name(string name, string version, string token = YamlToken, string culture = "neutral") =>
            new AssemblyName($"{name}, Version={version}, Culture={culture}, PublicKeyToken={token ?? "null"}");

        private static readonly AssemblyName Ours = Name("YamlDotNet", "16.0.0.0");

        [Theory]
        [InlineData("13.0.0.0", false, true)]   // older request from anyone: the folder's newer copy, as a binding redirect would
        [InlineData("16.0.0.0", false, true)]
        [InlineData("17.0.0.0", false, false)]  // newer request from outside the module: not ours to downgrade
        [InlineData("17.0.0.0", true, true)]    // newer request from the module's own assemblies: the one copy it ships
        [InlineData("1.0.0.0", true, true)]
        public void Versions_are_served_by_who_asks(string requested, bool byModule, bool served)
        {
            Assert.Equal(served, DesktopDependencyResolver.Serves(Name("YamlDotNet", requested), Ours, byModule));
        }

        [Fact]
        public void A_request_without_version_or_token_is_served()
        {
            Assert.True(DesktopDependencyResolver.Serves(new AssemblyName("YamlDotNet"), Ours, false));
            Assert.True(DesktopDependencyResolver.Serves(Name("YamlDotNet", "13.0.0.0", token: null), Ours, false));
        }

        [Fact]
        public void Another_publisher_another_name_a_satellite_culture_or_no_copy_is_never_served()
        {
            Assert.False(DesktopDependencyResolver.Serves(Name("YamlDotNet", "13.0.0.0", token: "b77a5c561934e089"), Ours, true));
            Assert.False(DesktopDependencyResolver.Serves(Name("Newtonsoft.Json", "13.0.0.0"), Ours, true));
            Assert.False(DesktopDependencyResolver.Serves(Name("YamlDotNet", "13.0.0.0", culture: "de-DE"), Ours, true));
            Assert.False(DesktopDependencyResolver.Serves(Name("YamlDotNet", "13.0.0.0"), null, true));
        }

        [Fact]
        public void Names_compare_without_case_as_the_loader_does()
        {
            Assert.True(DesktopDependencyResolver.Serves(Name("yamldotnet", "13.0.0.0"), Ours, false));
        }

        [Fact]
        public void Only_files_below_the_module_folder_are_the_modules_own()
        {
            string module = Path.Combine(Path.GetTempPath(), "cm-module");
            Assert.True(DesktopDependencyResolver.IsInside(Path.Combine(module, "desktop", "deps", "MaxMind.Db.dll"), module));
            Assert.True(DesktopDependencyResolver.IsInside(Path.Combine(module, "desktop", "ConnectionsMonitor.PowerShell.dll"), module + Path.DirectorySeparatorChar));
            Assert.False(DesktopDependencyResolver.IsInside(Path.Combine(module + "-other", "x.dll"), module)); // a sibling sharing the prefix
            Assert.False(DesktopDependencyResolver.IsInside(null, module));
            Assert.False(DesktopDependencyResolver.IsInside("", module));
        }

        [Fact]
        public void The_handler_loads_the_folder_copy_once_for_any_version_its_own_assemblies_ask_for()
        {
            string module = Path.Combine(Path.GetTempPath(), "cm-resolver-" + Guid.NewGuid().ToString("N"));
            string deps = Path.Combine(module, "desktop", "deps");
            Directory.CreateDirectory(deps);
            try
            {
                string source = Path.Combine(AppContext.BaseDirectory, "YamlDotNet.dll");
                File.Copy(source, Path.Combine(deps, "YamlDotNet.dll"));
                var available = AssemblyName.GetAssemblyName(source);
                string token = BitConverter.ToString(available.GetPublicKeyToken()).Replace("-", "").ToLowerInvariant();
                var resolver = new DesktopDependencyResolver(deps, module);

                var older = resolver.Resolve(null, new ResolveEventArgs($"YamlDotNet, Version=1.0.0.0, Culture=neutral, PublicKeyToken={token}"));
                Assert.NotNull(older);
                Assert.Equal(Path.Combine(deps, "YamlDotNet.dll"), older.Location);

                string newer = $"YamlDotNet, Version={available.Version.Major + 1}.0.0.0, Culture=neutral, PublicKeyToken={token}";
                Assert.Null(resolver.Resolve(null, new ResolveEventArgs(newer)));                  // unknown requester: declined
                Assert.Null(resolver.Resolve(null, new ResolveEventArgs(newer, typeof(object).Assembly))); // someone else's: declined
                Assert.Same(older, resolver.Resolve(null, new ResolveEventArgs(newer, older)));    // the module's own: the same copy

                Assert.Null(resolver.Resolve(null, new ResolveEventArgs("NotInTheFolder, Version=1.0.0.0")));
                Assert.Null(resolver.Resolve(null, new ResolveEventArgs("not an assembly name, Version=x")));
            }
            finally
            {
                try { Directory.Delete(module, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}
