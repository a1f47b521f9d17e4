using System;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading.Tasks;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>Start-/Get-/Stop-ConnectionMetrics in a real runspace with the built module, on real loopback sockets.</summary>
    [Collection(ConnectionsMonitor.Tests.Session.SamplerThreads.Name)]
    public sealed class MetricsCmdletTests : IDisposable
    {
        private readonly ModuleSession _ps = new ModuleSession();

        public void Dispose() => _ps.Dispose();

        private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

        [Fact]
        public async Task StartServesAListenerTheTestOpenedGetShowsScrapesAndWhatIfOnStopLeavesItRunning()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                int port = ((IPEndPoint)listener.LocalEndpoint).Port;
                var started = Assert.Single(_ps.Invoke("Start-ConnectionMetrics -Port 0 -Interval 1 -TopProcesses 1000"));
                Assert.Equal("ConnectionsMonitor.ConnectionMetricsEndpoint", started.TypeNames[0]);
                string url = Prop<string>(started, "Url");
                Assert.Matches(@"^http://127\.0\.0\.1:\d+/metrics$", url);
                Assert.Equal(LoopbackSockets.Ipv6LoopbackBindable() ? "127.0.0.1, ::1" : "127.0.0.1", Prop<string>(started, "Address"));
                Assert.False(Prop<bool>(started, "RequiresBearerToken"));

                using var http = new HttpClient();
                var text = await http.GetStringAsync(url);
                // This process owns the listener: its name's gauge counts it (at least that one).
                string me = System.Diagnostics.Process.GetCurrentProcess().ProcessName;
                var line = text.Split('\n').Single(l => l.StartsWith("connectionsmonitor_process_connections{process=\"" + me + "\"} "));
                Assert.True(int.Parse(line.Split(' ')[1]) >= 1, line);

                var got = Assert.Single(_ps.Invoke("Get-ConnectionMetrics"));
                Assert.Equal(url, Prop<string>(got, "Url"));
                Assert.Equal(1L, Prop<long>(got, "ScrapesServed"));
                Assert.NotNull(Prop<DateTime?>(got, "LastScrape"));
                Assert.True(Prop<bool>(got, "IsRunning"));

                _ps.Invoke("Stop-ConnectionMetrics -WhatIf");
                Assert.True(Prop<bool>(Assert.Single(_ps.Invoke("Get-ConnectionMetrics")), "IsRunning"));
                Assert.Contains("connectionsmonitor_connections", await http.GetStringAsync(url));

                var final = Assert.Single(_ps.Invoke("Stop-ConnectionMetrics -PassThru"));
                Assert.False(Prop<bool>(final, "IsRunning"));
                Assert.Equal(2L, Prop<long>(final, "ScrapesServed"));
                await Assert.ThrowsAnyAsync<Exception>(() => http.GetStringAsync(url)); // the port is released
            }
            finally { listener.Stop(); }
        }

        [Fact]
        public void AnotherAddressWithoutATokenAndABusyPortAreErrorsThatSayWhatToDo()
        {
            var errors = _ps.InvokeExpectingErrors("Start-ConnectionMetrics -Port 0 -Address 0.0.0.0");
            var e = Assert.Single(errors);
            Assert.Equal("MetricsEndpointTokenRequired,ConnectionsMonitor.Commands.StartConnectionMetricsCommand", e.FullyQualifiedErrorId);
            Assert.Contains("-BearerToken", e.Exception.Message);

            var busy = new TcpListener(IPAddress.Loopback, 0);
            busy.Start();
            try
            {
                int port = ((IPEndPoint)busy.LocalEndpoint).Port;
                e = Assert.Single(_ps.InvokeExpectingErrors("Start-ConnectionMetrics -Port $args[0]", port));
                Assert.Contains("Port " + port + " is in use", e.Exception.Message);
                Assert.Contains("-Port", e.Exception.Message);
            }
            finally { busy.Stop(); }
            Assert.Empty(_ps.Invoke("Get-ConnectionMetrics"));
        }

        [Fact]
        public async Task ABearerTokenFromASecureStringIsRequiredAndNeverShown()
        {
            var started = Assert.Single(_ps.Invoke("Start-ConnectionMetrics -Port 0 -Interval 1 -BearerToken (ConvertTo-SecureString 'tok-123456' -AsPlainText -Force)"));
            Assert.True(Prop<bool>(started, "RequiresBearerToken"));
            string url = Prop<string>(started, "Url");
            using var http = new HttpClient();
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(url)).StatusCode);
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "tok-123456");
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
            string shown = _ps.Render("Get-ConnectionMetrics | Format-List *");
            Assert.DoesNotContain("tok-123456", shown);
            Assert.Contains("RequiresBearerToken", shown);
            _ps.Invoke("Stop-ConnectionMetrics");
        }
    }
}
