using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Tracking;

namespace ConnectionsMonitor.Engine.History
{
    /// <summary>
    /// Turns the session's samples (rows plus the tracker's Opened / Closed / StateChanged events) into what the
    /// history stores: a totals row per sample, a process row per name and minute, a connection row per life.
    /// Bytes are deltas of the kernel's per-connection counters between samples (a connection first seen after the
    /// first sample counts its whole counter: it opened within the interval), so they are bytes moved while recording.
    /// A Closed event with the OS's final counters (<see cref="ConnectionEvent.FinalCounters"/>) adds what the connection
    /// moved after its last sample, and a connection that opened and closed between two samples
    /// (<see cref="ConnectionEvent.BetweenSamples"/>) adds all it moved, to the sample's totals and its process's minute.
    /// Pure: no clock, no I/O. Not thread-safe.
    /// </summary>
    internal sealed class HistoryBatchBuilder
    {
        private sealed class Tracked
        {
            public OpenedConnection Opened;
            // The counters when last seen (null: never known); FromZero: opened while recording, so its first counters were all moved now.
            public long? Sent, Received;
            public bool FromZero;
            // Its counters have been through one sample's delta already.
            public bool Counted;
            public string State;
            // Counters or state changed since the row was last written.
            public bool Dirty;
            // The first sample that showed it closed: its row became what an active closer leaves (an ownerless TIME_WAIT or
            // FIN_WAIT2 remnant, ConnectionTracker.IsRemnant). Its life ended then; the remnant stays a minute, so the life
            // stays tracked (its final counters may still come) and ends at this time when the remnant goes or the recording stops.
            public DateTime? ClosedAtUtc;
        }

        private sealed class ProcessAccumulator
        {
            public int Samples, Max;
            public long ConnectionSum;
            public long? Sent, Received;
        }

        private readonly Dictionary<ConnectionKey, Tracked> _open = new Dictionary<ConnectionKey, Tracked>(ConnectionKey.Comparer);
        private readonly Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionKey> _byEndpoints =
            new Dictionary<(TransportProtocol, IPAddress, int, IPAddress, int?), ConnectionKey>();
        private Dictionary<string, ProcessAccumulator> _minute = new Dictionary<string, ProcessAccumulator>(StringComparer.Ordinal);
        private const string NoName = "\0";
        private long _minuteStart = long.MinValue;
        private DateTime? _previousSample;
        private bool _first = true;

        /// <summary>Connections open now (as recorded).</summary>
        public int OpenConnections => _open.Count;

