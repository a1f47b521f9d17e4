using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using NetworkInformationException = System.Net.NetworkInformation.NetworkInformationException;
using System.Net.Sockets;
using System.Text;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;

namespace ConnectionsMonitor.Engine.Enrichment.Vpn
{
    /// <summary>
    /// Marks connections that go through a VPN, by three rules: (a) the local address belongs to a
    /// tunnel interface (tun/tap, WireGuard, PPP, IPsec, IP tunnels; Windows VPN adapters) or to an
    /// interface the user listed in vpn.interfaces; (b) the owning process is a VPN client (vpn.processes);
    /// (c) the VPN server's end of the connection uses a well-known VPN port (vpn.ports).
    /// <para>
    /// The local-address → interface map is cached and re-read at most every <see cref="RefreshInterval"/>
    /// (5 s), and sooner, at most every <see cref="MissRefreshInterval"/> (1 s), when a connection's
    /// local address is on no known interface (a VPN that has just come up). Thread-safe.
    /// </para>
    /// </summary>
    public sealed class VpnDetector
    {
        /// <summary>How old the interface map may get before a classification re-reads it.</summary>
        public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

        /// <summary>How soon a local address missing from the map may trigger an early re-read.</summary>
        public static readonly TimeSpan MissRefreshInterval = TimeSpan.FromSeconds(1);

        /// <summary>
        /// Local ports from here up may be ephemeral (Linux's default ip_local_port_range starts at 32768,
        /// Windows' dynamic range at 49152), so a client-side local port there says nothing about the service.
        /// </summary>
        public const int EphemeralPortFloor = 32768;

        private const int MaxTextLength = 64;

        private readonly INetworkInterfaceCatalog _catalog;
        private readonly VpnConfig _config;
        // vpn.ports copied once: enumerating the configured IReadOnlyList boxed an enumerator per row.
        private readonly int[] _ports;
        private readonly Func<DateTime> _clock;
        private readonly object _gate = new object();
        private InterfaceMap _map;            // null until read successfully once
        private DateTime _lastAttemptUtc = DateTime.MinValue;
        private string _interfaceWarning;

        /// <summary>
        /// Detects with the given interfaces (null when the platform cannot list them: the interface
        /// rule is then unknown) and the vpn section of the configuration.
        /// </summary>
        public VpnDetector(INetworkInterfaceCatalog interfaces, VpnConfig config)
            : this(interfaces, config, () => DateTime.UtcNow)
        {
        }

        internal VpnDetector(INetworkInterfaceCatalog interfaces, VpnConfig config, Func<DateTime> utcClock)
        {
            _catalog = interfaces;
            _config = config ?? throw new ArgumentNullException(nameof(config));
            _ports = config.Ports == null ? new int[0] : System.Linq.Enumerable.ToArray(config.Ports);
            _clock = utcClock ?? throw new ArgumentNullException(nameof(utcClock));
        }

        /// <summary>Whether detection is switched on (vpn.enabled); when off, nothing is classified.</summary>
        public bool Enabled => _config.Enabled;

        /// <summary>Why the interfaces could not be read the last time, for one warning to the user; null when they were.</summary>
        public string InterfaceWarning
        {
            get { lock (_gate) return _interfaceWarning; }
        }

        /// <summary>
        /// Classifies one connection. Null when detection is off, or when no rule matched but the
        /// interface rule could not be checked (interfaces unreadable): unknown, not "no".
        /// Without the rest of the snapshot, a server-side row with a high local port cannot be told
        /// from a client's ephemeral port; <see cref="Apply"/> sees the listeners and can.
        /// </summary>
        public VpnVerdict Classify(ConnectionRecord record)
        {
            if (record == null) throw new ArgumentNullException(nameof(record));
            if (!Enabled) return null;
            return Classify(record, null, null);
        }

