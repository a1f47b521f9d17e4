using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Blocking;

namespace ConnectionsMonitor.Commands
{
    /// <summary>What the blocking cmdlets share: the firewall of this OS, the mapping to ConnectionBlock, and the wording of failures.</summary>
    public abstract class BlockingCommandBase : PSCmdlet
    {
        private ConnectionBlocker _blocker;

        // The targets this command has already handled (see Targets).
        private readonly HashSet<BlockTarget> _handled = new HashSet<BlockTarget>();

        internal static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>The blocker over this OS's firewall; a platform without one ends the command.</summary>
        internal ConnectionBlocker Blocker
        {
            get
            {
                if (_blocker != null) return _blocker;
                try { _blocker = new ConnectionBlocker(ConnectionBlocker.BackendForCurrentOS()); }
                catch (BlockingException ex) { ThrowTerminatingError(Failure(ex, null)); }
                return _blocker;
            }
        }

        /// <summary>An error record for an engine failure, with this module's advice.</summary>
        internal static ErrorRecord Failure(BlockingException ex, object target)
        {
            string advice;
            string id;
            ErrorCategory category;
            switch (ex.Failure)
            {
                case BlockFailure.ToolMissing:
                    id = "FirewallToolMissing"; category = ErrorCategory.ObjectNotFound;
                    advice = "Install nftables (Debian, Ubuntu: apt-get install nftables; Fedora, RHEL: dnf install nftables), which provides the nft program.";
                    break;
                case BlockFailure.NotPermitted:
                    id = "FirewallNotPermitted"; category = ErrorCategory.PermissionDenied;
                    advice = IsWindows ? "Run PowerShell as Administrator." : "Run PowerShell as root (sudo pwsh).";
                    break;
                case BlockFailure.Overlaps:
                    id = "BlockOverlaps"; category = ErrorCategory.ResourceExists;
                    advice = "Remove the existing block first (Unblock-ConnectionRemote -RemoteAddress " + (ex.Existing?.Text ?? "ADDRESS") + "), then block again.";
                    break;
                case BlockFailure.ReasonTooLong:
                    id = "ReasonTooLong"; category = ErrorCategory.InvalidArgument;
                    advice = "Give a shorter -Reason.";
                    break;
                case BlockFailure.NotSupported:
                    id = "BlockingNotSupported"; category = ErrorCategory.NotImplemented;
                    advice = null;
                    break;
                case BlockFailure.UnreadableAnswer:
                    id = "FirewallAnswerUnreadable"; category = ErrorCategory.InvalidResult;
                    advice = null;
                    break;
                default:
                    id = "FirewallFailed"; category = ErrorCategory.InvalidOperation;
                    advice = null;
                    break;
            }
            string message = ex.Message.TrimEnd();
            if (advice != null) message += (message.EndsWith(".", StringComparison.Ordinal) ? " " : ". ") + advice;
            return new ErrorRecord(new InvalidOperationException(message, ex), id, category, target);
        }

        /// <summary>
        /// The -RemoteAddress values (<see cref="Given"/>) as targets, each once per command: many connections to one remote,
        /// piped in, are one block to make or remove (Unblock said "not blocked" for the second row of one address, a
        /// newcomer's trial). A value that is not an address or block is an error and skipped.
        /// </summary>
        internal IEnumerable<(string Text, BlockTarget Target)> Targets(string[] values)
        {
            foreach (string text in Given(values))
            {
                if (!BlockTarget.TryParse(text, out var target, out string error))
                {
                    WriteError(new ErrorRecord(new ArgumentException("-RemoteAddress: " + error), "InvalidRemoteAddress", ErrorCategory.InvalidArgument, text));
                    continue;
                }
                if (_handled.Add(target)) yield return (text, target);
            }
        }

