using System;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Enrichment.Vpn;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;

namespace ConnectionsMonitor.WindowsTests
{
    /// <summary>Enrichment on the Windows platform: the adapter catalog and a snapshot with scope and VPN filled.</summary>
    public sealed class WindowsEnrichmentTests : IClassFixture<LiveSockets>
    {
        private readonly LiveSockets _sockets;

        public WindowsEnrichmentTests(LiveSockets sockets) { _sockets = sockets; }

        [Fact]
        public void Adapter_catalog_lists_the_loopback_address_as_no_vpn()
        {
            var interfaces = new WindowsNetworkInterfaceCatalog().Read();
            Assert.NotEmpty(interfaces);
            var loopback = interfaces.FirstOrDefault(i => i.Addresses.Any(a => IPAddress.IsLoopback(a)));
            Assert.NotNull(loopback);
            Assert.Null(loopback.TunnelKind);
        }

        [Fact]
        public void Snapshot_fills_scope_and_vpn_verdict_for_own_loopback_connection()
        {
            using var engine = new MonitorEngine(PlatformServices.CreateForCurrentOS());
            var options = new EnrichmentOptions { Vpn = new MonitorConfig().Vpn };
            int port = _sockets.V4.ListenPort;
            var rows = engine.TakeSnapshot(options, new ConnectionQuery { Ports = new[] { new PortRange(port, port) } }).Connections;
            Assert.NotEmpty(rows);
            Assert.All(rows, r =>
            {
                Assert.Contains(r.AddressScope, new[] { "Loopback", "Unspecified" });
                Assert.Equal(false, r.IsVpn);
                Assert.Null(r.Country);
            });
        }
    }
}
