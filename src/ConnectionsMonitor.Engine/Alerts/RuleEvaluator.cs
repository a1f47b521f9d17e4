using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Tracking;

namespace ConnectionsMonitor.Engine.Alerts
{
    /// <summary>
    /// What every rule needs from one sample, worked out once: the rows, the changes since the previous
    /// sample, and which (protocol, local port) pairs have a listener — a row on such a port with a remote
    /// end is inbound (someone connected to us), any other row with a remote end is outbound.
    /// </summary>
    /// <summary>
    /// A connection by its endpoints alone (protocol, local and remote address and port): the same connection
    /// while it closes, when its row loses its owner (a socket in FinWait2 or TimeWait has no process).
    /// </summary>
    internal readonly struct Endpoints : IEquatable<Endpoints>
    {
        private readonly TransportProtocol _protocol;
        private readonly IPAddress _local, _remote;
        private readonly int _localPort, _remotePort;

        public Endpoints(ConnectionRecord r)
        {
            _protocol = r.Protocol;
            _local = r.LocalAddress;
            _remote = r.RemoteAddress;
            _localPort = r.LocalPort;
            _remotePort = r.RemotePort ?? 0;
        }

        public bool Equals(Endpoints o) =>
            _protocol == o._protocol && _localPort == o._localPort && _remotePort == o._remotePort && Equals(_local, o._local) && Equals(_remote, o._remote);

        public override bool Equals(object obj) => obj is Endpoints o && Equals(o);

        public override int GetHashCode() =>
            (((int)_protocol * 397 ^ _localPort) * 397 ^ _remotePort) * 397 ^ (_remote?.GetHashCode() ?? 0);
    }

    internal sealed class AlertSample
    {
        private readonly HashSet<long> _listening = new HashSet<long>();

        public AlertSample(DateTime timeUtc, IReadOnlyList<ConnectionRecord> rows, IReadOnlyList<ConnectionEvent> events)
        {
            TimeUtc = timeUtc;
            Rows = rows;
            Events = events ?? new ConnectionEvent[0];
            foreach (var r in rows)
                if (IsListener(r)) _listening.Add(PortKey(r.Protocol, r.LocalPort));
            List<ConnectionRecord> between = null;
            foreach (var e in Events)
                if (e.BetweenSamples && e.Change == ConnectionChange.Closed) (between ?? (between = new List<ConnectionRecord>())).Add(e.Connection);
            BetweenSamples = (IReadOnlyList<ConnectionRecord>)between ?? new ConnectionRecord[0];
        }

        /// <summary>
        /// Connections that opened and closed since the previous sample, known from the OS's closing reports (not in
        /// <see cref="Rows"/>): the per-connection and "new …" conditions look at them too; counts and rates do not.
        /// </summary>
        public IReadOnlyList<ConnectionRecord> BetweenSamples { get; }

        public DateTime TimeUtc { get; }
        public IReadOnlyList<ConnectionRecord> Rows { get; }

        private HashSet<Endpoints> _present;

        /// <summary>The endpoints of every row (made on first use, shared by the rules).</summary>
        public HashSet<Endpoints> Present
        {
            get
            {
                if (_present != null) return _present;
                var set = new HashSet<Endpoints>();
                foreach (var r in Rows) set.Add(new Endpoints(r));
                return _present = set;
            }
        }
        public IReadOnlyList<ConnectionEvent> Events { get; }

        /// <summary>A TCP socket in Listen, or a UDP socket with no remote end (it receives from anyone).</summary>
        public static bool IsListener(ConnectionRecord r) =>
            r.Protocol == TransportProtocol.Tcp ? r.State == TcpState.Listen : !HasRemote(r);

        /// <summary>The row has a real remote end (not null, not 0.0.0.0 / ::).</summary>
        public static bool HasRemote(ConnectionRecord r) =>
            r.RemoteAddress != null && !r.RemoteAddress.Equals(IPAddress.Any) && !r.RemoteAddress.Equals(IPAddress.IPv6Any) && r.RemotePort.GetValueOrDefault() != 0;

        /// <summary>Someone connected to one of our listening ports.</summary>
        public bool IsInbound(ConnectionRecord r) => HasRemote(r) && !IsListener(r) && _listening.Contains(PortKey(r.Protocol, r.LocalPort));

