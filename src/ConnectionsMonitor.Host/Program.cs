using System;
using System.IO;
using System.Linq;

namespace ConnectionsMonitor.Host
{
    /// <summary>
    /// cmon: runs a ConnectionsMonitor command line where PowerShell is not installed.
    ///   cmon                                        the module's main job (Show-ConnectionMonitor)
    ///   cmon Get-MonitoredConnection -State Listen  any PowerShell command line
    ///   cmon -Command "Get-MonitoredConnection | Where-Object ProcessName -eq sshd"
    ///   cmon --service --config /etc/connectionsmonitor/config.yml   the headless service mode (<see cref="ServiceMode"/>)
    /// </summary>
    public static class Program
    {
        /// <summary>The module's main job: the live view (the seed's terminal mode).</summary>
        internal const string DefaultCommand = "Show-ConnectionMonitor";

        /// <summary>What cmon --help prints.</summary>
        internal const string Usage =
            "Usage: cmon [COMMAND LINE | -Command SCRIPT | --service [--config PATH] [--history PATH] | --help]\n" +
            "Runs a ConnectionsMonitor command line in an embedded PowerShell (the whole command set, the module imported).\n" +
            "  cmon                                          the live, colour-coded connection table (Show-ConnectionMonitor); q quits\n" +
            "  cmon Get-MonitoredConnection -State Listen    any PowerShell command line\n" +
            "  cmon -Command 'Get-MonitoredConnection | Export-Csv audit.csv'\n" +
            "  cmon Get-Help Get-MonitoredConnection -Examples\n" +
            "Exit status: 0 when the command wrote no error, 1 when it did, 2 for a usage or set-up problem.\n" +
            "Service mode: cmon --service [--config PATH] [--history PATH]\n" +
            "  headless and long-running (what Install-ConnectionMonitorService sets up): records the connection history and runs\n" +
            "  config.yml's alert rules, logs to the journal (stderr) or the Windows event log, stops cleanly on SIGTERM/SIGINT.\n" +
            "  Exit status: 0 after a clean stop, 1 when it failed while running, 2 for a usage or configuration error.\n" +
            "Environment: CONNECTIONSMONITOR_MODULE (the module's .psd1), CONNECTIONSMONITOR_CONFIG (config.yml), NO_COLOR.";

        public static int Main(string[] args)
        {
            if (args.Length == 1 && (args[0] == "--help" || args[0] == "-h" || args[0] == "-?" || args[0] == "/?" || args[0].Equals("-Help", StringComparison.OrdinalIgnoreCase)))
            {
                Console.WriteLine(Usage);
                return 0;
            }
            if (ServiceMode.IsRequested(args)) return ServiceMode.Run(args, Console.Error);
            if (args.Length == 1 && (args[0].Equals("-Command", StringComparison.OrdinalIgnoreCase) || args[0].Equals("-c", StringComparison.OrdinalIgnoreCase)))
            {
                Console.Error.WriteLine("cmon: -Command needs a script after it, e.g. cmon -Command 'Get-MonitoredConnection | Format-List'.");
                return 2;
            }
            string script = BuildScript(args);
            string modulePath = Environment.GetEnvironmentVariable("CONNECTIONSMONITOR_MODULE")
                ?? Path.Combine(AppContext.BaseDirectory, "Modules", "ConnectionsMonitor", "ConnectionsMonitor.psd1");
            if (!File.Exists(modulePath))
            {
                Console.Error.WriteLine("cmon: the ConnectionsMonitor module was not found at '" + modulePath +
                                        "'. Build it (dotnet build) or set CONNECTIONSMONITOR_MODULE to its .psd1.");
                return 2;
            }

            int width = 120;
            try
            {
                if (!Console.IsOutputRedirected && Console.WindowWidth > 0) width = Console.WindowWidth;
            }
            catch (IOException)
            {
                // No console attached: keep the default width.
            }

            // A terminal takes escape sequences; NO_COLOR only asks for no colour (PowerShell then
            // renders plain text, and the live view keeps its cursor moves but drops colours).
            bool terminal = !Console.IsOutputRedirected;
            bool color = terminal && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
            using (var shell = new HostedShell(modulePath, Console.Out, Console.Error, width, terminal, color))
            {
                Console.CancelKeyPress += (s, e) =>
                {
                    e.Cancel = true; // let the command stop cleanly and the host exit normally
                    shell.Stop();
                };
                bool ok = shell.Run(script);
                return shell.Host.ExitCode != 0 ? shell.Host.ExitCode : ok ? 0 : 1;
            }
        }

        public static string BuildScript(string[] args)
        {
            if (args.Length == 0) return DefaultCommand;
            if (args[0].Equals("-Command", StringComparison.OrdinalIgnoreCase) || args[0].Equals("-c", StringComparison.OrdinalIgnoreCase))
                return string.Join(" ", args.Skip(1));
            // Arguments arrive already split by the shell; quote the ones that would split again.
            return string.Join(" ", args.Select(Quote));
        }

        private static string Quote(string arg)
        {
            if (arg.Length > 0 && arg.All(c => !char.IsWhiteSpace(c) && c != '\'' && c != '"' && c != ';' && c != '|' && c != '&'))
                return arg;
            return "'" + arg.Replace("'", "''") + "'";
        }
    }
}
