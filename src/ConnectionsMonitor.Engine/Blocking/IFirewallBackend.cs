using System;
using System.Collections.Generic;

namespace ConnectionsMonitor.Engine.Blocking
{
    /// <summary>
    /// A host firewall that holds the module's blocks in a place of its own (Linux: the nftables table
    /// inet connectionsmonitor; Windows: the Windows Firewall rule group ConnectionsMonitor), so that they can be
    /// listed and all removed without touching anything else. Every method throws <see cref="BlockingException"/>
    /// with a <see cref="BlockFailure"/> reason when the firewall cannot be used.
    /// </summary>
    public interface IFirewallBackend
    {
        /// <summary>Where the blocks live, for messages: "nftables table inet connectionsmonitor".</summary>
        string Description { get; }

        /// <summary>
        /// Whether the firewall itself ends blocks when they expire (nftables element time-outs: true), or the
        /// module has to remove expired blocks (Windows Firewall rules never expire: false).
        /// </summary>
        bool ExpiresByItself { get; }

        /// <summary>The longest reason, as <see cref="ReasonText.Encode"/> writes it (printable ASCII one character each, others 3 per UTF-8 byte), that the firewall can keep.</summary>
        int ReasonRoom { get; }

        /// <summary>Every block the module holds now, one record per target (inbound and outbound entries of one target made together are one record with direction Both). Nothing present: empty.</summary>
        IReadOnlyList<BlockRecord> List(DateTime nowUtc);

        /// <summary>
        /// Makes the block, replacing an existing block of the same target in one step (its direction, reason
        /// and expiry are then the new ones). Does not check overlaps or the guard: the caller does.
        /// </summary>
        void Add(BlockRequest request);

        /// <summary>Removes the block of exactly this target in every direction; false when there was none.</summary>
        bool Remove(BlockTarget target);

        /// <summary>Removes everything the module made (the whole table or rule group); returns how many blocks were there.</summary>
        int RemoveAll(DateTime nowUtc);

        /// <summary>Removes blocks whose expiry has passed, for firewalls that do not do it themselves; returns how many. nftables: 0.</summary>
        int RemoveExpired(DateTime nowUtc);
    }
}
