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
                    return _engine ?? (_engine = new MonitorEngine(PlatformServices.CreateForCurrentOS()));
                }
            }
        }

        internal static void Shutdown()
        {
            lock (Gate)
            {
                _engine?.Dispose();
                _engine = null;
            }
        }

        internal static MonitoredConnection ToPowerShell(ConnectionRecord r, DateTime snapshotUtc)
        {
            var age = r.GetAge(snapshotUtc);
            return new MonitoredConnection
            {
                Protocol = r.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP",
                LocalAddress = AddressPattern.FormatAddress(r.LocalAddress),
                LocalPort = r.LocalPort,
                RemoteAddress = AddressPattern.FormatAddress(r.RemoteAddress),
                RemotePort = r.RemotePort,
                State = r.State?.ToString(),
                ProcessId = r.ProcessId,
                ProcessName = r.ProcessName,
                ProcessPath = r.ProcessPath,
                UserName = r.UserName,
                CreationTime = r.CreationTime?.ToLocalTime(),
                Age = age,
                RemoteHostName = r.RemoteHostName,
                Country = r.Country,
                CountryName = r.CountryName,
                Asn = r.Asn,
                AsnOrganization = r.AsnOrganization,
                AddressScope = r.AddressScope,
                IsVpn = r.IsVpn,
                VpnReason = r.VpnReason,
                Flags = r.Flags,
                BytesSent = r.BytesSent,
                BytesReceived = r.BytesReceived,
                SendRate = r.SendRate,
                ReceiveRate = r.ReceiveRate,
            };
        }

        /// <summary>Names of processes that own connections right now, for tab completion.</summary>
        internal static IEnumerable<string> CurrentProcessNames()
        {
            var snapshot = Engine.TakeSnapshot();
            return snapshot.Connections.Select(c => c.ProcessName).Where(n => !string.IsNullOrEmpty(n))
                .Distinct(StringComparer.OrdinalIgnoreCase).OrderBy(n => n, StringComparer.OrdinalIgnoreCase);
        }

        internal static bool TryValidateAddressPattern(string text, out string error) =>
            AddressPattern.TryParse(text, out _, out error);
    }
}
