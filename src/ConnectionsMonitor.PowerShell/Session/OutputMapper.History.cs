using System;
using ConnectionsMonitor.Engine.History;

namespace ConnectionsMonitor.Session
{
    internal static partial class OutputMapper
    {
        private static DateTime Local(DateTime utc) => DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToLocalTime();

        internal static ConnectionRecording ToRecording(HistoryRecordingState s) => new ConnectionRecording
        {
            Path = s.Path, IntervalSeconds = s.Interval.TotalSeconds, Started = Local(s.StartedUtc), SamplesWritten = s.SamplesWritten, SamplesLost = s.SamplesLost,
            SamplesDropped = s.SamplesDropped, LastSample = s.LastSampleUtc == null ? (DateTime?)null : Local(s.LastSampleUtc.Value),
            OpenConnections = s.OpenConnections, SizeBytes = s.SizeBytes, IsRecording = s.IsRecording, Failure = s.Failure,
        };

        internal static ConnectionHistoryTotals ToHistory(TotalsRow r) => new ConnectionHistoryTotals
        {
            Time = Local(r.TimeUtc), PeriodSeconds = r.Period.TotalSeconds, Samples = r.Samples, Tcp = r.Tcp, Udp = r.Udp, Established = r.Established,
            Listening = r.Listening, MaxConnections = r.MaxConnections, BytesSent = r.BytesSent, BytesReceived = r.BytesReceived,
        };

        internal static ConnectionHistoryProcess ToHistory(ProcessRow r) => new ConnectionHistoryProcess
        {
            Time = Local(r.TimeUtc), PeriodSeconds = r.Period.TotalSeconds, ProcessName = Outside(r.ProcessName), Samples = r.Samples, Connections = r.Connections,
            MaxConnections = r.MaxConnections, BytesSent = r.BytesSent, BytesReceived = r.BytesReceived,
        };

        internal static ConnectionHistoryConnection ToHistory(ConnectionRow r) => new ConnectionHistoryConnection
        {
            Opened = Local(r.OpenedUtc), OpenedBeforeRecording = r.OpenedBeforeRecording, Closed = r.ClosedUtc == null ? (DateTime?)null : Local(r.ClosedUtc.Value), ClosedByRecordingStop = r.ClosedByRecorderStop,
            Protocol = r.Protocol, LocalAddress = r.LocalAddress, LocalPort = r.LocalPort, RemoteAddress = r.RemoteAddress, RemotePort = r.RemotePort,
            State = r.State, ProcessId = r.ProcessId, ProcessName = Outside(r.ProcessName), Country = r.Country, Asn = r.Asn, AsnOrganization = Outside(r.AsnOrganization),
            BytesSent = r.BytesSent, BytesReceived = r.BytesReceived, Connections = r.Lives,
        };

        internal static ConnectionHistoryAlert ToHistory(AlertRow r) => new ConnectionHistoryAlert
        {
            Time = Local(r.TimeUtc), AlertId = r.AlertId.ToString("D"), RuleName = r.RuleName, Kind = r.AlertKind, Status = r.Status, Message = r.Summary,
            Subject = r.Subject, Value = r.Value, Threshold = r.Threshold, Protocol = r.Protocol, LocalAddress = r.LocalAddress, LocalPort = r.LocalPort,
            RemoteAddress = r.RemoteAddress, RemotePort = r.RemotePort, State = r.State, ProcessId = r.ProcessId, ProcessName = Outside(r.ProcessName),
            Country = r.Country, Asn = r.Asn, Detail = Outside(r.Detail),
        };
    }
}