        /// <summary>We connected out (the local port has no listener).</summary>
        public bool IsOutbound(ConnectionRecord r) => HasRemote(r) && !IsListener(r) && !_listening.Contains(PortKey(r.Protocol, r.LocalPort));

        private static long PortKey(TransportProtocol p, int port) => ((long)p << 32) | (uint)port;
    }

    /// <summary>
    /// One rule's memory between samples and its evaluation. Per-connection kinds fire once per connection
    /// (the connection's key is remembered until it closes), for those open at the first sample too but not for what
    /// connections closed before it left (<see cref="ConnectionTracker.IsRemnant"/>); the "new" kinds remember what the first sample
    /// showed as the baseline and fire for what appears after it (bounded memory, oldest forgotten first);
    /// the levels are edge-triggered: Firing when the condition starts, Repeating every RepeatInterval
    /// while it stays (give or take <see cref="RepeatTolerance"/>), Resolved when it ends. Not thread-safe: the alert thread owns it.
    /// </summary>
    internal sealed class RuleEvaluator : IDisposable
    {
        internal const int MemoryLimit = 65536;

        private readonly AlertRule _rule;
        private readonly Func<AlertCondition, IPortScanSource> _scanFactory;
        private readonly Dictionary<AlertKind, ConditionState> _states = new Dictionary<AlertKind, ConditionState>();
        private readonly object _flagGate = new object();
        private HashSet<Endpoints> _flagged = new HashSet<Endpoints>();
        private HashSet<string> _flaggedRemotes = new HashSet<string>(StringComparer.Ordinal);
        private bool _baselined;

        public RuleEvaluator(AlertRule rule, Func<AlertCondition, IPortScanSource> scanFactory)
        {
            _rule = rule;
            _scanFactory = scanFactory;
            foreach (var c in rule.Conditions) _states[c.Kind] = new ConditionState(c);
        }

        public AlertRule Rule => _rule;

        private readonly object _evaluating = new object();
        private volatile int _active;
        private bool _disposed;

        /// <summary>Level conditions (per subject) that are on, as of the latest evaluation (any thread may read it).</summary>
        public int Active => _active;

        /// <summary>Blind spots to say once (a port-scan source when it starts and again if what it misses changes; missing byte counters).</summary>
        public List<string> Warnings { get; } = new List<string>();

        private sealed class ConditionState
        {
            public ConditionState(AlertCondition c)
            {
                Condition = c;
                Ports = new HashSet<int>(c.Ports ?? new int[0]);
                Exclude = new HashSet<string>(c.Exclude ?? new string[0], StringComparer.OrdinalIgnoreCase);
            }
            public readonly AlertCondition Condition;
            public readonly HashSet<int> Ports;
            public readonly HashSet<string> Exclude;
            public readonly HashSet<Endpoints> Fired = new HashSet<Endpoints>();
            public readonly Memory Seen = new Memory(MemoryLimit);
            public readonly Dictionary<int, Level> Levels = new Dictionary<int, Level>();
            public readonly Dictionary<Endpoints, ConnectionRecord> Vpn = new Dictionary<Endpoints, ConnectionRecord>();
            public IPortScanSource Scan;
            public string SaidScanLimitation;
            public bool SaidNoCounters;
            public int SamplesWithoutCounters;
        }

        private sealed class Level
        {
            public bool On;
            public DateTime LastSaidUtc;
            public double Value;
            public ConnectionRecord Who;
        }

        /// <summary>A set that forgets its oldest entries past a limit.</summary>
        internal sealed class Memory
        {
            private readonly int _limit;
            private readonly HashSet<string> _set = new HashSet<string>(StringComparer.Ordinal);
            private readonly Queue<string> _order = new Queue<string>();
            public Memory(int limit) { _limit = limit; }
            public int Count => _set.Count;
            /// <summary>True when <paramref name="key"/> was not remembered (it is now).</summary>
            public bool Add(string key)
            {
                if (!_set.Add(key)) return false;
                _order.Enqueue(key);
                while (_set.Count > _limit) _set.Remove(_order.Dequeue());
                return true;
            }
        }