        /// <summary>
        /// The batch for one sample. <paramref name="events"/> are the feed's events for it (the first sample's rows all
        /// reported as Opened); <paramref name="interval"/> is the sampling interval, the period of the first totals row.
        /// </summary>
        public HistoryBatch Add(ConnectionSnapshot sample, IReadOnlyList<ConnectionEvent> events, TimeSpan interval)
        {
            var batch = new HistoryBatch();
            DateTime now = sample.TimeStampUtc;
            bool baseline = _first;
            _first = false;

            // Minute boundary: the process rows of the minute that ended go out with this sample.
            long minute = now.Ticks / TimeSpan.TicksPerMinute;
            if (_minuteStart != long.MinValue && minute != _minuteStart) FlushMinute(batch, TimeSpan.FromMinutes(1));
            _minuteStart = minute;

            long? sent = null, received = null;
            // Bytes of connections that closed since the previous sample, moved after it (none of them is in this sample's rows).
            Dictionary<string, (long? Sent, long? Received)> closing = null;
            foreach (var ev in events)
            {
                var c = ev.Connection;
                switch (ev.Change)
                {
                    case ConnectionChange.Opened:
                        if (_open.ContainsKey(c.Key)) break;
                        // What connections closed before the recording left (a remnant in its first sample) is no life of
                        // the recording: it would say they closed when the recording began (a newcomer's trial).
                        if (baseline && ConnectionTracker.IsRemnant(c)) break;
                        var opened = new OpenedConnection { Row = RowOf(c, now, baseline) };
                        batch.Opened.Add(opened);
                        // Bytes before the first sample were not moved while recording; later arrivals opened within the interval.
                        _open[c.Key] = new Tracked { Opened = opened, FromZero = !baseline, State = opened.Row.State, Sent = c.BytesSent, Received = c.BytesReceived, Counted = false,
                                                     ClosedAtUtc = ConnectionTracker.IsRemnant(c) ? now : (DateTime?)null };
                        _byEndpoints[c.Key.Endpoints] = c.Key;
                        break;
                    case ConnectionChange.Closed:
                        if (!_open.TryGetValue(c.Key, out var gone)) break;
                        _open.Remove(c.Key);
                        if (_byEndpoints.TryGetValue(c.Key.Endpoints, out var k) && k.Equals(c.Key)) _byEndpoints.Remove(c.Key.Endpoints);
                        if (ev.FinalCounters)
                        {
                            // What it moved since its last sample; all of it when no sample counted it (opened while recording).
                            var ds = gone.Counted ? Delta(c.BytesSent, gone.Sent, false) : gone.FromZero ? c.BytesSent : null;
                            var dr = gone.Counted ? Delta(c.BytesReceived, gone.Received, false) : gone.FromZero ? c.BytesReceived : null;
                            sent = Add(sent, ds);
                            received = Add(received, dr);
                            string owner = c.ProcessName ?? NoName;
                            if (closing == null) closing = new Dictionary<string, (long?, long?)>(StringComparer.Ordinal);
                            closing.TryGetValue(owner, out var was);
                            closing[owner] = (Add(was.Sent, ds), Add(was.Received, dr));
                            if (c.BytesSent != null) gone.Sent = c.BytesSent;
                            if (c.BytesReceived != null) gone.Received = c.BytesReceived;
                        }
                        batch.Closed.Add(new ClosedConnection { Connection = gone.Opened, ClosedUtc = gone.ClosedAtUtc ?? now, BytesSent = gone.Sent, BytesReceived = gone.Received, State = gone.State });
                        break;
                    case ConnectionChange.StateChanged:
                        // The same connection; its key changes when its owner does (an exiting process leaves its socket ownerless).
                        if (!_open.TryGetValue(c.Key, out var changed)
                            && _byEndpoints.TryGetValue(c.Key.Endpoints, out var oldKey) && _open.TryGetValue(oldKey, out changed))
                        {
                            _open.Remove(oldKey);
                            _open[c.Key] = changed;
                            _byEndpoints[c.Key.Endpoints] = c.Key;
                        }
                        if (changed != null && c.Protocol == TransportProtocol.Tcp && c.State != null)
                        {
                            changed.State = c.State.ToString();
                            changed.Dirty = true;
                            if (changed.ClosedAtUtc == null && ConnectionTracker.IsRemnant(c)) changed.ClosedAtUtc = now;
                        }
                        break;
                }
            }

            int tcp = 0, udp = 0, established = 0, listening = 0;
            var perProcess = new Dictionary<string, (int Count, long? Sent, long? Received)>(StringComparer.Ordinal);
            foreach (var r in sample.Connections)
            {
                if (r.Protocol == TransportProtocol.Tcp)
                {
                    tcp++;
                    if (r.State == TcpState.Established) established++;
                    else if (r.State == TcpState.Listen) listening++;
                }
                else udp++;
                long? ds = null, dr = null;
                if (_open.TryGetValue(r.Key, out var t))
                {
                    // The first sight of a connection counts only when it opened while recording (its counters are all new).
                    ds = t.Counted ? Delta(r.BytesSent, t.Sent, false) : t.FromZero ? r.BytesSent : null;
                    dr = t.Counted ? Delta(r.BytesReceived, t.Received, false) : t.FromZero ? r.BytesReceived : null;
                    t.Counted = true;
                    if (r.BytesSent != null && r.BytesSent != t.Sent) { t.Sent = r.BytesSent; t.Dirty = true; }
                    if (r.BytesReceived != null && r.BytesReceived != t.Received) { t.Received = r.BytesReceived; t.Dirty = true; }
                }
                sent = Add(sent, ds);
                received = Add(received, dr);
                string name = r.ProcessName ?? NoName;
                perProcess.TryGetValue(name, out var p);
                perProcess[name] = (p.Count + 1, Add(p.Sent, ds), Add(p.Received, dr));
            }
            foreach (var kv in perProcess)
            {
                if (!_minute.TryGetValue(kv.Key, out var acc)) _minute[kv.Key] = acc = new ProcessAccumulator();
                acc.Samples++;
                acc.ConnectionSum += kv.Value.Count;
                if (kv.Value.Count > acc.Max) acc.Max = kv.Value.Count;
                acc.Sent = Add(acc.Sent, kv.Value.Sent);
                acc.Received = Add(acc.Received, kv.Value.Received);
            }
            if (closing != null)
                foreach (var kv in closing)
                {
                    // Bytes only: a process whose connections all opened and closed between samples held none at a sample.
                    if (!_minute.TryGetValue(kv.Key, out var acc)) _minute[kv.Key] = acc = new ProcessAccumulator();
                    acc.Sent = Add(acc.Sent, kv.Value.Sent);
                    acc.Received = Add(acc.Received, kv.Value.Received);
                }

            var period = _previousSample == null || now <= _previousSample.Value ? interval : now - _previousSample.Value;
            _previousSample = now;
            batch.Totals = new TotalsRow
            {
                TimeUtc = now, Period = period, Samples = 1, Tcp = tcp, Udp = udp, Established = established, Listening = listening,
                MaxConnections = tcp + udp, BytesSent = sent, BytesReceived = received,
            };
            return batch;
        }

