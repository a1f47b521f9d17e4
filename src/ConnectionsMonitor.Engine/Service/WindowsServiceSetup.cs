using System;
using System.Collections.Generic;
using System.Text;

namespace ConnectionsMonitor.Engine.Service
{
    /// <summary>What the Windows service of the service mode runs (Install-ConnectionMonitorService's parameters on Windows).</summary>
    public sealed class WindowsServiceOptions
    {
        /// <summary>The service name (default "ConnectionsMonitor"): letters, digits, '_', '.' or '-', at most 256 characters.</summary>
        public string Name { get; set; } = WindowsServiceSetup.DefaultName;

        /// <summary>Absolute path of cmon.exe.</summary>
        public string HostPath { get; set; }

        /// <summary>Absolute path of the config.yml given with --config; null for the service's own lookup.</summary>
        public string ConfigPath { get; set; }

        /// <summary>Absolute path of the history file given with --history; null for no --history, so the service records where its configuration's history.path says, else into <see cref="WindowsServiceSetup.DefaultHistoryPath"/>.</summary>
        public string HistoryPath { get; set; }
    }

    /// <summary>
    /// The sc.exe command lines that register and remove the Windows service of the service mode (pure: the
    /// PowerShell layer runs them). The service runs as LocalSystem: the ETW byte counters and other users'
    /// process paths need an elevated token, and Windows has no finer grant for them.
    /// </summary>
    public static class WindowsServiceSetup
    {
        /// <summary>The default service name.</summary>
        public const string DefaultName = "ConnectionsMonitor";

        /// <summary>%ProgramData%\ConnectionsMonitor\history.db: where the Windows service writes its history unless told otherwise.</summary>
        public static string DefaultHistoryPath =>
            System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "ConnectionsMonitor", "history.db");

        /// <summary>The service's command line (sc.exe's binPath=), each argument quoted by the rules CommandLineToArgvW undoes.</summary>
        public static string CommandLine(WindowsServiceOptions o)
        {
            if (o == null) throw new ArgumentNullException(nameof(o));
            CheckName(o.Name);
            var args = new List<string> { CheckPath("The path of cmon.exe", o.HostPath, true), "--service" };
            string config = CheckPath("The configuration path", o.ConfigPath, false);
            if (config != null) { args.Add("--config"); args.Add(config); }
            // Only a history file given explicitly: without --history the service takes history.path, else DefaultHistoryPath.
            string history = CheckPath("The history path", o.HistoryPath, false);
            if (history != null) { args.Add("--history"); args.Add(history); }
            return string.Join(" ", args.ConvertAll(QuoteArgument));
        }

        /// <summary>sc.exe's arguments (one list entry per argv word) to create the service: automatic start, LocalSystem.</summary>
        public static IReadOnlyList<string> CreateArguments(WindowsServiceOptions o) =>
            new[] { "create", o.Name, "binPath=", CommandLine(o), "start=", "auto", "DisplayName=", "ConnectionsMonitor (" + o.Name + ")" };

        /// <summary>sc.exe's arguments that set the service's description.</summary>
        public static IReadOnlyList<string> DescriptionArguments(string name)
        {
            CheckName(name);
            return new[] { "description", name, "Records connection history and runs the configured alert rules (cmon --service)." };
        }

        /// <summary>sc.exe's arguments that restart the service after a failure (5 s, three times, counter reset daily).</summary>
        public static IReadOnlyList<string> FailureArguments(string name)
        {
            CheckName(name);
            return new[] { "failure", name, "reset=", "86400", "actions=", "restart/5000/restart/5000/restart/5000" };
        }

        /// <summary>Quotes one argument so CommandLineToArgvW (and the C runtime) gives it back unchanged.</summary>
        public static string QuoteArgument(string arg)
        {
            if (arg == null) throw new ArgumentNullException(nameof(arg));
            if (arg.Length > 0 && arg.IndexOfAny(new[] { ' ', '\t', '"' }) < 0) return arg;
            var b = new StringBuilder("\"");
            int slashes = 0;
            foreach (char c in arg)
            {
                if (c == '\\') { slashes++; continue; }
                if (c == '"') { b.Append('\\', slashes * 2 + 1).Append('"'); slashes = 0; continue; }
                b.Append('\\', slashes).Append(c);
                slashes = 0;
            }
            return b.Append('\\', slashes * 2).Append('"').ToString();
        }

        /// <summary>Throws <see cref="ArgumentException"/> unless the name is 1–256 letters, digits, '_', '.' or '-'.</summary>
        public static void CheckName(string name)
        {
            bool ok = !string.IsNullOrEmpty(name) && name.Length <= 256;
            if (ok) foreach (char c in name) ok &= c < 128 && (char.IsLetterOrDigit(c) || c == '_' || c == '.' || c == '-');
            if (!ok) throw new ArgumentException("The service name '" + (name ?? "") + "' cannot be used; expected 1 to 256 letters, digits, '_', '.' or '-', for example 'ConnectionsMonitor'.", "Name");
        }

        private static string CheckPath(string what, string path, bool required)
        {
            if (string.IsNullOrEmpty(path))
            {
                if (required) throw new ArgumentException(what + " is missing; expected an absolute path such as C:\\Program Files\\ConnectionsMonitor\\cmon.exe.", what);
                return null;
            }
            foreach (char c in path)
                if (c < 0x20 || c == 0x7f)
                    throw new ArgumentException(what + " has a control character (U+" + ((int)c).ToString("X4") + "); expected a plain absolute path.", what);
            if (path.IndexOf('"') >= 0)
                throw new ArgumentException(what + " has a double quote, which no Windows path can hold; expected a plain absolute path.", what);
            bool absolute = path.Length >= 3 && char.IsLetter(path[0]) && path[1] == ':' && (path[2] == '\\' || path[2] == '/') || path.StartsWith("\\\\", StringComparison.Ordinal);
            if (!absolute)
                throw new ArgumentException(what + " '" + path + "' is not an absolute path; a service starts in the system folder, so expected a path such as C:\\ProgramData\\ConnectionsMonitor\\config.yml.", what);
            return path;
        }
    }
}