        /// <summary>Whether this rule flagged the connection (fired for it, or for its remote address in a scan).</summary>
        public bool Flags(ConnectionRecord r, AlertSample last)
        {
            lock (_flagGate)
            {
                if (_flagged.Contains(new Endpoints(r))) return true;
                if (r.RemoteAddress != null && _flaggedRemotes.Count > 0 && _flaggedRemotes.Contains(Canonical(r.RemoteAddress))) return true;
            }
            if (_rule.Filter != null && !_rule.Filter.Matches(r)) return false;
            foreach (var s in _states.Values)
            {
                var c = s.Condition;
                if (c.Kind == AlertKind.RemotePort && r.RemotePort != null && s.Ports.Contains(r.RemotePort.Value) && (last == null ? AlertSample.HasRemote(r) : last.IsOutbound(r))) return true;
                if (c.Kind == AlertKind.InboundPort && s.Ports.Contains(r.LocalPort) && last != null && last.IsInbound(r)) return true;
            }
            return false;
        }

        /// <summary>The alerts this sample raises for the rule (in-sample bursts are one alert listing every item).</summary>
        public List<AlertEvent> Evaluate(AlertSample sample)
        {
            // Dispose waits for an evaluation in progress, and none starts after it: a port-scan watch (a thread
            // and a packet socket) is never made for a rule that was just removed.
            lock (_evaluating)
            {
                if (_disposed) return new List<AlertEvent>();
                var alerts = EvaluateCore(sample);
                _previousSampleUtc = sample.TimeUtc;
                _active = _states.Values.Sum(s => s.Levels.Count(l => l.Value.On));
                return alerts;
            }
        }

        private List<AlertEvent> EvaluateCore(AlertSample sample)
        {
            var rows = _rule.Filter == null ? sample.Rows : sample.Rows.Where(_rule.Filter.Matches).ToList();
            // Per connection, also the ones that came and went between two samples (a short outbound request to a
            // flagged port is still one); levels count what a sample holds.
            var lives = rows;
            if (sample.BetweenSamples.Count > 0)
            {
                var all = new List<ConnectionRecord>(rows);
                all.AddRange(_rule.Filter == null ? sample.BetweenSamples : sample.BetweenSamples.Where(_rule.Filter.Matches));
                lives = all;
            }
            var alerts = new List<AlertEvent>();
            var flagged = new HashSet<Endpoints>();
            foreach (var s in _states.Values)
            {
                switch (s.Condition.Kind)
                {
                    case AlertKind.RemotePort:
                    case AlertKind.InboundPort:
                        PerConnection(s, sample, lives, flagged, alerts);
                        break;
                    case AlertKind.NewListeningPort:
                    case AlertKind.NewPublicAddress:
                    case AlertKind.NewRemoteCountry:
                    case AlertKind.NewRemoteAsn:
                    case AlertKind.NewProcessTalkingOut:
                        New(s, sample, lives, flagged, alerts);
                        break;
                    case AlertKind.MaxConnections:
                    case AlertKind.MaxBandwidth:
                        Levels(s, sample, rows, alerts);
                        break;
                    case AlertKind.VpnChange:
                        Vpn(s, sample, rows, flagged, alerts);
                        break;
                    case AlertKind.PortScan:
                        Scan(s, sample, rows, alerts);
                        break;
                }
            }
            _baselined = true;
            if (_flagged.Count > 0 || flagged.Count > 0)
            {
                // Keep the flags of connections still open; add this sample's.
                var next = new HashSet<Endpoints>(flagged);
                foreach (var k in _flagged) if (sample.Present.Contains(k)) next.Add(k);
                lock (_flagGate) _flagged = next;
            }
            return alerts;
        }