        /// <summary>
        /// What a stop writes: the process rows of the minute in progress (its Samples say how much of it was seen), and the
        /// end of each life that had closed already (its remnant still in the table): at the sample that first showed it
        /// closed, not by the stop. The rest stay open for the store to close as the recording's (closed_by_stop).
        /// </summary>
        public HistoryBatch Finish()
        {
            var batch = new HistoryBatch();
            if (_minuteStart != long.MinValue) FlushMinute(batch, TimeSpan.FromMinutes(1));
            foreach (var t in _open.Values)
                if (t.ClosedAtUtc != null)
                    batch.Closed.Add(new ClosedConnection { Connection = t.Opened, ClosedUtc = t.ClosedAtUtc.Value, BytesSent = t.Sent, BytesReceived = t.Received, State = t.State });
            return batch;
        }

        private void FlushMinute(HistoryBatch batch, TimeSpan period)
        {
            // Open connections' rows catch up with their counters and state once a minute (not every sample: 10,000 updates a sample).
            foreach (var t in _open.Values)
            {
                if (!t.Dirty) continue;
                batch.Progress.Add(new ClosedConnection { Connection = t.Opened, BytesSent = t.Sent, BytesReceived = t.Received, State = t.State });
                t.Dirty = false;
            }
            var start = new DateTime(_minuteStart * TimeSpan.TicksPerMinute, DateTimeKind.Utc);
            foreach (var kv in _minute)
                batch.Processes.Add(new ProcessRow
                {
                    TimeUtc = start, Period = period, ProcessName = kv.Key == NoName ? null : kv.Key, Samples = kv.Value.Samples,
                    Connections = kv.Value.Samples == 0 ? 0 : (double)kv.Value.ConnectionSum / kv.Value.Samples, MaxConnections = kv.Value.Max,
                    BytesSent = kv.Value.Sent, BytesReceived = kv.Value.Received,
                });
            _minute = new Dictionary<string, ProcessAccumulator>(StringComparer.Ordinal);
        }

        private static long? Delta(long? now, long? before, bool fromZero)
        {
            if (now == null) return null;
            if (before == null) return fromZero ? now : null; // counters of a connection older than the recording: not all moved now
            return now.Value >= before.Value ? now.Value - before.Value : (long?)null; // a reset counter says nothing
        }

        private static long? Add(long? a, long? b) => a == null ? b : b == null ? a : a.Value + b.Value;


        /// <summary>The stored form of a connection: addresses in canonical text, IPv4-mapped IPv6 as IPv4, no remote for listeners.</summary>
        internal static ConnectionRow RowOf(ConnectionRecord c, DateTime seenUtc, bool openBeforeRecording = false)
        {
            string remote = null;
            int? remotePort = null;
            if (c.RemoteAddress != null && !c.RemoteAddress.Equals(IPAddress.Any) && !c.RemoteAddress.Equals(IPAddress.IPv6Any))
            {
                remote = AddressPattern.FormatAddress(AddressPattern.Normalize(c.RemoteAddress));
                remotePort = c.RemotePort == 0 ? null : c.RemotePort;
            }
            return new ConnectionRow
            {
                // Not the session's FirstSeen: the session may have seen it long before this recording (into another file).
                OpenedUtc = c.CreationTime?.ToUniversalTime() ?? seenUtc,
                OpenedBeforeRecording = c.CreationTime == null && openBeforeRecording,
                Protocol = c.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP",
                LocalAddress = c.LocalAddress == null ? "" : AddressPattern.FormatAddress(AddressPattern.Normalize(c.LocalAddress)),
                LocalPort = c.LocalPort,
                RemoteAddress = remote,
                RemotePort = remotePort,
                State = c.Protocol == TransportProtocol.Tcp ? c.State?.ToString() : null,
                ProcessId = c.ProcessId,
                ProcessName = c.ProcessName,
                Country = c.Country,
                Asn = c.Asn,
                AsnOrganization = c.AsnOrganization,
                BytesSent = c.BytesSent,
                BytesReceived = c.BytesReceived,
            };
        }
    }
}
