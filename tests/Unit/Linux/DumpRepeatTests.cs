using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>A socket a resumed dump sent twice is one row (LinuxConnectionTable.DropRepeats).</summary>
    public class DumpRepeatTests
    {
        private static SocketEntry Row(int localPort, ulong cookie, TransportProtocol protocol = TransportProtocol.Tcp) => new SocketEntry
        {
            Protocol = protocol, LocalAddress = IPAddress.Loopback, LocalPort = localPort, RemoteAddress = IPAddress.Loopback, RemotePort = 443,
            SockDiagCookie = cookie,
        };

        [Fact]
        public void TheSecondRowOfACookieGoesAndTheOrderStays()
        {
            var rows = new List<SocketEntry> { Row(1, 10), Row(2, 11), Row(2, 11), Row(3, 12), Row(4, 0), Row(4, 0), Row(5, 13, TransportProtocol.Udp), Row(2, 11) };
            var seen = new HashSet<ulong> { 999 }; // left from an earlier read: cleared first
            LinuxConnectionTable.DropRepeats(rows, seen);
            // Rows without a cookie (/proc/net) cannot be told apart: both stay.
            Assert.Equal(new[] { 1, 2, 3, 4, 4, 5 }, rows.Select(r => r.LocalPort));
            Assert.DoesNotContain(999UL, seen);

            var unique = new List<SocketEntry> { Row(1, 1), Row(2, 2) };
            LinuxConnectionTable.DropRepeats(unique, seen);
            Assert.Equal(2, unique.Count);
        }
    }
}
