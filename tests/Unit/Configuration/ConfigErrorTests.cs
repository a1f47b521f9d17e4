using System.Linq;
using ConnectionsMonitor.Engine.Configuration;
using Xunit;
using static ConnectionsMonitor.Tests.Configuration.ConfigTestSupport;

namespace ConnectionsMonitor.Tests.Configuration
{
    public class ConfigErrorTests
    {
        [Fact]
        public void WrongTypeNamesFileLineKeyExpectedAndFound()
        {
            var e = SingleError("resolveDNS: false\n\nrefreshInterval: fast\n");
            Assert.Equal(3, e.Line);
            Assert.Equal(18, e.Column);
            Assert.Equal("refreshInterval", e.Key);
            Assert.Equal("config.yml, line 3, key 'refreshInterval': expected a whole number of milliseconds of at least 100, found 'fast'.", e.Message);
        }

        [Fact]
        public void EscapeSequencesInValuesKeysAndColoursReachNoTerminal()
        {
            // A value quoting an OSC 8 hyperlink, a colour with a CSI (YAML's \e escape) and an unknown key with one: the messages show each ESC
            // as the Control Picture ␛ (as the table shows a hostile process name), and nothing else of the text is lost.
            var ex = Fails("refreshInterval: \"\\e]8;;http://evil\\e\\\\click\\e]8;;\\e\\\\\"\ncolors:\n  tcp:\n    listening: \"\\e[31mred\"\n");
            Assert.Equal(2, ex.Errors.Count);
            Assert.Equal("config.yml, line 1, key 'refreshInterval': expected a whole number of milliseconds of at least 100, found '\u241b]8;;http://evil\u241b\\click\u241b]8;;\u241b\\'.", ex.Errors[0].Message);
            Assert.StartsWith("config.yml, line 4, key 'colors.tcp.listening': '\u241b[31mred' is not a colour", ex.Errors[1].Message);
            Assert.DoesNotContain('\u001b', ex.Message);

            var warned = ConfigLoader.LoadText("bogus\u001b[31mkey: 1\n", "ev\u001b[31mil.yml");
            var w = Assert.Single(warned.Warnings);
            Assert.DoesNotContain('\u001b', w.Message);
            Assert.Contains("bogus\u241b[31mkey", w.Message);
            Assert.StartsWith("ev\u241b[31mil.yml, line 1", w.Message);
            // The path and key themselves stay as they are: a script uses the error's target (Test-Path $_.TargetObject).
            Assert.Equal("ev\u001b[31mil.yml", w.FilePath);
            Assert.Equal("[\"bogus\u001b[31mkey\"]", w.Key); // a key that is not a plain name is quoted in its path
        }

        [Fact]
        public void ExceptionCarriesTheLocationOfItsError()
        {
            var ex = Fails("monitoring:\n  topTalkersCount: many\n");
            Assert.Equal("config.yml", ex.FilePath);
            Assert.Equal(2, ex.Line);
            Assert.Equal("monitoring.topTalkersCount", ex.Key);
            Assert.Equal(ex.Errors[0].Message, ex.Message);
        }

