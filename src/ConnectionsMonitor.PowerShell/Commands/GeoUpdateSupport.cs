using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ConnectionsMonitor.Engine.Enrichment.Geo;

namespace ConnectionsMonitor.Commands
{
    /// <summary>Update-ConnectionGeoDatabase's work: credentials from parameters or config, the engine's updater, progress on the pipeline thread.</summary>
    internal static class GeoUpdateSupport
    {
        internal static void Update(PSCmdlet cmdlet, GeoUpdateArguments a, CancellationToken stop)
        {
            Engine.Configuration.MonitorConfig config;
            try
            {
                var plan = Session.SessionRegistry.For(cmdlet).Plan(new Engine.Filtering.ConnectionQuery
                {
                    ConfigPath = string.IsNullOrEmpty(a.ConfigPath) ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(a.ConfigPath),
                });
                foreach (var w in plan.Warnings) cmdlet.WriteWarning(w);
                config = plan.Config;
            }
            catch (Engine.Configuration.ConfigException ex)
            {
                cmdlet.ThrowTerminatingError(new ErrorRecord(ex, "InvalidConfiguration", ErrorCategory.InvalidData, ex.FilePath));
                return;
            }
            var source = (GeoDownloadSource)Enum.Parse(typeof(GeoDownloadSource), a.Source, ignoreCase: true);
            var request = new GeoDownloadRequest
            {
                Source = source,
                Databases = a.Databases?.Select(d => (GeoDownloadKind)Enum.Parse(typeof(GeoDownloadKind), d, ignoreCase: true)).ToList(),
                Uri = a.Uri,
                Sha256 = a.Sha256,
                Force = a.Force,
                DestinationDirectory = a.DestinationPath != null
                    ? cmdlet.GetUnresolvedProviderPathFromPSPath(a.DestinationPath)
                    : GeoIpPaths.DataDirectory(config.GeoIp),
            };

            if (source == GeoDownloadSource.MaxMind)
            {
                request.AccountId = Blank(a.AccountId) ?? Blank(config.GeoIp.MaxMindAccountId);
                request.LicenseKey = Blank(a.LicenseKey) ?? Blank(config.GeoIp.MaxMindLicenseKey);
                var missing = new List<string>();
                if (request.AccountId == null) missing.Add("an account ID: give -AccountId or set geoip.maxmindAccountId in config.yml");
                if (request.LicenseKey == null) missing.Add("a licence key: give -LicenseKey (plain text or a SecureString, e.g. from Get-Secret) or set geoip.maxmindLicenseKey in config.yml");
                if (missing.Count > 0)
                    Stop(cmdlet, "MaxMindCredentialsMissing", "-Source MaxMind needs " + string.Join("; and ", missing) +
                         ". Both are free at https://www.maxmind.com/en/geolite2/signup (Account > Manage License Keys).");
            }
            else if (source == GeoDownloadSource.IpInfo)
            {
                request.Token = Blank(a.Token) ?? Blank(config.IpToken);
                if (request.Token == null)
                    Stop(cmdlet, "IpInfoTokenMissing", "-Source IpInfo needs an IPinfo access token: give -Token (plain text or a SecureString, e.g. from Get-Secret) or set ipToken in config.yml. A free token is at https://ipinfo.io/signup.");
                if (request.Databases != null && request.Databases.Contains(GeoDownloadKind.Asn))
                    cmdlet.WriteWarning("IPinfo Lite is one file holding both country and ASN data; it is installed as " + GeoIpPaths.CountryFile + ", not as " + GeoIpPaths.AsnFile + ".");
            }

            using (var updater = new GeoDatabaseUpdater())
            {
                IReadOnlyList<GeoDownloadPlan> plans;
                try
                {
                    plans = updater.Plan(request);
                }
                catch (GeoDownloadException ex)
                {
                    Stop(cmdlet, "InvalidGeoDatabaseRequest", ex.Message);
                    return; // not reached
                }

                for (int i = 0; i < plans.Count; i++)
                {
                    var plan = plans[i];
                    string from = plan.DisplayUris.Count > 1
                        ? plan.DisplayUris[0] + " (or " + string.Join(" or ", plan.DisplayUris.Skip(1)) + " if that is not published yet)"
                        : plan.DisplayUri;
                    if (!cmdlet.ShouldProcess(plan.TargetPath, "Download the " + plan.Kind + " database from " + from + " and install it"))
                        continue;
                    GeoDownloadResult result;
                    try
                    {
                        result = Run(cmdlet, updater, plan, i + 1, stop);
                    }
                    catch (GeoDownloadException ex)
                    {
                        // Non-terminating: each database is its own file, so one failure (say, a City
                        // file not published yet) does not undo or prevent the others.
                        cmdlet.WriteError(new ErrorRecord(ex, "GeoDatabaseUpdateFailed," + ex.Failure, Category(ex.Failure), plan.TargetPath));
                        continue;
                    }

                    if (result.Status == GeoDownloadStatus.NotNewer)
                    {
                        cmdlet.WriteWarning(string.Format(CultureInfo.InvariantCulture,
                            "Kept {0}: the {1} database there ({2}, built {3:yyyy-MM-dd HH:mm} UTC) is not older than the download ({4}, built {5:yyyy-MM-dd HH:mm} UTC). Use -Force to replace it anyway.",
                            result.Path, result.Kind, result.ExistingDatabaseType, result.ExistingBuildDateUtc, result.DatabaseType, result.BuildDateUtc));
                        continue;
                    }
                    cmdlet.WriteVerbose(result.Status + " " + result.Path + " (" + result.DatabaseType + ", built " +
                                        result.BuildDateUtc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC) from " + result.SourceUri + ".");
                    cmdlet.WriteObject(Session.OutputMapper.ToGeoDatabaseInfo(result));
                }
            }
        }

