using System.IO;
using System.Linq;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Model;
using Xunit;
using static ConnectionsMonitor.Tests.Configuration.ConfigTestSupport;

namespace ConnectionsMonitor.Tests.Configuration
{
    public class ConfigLoaderTests
    {
        [Fact]
        public void SeedStyleFileLoadsWithoutWarningsAndWithTheSeedValues()
        {
            var result = ConfigLoader.Load(TestData("seed-config.yml"));
            Assert.Empty(result.Warnings);
            Assert.Equal(Path.GetFullPath(TestData("seed-config.yml")), result.SourcePath);
            var c = result.Config;

            Assert.Equal("tok_3f9a1c77e2", c.IpToken);
            Assert.False(c.ResolveDns);
            Assert.Equal(2000, c.RefreshInterval);
            Assert.Equal(15, c.HighlightedPorts.Count);
            Assert.Equal("#FFA500", c.HighlightedPorts[22].Hex);
            Assert.Equal("#FF0000", c.HighlightedPorts[3389].Hex);
            Assert.Null(c.HighlightedPorts[22].AnsiIndex);
            Assert.Equal(ConfigColor.Parse("green"), c.Colors.Tcp.Listening);
            Assert.Equal(2, c.Colors.Tcp.Listening.AnsiIndex);
            Assert.Equal("magenta", c.Colors.Tcp.TimeWait.Name);
            Assert.Equal(ConfigColor.Parse("cyan"), c.Colors.For(TransportProtocol.Udp, null));
            Assert.Equal(ConfigColor.Parse("red"), c.Colors.For(TransportProtocol.Tcp, TcpState.CloseWait));
            Assert.Equal(ConfigColor.Parse("white"), c.Colors.For(TransportProtocol.Tcp, TcpState.SynSent));
            Assert.Equal(ColumnNames.All, c.Columns.ToList());
            Assert.True(c.Columns.Contains("pid"));
            Assert.Equal(30, c.ColumnWidths["Process"]);
            Assert.Equal(6, c.ColumnWidths["pid"]);
            Assert.True(c.TruncateOverflow);
            // The seed's order names its ten columns; Rate, which its table did not have, is not in it, so not shown.
            var seedTen = new[] { "Proto", "Local", "Port", "Foreign", "State", "PID", "Process", "Geo", "Bytes", "Age" };
            Assert.Equal(seedTen, c.ColumnOrder);
            Assert.Equal(seedTen, c.VisibleColumns);
            Assert.True(c.Monitoring.ShowStats);
            Assert.Equal(5, c.Monitoring.TopTalkersCount);
            Assert.Equal(604800000L, c.Monitoring.HistoryRetention);
            Assert.False(c.Alerts.Enabled);
            Assert.Empty(c.Alerts.Webhooks);
            Assert.Equal(new[] { 23, 135, 139, 445, 3389 }, c.Alerts.Conditions.SuspiciousPorts);
            Assert.True(c.Alerts.Conditions.NewForeignConnections);
            Assert.Equal(500, c.Alerts.Conditions.MaxConnections);
            Assert.Equal(10485760L, c.Alerts.Conditions.MaxBandwidth);
            Assert.False(c.IpFiltering.Enabled);
            Assert.Empty(c.IpFiltering.Allowlist);
            Assert.False(c.ConnectionFiltering.Enabled);
            Assert.Empty(c.ConnectionFiltering.Ports);
            Assert.True(c.Dashboard.Enabled);
            Assert.Equal(3000, c.Dashboard.Port);
            Assert.Equal(new[] { "csv", "json" }, c.Dashboard.Export.Formats);
            Assert.False(c.Dashboard.Export.AutoExport);
            Assert.Equal(3600000L, c.Dashboard.Export.ExportInterval);
            Assert.Equal("./exports", c.Dashboard.Export.ExportPath);
        }

        [Fact]
        public void SeedStyleFileMatchesTheBuiltInDefaultsApartFromTheToken()
        {
            var c = ConfigLoader.Load(TestData("seed-config.yml")).Config;
            var defaults = new MonitorConfig();
            Assert.NotNull(c.IpToken);
            Assert.Null(defaults.IpToken);
            c.IpToken = null; // internal setter: the test compares everything else
            // The seed's file switches its dashboard on; here that makes the service serve the web page, which it does only when asked.
            Assert.True(c.Dashboard.Enabled);
            Assert.False(defaults.Dashboard.Enabled);
            c.Dashboard.Enabled = false;
            // The seed's columnOrder lists its ten columns; the default order has Rate after Bytes as well.
            Assert.Equal(defaults.ColumnOrder.Where(n => n != ColumnNames.Rate), c.ColumnOrder);
            c.ColumnOrder = defaults.ColumnOrder;
            // The seed's Age width, 6, cut a lower bound of ten minutes or more (">13m58s" read "3m58s"); the default is 7.
            Assert.Equal(6, c.ColumnWidths[ColumnNames.Age]);
            Assert.Equal(7, defaults.ColumnWidths[ColumnNames.Age]);
            c.ColumnWidths = defaults.ColumnWidths;
            AssertSameValues(defaults, c);
        }

