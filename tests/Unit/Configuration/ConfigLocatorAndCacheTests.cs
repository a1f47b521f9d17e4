using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Configuration;
using Xunit;

namespace ConnectionsMonitor.Tests.Configuration
{
    public sealed class ConfigLocatorAndCacheTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-config-" + Guid.NewGuid().ToString("N"));

        public ConfigLocatorAndCacheTests() => Directory.CreateDirectory(_dir);
        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string Write(string relative, string text)
        {
            string path = Path.Combine(_dir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path));
            File.WriteAllText(path, text);
            return path;
        }

        private ConfigLocator Locator(Dictionary<string, string> variables, bool isWindows = false) =>
            new ConfigLocator(new ConfigEnvironment(name => variables.TryGetValue(name, out var v) ? v : null, isWindows, Path.Combine(_dir, "home")));

        [Fact]
        public void LookupOrderExplicitThenVariableThenUserFolderThenModuleThenBuiltIn()
        {
            string explicitFile = Write("explicit.yml", "");
            string envFile = Write("env.yml", "");
            string moduleFile = Write("module/config.yml", "");
            string userFile = Path.Combine(_dir, "home", ".config", "ConnectionsMonitor", "config.yml");
            var vars = new Dictionary<string, string> { [ConfigLocator.EnvironmentVariable] = envFile };

            Assert.Equal(ConfigSource.BuiltInDefaults, Locator(new Dictionary<string, string>()).Locate(null, null).Source);
            Assert.Null(Locator(new Dictionary<string, string>()).Locate(null, null).Path);

            var none = new Dictionary<string, string>();
            Assert.Equal((ConfigSource.ModuleDefault, moduleFile), Pair(Locator(none).Locate(null, moduleFile)));

            Write("home/.config/ConnectionsMonitor/config.yml", "");
            Assert.Equal((ConfigSource.UserFolder, userFile), Pair(Locator(none).Locate(null, moduleFile)));
            Assert.Equal((ConfigSource.EnvironmentVariable, envFile), Pair(Locator(vars).Locate(null, moduleFile)));
            Assert.Equal((ConfigSource.ExplicitPath, explicitFile), Pair(Locator(vars).Locate(explicitFile, moduleFile)));
        }

        [Fact]
        public void ARelativeVariableIsTakenFromTheCallersCurrentDirectory()
        {
            string file = Write("here/cfg.yml", "");
            var vars = new Dictionary<string, string> { [ConfigLocator.EnvironmentVariable] = "./cfg.yml" };
            Assert.Equal((ConfigSource.EnvironmentVariable, file), Pair(Locator(vars).Locate(null, null, Path.Combine(_dir, "here"))));
        }

        private static (ConfigSource, string) Pair(ConfigLocation l) => (l.Source, l.Path);

        [Fact]
        public void UserFolderFollowsThePlatform()
        {
            var xdg = Path.Combine(_dir, "xdg");
            Assert.Equal(Path.Combine(xdg, "ConnectionsMonitor", "config.yml"),
                Locator(new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = xdg }).UserConfigPath());
            Assert.Equal(Path.Combine(_dir, "home", ".config", "ConnectionsMonitor", "config.yml"),
                Locator(new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = "relative/ignored" }).UserConfigPath());
            var appData = Path.Combine(_dir, "AppData", "Roaming");
            Assert.Equal(Path.Combine(appData, "ConnectionsMonitor", "config.yml"),
                Locator(new Dictionary<string, string> { ["APPDATA"] = appData }, isWindows: true).UserConfigPath());
        }

        [Fact]
        public void AFolderGivenAsTheConfigurationIsSaidToBeAFolder()
        {
            var ex = Assert.Throws<ConfigException>(() => Locator(new Dictionary<string, string>()).Locate(_dir, null));
            Assert.Equal(Path.GetFullPath(_dir), ex.FilePath);
            Assert.Contains("this is a folder, not a configuration file; name the config.yml in it.", ex.Message);
        }

        [Fact]
        public void MissingExplicitPathIsAClearErrorNamingIt()
        {
            string missing = Path.Combine(_dir, "nope.yml");
            var ex = Assert.Throws<ConfigException>(() => Locator(new Dictionary<string, string>()).Locate(missing, null));
            Assert.Equal(missing, ex.FilePath);
            Assert.Contains(missing, ex.Message);
            Assert.Contains("the configuration file named for this command does not exist", ex.Message);
            Assert.Contains("does not exist", ex.Message);
        }

        [Fact]
        public void MissingVariablePathIsAClearErrorNamingVariableAndPath()
        {
            string missing = Path.Combine(_dir, "gone.yml");
            Write("module/config.yml", "");
            var ex = Assert.Throws<ConfigException>(() =>
                Locator(new Dictionary<string, string> { [ConfigLocator.EnvironmentVariable] = missing }).Locate(null, Path.Combine(_dir, "module/config.yml")));
            Assert.Contains(missing, ex.Message);
            Assert.Contains("CONNECTIONSMONITOR_CONFIG", ex.Message);
        }

        [Fact]
        public void CacheServesTheSameResultUntilTheFileChanges()
        {
            string path = Write("c.yml", "refreshInterval: 3000\n");
            var cache = new ConfigCache();
            var first = cache.Get(path);
            var second = cache.Get(path);
            Assert.Same(first, second);
            Assert.Equal(1, cache.ParseCount);

            File.WriteAllText(path, "refreshInterval: 4000\n");     // same length: the time stamp tells
            File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(2));
            var third = cache.Get(path);
            Assert.NotSame(first, third);
            Assert.Equal(4000, third.Config.RefreshInterval);
            Assert.Equal(3000, first.Config.RefreshInterval);       // the earlier result is untouched
            Assert.Equal(2, cache.ParseCount);

            File.WriteAllText(path, "refreshInterval: 5000\nresolveDNS: true\n");
            File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(-2)); // length alone tells
            Assert.Equal(5000, cache.Get(path).Config.RefreshInterval);
            Assert.Equal(3, cache.ParseCount);
        }

        [Fact]
        public void CacheIsSafeUnderConcurrentReaders()
        {
            string path = Write("c.yml", "refreshInterval: 3000\n");
            var cache = new ConfigCache();
            var results = new ConfigLoadResult[64];
            Parallel.For(0, results.Length, i => results[i] = cache.Get(path));
            Assert.All(results, r => Assert.Same(results[0], r));
            Assert.Equal(1, cache.ParseCount);
        }

        [Fact]
        public void FailedLoadChangesNothingAndIsNotCached()
        {
            string path = Write("c.yml", "refreshInterval: 3000\nmonitoring:\n  topTalkersCount: 8\n");
            var cache = new ConfigCache();
            var good = cache.Get(path);
            var goodConfig = good.Config;

            // The broken file has a valid first key: nothing of it may reach the earlier config.
            File.WriteAllText(path, "refreshInterval: 9000\nmonitoring:\n  topTalkersCount: 1000\n");
            File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(2));
            Assert.Throws<ConfigException>(() => cache.Get(path));
            Assert.Throws<ConfigException>(() => cache.Get(path));  // not cached: read again, fails again
            Assert.Equal(3, cache.ParseCount);
            Assert.Equal(3000, goodConfig.RefreshInterval);
            Assert.Equal(8, goodConfig.Monitoring.TopTalkersCount);

            File.WriteAllText(path, "refreshInterval: 9000\n");
            File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(4));
            Assert.Equal(9000, cache.Get(path).Config.RefreshInterval);
            Assert.Equal(3000, goodConfig.RefreshInterval);
        }

        [Fact]
        public void BuiltInLocationGivesDefaultsWithoutAPath()
        {
            var result = new ConfigCache().Get(new ConfigLocation(ConfigSource.BuiltInDefaults, null));
            Assert.Null(result.SourcePath);
            Assert.Empty(result.Warnings);
            Assert.Equal(2000, result.Config.RefreshInterval);
        }

        [Fact]
        public void LoadedCollectionsCannotBeChangedByCallers()
        {
            var c = ConfigLoader.LoadText("ipFiltering:\n  allowlist: [10.0.0.1]\n", "c.yml").Config;
            Assert.Throws<NotSupportedException>(() => ((IList<Engine.Filtering.AddressPattern>)c.IpFiltering.Allowlist).Add(null));
            Assert.Throws<NotSupportedException>(() => ((IDictionary<int, ConfigColor>)c.HighlightedPorts).Clear());
        }
    }
}
