using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using ConnectionsMonitor.Engine.Baseline;
using ConnectionsMonitor.Engine.Model;
using Xunit;

namespace ConnectionsMonitor.Tests.Baseline
{
    /// <summary>Baselines built from constructed records, compared, and round-tripped through the JSON file.</summary>
    public sealed class ConnectionBaselineTests : IDisposable
    {
        private static readonly DateTime Now = new DateTime(2026, 12, 1, 6, 0, 0, DateTimeKind.Utc);
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cm-baseline-" + Guid.NewGuid().ToString("N"));

        public ConnectionBaselineTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private static ConnectionRecord Listen(int port, string name, int pid, string address = "0.0.0.0") => new ConnectionRecord
        {
            Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse(address), LocalPort = port, State = TcpState.Listen,
            ProcessId = pid, ProcessName = name, ProcessPath = "/usr/sbin/" + name,
        };

        private static ConnectionRecord Out(string name, int pid, int localPort, string remote, int remotePort, long? asn, string country) => new ConnectionRecord
        {
            Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("10.0.0.5"), LocalPort = localPort, RemoteAddress = IPAddress.Parse(remote),
            RemotePort = remotePort, State = TcpState.Established, ProcessId = pid, ProcessName = name, ProcessPath = "/usr/bin/" + name,
            Asn = asn, AsnOrganization = asn == null ? null : "AS-" + asn, Country = country, AddressScope = "Public",
        };

        private static ConnectionRecord Inbound(int listenerPort, string name, int pid, string client, int clientPort) => new ConnectionRecord
        {
            Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("10.0.0.5"), LocalPort = listenerPort, RemoteAddress = IPAddress.Parse(client),
            RemotePort = clientPort, State = TcpState.Established, ProcessId = pid, ProcessName = name, ProcessPath = "/usr/sbin/" + name, AddressScope = "Public",
        };

        private static List<ConnectionRecord> Machine() => new List<ConnectionRecord>
        {
            Listen(22, "sshd", 100),
            Listen(22, "sshd", 100, "::"),
            Inbound(22, "sshd", 300, "203.0.113.9", 51000),
            Out("curl", 200, 40001, "104.16.1.1", 443, 13335, "US"),
            Out("curl", 200, 40002, "104.16.1.2", 443, 13335, "US"),  // same process, ASN, country, port: one entry
            new ConnectionRecord { Protocol = TransportProtocol.Udp, LocalAddress = IPAddress.Any, LocalPort = 53000, ProcessId = 400, ProcessName = "resolver" }, // ephemeral UDP: nothing
            new ConnectionRecord { Protocol = TransportProtocol.Udp, LocalAddress = IPAddress.Any, LocalPort = 123, ProcessId = 401, ProcessName = "chronyd", ProcessPath = "/usr/sbin/chronyd" },
            new ConnectionRecord { Protocol = TransportProtocol.Udp, LocalAddress = IPAddress.Parse("10.0.0.5"), LocalPort = 45000, RemoteAddress = IPAddress.Parse("198.51.100.7"),
                RemotePort = 1194, ProcessId = 500, ProcessName = "openvpn", ProcessPath = "/usr/sbin/openvpn", IsVpn = true, VpnReason = "remote port 1194 (OpenVPN)", AddressScope = "Public" },
        };

        [Fact]
        public void ASnapshotBecomesExactlyItsStableEntries()
        {
            var b = ConnectionBaseline.FromRecords(Machine(), Now, "web1");
            var lines = b.Entries.Select(e => e.Kind + " " + e.Protocol + " " + e.LocalAddress + " " + e.LocalPort + " " + e.ProcessName + " " + e.RemotePort + " " + e.AddressScope + " " + e.Asn + " " + e.Country + " " + e.VpnReason).ToList();
            Assert.Equal(new[]
            {
                "Listener TCP 0.0.0.0 22 sshd     ",
                "Listener TCP :: 22 sshd     ",
                "Listener UDP 0.0.0.0 123 chronyd     ",
                "Outbound TCP   curl 443 Public 13335 US ",
                "Outbound UDP   openvpn 1194 Public   ",
                "Vpn    openvpn     remote port 1194 (OpenVPN)",
            }, lines);
            Assert.Equal("web1", b.HostName);
            Assert.Equal(Now, b.CreatedUtc);
        }

