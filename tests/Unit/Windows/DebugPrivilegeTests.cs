using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Windows
{
    /// <summary>
    /// Issue #11 (Windows first run): UserName of services and other users' processes stays empty, even
    /// elevated, unless SeDebugPrivilege is enabled. The TOKEN_PRIVILEGES layouts and the decision are
    /// tested here with byte-exact buffers; the calls themselves run under Wine (tests/Windows).
    /// </summary>
    public class DebugPrivilegeTests
    {
        private static DebugPrivilegeOutcome Outcome(string name) => (DebugPrivilegeOutcome)Enum.Parse(typeof(DebugPrivilegeOutcome), name);

        private const long SeDebugLuid = 20; // its LUID on Windows is { LowPart = 20, HighPart = 0 }

        /// <summary>A TOKEN_PRIVILEGES as GetTokenInformation(TokenPrivileges) writes it: count, then LUID (low, high) and attributes per entry.</summary>
        private static byte[] TokenPrivileges(params (uint low, int high, uint attributes)[] entries)
        {
            var bytes = new List<byte>();
            bytes.AddRange(BitConverter.GetBytes((uint)entries.Length));
            foreach (var (low, high, attributes) in entries)
            {
                bytes.AddRange(BitConverter.GetBytes(low));
                bytes.AddRange(BitConverter.GetBytes(high));
                bytes.AddRange(BitConverter.GetBytes(attributes));
            }
            return bytes.ToArray();
        }

        [Fact]
        public void The_privilege_is_found_among_others_with_its_attributes()
        {
            var buffer = TokenPrivileges((23, 0, 3), (20, 0, 0), (19, 0, 2));
            Assert.Equal(40, buffer.Length);
            Assert.Equal(0u, DebugPrivilege.FindAttributes(buffer, SeDebugLuid));
            Assert.Equal(3u, DebugPrivilege.FindAttributes(buffer, 23));
            Assert.Null(DebugPrivilege.FindAttributes(buffer, 17));
        }

        [Fact]
        public void The_high_part_of_the_luid_counts()
        {
            var buffer = TokenPrivileges((20, 1, 2));
            Assert.Null(DebugPrivilege.FindAttributes(buffer, SeDebugLuid));
            Assert.Equal(2u, DebugPrivilege.FindAttributes(buffer, (1L << 32) | 20));
        }

        [Fact]
        public void A_count_beyond_the_buffer_is_a_format_error_not_a_read_past_it()
        {
            var buffer = TokenPrivileges((20, 0, 2));
            buffer[0] = 2;
            Assert.Throws<FormatException>(() => DebugPrivilege.FindAttributes(buffer, SeDebugLuid));
            Assert.Throws<FormatException>(() => DebugPrivilege.FindAttributes(new byte[3], SeDebugLuid));
            Assert.Null(DebugPrivilege.FindAttributes(TokenPrivileges(), SeDebugLuid)); // an empty list is fine
        }

        [Fact]
        public void The_enable_request_is_a_16_byte_token_privileges_with_se_privilege_enabled()
        {
            Assert.Equal(new byte[] { 1, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0 }, DebugPrivilege.EnableRequest(SeDebugLuid));
            Assert.Equal(new byte[] { 1, 0, 0, 0, 0x78, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 0, 0 },
                DebugPrivilege.EnableRequest(unchecked((long)0xFFFFFFFF_12345678UL)));
        }

        [Theory]
        [InlineData(false, 0u, "NotElevated")]   // filtered token: never try
        [InlineData(false, null, "NotElevated")]
        [InlineData(true, null, "NotHeld")]      // "Debug programs" removed by policy
        [InlineData(true, 2u, "AlreadyEnabled")]
        [InlineData(true, 3u, "AlreadyEnabled")]
        public void The_decision_follows_elevation_and_the_attributes(bool elevated, uint? attributes, string expected)
        {
            Assert.Equal(Outcome(expected), DebugPrivilege.Decide(elevated, attributes));
        }

        [Theory]
        [InlineData(0u)]
        [InlineData(1u)] // enabled by default, but not enabled now
        public void Elevated_holding_it_disabled_means_adjust(uint attributes)
        {
            Assert.Null(DebugPrivilege.Decide(true, attributes));
        }

        [Theory]
        [InlineData("NotElevated", "Administrator")]
        [InlineData("NotHeld", "does not hold SeDebugPrivilege")]
        [InlineData("Failed", "AdjustTokenPrivileges: error 1300")]
        public void Each_failure_has_one_warning_saying_usernames_are_null_and_why(string outcome, string why)
        {
            string warning = DebugPrivilege.UserNameWarning(Outcome(outcome), "AdjustTokenPrivileges: error 1300");
            Assert.StartsWith("UserName is null for services and other users' processes", warning);
            Assert.Contains(why, warning);
        }

        [Theory]
        [InlineData("Enabled")]
        [InlineData("AlreadyEnabled")]
        public void An_enabled_privilege_has_no_warning(string outcome)
        {
            Assert.Null(DebugPrivilege.UserNameWarning(Outcome(outcome), null));
        }

        private static uint OneListener(IpHelperTableLayout layout, byte[] buffer, ref uint size)
        {
            byte[] table = layout == IpHelperTableLayout.TcpV4Module
                ? NativeTable.Build(8, new MIB_TCPROW_OWNER_MODULE { dwState = 2, dwLocalAddr = NativeTable.V4("127.0.0.1"), dwLocalPort = NativeTable.Port(8080), dwOwningPid = 100 })
                : new byte[4];
            return NativeTable.Answer(table, buffer, ref size);
        }

        [Fact]
        public void The_catalogue_checks_the_privilege_once_and_before_its_first_lookup()
        {
            int checks = 0;
            var catalog = new WindowsProcessCatalog(() => { checks++; return "UserName is null for services and other users' processes: test."; });
            Assert.Equal(0, checks); // constructing opens nothing and enables nothing
            Assert.Empty(catalog.Lookup(new int[0]));
            Assert.Equal(0, checks);
            Assert.Equal("UserName is null for services and other users' processes: test.", catalog.UserNameLimitation);
            Assert.Equal("UserName is null for services and other users' processes: test.", catalog.UserNameLimitation);
            Assert.Equal(1, checks);
        }

        [Fact]
        public void A_read_that_resolves_owners_carries_the_username_warning_and_one_that_does_not_stays_quiet()
        {
            string limitation = "UserName is null for services and other users' processes: test.";
            var table = new WindowsConnectionTable(4096, OneListener, null, () => limitation);
            Assert.Equal(limitation, Assert.Single(table.Read(new ConnectionQuery()).Warnings));
            Assert.Empty(table.Read(new ConnectionQuery { ResolveOwners = false }).Warnings);
            limitation = null;
            Assert.Empty(table.Read(new ConnectionQuery()).Warnings);
        }
    }
}