        [Theory]
        [InlineData("refreshInterval: 10\n", 1, "refreshInterval", "at least 100, found '10'")]
        [InlineData("dashboard:\n  enabled: true\n  port: 70000\n", 3, "dashboard.port", "from 1 to 65535, found '70000'")]
        [InlineData("alerts:\n  conditions:\n    suspiciousPorts: [23, 70000]\n", 3, "alerts.conditions.suspiciousPorts[1]", "from 1 to 65535, found '70000'")]
        [InlineData("alerts:\n  conditions:\n    suspiciousPorts: [0]\n", 3, "alerts.conditions.suspiciousPorts[0]", "expected a port number from 1 to 65535, found '0'")]
        [InlineData("vpn:\n  ports: [0]\n", 2, "vpn.ports[0]", "expected a port number from 1 to 65535, found '0'")]
        [InlineData("highlightedPorts:\n  '22': '#FFA500'\n  '70000': red\n", 3, "highlightedPorts[\"70000\"]", "from 1 to 65535, found '70000'")]
        [InlineData("monitoring:\n  topTalkersCount: 0\n", 2, "monitoring.topTalkersCount", "from 1 to 100, found '0'")]
        [InlineData("columnWidths:\n  Process: 500\n", 2, "columnWidths.Process", "from 1 to 200, found '500'")]
        [InlineData("monitoring:\n  historyRetention: -1\n", 2, "monitoring.historyRetention", "0 or more, found '-1'")]
        [InlineData("resolveDNS: maybe\n", 1, "resolveDNS", "expected true or false, found 'maybe'")]
        [InlineData("monitoring: [1, 2]\n", 1, "monitoring", "found a list")]
        [InlineData("ipFiltering:\n  allowlist: 10.0.0.1\n", 2, "ipFiltering.allowlist", "expected a list")]
        [InlineData("dashboard:\n  export:\n    exportInterval: 500\n", 3, "dashboard.export.exportInterval", "expected a whole number of milliseconds of at least 1000 (one second), found '500'")]
        [InlineData("dashboard:\n  export:\n    keep: -1\n", 3, "dashboard.export.keep", "expected a whole number of files from 0 (no limit) to 1000000, found '-1'")]
        [InlineData("dashboard:\n  export:\n    keep: many\n", 3, "dashboard.export.keep", "found 'many'")]
        [InlineData("dashboard:\n  export:\n    maxAge: 1d\n", 3, "dashboard.export.maxAge", "expected a whole number of milliseconds, 0 (no limit) or more, found '1d'")]
        [InlineData("metrics:\n  enabled: true\n  port: 0\n", 3, "metrics.port", "expected a port number from 1 to 65535, found '0'")]
        [InlineData("metrics:\n  interval: 500\n", 2, "metrics.interval", "expected a whole number of milliseconds from 1000 to 3600000, found '500'")]
        [InlineData("metrics:\n  topProcesses: 0\n", 2, "metrics.topProcesses", "expected a whole number of process names from 1 to 1000, found '0'")]
        [InlineData("metrics:\n  address: example.org\n", 2, "metrics.address", "expected an IP address of this machine such as 127.0.0.1, 0.0.0.0 or ::, found 'example.org'")]
        [InlineData("metrics:\n  enabled: true\n  address: 0.0.0.0\n", 3, "metrics.address", "set metrics.bearerToken or metrics.bearerTokenFile too")]
        [InlineData("columns:\n  Proto: false\n  Local: false\n  Port: false\n  Foreign: false\n  State: false\n  PID: false\n  Process: false\n  Geo: false\n  Bytes: false\n  Rate: false\n  Age: false\n",
            12, "columns.Age", "every column is switched off, so the table would show nothing; leave at least one on")]
        public void OutOfRangeAndWrongShape(string yaml, int line, string key, string fragment)
        {
            var e = SingleError(yaml);
            Assert.Equal(line, e.Line);
            Assert.Equal(key, e.Key);
            Assert.Contains(fragment, e.Message);
        }

