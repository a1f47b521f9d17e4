using System;
using ConnectionsMonitor.Engine.Metrics;

namespace ConnectionsMonitor.Session
{
    internal static partial class OutputMapper
    {
        internal static ConnectionMetricsEndpoint ToMetricsEndpoint(MetricsEndpointState s) => new ConnectionMetricsEndpoint
        {
            Url = s.Url, Address = s.Address, Port = s.Port, IntervalSeconds = s.Interval.TotalSeconds, TopProcesses = s.TopProcesses,
            AdmittedProcesses = s.AdmittedProcesses, RequiresBearerToken = s.RequiresBearerToken, ScrapesServed = s.ScrapesServed,
            LastScrape = LocalOrNull(s.LastScrapeUtc), Unauthorized = s.Unauthorized, Samples = s.Samples, LastSample = LocalOrNull(s.LastSampleUtc),
            Started = DateTime.SpecifyKind(s.StartedUtc, DateTimeKind.Utc).ToLocalTime(), IsRunning = s.IsRunning, Failure = s.Failure,
        };

        private static DateTime? LocalOrNull(DateTime? utc) => utc == null ? (DateTime?)null : DateTime.SpecifyKind(utc.Value, DateTimeKind.Utc).ToLocalTime();
    }
}
