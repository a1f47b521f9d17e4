using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;
using ConnectionsMonitor.Host;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// A real PowerShell runspace (System.Management.Automation hosted in-process) with the BUILT
    /// module imported through its manifest, as a user would import it.
    /// </summary>
    public sealed class ModuleSession : IDisposable
    {
        private readonly StringWriter _out = new StringWriter();
        private readonly StringWriter _err = new StringWriter();

        static ModuleSession() => TestEnvironment.Isolate();

        public ModuleSession(int width = 200)
        {
            if (!File.Exists(Repo.ModuleManifest))
                throw new InvalidOperationException("The module has not been built: " + Repo.ModuleManifest);
            Shell = new HostedShell(Repo.ModuleManifest, _out, _err, width);
            Runspace = Shell.Runspace;
        }

        public HostedShell Shell { get; }
        public Runspace Runspace { get; }

        /// <summary>Runs a script and returns its output; throws when it wrote errors, with their text.</summary>
        public Collection<PSObject> Invoke(string script, params object[] args) => InvokeWithWarnings(script, args).Output;

        /// <summary>Runs a script that is expected to fail; returns its errors (terminating or not).</summary>
        public IReadOnlyList<ErrorRecord> InvokeExpectingErrors(string script, params object[] args)
        {
            using var ps = Create(script, args);
            try
            {
                ps.Invoke();
            }
            catch (RuntimeException ex)
            {
                return new[] { ex.ErrorRecord };
            }
            return ps.Streams.Error.ToList();
        }

        /// <summary>
        /// Runs a script and returns everything: its output (up to a terminating error), every error it wrote, and
        /// whether a terminating error ended it. For tests that tell non-terminating errors from terminating ones.
        /// </summary>
        public (Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, bool Terminated) InvokeCollecting(string script, params object[] args)
        {
            using var ps = Create(script, args);
            var output = new PSDataCollection<PSObject>();
            try
            {
                ps.Invoke(null, output);
            }
            catch (RuntimeException ex)
            {
                return (new Collection<PSObject>(output.ToList()), ps.Streams.Error.Append(ex.ErrorRecord).ToList(), true);
            }
            return (new Collection<PSObject>(output.ToList()), ps.Streams.Error.ToList(), false);
        }

        /// <summary>Runs a script and returns its output and warnings; throws when it wrote errors.</summary>
        public (Collection<PSObject> Output, IReadOnlyList<string> Warnings) InvokeWithWarnings(string script, params object[] args)
        {
            using var ps = Create(script, args);
            var result = ps.Invoke();
            if (ps.Streams.Error.Count > 0)
                throw new InvalidOperationException("The script wrote errors: " + string.Join(" | ", ps.Streams.Error.Select(e => e.ToString())));
            return (result, ps.Streams.Warning.Select(w => w.Message).ToList());
        }

        private System.Management.Automation.PowerShell Create(string script, object[] args)
        {
            var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = Runspace;
            ps.AddScript(script);
            foreach (var a in args) ps.AddArgument(a);
            return ps;
        }

        /// <summary>Renders a script's output as the console would (Out-Default through the module's views).</summary>
        public string Render(string script)
        {
            _out.GetStringBuilder().Clear();
            Shell.Run(script);
            return _out.ToString();
        }

        public void Dispose() => Shell.Dispose();
    
        /// <summary>
        /// Waits for the cmdlet's "First snapshot taken" verbose line: traffic sent after it is inside
        /// the window (the window's progress report, written on the pipeline thread).
        /// </summary>
        public static void WaitUntilTheWindowOpens(System.Management.Automation.PowerShell ps)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!ps.Streams.Verbose.ToArray().Any(v => v.Message.StartsWith("First snapshot taken", StringComparison.Ordinal)))
            {
                if (ps.InvocationStateInfo.State != System.Management.Automation.PSInvocationState.Running)
                    throw new InvalidOperationException("The command ended before its window opened: " + ps.InvocationStateInfo.State + " " + ps.InvocationStateInfo.Reason);
                if (DateTime.UtcNow > deadline) throw new TimeoutException("No 'First snapshot taken' verbose line within 60 s.");
                Thread.Sleep(10);
            }
        }
    }
}
