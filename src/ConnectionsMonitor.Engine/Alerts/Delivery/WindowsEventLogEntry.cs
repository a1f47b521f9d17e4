using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Display;

namespace ConnectionsMonitor.Engine.Alerts.Delivery
{
    /// <summary>The Windows Event Log's entry types this module writes (EVENTLOG_*_TYPE).</summary>
    public enum EventLogEntryKind
    {
        /// <summary>EVENTLOG_ERROR_TYPE.</summary>
        Error = 1,
        /// <summary>EVENTLOG_WARNING_TYPE: alerts firing and repeating.</summary>
        Warning = 2,
        /// <summary>EVENTLOG_INFORMATION_TYPE: alerts resolved, test alerts, connection records.</summary>
        Information = 4,
    }

    /// <summary>
    /// One Windows Event Log entry as ReportEventW takes it, made from a <see cref="SystemLogRecord"/> (pure: tested on
    /// any OS). Insertion string 1 (Properties[0] in Get-WinEvent) is the record's one-line message; strings 2 … n are
    /// the record's fields in their documented order (<see cref="SystemLogRecord.AlertFieldNames"/>,
    /// <see cref="SystemLogRecord.ConnectionFieldNames"/>), an unknown value as an empty string so positions never
    /// move. Every string is cleaned (<see cref="UntrustedText.Clean"/>) and cut to <see cref="MaxStringLength"/> characters.
    /// </summary>
    public sealed class WindowsEventLogEntry
    {
        /// <summary>ReportEventW's limit for one insertion string, in characters.</summary>
        public const int MaxStringLength = 31839;

        private WindowsEventLogEntry(int eventId, EventLogEntryKind type, IReadOnlyList<string> strings)
        {
            EventId = eventId;
            Type = type;
            Strings = strings;
        }

        /// <summary>The event ID (1000–1003 alerts, 2000–2002 connections).</summary>
        public int EventId { get; }
        /// <summary>Warning for alerts firing or repeating; Information otherwise.</summary>
        public EventLogEntryKind Type { get; }
        /// <summary>The insertion strings: the message, then the fields.</summary>
        public IReadOnlyList<string> Strings { get; }

        /// <summary>The entry of a record.</summary>
        public static WindowsEventLogEntry From(SystemLogRecord record)
        {
            if (record == null) throw new ArgumentNullException(nameof(record));
            var strings = new List<string>(record.Fields.Count + 1) { Cut(record.Message) };
            foreach (var f in record.Fields) strings.Add(f.Value == null ? "" : Cut(UntrustedText.Clean(f.Value)));
            var type = record.Severity <= 4 ? EventLogEntryKind.Warning : EventLogEntryKind.Information;
            return new WindowsEventLogEntry(record.EventId, type, strings.AsReadOnly());
        }

        private static string Cut(string text)
        {
            if (text.Length <= MaxStringLength) return text;
            int n = MaxStringLength;
            if (char.IsHighSurrogate(text[n - 1])) n--; // never half a surrogate pair
            return text.Substring(0, n);
        }
    }

    /// <summary>
    /// Where an event source is registered: the registry key HKLM\SYSTEM\CurrentControlSet\Services\EventLog\LOG\SOURCE
    /// with EventMessageFile (REG_EXPAND_SZ) naming the .NET Framework's EventLogMessages.dll, whose message for every
    /// event ID is "%1" (so Event Viewer shows insertion string 1 as the description), and TypesSupported (REG_DWORD 7:
    /// error, warning, information). The same registration System.Diagnostics.EventLog makes. Pure.
    /// </summary>
    public static class WindowsEventLogRegistration
    {
        /// <summary>The registry path (under HKEY_LOCAL_MACHINE) of the logs.</summary>
        public const string LogsKey = @"SYSTEM\CurrentControlSet\Services\EventLog";

        /// <summary>The key of a log.</summary>
        public static string LogKey(string logName) => LogsKey + @"\" + logName;

        /// <summary>The key of a source under its log.</summary>
        public static string SourceKey(string logName, string source) => LogKey(logName) + @"\" + source;

        /// <summary>EventMessageFile: the 64-bit Framework's copy on a 64-bit OS, else the 32-bit one (present on every supported Windows).</summary>
        public static string MessageFile(bool is64BitOperatingSystem) =>
            @"%SystemRoot%\Microsoft.NET\" + (is64BitOperatingSystem ? "Framework64" : "Framework") + @"\v4.0.30319\EventLogMessages.dll";

        /// <summary>TypesSupported: EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE.</summary>
        public const int TypesSupported = 7;
    }
}
