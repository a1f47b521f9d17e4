using System;
using System.Collections.Generic;
using System.Globalization;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Tracking;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>Which connection changes go to a system log as records of their own (alerts.syslog.connectionEvents, alerts.eventLog.connectionEvents).</summary>
    [Flags]
    public enum ConnectionEventKinds
    {
        /// <summary>No connection records (the default): only alerts.</summary>
        None = 0,
        /// <summary>A connection opened (or was first seen).</summary>
        Opened = 1,
        /// <summary>A connection closed (with its final byte counts where the OS reports closings).</summary>
        Closed = 2,
        /// <summary>A TCP connection changed state (Established to CloseWait …).</summary>
        StateChanged = 4,
        /// <summary>Opened, Closed and StateChanged.</summary>
        All = Opened | Closed | StateChanged,
    }

    /// <summary>Is the record an alert or a connection's lifecycle.</summary>
    public enum SystemLogRecordKind
    {
        /// <summary>An alert of a rule (firing, repeating, resolved, test).</summary>
        Alert,
        /// <summary>A connection opened, closed or changed state.</summary>
        Connection,
    }

    /// <summary>
    /// One record for a system log (syslog, the Windows Event Log), made once from an alert or a connection change and
    /// then written by each log in its own form: syslog as RFC 5424 SD-PARAMs (<see cref="SyslogSender"/>), the Event
    /// Log as insertion strings (<see cref="WindowsEventLogEntry"/>). Pure: no I/O. The field names and their order are
    /// the documented contract (README, "System log (SIEM)"): a field whose value is unknown is null (left out of syslog,
    /// an empty insertion string in the Event Log, so positions never move). Values are raw; each log cleans them
    /// (<see cref="UntrustedText.Clean"/>) and escapes them for its medium.
    /// </summary>
    public sealed class SystemLogRecord
    {
        /// <summary>SD-ID of alert records: "connectionsmonitor" at the documentation enterprise number 32473 (RFC 5612).</summary>
        public const string AlertSdId = "connectionsmonitor@32473";
        /// <summary>SD-ID of connection records.</summary>
        public const string ConnectionSdId = "connection@32473";

        /// <summary>MSGID of a connection that opened.</summary>
        public const string OpenedMsgId = "CONN_OPEN";
        /// <summary>MSGID of a connection that closed.</summary>
        public const string ClosedMsgId = "CONN_CLOSE";
        /// <summary>MSGID of a TCP state change.</summary>
        public const string StateMsgId = "CONN_STATE";

        /// <summary>The field names of connection records, in order (also the Event Log's insertion strings 2 … 18).</summary>
        public static readonly IReadOnlyList<string> ConnectionFieldNames = Array.AsReadOnly(new[]
        {
            "change", "protocol", "localAddress", "localPort", "remoteAddress", "remotePort", "state", "previousState",
            "pid", "process", "bytesSent", "bytesReceived", "finalCounters", "remoteHost", "country", "asn", "flags",
        });

        /// <summary>The field names of alert records, in order (also the Event Log's insertion strings 2 … 18).</summary>
        public static readonly IReadOnlyList<string> AlertFieldNames = Array.AsReadOnly(new[]
        {
            "id", "rule", "kind", "status", "subject", "value", "threshold", "items",
            "protocol", "localAddress", "localPort", "remoteAddress", "remotePort", "process", "pid", "country", "asn",
        });

        private SystemLogRecord(SystemLogRecordKind kind, DateTime timeUtc, string hostName, int severity, string msgId, string sdId,
            int eventId, string message, IReadOnlyList<KeyValuePair<string, string>> fields)
        {
            Kind = kind;
            TimeUtc = timeUtc;
            HostName = hostName;
            Severity = severity;
            MsgId = msgId;
            SdId = sdId;
            EventId = eventId;
            Message = message;
            Fields = fields;
        }

        /// <summary>Alert or connection.</summary>
        public SystemLogRecordKind Kind { get; }
        /// <summary>When it happened (UTC): the alert's sample, the change's sample.</summary>
        public DateTime TimeUtc { get; }
        /// <summary>The machine's name.</summary>
        public string HostName { get; }
        /// <summary>Syslog severity: 4 warning (alert firing, repeating), 5 notice (test), 6 informational (resolved, connections).</summary>
        public int Severity { get; }
        /// <summary>RFC 5424 MSGID: the alert's kind (NewListeningPort …), or CONN_OPEN / CONN_CLOSE / CONN_STATE.</summary>
        public string MsgId { get; }
        /// <summary>RFC 5424 SD-ID of the fields.</summary>
        public string SdId { get; }
        /// <summary>Windows Event Log event ID (README's table): 1000–1003 alerts, 2000–2002 connections.</summary>
        public int EventId { get; }
        /// <summary>One line of text (outside text in it already cleaned); empty when there is none.</summary>
        public string Message { get; }
        /// <summary>The fields in their documented order; a value is null when unknown.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

        /// <summary>Event ID of an alert: 1000 firing, 1001 repeating, 1002 resolved, 1003 test.</summary>
        public static int AlertEventId(AlertStatus status)
        {
            switch (status)
            {
                case AlertStatus.Repeating: return 1001;
                case AlertStatus.Resolved: return 1002;
                case AlertStatus.Test: return 1003;
                default: return 1000;
            }
        }

        /// <summary>Event ID of a connection change: 2000 opened, 2001 closed, 2002 state changed.</summary>
        public static int ConnectionEventId(ConnectionChange change) =>
            change == ConnectionChange.Opened ? 2000 : change == ConnectionChange.Closed ? 2001 : 2002;

        /// <summary>Severity of an alert: Firing and Repeating warning (4), Test notice (5), Resolved informational (6).</summary>
        public static int AlertSeverity(AlertStatus status)
        {
            switch (status)
            {
                case AlertStatus.Resolved: return 6;
                case AlertStatus.Test: return 5;
                default: return 4;
            }
        }

        /// <summary>The record of an alert: its summary as the message; fields <see cref="AlertFieldNames"/>, the location ones from the first item.</summary>
        public static SystemLogRecord ForAlert(AlertEvent a)
        {
            if (a == null) throw new ArgumentNullException(nameof(a));
            AlertItem i = null;
            foreach (var item in a.Items) if (item != null) { i = item; break; }
            var f = new List<KeyValuePair<string, string>>(AlertFieldNames.Count);
            void Add(string name, string value) => f.Add(new KeyValuePair<string, string>(name, value));
            Add("id", a.Id.ToString("D"));
            Add("rule", a.RuleName);
            Add("kind", a.Kind.ToString());
            Add("status", a.Status.ToString().ToLowerInvariant());
            Add("subject", a.Subject);
            Add("value", Number(a.Value));
            Add("threshold", Number(a.Threshold));
            Add("items", a.Items.Count.ToString(CultureInfo.InvariantCulture));
            Add("protocol", ProtocolName(i?.Protocol));
            Add("localAddress", i?.LocalAddress);
            Add("localPort", Int(i?.LocalPort));
            Add("remoteAddress", i?.RemoteAddress);
            Add("remotePort", Int(i?.RemotePort));
            Add("process", i?.ProcessName);
            Add("pid", Int(i?.ProcessId));
            Add("country", i?.Country);
            Add("asn", i?.Asn?.ToString(CultureInfo.InvariantCulture));
            return new SystemLogRecord(SystemLogRecordKind.Alert, a.TimeUtc, a.HostName, AlertSeverity(a.Status), a.Kind.ToString(), AlertSdId,
                AlertEventId(a.Status), UntrustedText.Clean(a.Summary ?? ""), f);
        }

        /// <summary>
        /// The record of a connection change (informational). <paramref name="flags"/> are the alert rules that flag the
        /// connection (comma-separated; null for none). Bytes: the connection's counters as last seen; for Closed,
        /// finalCounters says whether they are the OS's final counts at close ("true") or those of the last sample ("false").
        /// </summary>
        public static SystemLogRecord ForConnection(ConnectionEvent e, string flags, string hostName)
        {
            if (e == null) throw new ArgumentNullException(nameof(e));
            var c = AlertItem.From(e.Connection);
            var r = e.Connection;
            var f = new List<KeyValuePair<string, string>>(ConnectionFieldNames.Count);
            void Add(string name, string value) => f.Add(new KeyValuePair<string, string>(name, value));
            string change = e.Change == ConnectionChange.Opened ? "opened" : e.Change == ConnectionChange.Closed ? "closed" : "stateChanged";
            Add("change", change);
            Add("protocol", ProtocolName(c.Protocol));
            Add("localAddress", c.LocalAddress);
            Add("localPort", Int(c.LocalPort));
            Add("remoteAddress", c.RemoteAddress);
            Add("remotePort", Int(c.RemotePort));
            Add("state", r.State?.ToString());
            Add("previousState", e.PreviousState?.ToString());
            Add("pid", Int(r.ProcessId));
            Add("process", r.ProcessName);
            Add("bytesSent", r.BytesSent?.ToString(CultureInfo.InvariantCulture));
            Add("bytesReceived", r.BytesReceived?.ToString(CultureInfo.InvariantCulture));
            Add("finalCounters", e.Change == ConnectionChange.Closed ? (e.FinalCounters ? "true" : "false") : null);
            Add("remoteHost", r.RemoteHostName);
            Add("country", r.Country);
            Add("asn", r.Asn?.ToString(CultureInfo.InvariantCulture));
            Add("flags", string.IsNullOrEmpty(flags) ? null : flags);
            string msgId = e.Change == ConnectionChange.Opened ? OpenedMsgId : e.Change == ConnectionChange.Closed ? ClosedMsgId : StateMsgId;
            return new SystemLogRecord(SystemLogRecordKind.Connection, e.TimeStampUtc, hostName ?? Environment.MachineName, 6, msgId, ConnectionSdId,
                ConnectionEventId(e.Change), ConnectionMessage(e, c), f);
        }

        /// <summary>
        /// "Opened TCP 127.0.0.1:40000 -> 127.0.0.1:5000 by pwsh (PID 42)", "Closed … (sent 10 B, received 20 B)",
        /// "TCP … Established -> CloseWait …"; outside text cleaned.
        /// </summary>
        private static string ConnectionMessage(ConnectionEvent e, AlertItem c)
        {
            var r = e.Connection;
            string verb = e.Change == ConnectionChange.Opened ? "Opened" : e.Change == ConnectionChange.Closed ? "Closed" : "State";
            string local = Endpoint(c.LocalAddress, c.LocalPort);
            string text = verb + " " + (ProtocolName(c.Protocol) ?? "?") + " " + local;
            if (c.RemoteAddress != null) text += " -> " + Endpoint(c.RemoteAddress, c.RemotePort);
            if (e.Change == ConnectionChange.StateChanged)
                text += " " + (e.PreviousState?.ToString() ?? "?") + " -> " + (r.State?.ToString() ?? "?");
            if (r.ProcessName != null || r.ProcessId != null)
                text += " by " + (r.ProcessName != null ? UntrustedText.Clean(r.ProcessName) : "an unnamed process") +
                        (r.ProcessId != null ? " (PID " + r.ProcessId.Value.ToString(CultureInfo.InvariantCulture) + ")" : "");
            if (e.Change == ConnectionChange.Closed && (r.BytesSent != null || r.BytesReceived != null))
                text += " (sent " + Bytes(r.BytesSent) + ", received " + Bytes(r.BytesReceived) + ")";
            return text;
        }

        private static string Endpoint(string address, int? port)
        {
            if (address == null) return port == null ? "?" : "*:" + port.Value.ToString(CultureInfo.InvariantCulture);
            string a = address.IndexOf(':') >= 0 ? "[" + address + "]" : address;
            return port == null ? a : a + ":" + port.Value.ToString(CultureInfo.InvariantCulture);
        }

        private static string Bytes(long? n) => n == null ? "unknown" : n.Value.ToString(CultureInfo.InvariantCulture) + " B";

        internal static string ProtocolName(TransportProtocol? p) => p == null ? null : p == TransportProtocol.Tcp ? "TCP" : "UDP";

        private static string Int(int? v) => v?.ToString(CultureInfo.InvariantCulture);

        private static string Number(double? v) =>
            v == null || double.IsNaN(v.Value) || double.IsInfinity(v.Value) ? null : v.Value.ToString("0.###", CultureInfo.InvariantCulture);
    }
}
