using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;

namespace ConnectionsMonitor
{
    /// <summary>
    /// The only place where cmdlets meet engine types. Cmdlet classes keep engine types out of their
    /// signatures so PowerShell can inspect them before the module's resolver has loaded the engine.
    /// Holds one engine per session, so caches (socket owners, process details) are shared by every
    /// cmdlet call.
    /// </summary>
    internal static class EngineBridge
    {
        private static readonly object Gate = new object();
        private static MonitorEngine _engine;

        internal static MonitorEngine Engine
        {
            get
            {
                lock (Gate)
                {
                    return _engine ?? (_engine = new MonitorEngine(PlatformServices.CreateForCurrentOS(), BundledGeoDirectory()));
                }
            }
        }

        /// <summary>The module's GeoIP folder: beside the manifest, one level above this edition's folder (core/ or desktop/).</summary>
        private static string BundledGeoDirectory()
        {
            string edition = System.IO.Path.GetDirectoryName(typeof(EngineBridge).Assembly.Location);
            return string.IsNullOrEmpty(edition) ? null : System.IO.Path.GetFullPath(System.IO.Path.Combine(edition, "..", "GeoIP"));
        }

        internal static void Shutdown()
        {
            lock (Gate)
            {
                _engine?.Dispose();
                _engine = null;
            }
        }

        internal static MonitoredConnection ToPowerShell(ConnectionRecord r, DateTime snapshotUtc) =>
            Fill(new MonitoredConnection(), r, snapshotUtc);

        internal static ConnectionEvent ToPowerShell(Engine.Tracking.ConnectionEvent e)
        {
            var result = Fill(new ConnectionEvent(), e.Connection, e.TimeStampUtc);
            result.ChangeType = e.Change.ToString();
            result.TimeStamp = e.TimeStampUtc.ToLocalTime();
            result.PreviousState = e.PreviousState?.ToString();
            return result;
        }

        private static T Fill<T>(T target, ConnectionRecord r, DateTime snapshotUtc) where T : MonitoredConnection
        {
            target.Protocol = r.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP";
            target.LocalAddress = AddressPattern.FormatAddress(r.LocalAddress);
            target.LocalPort = r.LocalPort;
            target.RemoteAddress = AddressPattern.FormatAddress(r.RemoteAddress);
            target.RemotePort = r.RemotePort;
            target.State = r.State?.ToString();
            target.ProcessId = r.ProcessId;
            target.ProcessName = r.ProcessName;
            target.ProcessPath = r.ProcessPath;
            target.UserName = r.UserName;
            target.CreationTime = r.CreationTime?.ToLocalTime();
            target.Age = r.GetAge(snapshotUtc);
            target.RemoteHostName = r.RemoteHostName;
            target.Country = r.Country;
            target.CountryName = r.CountryName;
            target.City = r.City;
            target.Latitude = r.Latitude;
            target.Longitude = r.Longitude;
            target.Asn = r.Asn;
            target.AsnOrganization = r.AsnOrganization;
            target.AddressScope = r.AddressScope;
            target.IsVpn = r.IsVpn;
            target.VpnReason = r.VpnReason;
            target.Flags = r.Flags;
            target.BytesSent = r.BytesSent;
            target.BytesReceived = r.BytesReceived;
            target.SendRate = r.SendRate;
            target.ReceiveRate = r.ReceiveRate;
            return target;
        }

        internal static GeoDatabaseInfo ToPowerShell(Engine.Enrichment.Geo.GeoDownloadResult r) => new GeoDatabaseInfo
        {
            Database = r.Kind.ToString(),
            Path = r.Path,
            Source = r.Source.ToString(),
            DatabaseType = r.DatabaseType,
            BuildDate = r.BuildDateUtc,
            SizeBytes = r.SizeBytes,
            Sha256 = r.Sha256,
        };

        /// <summary>Names of processes that own connections right now, for tab completion.</summary>
        internal static IEnumerable<string> CurrentProcessNames()
        {
            var snapshot = Engine.TakeSnapshot();
            return snapshot.Connections.Select(c => c.ProcessName).Where(n => !string.IsNullOrEmpty(n))
                .Distinct(StringComparer.OrdinalIgnoreCase).OrderBy(n => n, StringComparer.OrdinalIgnoreCase);
        }

        /// <summary>Country codes (and names) of the current connections, for tab completion.</summary>
        internal static IEnumerable<KeyValuePair<string, string>> CurrentCountries()
        {
            var snapshot = Engine.TakeSnapshot();
            return snapshot.Connections.Where(c => c.Country != null)
                .GroupBy(c => c.Country, StringComparer.OrdinalIgnoreCase)
                .Select(g => new KeyValuePair<string, string>(g.Key, g.First().CountryName))
                .OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase);
        }

        internal static bool TryValidateAddressPattern(string text, out string error) =>
            AddressPattern.TryParse(text, out _, out error);
    }
}
