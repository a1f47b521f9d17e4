using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Traffic;
using EngineEvent = ConnectionsMonitor.Engine.Tracking.ConnectionEvent;
using EngineTalker = ConnectionsMonitor.Engine.Traffic.TopTalker;

namespace ConnectionsMonitor.Session
{
    /// <summary>
    /// The one place where engine results become the objects cmdlets write: flat, primitive-typed
    /// properties (strings, numbers, booleans, DateTime) so they survive Export-Csv, ConvertTo-Json
    /// and remoting unchanged. Cmdlet classes keep engine types out of their public signatures.
    /// </summary>
    internal static partial class OutputMapper
    {
        /// <summary>
        /// Text from outside the module (process names and paths, user names, host names, GeoIP and baseline text) as the
        /// objects cmdlets write carry it: <see cref="UntrustedText.ForCsvCell"/>, so neither a terminal (ToString, a
        /// Format-Table of chosen properties, Group-Object) nor a spreadsheet opening an Export-Csv file acts on it —
        /// controls shown as ␛ ␀ &lt;U+202E&gt;, a leading = + - @ prefixed with '. Names of ordinary programs, paths and hosts
        /// never start with those characters or carry controls, so they are unchanged; ProcessId is the exact handle.
        /// Null stays null.
        /// </summary>
        internal static string Outside(string text) => text == null ? null : UntrustedText.ForCsvCell(text);

        /// <summary>
        /// Maps many records of one read: rows share addresses and first-sighting times, so their
        /// text and local times are made once per batch rather than once per row (10,000 rows of a
        /// snapshot are mostly the same few addresses and one first-sighting time).
        /// </summary>
        internal sealed class Batch
        {
            private static readonly string[] StateNames = Names();
            private readonly Dictionary<System.Net.IPAddress, string> _addresses = new Dictionary<System.Net.IPAddress, string>();
            private readonly Dictionary<DateTime, DateTime> _localTimes = new Dictionary<DateTime, DateTime>();
            // Outside text made safe once per string instance: a process's name, path and user are the same strings in every
            // row of its connections (one ProcessInfo), so 10,000 rows need a few hundred scans, not 30,000.
            private readonly Dictionary<string, string> _outside = new Dictionary<string, string>(SameInstance.Comparer);

            internal MonitoredConnection ToConnection(ConnectionRecord r, DateTime snapshotUtc) => Fill(new MonitoredConnection(), r, snapshotUtc);

            internal ConnectionEvent ToEvent(EngineEvent e)
            {
                var result = Fill(new ConnectionEvent(), e.Connection, e.TimeStampUtc);
                result.ChangeType = e.Change.ToString();
                result.TimeStamp = Local(e.TimeStampUtc);
                result.PreviousState = State(e.PreviousState);
                result.BetweenSamples = e.BetweenSamples;
                result.FinalCounters = e.FinalCounters;
                return result;
            }

            internal T Fill<T>(T target, ConnectionRecord r, DateTime snapshotUtc) where T : MonitoredConnection
            {
                target.Protocol = r.Protocol == TransportProtocol.Tcp ? "TCP" : "UDP";
                target.LocalAddress = Text(r.LocalAddress);
                target.LocalPort = r.LocalPort;
                target.RemoteAddress = Text(r.RemoteAddress);
                target.RemotePort = r.RemotePort;
                target.State = State(r.State);
                target.ProcessId = r.ProcessId;
                target.ProcessName = Safe(r.ProcessName);
                target.ProcessPath = Safe(r.ProcessPath);
                target.UserName = Safe(r.UserName);
                target.CreationTime = r.CreationTime == null ? (DateTime?)null : Local(r.CreationTime.Value);
                target.FirstSeen = r.FirstSeenUtc == null ? (DateTime?)null : Local(r.FirstSeenUtc.Value);
                var age = r.GetAge(snapshotUtc);
                target.AgeSeconds = age == null ? (long?)null : (long)Math.Floor(age.Value.TotalSeconds);
                target.AgeIsLowerBound = age == null ? (bool?)null : r.AgeIsLowerBound;
                target.RemoteHostName = Outside(r.RemoteHostName);
                target.Country = r.Country;
                target.CountryName = Outside(r.CountryName);
                target.City = Outside(r.City);
                target.Latitude = r.Latitude;
                target.Longitude = r.Longitude;
                target.Asn = r.Asn;
                target.AsnOrganization = Outside(r.AsnOrganization);
                target.AddressScope = r.AddressScope;
                target.IsVpn = r.IsVpn;
                target.VpnReason = Outside(r.VpnReason);
                target.Flags = r.Flags;
                target.BytesSent = r.BytesSent;
                target.BytesReceived = r.BytesReceived;
                target.SendRate = r.SendRate;
                target.ReceiveRate = r.ReceiveRate;
                return target;
            }

