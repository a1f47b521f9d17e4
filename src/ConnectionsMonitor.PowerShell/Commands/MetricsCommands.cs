using System;
using System.IO;
using System.Management.Automation;
using System.Net;
using System.Security;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Metrics;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Engine.Web;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Serves this session's connection metrics over HTTP for Prometheus (text format and OpenMetrics) at /metrics.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "ConnectionMetrics", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ConnectionMetricsEndpoint))]
    public sealed class StartConnectionMetricsCommand : PSCmdlet
    {
        /// <summary>TCP port; default metrics.port of the configuration (9464). 0 picks a free port.</summary>
        [Parameter(Position = 0)]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>The address to listen on; default metrics.address, else loopback. Any other address needs a bearer token.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Address { get; set; }

        /// <summary>The token every request must carry (Prometheus: authorization: { credentials: ... }); default metrics.bearerToken / metrics.bearerTokenFile.</summary>
        [Parameter]
        public SecureString BearerToken { get; set; }

        /// <summary>Time between the endpoint's samples; default metrics.interval (15 s).</summary>
        [Parameter]
        [SecondsTransformation]
        [ValidateTimeSpanRange(1, 3600.0, Example = "00:00:15")]
        public TimeSpan Interval { get; set; }

        /// <summary>Process names with series of their own; default metrics.topProcesses (10).</summary>
        [Parameter]
        [ValidateRange(1, 1000)]
        public int TopProcesses { get; set; }

        /// <summary>The configuration file to use instead of the usual lookup.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        protected override void EndProcessing()
        {
            var session = SessionRegistry.For(this);
            var query = SessionRegistry.ConfigQuery(this, ConfigPath);
            MetricsEndpointOptions options;
            try
            {
                var plan = session.Plan(query);
                foreach (var w in plan.Warnings) WriteWarning(w);
                var bound = MyInvocation.BoundParameters;
                // The token file is read only when no token is given here.
                var config = plan.Config;
                options = new MetricsEndpointOptions
                {
                    Port = bound.ContainsKey(nameof(Port)) ? Port : config.Metrics.Port,
                    Address = config.Metrics.Address,
                    Interval = bound.ContainsKey(nameof(Interval)) ? Interval : TimeSpan.FromMilliseconds(config.Metrics.Interval),
                    TopProcesses = bound.ContainsKey(nameof(TopProcesses)) ? TopProcesses : config.Metrics.TopProcesses,
                };
                if (Address != null)
                {
                    options.Address = ListenAddress(this, Address);
                }
                if (BearerToken != null) options.BearerToken = new NetworkCredential("", BearerToken).Password;
                else options.BearerToken = config.Metrics.BearerToken ?? (config.Metrics.BearerTokenFile != null ? MetricsEndpointOptions.ReadTokenFile(config.Metrics.BearerTokenFile) : null);
                if (BearerToken != null && options.BearerToken.Length == 0)
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException("-BearerToken is empty."), "EmptyBearerToken", ErrorCategory.InvalidArgument, null));
            }
            catch (ConfigException ex) { ThrowTerminatingError(SessionRegistry.InvalidConfiguration(ex)); return; }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                ThrowTerminatingError(new ErrorRecord(new IOException("The bearer token file (metrics.bearerTokenFile) cannot be read: " + ex.Message, ex), "BearerTokenFileUnreadable", ErrorCategory.ReadError, null));
                return;
            }

            string target = (options.Address?.ToString() ?? "127.0.0.1") + ":" + options.Port;
            if (!ShouldProcess(target, "Serve connection metrics over HTTP")) return;
            try
            {
                var state = session.Metrics.Start(options, query);
                foreach (var w in session.Metrics.TakeWarnings()) WriteWarning(w);
                WriteVerbose("Serving metrics at " + state.Url + ", sampling every " + state.Interval.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s.");
                WriteObject(OutputMapper.ToMetricsEndpoint(state));
            }
            catch (InvalidOperationException ex)
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(ex.Message + " (Stop-ConnectionMetrics)", ex), "MetricsAlreadyRunning", ErrorCategory.ResourceExists, target));
            }
            catch (HttpEndpointException ex)
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(Advice(ex), ex), "MetricsEndpoint" + ex.Failure, Category(ex.Failure), target));
            }
            catch (SamplerException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex, "ConnectionTableUnreadable", ErrorCategory.ReadError, target));
            }
            catch (ConfigException ex)
            {
                ThrowTerminatingError(SessionRegistry.InvalidConfiguration(ex));
            }
        }

        private static string Advice(HttpEndpointException ex)
        {
            switch (ex.Failure)
            {
                case HttpEndpointFailure.PortInUse: return ex.Message + " Use -Port with another port (-Port 0 picks a free one), or metrics.port in config.yml.";
                case HttpEndpointFailure.TokenRequired: return ex.Message + " Give -BearerToken (e.g. -BearerToken (Read-Host -AsSecureString)) or set metrics.bearerToken / metrics.bearerTokenFile; or leave -Address out to listen on loopback only.";
                case HttpEndpointFailure.AccessDenied: return ex.Message + " Or choose another -Port.";
                default: return ex.Message;
            }
        }

        /// <summary>-Address of an HTTP endpoint (metrics, dashboard) as an IP address ([::1] allowed); anything else ends the command.</summary>
        internal static IPAddress ListenAddress(PSCmdlet cmdlet, string text)
        {
            if (IPAddress.TryParse(text.Trim().Trim('[', ']'), out var address)) return address;
            cmdlet.ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Address expects an IP address of this machine such as 127.0.0.1 or 0.0.0.0, not '" + text + "'."),
                "InvalidAddress", ErrorCategory.InvalidArgument, text));
            return null;
        }

        /// <summary>The error category of an HTTP endpoint that could not start (metrics, dashboard).</summary>
        internal static ErrorCategory Category(HttpEndpointFailure f) =>
            f == HttpEndpointFailure.PortInUse ? ErrorCategory.ResourceBusy
            : f == HttpEndpointFailure.AccessDenied ? ErrorCategory.PermissionDenied
            : f == HttpEndpointFailure.TokenRequired ? ErrorCategory.SecurityError
            : ErrorCategory.InvalidArgument;
    }

    /// <summary>
    /// <para type="synopsis">Gets this session's metrics endpoint: URL, address, port, scrapes served and the time of the last.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionMetrics")]
    [OutputType(typeof(ConnectionMetricsEndpoint))]
    public sealed class GetConnectionMetricsCommand : PSCmdlet
    {
        protected override void EndProcessing()
        {
            var metrics = SessionRegistry.For(this).Metrics;
            foreach (var w in metrics.TakeWarnings()) WriteWarning(w);
            var state = metrics.State;
            if (state != null) WriteObject(OutputMapper.ToMetricsEndpoint(state));
        }
    }

    /// <summary>
    /// <para type="synopsis">Stops this session's metrics endpoint.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "ConnectionMetrics", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ConnectionMetricsEndpoint))]
    public sealed class StopConnectionMetricsCommand : PSCmdlet
    {
        /// <summary>Write the endpoint's final state.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            var metrics = SessionRegistry.For(this).Metrics;
            var state = metrics.State;
            if (state == null || !metrics.IsRunning)
            {
                WriteWarning("This session serves no metrics (Start-ConnectionMetrics starts the endpoint).");
                return;
            }
            if (!ShouldProcess(state.Url, "Stop serving connection metrics")) return;
            var final = metrics.Stop();
            foreach (var w in metrics.TakeWarnings()) WriteWarning(w);
            if (final != null)
            {
                WriteVerbose("Served " + final.ScrapesServed + " scrapes at " + final.Url + ".");
                if (PassThru) WriteObject(OutputMapper.ToMetricsEndpoint(final));
            }
        }
    }
}
