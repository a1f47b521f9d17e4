using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Registers an alert rule: conditions on this computer's connections, a filter, and where its alerts go.</para>
    /// Maps its parameters to one <see cref="AlertRule"/> (the filter through the shared
    /// <see cref="ConnectionFilterCommandBase.BuildQuery"/>), subscribes its -Action through the runspace's
    /// event manager, and registers the rule with the session's <see cref="AlertMonitor"/>.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Register, "ConnectionAlert", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ConnectionAlertInfo))]
    public sealed class RegisterConnectionAlertCommand : ConnectionFilterCommandBase
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateAlertName]
        public string Name { get; set; }

        // ---- Conditions (at least one; several make one rule that any of them fires) ----

        /// <summary>A condition here, not a filter: outbound connections to these remote ports.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateAlertPort]
        public override int[] RemotePort { get; set; }

        private protected override int[] RemotePortFilter => null;

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateAlertPort]
        public int[] InboundPort { get; set; }

        [Parameter]
        public SwitchParameter NewListeningPort { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateAlertPort]
        public int[] ListeningPort { get; set; }

        [Parameter]
        public SwitchParameter NewPublicAddress { get; set; }

        [Parameter]
        public SwitchParameter NewRemoteCountry { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateCountryCode]
        [ArgumentCompleter(typeof(CountryCompleter))]
        public string[] ExcludeCountry { get; set; }

        [Parameter]
        public SwitchParameter NewRemoteAsn { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateRange(1L, 4294967295L)]
        public long[] ExcludeAsn { get; set; }

        [Parameter]
        public SwitchParameter NewProcessTalkingOut { get; set; }

        [Parameter]
        [ValidateRange(1L, long.MaxValue)]
        public long MaxConnections { get; set; }

        [Parameter]
        [ValidateRange(1L, long.MaxValue)]
        public long MaxBandwidth { get; set; }

        [Parameter]
        public SwitchParameter PerProcess { get; set; }

        [Parameter]
        public SwitchParameter VpnChange { get; set; }

        [Parameter]
        public SwitchParameter PortScan { get; set; }

        [Parameter]
        [ValidateRange(2, 65535)]
        public int PortScanThreshold { get; set; } = AlertCondition.DefaultScanPorts;

        [Parameter]
        [SecondsTransformation]
        [ValidateTimeSpanRange(0.001, 3600, Example = "00:00:10", ZeroAdvice = "a scan is counted over a window longer than zero")]
        public TimeSpan PortScanWindow { get; set; } = AlertCondition.DefaultScanWindow;

        // ---- The filter: the shared -Protocol without its position (-Name is positional here) ----

        [Parameter]
        [ValidateSet("TCP", "UDP", IgnoreCase = true)]
        public override string[] Protocol { get; set; }

        // ---- Deliveries ----

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateWebhook]
        public string[] Webhook { get; set; }

        [Parameter]
        [ValidateSet("Discord", "Slack", "Teams", "Generic", IgnoreCase = true)]
        public string WebhookKind { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string SourceIdentifier { get; set; }

        [Parameter]
        [ValidateNotNull]
        public ScriptBlock Action { get; set; }

        [Parameter]
        [SecondsTransformation]
        [ValidateTimeSpanRange(0, 7 * 86400, Example = "00:15:00", ZeroAdvice = "00:00:00 never repeats")]
        public TimeSpan RepeatInterval { get; set; } = TimeSpan.FromMinutes(15);

        [Parameter]
        [SecondsTransformation]
        [ValidateTimeSpanRange(0, 3600, Example = "00:00:05", ZeroAdvice = "00:00:00 sends each alert alone")]
        public TimeSpan GroupWindow { get; set; } = TimeSpan.FromSeconds(5);

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            if (NoPipelineInput)
            {
                ThrowTerminatingError(new ErrorRecord(new ArgumentException(
                    "No process came down the pipeline, so the rule '" + Name + "' would watch no process; nothing was registered. " +
                    "Pipe processes that exist, or use -ProcessName."), "NoPipelineProcess", ErrorCategory.InvalidArgument, Name));
            }
            WarnIfClosedIsNotSampled();
            var rule = BuildRule();
            var alerts = Session.Alerts;
            if (alerts.Find(rule.Name) != null)
            {
                WriteError(Exists(rule.Name));
                return;
            }
            string target = Describe(rule);
            if (!ShouldProcess(target, "Register alert rule")) return;
            if (!rule.HasTargets() && rule.SourceIdentifier == null && !rule.HasAction)
                WriteVerbose("The rule '" + rule.Name + "' has no -Webhook, -SourceIdentifier or -Action: its alerts show only in Get-ConnectionAlert (Fired, LastFired) and in the Flags of the connections it matches.");

            var bridge = AlertBridge.Attach(Session, Events);
            if (Action != null) bridge.AddAction(rule, Action);
            AlertRuleState state;
            try
            {
                state = alerts.Register(rule);
            }
            catch (ArgumentException)
            {
                // Registered by someone else (another pipeline, config.yml) since the check above.
                bridge.RemoveAction(rule);
                WriteError(Exists(rule.Name));
                return;
            }
            catch (Exception)
            {
                bridge.RemoveAction(rule);
                throw;
            }
            WriteVerbose("Registered " + target + ".");
            foreach (var w in alerts.TakeWarnings()) WriteWarning(w);
            if (PassThru) WriteObject(OutputMapper.ToAlertInfo(alerts.Find(rule.Name) ?? state));
        }

        private static ErrorRecord Exists(string name)
        {
            var ex = new ArgumentException("An alert rule named '" + name + "' is already registered in this session. Choose another -Name, " +
                "or remove the existing rule first: Unregister-ConnectionAlert -Name " + name + ".");
            return new ErrorRecord(ex, "AlertRuleExists", ErrorCategory.ResourceExists, name);
        }

        /// <summary>The ShouldProcess and verbose text: name, conditions, filter and where alerts go, webhooks redacted.</summary>
        private static string Describe(AlertRule rule)
        {
            var info = OutputMapper.ToAlertInfo(rule);
            var parts = new List<string> { info.Conditions };
            if (!string.IsNullOrEmpty(info.Filter)) parts.Add("filter " + info.Filter);
            if (!string.IsNullOrEmpty(info.Targets)) parts.Add("to " + info.Targets);
            if (info.SourceIdentifier != null) parts.Add("event " + info.SourceIdentifier);
            if (info.HasAction) parts.Add("with -Action");
            return "alert rule '" + rule.Name + "' (" + string.Join("; ", parts) + ")";
        }

        private AlertRule BuildRule()
        {
            var bound = MyInvocation.BoundParameters;
            var conditions = new List<AlertCondition>();
            if (RemotePort != null) conditions.Add(new AlertCondition(AlertKind.RemotePort) { Ports = RemotePort.Distinct().ToList() });
            if (InboundPort != null) conditions.Add(new AlertCondition(AlertKind.InboundPort) { Ports = InboundPort.Distinct().ToList() });
            if (NewListeningPort || ListeningPort != null)
                conditions.Add(new AlertCondition(AlertKind.NewListeningPort) { Ports = (ListeningPort ?? new int[0]).Distinct().ToList() });
            if (NewPublicAddress) conditions.Add(new AlertCondition(AlertKind.NewPublicAddress));
            if (NewRemoteCountry || ExcludeCountry != null)
                conditions.Add(new AlertCondition(AlertKind.NewRemoteCountry) { Exclude = (ExcludeCountry ?? new string[0]).Select(Engine.Enrichment.Geo.CountryCodes.Normalize).Distinct().ToList() });
            if (NewRemoteAsn || ExcludeAsn != null)
                conditions.Add(new AlertCondition(AlertKind.NewRemoteAsn) { Exclude = (ExcludeAsn ?? new long[0]).Distinct().Select(a => a.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList() });
            if (NewProcessTalkingOut) conditions.Add(new AlertCondition(AlertKind.NewProcessTalkingOut));
            if (bound.ContainsKey(nameof(MaxConnections))) conditions.Add(new AlertCondition(AlertKind.MaxConnections) { Threshold = MaxConnections, PerProcess = PerProcess });
            if (bound.ContainsKey(nameof(MaxBandwidth))) conditions.Add(new AlertCondition(AlertKind.MaxBandwidth) { Threshold = MaxBandwidth, PerProcess = PerProcess });
            if (VpnChange) conditions.Add(new AlertCondition(AlertKind.VpnChange));
            if (PortScan || bound.ContainsKey(nameof(PortScanThreshold)) || bound.ContainsKey(nameof(PortScanWindow)))
                conditions.Add(new AlertCondition(AlertKind.PortScan) { ScanPorts = PortScanThreshold, ScanWindow = PortScanWindow });

            if (PerProcess && !bound.ContainsKey(nameof(MaxConnections)) && !bound.ContainsKey(nameof(MaxBandwidth)))
                Fail("-PerProcess applies to -MaxConnections and -MaxBandwidth; give one of them, or leave -PerProcess out.", "PerProcessWithoutLevel");
            if (conditions.Count == 0)
                Fail("The rule '" + Name + "' has no condition: give at least one of -RemotePort, -InboundPort, -NewListeningPort, -NewPublicAddress, " +
                     "-NewRemoteCountry, -NewRemoteAsn, -NewProcessTalkingOut, -MaxConnections, -MaxBandwidth, -VpnChange or -PortScan.", "NoAlertCondition");
            if (WebhookKind != null && Webhook == null)
                Fail("-WebhookKind says how to format messages for -Webhook; give -Webhook too, or leave -WebhookKind out.", "WebhookKindWithoutWebhook");
            if (SourceIdentifier != null && SourceIdentifier.StartsWith("PowerShell.", StringComparison.OrdinalIgnoreCase))
                Fail("-SourceIdentifier '" + DisplayFormat.Safe(SourceIdentifier) + "' starts with 'PowerShell.', which PowerShell keeps for its own events: choose another, such as CM.FirstUse.", "ReservedSourceIdentifier");

            AlertTargetKind? kind = WebhookKind == null ? (AlertTargetKind?)null : (AlertTargetKind)Enum.Parse(typeof(AlertTargetKind), WebhookKind, true);
            var targets = new List<AlertTarget>();
            foreach (var text in Webhook ?? new string[0])
            {
                var url = ValidateWebhookAttribute.Parse(text); // checked at binding; never null here
                if (targets.Any(t => t.Url == url)) continue;
                targets.Add(new AlertTarget(url, kind));
            }

            var filter = BuildQuery();
            var countryCondition = conditions.FirstOrDefault(c => c.Kind == AlertKind.NewRemoteCountry);
            if (countryCondition != null && filter.Countries != null && filter.Countries.Count > 0 && filter.Countries.All(countryCondition.Exclude.Contains))
                Fail("-Country " + string.Join(", ", filter.Countries) + " keeps only connections to " + (filter.Countries.Count == 1 ? "that country" : "those countries") +
                     ", and -ExcludeCountry leaves " + (filter.Countries.Count == 1 ? "it" : "them") + " out of -NewRemoteCountry: that condition could never fire. " +
                     "Leave out -Country (every country but the excluded ones), or -ExcludeCountry.", "CountryConditionNeverFires");
            var rule = new AlertRule(Name, conditions)
            {
                Filter = filter,
                Targets = targets,
                SourceIdentifier = SourceIdentifier,
                HasAction = Action != null,
                RepeatInterval = RepeatInterval,
                GroupWindow = GroupWindow,
            };
            return rule;
        }

        private void Fail(string message, string id) =>
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(message), id, ErrorCategory.InvalidArgument, Name));
    }

    internal static class AlertRuleExtensions
    {
        internal static bool HasTargets(this AlertRule rule) => rule.Targets != null && rule.Targets.Count > 0;
    }
}