        /// <summary>
        /// Sets IsVpn and VpnReason of every record (left null when detection is off or the answer is
        /// unknown). The batch's listeners tell the server end of a connection from the client end for
        /// the port rule, so pass whole snapshots.
        /// </summary>
        public void Apply(IReadOnlyList<ConnectionRecord> records)
        {
            if (records == null) throw new ArgumentNullException(nameof(records));
            if (!Enabled || records.Count == 0) return;
            // Protocol and port in one int: a set of ints runs on code the runtime ships precompiled, where a set of tuples
            // of our enum is compiled unoptimized at first use, and this runs once per row.
            var listeners = new HashSet<int>();
            foreach (var r in records)
                if (r != null && IsListenerRow(r)) listeners.Add(ListenerKey(r.Protocol, r.LocalPort));
            // Rows share few local addresses: each one's interface is looked up once per batch.
            var interfaces = new Dictionary<IPAddress, InterfaceAnswer>();
            foreach (var r in records)
            {
                if (r == null) continue;
                var v = Classify(r, listeners, interfaces);
                r.IsVpn = v?.IsVpn;
                r.VpnReason = v?.Reason;
            }
        }

        /// <summary>The interface rule's answer for one local address: a reason, or none, or unknown (interfaces unreadable).</summary>
        private struct InterfaceAnswer
        {
            public string Reason;
            public bool Unknown;
        }

        /// <summary>Re-reads the interfaces now, whatever the age of the map.</summary>
        public void Refresh()
        {
            lock (_gate) Reload();
        }

        private VpnVerdict Classify(ConnectionRecord r, HashSet<int> listeners, Dictionary<IPAddress, InterfaceAnswer> interfaces)
        {
            List<string> reasons = null;
            var local = r.LocalAddress;
            InterfaceAnswer answer = default;
            if (local != null && (interfaces == null || !interfaces.TryGetValue(local, out answer)))
            {
                answer = InterfaceRule(local);
                if (interfaces != null) interfaces[local] = answer;
            }
            if (answer.Reason != null) (reasons ?? (reasons = new List<string>(1))).Add(answer.Reason);
            bool interfaceUnknown = answer.Unknown;

            if (MatchesVpnProcess(r.ProcessName)) (reasons ?? (reasons = new List<string>(1))).Add("process " + Clean(r.ProcessName));

            string port = PortReason(r, listeners);
            if (port != null) (reasons ?? (reasons = new List<string>(1))).Add(port);

            if (reasons != null) return new VpnVerdict(true, string.Join("; ", reasons));
            return interfaceUnknown ? null : VpnVerdict.NotVpn;
        }

        private InterfaceAnswer InterfaceRule(IPAddress localAddress)
        {
            var map = CurrentMap();
            // An address on no known interface may be on one that has just come up: re-read (rate-limited).
            if (map != null && IsUnmapped(map, localAddress)) map = RefreshAfterMiss(map);
            var local = AddressPattern.Normalize(localAddress);
            if (local == null || ConnectionQuery.IsUnspecified(local)) return default;
            if (map == null) return new InterfaceAnswer { Unknown = true };
            return new InterfaceAnswer { Reason = InterfaceReason(map.Find(local)) };
        }

        private string InterfaceReason(IReadOnlyList<NetworkInterfaceInfo> candidates)
        {
            if (candidates == null) return null;
            foreach (var nic in candidates)
            {
                if (nic.TunnelKind == null) continue;
                string kind = nic.TunnelKind + (nic.TunnelKindFromNameOnly ? ", by name" : "");
                return nic.Description != null
                    ? "adapter '" + Clean(nic.Description) + "' (" + Clean(kind) + ")"
                    : "interface " + Clean(nic.Name) + " (" + Clean(kind) + ")";
            }
            foreach (var nic in candidates)
                foreach (var pattern in _config.Interfaces)
                    if (pattern.IsMatch(nic.Name) || pattern.IsMatch(nic.Description))
                        return "interface " + Clean(nic.Name) + " (configured '" + Clean(pattern.Pattern) + "')";
            return null;
        }

