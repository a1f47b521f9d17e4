using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Alerts;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Tracking;
using Xunit;
using static ConnectionsMonitor.Tests.Display.DisplayTestSupport;

namespace ConnectionsMonitor.Tests.Alerts
{
    /// <summary>Each rule kind on scripted samples: what fires, when, once, and what it says.</summary>
    public class RuleEvaluatorTests
    {
        private static readonly DateTime T0 = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

        private static RuleEvaluator Rule(params AlertCondition[] c) => new RuleEvaluator(new AlertRule("r", c), null);

        private static AlertSample Sample(int second, params ConnectionRecord[] rows) =>
            new AlertSample(T0.AddSeconds(second), rows, new ConnectionEvent[0]);

        private static ConnectionRecord Listener(int port, string process = "srv", int pid = 300)
        {
            var r = Tcp(port, 0, TcpState.Listen, process, pid, "0.0.0.0", "0.0.0.0");
            r.RemotePort = 0;
            return r;
        }

        [Fact]
        public void ARemotePortFiresOncePerOutboundConnectionNotPerSample()
        {
            var ev = Rule(new AlertCondition(AlertKind.RemotePort) { Ports = new[] { 3389, 23 } });
            var rdp = Tcp(50000, 3389, TcpState.Established, "mstsc", 10);
            var web = Tcp(50001, 443, TcpState.Established, "browser", 11);
            var first = ev.Evaluate(Sample(0, rdp, web));
            var a = Assert.Single(first);
            Assert.Equal(AlertStatus.Firing, a.Status);
            Assert.Equal(AlertKind.RemotePort, a.Kind);
            Assert.Equal("Outbound connection to port 3389 by mstsc (PID 10) (10.0.0.5:50000 ↔ 203.0.113.7:3389)", a.Summary);
            Assert.Equal(10, Assert.Single(a.Items).ProcessId);
            Assert.Empty(ev.Evaluate(Sample(2, rdp, web)));
            Assert.Empty(ev.Evaluate(Sample(4, rdp, web)));
            // A second connection to the port is a new alert; the first still is not.
            var rdp2 = Tcp(50002, 3389, TcpState.Established, "mstsc", 10);
            var second = Assert.Single(ev.Evaluate(Sample(6, rdp, rdp2)));
            Assert.Equal(50002, Assert.Single(second.Items).LocalPort);
            Assert.True(ev.Flags(rdp, Sample(6, rdp, rdp2)));
            Assert.False(ev.Flags(web, Sample(6, rdp, web)));
        }

        private static ConnectionRecord Remnant(int localPort, int remotePort, TcpState state)
        {
            var r = Tcp(localPort, remotePort, state);
            r.ProcessId = null;
            r.ProcessName = null;
            return r;
        }

        [Fact]
        public void ConnectionsClosedBeforeTheRuleExistedDoNotFireButOneClosedBetweenItsSamplesDoes()
        {
            // At registration the table still holds the remnants of closed connections (ownerless TIME_WAIT, FIN_WAIT2):
            // they are the baseline. An open connection to the port fires at once; one that opens and closes between
            // two later samples, seen only as its remnant, fires too: it happened while the rule watched.
            var ev = Rule(new AlertCondition(AlertKind.RemotePort) { Ports = new[] { 5555 } });
            var gone = Remnant(44538, 5555, TcpState.TimeWait);
            var closing = Remnant(44540, 5555, TcpState.FinWait2);
            var open = Tcp(44542, 5555, TcpState.Established, "python3", 20);
            var first = Assert.Single(ev.Evaluate(Sample(0, gone, closing, open)));
            Assert.Equal(44542, Assert.Single(first.Items).LocalPort);
            Assert.Empty(ev.Evaluate(Sample(2, gone, closing, open)));
            var later = Remnant(44544, 5555, TcpState.TimeWait);
            var second = Assert.Single(ev.Evaluate(Sample(4, gone, closing, open, later)));
            Assert.Equal(44544, Assert.Single(second.Items).LocalPort);
            // The open connection closing leaves a remnant with its endpoints: the same connection, not a new alert.
            var openGone = Remnant(44542, 5555, TcpState.TimeWait);
            Assert.Empty(ev.Evaluate(Sample(6, gone, closing, openGone, later)));
        }

