using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.History;
using ConnectionsMonitor.Engine.Service;
using ConnectionsMonitor.Engine.Session;

namespace ConnectionsMonitor.Host
{
    /// <summary>
    /// cmon --service [--config PATH] [--history PATH]: the headless, long-running mode that the systemd unit and the
    /// Windows service run. No PowerShell: a <see cref="MonitorSession"/> straight from the engine, its recorder and the
    /// configured alert rules (<see cref="ServiceRunner"/>). It logs to the system's log (journald through stderr, the
    /// Windows event log when started by the service manager) and stops cleanly on SIGTERM, SIGINT or a service stop.
    /// Exit status: 0 after a clean stop, 2 for a usage or configuration error, 1 when it failed while running.
    /// </summary>
    public static class ServiceMode
    {
        /// <summary>The first argument that selects this mode.</summary>
        public const string Switch = "--service";

        /// <summary>The parsed command line: ConfigPath and HistoryPath (null when not given), or Error (what was wrong and what is expected).</summary>
        public sealed class Arguments
        {
            /// <summary>--config PATH, made absolute; null when not given.</summary>
            public string ConfigPath { get; set; }
            /// <summary>--history PATH, made absolute; null when not given.</summary>
            public string HistoryPath { get; set; }
            /// <summary>Why the command line cannot be used; null when it can.</summary>
            public string Error { get; set; }
        }

        /// <summary>True when the command line asks for the service mode (its first word is --service).</summary>
        public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Switch;

        /// <summary>Parses the words after --service. Relative paths are taken from <paramref name="currentDirectory"/>.</summary>
        public static Arguments Parse(string[] args, string currentDirectory)
        {
            var result = new Arguments();
            for (int i = 1; i < args.Length; i++)
            {
                string a = args[i];
                if (a == "--config" || a == "--history")
                {
                    if (i + 1 >= args.Length || string.IsNullOrWhiteSpace(args[i + 1]) || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                        return Fail(a + " needs a path after it, e.g. " + a + (a == "--config" ? " /etc/connectionsmonitor/config.yml" : " /var/lib/connectionsmonitor/history.db") + ".");
                    if ((a == "--config" ? result.ConfigPath : result.HistoryPath) != null)
                        return Fail(a + " is given twice; expected it once.");
                    string path = Path.GetFullPath(Path.Combine(currentDirectory, args[++i]));
                    if (a == "--config") result.ConfigPath = path; else result.HistoryPath = path;
                }
                else
                {
                    return Fail("'" + a + "' is not an option of --service; expected --config PATH and/or --history PATH.");
                }
            }
            return result;

            Arguments Fail(string why) => new Arguments { Error = why };
        }

        /// <summary>Runs the service mode until SIGTERM/SIGINT (or a service stop); returns the exit status.</summary>
        public static int Run(string[] args, TextWriter stderr)
        {
            var parsed = Parse(args, Environment.CurrentDirectory);
            if (parsed.Error != null)
            {
                stderr.WriteLine("cmon: " + parsed.Error);
                stderr.WriteLine("Usage: cmon --service [--config PATH] [--history PATH]");
                return 2;
            }
            if (OperatingSystem.IsWindows() && !Environment.UserInteractive)
                return WindowsServiceHost.RunAsService(parsed);

            var log = new StderrLog(stderr);
            using var stop = new ManualResetEventSlim(false);
            // SIGTERM (systemctl stop, kill) and SIGINT (Ctrl+C): cancel the default termination and stop cleanly.
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
            using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, c => { c.Cancel = true; stop.Set(); });
            return RunUntil(parsed, log, stop.WaitHandle);
        }