        // vpn.processes with ".exe" optional both ways: pattern "openvpn.exe" matches process "openvpn"
        // (the shared matcher does that) and pattern "openvpn" matches a catalogue that reports "openvpn.exe".
        // A machine has few distinct process names and a snapshot many rows: each name is matched once.
        private bool MatchesVpnProcess(string name)
        {
            if (string.IsNullOrEmpty(name)) return false;
            if (_processVerdicts.TryGetValue(name, out bool known)) return known;
            bool match = ConnectionQuery.MatchesAnyProcessName(_config.Processes, name)
                || (name.EndsWith(".exe", StringComparison.OrdinalIgnoreCase)
                    && ConnectionQuery.MatchesAnyProcessName(_config.Processes, name.Substring(0, name.Length - 4)));
            if (_processVerdicts.Count >= MaxProcessVerdicts) _processVerdicts.Clear();
            _processVerdicts[name] = match;
            return match;
        }

        private const int MaxProcessVerdicts = 4096;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _processVerdicts =
            new System.Collections.Concurrent.ConcurrentDictionary<string, bool>(StringComparer.Ordinal);

        // The port that names a service is the server's. On a listener, or a connection accepted by one of
        // the batch's listeners, that is the local port and the remote one is the client's ephemeral port;
        // otherwise it is the remote port, or a local port below the ephemeral range (a server row seen alone).
        private static int ListenerKey(TransportProtocol protocol, int port) => (int)protocol << 16 | (port & 0xFFFF);

        private string PortReason(ConnectionRecord r, HashSet<int> listeners)
        {
            bool weServe = IsListenerRow(r) || (listeners != null && listeners.Contains(ListenerKey(r.Protocol, r.LocalPort)));
            if (weServe)
                return IsVpnPort(r.LocalPort) ? "local port " + PortName(r.LocalPort) : null;
            if (r.RemotePort is int remote && IsVpnPort(remote)) return "remote port " + PortName(remote);
            if (r.LocalPort < EphemeralPortFloor && IsVpnPort(r.LocalPort)) return "local port " + PortName(r.LocalPort);
            return null;
        }

        private bool IsVpnPort(int port)
        {
            if (port <= 0) return false;
            foreach (int p in _ports) if (p == port) return true;
            return false;
        }

