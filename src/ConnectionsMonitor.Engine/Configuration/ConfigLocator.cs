using System;
using System.IO;
using System.Runtime.InteropServices;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>What the locator needs from the machine; tests pass their own so they never read the real environment.</summary>
    public sealed class ConfigEnvironment
    {
        public ConfigEnvironment(Func<string, string> getVariable, bool isWindows, string homeDirectory, Func<string, bool> fileExists = null)
        {
            GetVariable = getVariable ?? throw new ArgumentNullException(nameof(getVariable));
            IsWindows = isWindows;
            HomeDirectory = homeDirectory;
            FileExists = fileExists ?? File.Exists;
        }

        public Func<string, string> GetVariable { get; }
        public bool IsWindows { get; }
        public string HomeDirectory { get; }
        public Func<string, bool> FileExists { get; }

        public static ConfigEnvironment Current { get; } = new ConfigEnvironment(
            Environment.GetEnvironmentVariable,
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows),
            Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));
    }

    public enum ConfigSource
    {
        /// <summary>-ConfigPath.</summary>
        ExplicitPath,
        /// <summary>$env:CONNECTIONSMONITOR_CONFIG.</summary>
        EnvironmentVariable,
        /// <summary>%APPDATA%\ConnectionsMonitor\config.yml, or $XDG_CONFIG_HOME (~/.config)/ConnectionsMonitor/config.yml.</summary>
        UserFolder,
        /// <summary>The config.yml shipped with the module.</summary>
        ModuleDefault,
        /// <summary>No file: the defaults compiled into MonitorConfig.</summary>
        BuiltInDefaults,
    }

    /// <summary>Which configuration applies: its source and full path (null for the built-in defaults).</summary>
    public sealed class ConfigLocation
    {
        public ConfigLocation(ConfigSource source, string path)
        {
            Source = source;
            Path = path;
        }

        public ConfigSource Source { get; }
        public string Path { get; }
        public override string ToString() => Path == null ? Source.ToString() : Source + ": " + Path;
    }

    /// <summary>
    /// Finds the configuration file: an explicit path, then $env:CONNECTIONSMONITOR_CONFIG, then the
    /// user's config folder, then the module's own config.yml, else the built-in defaults. A path the
    /// user named (explicitly or through the variable) must exist: silently falling back would run
    /// with settings the user did not choose.
    /// </summary>
    public sealed class ConfigLocator
    {
        public const string EnvironmentVariable = "CONNECTIONSMONITOR_CONFIG";
        public const string FileName = "config.yml";
        public const string FolderName = "ConnectionsMonitor";

        private readonly ConfigEnvironment _env;

        public ConfigLocator(ConfigEnvironment environment = null)
        {
            _env = environment ?? ConfigEnvironment.Current;
        }

        /// <param name="explicitPath">-ConfigPath, already resolved by the caller against its current location; null or empty when not given.</param>
        /// <param name="moduleDefaultPath">The module's config.yml; null when the caller has none.</param>
        /// <param name="currentDirectory">
        /// The caller's current directory (PowerShell's location, which is not the process's working
        /// directory), against which a relative path in the environment variable is taken; null for
        /// the process's.
        /// </param>
        public ConfigLocation Locate(string explicitPath, string moduleDefaultPath, string currentDirectory = null)
        {
            if (!string.IsNullOrWhiteSpace(explicitPath))
            {
                string full = Path.GetFullPath(explicitPath);
                if (!_env.FileExists(full))
                    throw Directory.Exists(full)
                        ? new ConfigException(full, "this is a folder, not a configuration file; name the config.yml in it.")
                        : ConfigException.Missing(full, "the configuration file named for this command does not exist.");
                return new ConfigLocation(ConfigSource.ExplicitPath, full);
            }

            string fromVariable = _env.GetVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(fromVariable))
            {
                string full = Path.GetFullPath(string.IsNullOrEmpty(currentDirectory) ? fromVariable : Path.Combine(currentDirectory, fromVariable));
                if (!_env.FileExists(full))
                    throw Directory.Exists(full)
                        ? new ConfigException(full, "the environment variable " + EnvironmentVariable + " names a folder, not a configuration file; name the config.yml in it.")
                        : ConfigException.Missing(full, "the configuration file named by the environment variable " + EnvironmentVariable + " does not exist.");
                return new ConfigLocation(ConfigSource.EnvironmentVariable, full);
            }

            string user = UserConfigPath();
            if (user != null && _env.FileExists(user)) return new ConfigLocation(ConfigSource.UserFolder, user);

            if (!string.IsNullOrWhiteSpace(moduleDefaultPath))
            {
                string full = Path.GetFullPath(moduleDefaultPath);
                if (_env.FileExists(full)) return new ConfigLocation(ConfigSource.ModuleDefault, full);
            }

            return new ConfigLocation(ConfigSource.BuiltInDefaults, null);
        }

        /// <summary>Where this user's config.yml goes, whether or not it exists; null when the platform gives no folder.</summary>
        public string UserConfigPath()
        {
            string root;
            if (_env.IsWindows)
            {
                root = _env.GetVariable("APPDATA");
            }
            else
            {
                // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
                root = _env.GetVariable("XDG_CONFIG_HOME");
                if (string.IsNullOrWhiteSpace(root) || !Path.IsPathRooted(root))
                    root = string.IsNullOrEmpty(_env.HomeDirectory) ? null : Path.Combine(_env.HomeDirectory, ".config");
            }
            return string.IsNullOrWhiteSpace(root) ? null : Path.Combine(root, FolderName, FileName);
        }
    }
}