        [Fact]
        public void TheSeedsLocalPortStormDoesNotHappen_ListenersOn135And445AndTheirClientsAreNotOutbound()
        {
            // The seed checked the local port: every Windows machine listening on 135/139/445 alerted every cycle.
            var ev = Rule(new AlertCondition(AlertKind.RemotePort) { Ports = new[] { 135, 139, 445 } });
            var rows = new[] { Listener(135), Listener(139), Listener(445), Tcp(445, 51000, TcpState.Established, "System", 4, remote: "10.0.0.9") };
            for (int i = 0; i < 10; i++) Assert.Empty(ev.Evaluate(Sample(i * 2, rows)));
        }

        [Fact]
        public void AnInboundPortFiresForSomeoneConnectingInNotForOurOwnClients()
        {
            var ev = Rule(new AlertCondition(AlertKind.InboundPort) { Ports = new[] { 3389 } });
            var inbound = Tcp(3389, 51000, TcpState.Established, "svchost", 900, remote: "198.51.100.4");
            var ours = Tcp(50000, 3389, TcpState.Established, "mstsc", 10); // we are the client: outbound
            var a = Assert.Single(ev.Evaluate(Sample(0, Listener(3389, "svchost", 900), inbound, ours)));
            Assert.Equal("198.51.100.4", Assert.Single(a.Items).RemoteAddress);
            Assert.StartsWith("Inbound connection to local port 3389 by svchost (PID 900)", a.Summary);
            Assert.Empty(ev.Evaluate(Sample(2, Listener(3389, "svchost", 900), inbound, ours)));
        }

        [Fact]
        public void NewKindsTakeTheFirstSampleAsTheBaselineAndFireOnceForWhatComesAfter()
        {
            var ev = Rule(new AlertCondition(AlertKind.NewListeningPort));
            Assert.Empty(ev.Evaluate(Sample(0, Listener(22), Listener(445))));
            var a = Assert.Single(ev.Evaluate(Sample(2, Listener(22), Listener(445), Listener(8080, "nginx", 412))));
            Assert.Equal("New listening port 8080/TCP by nginx (PID 412)", a.Summary);
            Assert.Equal(412, Assert.Single(a.Items).ProcessId);
            Assert.Empty(ev.Evaluate(Sample(4, Listener(22), Listener(445), Listener(8080, "nginx", 412))));
            // The same server restarting on its port is not new.
            Assert.Empty(ev.Evaluate(Sample(6, Listener(22), Listener(445))));
            Assert.Empty(ev.Evaluate(Sample(8, Listener(22), Listener(445), Listener(8080, "nginx", 413))));
        }

        [Fact]
        public void ANewRemoteCountrySkipsTheExcludedOnesAndUnknownCountries()
        {
            var ev = Rule(new AlertCondition(AlertKind.NewRemoteCountry) { Exclude = new[] { "US", "DE" } });
            ConnectionRecord To(int port, string country) { var r = Tcp(50000 + port, 443, TcpState.Established); r.Country = country; return r; }
            Assert.Empty(ev.Evaluate(Sample(0, To(1, "FR"))));
            Assert.Empty(ev.Evaluate(Sample(2, To(1, "FR"), To(2, "US"), To(3, "de"), To(4, null))));
            var a = Assert.Single(ev.Evaluate(Sample(4, To(5, "JP"), To(6, "JP"), To(7, "BR"))));
            Assert.Equal(new[] { "JP", "BR" }, a.Items.Select(i => i.Country).ToArray());
            Assert.Equal("New remote country JP, BR (2 connections)", a.Summary);
        }

        [Fact]
        public void ANewPublicAddressIgnoresPrivateLoopbackAndDocumentationOnlyByScope()
        {
            var ev = Rule(new AlertCondition(AlertKind.NewPublicAddress));
            Assert.Empty(ev.Evaluate(Sample(0)));
            var rows = new[]
            {
                Tcp(50000, 443, TcpState.Established, remote: "8.8.8.8"),
                Tcp(50001, 443, TcpState.Established, remote: "192.168.1.1"),
                Tcp(50002, 443, TcpState.Established, remote: "127.0.0.1"),
                Tcp(50003, 443, TcpState.Established, remote: "::ffff:8.8.4.4"),
            };
            var a = Assert.Single(ev.Evaluate(Sample(2, rows)));
            Assert.Equal(new[] { "8.8.8.8", "::ffff:8.8.4.4" }, a.Items.Select(i => i.RemoteAddress).ToArray());
        }