        /// <summary>"1194 (OpenVPN)" for the well-known VPN ports, else the number.</summary>
        public static string PortName(int port)
        {
            switch (port)
            {
                case 500: return "500 (IKE)";
                case 1194: return "1194 (OpenVPN)";
                case 1701: return "1701 (L2TP)";
                case 1723: return "1723 (PPTP)";
                case 4500: return "4500 (IPsec NAT-T)";
                case 51820: return "51820 (WireGuard)";
                default: return port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        // A listening TCP socket, or a UDP socket with no peer (how UDP servers such as WireGuard and OpenVPN wait).
        private static bool IsListenerRow(ConnectionRecord r)
        {
            if (r.Protocol == TransportProtocol.Tcp) return r.State == TcpState.Listen;
            var remote = AddressPattern.Normalize(r.RemoteAddress);
            return remote == null || ConnectionQuery.IsUnspecified(remote) || r.RemotePort == null || r.RemotePort == 0;
        }


        private static bool IsUnmapped(InterfaceMap map, IPAddress address)
        {
            var local = AddressPattern.Normalize(address);
            return local != null && !ConnectionQuery.IsUnspecified(local) && map.Find(local) == null;
        }

        private InterfaceMap CurrentMap()
        {
            lock (_gate)
            {
                if (_clock() - _lastAttemptUtc >= RefreshInterval) Reload();
                return _map;
            }
        }

        private InterfaceMap RefreshAfterMiss(InterfaceMap seen)
        {
            lock (_gate)
            {
                if (ReferenceEquals(_map, seen) && _clock() - _lastAttemptUtc >= MissRefreshInterval) Reload();
                return _map;
            }
        }

        // Caller holds _gate. A failed read keeps the previous map (interfaces rarely all change at once).
        private void Reload()
        {
            _lastAttemptUtc = _clock();
            if (_catalog == null)
            {
                _interfaceWarning = "this platform cannot list network interfaces; VPN interfaces are not detected";
                return;
            }
            try
            {
                _map = new InterfaceMap(_catalog.Read());
                _interfaceWarning = null;
            }
            catch (Exception e) when (e is NetworkInformationException || e is IOException || e is UnauthorizedAccessException
                                      || e is PlatformNotSupportedException || e is NotSupportedException)
            {
                _interfaceWarning = "network interfaces could not be read (" + e.Message + "); VPN interfaces are not detected"
                                    + (_map != null ? " from changes since the last successful read" : "");
            }
        }

        /// <summary>
        /// Untrusted text (interface names and descriptions, process names) made safe for a one-line
        /// reason: control and invisible formatting characters (bidi overrides, zero-width) become '?',
        /// and long text is cut.
        /// </summary>
        internal static string Clean(string text)
        {
            if (string.IsNullOrEmpty(text)) return "?";
            var sb = new StringBuilder(Math.Min(text.Length, MaxTextLength + 1));
            for (int i = 0; i < text.Length; i++)
            {
                if (sb.Length >= MaxTextLength) { sb.Append('…'); break; }
                char c = text[i];
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    sb.Append(c).Append(text[++i]);
                    continue;
                }
                var cat = char.GetUnicodeCategory(c);
                bool unsafeChar = char.IsControl(c) || char.IsSurrogate(c)
                    || cat == System.Globalization.UnicodeCategory.Format
                    || cat == System.Globalization.UnicodeCategory.LineSeparator
                    || cat == System.Globalization.UnicodeCategory.ParagraphSeparator;
                sb.Append(unsafeChar ? '?' : c);
            }
            return sb.ToString();
        }

        /// <summary>Local address → the interfaces that hold it (an address may sit on several).</summary>
        private sealed class InterfaceMap
        {
            private readonly Dictionary<IPAddress, List<NetworkInterfaceInfo>> _byAddress = new Dictionary<IPAddress, List<NetworkInterfaceInfo>>();
            // IPv6 link-local addresses repeat across links; rows without a scope id are looked up here.
            private readonly Dictionary<IPAddress, List<NetworkInterfaceInfo>> _linkLocalAnyScope = new Dictionary<IPAddress, List<NetworkInterfaceInfo>>();

            public InterfaceMap(IReadOnlyList<NetworkInterfaceInfo> interfaces)
            {
                foreach (var nic in interfaces)
                    foreach (var a in nic.Addresses)
                    {
                        var n = AddressPattern.Normalize(a);
                        if (n == null) continue;
                        Add(_byAddress, Key(n), nic);
                        if (n.AddressFamily == AddressFamily.InterNetworkV6 && n.IsIPv6LinkLocal)
                            Add(_linkLocalAnyScope, new IPAddress(n.GetAddressBytes()), nic);
                    }
            }

            /// <summary>The interfaces holding a (normalised) local address; null when none does.</summary>
            public IReadOnlyList<NetworkInterfaceInfo> Find(IPAddress local)
            {
                if (_byAddress.TryGetValue(Key(local), out var found)) return found;
                if (local.AddressFamily == AddressFamily.InterNetworkV6 && local.IsIPv6LinkLocal && local.ScopeId == 0
                    && _linkLocalAnyScope.TryGetValue(local, out found)) return found;
                return null;
            }

            // Scope ids matter only for link-local addresses; elsewhere sources disagree on 0 vs the ifindex.
            private static IPAddress Key(IPAddress a)
            {
                if (a.AddressFamily != AddressFamily.InterNetworkV6) return a;
                return new IPAddress(a.GetAddressBytes(), a.IsIPv6LinkLocal ? a.ScopeId : 0);
            }

            private static void Add(Dictionary<IPAddress, List<NetworkInterfaceInfo>> map, IPAddress key, NetworkInterfaceInfo nic)
            {
                if (!map.TryGetValue(key, out var list)) map[key] = list = new List<NetworkInterfaceInfo>(1);
                if (!list.Contains(nic)) list.Add(nic);
            }
        }
    }
}
