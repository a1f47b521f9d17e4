using System;
using System.IO;
using System.Linq;
using System.Diagnostics;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Session
{
    /// <summary>
    /// README promises checked through the cmdlets on the replay platform: scripted tables, so the expected rows
    /// are known exactly and public remote addresses need no network at all.
    /// </summary>
    [Collection(SamplerThreads.Name)]
    public sealed class ReplayPromiseTests : IDisposable
    {
        /// <summary>Seven processes: p1 owns one established connection, p2 two, ... p7 seven.</summary>
        private const string SevenTalkers = @"
processes:
  - { pid: 101, name: p1, path: /usr/bin/p1, user: u }
  - { pid: 102, name: p2, path: /usr/bin/p2, user: u }
  - { pid: 103, name: p3, path: /usr/bin/p3, user: u }
  - { pid: 104, name: p4, path: /usr/bin/p4, user: u }
  - { pid: 105, name: p5, path: /usr/bin/p5, user: u }
  - { pid: 106, name: p6, path: /usr/bin/p6, user: u }
  - { pid: 107, name: p7, path: /usr/bin/p7, user: u }
samples:
  - t: 0
    rows:
      - { protocol: TCP, local: 127.0.0.1, localPort: 40001, remote: 10.0.1.1, remotePort: 443, state: Established, pid: 101, inode: 1 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40002, remote: 10.0.2.1, remotePort: 443, state: Established, pid: 102, inode: 2 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40003, remote: 10.0.2.2, remotePort: 443, state: Established, pid: 102, inode: 3 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40004, remote: 10.0.3.1, remotePort: 443, state: Established, pid: 103, inode: 4 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40005, remote: 10.0.3.2, remotePort: 443, state: Established, pid: 103, inode: 5 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40006, remote: 10.0.3.3, remotePort: 443, state: Established, pid: 103, inode: 6 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40007, remote: 10.0.4.1, remotePort: 443, state: Established, pid: 104, inode: 7 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40008, remote: 10.0.4.2, remotePort: 443, state: Established, pid: 104, inode: 8 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40009, remote: 10.0.4.3, remotePort: 443, state: Established, pid: 104, inode: 9 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40010, remote: 10.0.4.4, remotePort: 443, state: Established, pid: 104, inode: 10 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40011, remote: 10.0.5.1, remotePort: 443, state: Established, pid: 105, inode: 11 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40012, remote: 10.0.5.2, remotePort: 443, state: Established, pid: 105, inode: 12 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40013, remote: 10.0.5.3, remotePort: 443, state: Established, pid: 105, inode: 13 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40014, remote: 10.0.5.4, remotePort: 443, state: Established, pid: 105, inode: 14 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40015, remote: 10.0.5.5, remotePort: 443, state: Established, pid: 105, inode: 15 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40016, remote: 10.0.6.1, remotePort: 443, state: Established, pid: 106, inode: 16 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40017, remote: 10.0.6.2, remotePort: 443, state: Established, pid: 106, inode: 17 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40018, remote: 10.0.6.3, remotePort: 443, state: Established, pid: 106, inode: 18 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40019, remote: 10.0.6.4, remotePort: 443, state: Established, pid: 106, inode: 19 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40020, remote: 10.0.6.5, remotePort: 443, state: Established, pid: 106, inode: 20 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40021, remote: 10.0.6.6, remotePort: 443, state: Established, pid: 106, inode: 21 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40022, remote: 10.0.7.1, remotePort: 443, state: Established, pid: 107, inode: 22 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40023, remote: 10.0.7.2, remotePort: 443, state: Established, pid: 107, inode: 23 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40024, remote: 10.0.7.3, remotePort: 443, state: Established, pid: 107, inode: 24 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40025, remote: 10.0.7.4, remotePort: 443, state: Established, pid: 107, inode: 25 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40026, remote: 10.0.7.5, remotePort: 443, state: Established, pid: 107, inode: 26 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40027, remote: 10.0.7.6, remotePort: 443, state: Established, pid: 107, inode: 27 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 40028, remote: 10.0.7.7, remotePort: 443, state: Established, pid: 107, inode: 28 }
";

        /// <summary>web talks to 8.8.8.8 (public: GeoIP looks it up) and listens on 8080.</summary>
        private const string PublicPeer = @"
processes:
  - { pid: 100, name: web, path: /usr/sbin/web, user: www }
samples:
  - t: 0
    rows:
      - { protocol: TCP, local: 0.0.0.0, localPort: 8080, remote: 0.0.0.0, remotePort: 0, state: Listen, pid: 100, inode: 10 }
      - { protocol: TCP, local: 10.0.0.1, localPort: 50001, remote: 8.8.8.8, remotePort: 443, state: Established, pid: 100, inode: 11 }
";

        private readonly string _dir = Directory.CreateTempSubdirectory("cm-replay-promise-").FullName;

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private ModuleSession Replay(string script)
        {
            string path = Path.Combine(_dir, "replay-" + Guid.NewGuid().ToString("N") + ".yml");
            File.WriteAllText(path, script);
            var ps = new ModuleSession();
            ps.Invoke("$global:ConnectionsMonitorReplayPath = $args[0]", path);
            return ps;
        }

        private string Config(string text)
        {
            string path = Path.Combine(_dir, "config-" + Guid.NewGuid().ToString("N") + ".yml");
            File.WriteAllText(path, text);
            return path;
        }

        [Fact]
        public void TopTalkerShowsMonitoringTopTalkersCountEntriesByDefault()
        {
            using var ps = Replay(SevenTalkers);
            // The module's own config.yml (this test process reads no user config): topTalkersCount 5.
            var rows = ps.Invoke("Get-TopTalker -By Connections");
            Assert.Equal(new object[] { "p7", "p6", "p5", "p4", "p3" }, rows.Select(r => r.Properties["Name"].Value));
            Assert.Equal(new object[] { 7, 6, 5, 4, 3 }, rows.Select(r => r.Properties["Connections"].Value));

            string three = Config("monitoring:\n  topTalkersCount: 3\n");
            Assert.Equal(new object[] { "p7", "p6", "p5" }, ps.Invoke("Get-TopTalker -By Connections -ConfigPath $args[0]", three).Select(r => r.Properties["Name"].Value));
            // -Top wins over the configuration.
            Assert.Equal(6, ps.Invoke("Get-TopTalker -By Connections -ConfigPath $args[0] -Top 6", three).Count);
        }

        [Fact]
        public void ADamagedDatabaseGivesOneWarningAndEmptyGeoFieldsNotAFailedSnapshot()
        {
            string damaged = Path.Combine(_dir, "country.mmdb");
            File.WriteAllText(damaged, "not a MaxMind database");
            string config = Config("geoip:\n  directory: '" + Path.Combine(_dir, "geo") + "'\n  countryDatabase: '" + damaged + "'\n");
            using var ps = Replay(PublicPeer);

            var (rows, warnings) = ps.InvokeWithWarnings("Get-MonitoredConnection -ConfigPath $args[0] -State Established", config); // throws on any error
            var row = Assert.Single(rows);
            Assert.Equal("8.8.8.8", row.Properties["RemoteAddress"].Value);
            Assert.Equal("Public", row.Properties["AddressScope"].Value);
            Assert.Null(row.Properties["Country"].Value);
            Assert.Null(row.Properties["CountryName"].Value);
            // (The replay platform also says that it cannot list interfaces for VPN detection.)
            var warning = Assert.Single(warnings, w => w.StartsWith("GeoIP:", StringComparison.Ordinal));
            Assert.Contains(damaged, warning);

            // Said once: the next snapshot has the same empty fields and no second warning.
            (rows, warnings) = ps.InvokeWithWarnings("Get-MonitoredConnection -ConfigPath $args[0] -State Established", config);
            Assert.Null(Assert.Single(rows).Properties["Country"].Value);
            Assert.Empty(warnings);
        }

        [Fact]
        public void IsVpnIsNullWhenDetectionCannotTellAndTrueWhenARuleMatches()
        {
            // The replay platform lists no interfaces: whether a connection goes through a VPN interface is unknown.
            using var ps = Replay(PublicPeer);
            var (rows, warnings) = ps.InvokeWithWarnings("Get-MonitoredConnection -State Established");
            var row = Assert.Single(rows);
            Assert.Null(row.Properties["IsVpn"].Value);
            Assert.Null(row.Properties["VpnReason"].Value);
            Assert.Equal("this platform cannot list network interfaces; VPN interfaces are not detected", Assert.Single(warnings));
            // A rule that needs no interface still answers: web named as a VPN process.
            string config = Config("vpn:\n  processes: ['web']\n");
            row = Assert.Single(ps.Invoke("Get-MonitoredConnection -State Established -ConfigPath $args[0]", config));
            Assert.Equal(true, row.Properties["IsVpn"].Value);
            Assert.Equal("process web", row.Properties["VpnReason"].Value);
        }

        [Fact]
        public void ADatabaseReplacedOnDiskIsPickedUpByTheNextCallsWithoutRemoveModule()
        {
            string path = Path.Combine(_dir, "country.mmdb");
            File.WriteAllText(path, "not a MaxMind database yet");
            string config = Config("geoip:\n  directory: '" + Path.Combine(_dir, "geo") + "'\n  countryDatabase: '" + path + "'\n");
            using var ps = Replay(PublicPeer);
            const string get = "Get-MonitoredConnection -ConfigPath $args[0] -State Established -WarningAction SilentlyContinue";
            Assert.Null(Assert.Single(ps.Invoke(get, config)).Properties["Country"].Value);

            // Replaced as Update-ConnectionGeoDatabase does it: a new file renamed over the old one.
            File.Copy(Path.Combine(Repo.Root, "data", "GeoIP", "dbip-country.mmdb"), path + ".new");
            File.Move(path + ".new", path, overwrite: true);
            var clock = Stopwatch.StartNew();
            object country = null;
            while (country == null && clock.Elapsed < TimeSpan.FromSeconds(15))
            {
                country = Assert.Single(ps.Invoke(get, config)).Properties["Country"].Value;
                if (country == null) System.Threading.Thread.Sleep(50);
            }
            Assert.True("US".Equals(country), "the replaced database was not used within 15 s (files are checked once a second); Country = " + (country ?? "null"));
        }
    }
}
