using System;

namespace ConnectionsMonitor
{
    /// <summary>
    /// What Export-ConnectionBaseline -PassThru writes: the file and how many entries of each kind it holds. Flat
    /// primitives, so it survives Export-Csv, ConvertTo-Json and remoting.
    /// </summary>
    public class ConnectionBaselineInfo
    {
        /// <summary>The baseline file's full path.</summary>
        public string Path { get; set; }
        /// <summary>The computer the baseline describes.</summary>
        public string HostName { get; set; }
        /// <summary>When the baseline was taken (local time).</summary>
        public DateTime Created { get; set; }
        /// <summary>The file's format version.</summary>
        public int FormatVersion { get; set; }
        /// <summary>Listener entries (protocol, local address and port, process).</summary>
        public int Listeners { get; set; }
        /// <summary>Outbound entries (process, remote service port, address scope, ASN, country).</summary>
        public int Outbound { get; set; }
        /// <summary>VPN entries (process, the detector's reason).</summary>
        public int Vpn { get; set; }
    }

    /// <summary>
    /// One difference Compare-ConnectionBaseline found: an entry Added since the baseline or Removed from it, with the
    /// fields that identify it, flat (Export-Csv and ConvertTo-Json write them as they are). Which fields identify an
    /// entry depends on Kind: Listener — Protocol, LocalAddress, LocalPort, ProcessName, ProcessPath; Outbound —
    /// Protocol, ProcessName, ProcessPath, RemotePort, AddressScope, Asn, Country; Vpn — ProcessName, ProcessPath,
    /// VpnReason. The other fields are null.
    /// </summary>
    public class ConnectionBaselineDifference
    {
        /// <summary>Added (present now, not in the baseline) or Removed (in the baseline, not present now).</summary>
        public string Change { get; set; }
        /// <summary>Listener, Outbound or Vpn.</summary>
        public string Kind { get; set; }
        /// <summary>TCP or UDP; null for Vpn entries.</summary>
        public string Protocol { get; set; }
        /// <summary>Listener: the local address it listens on.</summary>
        public string LocalAddress { get; set; }
        /// <summary>Listener: the port it listens on.</summary>
        public int? LocalPort { get; set; }
        /// <summary>The owning process's name, or null when unknown.</summary>
        public string ProcessName { get; set; }
        /// <summary>The owning process's executable path, or null when unknown.</summary>
        public string ProcessPath { get; set; }
        /// <summary>Outbound: the remote service port.</summary>
        public int? RemotePort { get; set; }
        /// <summary>Outbound: the remote address's scope (Public, Private, Loopback …).</summary>
        public string AddressScope { get; set; }
        /// <summary>Outbound: the remote autonomous system number, or null when unknown.</summary>
        public long? Asn { get; set; }
        /// <summary>Informational: the ASN's organization (not part of the identity).</summary>
        public string AsnOrganization { get; set; }
        /// <summary>Outbound: the remote country (ISO 3166-1 alpha-2), or null when unknown.</summary>
        public string Country { get; set; }
        /// <summary>Vpn: the VPN detector's reason.</summary>
        public string VpnReason { get; set; }
        /// <summary>Added entries of a live comparison: the lowest process id among the connections behind the entry; else null.</summary>
        public int? ProcessId { get; set; }
        /// <summary>The computer of the side the entry comes from (the baseline's host for Removed, this or the -DifferencePath host for Added).</summary>
        public string HostName { get; set; }
    }
}