        private void PerConnection(ConditionState s, AlertSample sample, IReadOnlyList<ConnectionRecord> rows,
            HashSet<Endpoints> flagged, List<AlertEvent> alerts)
        {
            bool outbound = s.Condition.Kind == AlertKind.RemotePort;
            List<AlertItem> items = null;
            foreach (var r in rows)
            {
                bool hit = outbound
                    ? r.RemotePort != null && s.Ports.Contains(r.RemotePort.Value) && sample.IsOutbound(r)
                    : s.Ports.Contains(r.LocalPort) && sample.IsInbound(r);
                if (!hit) continue;
                var key = new Endpoints(r);
                // The rule's first sample: what connections closed before the rule existed left behind (an ownerless
                // TIME_WAIT or FIN_WAIT2 row, for a minute) is the baseline, remembered and not reported (a newcomer's trial
                // got "Outbound connection to port 5555 (615 connections)" of closed ones at registration).
                if (!_baselined && ConnectionTracker.IsRemnant(r)) { s.Fired.Add(key); continue; }
                if (!s.Fired.Add(key)) continue;
                flagged.Add(key);
                (items ?? (items = new List<AlertItem>())).Add(AlertItem.From(r));
            }
            if (s.Fired.Count > 0) s.Fired.IntersectWith(sample.Present); // a closed connection's key may come back as a new connection
            if (items == null) return;
            string what = outbound
                ? "Outbound connection to port " + string.Join(", ", items.Select(i => i.RemotePort).Distinct())
                : "Inbound connection to local port " + string.Join(", ", items.Select(i => i.LocalPort).Distinct());
            alerts.Add(new AlertEvent(_rule.Name, s.Condition.Kind, AlertStatus.Firing, sample.TimeUtc, Summarize(what, items), items));
        }

        private void New(ConditionState s, AlertSample sample, IReadOnlyList<ConnectionRecord> rows, HashSet<Endpoints> flagged, List<AlertEvent> alerts)
        {
            var kind = s.Condition.Kind;
            List<AlertItem> items = null;
            foreach (var r in rows)
            {
                string key = NewKey(s, sample, r, out string detail);
                if (key == null || !s.Seen.Add(key) || !_baselined) continue;
                flagged.Add(new Endpoints(r));
                (items ?? (items = new List<AlertItem>())).Add(AlertItem.From(r, detail));
            }
            if (items == null) return;
            string what;
            switch (kind)
            {
                case AlertKind.NewListeningPort:
                    what = "New listening port " + string.Join(", ", items.Select(i => i.LocalPort + "/" + Proto(i.Protocol)));
                    break;
                case AlertKind.NewPublicAddress:
                    what = "New public remote address " + string.Join(", ", items.Select(i => i.RemoteAddress));
                    break;
                case AlertKind.NewRemoteCountry:
                    what = "New remote country " + string.Join(", ", items.Select(i => i.Country));
                    break;
                case AlertKind.NewRemoteAsn:
                    what = "New remote network AS" + string.Join(", AS", items.Select(i => i.Asn));
                    break;
                default:
                    what = "First outbound connection of " + string.Join(", ", items.Select(i => Name(i)));
                    break;
            }
            alerts.Add(new AlertEvent(_rule.Name, kind, AlertStatus.Firing, sample.TimeUtc, Summarize(what, items, kind == AlertKind.NewProcessTalkingOut), items));
        }

        /// <summary>The identity of what a "new" kind remembers for a row (null when the row does not count).</summary>
        private static string NewKey(ConditionState s, AlertSample sample, ConnectionRecord r, out string detail)
        {
            detail = null;
            switch (s.Condition.Kind)
            {
                case AlertKind.NewListeningPort:
                    if (!AlertSample.IsListener(r) || (s.Ports.Count > 0 && !s.Ports.Contains(r.LocalPort))) return null;
                    // A restarted server listens again on the same port: not new. Another process on it is.
                    return r.Protocol + "|" + r.LocalAddress + "|" + r.LocalPort + "|" + (r.ProcessPath ?? r.ProcessName);
                case AlertKind.NewPublicAddress:
                    if (!AlertSample.HasRemote(r) || AddressScopes.Classify(r.RemoteAddress) != AddressScope.Public) return null;
                    return Canonical(r.RemoteAddress);
                case AlertKind.NewRemoteCountry:
                    if (r.Country == null || s.Exclude.Contains(r.Country)) return null;
                    return r.Country.ToUpperInvariant();
                case AlertKind.NewRemoteAsn:
                    if (r.Asn == null || s.Exclude.Contains(r.Asn.Value.ToString(CultureInfo.InvariantCulture))) return null;
                    return r.Asn.Value.ToString(CultureInfo.InvariantCulture);
                case AlertKind.NewProcessTalkingOut:
                    if (!sample.IsOutbound(r) || r.RemoteAddress == null || IPAddress.IsLoopback(r.RemoteAddress)) return null;
                    var who = r.ProcessPath ?? r.ProcessName;
                    if (string.IsNullOrEmpty(who)) return null;
                    detail = "to " + Endpoint(r.RemoteAddress?.ToString(), r.RemotePort);
                    return who;
            }
            return null;
        }