        [Theory]
        [InlineData("colors:\n  tcp:\n    listening: orange\n", 3, "colors.tcp.listening", "'orange' is not a colour")]
        [InlineData("colors:\n  udp: '#12345'\n", 2, "colors.udp", "'#12345' is not a colour")]
        [InlineData("highlightedPorts:\n  '22': '#GGGGGG'\n", 2, "highlightedPorts[\"22\"]", "is not a colour")]
        [InlineData("ipFiltering:\n  blocklist:\n    - 10.0.0.0/8\n    - 10.0.0.0/33\n", 4, "ipFiltering.blocklist[1]", "'10.0.0.0/33' is not a valid CIDR block")]
        [InlineData("connectionFiltering:\n  protocols: [TCP, ICMP]\n", 2, "connectionFiltering.protocols[1]", "expected TCP or UDP, found 'ICMP'")]
        [InlineData("connectionFiltering:\n  ports:\n    - 8100-8000\n", 3, "connectionFiltering.ports[0]", "the first port must not be larger than the last")]
        [InlineData("connectionFiltering:\n  ports: ['80-http']\n", 2, "connectionFiltering.ports[0]", "'80-http' is not a valid port")]
        [InlineData("connectionFiltering:\n  processes: ['chrome[.exe']\n", 2, "connectionFiltering.processes[0]", "without a closing ']'")]
        [InlineData("connectionFiltering:\n  countries: [USA]\n", 2, "connectionFiltering.countries[0]", "two-letter ISO 3166 country code")]
        [InlineData("connectionFiltering:\n  countries: [DE, 'ıe']\n", 2, "connectionFiltering.countries[1]", "two-letter ISO 3166 country code")]
        [InlineData("connectionFiltering:\n  countries: [DE, uk]\n", 2, "connectionFiltering.countries[1]", "UK is reserved in ISO 3166-1 and no geolocation database gives it; that country's code is GB.")]
        [InlineData("dashboard:\n  export:\n    formats: [csv, xml]\n", 3, "dashboard.export.formats[1]", "expected csv or json, found 'xml'")]
        [InlineData("columnOrder: ['Proto', 'Procces']\n", 1, "columnOrder[1]", "found 'Procces'; did you mean 'Process'?")]
        [InlineData("columnOrder: [Proto, proto]\n", 1, "columnOrder[1]", "duplicate column")]
        [InlineData("dns:\n  servers: ['1.1.1.1', 'dns.google']\n", 2, "dns.servers[1]", "expected an IP address (not a host name")]
        [InlineData("dns:\n  servers: ['127.0.0.1:99999']\n", 2, "dns.servers[0]", "the port must be from 1 to 65535")]
        [InlineData("dns:\n  servers: ['[::1']\n", 2, "dns.servers[0]", "expected a closing ]")]
        [InlineData("dns:\n  timeoutMs: 10\n", 2, "dns.timeoutMs", "from 50 to 60000, found '10'")]
        [InlineData("dns:\n  maxConcurrent: 0\n", 2, "dns.maxConcurrent", "from 1 to 256, found '0'")]
        [InlineData("vpn:\n  ports: [1194, 70000]\n", 2, "vpn.ports[1]", "from 1 to 65535, found '70000'")]
        [InlineData("geoip:\n  enabled: sometimes\n", 2, "geoip.enabled", "expected true or false, found 'sometimes'")]
        public void BadValues(string yaml, int line, string key, string fragment)
        {
            var e = SingleError(yaml);
            Assert.Equal(line, e.Line);
            Assert.Equal(key, e.Key);
            Assert.Contains(fragment, e.Message);
            Assert.StartsWith("config.yml, line " + line + ", key '" + key + "': ", e.Message);
        }

        [Theory]
        [InlineData("alerts:\n  webhooks:\n    - url: \"ftp://files.example.invalid/SECRETPART\"\n", "alerts.webhooks[0].url")]
        [InlineData("alerts:\n  webhooks:\n    - url: https://ok.example.invalid/a\n    - url: \"not a url SECRETPART\"\n", "alerts.webhooks[1].url")]
        [InlineData("alerts:\n  webhooks:\n    - \"https://hooks.example.invalid/SECRETPART\"\n", "alerts.webhooks[0]")]
        [InlineData("ipToken: [SECRETPART]\n", "ipToken")]
        [InlineData("alerts:\n  webhooks: \"https://hooks.example.invalid/SECRETPART\"\n", "alerts.webhooks")]
        public void BadSecretsAreReportedWithoutEchoingThem(string yaml, string key)
        {
            var ex = Fails(yaml);
            var e = Assert.Single(ex.Errors);
            Assert.Equal(key, e.Key);
            Assert.DoesNotContain("SECRETPART", ex.Message);
            Assert.DoesNotContain("SECRETPART", ex.ToString());
        }

