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
    /// Sends alerts (and, with alerts.syslog.connectionEvents, connection records) to syslog as RFC 5424 messages
    /// (README, "System log (SIEM)"): over a unix datagram socket (/dev/log), UDP (RFC 5426, one message per datagram)
    /// or TCP (RFC 6587 octet counting, "LEN SP MSG"). A datagram (unix, udp) is at most <see cref="MaxMessageSize"/>
    /// bytes: longer messages are cut down by <see cref="Format(SystemLogRecord, int, string, int, int)"/>.
    /// Never blocks the caller: <see cref="Enqueue(AlertEvent)"/> puts the message in a bounded queue
    /// (<see cref="SystemLogQueue{T}"/>: alerts ahead of connection records; a full queue drops its oldest, counted)
    /// and one background thread, "cmon-syslog", sends. Failures are counted; the first is said once through
    /// <see cref="TakeWarnings"/>. Thread-safe.
    /// </summary>
    public sealed class SyslogSender : IDisposable
    {
        /// <summary>The SD-ID of alert messages: "connectionsmonitor" at the documentation enterprise number 32473 (RFC 5612).</summary>
        public const string SdId = SystemLogRecord.AlertSdId;
        /// <summary>Messages waiting at most, per kind (alerts, connection records); more drop the oldest.</summary>
        public const int QueueLimit = SystemLogQueue<byte[]>.LaneLimit;
        /// <summary>Connection records queued per second at most; more are dropped (counted).</summary>
        public const int ConnectionRecordsPerSecond = 1000;
        /// <summary>The default cap of a datagram (RFC 5426 §3.2: receivers should take 2048 octets).</summary>
        public const int DefaultMaxMessageSize = 2048;

        private readonly string _transport, _host, _target;
        private readonly int _port, _facility, _maxBytes;
        private readonly string _appName;
        private readonly List<string> _warnings = new List<string>();
        private readonly SystemLogQueue<byte[]> _queue;
        private Socket _socket;
        private bool _warned, _warnedDrop, _warnedTooLong;

        /// <summary>A sender for the configured target (alerts.syslog).</summary>
        public SyslogSender(SyslogConfig config)
            : this(config.Transport, config.Host, config.Port, config.FacilityCode, config.AppName, config.Target, config.MaxMessageSize) { }

        internal SyslogSender(string transport, string host, int port, int facility, string appName, string target = null, int maxMessageSize = DefaultMaxMessageSize)
        {
            _transport = transport;
            _host = host;
            _port = port;
            _facility = facility;
            _appName = appName;
            _maxBytes = transport == "tcp" ? int.MaxValue : maxMessageSize;
            _target = UntrustedText.Clean(target ?? (transport == "unix" ? "unix://" + host : transport + "://" + host + ":" + port.ToString(CultureInfo.InvariantCulture)));
            _queue = new SystemLogQueue<byte[]>("cmon-syslog", SendOne, OnFailure, ConnectionRecordsPerSecond);
        }

        /// <summary>The target as configured (cleaned): unix:///dev/log, udp://host:514 …</summary>
        public string Target => _target;

        /// <summary>The largest message sent, in bytes: alerts.syslog.maxMessageSize for unix and udp; no limit (int.MaxValue) for tcp.</summary>
        public int MaxMessageSize => _maxBytes;

        /// <summary>Messages (alerts and connection records) a collector's socket took.</summary>
        public long Sent => Counts(SystemLogRecordKind.Alert).Sent + Counts(SystemLogRecordKind.Connection).Sent;
        /// <summary>Messages that could not be sent (too long included).</summary>
        public long Failed => Counts(SystemLogRecordKind.Alert).Failed + Counts(SystemLogRecordKind.Connection).Failed;
        /// <summary>Messages dropped because the queue was full or over the connection-record rate.</summary>
        public long Dropped => Counts(SystemLogRecordKind.Alert).Dropped + Counts(SystemLogRecordKind.Connection).Dropped;
        /// <summary>Sent, failed (too long included) and dropped of one kind of message.</summary>
        public SystemLogCounts Counts(SystemLogRecordKind kind)
        {
            var q = _queue.Counts(kind);
            return new SystemLogCounts(q.Sent, q.Failed + Interlocked.Read(ref _tooLong[(int)kind]), q.Dropped);
        }
        /// <summary>The latest failure; null if none.</summary>
        public string LastError { get; private set; }

        /// <summary>Formats <paramref name="alert"/> and queues it; returns at once.</summary>
        public void Enqueue(AlertEvent alert)
        {
            if (alert == null) return;
            Enqueue(SystemLogRecord.ForAlert(alert));
        }

        /// <summary>Formats a record (an alert or a connection change) and queues it in its kind's lane; returns at once.</summary>
        public void Enqueue(SystemLogRecord record)
        {
            if (record == null) return;
            byte[] bytes = Format(record, _facility, _appName, ProcessId, _maxBytes);
            if (bytes == null)
            {
                // Counted as failed: the queue never saw it.
                Interlocked.Increment(ref _tooLong[(int)record.Kind]);
                if (!_warnedTooLong)
                {
                    _warnedTooLong = true;
                    Warn("Syslog " + _target + ": a message did not fit in " + _maxBytes.ToString(CultureInfo.InvariantCulture) +
                         " bytes even without its text and optional fields, and was not sent (counted, not said again).");
                }
                return;
            }
            if (!_queue.Enqueue(bytes, record.Kind) && !_warnedDrop)
            {
                _warnedDrop = true;
                Warn("Syslog " + _target + ": messages were dropped: more than " + QueueLimit + " were waiting, or more than " +
                     ConnectionRecordsPerSecond + " connection records came in one second (counted, not said again).");
            }
        }

        private readonly long[] _tooLong = new long[2];

        /// <summary>Messages that did not fit in <see cref="MaxMessageSize"/> even cut down (also counted in <see cref="Failed"/>).</summary>
        public long TooLong => Interlocked.Read(ref _tooLong[0]) + Interlocked.Read(ref _tooLong[1]);

        /// <summary>Waits up to <paramref name="timeout"/> until the queue is empty and nothing is being sent; true if so.</summary>
        public bool Flush(TimeSpan timeout) => _queue.Flush(timeout);

        /// <summary>Warnings not said yet (each once).</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            lock (_warnings) { var w = _warnings.ToArray(); _warnings.Clear(); return w; }
        }

        private void Warn(string text)
        {
            lock (_warnings) if (!_warnings.Contains(text)) _warnings.Add(text);
        }

        private bool SendOne(byte[] message)
        {
            Send(message);
            return true;
        }

        private void OnFailure(Exception ex)
        {
            CloseSocket();
            LastError = "Syslog " + _target + ": " + ex.Message;
            if (!_warned)
            {
                _warned = true;
                Warn(LastError + " (further failures are counted, not said again).");
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
            _queue.Stop(TimeSpan.FromSeconds(2));
            CloseSocket();
        }

        // ---- RFC 5424 formatting ----

        /// <summary>Severity of an alert: Firing and Repeating warning (4), Test notice (5), Resolved informational (6).</summary>
        public static int Severity(AlertStatus status) => SystemLogRecord.AlertSeverity(status);

        /// <summary>
        /// The RFC 5424 message of an alert, uncapped: <c>&lt;PRI&gt;1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [connectionsmonitor@32473 …] BOM MSG</c>.
        /// TIMESTAMP is the alert's time in UTC with microseconds ("2026-03-01T12:00:03.250000Z"); MSGID the alert kind;
        /// MSG the summary, <see cref="UntrustedText.Clean"/>ed, after a UTF-8 byte order mark (U+FEFF, RFC 5424 §6.4).
        /// </summary>
        public static string Format(AlertEvent a, int facility, string appName, int processId) =>
            Encoding.UTF8.GetString(Format(SystemLogRecord.ForAlert(a), facility, appName, processId, int.MaxValue));

        /// <summary>
        /// The RFC 5424 message of a record as UTF-8 bytes, at most <paramref name="maxBytes"/> long; null when even the
        /// shortest form does not fit. Header: PRI = facility × 8 + the record's severity, TIMESTAMP (UTC, microseconds),
        /// HOSTNAME, APP-NAME, PROCID, MSGID (<see cref="Header"/>); one SD element of the record's SD-ID with its known
        /// fields (<see cref="Param"/>); then " " BOM MSG when the record has text. A message over the cap is cut down in
        /// this order, and gets the param truncated="true": (1) MSG is cut at a UTF-8 character boundary (never inside a
        /// sequence), or left out with its BOM when too little room is left for a character; (2) the optional fields are
        /// left out one by one from the last backwards (alerts keep id, rule, kind and status; connection records keep
        /// change, protocol and the four endpoint fields).
        /// </summary>
        public static byte[] Format(SystemLogRecord record, int facility, string appName, int processId, int maxBytes)
        {
            if (record == null) throw new ArgumentNullException(nameof(record));
            var head = new StringBuilder(128);
            head.Append('<').Append((facility * 8 + record.Severity).ToString(CultureInfo.InvariantCulture)).Append(">1 ");
            head.Append(record.TimeUtc.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)).Append(' ');
            head.Append(Header(record.HostName, 255)).Append(' ');
            head.Append(Header(appName, 48)).Append(' ');
            head.Append(processId.ToString(CultureInfo.InvariantCulture)).Append(' ');
            head.Append(Header(record.MsgId, 32)).Append(' ');
            head.Append('[').Append(record.SdId);
            byte[] headBytes = Encoding.UTF8.GetBytes(head.ToString());
            var fields = new List<byte[]>(record.Fields.Count);
            foreach (var f in record.Fields)
            {
                if (f.Value == null) { fields.Add(null); continue; }
                var p = new StringBuilder();
                Param(p, f.Key, f.Value);
                fields.Add(Encoding.UTF8.GetBytes(p.ToString()));
            }
            byte[] msg = record.Message.Length == 0 ? new byte[0] : Encoding.UTF8.GetBytes(record.Message);
            byte[] msgPrefix = Encoding.UTF8.GetBytes(" \uFEFF");
            byte[] truncated = Encoding.ASCII.GetBytes(" truncated=\"true\"");
            int FieldBytes() { int n = 0; foreach (var b in fields) if (b != null) n += b.Length; return n; }

            int whole = headBytes.Length + FieldBytes() + 1 + (msg.Length > 0 ? msgPrefix.Length + msg.Length : 0);
            if (whole <= maxBytes) return Assemble(headBytes, fields, null, msgPrefix, msg, msg.Length);

            // (1) cut MSG to what is left after the header, the fields, the truncated param and "]".
            int room = maxBytes - headBytes.Length - FieldBytes() - truncated.Length - 1 - msgPrefix.Length;
            if (msg.Length > 0 && room > 0)
            {
                int cut = Utf8Boundary(msg, room);
                if (cut > 0) return Assemble(headBytes, fields, truncated, msgPrefix, msg, cut);
            }
            // (2) no MSG; optional fields out from the last backwards.
            int keep = record.Kind == SystemLogRecordKind.Alert ? 4 : 6;
            for (int i = fields.Count - 1; ; i--)
            {
                if (headBytes.Length + FieldBytes() + truncated.Length + 1 <= maxBytes) return Assemble(headBytes, fields, truncated, msgPrefix, msg, 0);
                if (i < keep) return null;
                fields[i] = null;
            }
        }

        /// <summary>The largest length ≤ <paramref name="max"/> that ends on a UTF-8 character boundary of <paramref name="text"/>.</summary>
        internal static int Utf8Boundary(byte[] text, int max)
        {
            if (max >= text.Length) return text.Length;
            int n = max;
            while (n > 0 && (text[n] & 0xC0) == 0x80) n--; // text[n] would be a continuation byte: the cut would split a sequence
            return n;
        }

        private static byte[] Assemble(byte[] head, List<byte[]> fields, byte[] marker, byte[] msgPrefix, byte[] msg, int msgLength)
        {
            var o = new System.IO.MemoryStream(head.Length + 256 + msgLength);
            o.Write(head, 0, head.Length);
            foreach (var f in fields) if (f != null) o.Write(f, 0, f.Length);
            if (marker != null) o.Write(marker, 0, marker.Length);
            o.WriteByte((byte)']');
            if (msgLength > 0)
            {
                o.Write(msgPrefix, 0, msgPrefix.Length);
                o.Write(msg, 0, msgLength);
            }
            return o.ToArray();
        }

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
