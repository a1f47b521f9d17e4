using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Enrichment.Vpn;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Baseline
{
    /// <summary>What kind of stable fact a baseline entry records.</summary>
    public enum BaselineEntryKind
    {
        /// <summary>A listening TCP socket, or a UDP socket with no peer on a port below the ephemeral range.</summary>
        Listener,
        /// <summary>A process that talks out: to a remote service port in an ASN / country / address scope.</summary>
        Outbound,
        /// <summary>A process whose connections the VPN detector marked, with the detector's reason.</summary>
        Vpn,
    }

    /// <summary>
    /// One stable fact about a machine's connections. Which fields identify it depends on <see cref="Kind"/>:
    /// <list type="bullet">
    /// <item>Listener: Protocol, LocalAddress, LocalPort, ProcessName, ProcessPath.</item>
    /// <item>Outbound: Protocol, ProcessName, ProcessPath, RemotePort (the service port), AddressScope, Asn, Country.
    /// Never the local (ephemeral) port, never the remote address: the ASN and country stand for it.</item>
    /// <item>Vpn: ProcessName, ProcessPath, VpnReason.</item>
    /// </list>
    /// Process names and paths compare without regard to case (Windows file systems do); everything else exactly.
    /// AsnOrganization is carried for people who read the file and the differences; it identifies nothing.
    /// </summary>
    public sealed class BaselineEntry
    {
        /// <summary>Listener, Outbound or Vpn.</summary>
        public BaselineEntryKind Kind { get; set; }
        /// <summary>"TCP" or "UDP"; null for Vpn entries.</summary>
        public string Protocol { get; set; }
        /// <summary>Listener: the local address it listens on (as the connection table gives it); else null.</summary>
        public string LocalAddress { get; set; }
        /// <summary>Listener: the port it listens on; else null.</summary>
        public int? LocalPort { get; set; }
        /// <summary>The owning process's name (from the OS's process table), or null when unknown.</summary>
        public string ProcessName { get; set; }
        /// <summary>The owning process's executable path, or null when unknown.</summary>
        public string ProcessPath { get; set; }
        /// <summary>Outbound: the remote service port; else null.</summary>
        public int? RemotePort { get; set; }
        /// <summary>Outbound: the remote address's scope (Public, Private, Loopback …); else null.</summary>
        public string AddressScope { get; set; }
        /// <summary>Outbound: the remote autonomous system number (GeoIP ASN database), or null when unknown.</summary>
        public long? Asn { get; set; }
        /// <summary>Outbound: the ASN's organization, for readers; not part of the identity.</summary>
        public string AsnOrganization { get; set; }
        /// <summary>Outbound: the remote ISO 3166-1 alpha-2 country (GeoIP country database), or null when unknown.</summary>
        public string Country { get; set; }
        /// <summary>Vpn: the VPN detector's reason; else null.</summary>
        public string VpnReason { get; set; }

        /// <summary>The identity of the entry (see the class): equal keys are the same entry.</summary>
        public string Key
        {
            get
            {
                switch (Kind)
                {
                    case BaselineEntryKind.Listener:
                        return Join("L", Protocol, LocalAddress, Num(LocalPort), Fold(ProcessName), Fold(ProcessPath));
                    case BaselineEntryKind.Outbound:
                        return Join("O", Protocol, Fold(ProcessName), Fold(ProcessPath), Num(RemotePort), AddressScope, Num(Asn), Country);
                    default:
                        return Join("V", Fold(ProcessName), Fold(ProcessPath), VpnReason);
                }
            }
        }

        private static string Fold(string s) => s?.ToUpperInvariant();
        private static string Num(long? n) => n?.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // Null and "" differ: a field is written with a marker for null, and fields are separated by a character
        // that neither a process name nor a path can hold (U+0000).
        private static string Join(params string[] parts) =>
            string.Join("\0", parts.Select(p => p == null ? "\u0001" : "\u0002" + p));
    }

    /// <summary>
    /// What is stable about a machine's connections at one moment: its listeners, the processes that talk out and
    /// where to, and VPN use. Built from a snapshot by <see cref="FromRecords"/>, written and read by
    /// <see cref="BaselineFile"/>, compared by <see cref="BaselineComparer"/>.
    /// </summary>
    public sealed class ConnectionBaseline
    {
        /// <summary>The file format's version this engine writes and the newest it reads.</summary>
        public const int CurrentFormatVersion = 1;

        /// <summary>The format's name, written as "format" so another JSON file is told apart.</summary>
        public const string FormatName = "ConnectionsMonitor.Baseline";

        public int FormatVersion { get; set; } = CurrentFormatVersion;
        public DateTime CreatedUtc { get; set; }
        public string HostName { get; set; }
        public List<BaselineEntry> Entries { get; set; } = new List<BaselineEntry>();

        public IEnumerable<BaselineEntry> OfKind(BaselineEntryKind kind) => Entries.Where(e => e.Kind == kind);

        /// <summary>
        /// The baseline of <paramref name="records"/>: one entry per distinct identity (see <see cref="BaselineEntry"/>),
        /// in a stable order (kind, then the identifying fields), so two exports of the same machine are the same text.
        /// Rows are classified as:
        /// a listener (TCP in Listen; UDP with no peer and a local port below <see cref="VpnDetector.EphemeralPortFloor"/>);
        /// inbound (a TCP/UDP row with a peer whose local port a listener of the same protocol holds): left out, the
        /// listener stands for it; outbound (any other row with a peer and a remote port, except TIME_WAIT: the remnant of
        /// a closed connection, owned by no process, comes and goes; other rows whose process the OS does not report
        /// count with an unknown process); and, independently, a Vpn entry
        /// for every row the VPN detector marked.
        /// </summary>
        public static ConnectionBaseline FromRecords(IEnumerable<ConnectionRecord> records, DateTime createdUtc, string hostName) =>
            FromRecords(records, createdUtc, hostName, out _);

        /// <summary>As <see cref="FromRecords(IEnumerable{ConnectionRecord}, DateTime, string)"/>; <paramref name="processIds"/> maps each entry's key to the lowest process id of the rows behind it (entries of rows without a process id are absent).</summary>
        public static ConnectionBaseline FromRecords(IEnumerable<ConnectionRecord> records, DateTime createdUtc, string hostName, out Dictionary<string, int> processIds)
        {
            if (records == null) throw new ArgumentNullException(nameof(records));
            var list = records.Where(r => r != null).ToList();
            var listening = new HashSet<(TransportProtocol, int)>();
            foreach (var r in list)
                if (IsPeerless(r) || (r.Protocol == TransportProtocol.Tcp && r.State == TcpState.Listen))
                    listening.Add((r.Protocol, r.LocalPort));

            var entries = new Dictionary<string, BaselineEntry>(StringComparer.Ordinal);
            var pids = new Dictionary<string, int>(StringComparer.Ordinal);
            ConnectionRecord row = null;
            void Add(BaselineEntry e)
            {
                string key = e.Key;
                if (!entries.ContainsKey(key)) entries.Add(key, e);
                if (row.ProcessId is int pid && (!pids.TryGetValue(key, out var known) || pid < known)) pids[key] = pid;
            }

            foreach (var r in list)
            {
                row = r;
                string protocol = r.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP";
                if (r.IsVpn == true)
                    Add(new BaselineEntry { Kind = BaselineEntryKind.Vpn, ProcessName = r.ProcessName, ProcessPath = r.ProcessPath, VpnReason = r.VpnReason });

                if (IsListener(r))
                {
                    Add(new BaselineEntry
                    {
                        Kind = BaselineEntryKind.Listener, Protocol = protocol, LocalAddress = AddressPattern.FormatAddress(r.LocalAddress),
                        LocalPort = r.LocalPort, ProcessName = r.ProcessName, ProcessPath = r.ProcessPath,
                    });
                    continue;
                }
                if (IsPeerless(r)) continue; // a UDP client socket on an ephemeral port: churn
                if (r.Protocol == TransportProtocol.Tcp && r.State == TcpState.Listen) continue;
                if (listening.Contains((r.Protocol, r.LocalPort))) continue; // inbound: the listener stands for it
                // No peer known (a TCP socket bound but neither listening nor connected has 0.0.0.0:0): nothing to say where it talks.
                if (!HasPeer(r)) continue;
                if (r.State == TcpState.TimeWait) continue; // a closed connection's remnant, owned by no process: churn
                Add(new BaselineEntry
                {
                    Kind = BaselineEntryKind.Outbound, Protocol = protocol, ProcessName = r.ProcessName, ProcessPath = r.ProcessPath,
                    RemotePort = r.RemotePort, AddressScope = r.AddressScope, Asn = r.Asn, AsnOrganization = r.AsnOrganization, Country = r.Country,
                });
            }

            processIds = pids;
            return new ConnectionBaseline
            {
                CreatedUtc = DateTime.SpecifyKind(createdUtc, DateTimeKind.Utc),
                HostName = hostName,
                Entries = Sort(entries.Values),
            };
        }

        internal static List<BaselineEntry> Sort(IEnumerable<BaselineEntry> entries) => entries
            .OrderBy(e => e.Kind)
            .ThenBy(e => e.Protocol, StringComparer.Ordinal)
            .ThenBy(e => e.LocalPort ?? -1)
            .ThenBy(e => e.LocalAddress, StringComparer.Ordinal)
            .ThenBy(e => e.ProcessName, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.ProcessPath, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.RemotePort ?? -1)
            .ThenBy(e => e.AddressScope, StringComparer.Ordinal)
            .ThenBy(e => e.Asn ?? -1)
            .ThenBy(e => e.Country, StringComparer.Ordinal)
            .ThenBy(e => e.VpnReason, StringComparer.Ordinal)
            .ToList();

        /// <summary>A listener row: TCP in Listen, or UDP with no peer on a port below the ephemeral range.</summary>
        public static bool IsListener(ConnectionRecord r) =>
            r.Protocol == TransportProtocol.Tcp ? r.State == TcpState.Listen
            : IsPeerless(r) && r.LocalPort > 0 && r.LocalPort < VpnDetector.EphemeralPortFloor;

        private static bool IsPeerless(ConnectionRecord r) => r.Protocol == TransportProtocol.Udp && !HasPeer(r);

        // A remote end with an address and a port: not null, not 0.0.0.0 or :: (the kernel's "none"), not port 0.
        private static bool HasPeer(ConnectionRecord r)
        {
            var remote = AddressPattern.Normalize(r.RemoteAddress);
            return !(remote == null || remote.Equals(IPAddress.Any) || remote.Equals(IPAddress.IPv6Any) || r.RemotePort == null || r.RemotePort == 0);
        }
    }
}
