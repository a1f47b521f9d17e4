using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Tests.Session;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Alerts.Delivery
{
    /// <summary>Alerts as RFC 5424 syslog messages: exact text, and real unix, UDP and TCP sockets receiving them.</summary>
    [Collection(SamplerThreads.Name)]
    public class SyslogTests
    {
        private static readonly DateTime Time = new DateTime(2026, 3, 1, 12, 0, 3, 250, DateTimeKind.Utc);

        private static AlertEvent Listener(string rule = "we\"ird\\rule]", string process = "ng\"in]x\\", AlertStatus status = AlertStatus.Firing) =>
            new AlertEvent(rule, AlertKind.NewListeningPort, status, Time, "New listening port 8080/TCP by ng\u0007inx\n(PID 412)", new[]
            {
                new AlertItem { Protocol = TransportProtocol.Tcp, LocalAddress = "0.0.0.0", LocalPort = 8080, ProcessId = 412, ProcessName = process, Country = "US", Asn = 64500 },
                new AlertItem { Protocol = TransportProtocol.Udp, LocalPort = 9 },
            }) { HostName = "host1" };

        [Fact]
        public void FormatsAKnownAlertExactly()
        {
            var a = Listener();
            string text = SyslogSender.Format(a, 16, "connectionsmonitor", 4242);
            Assert.Equal("<132>1 2026-03-01T12:00:03.250000Z host1 connectionsmonitor 4242 NewListeningPort " +
                "[connectionsmonitor@32473 id=\"" + a.Id.ToString("D") + "\" rule=\"we\\\"ird\\\\rule\\]\" kind=\"NewListeningPort\" status=\"firing\" items=\"2\" " +
                "protocol=\"TCP\" localAddress=\"0.0.0.0\" localPort=\"8080\" process=\"ng\\\"in\\]x\\\\\" pid=\"412\" country=\"US\" asn=\"64500\"] " +
                "\uFEFFNew listening port 8080/TCP by ng\u2407inx\u240A(PID 412)", text);
            // UTF-8 on the wire, MSG after the BOM bytes.
            var bytes = Encoding.UTF8.GetBytes(text);
            int bom = IndexOf(bytes, new byte[] { 0xEF, 0xBB, 0xBF });
            Assert.True(bom > 0 && bytes[bom - 1] == (byte)' ');
        }

        [Fact]
        public void ResolvedLevelsCarryValueThresholdSubjectAndInfoSeverity()
        {
            var a = new AlertEvent("conns", AlertKind.MaxConnections, AlertStatus.Resolved, Time, "", new AlertItem[0])
            { HostName = "my host", Value = 120.5, Threshold = 100, Subject = "ngi\"nx" };
            Assert.Equal("<190>1 2026-03-01T12:00:03.250000Z my_host app 7 MaxConnections [connectionsmonitor@32473 id=\"" + a.Id.ToString("D") +
                "\" rule=\"conns\" kind=\"MaxConnections\" status=\"resolved\" subject=\"ngi\\\"nx\" value=\"120.5\" threshold=\"100\" items=\"0\"]",
                SyslogSender.Format(a, 23, "app", 7));
            Assert.Equal(4, SyslogSender.Severity(AlertStatus.Repeating));
            Assert.Equal(5, SyslogSender.Severity(AlertStatus.Test));
        }

        [Theory]
        [InlineData("rule", true)]
        [InlineData("a=b", false)]
        [InlineData("a b", false)]
        [InlineData("a]", false)]
        [InlineData("a\"", false)]
        [InlineData("abcdefghijabcdefghijabcdefghijab", true)]
        [InlineData("abcdefghijabcdefghijabcdefghijabc", false)]
        [InlineData("", false)]
        public void ParamNamesFollowRfc5424(string name, bool ok) => Assert.Equal(ok, SyslogSender.IsParamName(name));

        [Fact]
        public void OctetCountingFrame() =>
            Assert.Equal(Encoding.ASCII.GetBytes("3 abc"), SyslogSender.Frame(Encoding.ASCII.GetBytes("abc")));

        /// <summary>A real rule of a real session fires on a real listener; a real UDP socket receives the message.</summary>
        [Fact]
        public void ASessionRuleFiringArrivesOverUdpAndParsesBack()
        {
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            int udpPort = ((IPEndPoint)udp.Client.LocalEndPoint).Port;
            string dir = Path.Combine(Path.GetTempPath(), "cm-syslog-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string config = Path.Combine(dir, "config.yml");
            File.WriteAllText(config, "alerts:\n  syslog:\n    enabled: true\n    target: 'udp://127.0.0.1:" + udpPort + "'\n    facility: local3\n    appName: cmon-test\n");
            try
            {
                TestEnvironment.Isolate();
                using var session = new MonitorSession(new MonitorSessionOptions { DefaultConfigPath = config });
                session.Alerts.Interval = TimeSpan.FromMilliseconds(200);
                int port = AlertMonitorTests.FreePort();
                session.Alerts.Register(new AlertRule("syslog-listen", new[] { new AlertCondition(AlertKind.NewListeningPort) { Ports = new[] { port } } })
                { Filter = new ConnectionQuery { ProcessIds = new[] { Environment.ProcessId } } });
                Assert.True(SpinWait.SpinUntil(() => session.Alerts.SamplesEvaluated >= 1, TimeSpan.FromSeconds(20)), "no sample was evaluated");
                var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                try
                {
                    udp.Client.ReceiveTimeout = 20000;
                    IPEndPoint from = null;
                    var m = Parse(Encoding.UTF8.GetString(udp.Receive(ref from)));
                    Assert.Equal((19 * 8 + 4).ToString(), m.Pri);
                    Assert.Equal("cmon-test", m.App);
                    Assert.Equal(Environment.ProcessId.ToString(), m.ProcId);
                    Assert.Equal("NewListeningPort", m.MsgId);
                    Assert.Equal("connectionsmonitor@32473", m.SdId);
                    Assert.Equal("syslog-listen", m.Params["rule"]);
                    Assert.Equal("firing", m.Params["status"]);
                    Assert.Equal(port.ToString(), m.Params["localPort"]);
                    Assert.Equal(Environment.ProcessId.ToString(), m.Params["pid"]);
                    Assert.StartsWith("New listening port " + port + "/TCP by ", m.Msg);
                    Assert.True(DateTime.TryParse(m.Time, null, System.Globalization.DateTimeStyles.RoundtripKind, out var t));
                    Assert.InRange(t.ToUniversalTime(), DateTime.UtcNow.AddMinutes(-2), DateTime.UtcNow.AddMinutes(1));
                    Assert.True(session.Alerts.Syslog.Flush(TimeSpan.FromSeconds(5))); // the count follows the send
                    Assert.Equal(1, session.Alerts.Syslog.Sent);
                }
                finally { listener.Stop(); }
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>Test-ConnectionAlert's path: the rule's test alert goes to syslog too, as a notice with status test.</summary>
        [Fact]
        public async System.Threading.Tasks.Task ARulesTestMessageGoesToSyslogAsANotice()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-syslog-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "log");
            string config = Path.Combine(dir, "config.yml");
            File.WriteAllText(config, "alerts:\n  syslog:\n    enabled: true\n    target: 'unix://" + path + "'\n");
            try
            {
                using var log = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
                log.Bind(new UnixDomainSocketEndPoint(path));
                log.ReceiveTimeout = 10000;
                TestEnvironment.Isolate();
                using var session = new MonitorSession(new MonitorSessionOptions { DefaultConfigPath = config });
                session.Alerts.Register(new AlertRule("t-syslog", new[] { new AlertCondition(AlertKind.MaxConnections) { Threshold = 1000000 } }));
                var results = await session.Alerts.TestAsync("t-syslog", CancellationToken.None);
                // Test-ConnectionAlert's answer for syslog: its socket took the message.
                var r = Assert.Single(results);
                Assert.Equal(("Syslog unix://" + path, true, 1, (string)null), (r.Target, r.Delivered, r.Attempts, r.Error));
                var buffer = new byte[65536];
                var m = Parse(Encoding.UTF8.GetString(buffer, 0, log.Receive(buffer)));
                Assert.Equal((16 * 8 + 5).ToString(), m.Pri);
                Assert.Equal("test", m.Params["status"]);
                Assert.Equal("t-syslog", m.Params["rule"]);
                Assert.Equal("Test message for alert rule 't-syslog' (MaxConnections); nothing happened.", m.Msg);
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>A syslog target that cannot be reached: Test-ConnectionAlert's row says not delivered, with the reason.</summary>
        [Fact]
        public async System.Threading.Tasks.Task ARulesTestToAMissingSyslogSocketSaysWhyItWasNotDelivered()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-syslog-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "no-such-log");
            string config = Path.Combine(dir, "config.yml");
            File.WriteAllText(config, "alerts:\n  syslog:\n    enabled: true\n    target: 'unix://" + path + "'\n");
            try
            {
                TestEnvironment.Isolate();
                using var session = new MonitorSession(new MonitorSessionOptions { DefaultConfigPath = config });
                session.Alerts.Register(new AlertRule("t-missing", new[] { new AlertCondition(AlertKind.MaxConnections) { Threshold = 1000000 } }));
                var r = Assert.Single(await session.Alerts.TestAsync("t-missing", CancellationToken.None));
                Assert.Equal(("Syslog unix://" + path, false, 1), (r.Target, r.Delivered, r.Attempts));
                Assert.StartsWith("Syslog unix://" + path + ": ", r.Error);
                Assert.Equal(1, session.Alerts.Syslog.Counts(SystemLogRecordKind.Alert).Failed);
            }
            finally { Directory.Delete(dir, true); }
        }

        [Fact]
        public void TcpCarriesOctetCountedFramesBackToBack()
        {
            var server = new TcpListener(IPAddress.Loopback, 0);
            server.Start();
            try
            {
                int port = ((IPEndPoint)server.LocalEndpoint).Port;
                using var sender = new SyslogSender("tcp", "127.0.0.1", port, 16, "connectionsmonitor");
                var first = Listener(rule: "one");
                var second = Listener(rule: "two ] \"x\"", status: AlertStatus.Resolved);
                sender.Enqueue(first);
                sender.Enqueue(second);
                using var client = server.AcceptTcpClient();
                Assert.True(sender.Flush(TimeSpan.FromSeconds(10)));
                var stream = client.GetStream();
                stream.ReadTimeout = 10000;
                var frames = new List<string> { ReadFrame(stream), ReadFrame(stream) };
                Assert.Equal(SyslogSender.Format(first, 16, "connectionsmonitor", Environment.ProcessId), frames[0]);
                Assert.Equal(SyslogSender.Format(second, 16, "connectionsmonitor", Environment.ProcessId), frames[1]);
                Assert.Equal("two ] \"x\"", Parse(frames[1]).Params["rule"]);
                Assert.Equal("134", Parse(frames[1]).Pri);
                Assert.Equal(2, sender.Sent);
            }
            finally { server.Stop(); }
        }

        [Fact]
        public void AUnixDatagramSocketReceivesOne()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-syslog-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "log");
            try
            {
                using var log = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
                log.Bind(new UnixDomainSocketEndPoint(path));
                log.ReceiveTimeout = 10000;
                using var sender = new SyslogSender("unix", path, 0, 1, "connectionsmonitor");
                var a = Listener();
                sender.Enqueue(a);
                var buffer = new byte[65536];
                int n = log.Receive(buffer);
                Assert.Equal(SyslogSender.Format(a, 1, "connectionsmonitor", Environment.ProcessId), Encoding.UTF8.GetString(buffer, 0, n));
                Assert.True(sender.Flush(TimeSpan.FromSeconds(5)));
                Assert.Equal(1, sender.Sent);
            }
            finally { Directory.Delete(dir, true); }
        }

        [Fact]
        public void AFailingTargetIsCountedAndSaidOnce()
        {
            string missing = Path.Combine(Path.GetTempPath(), "cm-syslog-none-" + Guid.NewGuid().ToString("N"));
            using var sender = new SyslogSender("unix", missing, 0, 16, "connectionsmonitor");
            sender.Enqueue(Listener());
            sender.Enqueue(Listener());
            Assert.True(sender.Flush(TimeSpan.FromSeconds(5)));
            Assert.Equal(2, sender.Failed);
            var w = Assert.Single(sender.TakeWarnings());
            Assert.StartsWith("Syslog unix://" + missing + ": ", w);
            Assert.Empty(sender.TakeWarnings());
        }

        // ---- a small RFC 5424 parser for the tests ----

        internal sealed class Parsed
        {
            public string Pri, Time, Host, App, ProcId, MsgId, SdId, Msg;
            public Dictionary<string, string> Params = new Dictionary<string, string>();
        }

        internal static Parsed Parse(string text)
        {
            var m = Regex.Match(text, "^<(\\d{1,3})>1 (\\S+) (\\S+) (\\S+) (\\S+) (\\S+) \\[([^ \\]]+)((?: [^= \\]\"]+=\"(?:\\\\.|[^\"\\\\])*\")*)\\](?: \uFEFF(.*))?$", RegexOptions.Singleline);
            Assert.True(m.Success, "not an RFC 5424 message with one SD element: " + text);
            var p = new Parsed { Pri = m.Groups[1].Value, Time = m.Groups[2].Value, Host = m.Groups[3].Value, App = m.Groups[4].Value,
                ProcId = m.Groups[5].Value, MsgId = m.Groups[6].Value, SdId = m.Groups[7].Value, Msg = m.Groups[9].Value };
            foreach (Match pm in Regex.Matches(m.Groups[8].Value, " ([^= \\]\"]+)=\"((?:\\\\.|[^\"\\\\])*)\""))
                p.Params[pm.Groups[1].Value] = Regex.Replace(pm.Groups[2].Value, "\\\\(.)", "$1");
            return p;
        }

        private static string ReadFrame(Stream s)
        {
            var len = new StringBuilder();
            while (true)
            {
                int b = s.ReadByte();
                Assert.True(b >= 0, "the stream ended inside a frame length");
                if (b == ' ') break;
                Assert.InRange(b, '0', '9');
                len.Append((char)b);
            }
            var body = new byte[int.Parse(len.ToString())];
            int got = 0;
            while (got < body.Length)
            {
                int n = s.Read(body, got, body.Length - got);
                Assert.True(n > 0, "the stream ended inside a frame");
                got += n;
            }
            return Encoding.UTF8.GetString(body);
        }

        private static int IndexOf(byte[] hay, byte[] needle)
        {
            for (int i = 0; i + needle.Length <= hay.Length; i++)
                if (hay.Skip(i).Take(needle.Length).SequenceEqual(needle)) return i;
            return -1;
        }
    }
}
