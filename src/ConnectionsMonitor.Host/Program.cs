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
    /// </summary>
    public static class Program
    {
        /// <summary>The module's main job: the live view (the seed's terminal mode).</summary>
        internal const string DefaultCommand = "Show-ConnectionMonitor";

        public static int Main(string[] args)
        {
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
