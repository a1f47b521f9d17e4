using System;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace ConnectionsMonitor.Host
{
    /// <summary>
    /// A PowerShell runspace with this host attached and the ConnectionsMonitor module imported.
    /// Output goes through Out-Default, so the module's format views render it as PowerShell would.
    /// </summary>
    public sealed class HostedShell : IDisposable
    {
        private readonly Runspace _runspace;
        private PowerShell _current;

        /// <summary>The runspace the module is imported into (tests drive it directly).</summary>
        public Runspace Runspace => _runspace;

        /// <param name="terminal">Whether output is a terminal that takes escape sequences.</param>
        /// <param name="color">Whether PowerShell may style its output (false for NO_COLOR and for files and pipes).</param>
        public HostedShell(string modulePath, TextWriter output, TextWriter error, int width, bool terminal = false, bool color = false)
        {
            bool ansi = terminal && color;
            Host = new MonitorHost(output, error, width, terminal);
            var iss = InitialSessionState.CreateDefault2();
            if (OperatingSystem.IsWindows())
                iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
            _runspace = RunspaceFactory.CreateRunspace(Host, iss);
            _runspace.Open();
            using (var ps = PowerShell.Create())
            {
                ps.Runspace = _runspace;
                // Like pwsh's own console: ANSI styling only for a terminal, plain text for pipes and files.
                ps.AddScript("$PSStyle.OutputRendering = $args[0]").AddArgument(ansi ? "Ansi" : "PlainText");
                ps.AddStatement().AddCommand("Import-Module").AddParameter("Name", modulePath).AddParameter("ErrorAction", "Stop");
                ps.Invoke();
            }
        }

        public MonitorHost Host { get; }

        /// <summary>Runs a script, rendering everything (errors included) through Out-Default. Returns false when it had errors.</summary>
        public bool Run(string script)
        {
            int errorsBefore = ErrorCount();
            using (var ps = PowerShell.Create())
            {
                ps.Runspace = _runspace;
                ps.AddScript(script);
                ps.Commands.Commands[0].MergeMyResults(PipelineResultTypes.Error, PipelineResultTypes.Output);
                ps.AddCommand("Out-Default");
                _current = ps;
                try
                {
                    ps.Invoke();
                }
                catch (RuntimeException ex)
                {
                    Host.UI.WriteErrorLine(ex.ErrorRecord?.ToString() ?? ex.Message);
                    return false;
                }
                finally
                {
                    _current = null;
                }
                return !ps.HadErrors && ErrorCount() == errorsBefore;
            }
        }

        // Errors merged into the output are rendered, not raised, so $Error tells whether any occurred.
        private int ErrorCount()
        {
            using (var ps = PowerShell.Create())
            {
                ps.Runspace = _runspace;
                ps.AddScript("$global:Error.Count");
                var result = ps.Invoke();
                return result.Count == 1 && result[0].BaseObject is int n ? n : 0;
            }
        }

        /// <summary>Asks the running command to stop (Ctrl+C), as PowerShell's own console does.</summary>
        public void Stop() => _current?.BeginStop(null, null);

        public void Dispose() => _runspace.Dispose();
    }
}