        /// <summary>
        /// The -RemoteAddress values to act on. A row piped in without a peer names no remote end and is skipped with a
        /// verbose line, whichever way it says so: RemoteAddress $null or empty (a UDP socket with no peer), or the
        /// unspecified address 0.0.0.0 or :: (what a TCP listener or a bound socket reports, as Get-NetTCPConnection). The
        /// same values typed on the command line are errors (InvalidRemoteAddress): empty here, unspecified in
        /// <see cref="Targets"/>.
        /// </summary>
        internal IEnumerable<string> Given(string[] values)
        {
            if (values == null || values.Length == 0) values = new string[] { null };
            foreach (var v in values)
            {
                bool empty = string.IsNullOrWhiteSpace(v);
                if (MyInvocation.ExpectingInput && (empty || IsUnspecified(v)))
                {
                    WriteVerbose(empty
                        ? "A piped object without a remote address (RemoteAddress is " + (v == null ? "$null" : "empty") + ": a socket with no peer, such as an unconnected UDP socket) is skipped."
                        : "A piped object whose RemoteAddress is " + v.Trim() + ", the unspecified address (a listening or bound socket with no peer), is skipped.");
                    continue;
                }
                if (!empty) { yield return v; continue; }
                WriteError(new ErrorRecord(new ArgumentException("-RemoteAddress is empty; expected " + BlockTarget.ExpectedForms + "."), "InvalidRemoteAddress", ErrorCategory.InvalidArgument, v));
            }
        }

        /// <summary>0.0.0.0, :: or ::ffff:0.0.0.0: the address a socket without a peer reports as its remote end.</summary>
        private static bool IsUnspecified(string text)
        {
            if (!System.Net.IPAddress.TryParse(text.Trim(), out var address) || text.Contains("/")) return false;
            return Engine.Filtering.ConnectionQuery.IsUnspecified(Engine.Filtering.AddressPattern.Normalize(address));
        }

        /// <summary>Says how many expired blocks were removed first (Windows Firewall, whose rules never expire by themselves).</summary>
        internal void ReportSweep()
        {
            if (_blocker != null && _blocker.ExpiredRemoved > 0)
                WriteVerbose("Removed " + _blocker.ExpiredRemoved + " expired block(s) from " + _blocker.Backend.Description + ".");
        }

        /// <summary>The object written for a block.</summary>
        internal static ConnectionBlock ToObject(BlockRecord r, DateTime nowUtc) => new ConnectionBlock
        {
            RemoteAddress = r.Target.Text,
            Direction = r.Direction.ToString(),
            Reason = r.Reason,
            Created = r.CreatedUtc?.ToLocalTime(),
            Expires = r.ExpiresUtc?.ToLocalTime(),
            RemainingSeconds = r.Remaining(nowUtc) is TimeSpan left ? (long)Math.Floor(left.TotalSeconds) : (long?)null,
            Firewall = r.Firewall,
        };

        /// <summary>"Both, reason 'scan', until 2026-12-01 11:30:00" for confirmation messages (the reason cleaned for the terminal).</summary>
        internal static string Describe(BlockRecord r) =>
            r.Direction + (r.Reason != null ? ", reason '" + Engine.Display.UntrustedText.ForTerminal(r.Reason) + "'" : "") +
            (r.ExpiresUtc.HasValue ? ", until " + r.ExpiresUtc.Value.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : ", no expiry");
    }

    /// <summary>
    /// <para type="synopsis">Blocks traffic from and to a remote address or CIDR block in the host firewall (nftables on Linux, Windows Firewall on Windows), for a time or until unblocked.</para>
    /// </summary>
    [Cmdlet(VerbsSecurity.Block, "ConnectionRemote", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(ConnectionBlock))]
    public sealed class BlockConnectionRemoteCommand : BlockingCommandBase
    {
        /// <summary>The addresses or CIDR blocks to block; from the pipeline by property name (Get-MonitoredConnection's RemoteAddress).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("IPAddress")]
        [AllowNull, AllowEmptyString, AllowEmptyCollection]
        public string[] RemoteAddress { get; set; }

        /// <summary>
        /// How long the block lasts (whole seconds, rounded up): seconds (3600), a number with a unit (90s, 30m, 1.5h) or a
        /// TimeSpan (01:00:00). Not given: until Unblock-ConnectionRemote removes it.
        /// </summary>
        [Parameter]
        [SecondsTransformation]
        public TimeSpan Duration { get; set; }

        /// <summary>Why: recorded with the block and shown by Get-ConnectionBlock.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Reason { get; set; }