        /// <summary>
        /// How much sooner than RepeatInterval a repeat is due: 5% of the interval, but at most half the time between the
        /// rule's previous sample and this one. Samples come a few milliseconds early or late, so with 1-s samples and a
        /// 4-s interval the sample 3.995 s after the last alert says it (without the tolerance the next one did, 4.94 s
        /// later); a repeat never comes more than half a sample early.
        /// </summary>
        internal static TimeSpan RepeatTolerance(TimeSpan repeatInterval, TimeSpan? sampleGap)
        {
            var tolerance = TimeSpan.FromTicks(repeatInterval.Ticks / 20);
            if (sampleGap != null && sampleGap.Value > TimeSpan.Zero && sampleGap.Value.Ticks / 2 < tolerance.Ticks)
                tolerance = TimeSpan.FromTicks(sampleGap.Value.Ticks / 2);
            return tolerance;
        }

        private DateTime? _previousSampleUtc;

        private void Levels(ConditionState s, AlertSample sample, IReadOnlyList<ConnectionRecord> rows, List<AlertEvent> alerts)
        {
            var c = s.Condition;
            bool bandwidth = c.Kind == AlertKind.MaxBandwidth;
            double threshold = c.Threshold ?? double.MaxValue;
            // Subject (process id; -1 for the total) → value.
            var values = new Dictionary<int, double>();
            var names = new Dictionary<int, ConnectionRecord>();
            bool anyCounter = false, anyTcpConnection = false;
            foreach (var r in rows)
            {
                double v;
                if (bandwidth)
                {
                    if (r.Protocol == TransportProtocol.Tcp && r.State == TcpState.Established) anyTcpConnection = true;
                    if (r.SendRate == null && r.ReceiveRate == null) continue;
                    anyCounter = true;
                    v = (r.SendRate ?? 0) + (r.ReceiveRate ?? 0);
                }
                else
                {
                    // Not listeners, and not TIME_WAIT: what an active close leaves for a minute is a closed connection
                    // (no owner, no traffic), and counting it kept a level on long after its connections closed.
                    if (AlertSample.IsListener(r) || r.State == TcpState.TimeWait) continue;
                    v = 1;
                }
                int subject = c.PerProcess ? r.ProcessId ?? -2 : -1;
                if (subject == -2) continue;
                values.TryGetValue(subject, out var sum);
                values[subject] = sum + v;
                if (!names.ContainsKey(subject)) names[subject] = r;
            }
            if (bandwidth && !anyCounter)
            {
                // Unknown is not zero: leave the level as it is. Rates need two samples and established TCP
                // connections; when there are such connections and still no counters, say once why nothing can fire.
                if (anyTcpConnection && ++s.SamplesWithoutCounters >= 3 && !s.SaidNoCounters)
                {
                    s.SaidNoCounters = true;
                    Warnings.Add("Alert rule '" + _rule.Name + "': no connection has byte counters here, so its bandwidth condition cannot fire (Linux: TCP counters come from sock_diag; Windows: run elevated for ETW byte counts).");
                }
                return;
            }
            if (!c.PerProcess && !values.ContainsKey(-1)) values[-1] = 0;
            var tolerance = RepeatTolerance(_rule.RepeatInterval, sample.TimeUtc - _previousSampleUtc);
            foreach (var kv in values)
            {
                if (!s.Levels.TryGetValue(kv.Key, out var level)) s.Levels[kv.Key] = level = new Level();
                level.Value = kv.Value;
                bool over = kv.Value > threshold;
                names.TryGetValue(kv.Key, out var who);
                level.Who = who ?? level.Who;
                if (over && !level.On)
                {
                    level.On = true;
                    level.LastSaidUtc = sample.TimeUtc;
                    alerts.Add(LevelAlert(c, AlertStatus.Firing, sample.TimeUtc, kv.Value, threshold, who));
                }
                else if (over && _rule.RepeatInterval > TimeSpan.Zero && sample.TimeUtc - level.LastSaidUtc >= _rule.RepeatInterval - tolerance)
                {
                    level.LastSaidUtc = sample.TimeUtc;
                    alerts.Add(LevelAlert(c, AlertStatus.Repeating, sample.TimeUtc, kv.Value, threshold, who));
                }
                else if (!over && level.On)
                {
                    level.On = false;
                    alerts.Add(LevelAlert(c, AlertStatus.Resolved, sample.TimeUtc, kv.Value, threshold, who));
                }
            }
            // A process that is gone is below any threshold.
            foreach (var gone in s.Levels.Where(l => !values.ContainsKey(l.Key)).Select(l => l.Key).ToList())
            {
                var level = s.Levels[gone];
                if (level.On) alerts.Add(LevelAlert(c, AlertStatus.Resolved, sample.TimeUtc, 0, threshold, level.Who, gone.ToString(CultureInfo.InvariantCulture)));
                s.Levels.Remove(gone);
            }
        }

