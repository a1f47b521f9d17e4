using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Reflection;
using ConnectionsMonitor.Engine.Model;
using Xunit;

namespace ConnectionsMonitor.Tests.Model
{
    /// <summary>
    /// The row types store nullable numbers as bare values with a has-value bit each, and the remote end's details in a
    /// side object made only for a value: every settable property must still read back what was set, null included, and
    /// setting one must leave every other as it was (a shared bit or field would not). The cmdlets' MonitoredConnection and
    /// ConnectionEvent, which store theirs the same way, are checked in a real pwsh (tests/Pester/GetMonitoredConnection.Tests.ps1).
    /// </summary>
    public class RowStorageTests
    {
        public static IEnumerable<object[]> RowTypes() => new[]
        {
            new object[] { typeof(SocketEntry) },
            new object[] { typeof(ConnectionRecord) },
        };

        [Theory]
        [MemberData(nameof(RowTypes))]
        public void EveryPropertyReadsBackWhatWasSetAndLeavesTheOthersAlone(Type type)
        {
            var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0).ToArray();
            Assert.NotEmpty(properties);
            var row = Activator.CreateInstance(type);
            var expected = properties.ToDictionary(p => p, p => p.GetValue(row));
            foreach (var p in properties)
            {
                foreach (var value in Samples(p.PropertyType))
                {
                    p.SetValue(row, value);
                    expected[p] = value;
                    foreach (var q in properties) Assert.True(Equals(expected[q], q.GetValue(row)), $"{type.Name}.{q.Name} after setting {p.Name} = {value ?? "null"}: {q.GetValue(row) ?? "null"}, expected {expected[q] ?? "null"}");
                }
            }
            // Everything set to its last sample: now null again, one by one, where null is allowed.
            foreach (var p in properties.Where(p => !p.PropertyType.IsValueType || Nullable.GetUnderlyingType(p.PropertyType) != null))
            {
                p.SetValue(row, null);
                expected[p] = null;
                foreach (var q in properties) Assert.True(Equals(expected[q], q.GetValue(row)), $"{type.Name}.{q.Name} after clearing {p.Name}");
            }
        }

        [Fact]
        public void ACopiedRecordSharesNoRemoteDetailsWithItsOriginal()
        {
            var original = new ConnectionRecord { Country = "NL", Asn = 1136, BytesSent = 5 };
            var copy = original.Copy();
            copy.Country = "DE";
            copy.Asn = null;
            copy.BytesSent = 6;
            Assert.Equal("NL", original.Country);
            Assert.Equal(1136L, original.Asn);
            Assert.Equal(5L, original.BytesSent);
            Assert.Equal("DE", copy.Country);
            Assert.Null(copy.Asn);
        }

        // A value other than the type's default, then a second one, then (where allowed) null.
        private static IEnumerable<object> Samples(Type t)
        {
            var u = Nullable.GetUnderlyingType(t) ?? t;
            if (u == typeof(string)) return new object[] { "a", "b", null };
            if (u == typeof(IPAddress)) return new object[] { IPAddress.Parse("192.0.2.1"), IPAddress.IPv6Loopback, null };
            if (u == typeof(bool)) return WithNull(t, true, false);
            if (u == typeof(int)) return WithNull(t, 7, -3);
            if (u == typeof(uint)) return WithNull(t, 7u, uint.MaxValue);
            if (u == typeof(long)) return WithNull(t, 7L, long.MaxValue);
            if (u == typeof(ulong)) return WithNull(t, 7UL, ulong.MaxValue);
            if (u == typeof(double)) return WithNull(t, 1.5, -2.25);
            if (u == typeof(DateTime)) return WithNull(t, new DateTime(2026, 12, 2, 1, 2, 3, DateTimeKind.Utc), DateTime.MinValue);
            if (u == typeof(ConnectionKey)) return new object[] { ConnectionKey.Of(new SocketEntry { Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, LocalPort = 1, Inode = 9 }) };
            if (u.IsEnum) { var values = Enum.GetValues(u).Cast<object>().ToArray(); return WithNull(t, values[values.Length - 1], values[0]); }
            throw new InvalidOperationException("no samples for " + t);
        }

        private static IEnumerable<object> WithNull(Type t, object a, object b) =>
            System.Nullable.GetUnderlyingType(t) != null ? new[] { a, b, null } : new[] { a, b };
    }
}
