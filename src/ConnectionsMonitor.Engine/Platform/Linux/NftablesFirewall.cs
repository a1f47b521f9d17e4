using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Blocking;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// The module's blocks in nftables: the table <c>inet connectionsmonitor</c> (its layout: <see cref="NftablesScript"/>),
    /// changed by <c>nft -f -</c> (each change one atomic transaction) and read by <c>nft -j list table inet connectionsmonitor</c>,
    /// both through an <see cref="ICommandRunner"/>. The kernel ends blocks whose time-out runs out. Needs root or
    /// CAP_NET_ADMIN in the network namespace, and the nft program (Debian package nftables).
    /// </summary>
    public sealed class NftablesFirewall : IFirewallBackend
    {
        private readonly ICommandRunner _runner;

        /// <summary>A backend that runs nft through <paramref name="runner"/> (default: directly).</summary>
        public NftablesFirewall(ICommandRunner runner = null)
        {
            _runner = runner ?? new ProcessCommandRunner();
        }

        /// <summary>
        /// The program run: "nft" when it is on PATH, else /usr/sbin/nft or /sbin/nft, where nftables installs it (cron's PATH is
        /// /usr/bin:/bin, so a scheduled block found no nft and advised installing it), else "nft" (whose start then fails as
        /// missing).
        /// </summary>
        public string Program { get; set; } = FindProgram(Environment.GetEnvironmentVariable("PATH"), System.IO.File.Exists);

        /// <summary>"nft" when a directory of <paramref name="path"/> (colon-separated) holds it, else the first of /usr/sbin/nft and /sbin/nft that exists, else "nft".</summary>
        internal static string FindProgram(string path, Func<string, bool> exists)
        {
            if (ProgramSearch.OnPath("nft", path, ':', exists) != null) return "nft";
            foreach (var candidate in new[] { "/usr/sbin/nft", "/sbin/nft" })
                if (exists(candidate)) return candidate;
            return "nft";
        }

        /// <inheritdoc/>
        public string Description => NftablesListing.FirewallName;

        /// <inheritdoc/>
        public bool ExpiresByItself => true;

        /// <inheritdoc/>
        public int ReasonRoom => NftablesScript.ReasonRoom;

        /// <inheritdoc/>
        public IReadOnlyList<BlockRecord> List(DateTime nowUtc)
        {
            var result = Run(new[] { "-j", "list", "table", NftablesScript.Family, NftablesScript.Table }, null, "list the table " + NftablesScript.Family + " " + NftablesScript.Table, allowMissingTable: true);
            if (result == null) return new BlockRecord[0];
            return NftablesListing.Parse(result.Output, nowUtc);
        }

        /// <inheritdoc/>
        public void Add(BlockRequest request)
        {
            // A present block is deleted in the same transaction; if the kernel ends it (time-out) between the listing
            // and the change, the deletion fails and nothing changed: read again and retry once.
            for (int attempt = 0; ; attempt++)
            {
                var present = PresentIn(request.Target);
                try
                {
                    Run(new[] { "-f", "-" }, NftablesScript.Add(request, present), "add the block of " + request.Target.Text, allowMissingTable: false);
                    return;
                }
                catch (BlockingException ex) when (ex.Failure == BlockFailure.FirewallFailed && present.HasValue && attempt == 0) { }
            }
        }

        /// <inheritdoc/>
        public bool Remove(BlockTarget target)
        {
            for (int attempt = 0; ; attempt++)
            {
                var present = PresentIn(target);
                if (!present.HasValue) return false;
                try
                {
                    Run(new[] { "-f", "-" }, NftablesScript.Remove(target, present.Value), "remove the block of " + target.Text, allowMissingTable: false);
                    return true;
                }
                catch (BlockingException ex) when (ex.Failure == BlockFailure.FirewallFailed && attempt == 0) { } // it may have just run out: read again
            }
        }

        private BlockDirection? PresentIn(BlockTarget target)
        {
            foreach (var r in List(DateTime.UtcNow))
                if (r.Target.Equals(target)) return r.Direction;
            return null;
        }

        /// <inheritdoc/>
        public int RemoveAll(DateTime nowUtc)
        {
            int n = List(nowUtc).Count;
            Run(new[] { "-f", "-" }, NftablesScript.RemoveAll(), "delete the table " + NftablesScript.Family + " " + NftablesScript.Table, allowMissingTable: false);
            return n;
        }

        /// <inheritdoc/>
        public int RemoveExpired(DateTime nowUtc) => 0;

        /// <summary>Whether the table exists now (for tests and diagnostics).</summary>
        public bool TableExists() => Run(new[] { "list", "table", NftablesScript.Family, NftablesScript.Table }, null, "list the table", allowMissingTable: true) != null;

        /// <summary>nft's error text on one line: its lines joined with "; ", without the lines of carets under the script.</summary>
        internal static string Said(string error)
        {
            var lines = new List<string>();
            foreach (var raw in (error ?? "").Replace("\r", "").Split('\n'))
            {
                string line = raw.Trim();
                if (line.Length == 0 || line.Trim('^', '~', ' ').Length == 0) continue;
                lines.Add(line);
            }
            return Display.UntrustedText.Clean(string.Join("; ", lines));
        }

        private CommandResult Run(string[] args, string input, string what, bool allowMissingTable)
        {
            CommandResult result;
            try { result = _runner.Run(Program, args, input); }
            catch (System.ComponentModel.Win32Exception ex)
            {
                throw new BlockingException(BlockFailure.ToolMissing, "The nft program (nftables) could not be started to " + what + ": " + ex.Message, ex);
            }
            if (result.ExitCode == 0) return result;
            string said = Said(result.Error);
            if (result.Error.IndexOf("Operation not permitted", StringComparison.Ordinal) >= 0)
                throw new BlockingException(BlockFailure.NotPermitted, "nft was not permitted to " + what + " (it needs root or the CAP_NET_ADMIN capability): " + said);
            // 127: a shell's "not found"; 'exec of "nft" failed': a wrapper such as ip netns exec could not start it.
            if (result.ExitCode == 127 || result.Error.StartsWith("exec of \"", StringComparison.Ordinal))
                throw new BlockingException(BlockFailure.ToolMissing, "The nft program (nftables) could not be run to " + what + ": " + said);
            // nft's words when the table is not there ("Error: No such file or directory" over the command): no blocks.
            if (allowMissingTable && result.Error.IndexOf("Error: No such file or directory", StringComparison.Ordinal) >= 0) return null;
            if (result.Error.IndexOf("interval overlaps", StringComparison.Ordinal) >= 0)
                throw new BlockingException(BlockFailure.Overlaps, "nft could not " + what + ": it overlaps a block already in the table. " + said);
            throw new BlockingException(BlockFailure.FirewallFailed, "nft could not " + what + " (exit status " + result.ExitCode + "): " + (said.Length > 0 ? said : "it said nothing."));
        }
    }
}
