using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using ConnectionsMonitor.Engine.Model;

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

        public ConnectionEnricher(string bundledGeoDirectory)
        {
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
        }

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
