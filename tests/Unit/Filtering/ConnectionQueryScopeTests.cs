using System.Linq;
using System.Net;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using Xunit;

namespace ConnectionsMonitor.Tests.Filtering
{
    /// <summary>The one query type, down to the platform: which tables a query makes the platform read.</summary>
    public class ConnectionQueryScopeTests
    {
        [Fact]
        public void AStateFilterReadsNoUdpTableAndAProtocolFilterOnlyItsOwn()
        {
            var states = new ConnectionQuery { States = new[] { TcpState.Listen } };
            Assert.True(states.Reads(TransportProtocol.Tcp));
            Assert.False(states.Reads(TransportProtocol.Udp)); // UDP rows have no state: they could never match
            var udp = new ConnectionQuery { Protocols = new[] { TransportProtocol.Udp } };
            Assert.False(udp.Reads(TransportProtocol.Tcp));
            Assert.True(udp.Reads(TransportProtocol.Udp));
            var v6 = new ConnectionQuery { AddressFamilies = new[] { AddressFamily.InterNetworkV6 } };
            Assert.False(v6.Reads(AddressFamily.InterNetwork));
            Assert.True(v6.Reads(AddressFamily.InterNetworkV6));
        }

        [Fact]
        public void TheReadScopeOfSeveralQueriesIsWhatAllCanMatch()
        {
            var scope = ConnectionQuery.ReadScope(new[]
            {
                new ConnectionQuery { States = new[] { TcpState.Established } },
                new ConnectionQuery { AddressFamilies = new[] { AddressFamily.InterNetwork } },
                new ConnectionQuery { ResolveOwners = false },
            });
            Assert.Equal(new[] { TransportProtocol.Tcp }, scope.Protocols);
            Assert.Equal(new[] { AddressFamily.InterNetwork }, scope.AddressFamilies);
            Assert.True(scope.ResolveOwners); // two of the three need owners

            var nothing = ConnectionQuery.ReadScope(new[]
            {
                new ConnectionQuery { Protocols = new[] { TransportProtocol.Udp } },
                new ConnectionQuery { States = new[] { TcpState.Listen } },
            });
            Assert.False(nothing.Reads(TransportProtocol.Tcp) && nothing.Reads(AddressFamily.InterNetwork));
            Assert.False(nothing.Reads(TransportProtocol.Udp));
            Assert.False(nothing.Reads(AddressFamily.InterNetwork) || nothing.Reads(AddressFamily.InterNetworkV6));

            var all = ConnectionQuery.ReadScope(new ConnectionQuery[0]);
            Assert.True(all.Reads(TransportProtocol.Tcp) && all.Reads(TransportProtocol.Udp));
            Assert.True(all.Reads(AddressFamily.InterNetwork) && all.Reads(AddressFamily.InterNetworkV6));
            Assert.True(all.ResolveOwners);
            Assert.False(all.IncludeBoundSockets);
            Assert.False(scope.IncludeBoundSockets);
        }

        [Fact]
        public void BoundSocketsAreReadOnlyForAQueryThatNamesTheClosedStateOrAsksForThem()
        {
            Assert.True(ConnectionQuery.ReadScope(new[] { new ConnectionQuery { States = new[] { TcpState.Listen, TcpState.Closed } } }).IncludeBoundSockets);
            Assert.True(ConnectionQuery.ReadScope(new[] { new ConnectionQuery(), new ConnectionQuery { IncludeBoundSockets = true } }).IncludeBoundSockets);
            Assert.False(ConnectionQuery.ReadScope(new[] { new ConnectionQuery { States = new[] { TcpState.Listen, TcpState.TimeWait } } }).IncludeBoundSockets);
            Assert.False(ConnectionQuery.ReadScope(new[] { new ConnectionQuery { ProcessIds = new[] { 1 } } }).IncludeBoundSockets);
        }

        [Fact]
        public void AnAddressFamilyFilterKeepsRowsByTheirLocalAddress()
        {
            var v4 = new ConnectionQuery { AddressFamilies = new[] { AddressFamily.InterNetwork } };
            var row4 = new SocketEntry { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, LocalPort = 1 };
            var mapped = new SocketEntry { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Parse("::ffff:127.0.0.1"), LocalPort = 1 };
            Assert.True(v4.MatchesRow(row4));
            Assert.False(v4.MatchesRow(mapped)); // an IPv4-mapped socket lives in the kernel's IPv6 table
        }

        [Fact]
        public void ThePlatformReadsOnlyTheTablesTheQueryCanMatch()
        {
            const string script = @"
samples:
  - t: 0
    rows:
      - { protocol: TCP, local: 127.0.0.1, localPort: 80, remote: 0.0.0.0, remotePort: 0, state: Listen }
      - { protocol: TCP, local: '::1', localPort: 81, remote: '::', remotePort: 0, state: Listen }
      - { protocol: UDP, local: 127.0.0.1, localPort: 53 }
";
            var platform = ReplayPlatform.Parse(script);
            var rows = platform.Connections.Read(new ConnectionQuery { AddressFamilies = new[] { AddressFamily.InterNetworkV6 }, States = new[] { TcpState.Listen } }).Entries;
            Assert.Equal(new[] { 81 }, rows.Select(r => r.LocalPort).ToArray());
        }
    }
}
