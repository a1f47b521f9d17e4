using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>
    /// Sends alerts to syslog as RFC 5424 messages (README, "System log (SIEM)"): over a unix datagram socket
    /// (/dev/log), UDP (RFC 5426, one message per datagram) or TCP (RFC 6587 octet counting, "LEN SP MSG").
    /// Never blocks the caller: <see cref="Enqueue"/> puts the message in a bounded queue (the oldest is dropped
    /// and counted when it is full) and one background thread sends. Failures are counted; the first is said
    /// once through <see cref="TakeWarnings"/>. Thread-safe.
    /// </summary>
    public sealed class SyslogSender : IDisposable
    {
        /// <summary>The SD-ID of the structured data: "connectionsmonitor" at the documentation enterprise number 32473 (RFC 5612).</summary>
        public const string SdId = "connectionsmonitor@32473";
        /// <summary>Messages waiting at most; more drop the oldest.</summary>
        public const int QueueLimit = 1000;

        private readonly string _transport, _host, _target;
        private readonly int _port, _facility;
        private readonly string _appName;
        private readonly Queue<byte[]> _queue = new Queue<byte[]>();
        private readonly object _gate = new object();
        private readonly List<string> _warnings = new List<string>();
        private readonly Thread _thread;
        private Socket _socket;
        private int _busy;
        private bool _stopping, _warned;
        private long _sent, _failed, _dropped;

        /// <summary>A sender for the configured target (alerts.syslog).</summary>
        public SyslogSender(SyslogConfig config)
            : this(config.Transport, config.Host, config.Port, config.FacilityCode, config.AppName, config.Target) { }

        internal SyslogSender(string transport, string host, int port, int facility, string appName, string target = null)
        {
            _transport = transport;
            _host = host;
            _port = port;
            _facility = facility;
            _appName = appName;
            _target = target ?? (transport == "unix" ? "unix://" + host : transport + "://" + host + ":" + port.ToString(CultureInfo.InvariantCulture));
            _thread = new Thread(Run) { IsBackground = true, Name = "cmon-syslog" };
            _thread.Start();
        }

        /// <summary>Messages a collector's socket took.</summary>
        public long Sent => Interlocked.Read(ref _sent);
        /// <summary>Messages that could not be sent.</summary>
        public long Failed => Interlocked.Read(ref _failed);
        /// <summary>Messages dropped because the queue was full.</summary>
        public long Dropped => Interlocked.Read(ref _dropped);
        /// <summary>The latest failure; null if none.</summary>
        public string LastError { get; private set; }

        /// <summary>Formats <paramref name="alert"/> and queues it; returns at once.</summary>
        public void Enqueue(AlertEvent alert)
        {
            if (alert == null) return;
            byte[] bytes = Encoding.UTF8.GetBytes(Format(alert, _facility, _appName, ProcessId));
            lock (_gate)
            {
                if (_stopping) return;
                if (_queue.Count >= QueueLimit)
                {
                    _queue.Dequeue();
                    Interlocked.Increment(ref _dropped);
                    Warn("Syslog " + _target + ": the queue was full (" + QueueLimit + " messages); the oldest were dropped (counted, not said again).");
                }
                _queue.Enqueue(bytes);
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Waits up to <paramref name="timeout"/> until the queue is empty and nothing is being sent; true if so.</summary>
        public bool Flush(TimeSpan timeout)
        {
            var until = DateTime.UtcNow + timeout;
            lock (_gate)
            {
                while (_queue.Count > 0 || _busy > 0)
                {
                    var left = until - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero) return false;
                    Monitor.Wait(_gate, left);
                }
                return true;
            }
        }

        /// <summary>Warnings not said yet (each once).</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            lock (_warnings) { var w = _warnings.ToArray(); _warnings.Clear(); return w; }
        }

        private void Warn(string text)
        {
            lock (_warnings) if (!_warnings.Contains(text)) _warnings.Add(text);
        }

        private void Run()
        {
            while (true)
            {
                byte[] message;
                lock (_gate)
                {
                    while (_queue.Count == 0 && !_stopping) Monitor.Wait(_gate);
                    if (_queue.Count == 0) return;
                    message = _queue.Dequeue();
                    _busy = 1;
                }
                try
                {
                    Send(message);
                    Interlocked.Increment(ref _sent);
                }
                catch (Exception ex) when (ex is SocketException || ex is ObjectDisposedException || ex is System.IO.IOException || ex is PlatformNotSupportedException || ex is ArgumentException)
                {
                    CloseSocket();
                    Interlocked.Increment(ref _failed);
                    LastError = "Syslog " + _target + ": " + ex.Message;
                    if (!_warned)
                    {
                        _warned = true;
                        Warn(LastError + " (further failures are counted, not said again).");
                    }
                }
                finally
                {
                    lock (_gate) { _busy = 0; Monitor.PulseAll(_gate); }
                }
            }
        }

        private void Send(byte[] message)
        {
            switch (_transport)
            {
                case "unix":
                    if (_socket == null)
                    {
                        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
                        _socket.Connect(UnixEndPoint(_host));
                    }
                    _socket.Send(message);
                    break;
                case "udp":
                    if (_socket == null)
                    {
                        var address = Resolve(_host);
                        _socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                        _socket.Connect(new IPEndPoint(address, _port));
                    }
                    _socket.Send(message);
                    break;
                case "tcp":
                    // One reconnect: a collector that restarted closed our old connection.
                    for (int attempt = 0; ; attempt++)
                    {
                        bool fresh = _socket == null;
                        try
                        {
                            if (_socket == null)
                            {
                                var address = Resolve(_host);
                                var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { SendTimeout = 5000, NoDelay = true };
                                var connect = s.BeginConnect(new IPEndPoint(address, _port), null, null);
                                if (!connect.AsyncWaitHandle.WaitOne(5000)) { s.Close(); throw new SocketException((int)SocketError.TimedOut); }
                                s.EndConnect(connect);
                                _socket = s;
                            }
                            _socket.Send(Frame(message));
                            return;
                        }
                        catch (SocketException) when (!fresh && attempt == 0)
                        {
                            CloseSocket();
                        }
                    }
                default:
                    throw new ArgumentException("unknown syslog transport '" + _transport + "'.");
            }
        }

        /// <summary>RFC 6587 §3.4.1 octet counting: the message's length in bytes, a space, the message.</summary>
        internal static byte[] Frame(byte[] message)
        {
            byte[] prefix = Encoding.ASCII.GetBytes(message.Length.ToString(CultureInfo.InvariantCulture) + " ");
            var framed = new byte[prefix.Length + message.Length];
            Buffer.BlockCopy(prefix, 0, framed, 0, prefix.Length);
            Buffer.BlockCopy(message, 0, framed, prefix.Length, message.Length);
            return framed;
        }

        private static IPAddress Resolve(string host)
        {
            if (IPAddress.TryParse(host, out var address)) return address;
            var all = Dns.GetHostAddresses(host);
            if (all.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
            return all[0];
        }

        /// <summary>
        /// System.Net.Sockets.UnixDomainSocketEndPoint: in every runtime PowerShell 7 runs on (.NET Core 2.1+), not in
        /// netstandard2.0's reference surface, so it is made by reflection; Windows PowerShell 5.1 (.NET Framework) has none.
        /// </summary>
        internal static EndPoint UnixEndPoint(string path)
        {
            var type = Type.GetType("System.Net.Sockets.UnixDomainSocketEndPoint, System.Net.Sockets", false)
                       ?? typeof(Socket).Assembly.GetType("System.Net.Sockets.UnixDomainSocketEndPoint", false);
            if (type == null) throw new PlatformNotSupportedException("unix domain sockets need PowerShell 7 (.NET); use a udp:// or tcp:// target here.");
            return (EndPoint)Activator.CreateInstance(type, path);
        }

        private void CloseSocket()
        {
            try { _socket?.Dispose(); } catch (Exception) { }
            _socket = null;
        }

        private static readonly int ProcessId = GetProcessId();

        private static int GetProcessId()
        {
            using (var p = System.Diagnostics.Process.GetCurrentProcess()) return p.Id;
        }

        /// <summary>Stops the thread after at most two seconds of sending what is queued, and closes the socket.</summary>
        public void Dispose()
        {
            Flush(TimeSpan.FromSeconds(2));
            lock (_gate) { _stopping = true; _queue.Clear(); Monitor.PulseAll(_gate); }
            _thread.Join(TimeSpan.FromSeconds(5));
            CloseSocket();
        }

        // ---- RFC 5424 formatting ----

        /// <summary>Severity of an alert: Firing and Repeating warning (4), Test notice (5), Resolved informational (6).</summary>
        public static int Severity(AlertStatus status)
        {
            switch (status)
            {
                case AlertStatus.Resolved: return 6;
                case AlertStatus.Test: return 5;
                default: return 4;
            }
        }

        /// <summary>
        /// The RFC 5424 message: <c>&lt;PRI&gt;1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [connectionsmonitor@32473 …] BOM MSG</c>.
        /// TIMESTAMP is the alert's time in UTC with microseconds ("2026-03-01T12:00:03.250000Z"); MSGID the alert kind;
        /// MSG the summary, <see cref="UntrustedText.Clean"/>ed, after a UTF-8 byte order mark (U+FEFF, RFC 5424 §6.4).
        /// </summary>
        public static string Format(AlertEvent a, int facility, string appName, int processId)
        {
            var sb = new StringBuilder(256);
            sb.Append('<').Append((facility * 8 + Severity(a.Status)).ToString(CultureInfo.InvariantCulture)).Append(">1 ");
            sb.Append(a.TimeUtc.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)).Append(' ');
            sb.Append(Header(a.HostName, 255)).Append(' ');
            sb.Append(Header(appName, 48)).Append(' ');
            sb.Append(processId.ToString(CultureInfo.InvariantCulture)).Append(' ');
            sb.Append(Header(a.Kind.ToString(), 32)).Append(' ');
            sb.Append('[').Append(SdId);
            Param(sb, "id", a.Id.ToString("D"));
            Param(sb, "rule", a.RuleName);
            Param(sb, "kind", a.Kind.ToString());
            Param(sb, "status", a.Status.ToString().ToLowerInvariant());
            Param(sb, "subject", a.Subject);
            Param(sb, "value", Number(a.Value));
            Param(sb, "threshold", Number(a.Threshold));
            Param(sb, "items", a.Items.Count.ToString(CultureInfo.InvariantCulture));
            AlertItem i = null;
            foreach (var item in a.Items) if (item != null) { i = item; break; }
            if (i != null)
            {
                Param(sb, "protocol", i.Protocol == null ? null : i.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP");
                Param(sb, "localAddress", i.LocalAddress);
                Param(sb, "localPort", i.LocalPort?.ToString(CultureInfo.InvariantCulture));
                Param(sb, "remoteAddress", i.RemoteAddress);
                Param(sb, "remotePort", i.RemotePort?.ToString(CultureInfo.InvariantCulture));
                Param(sb, "process", i.ProcessName);
                Param(sb, "pid", i.ProcessId?.ToString(CultureInfo.InvariantCulture));
                Param(sb, "country", i.Country);
                Param(sb, "asn", i.Asn?.ToString(CultureInfo.InvariantCulture));
            }
            sb.Append(']');
            string msg = UntrustedText.Clean(a.Summary);
            if (msg.Length > 0) sb.Append(' ').Append('\uFEFF').Append(msg);
            return sb.ToString();
        }

        private static string Number(double? v) =>
            v == null || double.IsNaN(v.Value) || double.IsInfinity(v.Value) ? null : v.Value.ToString("0.###", CultureInfo.InvariantCulture);

        /// <summary>A header field: printable US-ASCII (33–126) only, others become '_'; cut to <paramref name="max"/>; "-" (NILVALUE) when empty.</summary>
        internal static string Header(string value, int max)
        {
            if (string.IsNullOrEmpty(value)) return "-";
            var sb = new StringBuilder(Math.Min(value.Length, max));
            foreach (char ch in value)
            {
                if (sb.Length == max) break;
                sb.Append(ch >= 33 && ch <= 126 ? ch : '_');
            }
            return sb.ToString();
        }

        /// <summary>
        /// One SD-PARAM, left out when the value is null. The name must be 1–32 printable US-ASCII characters without
        /// '=', space, ']' or '"' (ours are constants; checked anyway). The value is cleaned, then '"', '\' and ']' are
        /// escaped with a backslash (RFC 5424 §6.3.3).
        /// </summary>
        internal static void Param(StringBuilder sb, string name, string value)
        {
            if (value == null) return;
            if (!IsParamName(name)) throw new ArgumentException("'" + name + "' is not an RFC 5424 PARAM-NAME.", nameof(name));
            sb.Append(' ').Append(name).Append("=\"");
            foreach (char ch in UntrustedText.Clean(value))
            {
                if (ch == '"' || ch == '\\' || ch == ']') sb.Append('\\');
                sb.Append(ch);
            }
            sb.Append('"');
        }

        internal static bool IsParamName(string name)
        {
            if (string.IsNullOrEmpty(name) || name.Length > 32) return false;
            foreach (char ch in name)
                if (ch < 33 || ch > 126 || ch == '=' || ch == ']' || ch == '"') return false;
            return true;
        }
    }
}
