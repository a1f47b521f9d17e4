using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using ConnectionsMonitor.Tests.Session;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>Get-MonitoredConnection's rates while something else in the same PowerShell session samples.</summary>
    [Collection(SamplerThreads.Name)]
    public class SamplerRatesCmdletTests
    {
        /// <summary>
        /// A newcomer ran Start-ConnectionDashboard and then Get-MonitoredConnection in one session: the calls showed 0,
        /// or several times the real rate, because each call measured from the previous read, a few milliseconds before
        /// (the dashboard's sample or the call before it), and cut the dashboard's next window short. Here a real child
        /// sends a steady 100 KB/s (1,000 bytes every 10 ms); calls made back to back, milliseconds apart, each carry the
        /// dashboard sampler's rate over its 1 s interval, and calls within one interval carry the very same value.
        /// </summary>
        [LinuxFact]
        public void CallsBetweenTheDashboardsSamplesCarryItsRatesOverItsInterval()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var talker = new ChildTalker("cm-steady", port);
            using var accepted = listener.AcceptTcpClient();
            var drain = System.Threading.Tasks.Task.Run(() =>
            {
                var buf = new byte[65536];
                try { while (accepted.GetStream().Read(buf, 0, buf.Length) > 0) { } }
                catch (System.IO.IOException) { }
                catch (ObjectDisposedException) { }
            });
            using var ps = new ModuleSession();
            try
            {
                ps.Invoke("$null = Start-ConnectionDashboard -Port 0 -NoBrowser -Interval 1");
                var pace = System.Threading.Tasks.Task.Run(() => talker.Do("pace 100000 7"));
                Thread.Sleep(2500); // two of the dashboard's windows into the flow

                var rates = new List<double?>();
                for (int i = 0; i < 12; i++)
                {
                    var row = Assert.Single(ps.Invoke("Get-MonitoredConnection -Protocol TCP -LocalPort $args[0] -ProcessName cm-steady | Where-Object RemotePort -eq $args[1]",
                        talker.LocalPort, port));
                    rates.Add((double?)row.Properties["SendRate"].Value);
                }
                pace.Wait(TimeSpan.FromSeconds(20));
                string seen = "a flow paced at 100 KB/s; calls saw " + string.Join(", ", rates.Select(r => r?.ToString("F0") ?? "null"));
                // Each the rate over a whole 1 s window (60–160 KB/s on an idle machine; a loaded one's pacer catches up in bursts),
                // never 0 and never a rate over the few milliseconds since the call before (1,000 bytes over 3 ms is 333 KB/s).
                Assert.All(rates, r => Assert.True(r != null && r > 40000 && r < 300000, seen));
                // Twelve calls take well under a second or two: most follow a call of the same window and repeat its value exactly.
                int repeats = Enumerable.Range(1, rates.Count - 1).Count(i => rates[i] == rates[i - 1]);
                Assert.True(repeats >= rates.Count / 2, seen);
            }
            finally
            {
                ps.Invoke("Stop-ConnectionDashboard -WarningAction SilentlyContinue");
                listener.Stop();
            }
        }
    }
}