        /// <summary>
        /// A webhook URL with a user name and password is refused: they were never sent (no Authorization header), so a
        /// receiver behind Basic authentication got unauthenticated posts. Neither the password nor the user is repeated.
        /// </summary>
        [Fact]
        public void AWebhookUrlWithCredentialsIsRefusedWithoutEchoingThem()
        {
            var ex = Fails("alerts:\n  webhooks:\n    - url: \"http://SECRETUSER:SECRETPART@127.0.0.1:41871/x\"\n");
            var e = Assert.Single(ex.Errors);
            Assert.Equal("alerts.webhooks[0].url", e.Key);
            Assert.Equal(3, e.Line);
            Assert.Contains("expected a URL without a user name or password", e.Message);
            Assert.Contains("put the secret in the URL's path or query instead", e.Message);
            Assert.DoesNotContain("SECRETPART", ex.ToString());
            Assert.DoesNotContain("SECRETUSER", ex.ToString());
        }

        [Fact]
        public void WebhookWithoutUrl()
        {
            var e = SingleError("alerts:\n  webhooks:\n    - name: chat\n");
            Assert.Equal("alerts.webhooks[0]", e.Key);
            Assert.Contains("'url' key", e.Message);
        }

        [Fact]
        public void DuplicateKeysAreAllReportedWithTheirPaths()
        {
            var ex = Fails("refreshInterval: 2000\nmonitoring:\n  showStats: true\n  showStats: false\nrefreshInterval: 3000\n");
            Assert.Equal(2, ex.Errors.Count);
            Assert.Equal((4, "monitoring.showStats"), (ex.Errors[0].Line, ex.Errors[0].Key));
            Assert.Equal((5, "refreshInterval"), (ex.Errors[1].Line, ex.Errors[1].Key));
            Assert.Contains("duplicate key", ex.Errors[0].Message);
        }

        [Fact]
        public void QuotedAndUnquotedSamePortIsADuplicate()
        {
            var e = SingleError("highlightedPorts:\n  '22': red\n  22: blue\n");
            Assert.Equal(3, e.Line);
            Assert.Contains("duplicate", e.Message);
        }

        [Fact]
        public void SameColumnInTwoCasesIsADuplicate()
        {
            var e = SingleError("columns:\n  Geo: false\n  geo: true\n");
            Assert.Equal(3, e.Line);
            Assert.Equal("columns.geo", e.Key);
        }

        [Theory]
        [InlineData("refreshInterval: 2000\nmonitoring:\n  showStats: 'yes\n", 3)]
        [InlineData("monitoring:\n  showStats: true\n   topTalkersCount: 5\n", 3)]
        [InlineData("refreshInterval: 2000\ncolumnOrder: [Proto, Local\nresolveDNS: true\n", 2)]
        public void YamlSyntaxErrorsCarryYamlDotNetsLine(string yaml, int line)
        {
            var e = SingleError(yaml);
            Assert.Equal(line, e.Line);
            Assert.Contains("not valid YAML", e.Message);
            Assert.StartsWith("config.yml, line " + line + ": ", e.Message);
        }

        [Fact]
        public void SecondDocumentIsAnError()
        {
            var e = SingleError("refreshInterval: 2000\n---\nrefreshInterval: 3000\n");
            Assert.Equal(2, e.Line);
        }

        [Fact]
        public void EveryErrorOfAFileIsReportedTogether()
        {
            var ex = Fails(string.Join("\n",
                "refreshInterval: 10",                 // 1
                "colors:",                             // 2
                "  udp: blurple",                      // 3
                "monitoring:",                         // 4
                "  topTalkersCount: lots",             // 5
                "ipFiltering:",                        // 6
                "  allowlist: ['10.0.0.0/99']",        // 7
                "dashboard:",                          // 8
                "  port: 0",                           // 9
                "columnOrder: [Proto, Nope]",          // 10
                "unknownThing: 1",                     // 11 (a warning, not an error)
                ""));
            Assert.Equal(new[] { 1, 3, 5, 7, 9, 10 }, ex.Errors.Select(e => e.Line));
            var lines = ex.Message.Split('\n');
            Assert.Equal("config.yml has 6 errors:", lines[0].TrimEnd('\r'));
            Assert.Equal(7, lines.Length);
            Assert.All(ex.Errors, e => Assert.Contains(e.Message, ex.Message));
        }

