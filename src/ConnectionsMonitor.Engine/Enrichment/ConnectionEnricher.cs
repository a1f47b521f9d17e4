using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using ConnectionsMonitor.Engine.Enrichment.Vpn;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;

namespace ConnectionsMonitor.Engine.Enrichment
{
    /// <summary>
    /// Fills the enrichment fields of connection records: address scope, GeoIP (public addresses
    /// only), VPN and reverse DNS. Cheap stages run on every record before country filters; DNS
    /// runs only on the records a snapshot keeps. Owns the long-lived parts (open databases,
    /// caches) so every snapshot of a session shares them.
    /// </summary>
    internal sealed class ConnectionEnricher : IDisposable
    {
        private static readonly string[] ScopeNames = Enum.GetNames(typeof(AddressScope));

        private readonly GeoLocator _geo;
        private readonly INetworkInterfaceCatalog _interfaces;
        private readonly object _gate = new object();
        private VpnDetector _vpn;

        /// <param name="interfaces">The platform's network interfaces (null: it cannot list them; the VPN interface rule is then unknown).</param>
        /// <param name="bundledGeoDirectory">The module's GeoIP folder (null: none).</param>
        public ConnectionEnricher(INetworkInterfaceCatalog interfaces, string bundledGeoDirectory)
        {
            _interfaces = interfaces;
            _geo = new GeoLocator(bundledGeoDirectory);
        }

        public GeoLocator Geo => _geo;

        /// <summary>Scope, geo and VPN for every record; problems (a database that does not open …) go to <paramref name="warnings"/>.</summary>
        public void Classify(IReadOnlyList<ConnectionRecord> records, EnrichmentOptions options, ICollection<string> warnings)
        {
            bool geo = options.Geo != null;
            if (geo)
                foreach (var problem in _geo.Refresh(options.Geo)) Add(warnings, problem);
            foreach (var r in records)
            {
                var scope = AddressScopes.Classify(r.RemoteAddress);
                r.AddressScope = ScopeNames[(int)scope];
                if (!geo || scope != AddressScope.Public) continue;
                var info = _geo.Lookup(r.RemoteAddress);
                r.Country = info.Country;
                r.CountryName = info.CountryName;
                r.City = info.City;
                r.Latitude = info.Latitude;
                r.Longitude = info.Longitude;
                r.Asn = info.Asn;
                r.AsnOrganization = info.AsnOrganization;
            }
            if (options.Vpn != null)
            {
                var vpn = VpnFor(options.Vpn);
                vpn.Apply(records);
                if (vpn.InterfaceWarning != null) Add(warnings, vpn.InterfaceWarning);
            }
        }

        /// <summary>One detector per vpn configuration (its interface map is the costly part): a changed config gets a new one.</summary>
        private VpnDetector VpnFor(VpnConfig config)
        {
            lock (_gate)
            {
                if (_vpn == null || !ReferenceEquals(_vpnConfig, config))
                {
                    _vpn = new VpnDetector(_interfaces, config);
                    _vpnConfig = config;
                }
                return _vpn;
            }
        }

        private VpnConfig _vpnConfig;

        /// <summary>Host names for the records that are kept (bounded by the DNS deadline).</summary>
        public void Resolve(IReadOnlyList<ConnectionRecord> records, EnrichmentOptions options, ICollection<string> warnings)
        {
        }

        private static void Add(ICollection<string> warnings, string warning)
        {
            if (!warnings.Contains(warning)) warnings.Add(warning);
        }

        public void Dispose()
        {
            _geo.Dispose();
        }
    }
}
