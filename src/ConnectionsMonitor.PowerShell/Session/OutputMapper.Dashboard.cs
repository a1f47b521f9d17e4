using System;
using ConnectionsMonitor.Engine.Dashboard;

namespace ConnectionsMonitor.Session
{
    internal static partial class OutputMapper
    {
        internal static ConnectionDashboard ToDashboard(DashboardState s) => new ConnectionDashboard
        {
            Url = s.Url, LaunchUrl = s.LaunchUrl, Address = s.Address, Port = s.Port, IntervalSeconds = s.Interval.TotalSeconds,
            Clients = s.Clients, Requests = s.Requests, Refused = s.Refused, Displaced = s.Displaced, Samples = s.Samples, LastSample = LocalOrNull(s.LastSampleUtc),
            Connections = s.Connections, Started = DateTime.SpecifyKind(s.StartedUtc, DateTimeKind.Utc).ToLocalTime(), IsRunning = s.IsRunning,
            Failure = s.Failure,
        };
    }
}
