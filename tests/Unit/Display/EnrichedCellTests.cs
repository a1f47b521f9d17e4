using System;
using System.Net;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Display;
using ConnectionsMonitor.Engine.Model;
using Xunit;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>The cells that show enrichment: Foreign with a host name, Geo with a country or a scope.</summary>
    public class EnrichedCellTests
    {
        private static ConnectionRecord Row(string remote, string hostName = null, string country = null, string scope = null) => new ConnectionRecord
        {
            Protocol = TransportProtocol.Tcp,
            LocalAddress = IPAddress.Parse("10.0.0.5"),
            LocalPort = 50000,
            RemoteAddress = IPAddress.Parse(remote),
            RemotePort = 443,
            State = TcpState.Established,
            RemoteHostName = hostName,
            Country = country,
            AddressScope = scope,
        };

        [Theory]
        [InlineData(1023, "1023B")]
        [InlineData(1024, "1.0KB")]
        [InlineData(10188, "9.9KB")]   // 9.949 KB
        [InlineData(10220, "10KB")]    // 9.98 KB: one decimal only below 10 as shown, never "10.0KB"
        [InlineData(10240, "10KB")]
        [InlineData(1047552, "1023KB")]
        [InlineData(1048064, "1.0MB")] // 1023.5 KB rounds up to the next unit, not to "1024KB"
        [InlineData(1048576, "1.0MB")]
        public void SizesShowOneDecimalOnlyBelowTenAsRounded(double bytes, string expected)
        {
            Assert.Equal(expected, TextFormat.Size(bytes));
            Assert.Equal(expected + "/s", TextFormat.Rate(bytes));
        }

        [Fact]
        public void ForeignShowsTheHostNameWhenKnown()
        {
            Assert.Equal("dns.google:443", TableLayout.CellText(ColumnNames.Foreign, Row("8.8.8.8", "dns.google"), DateTime.UtcNow));
            Assert.Equal("8.8.8.8:443", TableLayout.CellText(ColumnNames.Foreign, Row("8.8.8.8"), DateTime.UtcNow));
            Assert.Equal("[2001:db8::1]:443", TableLayout.CellText(ColumnNames.Foreign, Row("2001:db8::1"), DateTime.UtcNow));
        }

        [Fact]
        public void HostNameCannotCarryEscapes()
        {
            string cell = TableLayout.CellText(ColumnNames.Foreign, Row("8.8.8.8", "evil\u001b[2J.example"), DateTime.UtcNow);
            Assert.Equal(-1, cell.IndexOf((char)27));
            Assert.Contains("evil\u241B[2J.example", cell); // the ESC is shown, not obeyed
            Assert.EndsWith(":443", cell);
        }

        [Theory]
        [InlineData("US", "Public", "US")]
        [InlineData(null, "Private", "Private")]
        [InlineData("", "Loopback", "Loopback")] // PowerShell hands $null to string parameters as ""
        [InlineData(null, null, "")]
        public void GeoShowsTheCountryElseTheScope(string country, string scope, string expected)
        {
            Assert.Equal(expected, TextFormat.Geo(country, scope));
        }
    }
}
