using System;
using System.IO;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>
    /// Snapshots of real connections to a public address (held by a network namespace the test
    /// made) and to loopback, enriched by the engine with the bundled databases.
    /// </summary>
    public sealed class GeoEnrichmentTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("cm-geo-").FullName;
        private readonly MonitorEngine _engine = new MonitorEngine(PlatformServices.CreateForCurrentOS(), GeoLocatorTests.BundledDirectory);

        public void Dispose()
        {
            _engine.Dispose();
            Directory.Delete(_dir, true);
        }

        private EnrichmentOptions Options(string extraYaml = "")
        {
            var config = ConfigLoader.LoadText("geoip:\n  directory: '" + _dir + "'\n" + extraYaml, "test.yml").Config;
            return EnrichmentOptions.From(config, resolveDns: false);
        }

        /// <summary>
        /// This process's connection of <paramref name="client"/>, by both ports: another process, or a loopback connection of
        /// another test class in this process (flaked once: two rows), can hold a socket with the same local port number.
        /// </summary>
        private static ConnectionQuery ByEnds(System.Net.Sockets.Socket client) => new ConnectionQuery
        {
            LocalPorts = new[] { new PortRange(((IPEndPoint)client.LocalEndPoint).Port, ((IPEndPoint)client.LocalEndPoint).Port) },
            RemotePorts = new[] { new PortRange(((IPEndPoint)client.RemoteEndPoint).Port, ((IPEndPoint)client.RemoteEndPoint).Port) },
            ProcessIds = new[] { Environment.ProcessId },
        };

        [LinuxFact]
        public void PublicPeerGetsCountryAsnAndScope()
        {
            using var peer = new PublicPeer("8.8.4.5", 4431);
            using var client = peer.Connect();
            int localPort = ((IPEndPoint)client.LocalEndPoint).Port;

            var snapshot = _engine.TakeSnapshot(Options(), ByEnds(client));
            var row = Assert.Single(snapshot.Connections);
            Assert.Equal("8.8.4.5", AddressPattern.FormatAddress(row.RemoteAddress));
            Assert.Equal("Public", row.AddressScope);
            Assert.Equal("US", row.Country);
            Assert.Equal("United States", row.CountryName);
            Assert.Equal(15169, row.Asn);
            Assert.Equal("Google LLC", row.AsnOrganization);
            Assert.Null(row.City); // no City database configured
            Assert.Null(row.Latitude);
        }

        [LinuxFact]
        public void CountryFilterKeepsOnlyThatCountry()
        {
            using var peer = new PublicPeer("1.0.0.50", 4432);
            using var client = peer.Connect();
            int localPort = ((IPEndPoint)client.LocalEndPoint).Port;
            var byPort = ByEnds(client);

            var au = _engine.TakeSnapshot(Options(), byPort, new ConnectionQuery { Countries = new[] { "au" } });
            Assert.Equal("AU", Assert.Single(au.Connections).Country);
            Assert.Empty(_engine.TakeSnapshot(Options(), byPort, new ConnectionQuery { Countries = new[] { "US", "DE" } }).Connections);
        }

        [LinuxFact]
        public void SeedCountryFilterInConfigApplies()
        {
            using var peer = new PublicPeer("8.8.8.13", 4433);
            using var client = peer.Connect();
            int localPort = ((IPEndPoint)client.LocalEndPoint).Port;
            var byPort = ByEnds(client);

            var allow = ConfigLoader.LoadText("connectionFiltering:\n  enabled: true\n  countries: ['US']\n", "t.yml").Config;
            var deny = ConfigLoader.LoadText("connectionFiltering:\n  enabled: true\n  countries: ['FR']\n", "t.yml").Config;
            Assert.Single(_engine.TakeSnapshot(Options(), new[] { byPort }.Concat(ConfigFilters.ToQueries(allow)).ToArray()).Connections);
            Assert.Empty(_engine.TakeSnapshot(Options(), new[] { byPort }.Concat(ConfigFilters.ToQueries(deny)).ToArray()).Connections);
        }

        [LinuxFact]
        public void AUdpSocketWithNoPeerHasNoScopeAndAConnectedOneHasItsPeers()
        {
            // A bound, unconnected UDP socket has no remote end: RemoteAddress and AddressScope are both null (a newcomer's
            // trial found 'Unspecified', which the README gives to the 0.0.0.0 / :: of listeners).
            using var unbound = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            unbound.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            using var connected = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            connected.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            connected.Connect(unbound.LocalEndPoint);
            int a = ((System.Net.IPEndPoint)unbound.LocalEndPoint).Port, b = ((System.Net.IPEndPoint)connected.LocalEndPoint).Port;
            var snapshot = _engine.TakeSnapshot(Options(), new ConnectionQuery
            {
                LocalPorts = new[] { new PortRange(a, a), new PortRange(b, b) },
                Protocols = new[] { ConnectionsMonitor.Engine.Model.TransportProtocol.Udp },
            });
            var alone = Assert.Single(snapshot.Connections, r => r.LocalPort == a);
            Assert.Null(alone.RemoteAddress);
            Assert.Null(alone.AddressScope);
            var paired = Assert.Single(snapshot.Connections, r => r.LocalPort == b);
            Assert.Equal("Loopback", paired.AddressScope);
        }

        [LinuxFact]
        public void LoopbackAndListenersHaveAScopeAndNoGeo()
        {
            using var sockets = new LoopbackSockets();
            var snapshot = _engine.TakeSnapshot(Options(), new ConnectionQuery
            {
                LocalPorts = new[] { new PortRange(sockets.ListenPort, sockets.ListenPort) },
                ProcessIds = new[] { Environment.ProcessId },
            });
            // The listener (remote 0.0.0.0: Unspecified) and the accepted end (remote 127.0.0.1: Loopback).
            Assert.Equal(new[] { "Loopback", "Unspecified" }, snapshot.Connections.Select(r => r.AddressScope.ToString()).OrderBy(s => s, StringComparer.Ordinal));
            foreach (var r in snapshot.Connections)
            {
                Assert.Null(r.Country);
                Assert.Null(r.Asn);
            }
        }

        [LinuxFact]
        public void GeoIpOffLeavesCountryNullAndCountryFiltersWarn()
        {
            using var peer = new PublicPeer("9.9.9.50", 4434);
            using var client = peer.Connect();
            int localPort = ((IPEndPoint)client.LocalEndPoint).Port;
            var byPort = ByEnds(client);

            var off = Options("  enabled: false\n");
            var row = Assert.Single(_engine.TakeSnapshot(off, byPort).Connections);
            Assert.Equal("Public", row.AddressScope);
            Assert.Null(row.Country);
            var filtered = _engine.TakeSnapshot(off, byPort, new ConnectionQuery { Countries = new[] { "US" } });
            Assert.Empty(filtered.Connections);
            Assert.Contains(filtered.Warnings, w => w.Contains("geoip.enabled"));
        }
    }
}