        [Fact]
        public void SeveralErrorsStandOnePerLineNumbered()
        {
            var ex = Fails("refreshInterval: fast\nresolveDNS: maybe\nmonitoring:\n  topTalkersCount: 0\n");
            Assert.Equal(string.Join(System.Environment.NewLine,
                "config.yml has 3 errors:",
                "[1] config.yml, line 1, key 'refreshInterval': expected a whole number of milliseconds of at least 100, found 'fast'.",
                "[2] config.yml, line 2, key 'resolveDNS': expected true or false, found 'maybe'.",
                "[3] config.yml, line 4, key 'monitoring.topTalkersCount': expected a whole number from 1 to 100, found '0'."), ex.Message);
        }

        [Theory]
        [InlineData("geoip:\n\tcountryDatabase: x\n", 2, 1, "the key 'countryDatabase' is")]
        [InlineData("monitoring:\n  showStats: true\n\ttopTalkersCount: 3\n", 3, 1, "the key 'topTalkersCount' is")]
        [InlineData("monitoring:\n  \tshowStats: true\n", 2, 3, "the key 'showStats' is")]
        [InlineData("ipFiltering:\n  allowlist:\n\t- 10.0.0.1\n", 3, 1, "this line is")]
        public void TabIndentationIsReportedAtItsOwnLine(string yaml, int line, int column, string what)
        {
            var e = SingleError(yaml);
            Assert.Equal(line, e.Line);
            Assert.Equal(column, e.Column);
            Assert.Null(e.Key);
            Assert.Equal("config.yml, line " + line + ": " + what + " indented with a tab character; YAML allows only spaces for indentation: "
                + "replace the tab with spaces (as many as the keys above it at the same level).", e.Message);
        }

        [Fact]
        public void TabsInsideValuesAndBlockScalarsAreNotIndentation()
        {
            ConfigLoader.LoadText("resolveDNS:\tfalse # tab after the colon\n", "config.yml");
            ConfigLoader.LoadText("alerts:\n  webhooks:\n    - url: https://hooks.example.invalid/a\n      template: |\n        line one\n        \tindented with a tab inside the text\n", "config.yml");
        }

        [Theory]
        [InlineData("geoip:\n  directory: \"C:\\Users\\me\\GeoIP\"\n", "did not find expected hexadecimal number.")]
        [InlineData("geoip:\n  directory: \"C:\\data\\GeoIP\"\n", "found unknown escape character.")]
        public void WindowsPathsInDoubleQuotesSayWhatToDo(string yaml, string yamlDotNetWords)
        {
            var e = SingleError(yaml);
            Assert.Equal(2, e.Line);
            Assert.Equal("config.yml, line 2: this is not valid YAML: While scanning a quoted scalar, " + yamlDotNetWords
                + " In double quotes a backslash starts an escape sequence (\\U, \\x and \\u expect a hexadecimal number), so a Windows path"
                + " such as \"C:\\Users\\me\\GeoIP\" cannot be written that way: use single quotes ('C:\\Users\\me\\GeoIP'),"
                + " forward slashes (\"C:/Users/me/GeoIP\") or no quotes.", e.Message);
            // And the advice works: the same path in single quotes, with forward slashes or bare loads.
            foreach (var fixedYaml in new[] { "geoip:\n  directory: 'C:\\Users\\me\\GeoIP'\n", "geoip:\n  directory: \"C:/Users/me/GeoIP\"\n", "geoip:\n  directory: C:\\Users\\me\\GeoIP\n" })
                ConfigLoader.LoadText(fixedYaml, "config.yml");
        }

        [Fact]
        public void EmptyValuesTakeDefaultsButEmptyListItemsAreErrors()
        {
            var c = ConfigLoader.LoadText("refreshInterval:\nmonitoring:\nalerts:\n  webhooks:\n", "c.yml").Config;
            Assert.Equal(2000, c.RefreshInterval);
            Assert.Empty(c.Alerts.Webhooks);
            var e = SingleError("connectionFiltering:\n  ports:\n    -\n");
            Assert.Equal("connectionFiltering.ports[0]", e.Key);
            Assert.Contains("found an empty value", e.Message);
        }
    }
}
