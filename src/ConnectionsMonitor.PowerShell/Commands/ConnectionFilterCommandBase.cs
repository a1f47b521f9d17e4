using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Threading;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// The filter parameters every connection cmdlet shares, declared once, and their mapping to the
    /// engine's one query type. Piped processes (Get-Process x | …) are gathered in ProcessRecord so
    /// the derived command runs once, in EndProcessing, for all of them; a pipeline that delivers
    /// nothing (Get-Process nosuch -ErrorAction Ignore | …, @() | …) asks about no process, so the
    /// command writes nothing rather than everything.
    /// </summary>
    public abstract class ConnectionFilterCommandBase : PSCmdlet
    {
        private readonly List<int> _pipelineProcessIds = new List<int>();
        private bool _inputBound;

        /// <summary>Cancelled by StopProcessing (Ctrl+C); long-running commands wait on it.</summary>
        internal CancellationTokenSource StopRequested { get; } = new CancellationTokenSource();

        // Virtual: Register-ConnectionAlert declares -Protocol again without a position (its -Name is the
        // positional one) and BuildQuery reads whichever declaration PowerShell bound.
        [Parameter(Position = 0)]
        [ValidateSet("TCP", "UDP", IgnoreCase = true)]
        public virtual string[] Protocol { get; set; }

        [Parameter]
        [TcpStateNameTransformation]
        public TcpState[] State { get; set; }

        [Parameter]
        [ValidateRange(0, 65535)]
        public int[] Port { get; set; }

        [Parameter]
        [ValidateRange(0, 65535)]
        public int[] LocalPort { get; set; }

        // Virtual: Register-ConnectionAlert's -RemotePort is a condition, not a filter (see RemotePortFilter).
        [Parameter]
        [ValidateRange(0, 65535)]
        public virtual int[] RemotePort { get; set; }

        /// <summary>The remote ports the query filters on: -RemotePort, unless a command gives the name another meaning.</summary>
        private protected virtual int[] RemotePortFilter => RemotePort;

        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ValidateAddressPattern]
        public string[] RemoteAddress { get; set; }

        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProcessNameCompleter))]
        public string[] ProcessName { get; set; }

        /// <summary>
        /// Owning process ids; bound by property name from piped objects (Get-Process, connection rows). A piped row whose
        /// ProcessId is $null (TIME_WAIT, no known owner) names no process and is skipped without an error.
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "PID", "OwningProcess")]
        [AllowNull]
        [ValidateProcessId]
        public int[] ProcessId { get; set; }

        [Parameter]
        public SwitchParameter ExcludeLoopback { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateCountryCode]
        [ArgumentCompleter(typeof(CountryCompleter))]
        public string[] Country { get; set; }

        [Parameter]
        public SwitchParameter ResolveDns { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        protected override void ProcessRecord()
        {
            if (ProcessId != null)
            {
                _pipelineProcessIds.AddRange(ProcessId);
                _inputBound = true;
            }
            else if (!MyInvocation.ExpectingInput && MyInvocation.BoundParameters.ContainsKey(nameof(ProcessId)))
            {
                // Typed on the command line (-ProcessId $null): an empty question, not "every process".
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-ProcessId is $null: give one or more process ids, such as $PID or (Get-Process pwsh).Id."),
                    "ProcessIdIsNull", ErrorCategory.InvalidArgument, null));
            }
        }

        protected override void StopProcessing() => StopRequested.Cancel();

        /// <summary>The runspace's monitor session.</summary>
        /// <summary>The runspace's session. Read it on the pipeline thread: elsewhere there is no current runspace to find it by.</summary>
        internal MonitorSession Session => SessionRegistry.For(this);

        /// <summary>True when the command sits downstream in a pipeline that delivered no process: it has nothing to ask about.</summary>
        internal bool NoPipelineInput => MyInvocation.ExpectingInput && !_inputBound;

        /// <summary>
        /// Warns when -State names Closed in a command that watches through the session's sampler (Watch-Connection,
        /// Show-ConnectionMonitor, alert rules): on Linux the sampler leaves out TCP sockets that are bound but neither
        /// listen nor connect (only a snapshot that asks for Closed reads them, see ConnectionQuery.IncludeBoundSockets),
        /// so such a command would not see them.
        /// </summary>
        internal void WarnIfClosedIsNotSampled()
        {
            if (State == null || !State.Contains(TcpState.Closed) || !RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
            WriteWarning("-State Closed: on Linux, TCP sockets that are bound to a port but neither listen nor connect are read only by " +
                         "Get-MonitoredConnection -State Closed. " + MyInvocation.MyCommand.Name +
                         " watches through the session's sampler, which leaves them out, so it will not see them.");
        }

        /// <summary>The parameters as the engine's one query type (a new object each call).</summary>
        internal ConnectionQuery BuildQuery()
        {
            var query = SessionRegistry.ConfigQuery(this, ConfigPath);
            query.Protocols = Protocol?.Select(p => string.Equals(p, "UDP", StringComparison.OrdinalIgnoreCase) ? TransportProtocol.Udp : TransportProtocol.Tcp).Distinct().ToList();
            query.States = State?.Distinct().ToList();
            query.Ports = Ranges(Port);
            query.LocalPorts = Ranges(LocalPort);
            query.RemotePorts = Ranges(RemotePortFilter);
            query.RemoteAddresses = RemoteAddress?.Select(AddressPattern.Parse).ToList();
            query.ProcessNames = ProcessName?.Select(n => new Wildcard(n)).ToList();
            query.ProcessIds = _pipelineProcessIds.Count > 0 ? _pipelineProcessIds.Distinct().ToList() : null;
            query.ExcludeLoopback = ExcludeLoopback.IsPresent;
            query.Countries = Country?.Select(Engine.Enrichment.Geo.CountryCodes.Normalize).Distinct().ToList();
            query.ResolveDns = MyInvocation.BoundParameters.ContainsKey(nameof(ResolveDns)) ? ResolveDns.IsPresent : (bool?)null;
            return query;
        }

        private static List<PortRange> Ranges(int[] ports) => ports?.Select(p => new PortRange(p, p)).ToList();

        /// <summary>Writes each warning the engine handed back (the session already dropped the ones said before).</summary>
        internal void Warn(IEnumerable<string> warnings)
        {
            foreach (var w in warnings) WriteWarning(w);
        }

        /// <summary>
        /// Runs an engine call, turning its failures into PowerShell errors: a configuration that
        /// cannot be used stops the command with the file, line and key; Ctrl+C stops the pipeline.
        /// </summary>
        internal T Run<T>(Func<T> call)
        {
            try
            {
                return call();
            }
            catch (ConfigException ex)
            {
                ThrowTerminatingError(SessionRegistry.InvalidConfiguration(ex));
                throw; // not reached
            }
            catch (OperationCanceledException) when (StopRequested.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            catch (SamplerException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex.InnerException ?? ex, "ConnectionTableReadFailed", ErrorCategory.ReadError, null));
                throw; // not reached
            }
        }

        internal void Run(Action call) => Run(() => { call(); return 0; });

        /// <summary>
        /// Runs a sample window (<paramref name="measure"/>) on a pool thread while this, the
        /// pipeline thread, writes what it reports: one verbose line when the window opens (the first
        /// snapshot is taken; traffic from then on counts) and a progress bar over the window, closed
        /// when the window ends. A window of zero is one snapshot, taken on this thread. Ctrl+C stops
        /// the window (PipelineStoppedException).
        /// </summary>
        internal T MeasureWithProgress<T>(TimeSpan window, Func<IProgress<TimeSpan>, CancellationToken, T> measure)
        {
            if (window <= TimeSpan.Zero) return measure(null, StopRequested.Token);
            const string activity = "Measuring traffic";
            var result = PipelineWorker.Run<T, TimeSpan>(
                (progress, token) => System.Threading.Tasks.Task.FromResult(measure(progress, token)),
                passed =>
                {
                    if (passed == TimeSpan.Zero)
                        WriteVerbose(string.Format(System.Globalization.CultureInfo.InvariantCulture,
                            "First snapshot taken; counting traffic for {0:0.###} s.", window.TotalSeconds));
                    // A new record each time: the host (and a captured stream) keeps the ones written.
                    WriteProgress(new ProgressRecord(WindowActivityId, activity, string.Format(System.Globalization.CultureInfo.InvariantCulture,
                        "{0:0} of {1:0} s", passed.TotalSeconds, window.TotalSeconds))
                    {
                        PercentComplete = (int)Math.Min(100, 100 * passed.Ticks / window.Ticks),
                        SecondsRemaining = (int)Math.Ceiling((window - passed).TotalSeconds),
                    });
                },
                StopRequested.Token);
            WriteProgress(new ProgressRecord(WindowActivityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
            return result;
        }

        private const int WindowActivityId = 0x434d; // "CM": one activity per cmdlet call
    }
}
