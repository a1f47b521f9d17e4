using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment.Dns;
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

        /// <summary>Public rows whose geo fields are filled together (see GeoLocator.Lookup(IPAddress[], …)).</summary>
        private const int GeoGroup = 64;

        /// <summary>Scope, geo and VPN for every record; problems (a database that does not open …) go to <paramref name="warnings"/>.</summary>
        public void Classify(IReadOnlyList<ConnectionRecord> records, EnrichmentOptions options, ICollection<string> warnings)
        {
            // One pass: each row's scope, and public rows gathered in groups whose geo fields are
            // filled while their rows are still in the processor's cache.
            ConnectionRecord[] group = null;
            IPAddress[] addresses = null;
            GeoInfo[] answers = null;
            int grouped = 0;
            for (int i = 0; i < records.Count; i++)
            {
                var r = records[i];
                // No remote end at all (a UDP socket with no peer): no scope, as its RemoteAddress is null. The unspecified
                // address (0.0.0.0, ::) that a listener reports is a value, classified as Unspecified.
                var scope = AddressScopes.Classify(r.RemoteAddress);
                r.AddressScope = r.RemoteAddress == null ? null : ScopeNames[(int)scope];
                if (scope != AddressScope.Public || options.Geo == null) continue;
                if (group == null)
                {
                    // The databases (18 MB as shipped) are opened only when a public address needs them: a
                    // snapshot of loopback and private connections reads none of them.
                    foreach (var problem in _geo.Refresh(options.Geo)) Add(warnings, problem);
                    group = new ConnectionRecord[GeoGroup];
                    addresses = new IPAddress[GeoGroup];
                    answers = new GeoInfo[GeoGroup];
                }
                group[grouped] = r;
                addresses[grouped] = r.RemoteAddress;
                if (++grouped == GeoGroup)
                {
                    FillGeo(group, addresses, answers, grouped);
                    grouped = 0;
                }
            }
            if (grouped > 0) FillGeo(group, addresses, answers, grouped);
            if (options.Vpn != null)
            {
                var vpn = VpnFor(options.Vpn);
                vpn.Apply(records);
                if (vpn.InterfaceWarning != null) Add(warnings, vpn.InterfaceWarning);
            }
        }

        /// <summary>The geo fields of the first <paramref name="count"/> rows of <paramref name="group"/>, whose remote addresses are in <paramref name="addresses"/>.</summary>
        private void FillGeo(ConnectionRecord[] group, IPAddress[] addresses, GeoInfo[] answers, int count)
        {
            _geo.Lookup(addresses, count, answers);
            for (int i = 0; i < count; i++)
            {
                var r = group[i];
                var info = answers[i];
                r.Country = info.Country;
                r.CountryName = info.CountryName;
                r.City = info.City;
                r.Latitude = info.Latitude;
                r.Longitude = info.Longitude;
                r.Asn = info.Asn;
                r.AsnOrganization = info.AsnOrganization;
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

        /// <summary>
        /// Host names for the records that are kept: public remote addresses (and private, link-local
        /// and loopback ones when dns.resolvePrivate is set). Waits at most dns.snapshotDeadlineMs;
        /// names that come later are filled by a later snapshot. Call after Classify (it reads AddressScope).
        /// </summary>
        public void Resolve(IReadOnlyList<ConnectionRecord> records, EnrichmentOptions options, ICollection<string> warnings)
        {
            var dns = options.Dns;
            if (dns == null || records.Count == 0) return;
            var addresses = new HashSet<IPAddress>();
            foreach (var r in records)
                if (r.RemoteAddress != null && ShouldResolve(r.AddressScope, dns.ResolvePrivate)) addresses.Add(r.RemoteAddress);
            if (addresses.Count == 0) return;
            var names = ResolverFor(dns).Resolve(addresses, TimeSpan.FromMilliseconds(dns.SnapshotDeadlineMs));
            foreach (var r in records)
                if (r.RemoteAddress != null && names.TryGetValue(r.RemoteAddress, out string name)) r.RemoteHostName = name;
        }

        private static bool ShouldResolve(string scope, bool includePrivate)
        {
            if (scope == ScopeNames[(int)AddressScope.Public]) return true;
            return includePrivate && (scope == ScopeNames[(int)AddressScope.Private] || scope == ScopeNames[(int)AddressScope.LinkLocal] ||
                                      scope == ScopeNames[(int)AddressScope.Loopback]);
        }

        /// <summary>One resolver (and so one cache) per DNS setting; changed settings start a new one.</summary>
        private ReverseDnsResolver ResolverFor(DnsConfig config)
        {
            var wanted = ReverseDnsOptions.From(config);
            lock (_gate)
            {
                if (_dns == null || !_dns.Options.Equals(wanted))
                {
                    _dns?.Dispose();
                    _dns = new ReverseDnsResolver(wanted);
                }
                return _dns;
            }
        }

        private ReverseDnsResolver _dns;

        private static void Add(ICollection<string> warnings, string warning)
        {
            if (!warnings.Contains(warning)) warnings.Add(warning);
        }

        public void Dispose()
        {
            lock (_gate) _dns?.Dispose();
            _geo.Dispose();
        }
    }
}
