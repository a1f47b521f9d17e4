using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using ConnectionsMonitor.Engine.Blocking;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// Builds the nft scripts (text for <c>nft -f -</c>) of the module's own table. Pure text: no process is run here.
    /// <para>The table, <c>inet connectionsmonitor</c>, holds four sets of blocked addresses, each
    /// <c>flags interval,timeout</c> so one set holds single addresses and CIDR blocks, each element with its own
    /// time-out (the kernel deletes an element when it runs out; no time-out: it stays): <c>inbound4</c>,
    /// <c>inbound6</c> (connections these addresses open), <c>outbound4</c>, <c>outbound6</c> (connections to them).
    /// The rules are stateful, like Windows Firewall's: they match packets in the original direction of a
    /// connection (<c>ct direction original</c>), so an inbound block stops what the address starts, new or already
    /// open, and leaves the answers to connections this machine opened to it alone, and the other way round. Three
    /// base chains, hooked at priority filter - 10 with policy accept, reject matching packets: <c>input</c> (from an
    /// inbound address), <c>output</c> (to an outbound address) and <c>forward</c> (both tests, for traffic this machine
    /// routes: containers, VMs, a router). TCP is answered with a reset, everything else with ICMP
    /// administratively-prohibited, so a blocked connection fails at once instead of hanging. Traffic on the
    /// loopback interface is never blocked (input and output first accept iif/oif lo): it is this machine's own, and
    /// the reset made for a local program's blocked connection reaches the program through it. Packets not in a
    /// set are left to the rest of the ruleset (accept in one base chain does not accept for others).</para>
    /// <para>Each element carries a comment, at most 128 bytes (the kernel's limit): "cm1 CREATED REASON" with
    /// CREATED the Unix time in seconds and REASON in the form of <see cref="ReasonText"/> (percent-encoded), so nothing
    /// in a reason can end the quoted string or start a new nft statement, and the reason reads back exactly.</para>
    /// </summary>
    public static class NftablesScript
    {
        /// <summary>The table's family and name.</summary>
        public const string Family = "inet", Table = "connectionsmonitor";

        /// <summary>The most bytes an element comment may have (NFTNL_UDATA_COMMENT_MAXLEN).</summary>
        public const int CommentLimit = 128;

        /// <summary>The comment's marker and version.</summary>
        public const string CommentTag = "cm1";

        /// <summary>The characters of printable ASCII a reason can have before other text is needed: 128 - "cm1 " - 10 digits - " ".</summary>
        public const int ReasonRoom = CommentLimit - 4 - 10 - 1;

        /// <summary>The set that holds targets of this family for this direction (one of the two flags).</summary>
        public static string SetName(BlockDirection oneDirection, bool ipv6) =>
            (oneDirection == BlockDirection.Inbound ? "inbound" : oneDirection == BlockDirection.Outbound ? "outbound" : throw new ArgumentException("one direction expected", nameof(oneDirection))) + (ipv6 ? "6" : "4");

        /// <summary>
        /// The table with its sets and chains, the chains' rules rewritten: run before every change so a table
        /// made by an older version, or with a rule deleted by hand, is put right. Existing set elements are kept.
        /// </summary>
        public static string Setup()
        {
            var sb = new StringBuilder();
            string t = Family + " " + Table;
            sb.Append("add table ").Append(t).Append(" { comment \"blocks made by the ConnectionsMonitor PowerShell module\"; }\n");
            foreach (var dir in new[] { BlockDirection.Inbound, BlockDirection.Outbound })
                foreach (bool v6 in new[] { false, true })
                    sb.Append("add set ").Append(t).Append(' ').Append(SetName(dir, v6)).Append(" { type ").Append(v6 ? "ipv6_addr" : "ipv4_addr").Append("; flags interval,timeout; }\n");
            foreach (var hook in new[] { "input", "forward", "output" })
                sb.Append("add chain ").Append(t).Append(' ').Append(hook).Append(" { type filter hook ").Append(hook).Append(" priority filter - 10; policy accept; }\n");
            foreach (var hook in new[] { "input", "forward", "output" })
                sb.Append("flush chain ").Append(t).Append(' ').Append(hook).Append('\n');
            // Traffic on the loopback interface is this machine's own; the resets the reject rules make for a local
            // program also arrive through it, and must reach that program for the connection to fail at once.
            sb.Append("add rule ").Append(t).Append(" input iif \"lo\" accept\n");
            sb.Append("add rule ").Append(t).Append(" output oif \"lo\" accept\n");
            foreach (var (hook, dir) in new[] { ("input", BlockDirection.Inbound), ("forward", BlockDirection.Inbound), ("forward", BlockDirection.Outbound), ("output", BlockDirection.Outbound) })
                foreach (bool v6 in new[] { false, true })
                {
                    string match = (v6 ? "ip6 " : "ip ") + (dir == BlockDirection.Inbound ? "saddr" : "daddr") + " @" + SetName(dir, v6) + " ct direction original";
                    sb.Append("add rule ").Append(t).Append(' ').Append(hook).Append(' ').Append(match).Append(" meta l4proto tcp reject with tcp reset\n");
                    sb.Append("add rule ").Append(t).Append(' ').Append(hook).Append(' ').Append(match).Append(" reject with icmpx admin-prohibited\n");
                }
            return sb.ToString();
        }

        /// <summary>
        /// The script that makes <paramref name="request"/>: <see cref="Setup"/>, then the deletion of the target's
        /// present elements (<paramref name="presentIn"/>: the directions it is in now, none when new), then its new elements.
        /// </summary>
        /// <exception cref="BlockingException">The reason does not fit the comment (<see cref="BlockFailure.ReasonTooLong"/>).</exception>
        public static string Add(BlockRequest request, BlockDirection? presentIn)
        {
            string comment = Comment(request.CreatedUtc, request.Reason);
            var sb = new StringBuilder(Setup());
            if (presentIn.HasValue) AppendDeletes(sb, request.Target, presentIn.Value);
            foreach (var dir in new[] { BlockDirection.Inbound, BlockDirection.Outbound })
            {
                if ((request.Direction & dir) == 0) continue;
                sb.Append("add element ").Append(Family).Append(' ').Append(Table).Append(' ').Append(SetName(dir, request.Target.IsIPv6))
                  .Append(" { ").Append(request.Target.Text);
                if (request.Duration.HasValue)
                    sb.Append(" timeout ").Append(((long)request.Duration.Value.TotalSeconds).ToString(CultureInfo.InvariantCulture)).Append('s');
                sb.Append(" comment \"").Append(comment).Append("\" }\n");
            }
            return sb.ToString();
        }

        /// <summary>The script that deletes the target's elements from the sets of <paramref name="presentIn"/>.</summary>
        public static string Remove(BlockTarget target, BlockDirection presentIn)
        {
            var sb = new StringBuilder();
            AppendDeletes(sb, target, presentIn);
            return sb.ToString();
        }

        /// <summary>The script that deletes the whole table, whether it exists or not (it is added first: both in one transaction).</summary>
        public static string RemoveAll() => "add table " + Family + " " + Table + "\ndelete table " + Family + " " + Table + "\n";

        private static void AppendDeletes(StringBuilder sb, BlockTarget target, BlockDirection presentIn)
        {
            foreach (var dir in new[] { BlockDirection.Inbound, BlockDirection.Outbound })
                if ((presentIn & dir) != 0)
                    sb.Append("delete element ").Append(Family).Append(' ').Append(Table).Append(' ').Append(SetName(dir, target.IsIPv6))
                      .Append(" { ").Append(target.Text).Append(" }\n");
        }

        /// <summary>The element comment for a block made at <paramref name="createdUtc"/> for <paramref name="reason"/> (null: none).</summary>
        /// <exception cref="BlockingException">It would be longer than <see cref="CommentLimit"/> bytes (<see cref="BlockFailure.ReasonTooLong"/>).</exception>
        public static string Comment(DateTime createdUtc, string reason)
        {
            long created = (long)(createdUtc.ToUniversalTime() - UnixEpoch).TotalSeconds;
            string text = CommentTag + " " + created.ToString(CultureInfo.InvariantCulture);
            if (!string.IsNullOrEmpty(reason)) text += " " + ReasonText.Encode(reason);
            if (text.Length > CommentLimit)
                throw new BlockingException(BlockFailure.ReasonTooLong,
                    "The reason takes " + (text.Length - (CommentLimit - ReasonRoom)) + " characters in the firewall's element comment, which has room for " + ReasonRoom +
                    " (letters, digits, spaces and ASCII punctuation take one each; % \" \\ | and other characters take 3 for each byte of their UTF-8 form).");
            return text;
        }

        /// <summary>Reads a comment this module wrote: created time and reason (null when empty); false when it is not one of ours.</summary>
        public static bool TryReadComment(string comment, out DateTime createdUtc, out string reason)
        {
            createdUtc = default;
            reason = null;
            if (comment == null || !comment.StartsWith(CommentTag + " ", StringComparison.Ordinal)) return false;
            string rest = comment.Substring(CommentTag.Length + 1);
            int space = rest.IndexOf(' ');
            string number = space < 0 ? rest : rest.Substring(0, space);
            if (number.Length == 0 || number.Length > 12 || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)) return false;
            if (space >= 0)
            {
                reason = ReasonText.Decode(rest.Substring(space + 1));
                if (reason == null) return false;
                if (reason.Length == 0) reason = null;
            }
            createdUtc = UnixEpoch.AddSeconds(seconds);
            return true;
        }

        private static readonly DateTime UnixEpoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    }
}
