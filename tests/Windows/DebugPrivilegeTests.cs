using System;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.WindowsTests
{
    /// <summary>
    /// SeDebugPrivilege against the real token API (Windows, or Wine's advapi32): the outcome and its
    /// reason agree, a second call changes nothing, and an outcome that says "enabled" is what a fresh
    /// read of this process's token shows.
    /// </summary>
    public sealed class DebugPrivilegeTests
    {
        /// <summary>The privilege's attributes in this process's token, read independently of DebugPrivilege's own path.</summary>
        private static uint? CurrentAttributes()
        {
            Assert.True(Interop.Advapi32.OpenProcessToken(Interop.Kernel32.GetCurrentProcess(), Interop.Advapi32.TOKEN_QUERY, out SafeKernelHandle token),
                "OpenProcessToken(TOKEN_QUERY) on this process failed");
            using (token)
            {
                Assert.True(Interop.Advapi32.LookupPrivilegeValueW(null, DebugPrivilege.PrivilegeName, out long luid));
                Interop.Advapi32.GetTokenInformation(token, Interop.Advapi32.TokenPrivileges, null, 0, out int needed);
                Assert.True(needed > 4, "TokenPrivileges size query returned " + needed);
                var buffer = new byte[needed];
                Assert.True(Interop.Advapi32.GetTokenInformation(token, Interop.Advapi32.TokenPrivileges, buffer, needed, out _));
                return DebugPrivilege.FindAttributes(buffer, luid);
            }
        }

        [Fact]
        public void The_attempt_is_made_once_and_its_outcome_matches_the_token()
        {
            var outcome = DebugPrivilege.EnsureEnabled(out string reason);
            var again = DebugPrivilege.EnsureEnabled(out string reasonAgain);
            Assert.Equal(outcome, again);
            Assert.Equal(reason, reasonAgain);

            bool enabled = outcome == DebugPrivilegeOutcome.Enabled || outcome == DebugPrivilegeOutcome.AlreadyEnabled;
            Assert.Equal(enabled, reason == null);
            Assert.Equal(enabled, DebugPrivilege.UserNameWarning(outcome, reason) == null);

            uint? attributes = CurrentAttributes();
            if (enabled)
            {
                Assert.NotNull(attributes);
                Assert.True((attributes.Value & DebugPrivilege.SE_PRIVILEGE_ENABLED) != 0, "said enabled, token says attributes " + attributes);
            }
            if (outcome == DebugPrivilegeOutcome.NotHeld) Assert.Null(attributes);
        }

        [Fact]
        public void A_platform_read_with_owners_warns_exactly_when_the_privilege_is_off()
        {
            var outcome = DebugPrivilege.EnsureEnabled(out string reason);
            string expected = DebugPrivilege.UserNameWarning(outcome, reason);
            using (var platform = new WindowsPlatform())
            {
                var withOwners = platform.Connections.Read(new ConnectionQuery { IncludeByteCounts = false });
                if (expected == null) Assert.DoesNotContain(withOwners.Warnings, w => w.StartsWith("UserName is null", StringComparison.Ordinal));
                else Assert.Contains(expected, withOwners.Warnings);

                var withoutOwners = platform.Connections.Read(new ConnectionQuery { ResolveOwners = false, IncludeByteCounts = false });
                Assert.DoesNotContain(withoutOwners.Warnings, w => w.StartsWith("UserName is null", StringComparison.Ordinal));
            }
        }

        private static bool ExpectWine => Environment.GetEnvironmentVariable("CONNECTIONSMONITOR_EXPECT_WINE") == "1";

        [Fact]
        public void Elevated_with_the_privilege_services_have_user_names()
        {
            Assert.SkipWhen(ExpectWine, "Wine runs every process as the one user");
            var outcome = DebugPrivilege.EnsureEnabled(out _);
            Assert.SkipUnless(outcome == DebugPrivilegeOutcome.Enabled || outcome == DebugPrivilegeOutcome.AlreadyEnabled,
                "needs an elevated session holding SeDebugPrivilege (outcome: " + outcome + ")");
            var catalog = new WindowsProcessCatalog();
            Assert.Null(catalog.UserNameLimitation);
            var svchosts = new System.Collections.Generic.List<int>();
            foreach (var pair in WindowsProcessCatalog.ReadProcessNames())
                if (string.Equals(pair.Value, "svchost", StringComparison.OrdinalIgnoreCase)) svchosts.Add(pair.Key);
            Assert.NotEmpty(svchosts);
            var infos = catalog.Lookup(svchosts);
            // Service hosts run as SYSTEM, LOCAL SERVICE or NETWORK SERVICE: never this (test) user.
            Assert.Contains(infos.Values, i => i.UserName != null && i.UserName.StartsWith("NT AUTHORITY\\", StringComparison.OrdinalIgnoreCase));
        }

        [Fact]
        public void A_read_that_does_not_ask_for_byte_counts_starts_no_etw_session()
        {
            using (var platform = new WindowsPlatform())
            {
                var result = platform.Connections.Read(new ConnectionQuery { IncludeByteCounts = false });
                // No session was tried, so no ETW warning (under Wine ETW always fails, so one would show).
                Assert.DoesNotContain(result.Warnings, w => w.Contains("ETW"));
                Assert.All(result.Entries, e => Assert.Null(e.BytesSent));
            }
        }
    }
}
