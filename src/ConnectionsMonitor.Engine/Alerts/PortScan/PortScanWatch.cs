using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Tracking;

namespace ConnectionsMonitor.Engine.Alerts.PortScan
{
    /// <summary>
    /// What a PortScan alert condition watches: inbound connection attempts, counted per remote address
    /// by a <see cref="PortScanDetector"/>. Three kinds of evidence:
    /// <list type="bullet">
    /// <item>Packet capture, where the platform offers it (<see cref="IInboundSynCapture"/> with
    /// <see cref="InboundAttemptKind.Syn"/>; Linux with CAP_NET_RAW): every SYN addressed to this host,
    /// also to closed ports and from half-open scans. Findings say <see cref="PortScanFinding.PacketCapture"/>.</item>
    /// <item>ETW accept events (<see cref="InboundAttemptKind.AcceptedConnection"/>; Windows, elevated):
    /// every connection the kernel accepts on a listening port, as it happens, so a connect scan whose
    /// connections open and close between two samples still counts. Probes of closed ports, half-open
    /// scans and UDP scans make no accept: <see cref="Limitation"/> says so while it runs. Findings say
    /// <see cref="PortScanFinding.AcceptEvents"/>.</item>
    /// <item>The socket table otherwise: a TCP connection that appeared in a sample (an Opened event) and
    /// whose local port has a listener in that sample (same or wildcard local address) is one attempt from
    /// its remote address. A connection whose local port is not listening is one of ours (outbound) and
    /// never counts. Needs samples that include the listeners (no port or state filter).</item>
    /// </list>
    /// While a real-time source (the first two) runs, the socket table is not used: every connection the
    /// table could show as accepted was accepted, and so already seen by either source. (A SYN_RECEIVED
    /// row, a handshake still open, is the one thing the table shows that an accept does not; it lasts
    /// about one round trip, so a sample almost never catches one.) When the source stops on its own,
    /// the watch falls back to the table and <see cref="Limitation"/> says why.
    /// Thread-safe: <see cref="Observe"/> and <see cref="TakeFindings"/> may come from different threads.
    /// Dispose stops the source (its thread is joined).
    /// </summary>
    public sealed class PortScanWatch : IDisposable
    {
        private readonly object _gate = new object();
        private readonly PortScanDetector _detector;
        private readonly List<PortScanFinding> _findings = new List<PortScanFinding>();
        private readonly string _tableLimitation;
        private IInboundSynSource _capture;
        private bool _capturing;
        private string _limitation;
        private bool _disposed;

        /// <summary>What a watch reading ETW accept events still misses (its <see cref="Limitation"/> while they flow).</summary>
        public const string AcceptEventsLimitation =
            "On Windows accepted connections are seen as they happen (ETW accept events); probes of closed ports, " +
            "half-open SYN scans and UDP scans make no accept and are missed.";

        /// <summary>
        /// A watch for <paramref name="scanPorts"/> distinct local ports from one address within
        /// <paramref name="window"/>; starts the real-time source of inbound attempts when
        /// <paramref name="platform"/> offers one (<see cref="IInboundSynCapture"/>: SYN capture on Linux,
        /// ETW accept events on Windows) and the process may (else <see cref="Limitation"/> says what is
        /// missed; no exception).
        /// </summary>
        public PortScanWatch(IPlatform platform, int scanPorts, TimeSpan window)
            : this(platform, scanPorts, window, (platform as IInboundSynCapture)?.CreateInboundSynSource())
        {
        }

        /// <summary>As the public constructor with the source given (null: socket table only); the watch starts and disposes it.</summary>
        internal PortScanWatch(IPlatform platform, int scanPorts, TimeSpan window, IInboundSynSource capture)
        {
            if (platform == null) throw new ArgumentNullException(nameof(platform));
            _detector = new PortScanDetector(scanPorts, window);
            _tableLimitation = platform.Name == "Windows"
                ? "On Windows without ETW accept events only connections accepted on listening ports that a sample of the socket table shows are seen: connections opened and closed between two samples, probes of closed ports, half-open SYN scans and UDP scans are missed."
                : "Probes of closed ports are not visible without packet capture (needs root / CAP_NET_RAW); half-open SYN scans may be missed between samples.";
            if (capture != null)
            {
                bool accepts = capture.Kind == InboundAttemptKind.AcceptedConnection;
                string refused;
                try { refused = capture.Start(); }
                catch (Exception ex) when (!(ex is OutOfMemoryException))
                {
                    refused = (accepts ? "ETW accept events" : "Packet capture of inbound SYNs") + " could not start (" +
                              ex.Message.TrimEnd('.') + "); watching accepted connections in the socket table instead.";
                }
                if (refused == null)
                {
                    _capture = capture;
                    _capturing = true;
                    _detector.Source = accepts ? PortScanFinding.AcceptEvents : PortScanFinding.PacketCapture;
                    _limitation = accepts ? AcceptEventsLimitation : null;
                }
                else
                {
                    capture.Dispose();
                    _limitation = refused;
                }
            }
            else _limitation = _tableLimitation;
        }

