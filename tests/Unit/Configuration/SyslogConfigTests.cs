using ConnectionsMonitor.Engine.Alerts.Delivery;
using ConnectionsMonitor.Engine.Configuration;
using Xunit;
using static ConnectionsMonitor.Tests.Configuration.ConfigTestSupport;

namespace ConnectionsMonitor.Tests.Configuration
{
    public class SyslogConfigTests
    {
        [Fact]
        public void DefaultsAreOffUnixDevLogLocal0()
        {
            var s = ConfigLoader.LoadText("alerts:\n  enabled: false\n", "config.yml").Config.Alerts.Syslog;
            Assert.False(s.Enabled);
            Assert.Equal(("unix", "/dev/log", 0, "local0", 16, "connectionsmonitor"), (s.Transport, s.Host, s.Port, s.Facility, s.FacilityCode, s.AppName));
        }

        [Theory]
        [InlineData("udp://collector.example:1514", "udp", "collector.example", 1514)]
        [InlineData("udp://10.0.0.5", "udp", "10.0.0.5", 514)]
        [InlineData("tcp://[::1]:6514", "tcp", "::1", 6514)]
        [InlineData("TCP://siem", "tcp", "siem", 601)]
        [InlineData("unix:///run/systemd/journal/syslog", "unix", "/run/systemd/journal/syslog", 0)]
        public void TargetsParse(string target, string transport, string host, int port)
        {
            var s = ConfigLoader.LoadText("alerts:\n  syslog:\n    enabled: true\n    target: '" + target + "'\n    facility: LOCAL7\n    appName: cmon\n", "config.yml").Config.Alerts.Syslog;
            Assert.True(s.Enabled);
            Assert.Equal((transport, host, port), (s.Transport, s.Host, s.Port));
            Assert.Equal(("local7", 23, "cmon"), (s.Facility, s.FacilityCode, s.AppName));
        }

        [Theory]
        [InlineData("alerts:\n  syslog:\n    target: 'http://x:514'\n", 3, "alerts.syslog.target", "expected a syslog target: unix:///dev/log, udp://host:514 or tcp://host:601, found 'http://x:514' (the scheme 'http' is not one of unix, udp or tcp).")]
        [InlineData("alerts:\n  syslog:\n    enabled: true\n    target: 'udp://x:0'\n", 4, "alerts.syslog.target", "(the port '0' is not a port number from 1 to 65535)")]
        [InlineData("alerts:\n  syslog:\n    target: 'tcp://x:70000'\n", 3, "alerts.syslog.target", "(the port '70000' is not a port number from 1 to 65535)")]
        [InlineData("alerts:\n  syslog:\n    target: 'localhost:514'\n", 3, "alerts.syslog.target", "(it has no scheme (unix://, udp:// or tcp://))")]
        [InlineData("alerts:\n  syslog:\n    target: 'unix://dev/log'\n", 3, "alerts.syslog.target", "(a unix target needs an absolute socket path (unix:///dev/log))")]
        [InlineData("alerts:\n  syslog:\n\n    facility: local9\n", 4, "alerts.syslog.facility", "expected an RFC 5424 facility name (kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock, local0, local1, local2, local3, local4, local5, local6, local7), found 'local9'.")]
        [InlineData("alerts:\n  syslog:\n    appName: 'my app'\n", 3, "alerts.syslog.appName", "found 'my app'")]
        [InlineData("alerts:\n  syslog:\n    enabled: sometimes\n", 3, "alerts.syslog.enabled", "expected true or false")]
        public void BadValuesNameLineKeyAndWhatIsExpected(string yaml, int line, string key, string fragment)
        {
            var e = SingleError(yaml);
            Assert.Equal(line, e.Line);
            Assert.Equal(key, e.Key);
            Assert.Contains(fragment, e.Message);
            Assert.StartsWith("config.yml, line " + line + ", key '" + key + "': ", e.Message);
        }
    
        [Theory]
        [InlineData("none", ConnectionEventKinds.None)]
        [InlineData("all", ConnectionEventKinds.All)]
        [InlineData("Closed", ConnectionEventKinds.Closed)]
        [InlineData("[opened, closed]", ConnectionEventKinds.Opened | ConnectionEventKinds.Closed)]
        [InlineData("[stateChanged]", ConnectionEventKinds.StateChanged)]
        public void ConnectionEventsTakeAWordOrAList(string value, ConnectionEventKinds expected)
        {
            var a = ConfigLoader.LoadText("alerts:\n  syslog:\n    connectionEvents: " + value + "\n  eventLog:\n    connectionEvents: " + value + "\n", "config.yml").Config.Alerts;
            Assert.Equal(expected, a.Syslog.ConnectionEvents);
            Assert.Equal(expected, a.EventLog.ConnectionEvents);
        }

        [Fact]
        public void EventLogAndSizeDefaults()
        {
            var a = ConfigLoader.LoadText("alerts:\n  enabled: false\n", "config.yml").Config.Alerts;
            Assert.Equal((false, "ConnectionsMonitor", "Application", ConnectionEventKinds.None), (a.EventLog.Enabled, a.EventLog.Source, a.EventLog.LogName, a.EventLog.ConnectionEvents));
            Assert.Equal((ConnectionEventKinds.None, 2048), (a.Syslog.ConnectionEvents, a.Syslog.MaxMessageSize));
            var b = ConfigLoader.LoadText("alerts:\n  syslog:\n    maxMessageSize: 480\n  eventLog:\n    enabled: true\n    source: 'CM Prod-1'\n    logName: Security.Audit\n", "config.yml").Config.Alerts;
            Assert.Equal((480, true, "CM Prod-1", "Security.Audit"), (b.Syslog.MaxMessageSize, b.EventLog.Enabled, b.EventLog.Source, b.EventLog.LogName));
        }

        [Theory]
        [InlineData("alerts:\n  syslog:\n    connectionEvents: some\n", 3, "alerts.syslog.connectionEvents",
            "config.yml, line 3, key 'alerts.syslog.connectionEvents': expected none, all, or a list of opened, closed and stateChanged, found 'some'.")]
        [InlineData("alerts:\n  eventLog:\n    connectionEvents: [opened, all]\n", 3, "alerts.eventLog.connectionEvents[1]",
            "config.yml, line 3, key 'alerts.eventLog.connectionEvents[1]': expected opened, closed or stateChanged in the list, found 'all'.")]
        [InlineData("alerts:\n  syslog:\n    maxMessageSize: 100\n", 3, "alerts.syslog.maxMessageSize",
            "config.yml, line 3, key 'alerts.syslog.maxMessageSize': expected a whole number of bytes from 480 to 65000, found '100'.")]
        [InlineData("alerts:\n  eventLog:\n    source: 'a\\b'\n", 3, "alerts.eventLog.source",
            "config.yml, line 3, key 'alerts.eventLog.source': expected 1 to 128 letters, digits, spaces, '.', '_' or '-', found 'a\\b'.")]
        [InlineData("alerts:\n  eventLog:\n    logName: ''\n", 3, "alerts.eventLog.logName",
            "config.yml, line 3, key 'alerts.eventLog.logName': expected 1 to 128 letters, digits, spaces, '.', '_' or '-', found ''.")]
        public void BadSystemLogValuesSayExactlyWhatIsExpected(string yaml, int line, string key, string message)
        {
            var e = SingleError(yaml);
            Assert.Equal((line, key), (e.Line, e.Key));
            Assert.Equal(message, e.Message);
        }
    }
}
