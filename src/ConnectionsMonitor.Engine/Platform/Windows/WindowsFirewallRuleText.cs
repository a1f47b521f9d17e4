using System;
using System.Globalization;
using ConnectionsMonitor.Engine.Blocking;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// The names and descriptions of the module's Windows Firewall rules, and the expiry decision. Pure text, tested
    /// on any OS. A block is one rule per direction, in the rule group <see cref="Group"/>, named
    /// "ConnectionsMonitor block TARGET inbound" / "... outbound" (TARGET canonical: 203.0.113.7, 2001:db8::/32). The
    /// description is the record Windows Firewall itself cannot keep (rules never expire):
    /// "ConnectionsMonitor block v1; target=TARGET; created=yyyy-MM-ddTHH:mm:ssZ; expires=yyyy-MM-ddTHH:mm:ssZ|never; reason=REASON"
    /// with REASON in the form of <see cref="ReasonText"/>; the reason part is last and read to the end of the text (a
    /// "; " inside it is harmless), and left out when there is none. Times are UTC, whole seconds.
    /// </summary>
    public static class WindowsFirewallRuleText
    {
        /// <summary>The rule group (INetFwRule.Grouping) of every rule the module makes.</summary>
        public const string Group = "ConnectionsMonitor";

        /// <summary>The start of every description the module writes.</summary>
        public const string Marker = "ConnectionsMonitor block v1";

        /// <summary>The most characters of printable ASCII a reason may have here (the module's own limit; the description stays well inside what Windows Firewall keeps).</summary>
        public const int ReasonRoom = 512;

        private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'";

        /// <summary>The rule name of <paramref name="target"/> in one direction (Inbound or Outbound).</summary>
        public static string RuleName(BlockTarget target, BlockDirection oneDirection) =>
            "ConnectionsMonitor block " + target.Text + (oneDirection == BlockDirection.Inbound ? " inbound" : oneDirection == BlockDirection.Outbound ? " outbound" : throw new ArgumentException("one direction expected", nameof(oneDirection)));

        /// <summary>The description of the rules of <paramref name="request"/>.</summary>
        /// <exception cref="BlockingException">The encoded reason is longer than <see cref="ReasonRoom"/> (<see cref="BlockFailure.ReasonTooLong"/>).</exception>
        public static string Description(BlockRequest request)
        {
            string text = Marker + "; target=" + request.Target.Text + "; created=" + request.CreatedUtc.ToString(TimeFormat, CultureInfo.InvariantCulture) +
                "; expires=" + (request.ExpiresUtc.HasValue ? request.ExpiresUtc.Value.ToString(TimeFormat, CultureInfo.InvariantCulture) : "never");
            if (request.Reason != null)
            {
                string encoded = ReasonText.Encode(request.Reason);
                if (encoded.Length > ReasonRoom)
                    throw new BlockingException(BlockFailure.ReasonTooLong,
                        "The reason takes " + encoded.Length + " characters in the firewall rule's description, which has room for " + ReasonRoom +
                        " (letters, digits, spaces and ASCII punctuation take one each; % \" \\ | and other characters take 3 for each byte of their UTF-8 form).");
                text += "; reason=" + encoded;
            }
            return text;
        }

        /// <summary>
        /// Reads a description the module wrote; false when it is not one (another program's rule, or one edited by
        /// hand so that its target, times or reason no longer read).
        /// </summary>
        public static bool TryParse(string description, out BlockTarget target, out DateTime createdUtc, out DateTime? expiresUtc, out string reason)
        {
            target = null;
            createdUtc = default;
            expiresUtc = null;
            reason = null;
            if (description == null || !description.StartsWith(Marker + "; ", StringComparison.Ordinal)) return false;
            string rest = description.Substring(Marker.Length + 2);
            string reasonPart = null;
            int r = rest.IndexOf("; reason=", StringComparison.Ordinal);
            if (r >= 0)
            {
                reasonPart = rest.Substring(r + "; reason=".Length);
                rest = rest.Substring(0, r);
            }
            string targetText = null, created = null, expires = null;
            foreach (var part in rest.Split(new[] { "; " }, StringSplitOptions.None))
            {
                int eq = part.IndexOf('=');
                if (eq <= 0) return false;
                string key = part.Substring(0, eq), value = part.Substring(eq + 1);
                if (key == "target") targetText = value;
                else if (key == "created") created = value;
                else if (key == "expires") expires = value;
            }
            if (targetText == null || created == null || expires == null) return false;
            if (!BlockTarget.TryParse(targetText, out target, out _) || target.Text != targetText) { target = null; return false; }
            if (!DateTime.TryParseExact(created, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out createdUtc)) { target = null; return false; }
            if (expires != "never")
            {
                if (!DateTime.TryParseExact(expires, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var e)) { target = null; return false; }
                expiresUtc = e;
            }
            if (reasonPart != null)
            {
                reason = ReasonText.Decode(reasonPart);
                if (reason == null) { target = null; return false; }
                if (reason.Length == 0) reason = null;
            }
            return true;
        }

        /// <summary>Whether a block that ends at <paramref name="expiresUtc"/> has ended at <paramref name="nowUtc"/>: at or after its end; never for null.</summary>
        public static bool HasExpired(DateTime? expiresUtc, DateTime nowUtc) => expiresUtc.HasValue && nowUtc >= expiresUtc.Value;
    }
}