        /// <summary>Starts the runner, waits for <paramref name="stop"/> or a failure, stops it; returns the exit status (0, 1 or 2).</summary>
        internal static int RunUntil(Arguments parsed, IServiceLog log, WaitHandle stop)
        {
            ServiceRunner runner = null;
            try
            {
                runner = Create(parsed, log);
                runner.Start();
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                try { runner?.Dispose(); }
                catch (Exception) { } // the start failed already; that is the error to report
                return NotStarted(ex, log);
            }
            using (runner)
            {
                int which = WaitHandle.WaitAny(new[] { stop, runner.Failed });
                log.Write(ServiceLogLevel.Info, which == 0 ? "Stopping (asked to stop)." : "Stopping after a failure.");
                runner.Stop();
                return which == 0 ? 0 : 1;
            }
        }

        /// <summary>Logs why the service did not start; 2 for a configuration that cannot be used, 1 for anything else.</summary>
        private static int NotStarted(Exception ex, IServiceLog log)
        {
            if (ex is ConfigException)
            {
                log.Write(ServiceLogLevel.Error, "Not started: the configuration cannot be used. " + ex.Message);
                return 2;
            }
            log.Write(ServiceLogLevel.Error, "Not started: " + (ex is HistoryException ? "" : ex.GetType().Name + ": ") + ex.Message);
            return 1;
        }

        /// <summary>The runner over a session configured as the module's: its default config.yml and bundled GeoIP folder beside cmon.</summary>
        internal static ServiceRunner Create(Arguments parsed, IServiceLog log)
        {
            string moduleManifest = Environment.GetEnvironmentVariable("CONNECTIONSMONITOR_MODULE")
                ?? Path.Combine(AppContext.BaseDirectory, "Modules", "ConnectionsMonitor", "ConnectionsMonitor.psd1");
            string moduleDir = Path.GetDirectoryName(Path.GetFullPath(moduleManifest));
            string defaultConfig = Path.Combine(moduleDir, ConfigLocator.FileName);
            string geo = Path.Combine(moduleDir, "GeoIP");
            var options = new MonitorSessionOptions
            {
                DefaultConfigPath = File.Exists(defaultConfig) ? defaultConfig : null,
                BundledGeoDirectory = Directory.Exists(geo) ? geo : null,
            };
            if (options.DefaultConfigPath == null)
                log.Write(ServiceLogLevel.Warning, "The module's config.yml was not found at '" + defaultConfig + "'; without --config or CONNECTIONSMONITOR_CONFIG the built-in defaults apply.");
            var session = new MonitorSession(options);
            return new ServiceRunner(session, new ServiceSettings { ConfigPath = parsed.ConfigPath, HistoryPath = parsed.HistoryPath }, log);
        }
    }

    /// <summary>
    /// The service's log on stderr. Under systemd (JOURNAL_STREAM set: stderr is the journal) each line starts with its
    /// sd-daemon priority, "&lt;3&gt;" error, "&lt;4&gt;" warning, "&lt;5&gt;" notice, "&lt;6&gt;" info, which journald
    /// stores as the entry's priority; elsewhere each line starts with the UTC time and the level's name.
    /// </summary>
    public sealed class StderrLog : IServiceLog
    {
        private readonly TextWriter _writer;
        private readonly bool _journal;

        /// <summary>A log on <paramref name="writer"/>; <paramref name="journal"/> null: decided by JOURNAL_STREAM.</summary>
        public StderrLog(TextWriter writer, bool? journal = null)
        {
            _writer = writer;
            _journal = journal ?? !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM"));
        }

        /// <summary>Writes the message, one prefixed line per line of it.</summary>
        public void Write(ServiceLogLevel level, string message)
        {
            string prefix = _journal ? "<" + (int)level + ">" : DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) + " " + level.ToString().ToLowerInvariant() + ": ";
            var text = new System.Text.StringBuilder();
            foreach (var line in (message ?? "").Replace("\r\n", "\n").Split('\n'))
                text.Append(prefix).Append(line).Append('\n');
            try
            {
                lock (_writer)
                {
                    _writer.Write(text.ToString());
                    _writer.Flush();
                }
            }
            catch (IOException) { } // stderr gone: nothing else to tell
            catch (ObjectDisposedException) { }
        }
    }
}
