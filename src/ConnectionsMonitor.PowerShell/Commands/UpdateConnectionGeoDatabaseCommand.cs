using System;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Security;
using System.Threading;
using ConnectionsMonitor.Engine.Enrichment.Geo;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Downloads current GeoIP databases (DB-IP Lite, MaxMind GeoLite2, IPinfo Lite or any URL), checks them and installs them where the module looks them up.</para>
    /// </summary>
    /// <remarks>
    /// A mapper: parameters → <see cref="GeoUpdateInput"/> → <see cref="GeoUpdateResolver"/> and
    /// <see cref="GeoDatabaseUpdater"/> → one <see cref="GeoDatabaseInfo"/> per installed database.
    /// ShouldProcess and a non-terminating error are per database: each is its own file.
    /// </remarks>
    [Cmdlet(VerbsData.Update, "ConnectionGeoDatabase", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(GeoDatabaseInfo))]
    public sealed class UpdateConnectionGeoDatabaseCommand : PSCmdlet
    {
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();

        /// <summary>DbIpLite (no account), MaxMind, IpInfo or Url. Url is assumed when only -Uri is given.</summary>
        [Parameter(Position = 0)]
        [ValidateSet("DbIpLite", "MaxMind", "IpInfo", "Url", IgnoreCase = true)]
        public string Source { get; set; } = "DbIpLite";

        /// <summary>Country, Asn and/or City; default Country and Asn (IpInfo: its one combined file; Url: one).</summary>
        [Parameter]
        [ValidateSet("Country", "Asn", "City", IgnoreCase = true)]
        [ValidateNotNullOrEmpty]
        public string[] Database { get; set; }

        /// <summary>MaxMind licence key: a SecureString (Get-Secret, Read-Host -AsSecureString) or plain text. Default: geoip.maxmindLicenseKey.</summary>
        [Parameter]
        [SecureStringTransformation]
        [ValidateNotNull]
        public SecureString LicenseKey { get; set; }

        /// <summary>MaxMind account ID. Default: geoip.maxmindAccountId.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string AccountId { get; set; }

        /// <summary>IPinfo access token: a SecureString (Get-Secret, Read-Host -AsSecureString) or plain text. Default: ipToken.</summary>
        [Parameter]
        [SecureStringTransformation]
        [ValidateNotNull]
        public SecureString Token { get; set; }

        /// <summary>With -Source Url the file's address; with a named source a mirror of the provider's folder.</summary>
        [Parameter(Position = 1)]
        [ValidateNotNull]
        public Uri Uri { get; set; }

        /// <summary>Expected SHA-256 of the downloaded file (-Source Url only).</summary>
        [Parameter]
        [ValidatePattern("^[0-9A-Fa-f]{64}$")]
        public string Sha256 { get; set; }

        /// <summary>The folder to install in; default geoip.directory, else the user's data folder.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string DestinationPath { get; set; }

        /// <summary>The config.yml to read defaults and credentials from.</summary>
        [Parameter]
        public string ConfigPath { get; set; }

        /// <summary>Install even when the download is not newer than the installed file.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>The configuration this call runs under (the runspace session's lookup and cache); a broken file stops the command with its file, line and key.</summary>
        private Engine.Configuration.MonitorConfig LoadConfig()
        {
            try
            {
                var plan = Session.SessionRegistry.For(this).Plan(Session.SessionRegistry.ConfigQuery(this, ConfigPath));
                foreach (var w in plan.Warnings) WriteWarning(w);
                return plan.Config;
            }
            catch (Engine.Configuration.ConfigException ex)
            {
                ThrowTerminatingError(Session.SessionRegistry.InvalidConfiguration(ex));
                throw; // not reached
            }
        }

        /// <summary>Maps the parameters to a request, then updates each planned database.</summary>
        protected override void EndProcessing()
        {
            var config = LoadConfig();
            var resolution = GeoUpdateResolver.Resolve(new GeoUpdateInput
            {
                Source = MyInvocation.BoundParameters.ContainsKey(nameof(Source)) ? Parse<GeoDownloadSource>(Source) : (GeoDownloadSource?)null,
                Databases = Database?.Select(Parse<GeoDownloadKind>).ToList(),
                Uri = Uri,
                Sha256 = Sha256,
                AccountId = AccountId,
                LicenseKey = Unprotect(LicenseKey),
                Token = Unprotect(Token),
                DestinationDirectory = DestinationPath != null ? GetUnresolvedProviderPathFromPSPath(DestinationPath) : null,
                Force = Force.IsPresent,
            }, config.GeoIp, config.IpToken);

            // A credential or checksum the source does not use would be ignored without a word (a newcomer's trial gave
            // -Source DbIpLite -AccountId 5): the request is not what the user meant.
            string notForSource = GeoUpdateWording.NotForSource(resolution.Source, MyInvocation.BoundParameters.Keys);
            if (notForSource != null)
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException(notForSource), "ParameterNotForSource", ErrorCategory.InvalidArgument, resolution.Source));
            if (!resolution.IsComplete)
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException(GeoUpdateWording.MissingCredentials(resolution.Source, resolution.MissingCredentials)),
                    GeoUpdateWording.MissingCredentialsErrorId(resolution.Source), ErrorCategory.InvalidArgument, null));
            foreach (var note in resolution.Notes) WriteWarning(note);

            using (var updater = new GeoDatabaseUpdater())
            {
                System.Collections.Generic.IReadOnlyList<GeoDownloadPlan> plans;
                try
                {
                    plans = updater.Plan(resolution.Request);
                }
                catch (GeoDownloadException ex)
                {
                    ThrowTerminatingError(Error(ex, "InvalidGeoDatabaseRequest," + ex.Advice, null));
                    return; // not reached
                }

                for (int i = 0; i < plans.Count; i++)
                {
                    var plan = plans[i];
                    if (!ShouldProcess(plan.TargetPath, GeoUpdateWording.Action(plan))) continue;
                    GeoDownloadResult result;
                    try
                    {
                        result = Download(updater, plan, i + 1);
                    }
                    catch (GeoDownloadException ex)
                    {
                        WriteError(Error(ex, "GeoDatabaseUpdateFailed," + ex.Failure, plan.TargetPath));
                        continue;
                    }
                    if (result.Status == GeoDownloadStatus.NotNewer)
                    {
                        WriteWarning(string.Format(CultureInfo.InvariantCulture,
                            "Kept {0}: the {1} database there ({2}, built {3:yyyy-MM-dd HH:mm} UTC) is not older than the download ({4}, built {5:yyyy-MM-dd HH:mm} UTC). Use -Force to replace it anyway.",
                            result.Path, result.Kind, result.ExistingDatabaseType, result.ExistingBuildDateUtc, result.DatabaseType, result.BuildDateUtc));
                        continue;
                    }
                    WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0} {1} ({2}, built {3:yyyy-MM-dd HH:mm} UTC) from {4}.",
                        result.Status, result.Path, result.DatabaseType, result.BuildDateUtc, result.SourceUri));
                    WriteObject(Session.OutputMapper.ToGeoDatabaseInfo(result));
                }
            }
        }

        /// <summary>Cancels a download in progress (Ctrl+C).</summary>
        protected override void StopProcessing() => _stop.Cancel();

        /// <summary>One download on a worker task, its progress written from this (the pipeline) thread.</summary>
        private GeoDownloadResult Download(GeoDatabaseUpdater updater, GeoDownloadPlan plan, int activityId)
        {
            string activity = GeoUpdateWording.Activity(plan);
            try
            {
                return PipelineWorker.Run<GeoDownloadResult, GeoDownloadProgress>(
                    (progress, cancel) => updater.UpdateAsync(plan, progress, cancel),
                    p => WriteProgress(GeoUpdateWording.Progress(activityId, activity, p)),
                    _stop.Token);
            }
            finally
            {
                if (!_stop.IsCancellationRequested)
                    WriteProgress(new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
            }
        }

        /// <summary>The engine's exception, shown with this cmdlet's advice (ErrorDetails) in place.</summary>
        private static ErrorRecord Error(GeoDownloadException ex, string errorId, object target) =>
            new ErrorRecord(ex, errorId, GeoUpdateWording.Category(ex.Failure), target) { ErrorDetails = new ErrorDetails(GeoUpdateWording.Message(ex)) };

        private static T Parse<T>(string value) where T : struct => (T)Enum.Parse(typeof(T), value, ignoreCase: true);

        private static string Unprotect(SecureString secret) =>
            secret == null ? null : new System.Net.NetworkCredential(string.Empty, secret).Password;
    }

    /// <summary>
    /// Lets a secret parameter typed SecureString also take plain text, so both
    /// <c>-LicenseKey (Get-Secret MaxMind)</c> and <c>-LicenseKey $env:MAXMIND_KEY</c> work.
    /// </summary>
    internal sealed class SecureStringTransformationAttribute : ArgumentTransformationAttribute
    {
        /// <summary>A string becomes a read-only SecureString; anything else passes unchanged.</summary>
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            if (!(value is string text)) return inputData;
            var secure = new SecureString();
            foreach (char c in text) secure.AppendChar(c);
            secure.MakeReadOnly();
            return secure;
        }
    }
}
