using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>-Country, the Geo column and the enrichment properties, through the built module in a real runspace.</summary>
    public sealed class EnrichmentCmdletTests : IClassFixture<ModuleSessionFixture>, IDisposable
    {
        private readonly ModuleSession _ps;
        private readonly string _dir = Directory.CreateTempSubdirectory("cm-enrich-").FullName;
        private readonly string _config;

        public EnrichmentCmdletTests(ModuleSessionFixture fixture)
        {
            _ps = fixture.Session;
            // An empty data directory: databases downloaded on this machine must not change the answers.
            _config = Path.Combine(_dir, "config.yml");
            File.WriteAllText(_config, "geoip:\n  directory: '" + Path.Combine(_dir, "geo") + "'\n");
        }

        public void Dispose() => Directory.Delete(_dir, true);

        private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

        [LinuxFact]
        public void CountryParameterSelectsByTheBundledDatabase()
        {
            using var peer = new PublicPeer("8.8.8.4", 4441);
            using var client = peer.Connect();
            int port = ((IPEndPoint)client.LocalEndPoint).Port;

            var row = Assert.Single(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1] -RemoteAddress 8.8.8.4 -ProcessId $PID -Country us", _config, port));
            Assert.Equal("US", Prop<string>(row, "Country"));
            Assert.Equal("United States", Prop<string>(row, "CountryName"));
            Assert.Equal("Public", Prop<string>(row, "AddressScope"));
            Assert.Equal(15169L, Prop<long?>(row, "Asn"));
            Assert.Equal("Google LLC", Prop<string>(row, "AsnOrganization"));
            Assert.Empty(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1] -ProcessId $PID -Country DE, FR", _config, port));
            // The audit idiom from the README: Where-Object on Country, no token, no network.
            Assert.Single(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1] -RemoteAddress 8.8.8.4 -ProcessId $PID | Where-Object Country -notin 'DE','FR'", _config, port));
        }

        [LinuxFact]
        public void GeoColumnShowsTheCountryOrTheScope()
        {
            using var peer = new PublicPeer("1.1.1.52", 4442);
            using var client = peer.Connect();
            int port = ((IPEndPoint)client.LocalEndPoint).Port;
            string text = _ps.Render("Get-MonitoredConnection -ConfigPath '" + _config + "' -ProcessId $PID -LocalPort " + port);
            var line = text.Split('\n').Single(l => l.Contains("1.1.1.52:4442"));
            Assert.Contains(" AU ", line + " ");

            using var sockets = new LoopbackSockets();
            string loop = _ps.Render("Get-MonitoredConnection -ConfigPath '" + _config + "' -ProcessId $PID -LocalPort " + sockets.ListenPort + " -State Listen");
            Assert.True(loop.Split('\n').Any(l => l.Contains(":" + sockets.ListenPort) && l.Contains("Unspecified")), loop);
        }

        [LinuxFact]
        public void SocketOnATunInterfaceIsVpnWithTheMarkerInTheTable()
        {
            using var tun = Vpn.KernelLink.Create("tuntap add dev {0} mode tun");
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Parse(tun.Address), 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;

            var row = Assert.Single(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1] -ProcessId $PID | Where-Object IsVpn", _config, port));
            Assert.Equal(true, Prop<bool?>(row, "IsVpn"));
            Assert.Contains("interface " + tun.Name + " (tun)", Prop<string>(row, "VpnReason"));
            string text = _ps.Render("Get-MonitoredConnection -ConfigPath '" + _config + "' -ProcessId $PID -LocalPort " + port);
            Assert.Contains(text.Split('\n'), l => l.Contains(tun.Address + ":" + port) && l.Contains("[VPN] " + System.Diagnostics.Process.GetCurrentProcess().ProcessName));

            // (By address too: the kernel may give the loopback listener the port the tun listener has on its own address.)
            using var sockets = new LoopbackSockets();
            var loop = Assert.Single(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1] -ProcessId $PID -State Listen | Where-Object LocalAddress -eq '127.0.0.1'", _config, sockets.ListenPort));
            Assert.Equal(false, Prop<bool?>(loop, "IsVpn"));
            Assert.Null(Prop<string>(loop, "VpnReason"));
        }

        [LinuxFact]
        public void TopTalkersGroupByCountry()
        {
            using var peer = new PublicPeer("1.1.1.53", 4445);
            using var first = peer.Connect();
            using var second = peer.Connect();
            int a = ((IPEndPoint)first.LocalEndPoint).Port, b = ((IPEndPoint)second.LocalEndPoint).Port;
            var talkers = _ps.Invoke("Get-TopTalker -ConfigPath $args[0] -LocalPort $args[1], $args[2] -ProcessId $PID -GroupBy Country -By Connections", _config, a, b);
            var au = Assert.Single(talkers);
            Assert.Equal("AU", au.Properties["Name"].Value);
            Assert.Equal(2, au.Properties["Connections"].Value);

            // Only loopback peers: no country to group by, and the command says why instead of writing nothing.
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var (none, warnings) = _ps.InvokeWithWarnings("Get-TopTalker -ConfigPath $args[0] -LocalPort $args[1] -ProcessId $PID -GroupBy Country -By Connections", _config, port);
            Assert.Empty(none);
            Assert.Equal("The one connection sampled has no country: only public remote addresses have one (loopback, private and link-local peers and listening sockets do not).",
                Assert.Single(warnings));
        }

        [Fact]
        public void InvalidCountryCodeSaysWhatIsExpected()
        {
            var error = Assert.Single(_ps.InvokeExpectingErrors("Get-MonitoredConnection -Country USA"));
            Assert.Contains("'USA' is not a country code", error.Exception.Message);
            Assert.Contains("ISO 3166-1", error.Exception.Message);
        }

        [Theory]
        [InlineData("Get-MonitoredConnection -Country DE, UK", "UK", "GB")]
        [InlineData("Get-MonitoredConnection -Country ' el '", "EL", "GR")]
        public void AReservedCountryCodeSaysWhichCodeToUse(string command, string given, string use)
        {
            // No database gives UK or EL: the filter would match nothing, silently.
            var error = Assert.Single(_ps.InvokeExpectingErrors(command));
            Assert.Contains(given + " is reserved in ISO 3166-1 and no geolocation database gives it; that country's code is " + use + ".", error.Exception.Message);
        }

        [LinuxFact]
        public void CountryCompletionListsCountriesOfCurrentConnections()
        {
            using var peer = new PublicPeer("8.8.8.5", 4443);
            using var client = peer.Connect();
            var matches = _ps.Invoke("$s = 'Get-MonitoredConnection -Country U'; (TabExpansion2 -inputScript $s -cursorColumn $s.Length).CompletionMatches");
            Assert.Contains(matches, m => (string)m.Properties["CompletionText"].Value == "US" &&
                                          ((string)m.Properties["ListItemText"].Value).Contains("United States"));
        }

        [LinuxFact]
        public void EnrichmentPropertiesAreFlatPrimitives()
        {
            using var peer = new PublicPeer("8.8.8.6", 4444);
            using var client = peer.Connect();
            int port = ((IPEndPoint)client.LocalEndPoint).Port;
            var row = Assert.Single(_ps.Invoke("Get-MonitoredConnection -ConfigPath $args[0] -LocalPort $args[1] -RemoteAddress 8.8.8.6 -ProcessId $PID", _config, port));
            foreach (var name in new[] { "RemoteHostName", "Country", "CountryName", "City", "Latitude", "Longitude", "Asn", "AsnOrganization", "AddressScope", "IsVpn", "VpnReason" })
            {
                var p = row.Properties[name];
                Assert.NotNull(p);
                var v = p.Value;
                Assert.True(v == null || v is string || v is long || v is double || v is bool, name + " is " + v?.GetType());
            }
            var back = PSSerializer.Deserialize(PSSerializer.Serialize(row)) as PSObject;
            Assert.Equal("US", back.Properties["Country"].Value);
            Assert.Equal(15169L, back.Properties["Asn"].Value);
        }
    }
}