        [Fact]
        public void AProcessFirstTalkingOutFiresOncePerProgramAndNeverForLoopbackOrInbound()
        {
            var ev = Rule(new AlertCondition(AlertKind.NewProcessTalkingOut));
            Assert.Empty(ev.Evaluate(Sample(0, Tcp(50000, 443, TcpState.Established, "browser", 1))));
            var rows = new[]
            {
                Tcp(50000, 443, TcpState.Established, "browser", 1),
                Tcp(50001, 443, TcpState.Established, "curl", 2),
                Tcp(50002, 443, TcpState.Established, "curl", 2),
                Tcp(50003, 80, TcpState.Established, "local", 3, remote: "127.0.0.1"),
                Listener(22, "sshd", 4), Tcp(22, 50100, TcpState.Established, "sshd", 4, remote: "198.51.100.9"),
            };
            var a = Assert.Single(ev.Evaluate(Sample(2, rows)));
            Assert.Equal("First outbound connection of curl (PID 2) (10.0.0.5:50001 ↔ 203.0.113.7:443)", a.Summary);
        }

        /// <summary>
        /// Samples come a few milliseconds off their second: a newcomer's trial with -RepeatInterval 4 and 1-s samples got the
        /// repeat 4.94 s after Firing, since the sample 3.995 s after it was short of 4 s. Within 5% of the interval (at most
        /// half a sample) a repeat is due; earlier it is not.
        /// </summary>
        [Fact]
        public void ARepeatIsNotOneSampleLateWhenTheSampleComesAFewMillisecondsEarly()
        {
            var rule = new AlertRule("busy", new[] { new AlertCondition(AlertKind.MaxConnections) { Threshold = 2 } }) { RepeatInterval = TimeSpan.FromSeconds(4) };
            var ev = new RuleEvaluator(rule, null);
            var busy = Enumerable.Range(0, 3).Select(i => Tcp(50000 + i, 443, TcpState.Established)).ToArray();
            var t = T0.AddMilliseconds(3869);
            AlertSample At(double seconds) => new AlertSample(t.AddSeconds(seconds), busy, new ConnectionEvent[0]);
            Assert.Equal(AlertStatus.Firing, Assert.Single(ev.Evaluate(At(0))).Status);
            Assert.Empty(ev.Evaluate(At(1.001)));
            Assert.Empty(ev.Evaluate(At(1.998)));
            Assert.Empty(ev.Evaluate(At(2.999)));
            var repeat = Assert.Single(ev.Evaluate(At(3.995))); // 5 ms short of 4 s
            Assert.Equal(AlertStatus.Repeating, repeat.Status);
            Assert.Equal(t.AddSeconds(3.995), repeat.TimeUtc);
            // The next one counts from the repeat: 3.81 s later is 190 ms short, within 5% (200 ms) of 4 s ...
            Assert.Empty(ev.Evaluate(At(4.995)));
            Assert.Empty(ev.Evaluate(At(5.995)));
            Assert.Empty(ev.Evaluate(At(6.995)));
            Assert.Equal(AlertStatus.Repeating, Assert.Single(ev.Evaluate(At(7.805))).Status);
            // ... but 3.7 s after it (300 ms short) is too early.
            Assert.Empty(ev.Evaluate(At(8.805)));
            Assert.Empty(ev.Evaluate(At(9.805)));
            Assert.Empty(ev.Evaluate(At(11.505)));
            Assert.Equal(AlertStatus.Repeating, Assert.Single(ev.Evaluate(At(11.805))).Status);
        }

