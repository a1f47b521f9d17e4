using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Tracking;

namespace ConnectionsMonitor.Engine.Metrics
{
    /// <summary>The module's own figures that go with a sample: the session sampler's reads and their time.</summary>
    public struct SamplerFigures
    {
        /// <summary>Table reads the session's sampler has made (all subscribers together).</summary>
        public long Reads;
        /// <summary>Wall-clock seconds spent in those reads.</summary>
        public double ReadSeconds;
        /// <summary>Wall-clock seconds of the latest read.</summary>
        public double LastReadSeconds;
    }

    /// <summary>
    /// The metrics of a session, kept up to date one sample at a time and rendered on demand (a scrape serialises this
    /// state; it never reads the connection table). Gauges are the latest sample's counts. Byte counters are sums of
    /// per-connection deltas between samples, grouped by process name, and never go down:
    /// <list type="bullet">
    /// <item>a connection in the first sample counts nothing of what it moved before (the counters start at 0 with the
    /// endpoint); a connection first seen by a later sample opened within the interval and counts its whole counter;</item>
    /// <item>a Closed event with the OS's final counters adds what the connection moved after its last sample (all of it
    /// for one that opened and closed between two samples), to the process that owned it;</item>
    /// <item>a counter lower than the one last seen for the same endpoints is a new connection on those endpoints and
    /// counts from zero.</item>
    /// </list>
    /// Bounded labels: at most <see cref="TopProcesses"/> process names get series of their own ("admitted"): whenever
    /// there is room, the names of the current sample not yet admitted are ranked by connections, then bytes moved in the
    /// sample, then name, and the first ones fill it. An admitted name keeps its series until the collector is made anew
    /// (a name moving between its own series and <c>other</c> would make both counters go down); every other name
    /// counts in <c>process="other"</c>, connections no process owns in <c>process="none"</c>. Process and rule names are
    /// cleaned with <see cref="UntrustedText.Clean"/> and cut to 128 characters. Not thread-safe: one thread adds samples;
    /// renderings are made on that thread and handed out.
    /// </summary>
    internal sealed class MetricsCollector
    {
        internal const string Other = "other";
        internal const string NoProcess = "none";
        private const int MaxLabelLength = 128;

        private sealed class Tracked
        {
            public long? Sent, Received;
            public long Generation;
            // The cleaned name of the last process seen owning it: what it moves once orphaned (a client's socket after
            // close(), FIN_WAIT2 with the last bytes still leaving; an owner that exited) is still that process's traffic.
            public string Owner;
        }

        private sealed class ProcessSeries
        {
            public int Connections;
            public long Sent, Received;
        }

        private sealed class RuleSeries
        {
            public long Fired, Delivered, Failed, Dropped;
        }

        private static readonly TcpState[] TcpStates =
        {
            TcpState.Established, TcpState.SynSent, TcpState.SynReceived, TcpState.FinWait1, TcpState.FinWait2, TcpState.TimeWait,
            TcpState.Closed, TcpState.CloseWait, TcpState.LastAck, TcpState.Listen, TcpState.Closing, TcpState.DeleteTcb,
        };

