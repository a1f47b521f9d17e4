using System;

namespace ConnectionsMonitor
{
    /// <summary>
    /// One alert rule as Get-ConnectionAlert (and Register-ConnectionAlert -PassThru) writes it: flat
    /// primitives only, so it survives Export-Csv, ConvertTo-Json and remoting. Webhooks appear only
    /// redacted (kind, scheme and host): the URL is a secret.
    /// </summary>
    public class ConnectionAlertInfo
    {
        public string Name { get; set; }
        /// <summary>The condition kinds, comma-separated ("MaxConnections, MaxBandwidth").</summary>
        public string Kind { get; set; }
        /// <summary>The conditions in one line each, joined by "; " ("RemotePort 3389,23; PortScan 6 ports/10s").</summary>
        public string Conditions { get; set; }
        /// <summary>The filter as parameters ("-ProcessName nginx -Protocol TCP"); null for all connections.</summary>
        public string Filter { get; set; }
        /// <summary>The webhooks, redacted ("Discord https://discord.com/…"), joined by ", "; null when the rule has none.</summary>
        public string Targets { get; set; }
        public string SourceIdentifier { get; set; }
        public bool HasAction { get; set; }
        /// <summary>"config" for rules from config.yml, "cmdlet" for Register-ConnectionAlert.</summary>
        public string Origin { get; set; }
        /// <summary>Alerts raised (not tests).</summary>
        public long Fired { get; set; }
        /// <summary>When the rule last raised an alert (local time); null if never.</summary>
        public DateTime? LastFired { get; set; }
        /// <summary>Level conditions that are on now.</summary>
        public int Active { get; set; }
        public long Delivered { get; set; }
        public long Failed { get; set; }
        public long Dropped { get; set; }
        public long Pending { get; set; }
        /// <summary>The latest delivery failure, target redacted.</summary>
        public string LastError { get; set; }
        /// <summary>Failures of the rule's -Action script block.</summary>
        public long ActionErrors { get; set; }
        public string LastActionError { get; set; }

        public override string ToString() => Name;
    }

    /// <summary>
    /// One alert as PowerShell events carry it (SourceArgs[0] and MessageData of -SourceIdentifier
    /// events; the first argument of -Action). Flat, with the first item's endpoint and process
    /// copied to the top for convenience.
    /// </summary>
    public class ConnectionAlertEvent
    {
        public string Id { get; set; }
        public string RuleName { get; set; }
        public string Kind { get; set; }
        /// <summary>Firing, Repeating, Resolved or Test.</summary>
        public string Status { get; set; }
        /// <summary>Local time of the sample that showed it.</summary>
        public DateTime TimeStamp { get; set; }
        /// <summary>One line of plain text; control characters in it are shown as visible symbols (␛, ␊), never as themselves.</summary>
        public string Message { get; set; }
        /// <summary>For levels per process: whose level; for scans: the scanning address.</summary>
        public string Subject { get; set; }
        public double? Value { get; set; }
        public double? Threshold { get; set; }
        public int ItemCount { get; set; }
        public ConnectionAlertItem[] Items { get; set; }
        public string RemoteAddress { get; set; }
        public int? RemotePort { get; set; }
        public int? LocalPort { get; set; }
        public int? ProcessId { get; set; }
        public string ProcessName { get; set; }
        public string HostName { get; set; }

        public override string ToString() => Message;
    }

    /// <summary>One connection, listener or remote address an alert is about.</summary>
    public class ConnectionAlertItem
    {
        public string Protocol { get; set; }
        public string LocalAddress { get; set; }
        public int? LocalPort { get; set; }
        public string RemoteAddress { get; set; }
        public int? RemotePort { get; set; }
        public string State { get; set; }
        public int? ProcessId { get; set; }
        public string ProcessName { get; set; }
        public string ProcessPath { get; set; }
        public string RemoteHostName { get; set; }
        public string Country { get; set; }
        public long? Asn { get; set; }
        public string AsnOrganization { get; set; }
        public string Detail { get; set; }

        public override string ToString() =>
            (Protocol != null ? Protocol + " " : "") + DisplayFormat.Endpoint(LocalAddress, LocalPort) +
            (RemoteAddress != null ? " -> " + DisplayFormat.Endpoint(RemoteAddress, RemotePort) : "") +
            (ProcessId != null ? " (" + (ProcessName ?? "?") + " " + ProcessId + ")" : "") +
            (Detail != null ? " " + Detail : "");
    }

    /// <summary>What Test-ConnectionAlert got from one webhook.</summary>
    public class ConnectionAlertTestResult
    {
        public string Rule { get; set; }
        /// <summary>The webhook, redacted.</summary>
        public string Target { get; set; }
        public bool Delivered { get; set; }
        public int? StatusCode { get; set; }
        public int Attempts { get; set; }
        /// <summary>Why it failed (no URL in it); null when delivered.</summary>
        public string Error { get; set; }
    }
}