        private AlertEvent LevelAlert(AlertCondition c, AlertStatus status, DateTime t, double value, double threshold, ConnectionRecord who, string pid = null)
        {
            string subject = c.PerProcess
                ? (who != null ? UntrustedText.Clean(who.ProcessName ?? "?") + " (PID " + who.ProcessId + ")" : "PID " + pid)
                : null;
            // "Connection count is 3, above 2", "Bandwidth back to 1.2KB/s (limit 5.0KB/s)"; an item's detail says the unit.
            bool bandwidth = c.Kind == AlertKind.MaxBandwidth;
            long count = (long)Math.Round(value, MidpointRounding.AwayFromZero);
            string quantity = bandwidth ? Rate(value) : count.ToString(CultureInfo.InvariantCulture);
            string limit = bandwidth ? Rate(threshold) : threshold.ToString("0", CultureInfo.InvariantCulture);
            string what = (bandwidth ? "Bandwidth" : "Connection count") + (subject != null ? " of " + subject : "");
            string text = status == AlertStatus.Resolved
                ? what + " back to " + quantity + " (limit " + limit + ")"
                : what + " is " + quantity + ", above " + limit + (status == AlertStatus.Repeating ? " (still)" : "");
            string detail = bandwidth ? quantity : Display.TextFormat.Count(count, "connection", "connections");
            var items = who != null && c.PerProcess ? new[] { new AlertItem { ProcessId = who.ProcessId, ProcessName = who.ProcessName, ProcessPath = who.ProcessPath, Detail = detail } } : new AlertItem[0];
            return new AlertEvent(_rule.Name, c.Kind, status, t, text, items) { Value = value, Threshold = threshold, Subject = subject };
        }

        private void Vpn(ConditionState s, AlertSample sample, IReadOnlyList<ConnectionRecord> rows, HashSet<Endpoints> flagged, List<AlertEvent> alerts)
        {
            List<AlertItem> up = null, down = null;
            var now = new Dictionary<Endpoints, ConnectionRecord>();
            foreach (var r in rows)
                if (r.IsVpn == true && IsUp(r)) now[new Endpoints(r)] = r;
            foreach (var kv in now)
            {
                flagged.Add(kv.Key);
                if (!s.Vpn.ContainsKey(kv.Key) && _baselined) (up ?? (up = new List<AlertItem>())).Add(AlertItem.From(kv.Value, kv.Value.VpnReason));
            }
            foreach (var kv in s.Vpn)
                if (!now.ContainsKey(kv.Key)) (down ?? (down = new List<AlertItem>())).Add(AlertItem.From(kv.Value, kv.Value.VpnReason));
            s.Vpn.Clear();
            foreach (var kv in now) s.Vpn[kv.Key] = kv.Value;
            if (up != null) alerts.Add(new AlertEvent(_rule.Name, AlertKind.VpnChange, AlertStatus.Firing, sample.TimeUtc, Summarize("VPN connection up", up), up));
            if (down != null) alerts.Add(new AlertEvent(_rule.Name, AlertKind.VpnChange, AlertStatus.Resolved, sample.TimeUtc, Summarize("VPN connection down", down), down));
        }

        /// <summary>A connection that carries traffic: TCP being set up or established, UDP with a remote end. A closing one (FinWait, TimeWait …) is down.</summary>
        private static bool IsUp(ConnectionRecord r) =>
            r.Protocol == TransportProtocol.Tcp
                ? r.State == TcpState.Established || r.State == TcpState.SynSent || r.State == TcpState.SynReceived
                : AlertSample.HasRemote(r);