        [Fact]
        public void EphemeralChurnAddsNothing()
        {
            var reference = ConnectionBaseline.FromRecords(Machine(), Now, "web1");
            var later = Machine();
            later.RemoveAll(r => r.LocalPort == 40002 || r.LocalPort == 53000);
            later.Add(Out("curl", 201, 40999, "104.16.9.9", 443, 13335, "US"));   // a new client connection, new pid, new address, same ASN/port
            later.Add(Inbound(22, "sshd", 301, "192.0.2.44", 60000));              // a new inbound session on a known listener
            later.Add(new ConnectionRecord { Protocol = TransportProtocol.Udp, LocalAddress = IPAddress.Any, LocalPort = 58888, ProcessId = 402, ProcessName = "resolver" });
            later.Add(new ConnectionRecord { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("10.0.0.5"), LocalPort = 40123,
                RemoteAddress = IPAddress.Parse("104.16.1.1"), RemotePort = 443, State = TcpState.Established, ProcessName = "CURL", ProcessPath = "/USR/BIN/CURL",
                Asn = 13335, Country = "US", AddressScope = "Public" }); // case differs: same process
            later.Add(new ConnectionRecord { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("10.0.0.5"), LocalPort = 40124,
                RemoteAddress = IPAddress.Parse("192.0.2.200"), RemotePort = 80, State = TcpState.TimeWait, Asn = 64501, Country = "FR", AddressScope = "Public" }); // a remnant: no entry
            // TCP sockets bound but neither listening nor connected (a server before listen(), a client before connect()): the
            // kernel gives them a remote of 0.0.0.0:0 or [::]:0. No peer: no Outbound entry (a newcomer's trial saw
            // "Added Outbound TCP RemotePort 0" for python3 -m http.server starting up).
            later.Add(new ConnectionRecord { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("10.0.0.5"), LocalPort = 8098,
                RemoteAddress = IPAddress.Any, RemotePort = 0, State = TcpState.Closed, ProcessId = 403, ProcessName = "python3", AddressScope = "Unspecified" });
            later.Add(new ConnectionRecord { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.IPv6Any, LocalPort = 8099,
                RemoteAddress = IPAddress.IPv6Any, RemotePort = 0, State = TcpState.Closed, ProcessId = 403, ProcessName = "python3" });
            Assert.Empty(BaselineComparer.Compare(reference, later, Now.AddHours(1), "web1"));
        }

        [Fact]
        public void ANewOutboundProcessIsExactlyOneAddedWithItsProcessId()
        {
            var reference = ConnectionBaseline.FromRecords(Machine(), Now, "web1");
            var later = Machine();
            later.Add(Out("miner", 777, 41000, "198.18.0.1", 3333, 64500, "KP"));
            later.Add(Out("miner", 776, 41001, "198.18.0.2", 3333, 64500, "KP"));
            var d = Assert.Single(BaselineComparer.Compare(reference, later, Now, "web1"));
            Assert.Equal(BaselineChange.Added, d.Change);
            Assert.Equal(BaselineEntryKind.Outbound, d.Entry.Kind);
            Assert.Equal("miner", d.Entry.ProcessName);
            Assert.Equal(3333, d.Entry.RemotePort);
            Assert.Equal(64500L, d.Entry.Asn);
            Assert.Equal("KP", d.Entry.Country);
            Assert.Equal(776, d.ProcessId);
        }

        [Fact]
        public void AKnownProcessToANewCountryOrPortIsAdded()
        {
            var reference = ConnectionBaseline.FromRecords(Machine(), Now, "web1");
            var later = Machine();
            later.Add(Out("curl", 200, 40003, "104.16.1.3", 443, 13335, "DE"));
            later.Add(Out("curl", 200, 40004, "104.16.1.3", 8443, 13335, "US"));
            var d = BaselineComparer.Compare(reference, later, Now, "web1");
            Assert.Equal(new[] { "DE 443", "US 8443" }, d.Select(x => x.Entry.Country + " " + x.Entry.RemotePort).OrderBy(s => s));
            Assert.All(d, x => Assert.Equal(BaselineChange.Added, x.Change));
        }