        /// <summary>
        /// One sentence on what this watch cannot see: why there is no real-time source and what the socket
        /// table misses; while ETW accept events run, <see cref="AcceptEventsLimitation"/> (closed ports,
        /// half-open and UDP scans); null while packet capture runs (it sees every inbound TCP attempt).
        /// When a source stops on its own, its failure.
        /// </summary>
        public string Limitation { get { lock (_gate) { CheckCapture(); return _limitation; } } }

        /// <summary>
        /// True while a real-time source of inbound attempts runs (SYN capture on Linux, ETW accept events on
        /// Windows); the socket table is then not used.
        /// </summary>
        public bool IsCapturing { get { lock (_gate) { CheckCapture(); return _capturing; } } }

        /// <summary>Distinct local ports that make a scan.</summary>
        public int ScanPorts => _detector.ScanPorts;

        /// <summary>The sliding window.</summary>
        public TimeSpan Window => _detector.Window;

        /// <summary>
        /// Socket-table evidence from one sample and the tracker's events for it (ConnectionTracker.Update):
        /// each Opened TCP connection accepted on a listening port is an attempt from its remote address at
        /// the sample's time. Ignored while a real-time source runs (it has seen those attempts already).
        /// </summary>
        public void Observe(ConnectionSnapshot sample, IReadOnlyList<ConnectionEvent> events)
        {
            if (sample == null) throw new ArgumentNullException(nameof(sample));
            if (events == null || events.Count == 0) return;
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(PortScanWatch));
                CheckCapture();
                if (_capturing) return;
                Dictionary<int, List<IPAddress>> listeners = null;
                foreach (var ev in events)
                {
                    if (ev.Change != ConnectionChange.Opened) continue;
                    var c = ev.Connection;
                    if (!IsInboundCandidate(c)) continue;
                    if (listeners == null) listeners = Listeners(sample);
                    if (!listeners.TryGetValue(c.LocalPort, out var addresses) || !Covers(addresses, c.LocalAddress)) continue; // ours: outbound
                    Add(_detector.Observe(c.RemoteAddress, c.LocalPort, ev.TimeStampUtc));
                }
            }
        }

        /// <summary>
        /// The findings since the previous call, each once; first takes the attempts the real-time source read since then.
        /// Remotes quiet for a whole window at <paramref name="nowUtc"/> are forgotten.
        /// </summary>
        public IReadOnlyList<PortScanFinding> TakeFindings(DateTime nowUtc)
        {
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(PortScanWatch));
                if (_capture != null)
                {
                    foreach (var syn in _capture.Drain())
                        Add(_detector.Observe(syn.RemoteAddress, syn.LocalPort, syn.TimeUtc));
                    CheckCapture();
                }
                _detector.Expire(nowUtc);
                if (_findings.Count == 0) return Array.Empty<PortScanFinding>();
                var taken = _findings.ToArray();
                _findings.Clear();
                return taken;
            }
        }

        private void Add(PortScanFinding f)
        {
            if (f != null) _findings.Add(f);
        }

        /// <summary>A real-time source that stopped on its own: fall back to the socket table and say why.</summary>
        private void CheckCapture()
        {
            if (!_capturing) return;
            string failure = _capture.Failure;
            if (failure == null) return;
            _capturing = false;
            _limitation = failure;
            _detector.Source = PortScanFinding.SocketTable;
        }

        private static bool IsInboundCandidate(ConnectionRecord c)
        {
            if (c.Protocol != TransportProtocol.Tcp || c.RemoteAddress == null) return false;
            if (c.RemoteAddress.Equals(IPAddress.Any) || c.RemoteAddress.Equals(IPAddress.IPv6Any)) return false;
            // Listen is no connection; SynSent is always ours (a client connecting); Closed rows carry no peer.
            return c.State != TcpState.Listen && c.State != TcpState.SynSent && c.State != TcpState.Closed;
        }

        private static Dictionary<int, List<IPAddress>> Listeners(ConnectionSnapshot sample)
        {
            var byPort = new Dictionary<int, List<IPAddress>>();
            foreach (var c in sample.Connections)
            {
                if (c.Protocol != TransportProtocol.Tcp || c.State != TcpState.Listen || c.LocalAddress == null) continue;
                if (!byPort.TryGetValue(c.LocalPort, out var list)) byPort[c.LocalPort] = list = new List<IPAddress>(1);
                list.Add(PortScanDetector.Canonical(c.LocalAddress));
            }
            return byPort;
        }

        /// <summary>A listener on the wildcard address (either family: a dual-stack [::] takes IPv4 too) or on this very address.</summary>
        private static bool Covers(List<IPAddress> listening, IPAddress local)
        {
            if (local == null) return false;
            local = PortScanDetector.Canonical(local);
            foreach (var a in listening)
                if (a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any) || a.Equals(local)) return true;
            return false;
        }

        /// <summary>Stops the real-time source (Linux: joins the capture thread, closes its socket; Windows: stops the ETW session).</summary>
        public void Dispose()
        {
            IInboundSynSource capture;
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                capture = _capture;
                _capture = null;
                _capturing = false;
            }
            capture?.Dispose();
        }
    }
}
