using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>
    /// The live view's row lines of the previous frame, by connection key, so that a row whose cells would read the
    /// same is not formatted again: each refresh brings new record objects, but most connections show the same
    /// endpoints, state, owner, geo, bytes and rate as a second ago. A row is formatted again when any value a cell reads
    /// (<see cref="TableLayout.CellText"/>) differs, when its age shows a different whole second, when its colour or
    /// markers change, or when the layout changes (resize). Holds only the rows of the last frame. Not thread-safe.
    /// </summary>
    internal sealed class RowLineCache
    {
        private TableLayout _layout;
        private Dictionary<ConnectionKey, Entry> _last = new Dictionary<ConnectionKey, Entry>(ConnectionKey.Comparer);
        private Dictionary<ConnectionKey, Entry> _next = new Dictionary<ConnectionKey, Entry>(ConnectionKey.Comparer);

        /// <summary>Rows formatted since <see cref="BeginFrame"/> (the rest reused their line).</summary>
        public int Formatted { get; private set; }

        /// <summary>Starts a frame drawn with <paramref name="layout"/>; another layout than the last frame's drops every line.</summary>
        public void BeginFrame(TableLayout layout)
        {
            if (!ReferenceEquals(layout, _layout)) _last.Clear();
            _layout = layout;
            _next.Clear();
            Formatted = 0;
        }

        /// <summary>Ends the frame: its rows are what the next frame can reuse.</summary>
        public void EndFrame()
        {
            var t = _last;
            _last = _next;
            _next = t;
            _next.Clear();
        }

        /// <summary><paramref name="layout"/>.Row(<paramref name="r"/>, <paramref name="look"/>, <paramref name="nowUtc"/>), from the last frame when its cells read the same.</summary>
        public string Line(TableLayout layout, ConnectionRecord r, RowLook look, DateTime nowUtc)
        {
            var age = r.GetAge(nowUtc);
            // The age cell shows whole seconds (42s, 5m12s, 3h04m, 2d05h all follow from them).
            long ageSeconds = age == null ? -1 : age.Value.Ticks / TimeSpan.TicksPerSecond;
            if (_last.TryGetValue(r.Key, out var e) && e.Shows(r, look, ageSeconds))
            {
                _next[r.Key] = e;
                return e.Line;
            }
            string line = layout.Row(r, look, nowUtc);
            Formatted++;
            _next[r.Key] = new Entry(r, look, ageSeconds, line);
            return line;
        }

        // Every value TableLayout.CellText and RowLook.Markers read for a row, as they were when its line was made.
        private sealed class Entry
        {
            private readonly TransportProtocol _protocol;
            private readonly IPAddress _localAddress, _remoteAddress;
            private readonly int _localPort;
            private readonly int? _remotePort, _processId;
            private readonly TcpState? _state;
            private readonly string _processName, _remoteHostName, _country, _scope;
            private readonly long? _sent, _received;
            private readonly double? _rate;
            private readonly bool _lowerBound;
            private readonly long _ageSeconds;
            private readonly ConfigColor _color;
            private readonly bool _suspicious, _vpn;

            public Entry(ConnectionRecord r, RowLook look, long ageSeconds, string line)
            {
                _protocol = r.Protocol;
                _localAddress = r.LocalAddress;
                _localPort = r.LocalPort;
                _remoteAddress = r.RemoteAddress;
                _remotePort = r.RemotePort;
                _processId = r.ProcessId;
                _state = r.State;
                _processName = r.ProcessName;
                _remoteHostName = r.RemoteHostName;
                _country = r.Country;
                _scope = r.AddressScope;
                _sent = r.BytesSent;
                _received = r.BytesReceived;
                _rate = TableLayout.TotalRate(r);
                _lowerBound = r.AgeIsLowerBound;
                _ageSeconds = ageSeconds;
                _color = look.Color;
                _suspicious = look.Suspicious;
                _vpn = look.Vpn;
                Line = line;
            }

            public string Line { get; }

            public bool Shows(ConnectionRecord r, RowLook look, long ageSeconds) =>
                _ageSeconds == ageSeconds && _localPort == r.LocalPort && _remotePort == r.RemotePort && _state == r.State
                && _sent == r.BytesSent && _received == r.BytesReceived && _rate == TableLayout.TotalRate(r) && _processId == r.ProcessId && _protocol == r.Protocol
                && _lowerBound == r.AgeIsLowerBound
                && SameAddress(_localAddress, r.LocalAddress) && SameAddress(_remoteAddress, r.RemoteAddress)
                && string.Equals(_processName, r.ProcessName, StringComparison.Ordinal)
                && string.Equals(_remoteHostName, r.RemoteHostName, StringComparison.Ordinal)
                && string.Equals(_country, r.Country, StringComparison.Ordinal)
                && string.Equals(_scope, r.AddressScope, StringComparison.Ordinal)
                && _color.Equals(look.Color) && _suspicious == look.Suspicious && _vpn == look.Vpn;

            // IPAddress.Equals compares the family, the bytes and (IPv6) the scope id: everything the text shows.
            private static bool SameAddress(IPAddress a, IPAddress b) => a == null ? b == null : a.Equals(b);
        }
    }
}