        /// <summary>The tolerance: 5% of the repeat interval, at most half the time between two samples.</summary>
        [Fact]
        public void TheRepeatToleranceIsFivePercentAtMostHalfASample()
        {
            Assert.Equal(TimeSpan.FromMilliseconds(200), RuleEvaluator.RepeatTolerance(TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(1)));
            Assert.Equal(TimeSpan.FromMilliseconds(200), RuleEvaluator.RepeatTolerance(TimeSpan.FromSeconds(4), null));
            Assert.Equal(TimeSpan.FromSeconds(1), RuleEvaluator.RepeatTolerance(TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(2)));
            Assert.Equal(TimeSpan.FromMilliseconds(50), RuleEvaluator.RepeatTolerance(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        }

        [Fact]
        public void LevelsFireWhenTheyStartRepeatAtTheIntervalAndResolveWhenTheyEnd()
        {
            var rule = new AlertRule("busy", new[] { new AlertCondition(AlertKind.MaxConnections) { Threshold = 2 } }) { RepeatInterval = TimeSpan.FromSeconds(10) };
            var ev = new RuleEvaluator(rule, null);
            ConnectionRecord[] Rows(int n) => Enumerable.Range(0, n).Select(i => Tcp(50000 + i, 443, TcpState.Established)).Concat(new[] { Listener(22), Listener(80) }).ToArray();
            Assert.Empty(ev.Evaluate(Sample(0, Rows(2)))); // listeners do not count: 2 is not above 2
            var on = Assert.Single(ev.Evaluate(Sample(2, Rows(3))));
            Assert.Equal(AlertStatus.Firing, on.Status);
            Assert.Equal(3.0, on.Value);
            Assert.Equal("Connection count is 3, above 2", on.Summary);
            Assert.Equal(1, ev.Active);
            Assert.Empty(ev.Evaluate(Sample(4, Rows(4))));
            Assert.Empty(ev.Evaluate(Sample(10, Rows(4))));
            Assert.Equal(AlertStatus.Repeating, Assert.Single(ev.Evaluate(Sample(12, Rows(4)))).Status);
            var off = Assert.Single(ev.Evaluate(Sample(14, Rows(1))));
            Assert.Equal(AlertStatus.Resolved, off.Status);
            Assert.Equal("Connection count back to 1 (limit 2)", off.Summary);
            Assert.Equal(0, ev.Active);
            Assert.Empty(ev.Evaluate(Sample(16, Rows(1))));

            // TIME_WAIT rows are closed connections the kernel keeps for a minute: counted, closing three connections
            // would leave the level on (a newcomer's trial) until they expire.
            var closing = Rows(1).Concat(Enumerable.Range(0, 5).Select(i => { var r = Tcp(51000 + i, 443, TcpState.TimeWait, null); r.ProcessId = null; return r; })).ToArray();
            Assert.Empty(ev.Evaluate(Sample(18, closing)));
            Assert.Equal(0, ev.Active);
        }

        [Fact]
        public void BandwidthPerProcessUsesRealRatesAndSaysOnceWhenThereAreNone()
        {
            var ev = Rule(new AlertCondition(AlertKind.MaxBandwidth) { Threshold = 1000, PerProcess = true });
            ConnectionRecord Conn(int port, string name, int pid, double? send, double? recv)
            {
                var r = Tcp(port, 443, TcpState.Established, name, pid);
                r.SendRate = send;
                r.ReceiveRate = recv;
                return r;
            }
            // Listeners have no counters: nothing to say. Established connections with none, three samples running: say it once.
            Assert.Empty(ev.Evaluate(Sample(0, Listener(80))));
            Assert.Empty(ev.Warnings);
            for (int i = 0; i < 2; i++) Assert.Empty(ev.Evaluate(Sample(0, Conn(1, "a", 1, null, null))));
            Assert.Empty(ev.Warnings); // rates need two samples: not yet a sign that there are no counters
            Assert.Empty(ev.Evaluate(Sample(0, Conn(1, "a", 1, null, null))));
            Assert.Contains("no connection has byte counters", Assert.Single(ev.Warnings));
            ev.Warnings.Clear();
            Assert.Empty(ev.Evaluate(Sample(0, Conn(1, "a", 1, null, null))));
            Assert.Empty(ev.Warnings);
            var alerts = ev.Evaluate(Sample(2, Conn(1, "a", 1, 600, 600), Conn(2, "b", 2, 100, 100), Conn(3, "a", 1, 0, 10)));
            var a = Assert.Single(alerts);
            Assert.Equal("a (PID 1)", a.Subject);
            Assert.Equal(1210.0, a.Value);
            Assert.Equal("Bandwidth of a (PID 1) is 1.2 KB/s, above 1000 B/s", a.Summary);
            var gone = Assert.Single(ev.Evaluate(Sample(4, Conn(2, "b", 2, 100, 100))));
            Assert.Equal(AlertStatus.Resolved, gone.Status);
            Assert.Equal("a (PID 1)", gone.Subject);
            Assert.Equal("Bandwidth of a (PID 1) back to 0 B/s (limit 1000 B/s)", gone.Summary);
        }

        [Fact]
        public void AVpnConnectionUpAndDownAreOneAlertEach()
        {
            var ev = Rule(new AlertCondition(AlertKind.VpnChange));
            var vpn = Tcp(50000, 1194, TcpState.Established, "openvpn", 7);
            vpn.IsVpn = true;
            vpn.VpnReason = "process openvpn";
            Assert.Empty(ev.Evaluate(Sample(0)));
            var up = Assert.Single(ev.Evaluate(Sample(2, vpn)));
            Assert.Equal(AlertStatus.Firing, up.Status);
            Assert.Equal("process openvpn", Assert.Single(up.Items).Detail);
            Assert.Empty(ev.Evaluate(Sample(4, vpn)));
            Assert.Equal(AlertStatus.Resolved, Assert.Single(ev.Evaluate(Sample(6))).Status);
        }

        [Fact]
        public void TheRuleFilterLimitsWhatItSees()
        {
            var rule = new AlertRule("r", new[] { new AlertCondition(AlertKind.RemotePort) { Ports = new[] { 443 } } })
            {
                Filter = new Engine.Filtering.ConnectionQuery { ProcessNames = new[] { new Engine.Filtering.Wildcard("curl*") } },
            };
            var ev = new RuleEvaluator(rule, null);
            var a = Assert.Single(ev.Evaluate(Sample(0, Tcp(50000, 443, TcpState.Established, "browser", 1), Tcp(50001, 443, TcpState.Established, "curl.exe", 2))));
            Assert.Equal("curl.exe", Assert.Single(a.Items).ProcessName);
        }

        [Fact]
        public void ProcessNamesInSummariesAreCleanedOfTerminalEscapes()
        {
            var ev = Rule(new AlertCondition(AlertKind.RemotePort) { Ports = new[] { 23 } });
            var a = Assert.Single(ev.Evaluate(Sample(0, Tcp(50000, 23, TcpState.Established, "evil\u001b]0;pwned\u0007\u001b[31m", 5))));
            Assert.Equal(-1, a.Summary.IndexOf('\u001b'));
            Assert.StartsWith("Outbound connection to port 23 by evil\u241B]0;pwned\u2407\u241B[31m (PID 5)", a.Summary); // shown, not obeyed
            Assert.Equal("evil\u001b]0;pwned\u0007\u001b[31m", Assert.Single(a.Items).ProcessName); // raw in the item; each output escapes
        }

        [Fact]
        public void ConfigConditionsBecomeRulesWithMeaningsThatHoldUp()
        {
            var config = Config("alerts:\n  enabled: true\n  webhooks:\n    - url: 'https://discord.com/api/webhooks/1/secret-token'\n  conditions:\n    suspiciousPorts: [23, 445]\n    maxConnections: 10\n");
            var rules = ConfigRules.From(config.Alerts).ToList();
            Assert.Equal(new[] { "config.suspiciousPorts", "config.newForeignConnections", "config.maxConnections", "config.maxBandwidth" }, rules.Select(r => r.Name).ToArray());
            Assert.Equal("RemotePort, InboundPort, NewListeningPort", rules[0].Kind);
            Assert.All(rules, r => Assert.Equal("config", r.Origin));
            Assert.Equal(AlertTargetKind.Discord, Assert.Single(rules[0].Targets).Kind);
            Assert.Equal("Discord https://discord.com/…", rules[0].Targets[0].ToString());
            Assert.Equal(10, rules[2].Conditions[0].Threshold);
        }
    
        [Fact]
        public void TheModulesOwnAlertKeysLoadAndBadValuesSayWhatIsExpected()
        {
            var config = Config("alerts:\n  enabled: true\n  repeatInterval: 60000\n  conditions:\n    portScan: true\n    maxBandwidth: 0\n  portScan:\n    ports: 4\n    window: 5000\n");
            var rules = ConfigRules.From(config.Alerts).ToList();
            Assert.Equal(new[] { "config.suspiciousPorts", "config.newForeignConnections", "config.maxConnections", "config.portScan" }, rules.Select(r => r.Name).ToArray());
            var scan = rules[3].Conditions[0];
            Assert.Equal(4, scan.ScanPorts);
            Assert.Equal(TimeSpan.FromSeconds(5), scan.ScanWindow);
            Assert.All(rules, r => Assert.Equal(TimeSpan.FromMinutes(1), r.RepeatInterval));
            var bad = Assert.Throws<Engine.Configuration.ConfigException>(() => Config("alerts:\n  portScan:\n    ports: 1\n"));
            Assert.Contains("alerts.portScan.ports", bad.Message);
            Assert.Contains("a whole number of distinct ports from 2 to 65535", bad.Message);
        }

        [Fact]
        public void AClosingConnectionThatLostItsOwnerIsTheSameConnection()
        {
            // Seen for real: a VPN connection closing showed up as FinWait2 with no process, and was taken for a new one.
            var vpn = Rule(new AlertCondition(AlertKind.VpnChange));
            var rdp = Rule(new AlertCondition(AlertKind.RemotePort) { Ports = new[] { 1194 } });
            var open = Tcp(53321, 1194, TcpState.Established, "python3", 24567);
            open.IsVpn = true;
            var closing = Tcp(53321, 1194, TcpState.FinWait2, null, 0);
            closing.ProcessId = null;
            closing.Key = new ConnectionKey(TransportProtocol.Tcp, closing.LocalAddress, 53321, closing.RemoteAddress, 1194, null, 999);
            closing.IsVpn = true;
            Assert.Empty(vpn.Evaluate(Sample(0)));
            Assert.Equal(AlertStatus.Firing, Assert.Single(vpn.Evaluate(Sample(2, open))).Status);
            var down = Assert.Single(vpn.Evaluate(Sample(4, closing)));
            Assert.Equal(AlertStatus.Resolved, down.Status);
            Assert.Equal(24567, Assert.Single(down.Items).ProcessId); // said with the owner it had
            Assert.Empty(vpn.Evaluate(Sample(6)));

            Assert.Single(rdp.Evaluate(Sample(0, open)));
            Assert.Empty(rdp.Evaluate(Sample(2, closing)));
        }

        [Fact]
        public void EndpointsInSummariesBracketIPv6AndShowMappedIPv4AsIPv4()
        {
            Assert.Equal("[2001:db8::1]:443", RuleEvaluator.Endpoint("2001:db8::1", 443));
            Assert.Equal("127.0.0.1:2323", RuleEvaluator.Endpoint("::ffff:127.0.0.1", 2323));
            var ev = Rule(new AlertCondition(AlertKind.RemotePort) { Ports = new[] { 2323 } });
            var a = Assert.Single(ev.Evaluate(Sample(0, Tcp(34700, 2323, TcpState.Established, "nc", 9, "::ffff:127.0.0.1", "::ffff:127.0.0.1"))));
            Assert.Equal("Outbound connection to port 2323 by nc (PID 9) (127.0.0.1:34700 ↔ 127.0.0.1:2323)", a.Summary);
        }

        /// <summary>A port-scan source whose limitation the test changes (a capture or ETW session that stops).</summary>
        private sealed class ScriptedScan : IPortScanSource
        {
            public string Limitation { get; set; }
            public void Observe(AlertSample sample) { }
            public IReadOnlyList<PortScanFindingInfo> TakeFindings(DateTime nowUtc) => new PortScanFindingInfo[0];
            public void Dispose() { }
        }

        [Fact]
        public void APortScanLimitationIsSaidOnceAndAgainOnlyWhenItChanges()
        {
            var scan = new ScriptedScan { Limitation = "On Windows accepted connections are seen as they happen (ETW accept events); probes of closed ports … are missed." };
            var ev = new RuleEvaluator(new AlertRule("scan", new[] { new AlertCondition(AlertKind.PortScan) }), _ => scan);
            ev.Evaluate(Sample(0));
            ev.Evaluate(Sample(2));
            Assert.Equal(new[] { "Alert rule 'scan': " + scan.Limitation }, ev.Warnings);

            // The session stopped: the watch is on the socket table now, and the rule says why, once.
            scan.Limitation = "ETW accept events stopped (the ETW session was stopped by someone else); watching accepted connections in the socket table instead.";
            ev.Evaluate(Sample(4));
            ev.Evaluate(Sample(6));
            Assert.Equal(2, ev.Warnings.Count);
            Assert.Equal("Alert rule 'scan': " + scan.Limitation, ev.Warnings[1]);
        }
    }
}