        [Fact]
        public void AClosedListenerIsExactlyOneRemovedAndANewOneOneAdded()
        {
            var reference = ConnectionBaseline.FromRecords(Machine(), Now, "web1");
            var later = Machine();
            later.RemoveAll(r => r.State == TcpState.Listen && r.LocalAddress.Equals(IPAddress.IPv6Any));
            var removed = Assert.Single(BaselineComparer.Compare(reference, later, Now, "web1"));
            Assert.Equal(BaselineChange.Removed, removed.Change);
            Assert.Equal(BaselineEntryKind.Listener, removed.Entry.Kind);
            Assert.Equal("::", removed.Entry.LocalAddress);
            Assert.Equal(22, removed.Entry.LocalPort);
            Assert.Null(removed.ProcessId);

            later = Machine();
            later.Add(Listen(8080, "node", 900, "127.0.0.1"));
            var added = Assert.Single(BaselineComparer.Compare(reference, later, Now, "web1"));
            Assert.Equal((BaselineChange.Added, BaselineEntryKind.Listener, 8080, "node", 900), (added.Change, added.Entry.Kind, added.Entry.LocalPort.Value, added.Entry.ProcessName, added.ProcessId.Value));
        }

        [Fact]
        public void TheFileRoundTripsExactlyAndEscapesOutsideText()
        {
            var records = Machine();
            records.Add(Out("evil\u001b[31m\"name", 9, 40500, "104.16.1.1", 443, null, null));
            var b = ConnectionBaseline.FromRecords(records, Now, "web1");
            string path = Path.Combine(_dir, "baseline.json");
            BaselineFile.Write(path, b, overwrite: false);
            string text = File.ReadAllText(path);
            Assert.True(text.IndexOf('\u001b') < 0, "a raw escape character in the file");
            Assert.Contains("evil\\u001B[31m\\u0022name", text, StringComparison.Ordinal);
            Assert.Contains("\"format\": \"ConnectionsMonitor.Baseline\"", text);
            Assert.Contains("\"formatVersion\": 1", text);
            Assert.Contains("\"created\": \"2026-12-01T06:00:00.0000000Z\"", text);
            Assert.Equal(new[] { path }, Directory.GetFiles(_dir)); // no temporary file left

            var read = BaselineFile.Read(path);
            Assert.Equal("web1", read.HostName);
            Assert.Equal(Now, read.CreatedUtc);
            Assert.Equal(DateTimeKind.Utc, read.CreatedUtc.Kind);
            Assert.Equal(b.Entries.Select(e => e.Key), read.Entries.Select(e => e.Key));
            Assert.Contains(read.Entries, e => e.ProcessName == "evil\u001b[31m\"name");
            Assert.Equal("AS-13335", read.Entries.Single(e => e.Asn == 13335).AsnOrganization);
            Assert.Empty(BaselineComparer.Compare(read, records, Now, "web1"));
        }

        [Fact]
        public void AnExistingFileIsReplacedOnlyWhenAsked()
        {
            string path = Path.Combine(_dir, "b.json");
            File.WriteAllText(path, "keep");
            var b = ConnectionBaseline.FromRecords(Machine(), Now, "web1");
            Assert.Throws<IOException>(() => BaselineFile.Write(path, b, overwrite: false));
            Assert.Equal("keep", File.ReadAllText(path));
            BaselineFile.Write(path, b, overwrite: true);
            Assert.Equal(6, BaselineFile.Read(path).Entries.Count);
            Assert.Single(Directory.GetFiles(_dir));
        }