        /// <summary>
        /// Runs one download on a worker task while this (the pipeline) thread writes its progress:
        /// WriteProgress may only be called from the pipeline thread.
        /// </summary>
        private static GeoDownloadResult Run(PSCmdlet cmdlet, GeoDatabaseUpdater updater, GeoDownloadPlan plan, int activityId, CancellationToken stop)
        {
            string activity = "Updating the " + plan.Kind + " GeoIP database";
            using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop))
            using (var queue = new BlockingCollection<GeoDownloadProgress>(new ConcurrentQueue<GeoDownloadProgress>()))
            {
                var task = Task.Run(async () =>
                {
                    try
                    {
                        return await updater.UpdateAsync(plan, new QueueProgress(queue), cancel.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        queue.CompleteAdding();
                    }
                });
                bool drained = false;
                try
                {
                    foreach (var p in queue.GetConsumingEnumerable())
                        cmdlet.WriteProgress(ToRecord(activityId, activity, p));
                    drained = true;
                }
                finally
                {
                    // WriteProgress threw (the pipeline is stopping): stop the download and let it clean up.
                    if (!drained)
                    {
                        cancel.Cancel();
                        try { task.Wait(); }
                        catch (AggregateException) { }
                    }
                }
                cmdlet.WriteProgress(new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
                try
                {
                    return task.GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    throw new PipelineStoppedException();
                }
            }
        }

        private static ProgressRecord ToRecord(int activityId, string activity, GeoDownloadProgress p)
        {
            string status = p.Stage + " " + p.Uri;
            if (p.Stage == "Downloading")
                status += " (" + Size(p.BytesReceived) + (p.TotalBytes != null ? " of " + Size(p.TotalBytes.Value) : "") + ")";
            var record = new ProgressRecord(activityId, activity, status);
            if (p.TotalBytes != null && p.TotalBytes.Value > 0)
                record.PercentComplete = (int)Math.Min(100, p.BytesReceived * 100 / p.TotalBytes.Value);
            return record;
        }

        private static string Size(long bytes) => Engine.Display.TextFormat.Size(bytes);

        private static ErrorCategory Category(GeoDownloadFailure failure)
        {
            switch (failure)
            {
                case GeoDownloadFailure.InvalidRequest: return ErrorCategory.InvalidArgument;
                case GeoDownloadFailure.NotFound: return ErrorCategory.ObjectNotFound;
                case GeoDownloadFailure.AccessDenied: return ErrorCategory.AuthenticationError;
                case GeoDownloadFailure.HttpError:
                case GeoDownloadFailure.Network: return ErrorCategory.ConnectionError;
                case GeoDownloadFailure.ChecksumMismatch:
                case GeoDownloadFailure.InvalidDatabase: return ErrorCategory.InvalidData;
                default: return ErrorCategory.WriteError;
            }
        }

        private static void Stop(PSCmdlet cmdlet, string errorId, string message) =>
            cmdlet.ThrowTerminatingError(new ErrorRecord(new PSArgumentException(message), errorId, ErrorCategory.InvalidArgument, null));

        private static string Blank(string value) => string.IsNullOrWhiteSpace(value) ? null : value;

        /// <summary>Hands progress from the download task to the pipeline thread.</summary>
        private sealed class QueueProgress : IProgress<GeoDownloadProgress>
        {
            private readonly BlockingCollection<GeoDownloadProgress> _queue;
            public QueueProgress(BlockingCollection<GeoDownloadProgress> queue) => _queue = queue;

            public void Report(GeoDownloadProgress value)
            {
                try { _queue.TryAdd(value); }
                catch (InvalidOperationException) { /* completed: the download is over */ }
            }
        }
    }
}
