using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using YamlDotNet.RepresentationModel;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>A loaded configuration, the warnings about its file, and where it came from (null for the built-in defaults).</summary>
    public sealed class ConfigLoadResult
    {
        public ConfigLoadResult(MonitorConfig config, IReadOnlyList<ConfigWarning> warnings, string sourcePath)
        {
            Config = config;
            Warnings = warnings;
            SourcePath = sourcePath;
        }

        public MonitorConfig Config { get; }
        public IReadOnlyList<ConfigWarning> Warnings { get; }
        public string SourcePath { get; }

        public static ConfigLoadResult BuiltInDefaults() => new ConfigLoadResult(new MonitorConfig(), new ConfigWarning[0], null);
    }

    /// <summary>
    /// Reads config.yml (the seed's keys, same meanings) into a MonitorConfig. Every problem in the
    /// file is collected and thrown together as one ConfigException; unknown keys are warnings. A
    /// load either returns a complete new MonitorConfig or throws — it never changes an existing one.
    /// </summary>
    public static class ConfigLoader
    {
        public static ConfigLoadResult Load(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            string fullPath = Path.GetFullPath(path);
            string text;
            try
            {
                text = File.ReadAllText(fullPath);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new ConfigException(fullPath, "the configuration file cannot be read: " + ex.Message);
            }
            return LoadText(text, fullPath);
        }

        /// <param name="sourceName">How messages name the file (usually its full path); becomes SourcePath.</param>
        public static ConfigLoadResult LoadText(string text, string sourceName)
        {
            var reader = new YamlConfigReader(sourceName);
            YamlNode root = reader.Parse(text ?? "");
            var config = new MonitorConfig();
            if (reader.Errors.Count == 0) reader.Section(root, "", s => ReadRoot(s, reader, config));
            // Schema order is not file order; report in the order a reader of the file meets them.
            if (reader.Errors.Count > 0) throw new ConfigException(reader.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList());
            return new ConfigLoadResult(config, reader.Warnings.OrderBy(w => w.Line).ThenBy(w => w.Column).ToList().AsReadOnly(), sourceName);
        }

        private const string Milliseconds = "a whole number of milliseconds, 0 or more";
        private const string WholeNumber = "a whole number, 0 or more";

        private static bool TryListenAddress(string text, out System.Net.IPAddress address, out string error)
        {
            error = null;
            if (System.Net.IPAddress.TryParse(text.Trim().Trim('[', ']'), out address)) return true;
            error = "expected an IP address of this machine such as 127.0.0.1, 0.0.0.0 or ::, found '" + text + "'.";
            return false;
        }

        private static void ReadRoot(YamlConfigReader.YamlSection s, YamlConfigReader r, MonitorConfig c)
        {
            c.IpToken = s.Secret("ipToken");
            c.ResolveDns = s.Bool("resolveDNS", c.ResolveDns);
            c.RefreshInterval = (int)s.Integer("refreshInterval", MonitorConfig.MinimumRefreshInterval, int.MaxValue,
                "a whole number of milliseconds of at least " + MonitorConfig.MinimumRefreshInterval, c.RefreshInterval);
            ReadHighlightedPorts(s, r, c);
            s.Section("colors", colors =>
            {
                colors.Section("tcp", tcp =>
                {
                    var t = c.Colors.Tcp;
                    t.Listening = tcp.Color("listening", t.Listening);
                    t.Established = tcp.Color("established", t.Established);
                    t.CloseWait = tcp.Color("close_wait", t.CloseWait);
                    t.TimeWait = tcp.Color("time_wait", t.TimeWait);
                    t.Other = tcp.Color("other", t.Other);
                });
                c.Colors.Udp = colors.Color("udp", c.Colors.Udp);
            });
            ReadColumns(s, r, c);
            c.TruncateOverflow = s.Bool("truncateOverflow", c.TruncateOverflow);
            ReadColumnOrder(s, r, c);

            s.Section("monitoring", m =>
            {
                var mon = c.Monitoring;
                mon.ShowStats = m.Bool("showStats", mon.ShowStats);
                mon.ShowTopTalkers = m.Bool("showTopTalkers", mon.ShowTopTalkers);
                mon.TopTalkersCount = (int)m.Integer("topTalkersCount", 1, 100, "a whole number from 1 to 100", mon.TopTalkersCount);
                mon.TrackHistory = m.Bool("trackHistory", mon.TrackHistory);
                mon.HistoryRetention = m.Integer("historyRetention", 0, long.MaxValue, Milliseconds, mon.HistoryRetention);
            });

            s.Section("history", h =>
            {
                var hist = c.History;
                hist.Path = EmptyAsNull(h.Text("path", "the path of a file", hist.Path));
                hist.RawRetention = h.Integer("rawRetention", 60000, long.MaxValue, "milliseconds, at least 60000 (one minute)", hist.RawRetention);
                hist.ConnectionRetention = h.Integer("connectionRetention", 60000, long.MaxValue, "milliseconds, at least 60000 (one minute)", hist.ConnectionRetention);
            });

            s.Section("alerts", a =>
            {
                var alerts = c.Alerts;
                alerts.Enabled = a.Bool("enabled", alerts.Enabled);
                alerts.Webhooks = a.List("webhooks", alerts.Webhooks, (YamlNode n, string key, out WebhookConfig hook) => TryWebhook(r, n, key, out hook), secret: true);
                a.Section("conditions", cond =>
                {
                    var k = alerts.Conditions;
                    k.SuspiciousPorts = cond.List("suspiciousPorts", k.SuspiciousPorts, (YamlNode n, string key, out int port) => r.TryPort(n, key, out port));
                    k.NewForeignConnections = cond.Bool("newForeignConnections", k.NewForeignConnections);
                    k.MaxConnections = cond.Integer("maxConnections", 0, long.MaxValue, WholeNumber, k.MaxConnections);
                    k.MaxBandwidth = cond.Integer("maxBandwidth", 0, long.MaxValue, "a whole number of bytes per second, 0 or more", k.MaxBandwidth);
                    k.PortScan = cond.Bool("portScan", k.PortScan);
                });
                alerts.RepeatInterval = a.Integer("repeatInterval", 0, long.MaxValue, Milliseconds, alerts.RepeatInterval);
                a.Section("portScan", ps =>
                {
                    alerts.PortScanPorts = (int)ps.Integer("ports", 2, 65535, "a whole number of distinct ports from 2 to 65535", alerts.PortScanPorts);
                    alerts.PortScanWindow = ps.Integer("window", 100, 86400000, "milliseconds from 100 to 86400000 (one day)", alerts.PortScanWindow);
                });
                alerts.DeadLetterPath = EmptyAsNull(a.Text("deadLetterPath", "the path of a file", alerts.DeadLetterPath));
                a.Section("syslog", sl =>
                {
                    var sys = alerts.Syslog;
                    sys.Enabled = sl.Bool("enabled", sys.Enabled);
                    var targetNode = sl.Get("target", out string targetKey);
                    if (!YamlConfigReader.IsNull(targetNode) && r.TryParsed(targetNode, targetKey, SyslogTargetForms, TrySyslogTarget, out SyslogTarget t))
                    {
                        sys.Target = t.Text; sys.Transport = t.Transport; sys.Host = t.Host; sys.Port = t.Port;
                    }
                    var facilityNode = sl.Get("facility", out string facilityKey);
                    if (!YamlConfigReader.IsNull(facilityNode) && r.TryParsed(facilityNode, facilityKey,
                            "an RFC 5424 facility name: " + string.Join(", ", SyslogConfig.FacilityNames), TrySyslogFacility, out string facility))
                        sys.Facility = facility;
                    var appNode = sl.Get("appName", out string appKey);
                    if (!YamlConfigReader.IsNull(appNode) && r.TryParsed(appNode, appKey,
                            "an app name of 1 to 48 printable US-ASCII characters without spaces", TrySyslogAppName, out string app))
                        sys.AppName = app;
                    sys.ConnectionEvents = ConnectionEvents(r, sl, sys.ConnectionEvents);
                    sys.MaxMessageSize = (int)sl.Integer("maxMessageSize", 480, 65000, "a whole number of bytes from 480 to 65000", sys.MaxMessageSize);
                });
                a.Section("eventLog", el =>
                {
                    var ev = alerts.EventLog;
                    ev.Enabled = el.Bool("enabled", ev.Enabled);
                    var sourceNode = el.Get("source", out string sourceKey);
                    if (!YamlConfigReader.IsNull(sourceNode) && r.TryParsed(sourceNode, sourceKey, EventLogNameForms, TryEventLogName, out string source))
                        ev.Source = source;
                    var logNode = el.Get("logName", out string logKey);
                    if (!YamlConfigReader.IsNull(logNode) && r.TryParsed(logNode, logKey, EventLogNameForms, TryEventLogName, out string log))
                        ev.LogName = log;
                    ev.ConnectionEvents = ConnectionEvents(r, el, ev.ConnectionEvents);
                });
            });

            s.Section("ipFiltering", f =>
            {
                var ip = c.IpFiltering;
                ip.Enabled = f.Bool("enabled", ip.Enabled);
                YamlConfigReader.ItemReader<AddressPattern> address = (YamlNode n, string key, out AddressPattern p) =>
                    r.TryParsed(n, key, AddressPattern.ExpectedForms, AddressPattern.TryParse, out p);
                ip.Allowlist = f.List("allowlist", ip.Allowlist, address);
                ip.Blocklist = f.List("blocklist", ip.Blocklist, address);
            });

            s.Section("connectionFiltering", f =>
            {
                var cf = c.ConnectionFiltering;
                cf.Enabled = f.Bool("enabled", cf.Enabled);
                cf.Protocols = f.List("protocols", cf.Protocols, (YamlNode n, string key, out TransportProtocol p) =>
                    r.TryParsed(n, key, "TCP or UDP", TryProtocol, out p));
                cf.Ports = f.List("ports", cf.Ports, (YamlNode n, string key, out PortRange p) =>
                    r.TryParsed(n, key, PortRange.ExpectedForms, PortRange.TryParse, out p));
                cf.Processes = f.List("processes", cf.Processes, (YamlNode n, string key, out Wildcard w) =>
                    r.TryParsed(n, key, "a process name such as chrome.exe, wildcards allowed", TryProcessPattern, out w));
                cf.Countries = f.List("countries", cf.Countries, (YamlNode n, string key, out string code) =>
                    r.TryParsed(n, key, "a two-letter ISO 3166 country code such as US", TryCountry, out code));
            });

            s.Section("geoip", g =>
            {
                var geo = c.GeoIp;
                geo.Enabled = g.Bool("enabled", geo.Enabled);
                geo.Directory = EmptyAsNull(g.Text("directory", "a folder path", geo.Directory));
                geo.CountryDatabase = EmptyAsNull(g.Text("countryDatabase", "the path of a .mmdb file", geo.CountryDatabase));
                geo.AsnDatabase = EmptyAsNull(g.Text("asnDatabase", "the path of a .mmdb file", geo.AsnDatabase));
                geo.CityDatabase = EmptyAsNull(g.Text("cityDatabase", "the path of a .mmdb file", geo.CityDatabase));
                geo.MaxMindLicenseKey = g.Secret("maxmindLicenseKey");
                geo.MaxMindAccountId = EmptyAsNull(g.Text("maxmindAccountId", "your MaxMind account ID (digits)", geo.MaxMindAccountId));
            });

            s.Section("dns", d =>
            {
                var dns = c.Dns;
                dns.Servers = d.List("servers", dns.Servers, (YamlNode n, string key, out System.Net.IPEndPoint ep) =>
                    r.TryParsed(n, key, "a DNS server address such as 1.1.1.1, 192.168.1.1:53 or [::1]:5353", TryDnsServer, out ep));
                dns.TimeoutMs = (int)d.Integer("timeoutMs", 50, 60000, "a whole number of milliseconds from 50 to 60000", dns.TimeoutMs);
                dns.MaxConcurrent = (int)d.Integer("maxConcurrent", 1, 256, "a whole number from 1 to 256", dns.MaxConcurrent);
                dns.SnapshotDeadlineMs = (int)d.Integer("snapshotDeadlineMs", 0, 10000, "a whole number of milliseconds from 0 to 10000", dns.SnapshotDeadlineMs);
                dns.ResolvePrivate = d.Bool("resolvePrivate", dns.ResolvePrivate);
            });

            s.Section("vpn", v =>
            {
                var vpn = c.Vpn;
                vpn.Enabled = v.Bool("enabled", vpn.Enabled);
                vpn.Processes = v.List("processes", vpn.Processes, (YamlNode n, string key, out Wildcard w) =>
                    r.TryParsed(n, key, "a process name such as openvpn, wildcards allowed", TryProcessPattern, out w));
                vpn.Ports = v.List("ports", vpn.Ports, (YamlNode n, string key, out int port) => r.TryPort(n, key, out port));
                vpn.Interfaces = v.List("interfaces", vpn.Interfaces, (YamlNode n, string key, out Wildcard w) =>
                    r.TryParsed(n, key, "an interface name such as tun0, wildcards allowed", TryProcessPattern, out w));
            });

            s.Section("metrics", m =>
            {
                var mc = c.Metrics;
                mc.Enabled = m.Bool("enabled", mc.Enabled);
                mc.Port = (int)m.Integer("port", 1, 65535, "a port number from 1 to 65535", mc.Port);
                var addressNode = m.Get("address", out string addressKey);
                if (!YamlConfigReader.IsNull(addressNode) && r.TryParsed(addressNode, addressKey, "an IP address of this machine such as 127.0.0.1, 0.0.0.0 or ::", TryListenAddress, out System.Net.IPAddress address))
                    mc.Address = address;
                mc.Interval = m.Integer("interval", 1000, 3600000, "a whole number of milliseconds from 1000 to 3600000", mc.Interval);
                mc.TopProcesses = (int)m.Integer("topProcesses", 1, 1000, "a whole number of process names from 1 to 1000", mc.TopProcesses);
                mc.BearerToken = m.Secret("bearerToken");
                mc.BearerTokenFile = EmptyAsNull(m.Text("bearerTokenFile", "the path of a file holding the token", mc.BearerTokenFile));
                if (mc.Address != null && !System.Net.IPAddress.IsLoopback(mc.Address) && mc.BearerToken == null && mc.BearerTokenFile == null)
                    r.Error(addressNode, addressKey, "an address other than loopback makes the metrics reachable from other machines: set metrics.bearerToken or metrics.bearerTokenFile too, or leave the address out (loopback).");
            });

            s.Section("dashboard", d =>
            {
                var dash = c.Dashboard;
                dash.Enabled = d.Bool("enabled", dash.Enabled);
                dash.Port = (int)d.Integer("port", 1, 65535, "a port number from 1 to 65535", dash.Port);
                d.Section("export", e =>
                {
                    var x = dash.Export;
                    x.Enabled = e.Bool("enabled", x.Enabled);
                    var formats = e.List("formats", x.Formats, (YamlNode n, string key, out string f) =>
                        r.TryParsed(n, key, "csv or json", TryExportFormat, out f));
                    x.Formats = MonitorConfig.ReadOnly(formats.Distinct());
                    x.AutoExport = e.Bool("autoExport", x.AutoExport);
                    x.ExportInterval = e.Integer("exportInterval", ExportConfig.MinimumExportInterval, long.MaxValue,
                        "a whole number of milliseconds of at least " + ExportConfig.MinimumExportInterval + " (one second)", x.ExportInterval);
                    var folderNode = e.Get("exportPath", out string folderKey);
                    if (!YamlConfigReader.IsNull(folderNode) && r.TryParsed(folderNode, folderKey, "a folder path", TryFolderPath, out string folder)) x.ExportPath = folder;
                    x.Keep = (int)e.Integer("keep", 0, 1000000, "a whole number of files from 0 (no limit) to 1000000", x.Keep);
                    x.MaxAge = e.Integer("maxAge", 0, long.MaxValue, "a whole number of milliseconds, 0 (no limit) or more", x.MaxAge);
                });
            });
        }

        /// <summary>
        /// highlightedPorts: a file that has the key replaces the whole default list, so a user can
        /// drop a highlight by leaving its port out.
        /// </summary>
        private static void ReadHighlightedPorts(YamlConfigReader.YamlSection s, YamlConfigReader r, MonitorConfig c)
        {
            var node = s.Get("highlightedPorts", out string path);
            if (YamlConfigReader.IsNull(node)) return;
            var ports = new SortedDictionary<int, ConfigColor>();
            foreach (var e in r.Entries(node, path))
            {
                string key = YamlConfigReader.Child(path, e.Key);
                if (!r.TryPort(e.KeyNode, key, out int port)) continue;
                // '22' and 22 are different YAML keys but the same port.
                if (ports.ContainsKey(port)) r.Error(e.KeyNode, key, "duplicate port: port " + port + " is already listed in highlightedPorts; keep only one.");
                else if (r.TryParsed(e.Value, key, ConfigColor.ExpectedForms, ConfigColor.TryParse, out ConfigColor color)) ports[port] = color;
            }
            c.HighlightedPorts = MonitorConfig.ReadOnly(ports);
        }

        /// <summary>
        /// columns and columnWidths are keyed by column name (case-insensitive); a column a file does
        /// not mention keeps its default, as in the seed's docs, which list only the widths they change.
        /// </summary>
        private static void ReadColumns(YamlConfigReader.YamlSection s, YamlConfigReader r, MonitorConfig c)
        {
            var enabled = new HashSet<string>(c.Columns, StringComparer.OrdinalIgnoreCase);
            (YamlNode Value, string Key) last = (null, null);
            foreach (var (column, value, key) in ColumnEntries(s, r, "columns"))
            {
                if (r.Bool(value, key, true)) enabled.Add(column);
                else enabled.Remove(column);
                last = (value, key);
            }
            // A table of no columns shows nothing: the live view drew its header lines over blank rows.
            if (enabled.Count == 0 && last.Value != null)
                r.Error(last.Value, last.Key, "every column is switched off, so the table would show nothing; leave at least one on (columns.Process: true, say).");
            c.Columns = new ColumnSet(enabled);

            var widths = new Dictionary<string, int>(c.ColumnWidths.ToDictionary(p => p.Key, p => p.Value), StringComparer.OrdinalIgnoreCase);
            foreach (var (column, value, key) in ColumnEntries(s, r, "columnWidths"))
                widths[column] = (int)r.Integer(value, key, 1, 200, "a whole number of characters from 1 to 200", widths[column]);
            c.ColumnWidths = MonitorConfig.ColumnWidthTable(widths);
        }

        /// <summary>The entries of a section keyed by column name; unknown names warn (they are keys), repeats are errors.</summary>
        private static IEnumerable<(string Column, YamlNode Value, string Key)> ColumnEntries(YamlConfigReader.YamlSection s, YamlConfigReader r, string name)
        {
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var result = new List<(string, YamlNode, string)>();
            foreach (var e in s.Entries(name, out string path))
            {
                string key = YamlConfigReader.Child(path, e.Key);
                if (!ColumnNames.TryCanonical(e.Key, out string column)) r.WarnUnknownKey(e.KeyNode, path, e.Key, ColumnNames.All);
                else if (!seen.Add(column)) r.Error(e.KeyNode, key, "duplicate column: " + column + " is already listed in " + name + "; keep only one.");
                else result.Add((column, e.Value, key));
            }
            return result;
        }

        /// <summary>columnOrder: the columns shown, left to right; each a known name, at most once.</summary>
        private static void ReadColumnOrder(YamlConfigReader.YamlSection s, YamlConfigReader r, MonitorConfig c)
        {
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            c.ColumnOrder = s.List("columnOrder", c.ColumnOrder, (YamlNode n, string key, out string column) =>
            {
                if (!r.TryParsed(n, key, "a column name", TryColumn, out column)) return false;
                if (seen.Add(column)) return true;
                r.Error(n, key, "duplicate column: " + column + " appears more than once in columnOrder.");
                return false;
            });
        }

        private const string WebhookForm = "a webhook entry with a 'url' key (- url: \"https://…\")";

        /// <summary>One webhook entry. The URL usually carries a token, so no message ever quotes it.</summary>
        private static bool TryWebhook(YamlConfigReader r, YamlNode node, string key, out WebhookConfig hook)
        {
            hook = null;
            if (!(node is YamlMappingNode))
            {
                string found = YamlConfigReader.IsNull(node) || node is YamlSequenceNode
                    ? YamlConfigReader.Describe(node)
                    : YamlConfigReader.SecretScalar;
                r.Error(node, key, "expected " + WebhookForm + ", found " + found + ".");
                return false;
            }
            Uri url = null;
            r.Section(node, key, w =>
            {
                var urlNode = w.Get("url", out string urlKey);
                if (YamlConfigReader.IsNull(urlNode))
                {
                    r.Error(node, key, "expected " + WebhookForm + ", found no url.");
                    return;
                }
                string text = r.Secret(urlNode, urlKey);
                if (text != null && Uri.TryCreate(text.Trim(), UriKind.Absolute, out var parsed)
                    && (parsed.Scheme == Uri.UriSchemeHttp || parsed.Scheme == Uri.UriSchemeHttps) && parsed.Host.Length > 0)
                {
                    if (Alerts.AlertTarget.CredentialsRefusal(parsed) == null) url = parsed;
                    else r.Error(urlNode, urlKey, "expected a URL without a user name or password, found one with them (not shown: webhook URLs are secret): " + Alerts.AlertTarget.CredentialsNotSent + ".");
                }
                else if (urlNode is YamlScalarNode)
                    r.Error(urlNode, urlKey, "expected an absolute http:// or https:// URL, found a value that is not one (not shown: webhook URLs are secret).");
            });
            if (url == null) return false;
            hook = new WebhookConfig(url);
            return true;
        }

        private static bool TryProtocol(string text, out TransportProtocol protocol, out string error)
        {
            error = null;
            switch (text.Trim().ToUpperInvariant())
            {
                case "TCP": protocol = TransportProtocol.Tcp; return true;
                case "UDP": protocol = TransportProtocol.Udp; return true;
            }
            protocol = default(TransportProtocol);
            error = "expected TCP or UDP, found '" + text + "'.";
            return false;
        }

        private static bool TryProcessPattern(string text, out Wildcard pattern, out string error)
        {
            pattern = null;
            error = null;
            if (text.Trim().Length == 0)
            {
                error = "expected a process name such as chrome.exe (wildcards allowed), found an empty text.";
                return false;
            }
            try
            {
                pattern = new Wildcard(text.Trim());
                return true;
            }
            catch (ArgumentException ex)
            {
                error = ex.Message;
                return false;
            }
        }

        private const string SyslogTargetForms = "a syslog target: unix:///dev/log, udp://host:514 or tcp://host:601";

        private struct SyslogTarget { public string Text, Transport, Host; public int Port; }

        /// <summary>unix:///path, udp://host[:port] (514 by default), tcp://host[:port] (601 by default); port 1–65535.</summary>
        private static bool TrySyslogTarget(string text, out SyslogTarget target, out string error)
        {
            bool ok = TrySyslogTargetCore((text ?? "").Trim(), out target, out error);
            if (!ok) error = "expected " + SyslogTargetForms + ", found '" + text + "' (" + error + ").";
            return ok;
        }

        private static bool TrySyslogTargetCore(string text, out SyslogTarget target, out string error)
        {
            target = default(SyslogTarget);
            error = null;
            int sep = text.IndexOf("://", StringComparison.Ordinal);
            string scheme = sep > 0 ? text.Substring(0, sep).ToLowerInvariant() : null;
            if (scheme != "unix" && scheme != "udp" && scheme != "tcp")
            {
                error = sep > 0 ? "the scheme '" + text.Substring(0, sep) + "' is not one of unix, udp or tcp" : "it has no scheme (unix://, udp:// or tcp://)";
                return false;
            }
            string rest = text.Substring(sep + 3);
            if (scheme == "unix")
            {
                if (!rest.StartsWith("/", StringComparison.Ordinal)) { error = "a unix target needs an absolute socket path (unix:///dev/log)"; return false; }
                target = new SyslogTarget { Text = text, Transport = scheme, Host = rest, Port = 0 };
                return true;
            }
            int port = scheme == "udp" ? 514 : 601;
            string host = rest.TrimEnd('/');
            int colon = host.StartsWith("[", StringComparison.Ordinal) ? host.IndexOf("]:", StringComparison.Ordinal) + 1 : host.LastIndexOf(':');
            if (colon > 0 && host.IndexOf(':') == colon || host.StartsWith("[", StringComparison.Ordinal) && colon > 0)
            {
                string p = host.Substring(colon + 1);
                if (!int.TryParse(p, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port < 1 || port > 65535)
                {
                    error = "the port '" + p + "' is not a port number from 1 to 65535";
                    return false;
                }
                host = host.Substring(0, colon);
            }
            host = host.Trim('[', ']');
            if (host.Length == 0 || host.IndexOfAny(new[] { '/', ' ', '?', '#', '@' }) >= 0) { error = "'" + host + "' is not a host name or address"; return false; }
            target = new SyslogTarget { Text = text, Transport = scheme, Host = host, Port = port };
            return true;
        }

        private const string ConnectionEventForms = "none, all, or a list of opened, closed and stateChanged";

        /// <summary>connectionEvents: the word none or all, one change name, or a list of change names.</summary>
        private static Alerts.Delivery.ConnectionEventKinds ConnectionEvents(YamlConfigReader r, YamlConfigReader.YamlSection section, Alerts.Delivery.ConnectionEventKinds fallback)
        {
            var node = section.Get("connectionEvents", out string key);
            if (YamlConfigReader.IsNull(node)) return fallback;
            if (node is YamlSequenceNode)
            {
                var kinds = Alerts.Delivery.ConnectionEventKinds.None;
                foreach (var k in section.List("connectionEvents", new Alerts.Delivery.ConnectionEventKinds[0], (YamlNode n, string itemKey, out Alerts.Delivery.ConnectionEventKinds kind) =>
                    r.TryParsed(n, itemKey, ConnectionEventForms, TryConnectionChange, out kind)))
                    kinds |= k;
                return kinds;
            }
            return r.TryParsed(node, key, ConnectionEventForms, TryConnectionEventWord, out Alerts.Delivery.ConnectionEventKinds all) ? all : fallback;
        }

        private static bool TryConnectionChange(string text, out Alerts.Delivery.ConnectionEventKinds kind, out string error)
        {
            switch ((text ?? "").Trim().ToLowerInvariant())
            {
                case "opened": kind = Alerts.Delivery.ConnectionEventKinds.Opened; break;
                case "closed": kind = Alerts.Delivery.ConnectionEventKinds.Closed; break;
                case "statechanged": kind = Alerts.Delivery.ConnectionEventKinds.StateChanged; break;
                default:
                    kind = Alerts.Delivery.ConnectionEventKinds.None;
                    error = "expected opened, closed or stateChanged in the list, found '" + text + "'.";
                    return false;
            }
            error = null;
            return true;
        }

        private static bool TryConnectionEventWord(string text, out Alerts.Delivery.ConnectionEventKinds kind, out string error)
        {
            string t = (text ?? "").Trim().ToLowerInvariant();
            if (t == "none") { kind = Alerts.Delivery.ConnectionEventKinds.None; error = null; return true; }
            if (t == "all") { kind = Alerts.Delivery.ConnectionEventKinds.All; error = null; return true; }
            if (TryConnectionChange(text, out kind, out error)) return true;
            error = "expected " + ConnectionEventForms + ", found '" + text + "'.";
            return false;
        }

        private const string EventLogNameForms = "1 to 128 letters, digits, spaces, '.', '_' or '-'";

        private static bool TryEventLogName(string text, out string name, out string error)
        {
            name = (text ?? "").Trim();
            bool ok = name.Length >= 1 && name.Length <= 128;
            if (ok) foreach (char ch in name) ok &= ch < 128 && (char.IsLetterOrDigit(ch) || ch == ' ' || ch == '.' || ch == '_' || ch == '-');
            error = ok ? null : "expected " + EventLogNameForms + ", found '" + text + "'.";
            return ok;
        }

        private static bool TrySyslogFacility(string text, out string facility, out string error)
        {
            facility = (text ?? "").Trim().ToLowerInvariant();
            error = SyslogConfig.FacilityNames.Contains(facility) ? null : "expected an RFC 5424 facility name (" + string.Join(", ", SyslogConfig.FacilityNames) + "), found '" + text + "'.";
            return error == null;
        }

        private static bool TrySyslogAppName(string text, out string app, out string error)
        {
            app = text ?? "";
            error = app.Length >= 1 && app.Length <= 48 && app.All(ch => ch >= 33 && ch <= 126) ? null : "expected an app name of 1 to 48 printable US-ASCII characters without spaces, found '" + text + "'.";
            return error == null;
        }

        private static string EmptyAsNull(string text) => string.IsNullOrWhiteSpace(text) ? null : text;

        internal static bool TryDnsServer(string text, out System.Net.IPEndPoint server, out string error)
        {
            server = null;
            error = null;
            string t = text.Trim();
            int port = 53;
            string host = t;
            if (t.StartsWith("[", StringComparison.Ordinal))
            {
                int close = t.IndexOf(']');
                if (close < 0) { error = "expected a closing ] in '" + text + "'."; return false; }
                host = t.Substring(1, close - 1);
                string rest = t.Substring(close + 1);
                if (rest.Length > 0 && (!rest.StartsWith(":", StringComparison.Ordinal) || !int.TryParse(rest.Substring(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)))
                { error = "expected [IPv6]:port, found '" + text + "'."; return false; }
            }
            else if (t.Count(ch => ch == ':') == 1)
            {
                int colon = t.IndexOf(':');
                host = t.Substring(0, colon);
                if (!int.TryParse(t.Substring(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port))
                { error = "expected address:port, found '" + text + "'."; return false; }
            }
            if (port < 1 || port > 65535) { error = "the port must be from 1 to 65535, found '" + text + "'."; return false; }
            if (!System.Net.IPAddress.TryParse(host, out var address))
            { error = "expected an IP address (not a host name: the resolver cannot look itself up), found '" + text + "'."; return false; }
            server = new System.Net.IPEndPoint(address, port);
            return true;
        }

        private static bool TryCountry(string text, out string code, out string error)
        {
            code = Enrichment.Geo.CountryCodes.Normalize(text);
            error = code == null ? "expected a two-letter ISO 3166 country code such as US, found '" + text + "'." : Enrichment.Geo.CountryCodes.Problem(code);
            if (error == null) return true;
            code = null;
            return false;
        }

        private static bool TryExportFormat(string text, out string format, out string error)
        {
            format = text.Trim().ToLowerInvariant();
            error = null;
            if (format == "csv" || format == "json") return true;
            error = "expected csv or json, found '" + text + "'.";
            format = null;
            return false;
        }

        private static bool TryFolderPath(string text, out string folder, out string error)
        {
            folder = text;
            error = null;
            int bad = text.IndexOfAny(Path.GetInvalidPathChars());
            if (bad < 0) return true;
            error = "expected a folder path, found one with the character U+" + ((int)text[bad]).ToString("X4") + ", which no path may contain.";
            folder = null;
            return false;
        }

        private static bool TryColumn(string text, out string column, out string error)
        {
            error = null;
            if (ColumnNames.TryCanonical(text, out column)) return true;
            string suggestion = NameSuggestion.Nearest(text, ColumnNames.All);
            error = "expected a column name (" + string.Join(", ", ColumnNames.All) + "), found '" + text + "'"
                + (suggestion != null ? "; did you mean '" + suggestion + "'?" : ".");
            return false;
        }
    }
}