        [Theory]
        // Our own words, where the position is in the file: never System.Text.Json's message, which quotes the file's bytes
        // (newlines and all) and its reader's internals ("isFinalBlock", "BytePositionInLine").
        [InlineData("", "' is empty. A baseline file")]
        [InlineData(" \r\n\t", "' is empty. A baseline file")]
        [InlineData("not json\n", "' is not valid JSON at line 1, byte 2. A baseline file")]
        [InlineData("{\n  \"format\": x\n}", "' is not valid JSON at line 2, byte 13. A baseline file")]
        [InlineData("[1,2]", "holds a JSON array, not an object")]
        [InlineData("{\"format\":\"something else\",\"formatVersion\":1}", "is not a connection baseline (its \"format\" is \"something else\")")]
        [InlineData("{\"format\":\"ConnectionsMonitor.Baseline\"}", "has no usable \"formatVersion\" (it is missing)")]
        [InlineData("{\"format\":\"ConnectionsMonitor.Baseline\",\"formatVersion\":1,\"created\":\"2026-12-01T06:00:00Z\",\"listeners\":[{\"protocol\":\"TCP\",\"localPort\":\"22\"}]}", "has a \"localPort\" of \"22\"; expected a whole number from 0 to 65535.")]
        [InlineData("{\"format\":\"ConnectionsMonitor.Baseline\",\"formatVersion\":1,\"created\":\"2026-12-01T06:00:00Z\",\"listeners\":[],\"outbound\":[{\"protocol\":\"SCTP\"}]}", "has a \"protocol\" of \"SCTP\"; expected \"TCP\" or \"UDP\".")]
        // A section left out (or null) is a damaged file, not "none": read as empty, every entry of the other side would differ.
        [InlineData("{\"format\":\"ConnectionsMonitor.Baseline\",\"formatVersion\":1,\"created\":\"2026-12-01T06:00:00Z\",\"outbound\":[]}", "has no \"listeners\" array (every baseline has one, [] when there were none).")]
        [InlineData("{\"format\":\"ConnectionsMonitor.Baseline\",\"formatVersion\":1,\"created\":\"2026-12-01T06:00:00Z\",\"listeners\":[],\"outbound\":null}", "has no \"outbound\" array (every baseline has one, [] when there were none).")]
        public void ABadFileSaysWhatWasWrongAndWhatIsExpected(string content, string what)
        {
            string path = Path.Combine(_dir, "bad.json");
            File.WriteAllText(path, content);
            var ex = Assert.Throws<BaselineFormatException>(() => BaselineFile.Read(path));
            Assert.StartsWith("The file '" + path + "' ", ex.Message);
            Assert.Contains(what, ex.Message);
            Assert.EndsWith("with \"format\": \"ConnectionsMonitor.Baseline\" and \"formatVersion\" 1.", ex.Message);
            Assert.Equal(path, ex.Path);
            foreach (string leak in new[] { "LineNumber", "BytePosition", "isFinalBlock", "literal", "token", "\n" })
                Assert.DoesNotContain(leak, ex.Message);
            Assert.Null(ex.InnerException as System.Text.Json.JsonException);
        }

        [Fact]
        public void AnEmptyFileWithAByteOrderMarkIsEmpty()
        {
            string path = Path.Combine(_dir, "bom.json");
            File.WriteAllBytes(path, new byte[] { 0xEF, 0xBB, 0xBF, (byte)'\n' });
            var ex = Assert.Throws<BaselineFormatException>(() => BaselineFile.Read(path));
            Assert.StartsWith("The file '" + path + "' is empty. A baseline file is the JSON object", ex.Message);
        }

        [Fact]
        public void ANewerVersionAndAMissingFileSaySo()
        {
            string path = Path.Combine(_dir, "new.json");
            File.WriteAllText(path, "{\"format\":\"ConnectionsMonitor.Baseline\",\"formatVersion\":2,\"created\":\"2026-12-01T06:00:00Z\"}");
            var ex = Assert.Throws<BaselineFormatException>(() => BaselineFile.Read(path));
            Assert.Equal("The baseline file '" + path + "' has format version 2, newer than this module reads (version 1 and older): it was written by a newer ConnectionsMonitor. Update the module, or export the baseline again with this one.", ex.Message);

            string missing = Path.Combine(_dir, "nosuch.json");
            ex = Assert.Throws<BaselineFormatException>(() => BaselineFile.Read(missing));
            Assert.StartsWith("The baseline file '" + missing + "' cannot be read: ", ex.Message);
        }

        [Fact]
        public void TenThousandConnectionsCompareWellUnderASecond()
        {
            var records = new List<ConnectionRecord>();
            for (int i = 0; i < 10000; i++)
                records.Add(i % 10 == 0 ? Listen(1000 + i, "svc" + (i % 50), i) : Out("app" + (i % 200), i, 30000 + (i % 30000), "104.16." + (i % 250) + ".1", 443 + (i % 7), 13335 + (i % 40), "US"));
            var reference = ConnectionBaseline.FromRecords(records, Now, "big");
            records.Add(Listen(65000, "new", 1));
            var watch = Stopwatch.StartNew();
            var d = BaselineComparer.Compare(reference, records, Now, "big");
            watch.Stop();
            Assert.Single(d);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), "took " + watch.Elapsed);
        }
    }
}