            private string Safe(string text)
            {
                if (text == null) return null;
                if (!_outside.TryGetValue(text, out var safe))
                {
                    if (_outside.Count > 4096) _outside.Clear();
                    _outside[text] = safe = Outside(text);
                }
                return safe;
            }

            private sealed class SameInstance : IEqualityComparer<string>
            {
                internal static readonly SameInstance Comparer = new SameInstance();
                public bool Equals(string a, string b) => ReferenceEquals(a, b);
                public int GetHashCode(string s) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(s);
            }

            private string Text(System.Net.IPAddress address)
            {
                if (address == null) return null;
                if (!_addresses.TryGetValue(address, out var text))
                {
                    if (_addresses.Count > 4096) _addresses.Clear(); // many distinct peers: keep the cache small
                    _addresses[address] = text = AddressPattern.FormatAddress(address);
                }
                return text;
            }

            private DateTime Local(DateTime utc)
            {
                if (!_localTimes.TryGetValue(utc, out var local))
                {
                    if (_localTimes.Count > 4096) _localTimes.Clear();
                    _localTimes[utc] = local = utc.ToLocalTime();
                }
                return local;
            }

            private static string State(TcpState? state)
            {
                if (state == null) return null;
                int i = (int)state.Value;
                return i >= 0 && i < StateNames.Length && StateNames[i] != null ? StateNames[i] : state.Value.ToString();
            }

            private static string[] Names()
            {
                var names = new string[16];
                foreach (TcpState s in Enum.GetValues(typeof(TcpState))) names[(int)s] = s.ToString();
                return names;
            }
        }

        internal static TopTalker ToTalker(EngineTalker t, double? durationSeconds) => new TopTalker
        {
            Rank = t.Rank,
            Name = Outside(t.Name),
            GroupBy = t.GroupBy.ToString(),
            ProcessId = t.ProcessIds.Count == 1 ? t.ProcessIds[0] : (int?)null,
            ProcessIds = string.Join(", ", t.ProcessIds),
            Connections = t.Connections,
            BytesSent = t.BytesSent,
            BytesReceived = t.BytesReceived,
            SendRate = t.SendRate,
            ReceiveRate = t.ReceiveRate,
            Share = t.Share,
            DurationSeconds = durationSeconds,
        };

        internal static ConnectionStatistic ToStatistic(ConnectionStatistics s)
        {
            int State(TcpState state) => s.ByState.TryGetValue(state, out int n) ? n : 0;
            return new ConnectionStatistic
            {
                TimeStamp = s.TimeStampUtc.ToLocalTime(),
                Tcp = s.Tcp,
                Udp = s.Udp,
                Total = s.Total,
                Established = State(TcpState.Established),
                Listen = State(TcpState.Listen),
                SynSent = State(TcpState.SynSent),
                SynReceived = State(TcpState.SynReceived),
                FinWait1 = State(TcpState.FinWait1),
                FinWait2 = State(TcpState.FinWait2),
                CloseWait = State(TcpState.CloseWait),
                Closing = State(TcpState.Closing),
                LastAck = State(TcpState.LastAck),
                TimeWait = State(TcpState.TimeWait),
                Closed = State(TcpState.Closed),
                DeleteTcb = State(TcpState.DeleteTcb),
                ListeningTcpPorts = string.Join(", ", s.ListeningTcpPorts),
                ListeningUdpPorts = string.Join(", ", s.ListeningUdpPorts),
                DistinctRemoteAddresses = s.DistinctRemoteAddresses,
                DistinctCountries = s.DistinctCountries,
                BytesSent = s.BytesSent,
                BytesReceived = s.BytesReceived,
                SendRate = s.SendRate,
                ReceiveRate = s.ReceiveRate,
                SampleSeconds = s.SampleDuration?.TotalSeconds,
            };
        }

        internal static GeoDatabaseInfo ToGeoDatabaseInfo(Engine.Enrichment.Geo.GeoDownloadResult r) => new GeoDatabaseInfo
        {
            Database = r.Kind.ToString(),
            Path = r.Path,
            Source = r.Source.ToString(),
            DatabaseType = r.DatabaseType,
            BuildDate = r.BuildDateUtc,
            SizeBytes = r.SizeBytes,
            Sha256 = r.Sha256,
        };
    }
}
