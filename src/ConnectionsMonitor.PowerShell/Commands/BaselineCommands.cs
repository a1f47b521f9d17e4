using System;
using System.IO;
using System.Management.Automation;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Baseline;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Session;

namespace ConnectionsMonitor.Commands
{
    /// <summary>What the baseline cmdlets share: a snapshot of this computer, and error wording.</summary>
    public abstract class BaselineCommandBase : PSCmdlet
    {
        /// <summary>The configuration file to use instead of the usual lookup.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ConfigPath { get; set; }

        internal ConnectionSnapshot TakeSnapshot()
        {
            var session = SessionRegistry.For(this);
            try
            {
                var snapshot = session.Snapshot(SessionRegistry.ConfigQuery(this, ConfigPath));
                foreach (var w in snapshot.Warnings) WriteWarning(w);
                return snapshot;
            }
            catch (ConfigException ex) { ThrowTerminatingError(SessionRegistry.InvalidConfiguration(ex)); throw; }
            catch (SamplerException ex)
            {
                ThrowTerminatingError(new ErrorRecord(ex.InnerException ?? ex, "ConnectionTableReadFailed", ErrorCategory.ReadError, null));
                throw;
            }
        }

        internal static string HostName => Environment.MachineName;

        internal ConnectionBaseline ReadBaseline(string path, string parameter)
        {
            if (Directory.Exists(path))
            {
                // Reading a folder fails with "Access to the path is denied", which sends the user to the permissions.
                ThrowTerminatingError(new ErrorRecord(new IOException("'" + path + "' is a folder; -" + parameter + " names a baseline file, e.g. ./baseline.json."),
                    "BaselinePathIsFolder", ErrorCategory.InvalidArgument, path));
                return null;
            }
            if (!File.Exists(path))
            {
                ThrowTerminatingError(PathErrors.NotFound(new FileNotFoundException("The baseline file '" + path + "' does not exist (-" + parameter + "; Export-ConnectionBaseline writes baseline files).", path),
                    PathErrors.BaselineFileNotFound, path));
                return null;
            }
            try { return BaselineFile.Read(path); }
            catch (BaselineFormatException ex)
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidDataException(ex.Message + " (-" + parameter + "; Export-ConnectionBaseline writes baseline files.)", ex),
                    File.Exists(path) ? "BaselineFileInvalid" : "BaselineFileUnreadable",
                    File.Exists(path) ? ErrorCategory.InvalidData : ErrorCategory.ReadError, path));
                throw;
            }
        }
    }

    /// <summary>
    /// <para type="synopsis">Writes what is stable about this computer's connections (listeners, processes that talk out and where to, VPN use) to a JSON baseline file.</para>
    /// </summary>
    [Cmdlet(VerbsData.Export, "ConnectionBaseline", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ConnectionBaselineInfo))]
    public sealed class ExportConnectionBaselineCommand : BaselineCommandBase
    {
        /// <summary>The file to write.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; }

        /// <summary>Replaces an existing file (without it, an existing file is an error and is left as it is).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Writes a summary of the baseline written.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            string path = GetUnresolvedProviderPathFromPSPath(Path);
            if (File.Exists(path) && !Force)
            {
                ThrowTerminatingError(new ErrorRecord(new IOException("The file '" + path + "' already exists. Use -Force to replace it (a baseline is the reference later comparisons rely on, so it is not replaced silently)."),
                    "BaselineFileExists", ErrorCategory.ResourceExists, path));
                return;
            }
            if (Directory.Exists(path))
            {
                ThrowTerminatingError(new ErrorRecord(new IOException("'" + path + "' is a folder; -Path names the baseline file to write, e.g. ./baseline.json."),
                    "BaselinePathIsFolder", ErrorCategory.InvalidArgument, path));
                return;
            }
            string folder = System.IO.Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(folder) && !Directory.Exists(folder))
            {
                // Else the write fails naming its temporary file (.x.json.49df6d27.tmp) in the folder that is not there.
                ThrowTerminatingError(PathErrors.NotFound(new DirectoryNotFoundException("The folder '" + folder + "' does not exist; create it first (New-Item -ItemType Directory), or give -Path a file in a folder that exists."),
                    PathErrors.BaselineFolderNotFound, folder));
                return;
            }
            var snapshot = TakeSnapshot();
            var baseline = ConnectionBaseline.FromRecords(snapshot.Connections, snapshot.TimeStampUtc, HostName);
            if (!ShouldProcess(path, "Write a connection baseline of " + Engine.Display.TextFormat.Count(baseline.Entries.Count, "entry", "entries"))) return;
            try { BaselineFile.Write(path, baseline, overwrite: Force.IsPresent); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                ThrowTerminatingError(new ErrorRecord(new IOException("The baseline file '" + path + "' cannot be written: " + ex.Message, ex),
                    "BaselineFileUnwritable", ErrorCategory.WriteError, path));
                return;
            }
            WriteVerbose("Wrote " + baseline.Entries.Count + " baseline entries to " + path + ".");
            if (PassThru)
                WriteObject(new ConnectionBaselineInfo
                {
                    Path = path, HostName = baseline.HostName, Created = baseline.CreatedUtc.ToLocalTime(), FormatVersion = baseline.FormatVersion,
                    Listeners = Count(baseline, BaselineEntryKind.Listener), Outbound = Count(baseline, BaselineEntryKind.Outbound), Vpn = Count(baseline, BaselineEntryKind.Vpn),
                });
        }

        private static int Count(ConnectionBaseline b, BaselineEntryKind kind)
        {
            int n = 0;
            foreach (var _ in b.OfKind(kind)) n++;
            return n;
        }
    }

    /// <summary>
    /// <para type="synopsis">Compares this computer's connections now (or a second baseline file) with a baseline file and returns what was Added and Removed.</para>
    /// </summary>
    [Cmdlet(VerbsData.Compare, "ConnectionBaseline")]
    [OutputType(typeof(ConnectionBaselineDifference))]
    public sealed class CompareConnectionBaselineCommand : BaselineCommandBase
    {
        /// <summary>The baseline file (the reference).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Alias("ReferencePath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; }

        /// <summary>A second baseline file to compare with, instead of this computer's connections now.</summary>
        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty]
        public string DifferencePath { get; set; }

        protected override void EndProcessing()
        {
            var reference = ReadBaseline(GetUnresolvedProviderPathFromPSPath(Path), nameof(Path));
            System.Collections.Generic.List<BaselineDifference> differences;
            string currentHost;
            if (DifferencePath != null)
            {
                var other = ReadBaseline(GetUnresolvedProviderPathFromPSPath(DifferencePath), nameof(DifferencePath));
                currentHost = other.HostName;
                differences = BaselineComparer.Compare(reference, other);
            }
            else
            {
                var snapshot = TakeSnapshot();
                currentHost = HostName;
                differences = BaselineComparer.Compare(reference, snapshot.Connections, snapshot.TimeStampUtc, currentHost);
            }
            if (reference.HostName != null && currentHost != null && !string.Equals(reference.HostName, currentHost, StringComparison.OrdinalIgnoreCase))
                WriteWarning("The baseline describes '" + reference.HostName + "', compared with '" + currentHost + "'.");
            foreach (var d in differences)
            {
                var e = d.Entry;
                WriteObject(new ConnectionBaselineDifference
                {
                    Change = d.Change.ToString(), Kind = e.Kind.ToString(), Protocol = e.Protocol, LocalAddress = e.LocalAddress, LocalPort = e.LocalPort,
                    ProcessName = OutputMapper.Outside(e.ProcessName), ProcessPath = OutputMapper.Outside(e.ProcessPath), RemotePort = e.RemotePort,
                    AddressScope = OutputMapper.Outside(e.AddressScope), Asn = e.Asn, AsnOrganization = OutputMapper.Outside(e.AsnOrganization),
                    Country = OutputMapper.Outside(e.Country), VpnReason = OutputMapper.Outside(e.VpnReason), ProcessId = d.ProcessId,
                    HostName = d.Change == BaselineChange.Removed ? reference.HostName : currentHost,
                });
            }
        }
    }
}