        private readonly Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), Tracked> _connections =
            new Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), Tracked>();
        private readonly SortedDictionary<string, ProcessSeries> _processes = new SortedDictionary<string, ProcessSeries>(StringComparer.Ordinal);
        private readonly SortedDictionary<string, RuleSeries> _rules = new SortedDictionary<string, RuleSeries>(StringComparer.Ordinal);
        private readonly Dictionary<AlertRule, RuleSeries> _ruleSeen = new Dictionary<AlertRule, RuleSeries>();
        private readonly Dictionary<TcpState, int> _tcp = new Dictionary<TcpState, int>();
        private int _udpConnected, _udpUnconnected, _tcpListenPorts, _udpListenPorts;
        private long _tcpOpened, _udpOpened, _tcpClosed, _udpClosed;
        private long _generation;
        private bool _first = true, _bytesKnown;
        private int _admitted;
        private SamplerFigures _self;
        private DateTime? _lastSampleUtc;

        /// <param name="topProcesses">Process names with series of their own, at most (1 or more).</param>
        public MetricsCollector(int topProcesses)
        {
            if (topProcesses < 1) throw new ArgumentOutOfRangeException(nameof(topProcesses), topProcesses, "At least one process name.");
            TopProcesses = topProcesses;
            _processes[Other] = new ProcessSeries();
            _processes[NoProcess] = new ProcessSeries();
        }

        /// <summary>Process names that may have series of their own (besides other and none).</summary>
        public int TopProcesses { get; }

        /// <summary>Process names admitted so far.</summary>
        public int AdmittedProcesses => _admitted;

        /// <summary>Samples added so far.</summary>
        public long Samples { get; private set; }

        /// <summary>
        /// Takes one sample: its rows (the configuration's filters applied) and its events (Opened, Closed, StateChanged
        /// since the previous sample, with the OS's final counters where it reports closings).
        /// </summary>
        public void Add(ConnectionSnapshot sample, IReadOnlyList<ConnectionEvent> events, SamplerFigures self)
        {
            bool baseline = _first;
            _first = false;
            long generation = ++_generation;
            Samples++;
            _self = self;
            _lastSampleUtc = sample.TimeStampUtc;

            // This sample's bytes and connections per cleaned process name (null: no owner).
            var moved = new Dictionary<string, ProcessSeries>(StringComparer.Ordinal);
            ProcessSeries noOwner = new ProcessSeries();
            ProcessSeries Of(string name)
            {
                if (name == null) return noOwner;
                if (!moved.TryGetValue(name, out var p)) moved[name] = p = new ProcessSeries();
                return p;
            }

            foreach (var ev in events)
            {
                var c = ev.Connection;
                bool tcp = c.Protocol == TransportProtocol.Tcp;
                if (ev.Change == ConnectionChange.Opened) { if (tcp) _tcpOpened++; else _udpOpened++; }
                if (ev.Change != ConnectionChange.Closed) continue;
                if (tcp) _tcpClosed++; else _udpClosed++;
                var key = c.Endpoints;
                _connections.TryGetValue(key, out var known);
                _connections.Remove(key);
                if (!ev.FinalCounters) continue;
                // What it moved after its last sample; all of it when no sample saw it (it opened after the previous one).
                // In the name of the process that owned it, when it closes ownerless.
                var p = Of(Name(c.ProcessName) ?? known?.Owner);
                p.Sent += Delta(c.BytesSent, known?.Sent, countWhole: known == null);
                p.Received += Delta(c.BytesReceived, known?.Received, countWhole: known == null);
                if (c.BytesSent != null || c.BytesReceived != null) _bytesKnown = true;
            }

            _tcp.Clear();
            _udpConnected = _udpUnconnected = 0;
            var tcpPorts = new HashSet<int>();
            var udpPorts = new HashSet<int>();
            foreach (var r in sample.Connections)
            {
                if (r.Protocol == TransportProtocol.Tcp)
                {
                    if (r.State != null) _tcp[r.State.Value] = _tcp.TryGetValue(r.State.Value, out int n) ? n + 1 : 1;
                    if (r.State == TcpState.Listen) tcpPorts.Add(r.LocalPort);
                }
                else if (r.RemoteAddress == null || r.RemotePort == null || r.RemotePort == 0) { _udpUnconnected++; udpPorts.Add(r.LocalPort); }
                else _udpConnected++;

                string owner = Name(r.ProcessName);
                Of(owner).Connections++;
                var key = r.Endpoints;
                if (!_connections.TryGetValue(key, out var t)) _connections[key] = t = new Tracked();
                if (owner != null) t.Owner = owner;
                else owner = t.Owner; // orphaned (counted above as no process's connection): its bytes are still its last owner's
                var p = Of(owner);
                if (t.Generation == 0) // first sight
                {
                    // First sight: the first sample's connections count nothing of the past; later ones opened within the interval.
                    p.Sent += baseline ? 0 : Delta(r.BytesSent, null, countWhole: true);
                    p.Received += baseline ? 0 : Delta(r.BytesReceived, null, countWhole: true);
                }
                else
                {
                    p.Sent += Delta(r.BytesSent, t.Sent, countWhole: t.Sent == null && !baseline);
                    p.Received += Delta(r.BytesReceived, t.Received, countWhole: t.Received == null && !baseline);
                }
                if (r.BytesSent != null) t.Sent = r.BytesSent;
                if (r.BytesReceived != null) t.Received = r.BytesReceived;
                if (r.BytesSent != null || r.BytesReceived != null) _bytesKnown = true;
                t.Generation = generation;
            }
            _tcpListenPorts = tcpPorts.Count;
            _udpListenPorts = udpPorts.Count;
            // Connections gone without a Closed event (left the configuration's filters): forgotten.
            if (_connections.Count > sample.Connections.Count)
            {
                var gone = new List<(TransportProtocol, IPAddress, int, IPAddress, int?)>();
                foreach (var kv in _connections) if (kv.Value.Generation != generation) gone.Add(kv.Key);
                foreach (var k in gone) _connections.Remove(k);
            }

            Admit(moved);

            foreach (var s in _processes.Values) s.Connections = 0;
            foreach (var kv in moved)
            {
                var target = _processes.TryGetValue(kv.Key, out var own) && kv.Key != Other && kv.Key != NoProcess ? own : _processes[kv.Key == NoProcess ? NoProcess : Other];
                target.Connections += kv.Value.Connections;
                target.Sent += kv.Value.Sent;
                target.Received += kv.Value.Received;
            }
            var none = _processes[NoProcess];
            none.Connections += noOwner.Connections;
            none.Sent += noOwner.Sent;
            none.Received += noOwner.Received;
        }

        private void Admit(Dictionary<string, ProcessSeries> moved)
        {
            if (_admitted >= TopProcesses) return;
            var candidates = new List<KeyValuePair<string, ProcessSeries>>();
            foreach (var kv in moved)
                if (kv.Key != Other && kv.Key != NoProcess && !_processes.ContainsKey(kv.Key)) candidates.Add(kv);
            candidates.Sort((a, b) =>
            {
                int c = b.Value.Connections.CompareTo(a.Value.Connections);
                if (c != 0) return c;
                c = (b.Value.Sent + b.Value.Received).CompareTo(a.Value.Sent + a.Value.Received);
                return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
            });
            foreach (var kv in candidates)
            {
                if (_admitted >= TopProcesses) break;
                _processes[kv.Key] = new ProcessSeries();
                _admitted++;
            }
        }

        /// <summary>Takes the alert rules' state (fired, delivered, failed, dropped), adding what each rule counted since the last call to its name's totals.</summary>
        public void SetAlerts(IReadOnlyList<AlertRuleState> rules)
        {
            var present = new HashSet<AlertRule>();
            foreach (var state in rules)
            {
                present.Add(state.Rule);
                string name = Clean(state.Rule.Name) ?? "";
                if (!_rules.TryGetValue(name, out var total)) _rules[name] = total = new RuleSeries();
                if (!_ruleSeen.TryGetValue(state.Rule, out var seen)) _ruleSeen[state.Rule] = seen = new RuleSeries();
                var d = state.Delivery;
                total.Fired += Math.Max(0, state.Fired - seen.Fired);
                total.Delivered += Math.Max(0, (d?.Delivered ?? 0) - seen.Delivered);
                total.Failed += Math.Max(0, (d?.Failed ?? 0) - seen.Failed);
                total.Dropped += Math.Max(0, (d?.Dropped ?? 0) - seen.Dropped);
                seen.Fired = Math.Max(seen.Fired, state.Fired);
                seen.Delivered = Math.Max(seen.Delivered, d?.Delivered ?? 0);
                seen.Failed = Math.Max(seen.Failed, d?.Failed ?? 0);
                seen.Dropped = Math.Max(seen.Dropped, d?.Dropped ?? 0);
            }
            var removed = new List<AlertRule>();
            foreach (var r in _ruleSeen.Keys) if (!present.Contains(r)) removed.Add(r);
            foreach (var r in removed) _ruleSeen.Remove(r); // its name's totals stay (a rule registered again adds to them)
        }

        private readonly List<(string Log, Alerts.Delivery.SystemLogRecordKind Kind, Alerts.Delivery.SystemLogCounts Counts)> _systemLogs =
            new List<(string, Alerts.Delivery.SystemLogRecordKind, Alerts.Delivery.SystemLogCounts)>();

        /// <summary>
        /// Takes the system log senders' counts (null: that log is off). They count since the session made the sender
        /// (the first alert rule or watcher that found the log on), so they are counters that may be older than the endpoint.
        /// </summary>
        public void SetSystemLogs(Alerts.Delivery.SyslogSender syslog, Alerts.Delivery.EventLogSender eventLog)
        {
            _systemLogs.Clear();
            foreach (var kind in new[] { Alerts.Delivery.SystemLogRecordKind.Alert, Alerts.Delivery.SystemLogRecordKind.Connection })
            {
                if (syslog != null) _systemLogs.Add(("syslog", kind, syslog.Counts(kind)));
                if (eventLog != null) _systemLogs.Add(("eventlog", kind, eventLog.Counts(kind)));
            }
            _systemLogs.Sort((a, b) => string.CompareOrdinal(a.Log, b.Log) != 0 ? string.CompareOrdinal(a.Log, b.Log) : a.Kind.CompareTo(b.Kind));
        }

        /// <summary>The exposition of the current state.</summary>
        public string Render(ExpositionFormat format)
        {
            var w = new ExpositionWriter(format);
            w.Family("connectionsmonitor_connections", MetricType.Gauge,
                "Connections open at the latest sample, by protocol and state (TCP states as node_exporter's tcpstat names them; UDP: established or unconnected).");
            foreach (var state in TcpStates)
            {
                if (state == TcpState.DeleteTcb && !_tcp.ContainsKey(state)) continue; // Windows only
                w.Sample(_tcp.TryGetValue(state, out int n) ? n : 0, "protocol", "tcp", "state", StateName(state));
            }
            w.Sample(_udpConnected, "protocol", "udp", "state", "established");
            w.Sample(_udpUnconnected, "protocol", "udp", "state", "unconnected");

            w.Family("connectionsmonitor_listening_ports", MetricType.Gauge,
                "Distinct local ports with a TCP listener or an unconnected UDP socket at the latest sample.");
            w.Sample(_tcpListenPorts, "protocol", "tcp");
            w.Sample(_udpListenPorts, "protocol", "udp");

            w.Family("connectionsmonitor_process_connections", MetricType.Gauge,
                "Connections open at the latest sample, by process name (the top names; other for the rest, none for connections no process owns).");
            foreach (var kv in _processes) w.Sample(kv.Value.Connections, "process", kv.Key);

            if (_bytesKnown)
            {
                w.Family("connectionsmonitor_process_transmit_bytes_total", MetricType.Counter,
                    "Payload bytes sent and acknowledged by the peer, by process name, since the endpoint started (TCP; from the OS's per-connection counters).");
                foreach (var kv in _processes) w.Sample(kv.Value.Sent, "process", kv.Key);
                w.Family("connectionsmonitor_process_receive_bytes_total", MetricType.Counter,
                    "Payload bytes received, by process name, since the endpoint started (TCP; from the OS's per-connection counters).");
                foreach (var kv in _processes) w.Sample(kv.Value.Received, "process", kv.Key);
            }

            w.Family("connectionsmonitor_connections_opened_total", MetricType.Counter, "Connections seen opening since the endpoint started, by protocol.");
            w.Sample(_tcpOpened, "protocol", "tcp");
            w.Sample(_udpOpened, "protocol", "udp");
            w.Family("connectionsmonitor_connections_closed_total", MetricType.Counter, "Connections seen closing since the endpoint started, by protocol.");
            w.Sample(_tcpClosed, "protocol", "tcp");
            w.Sample(_udpClosed, "protocol", "udp");

            w.Family("connectionsmonitor_alerts_fired_total", MetricType.Counter, "Alerts raised by each alert rule of the session since the endpoint started.");
            foreach (var kv in _rules) w.Sample(kv.Value.Fired, "rule", kv.Key);
            w.Family("connectionsmonitor_alert_webhook_deliveries_total", MetricType.Counter, "Webhook messages of each alert rule accepted by their target (HTTP 2xx), counted per target.");
            foreach (var kv in _rules) w.Sample(kv.Value.Delivered, "rule", kv.Key);
            w.Family("connectionsmonitor_alert_webhook_failures_total", MetricType.Counter, "Webhook messages of each alert rule given up on after their retries, counted per target.");
            foreach (var kv in _rules) w.Sample(kv.Value.Failed, "rule", kv.Key);
            w.Family("connectionsmonitor_alert_webhook_dropped_total", MetricType.Counter, "Webhook messages of each alert rule dropped because the delivery queue was full.");
            foreach (var kv in _rules) w.Sample(kv.Value.Dropped, "rule", kv.Key);

            if (_systemLogs.Count > 0)
            {
                w.Family("connectionsmonitor_system_log_records_total", MetricType.Counter,
                    "Records for the system logs (alerts.syslog, alerts.eventLog) by log (syslog, eventlog), kind (alert, connection) and outcome: " +
                    "sent (the log took it), failed (could not be written), dropped (queue full or over the connection-record rate); since the session's sender started.");
                foreach (var (log, kind, counts) in _systemLogs)
                {
                    string k = kind == Alerts.Delivery.SystemLogRecordKind.Alert ? "alert" : "connection";
                    w.Sample(counts.Sent, new KeyValuePair<string, string>("log", log), new KeyValuePair<string, string>("kind", k), new KeyValuePair<string, string>("outcome", "sent"));
                    w.Sample(counts.Failed, new KeyValuePair<string, string>("log", log), new KeyValuePair<string, string>("kind", k), new KeyValuePair<string, string>("outcome", "failed"));
                    w.Sample(counts.Dropped, new KeyValuePair<string, string>("log", log), new KeyValuePair<string, string>("kind", k), new KeyValuePair<string, string>("outcome", "dropped"));
                }
            }

            w.Family("connectionsmonitor_samples_total", MetricType.Counter, "Connection table reads made by the session's sampler (for every subscriber).");
            w.Sample(_self.Reads);
            w.Family("connectionsmonitor_sample_seconds_total", MetricType.Counter, "Wall-clock seconds the session's sampler spent reading the connection table.");
            w.Sample(_self.ReadSeconds);
            w.Family("connectionsmonitor_sample_duration_seconds", MetricType.Gauge, "Wall-clock seconds of the sampler's latest connection table read.");
            w.Sample(_self.LastReadSeconds);
            w.Family("connectionsmonitor_last_sample_timestamp_seconds", MetricType.Gauge, "Time of the sample these metrics come from, in seconds since the Unix epoch.");
            if (_lastSampleUtc != null) w.Sample((_lastSampleUtc.Value - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds);
            return w.Finish();
        }

        internal static string StateName(TcpState s)
        {
            switch (s)
            {
                case TcpState.Established: return "established";
                case TcpState.SynSent: return "syn_sent";
                case TcpState.SynReceived: return "syn_recv";
                case TcpState.FinWait1: return "fin_wait1";
                case TcpState.FinWait2: return "fin_wait2";
                case TcpState.TimeWait: return "time_wait";
                case TcpState.Closed: return "close";
                case TcpState.CloseWait: return "close_wait";
                case TcpState.LastAck: return "last_ack";
                case TcpState.Listen: return "listen";
                case TcpState.Closing: return "closing";
                default: return "delete_tcb";
            }
        }

        private static long Delta(long? now, long? before, bool countWhole)
        {
            if (now == null) return 0;
            if (before == null) return countWhole ? now.Value : 0;
            return now.Value >= before.Value ? now.Value - before.Value : now.Value; // lower: a new connection on the same endpoints
        }

        private static string Name(string processName) => string.IsNullOrEmpty(processName) ? null : Clean(processName) ?? NoProcess;

        private static string Clean(string text)
        {
            if (text == null) return null;
            var clean = UntrustedText.Clean(text);
            if (clean.Length > MaxLabelLength) clean = clean.Substring(0, MaxLabelLength);
            return clean.Length == 0 ? null : clean;
        }

    }
}