        private void Scan(ConditionState s, AlertSample sample, IReadOnlyList<ConnectionRecord> rows, List<AlertEvent> alerts)
        {
            if (s.Scan == null)
            {
                s.Scan = _scanFactory?.Invoke(s.Condition);
                if (s.Scan == null) return;
            }
            s.Scan.Observe(sample);
            var findings = s.Scan.TakeFindings(sample.TimeUtc);
            // Said once when the watch starts, and again only when it changes (a capture or ETW session
            // that stopped on its own leaves the watch on the socket table, and says why).
            string limitation = s.Scan.Limitation;
            if (limitation != null && limitation != s.SaidScanLimitation) Warnings.Add("Alert rule '" + _rule.Name + "': " + limitation);
            s.SaidScanLimitation = limitation;
            foreach (var f in findings)
            {
                lock (_flagGate) _flaggedRemotes.Add(f.RemoteAddress);
                var item = new AlertItem { RemoteAddress = f.RemoteAddress, Detail = "ports " + string.Join(",", f.Ports) + " (" + f.Source + ")" };
                string text = "Port scan from " + f.RemoteAddress + ": " + f.Ports.Count + " local ports within " +
                              s.Condition.ScanWindow.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s (" + string.Join(", ", f.Ports) + ")";
                alerts.Add(new AlertEvent(_rule.Name, AlertKind.PortScan, AlertStatus.Firing, sample.TimeUtc, text, new[] { item })
                { Subject = f.RemoteAddress, Value = f.Ports.Count, Threshold = s.Condition.ScanPorts });
            }
        }

        private static string Summarize(string what, IReadOnlyList<AlertItem> items, bool namesProcess = false)
        {
            if (items.Count == 1)
            {
                var i = items[0];
                string who = !namesProcess && (i.ProcessName != null || i.ProcessId != null) ? " by " + Name(i) : "";
                bool remote = i.RemoteAddress != null && i.RemotePort.GetValueOrDefault() != 0;
                string where = remote ? " (" + Endpoint(i.LocalAddress, i.LocalPort) + " ↔ " + Endpoint(i.RemoteAddress, i.RemotePort) + ")" : "";
                return what + who + where;
            }
            return what + " (" + items.Count + " connections)";
        }

        /// <summary>"10.0.0.5:443", "[2001:db8::1]:443"; an IPv4-mapped IPv6 address as its IPv4 address.</summary>
        internal static string Endpoint(string address, int? port)
        {
            if (address != null && IPAddress.TryParse(address, out var ip))
            {
                if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
                address = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + ip + "]" : ip.ToString();
            }
            return address + ":" + port;
        }

        private static string Name(AlertItem i) =>
            UntrustedText.Clean(i.ProcessName ?? "unknown process") + (i.ProcessId != null ? " (PID " + i.ProcessId + ")" : "");

        private static string Proto(TransportProtocol? p) => p == TransportProtocol.Udp ? "UDP" : "TCP";

        internal static string Canonical(IPAddress a) => (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).ToString();

        internal static string Rate(double bytesPerSecond)
        {
            string[] units = { "B/s", "KB/s", "MB/s", "GB/s" };
            int u = 0;
            while (bytesPerSecond >= 1024 && u < units.Length - 1) { bytesPerSecond /= 1024; u++; }
            return bytesPerSecond.ToString(u == 0 ? "0" : "0.0", CultureInfo.InvariantCulture) + " " + units[u];
        }

        public void Dispose()
        {
            lock (_evaluating)
            {
                if (_disposed) return;
                _disposed = true;
            }
            foreach (var s in _states.Values) s.Scan?.Dispose();
        }
    }

    /// <summary>Port-scan evidence for one rule (the port-scan watch adapts to this).</summary>
    internal interface IPortScanSource : IDisposable
    {
        /// <summary>What the source cannot see, one sentence; null if nothing notable.</summary>
        string Limitation { get; }
        /// <summary>Takes the socket-table evidence of a sample.</summary>
        void Observe(AlertSample sample);
        /// <summary>Scans found since the previous call, each once.</summary>
        IReadOnlyList<PortScanFindingInfo> TakeFindings(DateTime nowUtc);
    }

    /// <summary>A scan as the evaluator words it.</summary>
    internal sealed class PortScanFindingInfo
    {
        public string RemoteAddress;
        public IReadOnlyList<int> Ports;
        public string Source;
    }
}
