using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ConnectionsMonitor.Engine.Service
{
    /// <summary>What the systemd unit of the service mode runs and how (Install-ConnectionMonitorService's parameters).</summary>
    public sealed class SystemdUnitOptions
    {
        /// <summary>The unit's name without ".service" (default "connectionsmonitor"): letters, digits, ':', '_', '.' or '-' (no template '@').</summary>
        public string Name { get; set; } = SystemdUnit.DefaultName;

        /// <summary>Absolute path of the cmon executable the unit starts (ExecStart). Must exist where the service runs and not under /home or /root (ProtectHome hides them).</summary>
        public string HostPath { get; set; }

        /// <summary>Absolute path of the config.yml passed with --config; null for the service's own lookup (CONNECTIONSMONITOR_CONFIG, then the module's default).</summary>
        public string ConfigPath { get; set; }

        /// <summary>
        /// Absolute path of the history file passed with --history; null for no --history, so the service records where its
        /// configuration's history.path says, else into <see cref="SystemdUnit.DefaultHistoryPath"/> in the unit's state directory
        /// (a history.path outside the state directory needs its folder in <see cref="WritableFolders"/>).
        /// </summary>
        public string HistoryPath { get; set; }

        /// <summary>An existing account to run as (User=); null for a transient account made by systemd (DynamicUser=yes).</summary>
        public string User { get; set; }

        /// <summary>Grant CAP_NET_RAW, for the port-scan rule's SYN capture (alerts.conditions.portScan); without it that rule reads the socket table.</summary>
        public bool PacketCapture { get; set; }

        /// <summary>
        /// Absolute folders the configuration writes to besides the history (the auto-export's exportPath, the alerts'
        /// dead-letter file's folder): each becomes a ReadWritePaths= entry (prefixed '-', so a folder that does not exist
        /// yet does not stop the unit), since ProtectSystem=strict makes everything else read-only. Null or empty for none.
        /// </summary>
        public IList<string> WritableFolders { get; set; }
    }

    /// <summary>
    /// The systemd unit of the always-on service mode (<c>cmon --service</c>), as text: a pure function of
    /// <see cref="SystemdUnitOptions"/>. The unit runs with the least privilege measured to be enough:
    /// listing another user's <c>/proc/&lt;pid&gt;/fd</c> needs CAP_DAC_READ_SEARCH, reading its entries
    /// (socket inodes) and <c>/proc/&lt;pid&gt;/exe</c> needs CAP_SYS_PTRACE, the SYN capture of port-scan
    /// detection needs CAP_NET_RAW; the sock_diag dump and tcp_info byte counters need nothing.
    /// </summary>
    public static class SystemdUnit
    {
        /// <summary>
        /// Why the unit's service cannot see <paramref name="path"/>, or null when it can: under /home, /root or /run/user
        /// (ProtectHome=yes hides them) or under /tmp or /var/tmp (PrivateTmp=yes gives the service empty ones of its own).
        /// </summary>
        public static string HiddenFromService(string path)
        {
            if (string.IsNullOrEmpty(path)) return null;
            string p = path.Replace('\\', '/');
            foreach (var dir in new[] { "/home", "/root", "/run/user" })
                if (p == dir || p.StartsWith(dir + "/", StringComparison.Ordinal)) return "it is under " + dir + ", which the unit hides from the service (ProtectHome=yes)";
            foreach (var dir in new[] { "/tmp", "/var/tmp" })
                if (p == dir || p.StartsWith(dir + "/", StringComparison.Ordinal)) return "it is under " + dir + ", and the service has a " + dir + " of its own (PrivateTmp=yes)";
            return null;
        }

        /// <summary>The default unit name.</summary>
        public const string DefaultName = "connectionsmonitor";

        /// <summary>The state directory (StateDirectory=, under /var/lib) that holds the history.</summary>
        public const string StateDirectoryName = "connectionsmonitor";

        /// <summary>Where the service writes its history unless told otherwise.</summary>
        public const string DefaultHistoryPath = "/var/lib/" + StateDirectoryName + "/history.db";

        /// <summary>Where units written by the administrator go.</summary>
        public const string DefaultUnitDirectory = "/etc/systemd/system";

        /// <summary>
        /// The unit file's text. Throws <see cref="ArgumentException"/> naming the option when a value cannot
        /// be used: a missing or relative path, a control character (newline, tab …) in any value, a bad unit
        /// or user name.
        /// </summary>
        public static string Render(SystemdUnitOptions options)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            CheckName(options.Name);
            string host = CheckAbsolutePath("the path of cmon", options.HostPath, required: true);
            string config = CheckAbsolutePath("the configuration path", options.ConfigPath, required: false);
            string history = CheckAbsolutePath("the history path", options.HistoryPath, required: false);
            if (options.User != null) CheckUser(options.User);

            var exec = new List<string> { host, "--service" };
            if (config != null) { exec.Add("--config"); exec.Add(config); }
            // Only a history file given explicitly goes on the command line: without --history the service takes the
            // configuration's history.path, else DefaultHistoryPath (an explicit default would override history.path).
            if (history != null) { exec.Add("--history"); exec.Add(history); }

            var caps = new List<string> { "CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE" };
            if (options.PacketCapture) caps.Add("CAP_NET_RAW");

            var u = new StringBuilder();
            void L(string line) => u.Append(line).Append('\n');
            L("# Written by the ConnectionsMonitor module's service installer; its uninstaller removes it.");
            L("# Reinstall rather than edit, or put changes in a drop-in (systemctl edit " + options.Name + ").");
            L("[Unit]");
            L("Description=ConnectionsMonitor: connection history and alert rules");
            L("After=network.target");
            L("");
            L("[Service]");
            L("Type=simple");
            L("ExecStart=" + QuoteExecutable(host) + " " + string.Join(" ", exec.GetRange(1, exec.Count - 1).ConvertAll(QuoteArgument)));
            L("# Exit status 2 is a usage or configuration error (the journal says which): restarting cannot help.");
            L("Restart=on-failure");
            L("RestartSec=5");
            L("RestartPreventExitStatus=2");
            L("# SIGTERM stops it cleanly: the recorder writes its last sample and closes the history.");
            L("KillSignal=SIGTERM");
            L("TimeoutStopSec=30");
            L("# Warnings and errors go to stderr with sd-daemon priority prefixes (<6> info, <4> warning, <3> error).");
            L("StandardError=journal");
            L("SyslogIdentifier=" + options.Name);
            L("");
            L("# Least privilege. Measured on Linux 6.x: the sock_diag dump of the connection table and the tcp_info");
            L("# byte counters need no capability. To name the process of another user's socket the service lists");
            L("# /proc/<pid>/fd (needs CAP_DAC_READ_SEARCH) and reads its entries and /proc/<pid>/exe (needs");
            L("# CAP_SYS_PTRACE; nothing is traced). CAP_NET_RAW is only for the port-scan rule's SYN capture");
            L("# (alerts.conditions.portScan); without it that rule watches the socket table instead.");
            if (options.User == null)
            {
                L("DynamicUser=yes");
            }
            else
            {
                L("User=" + options.User);
            }
            L("AmbientCapabilities=" + string.Join(" ", caps));
            L("CapabilityBoundingSet=" + string.Join(" ", caps));
            L("NoNewPrivileges=yes");
            L("# The history lives in /var/lib/" + StateDirectoryName + " (with DynamicUser only root can read it).");
            L("StateDirectory=" + StateDirectoryName);
            L("StateDirectoryMode=0750");
            L("UMask=0027");
            L("# Undeliverable webhook messages (alerts.deadLetterPath's default) go to the state directory too.");
            L("Environment=XDG_DATA_HOME=/var/lib/" + StateDirectoryName);
            if (history != null && !history.StartsWith("/var/lib/" + StateDirectoryName + "/", StringComparison.Ordinal))
                L("ReadWritePaths=" + Quote(System.IO.Path.GetDirectoryName(history).Replace('\\', '/'), dollar: false));
            if (options.WritableFolders != null)
                foreach (var folder in options.WritableFolders)
                {
                    string f = CheckAbsolutePath("a folder the configuration writes to", folder, required: true).TrimEnd('/');
                    if (f.Length == 0 || f == "/var/lib/" + StateDirectoryName || f.StartsWith("/var/lib/" + StateDirectoryName + "/", StringComparison.Ordinal)) continue;
                    L("ReadWritePaths=" + Quote("-" + f, dollar: false)); // "-": ignored while the folder does not exist
                }
            L("ProtectSystem=strict");
            L("ProtectHome=yes");
            L("PrivateTmp=yes");
            L("PrivateDevices=yes");
            L("ProtectKernelTunables=yes");
            L("ProtectKernelModules=yes");
            L("ProtectKernelLogs=yes");
            L("ProtectControlGroups=yes");
            L("ProtectClock=yes");
            L("ProtectHostname=yes");
            L("RestrictNamespaces=yes");
            L("RestrictRealtime=yes");
            L("RestrictSUIDSGID=yes");
            L("LockPersonality=yes");
            L("SystemCallArchitectures=native");
            L("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK" + (options.PacketCapture ? " AF_PACKET" : ""));
            L("# Not set, on purpose: PrivateNetwork (the service must see the host's connections), ProtectProc=invisible");
            L("# and ProcSubset=pid (it must see every process), PrivateUsers (capabilities would not reach the host),");
            L("# MemoryDenyWriteExecute (.NET compiles code at run time).");
            L("");
            L("[Install]");
            L("WantedBy=multi-user.target");
            return u.ToString();
        }

        /// <summary>
        /// One ExecStart= word in systemd's syntax: double-quoted, with backslash and double quote escaped,
        /// '%' doubled (specifiers) and '$' doubled (variable expansion), so the program gets the value as
        /// it is. Throws <see cref="ArgumentException"/> for control characters, which a unit line cannot carry safely.
        /// </summary>
        public static string QuoteArgument(string value)
        {
            if (value == null) throw new ArgumentNullException(nameof(value));
            RefuseControl("argument", value);
            return Quote(value, dollar: true);
        }

        /// <summary>
        /// ExecStart='s program path: double-quoted with '%' doubled. systemd takes '$' literally there (no variable
        /// expansion in the program's name) and refuses a program name with a quote or a backslash, so those
        /// are refused here with <see cref="ArgumentException"/>, as are control characters.
        /// </summary>
        public static string QuoteExecutable(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            RefuseControl("the path of cmon", path);
            int bad = path.IndexOfAny(new[] { '"', '\'', '\\' });
            if (bad >= 0)
                throw new ArgumentException("The path of cmon '" + path + "' has the character " + path[bad] + ", which systemd refuses in a program's path; expected a path without quotes or backslashes (for example /opt/connectionsmonitor/cmon).", "the path of cmon");
            return Quote(path, dollar: false);
        }

        private static string Quote(string value, bool dollar)
        {
            var b = new StringBuilder(value.Length + 2).Append('"');
            foreach (char c in value)
            {
                switch (c)
                {
                    case '\\': b.Append("\\\\"); break;
                    case '"': b.Append("\\\""); break;
                    case '%': b.Append("%%"); break;
                    case '$': b.Append(dollar ? "$$" : "$"); break;
                    default: b.Append(c); break;
                }
            }
            return b.Append('"').ToString();
        }

        /// <summary>The unit file's name for a unit name: "connectionsmonitor" → "connectionsmonitor.service".</summary>
        public static string FileName(string name)
        {
            CheckName(name);
            return name + ".service";
        }

        /// <summary>Throws <see cref="ArgumentException"/> unless the name is 1–200 letters, digits, ':', '_', '.' or '-' (no template '@', no ".service").</summary>
        public static void CheckName(string name)
        {
            if (string.IsNullOrEmpty(name))
                throw new ArgumentException("The unit name is empty; expected letters, digits, ':', '_', '.' or '-', for example 'connectionsmonitor'.", "Name");
            if (name.Length > 200)
                throw new ArgumentException("The unit name is " + name.Length.ToString(CultureInfo.InvariantCulture) + " characters long; expected at most 200.", "Name");
            foreach (char c in name)
                if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '.' || c == '-'))
                    throw new ArgumentException("The unit name '" + Printable(name) + "' has the character " + Describe(c) + "; expected letters, digits, ':', '_', '.' or '-', for example 'connectionsmonitor'.", "Name");
            if (name.EndsWith(".service", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException("The unit name '" + Printable(name) + "' ends with '.service'; expected the name without it, for example 'connectionsmonitor'.", "Name");
        }

        /// <summary>
        /// Whether <paramref name="user"/> is an account of this machine (getpwnam(3): /etc/passwd and whatever else NSS
        /// consults). Linux only; elsewhere true (nothing to ask). A unit naming a missing account passes
        /// <c>systemd-analyze verify</c> and fails only when the service starts, so installing refuses it.
        /// </summary>
        public static bool AccountExists(string user)
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)) return true;
            return Platform.Linux.LinuxNative.getpwnam(user) != IntPtr.Zero;
        }

        private static void CheckUser(string user)
        {
            // systemd's "strict" user names: [a-zA-Z_][a-zA-Z0-9_-]*, at most 31 characters.
            bool ok = user.Length > 0 && user.Length <= 31 && (char.IsLetter(user[0]) && user[0] < 128 || user[0] == '_');
            foreach (char c in user) ok &= c < 128 && (char.IsLetterOrDigit(c) || c == '_' || c == '-');
            if (!ok)
                throw new ArgumentException("The user name '" + Printable(user) + "' cannot be used; expected an existing account name of letters, digits, '_' and '-' starting with a letter or '_' (at most 31 characters).", "User");
        }

        private static string CheckAbsolutePath(string what, string path, bool required)
        {
            if (string.IsNullOrEmpty(path))
            {
                if (required) throw new ArgumentException(Capital(what) + " is missing; expected an absolute path such as /opt/connectionsmonitor/cmon.", what);
                return null;
            }
            RefuseControl(what, path);
            if (!path.StartsWith("/", StringComparison.Ordinal))
                throw new ArgumentException(Capital(what) + " '" + path + "' is not an absolute path; the service starts in /, so expected a path beginning with '/'.", what);
            return path;
        }

        private static void RefuseControl(string what, string value)
        {
            foreach (char c in value)
                if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029')
                    throw new ArgumentException(Capital(what) + " '" + Printable(value) + "' has the control character " + Describe(c) +
                                                "; a systemd unit line cannot carry it. Expected a value without newlines, tabs or other control characters.", what);
        }

        private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1);

        private static string Describe(char c) => "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);

        private static string Printable(string s)
        {
            var b = new StringBuilder(s.Length);
            foreach (char c in s) b.Append(c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029' ? '?' : c);
            return b.ToString();
        }
    }
}
