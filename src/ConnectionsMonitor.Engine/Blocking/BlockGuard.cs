using System;
using System.Collections.Generic;
using System.Net;

namespace ConnectionsMonitor.Engine.Blocking
{
    /// <summary>Why the guard refuses a block (the caller words it and says how to insist).</summary>
    public enum BlockRefusal
    {
        /// <summary>The target is or contains a loopback address (127.0.0.0/8, ::1).</summary>
        Loopback,
        /// <summary>The target is or contains a default gateway of this machine (its routing table).</summary>
        DefaultGateway,
        /// <summary>The target is or contains an address of this machine's own interfaces.</summary>
        LocalAddress,
        /// <summary>The target is or contains the address of the client of the current remote session.</summary>
        RemotingClient,
    }

    /// <summary>An address the guard keeps from being blocked, and why.</summary>
    public sealed class ProtectedAddress
    {
        /// <summary>An address and the reason it is protected.</summary>
        public ProtectedAddress(IPAddress address, BlockRefusal why)
        {
            Address = address ?? throw new ArgumentNullException(nameof(address));
            Why = why;
        }

        /// <summary>The protected address.</summary>
        public IPAddress Address { get; }

        /// <summary>Why it is protected.</summary>
        public BlockRefusal Why { get; }
    }

    /// <summary>The guard's verdict when it refuses: the reason and the protected address the target covers.</summary>
    public sealed class GuardVerdict
    {
        internal GuardVerdict(BlockRefusal why, IPAddress address)
        {
            Why = why;
            Address = address;
        }

        /// <summary>Why the block is refused.</summary>
        public BlockRefusal Why { get; }

        /// <summary>The protected address inside the target (for loopback: 127.0.0.1 or ::1).</summary>
        public IPAddress Address { get; }
    }

    /// <summary>
    /// Keeps a block from cutting this machine off: refuses a target that is or contains a loopback address, a
    /// default gateway, one of the machine's own addresses or the current remote session's client. Which
    /// addresses are protected comes from <see cref="ProtectedAddresses"/> (the routing table and interfaces,
    /// read through <see cref="Platform.INetworkRouteFacts"/>) plus what the caller adds.
    /// </summary>
    public static class BlockGuard
    {
        private static readonly BlockTarget Loopback4 = BlockTarget.Parse("127.0.0.0/8");
        private static readonly BlockTarget Loopback6 = BlockTarget.Parse("::1");

        /// <summary>The first reason to refuse <paramref name="target"/>, or null when nothing protected lies in it. Loopback is checked first, then the list in order.</summary>
        public static GuardVerdict Check(BlockTarget target, IEnumerable<ProtectedAddress> protectedAddresses)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (target.Overlaps(Loopback4)) return new GuardVerdict(BlockRefusal.Loopback, IPAddress.Loopback);
            if (target.Overlaps(Loopback6)) return new GuardVerdict(BlockRefusal.Loopback, IPAddress.IPv6Loopback);
            if (protectedAddresses != null)
                foreach (var p in protectedAddresses)
                    if (target.Contains(p.Address)) return new GuardVerdict(p.Why, p.Address);
            return null;
        }

        /// <summary>
        /// The machine's protected addresses: its default gateways (IPv4 and IPv6) and the unicast addresses of
        /// its interfaces, from <paramref name="facts"/>. A part that cannot be read is left out and named in
        /// <paramref name="unreadable"/> ("the routing table: ...") so the caller can warn.
        /// </summary>
        public static List<ProtectedAddress> ProtectedAddresses(Platform.INetworkRouteFacts facts, out List<string> unreadable)
        {
            unreadable = new List<string>();
            var list = new List<ProtectedAddress>();
            try
            {
                foreach (var g in facts.DefaultGateways()) list.Add(new ProtectedAddress(g, BlockRefusal.DefaultGateway));
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException || ex is System.Net.NetworkInformation.NetworkInformationException || ex is PlatformNotSupportedException)
            {
                unreadable.Add("the default gateways (" + ex.Message + ")");
            }
            try
            {
                foreach (var a in facts.LocalAddresses()) list.Add(new ProtectedAddress(a, BlockRefusal.LocalAddress));
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException || ex is System.Net.NetworkInformation.NetworkInformationException || ex is PlatformNotSupportedException)
            {
                unreadable.Add("this machine's addresses (" + ex.Message + ")");
            }
            return list;
        }

        /// <summary>
        /// The client address of an SSH session from the values of SSH_CONNECTION ("client port server port") or
        /// SSH_CLIENT ("client port serverport"), the first that holds one; null when neither does.
        /// </summary>
        public static IPAddress SshClientAddress(string sshConnection, string sshClient)
        {
            foreach (var value in new[] { sshConnection, sshClient })
            {
                if (string.IsNullOrWhiteSpace(value)) continue;
                string first = value.Trim().Split(' ')[0];
                int percent = first.IndexOf('%');
                if (percent >= 0) first = first.Substring(0, percent);
                if (first.IndexOf(':') < 0 && first.Split('.').Length != 4) continue;
                if (IPAddress.TryParse(first, out var address)) return address;
            }
            return null;
        }
    }
}