        /// <summary>Inbound (traffic from the address), Outbound (traffic to it) or Both (default).</summary>
        [Parameter]
        [ValidateSet("Inbound", "Outbound", "Both")]
        public string Direction { get; set; } = "Both";

        /// <summary>Blocks even a loopback address, a default gateway, this machine's own address or the current remote session's client.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Writes a ConnectionBlock for each block made.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        private List<ProtectedAddress> _protected;
        private TimeSpan? _duration;

        protected override void BeginProcessing()
        {
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Duration)))
            {
                if (Duration <= TimeSpan.Zero)
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Duration must be longer than zero (it was " + Duration + "); leave it out for a block that stays until Unblock-ConnectionRemote removes it."),
                        "InvalidDuration", ErrorCategory.InvalidArgument, Duration));
                _duration = BlockRequest.WholeSeconds(Duration);
                if (_duration.Value > BlockRequest.Longest)
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Duration may be at most " + (int)BlockRequest.Longest.TotalDays + " days (it was " + Duration + "); leave it out for a block without an end."),
                        "InvalidDuration", ErrorCategory.InvalidArgument, Duration));
                if (_duration.Value != Duration) WriteVerbose("-Duration " + Duration + " is rounded up to whole seconds: " + _duration.Value + ".");
            }
        }

        protected override void ProcessRecord()
        {
            foreach (var (text, target) in Targets(RemoteAddress))
            {
                if (target.HostBitsCleared) WriteVerbose("'" + text.Trim() + "' has host bits set below its prefix; blocking the block it names, " + target.Text + ".");
                Block(target);
            }
        }

        private void Block(BlockTarget target)
        {
            if (!Force)
            {
                var verdict = BlockGuard.Check(target, Protected());
                if (verdict != null)
                {
                    WriteError(Refusal(target, verdict));
                    return;
                }
            }
            var direction = (BlockDirection)Enum.Parse(typeof(BlockDirection), Direction, true);
            var blocker = Blocker;
            BlockRequest request;
            try { request = new BlockRequest(target, direction, Reason, blocker.NowUtc, _duration); }
            catch (ArgumentException ex) { ThrowTerminatingError(new ErrorRecord(ex, "InvalidBlock", ErrorCategory.InvalidArgument, target.Text)); return; }
            BlockRecord existing;
            try
            {
                existing = blocker.Check(request);
                ReportSweep();
            }
            catch (BlockingException ex)
            {
                if (ex.Failure == BlockFailure.Overlaps || ex.Failure == BlockFailure.ReasonTooLong) { WriteError(Failure(ex, target.Text)); return; }
                ThrowTerminatingError(Failure(ex, target.Text));
                return;
            }
            string what = (direction == BlockDirection.Both ? "Block inbound and outbound traffic" : direction == BlockDirection.Inbound ? "Block inbound traffic" : "Block outbound traffic") +
                (request.Duration.HasValue ? " for " + request.Duration.Value + " (until " + request.ExpiresUtc.Value.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + ")" : " until it is unblocked") +
                " in " + blocker.Backend.Description +
                (existing != null ? ", replacing the present block (" + Describe(existing) + ")" : "");
            if (!ShouldProcess(target.Text, what)) return;
            BlockRecord made;
            try { made = blocker.Add(request); }
            catch (BlockingException ex)
            {
                if (ex.Failure == BlockFailure.Overlaps || ex.Failure == BlockFailure.ReasonTooLong) { WriteError(Failure(ex, target.Text)); return; }
                ThrowTerminatingError(Failure(ex, target.Text));
                return;
            }
            WriteVerbose("Blocked " + target.Text + " (" + Describe(made) + ") in " + blocker.Backend.Description + ".");
            if (PassThru) WriteObject(ToObject(made, blocker.NowUtc));
        }

        private List<ProtectedAddress> Protected()
        {
            if (_protected != null) return _protected;
            _protected = new List<ProtectedAddress>();
            var client = RemotingClient();
            if (client != null) _protected.Add(new ProtectedAddress(client, BlockRefusal.RemotingClient));
            _protected.AddRange(BlockGuard.ProtectedAddresses(new Engine.Platform.SystemNetworkRouteFacts(), out var unreadable));
            foreach (var u in unreadable) WriteWarning("Could not read " + u + "; blocks are not checked against them.");
            return _protected;
        }

        /// <summary>
        /// The client of the remote session this command runs in: over SSH remoting, the first field of SSH_CONNECTION or
        /// SSH_CLIENT (sshd sets them for the pwsh it starts); over WinRM ($PSSenderInfo is set, no SSH variables), the
        /// remote end of an established TCP connection to WinRM's port 5985 or 5986 on this machine when exactly one exists.
        /// Null when not remote or not found.
        /// </summary>
        private IPAddress RemotingClient()
        {
            var ssh = BlockGuard.SshClientAddress(Environment.GetEnvironmentVariable("SSH_CONNECTION"), Environment.GetEnvironmentVariable("SSH_CLIENT"));
            if (ssh != null) return ssh;
            if (SessionState.PSVariable.GetValue("PSSenderInfo") == null) return null;
            try
            {
                var snapshot = Session.SessionRegistry.For(this).Snapshot(new Engine.Filtering.ConnectionQuery());
                var peers = snapshot.Connections
                    .Where(c => c.Protocol == Engine.Model.TransportProtocol.Tcp && c.State == Engine.Model.TcpState.Established && (c.LocalPort == 5985 || c.LocalPort == 5986) && c.RemoteAddress != null)
                    .Select(c => c.RemoteAddress).Distinct().ToList();
                if (peers.Count == 1) return peers[0];
                WriteWarning("This is a WinRM remote session, but its client's address could not be told (" + peers.Count + " connections to ports 5985/5986); a block of that address is not refused.");
            }
            catch (Exception ex) when (!(ex is PipelineStoppedException))
            {
                WriteWarning("This is a WinRM remote session, but its client's address could not be read (" + ex.Message + "); a block of that address is not refused.");
            }
            return null;
        }

        private static ErrorRecord Refusal(BlockTarget target, GuardVerdict verdict)
        {
            string inside = target.IsSingleAddress ? target.Text + " is " : target.Text + " contains ";
            string why;
            switch (verdict.Why)
            {
                case BlockRefusal.Loopback: why = inside + "a loopback address (" + verdict.Address + "); blocking it breaks programs on this machine that talk to each other."; break;
                case BlockRefusal.DefaultGateway: why = inside + "this machine's default gateway (" + verdict.Address + "); blocking it cuts this machine off from every other network."; break;
                case BlockRefusal.LocalAddress: why = inside + "an address of this machine (" + verdict.Address + "); blocking it breaks traffic this machine sends to itself."; break;
                default: why = inside + "the address of the client of this remote session (" + verdict.Address + "); blocking it ends this session and locks that client out."; break;
            }
            return new ErrorRecord(new InvalidOperationException(why + " Use -Force to block it anyway."), "BlockRefused" + verdict.Why, ErrorCategory.PermissionDenied, target.Text);
        }
    }

    /// <summary>
    /// <para type="synopsis">Lists the blocks this module holds in the host firewall: address, direction, reason, when made, when they end and the time left.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionBlock")]
    [OutputType(typeof(ConnectionBlock))]
    public sealed class GetConnectionBlockCommand : BlockingCommandBase
    {
        /// <summary>Only blocks that contain this address, overlap this CIDR block, or whose text matches this wildcard.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [Alias("IPAddress")]
        [AllowNull, AllowEmptyString, AllowEmptyCollection]
        [ArgumentCompleter(typeof(BlockedAddressCompleter))]
        public string[] RemoteAddress { get; set; }

        private readonly List<BlockFilter> _filters = new List<BlockFilter>();
        private bool _anyFilter;

        protected override void ProcessRecord()
        {
            if (!MyInvocation.BoundParameters.ContainsKey(nameof(RemoteAddress))) return;
            _anyFilter = true; // a connection without a remote end filters too: it matches no block
            foreach (var text in Given(RemoteAddress))
            {
                if (BlockFilter.TryParse(text, out var f, out string error)) _filters.Add(f);
                else WriteError(new ErrorRecord(new ArgumentException("-RemoteAddress: " + error), "InvalidRemoteAddress", ErrorCategory.InvalidArgument, text));
            }
        }

        protected override void EndProcessing()
        {
            if (_anyFilter && _filters.Count == 0) return; // every filter was invalid: nothing matches
            IReadOnlyList<BlockRecord> blocks;
            try
            {
                blocks = Blocker.List();
                ReportSweep();
            }
            catch (BlockingException ex) { ThrowTerminatingError(Failure(ex, null)); return; }
            var now = Blocker.NowUtc;
            foreach (var b in ConnectionBlocker.Filter(blocks, _filters)) WriteObject(ToObject(b, now));
        }
    }

    /// <summary>
    /// <para type="synopsis">Removes blocks this module made in the host firewall: one address or CIDR block at a time, or all of them (-All), which also removes the module's nftables table or every rule of its Windows Firewall group.</para>
    /// </summary>
    [Cmdlet(VerbsSecurity.Unblock, "ConnectionRemote", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Address")]
    [OutputType(typeof(void))]
    public sealed class UnblockConnectionRemoteCommand : BlockingCommandBase
    {
        /// <summary>The blocked addresses or CIDR blocks to remove, exactly as blocked; from the pipeline by property name (Get-ConnectionBlock).</summary>
        [Parameter(ParameterSetName = "Address", Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("IPAddress")]
        [AllowNull, AllowEmptyString, AllowEmptyCollection]
        [ArgumentCompleter(typeof(BlockedAddressCompleter))]
        public string[] RemoteAddress { get; set; }

        /// <summary>Removes every block the module made, and its table or rule group.</summary>
        [Parameter(ParameterSetName = "All", Mandatory = true)]
        public SwitchParameter All { get; set; }

        private List<BlockRecord> _present;

        protected override void ProcessRecord()
        {
            if (All) return;
            foreach (var (_, target) in Targets(RemoteAddress)) Unblock(target);
        }

        private void Unblock(BlockTarget target)
        {
            var blocker = Blocker;
            try
            {
                if (_present == null)
                {
                    _present = new List<BlockRecord>(blocker.List());
                    ReportSweep();
                }
                var block = _present.FirstOrDefault(b => b.Target.Equals(target));
                if (block == null)
                {
                    var around = _present.Where(b => b.Target.Overlaps(target)).Select(b => b.Target.Text).ToList();
                    string message = around.Count > 0
                        ? target.Text + " is not blocked by itself; it " + (target.IsSingleAddress ? "lies in" : "overlaps") + " the block" + (around.Count > 1 ? "s " : " ") + string.Join(", ", around) +
                          ". Unblock " + (around.Count > 1 ? "those" : "that one") + " (Unblock-ConnectionRemote -RemoteAddress " + around[0] + ") to let it through."
                        : target.Text + " is not blocked by this module (Get-ConnectionBlock lists its blocks).";
                    WriteError(new ErrorRecord(new ArgumentException(message), "BlockNotFound", ErrorCategory.ObjectNotFound, target.Text));
                    return;
                }
                if (!ShouldProcess(target.Text, "Remove the block (" + Describe(block) + ") from " + blocker.Backend.Description)) return;
                if (blocker.Remove(target)) WriteVerbose("Unblocked " + target.Text + ".");
                else WriteVerbose(target.Text + " was no longer blocked (its block had just ended).");
                _present.Remove(block);
            }
            catch (BlockingException ex) { ThrowTerminatingError(Failure(ex, target.Text)); }
        }

        protected override void EndProcessing()
        {
            if (!All) return;
            var blocker = Blocker;
            try
            {
                int n = blocker.List().Count;
                ReportSweep();
                if (!ShouldProcess(blocker.Backend.Description, "Remove every block the module made (" + n + " now) and the " + (IsWindows ? "rule group" : "table") + " itself")) return;
                blocker.RemoveAll();
                WriteVerbose(n == 0 ? "There was no block to remove; " + blocker.Backend.Description + " is gone if it was there."
                    : "Removed " + n + (n == 1 ? " block" : " blocks") + " and " + blocker.Backend.Description + ".");
            }
            catch (BlockingException ex) { ThrowTerminatingError(Failure(ex, null)); }
        }
    }
}