        [Fact]
        public void RepositoryConfigLoadsWithoutWarningsAndEqualsTheBuiltInDefaults()
        {
            var result = ConfigLoader.Load(TestData("repo-config.yml"));
            Assert.Empty(result.Warnings);
            AssertSameValues(new MonitorConfig(), result.Config);
            Assert.False(result.Config.HasIpToken);
        }

        [Theory]
        [InlineData("")]
        [InlineData("# only a comment\n")]
        [InlineData("---\n")]
        [InlineData("~\n")]
        public void EmptyFileIsAllDefaults(string text)
        {
            var result = ConfigLoader.LoadText(text, "empty.yml");
            Assert.Empty(result.Warnings);
            AssertSameValues(new MonitorConfig(), result.Config);
        }

        [Fact]
        public void BlockAndFlowStylesBothLoad()
        {
            var c = ConfigLoader.LoadText(@"
highlightedPorts: { 22: red, '8080': '#0f0' }
columnOrder:
  - proto
  - Process
  - foreign
columns: { Geo: false, process: true }
columnWidths:
  Process: 35
ipFiltering:
  enabled: true
  allowlist:
    - ""192.168.1.1""
    - 10.0.0.0/8
  blocklist: [ '192.168.*', 'fd00::/8' ]
connectionFiltering:
  enabled: true
  protocols: [TCP, udp]
  ports: [443, ""8000-8100"", '22']
  processes:
    - chrome.exe
    - 'fire*'
  countries: [us, 'DE']
alerts:
  webhooks:
    - url: ""https://hooks.example.invalid/T000/B000""
    - url: http://127.0.0.1:9000/hook
", "styles.yml").Config;

            Assert.Equal(new[] { 22, 8080 }, c.HighlightedPorts.Keys);
            Assert.Equal(1, c.HighlightedPorts[22].AnsiIndex); // red
            Assert.Equal("#00FF00", c.HighlightedPorts[8080].Hex);
            Assert.Equal(new[] { "Proto", "Process", "Foreign" }, c.ColumnOrder);
            Assert.False(c.Columns.Contains("Geo"));
            Assert.Equal(10, c.Columns.Count); // the eleven less Geo
            Assert.Equal(35, c.ColumnWidths["Process"]);
            Assert.Equal(22, c.ColumnWidths["Local"]); // unlisted widths keep their defaults
            Assert.Equal(new[] { "192.168.1.1", "10.0.0.0/8" }, c.IpFiltering.Allowlist.Select(p => p.Text));
            Assert.True(c.IpFiltering.Blocklist[0].IsMatch(System.Net.IPAddress.Parse("192.168.4.4")));
            Assert.True(c.IpFiltering.Blocklist[1].IsMatch(System.Net.IPAddress.Parse("fd00::1")));
            Assert.Equal(new[] { TransportProtocol.Tcp, TransportProtocol.Udp }, c.ConnectionFiltering.Protocols);
            Assert.Equal(new[] { "443", "8000-8100", "22" }, c.ConnectionFiltering.Ports.Select(p => p.ToString()));
            Assert.True(c.ConnectionFiltering.Processes[1].IsMatch("firefox"));
            Assert.Equal(new[] { "US", "DE" }, c.ConnectionFiltering.Countries);
            Assert.Equal(2, c.Alerts.Webhooks.Count);
            Assert.Equal("hooks.example.invalid", c.Alerts.Webhooks[0].Url.Host);
            Assert.DoesNotContain("T000", c.Alerts.Webhooks[0].ToString());
        }

        [Fact]
        public void VisibleColumnsFollowColumnOrderMinusSwitchedOffColumns()
        {
            var c = ConfigLoader.LoadText("columnOrder: [Age, Proto, Geo]\ncolumns: { Geo: false }\n", "c.yml").Config;
            Assert.Equal(new[] { "Age", "Proto" }, c.VisibleColumns);
        }

        [Theory]
        [InlineData("brightred", 9)]
        [InlineData("redBright", 9)]
        [InlineData("Bright-Red", 9)]
        [InlineData("gray", 8)]
        [InlineData("grey", 8)]
        [InlineData("blackBright", 8)]
        [InlineData("CYAN", 6)]
        public void ColourNamesFollowChalk(string name, int ansi)
        {
            Assert.True(ConfigColor.TryParse(name, out var color, out _));
            Assert.Equal(ansi, color.AnsiIndex);
            Assert.Equal(name, color.Name);
        }

        [Theory]
        [InlineData("#abc", "#AABBCC")]
        [InlineData("#FFA500", "#FFA500")]
        public void HexColours(string text, string hex) => Assert.Equal(hex, ConfigColor.Parse(text).Hex);

        [Fact]
        public void EnrichmentSectionsLoad()
        {
            var c = ConfigLoader.LoadText(
                "geoip:\n  directory: ~/geo\n  cityDatabase: /data/GeoLite2-City.mmdb\n  maxmindAccountId: '123456'\n  maxmindLicenseKey: k3y-SECRET\n" +
                "dns:\n  servers: ['1.1.1.1', '192.168.1.1:5353', '[::1]:53', '2606:4700:4700::1111']\n  snapshotDeadlineMs: 0\n  resolvePrivate: true\n" +
                "vpn:\n  processes: ['openvpn.exe', 'corp-vpn*']\n  ports: [443]\n  interfaces: ['corp*']\n", "e.yml").Config;
            Assert.Equal("~/geo", c.GeoIp.Directory);
            Assert.Equal("/data/GeoLite2-City.mmdb", c.GeoIp.CityDatabase);
            Assert.Null(c.GeoIp.CountryDatabase);
            Assert.Equal("123456", c.GeoIp.MaxMindAccountId);
            Assert.Equal("k3y-SECRET", c.GeoIp.MaxMindLicenseKey);
            Assert.DoesNotContain("k3y-SECRET", c.ToString());
            Assert.Equal(new[] { "1.1.1.1:53", "192.168.1.1:5353", "[::1]:53", "[2606:4700:4700::1111]:53" }, c.Dns.Servers.Select(e => e.ToString()));
            Assert.Equal(0, c.Dns.SnapshotDeadlineMs);
            Assert.True(c.Dns.ResolvePrivate);
            Assert.Equal(new[] { "openvpn.exe", "corp-vpn*" }, c.Vpn.Processes.Select(w => w.Pattern));
            Assert.Equal(new[] { 443 }, c.Vpn.Ports);
            Assert.Equal("corp*", Assert.Single(c.Vpn.Interfaces).Pattern);
        }

        [Fact]
        public void MetricsKeysLoadWithTheirDefaultsAndAnotherAddressWithATokenIsAccepted()
        {
            var d = ConfigLoader.LoadText("", "config.yml").Config.Metrics;
            Assert.False(d.Enabled);
            Assert.Equal(9464, d.Port);
            Assert.Null(d.Address);
            Assert.Equal(15000, d.Interval);
            Assert.Equal(10, d.TopProcesses);
            Assert.Null(d.BearerToken);
            var m = ConfigLoader.LoadText("metrics:\n  enabled: true\n  port: 9100\n  address: 0.0.0.0\n  interval: 5000\n  topProcesses: 25\n  bearerToken: abc\n", "config.yml").Config.Metrics;
            Assert.True(m.Enabled);
            Assert.Equal(9100, m.Port);
            Assert.Equal(System.Net.IPAddress.Any, m.Address);
            Assert.Equal(5000, m.Interval);
            Assert.Equal(25, m.TopProcesses);
            Assert.Equal("abc", m.BearerToken);
            // The shipped config.yml has the keys with their defaults.
            var shipped = ConfigLoader.LoadText(System.IO.File.ReadAllText(System.IO.Path.Combine(ConnectionsMonitor.Tests.TestSupport.Repo.Root, "config.yml")), "config.yml");
            Assert.Empty(shipped.Warnings);
            Assert.Equal(9464, shipped.Config.Metrics.Port);
            Assert.Null(shipped.Config.Metrics.BearerToken);
        }

        [Fact]
        public void SecretsNeverAppearInToString()
        {
            var c = ConfigLoader.LoadText("ipToken: s3cr3t-token\nalerts:\n  webhooks:\n    - url: https://example.invalid/hook/XYZSECRET\n", "s.yml").Config;
            Assert.DoesNotContain("s3cr3t-token", c.ToString());
            Assert.DoesNotContain("XYZSECRET", c.ToString());
            Assert.DoesNotContain("XYZSECRET", c.Alerts.Webhooks[0].ToString());
        }
    }
}

namespace ConnectionsMonitor.Tests.Configuration
{
    public class ConfigComparisonSelfTests
    {
        // The equality tests above are only worth something if the comparer notices differences.
        [Theory]
        [InlineData("monitoring:\n  historyRetention: 1\n")]
        [InlineData("highlightedPorts:\n  '22': '#FFA500'\n")]
        [InlineData("colors:\n  udp: brightcyan\n")]
        [InlineData("columnWidths:\n  Age: 8\n")]
        [InlineData("dashboard:\n  export:\n    formats: [json]\n")]
        [InlineData("dns:\n  servers: ['1.1.1.1']\n")]
        [InlineData("vpn:\n  ports: [1194]\n")]
        [InlineData("geoip:\n  asnDatabase: ./asn.mmdb\n")]
        public void ComparerSeesOneChangedValue(string yaml)
        {
            var changed = ConfigLoader.LoadText(yaml, "c.yml").Config;
            Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => ConfigTestSupport.AssertSameValues(new MonitorConfig(), changed));
        }
    }
}
