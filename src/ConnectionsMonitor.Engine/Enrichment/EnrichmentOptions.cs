using ConnectionsMonitor.Engine.Configuration;

namespace ConnectionsMonitor.Engine.Enrichment
{
    /// <summary>
    /// Which enrichment a snapshot gets. Address scope is always filled; each other stage runs when
    /// its settings are set (null: the stage is off and its fields stay null).
    /// </summary>
    public sealed class EnrichmentOptions
    {
        /// <summary>Scope only: what the benchmarks compare against.</summary>
        public static readonly EnrichmentOptions None = new EnrichmentOptions();

        /// <summary>What a snapshot gets when the caller says nothing: the built-in configuration's (GeoIP and VPN on, DNS off).</summary>
        public static readonly EnrichmentOptions Default = From(new MonitorConfig(), null);

        /// <summary>GeoIP database choice; null: no geo lookups.</summary>
        public GeoIpConfig Geo { get; set; }

        /// <summary>VPN rules; null: no VPN detection.</summary>
        public VpnConfig Vpn { get; set; }

        /// <summary>Reverse DNS settings; null: no host names.</summary>
        public DnsConfig Dns { get; set; }

        /// <summary>The stages a configuration asks for; <paramref name="resolveDns"/> (the -ResolveDns switch) overrides resolveDNS when given.</summary>
        public static EnrichmentOptions From(MonitorConfig config, bool? resolveDns)
        {
            return new EnrichmentOptions
            {
                Geo = config.GeoIp.Enabled ? config.GeoIp : null,
                Vpn = config.Vpn.Enabled ? config.Vpn : null,
                Dns = (resolveDns ?? config.ResolveDns) ? config.Dns : null,
            };
        }
    }
}
