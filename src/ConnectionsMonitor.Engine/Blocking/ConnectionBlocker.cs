using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Engine.Blocking
{
    /// <summary>
    /// The blocking operations over one <see cref="IFirewallBackend"/>: list, make (after the guard and the overlap
    /// check), remove one, remove all. Before each operation on a firewall that does not end blocks by itself
    /// (Windows Firewall), blocks whose expiry has passed are removed first, so an expired block is never listed and
    /// never outlives the next use of the module (<see cref="ExpiredRemoved"/> says how many went).
    /// </summary>
    public sealed class ConnectionBlocker
    {
        private readonly Func<DateTime> _clock;

        /// <summary>A blocker over <paramref name="backend"/>; <paramref name="clock"/> gives UTC now (default the system clock).</summary>
        public ConnectionBlocker(IFirewallBackend backend, Func<DateTime> clock = null)
        {
            Backend = backend ?? throw new ArgumentNullException(nameof(backend));
            _clock = clock ?? (() => DateTime.UtcNow);
        }

        /// <summary>The firewall of the running OS: nftables on Linux, Windows Firewall on Windows.</summary>
        /// <exception cref="BlockingException">Any other OS (<see cref="BlockFailure.NotSupported"/>).</exception>
        public static IFirewallBackend BackendForCurrentOS()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return new Platform.Linux.NftablesFirewall();
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return new Platform.Windows.WindowsFirewall();
            throw new BlockingException(BlockFailure.NotSupported, "Blocking uses nftables on Linux and Windows Firewall on Windows; " + RuntimeInformation.OSDescription + " has neither.");
        }

        /// <summary>The firewall used.</summary>
        public IFirewallBackend Backend { get; }

        /// <summary>How many expired blocks the last operation removed first (always 0 for nftables, whose kernel ends them).</summary>
        public int ExpiredRemoved { get; private set; }

        /// <summary>UTC now, by the clock given.</summary>
        public DateTime NowUtc => _clock();

        /// <summary>Every block held now (expired ones removed first where the firewall needs that).</summary>
        public IReadOnlyList<BlockRecord> List()
        {
            Sweep();
            return Backend.List(_clock());
        }

        /// <summary>
        /// The blocks that match any of <paramref name="filters"/>: an address matches the blocks that contain it, a CIDR
        /// block the blocks it overlaps, a wildcard (* ?) the blocks whose canonical text it matches. No filters: all.
        /// </summary>
        public static List<BlockRecord> Filter(IEnumerable<BlockRecord> blocks, IReadOnlyList<BlockFilter> filters)
        {
            var list = new List<BlockRecord>();
            foreach (var b in blocks)
            {
                bool match = filters == null || filters.Count == 0;
                if (!match)
                    foreach (var f in filters)
                        if (f.IsMatch(b.Target)) { match = true; break; }
                if (match) list.Add(b);
            }
            return list;
        }

        /// <summary>
        /// What making <paramref name="request"/> would do, without doing it: the block it replaces (same target), or
        /// null when it is new. Throws what <see cref="Add"/> would throw for an overlap or an unfit reason.
        /// </summary>
        /// <exception cref="BlockingException"><see cref="BlockFailure.Overlaps"/> or <see cref="BlockFailure.ReasonTooLong"/>, or the firewall cannot be read.</exception>
        public BlockRecord Check(BlockRequest request)
        {
            CheckReason(request.Reason);
            BlockRecord same = null;
            foreach (var b in List())
            {
                if (b.Target.Equals(request.Target)) { same = b; continue; }
                if (b.Target.Overlaps(request.Target))
                    throw new BlockingException(BlockFailure.Overlaps,
                        request.Target.Text + " overlaps the existing block " + b.Target.Text + (b.Target.PrefixLength < request.Target.PrefixLength ? ", which already contains it" : ", which lies inside it") +
                        "; a firewall set cannot hold both.") { Existing = b.Target };
            }
            return same;
        }

        /// <summary>Makes the block (replacing one of the same target). The guard is the caller's: it decides what may be forced.</summary>
        /// <exception cref="BlockingException">See <see cref="Check"/>; or the firewall refused.</exception>
        public BlockRecord Add(BlockRequest request)
        {
            Check(request);
            Backend.Add(request);
            return new BlockRecord(request.Target, request.Direction, request.Reason, request.CreatedUtc, request.ExpiresUtc, Backend.Description);
        }

        /// <summary>Removes the block of exactly <paramref name="target"/>; false when there is none.</summary>
        public bool Remove(BlockTarget target)
        {
            Sweep();
            return Backend.Remove(target);
        }

        /// <summary>The existing blocks that contain <paramref name="target"/> without being it (for "not blocked by itself" messages).</summary>
        public List<BlockRecord> Containing(BlockTarget target)
        {
            var list = new List<BlockRecord>();
            foreach (var b in Backend.List(_clock()))
                if (!b.Target.Equals(target) && b.Target.Overlaps(target)) list.Add(b);
            return list;
        }

        /// <summary>Removes everything the module made; returns how many blocks there were.</summary>
        public int RemoveAll()
        {
            ExpiredRemoved = 0;
            return Backend.RemoveAll(_clock());
        }

        /// <summary>Removes expired blocks where the firewall does not; returns how many (also in <see cref="ExpiredRemoved"/>).</summary>
        public int Sweep()
        {
            ExpiredRemoved = Backend.ExpiresByItself ? 0 : Backend.RemoveExpired(_clock());
            return ExpiredRemoved;
        }

        private void CheckReason(string reason)
        {
            if (reason == null) return;
            // The backend checks again when it writes; this early check gives the same failure before anything is read or changed.
            if (ReasonText.Encode(reason).Length > Backend.ReasonRoom)
                throw new BlockingException(BlockFailure.ReasonTooLong,
                    "The reason takes " + ReasonText.Encode(reason).Length + " characters in " + Backend.Description + ", which has room for " + Backend.ReasonRoom +
                    " (letters, digits, spaces and ASCII punctuation take one each; % \" \\ | and other characters take 3 for each byte of their UTF-8 form).");
        }
    }

    /// <summary>A Get-style filter over blocks: an address, a CIDR block or a wildcard over the canonical text.</summary>
    public sealed class BlockFilter
    {
        private readonly BlockTarget _target;
        private readonly Wildcard _wildcard;

        private BlockFilter(string text, BlockTarget target, Wildcard wildcard)
        {
            Text = text;
            _target = target;
            _wildcard = wildcard;
        }

        /// <summary>The filter as written.</summary>
        public string Text { get; }

        /// <summary>The accepted forms, for messages.</summary>
        public const string ExpectedForms = "an IP address (203.0.113.7), a CIDR block (198.51.100.0/24) or a wildcard (203.0.113.*)";

        /// <summary>Parses a filter; false with a message saying what is wrong and what is expected.</summary>
        public static bool TryParse(string text, out BlockFilter filter, out string error)
        {
            filter = null;
            error = null;
            string t = (text ?? "").Trim();
            if (Wildcard.ContainsWildcard(t))
            {
                foreach (char c in t)
                    if (!(char.IsLetterOrDigit(c) || c == '.' || c == ':' || c == '/' || c == '*' || c == '?' || c == '[' || c == ']' || c == '-'))
                    {
                        error = "'" + t + "' is not a valid address wildcard: '" + c + "' cannot appear in an address. Expected " + ExpectedForms + ".";
                        return false;
                    }
                try { filter = new BlockFilter(t, null, new Wildcard(t)); return true; }
                catch (ArgumentException ex) { error = ex.Message; return false; }
            }
            if (!BlockTarget.TryParse(t, out var target, out error))
            {
                error = error.Replace(BlockTarget.ExpectedForms, ExpectedForms);
                return false;
            }
            filter = new BlockFilter(t, target, null);
            return true;
        }

        /// <summary>Whether the block of <paramref name="target"/> matches.</summary>
        public bool IsMatch(BlockTarget target) => _wildcard != null ? _wildcard.IsMatch(target.Text) : _target.Overlaps(target);
    }
}
