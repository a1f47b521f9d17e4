using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>What became of the attempt to enable SeDebugPrivilege in this process's token.</summary>
    internal enum DebugPrivilegeOutcome
    {
        /// <summary>This process enabled it (AdjustTokenPrivileges succeeded without ERROR_NOT_ALL_ASSIGNED).</summary>
        Enabled,

        /// <summary>It was enabled already (a debugger, or a host that enabled it).</summary>
        AlreadyEnabled,

        /// <summary>The token is not elevated (TokenElevation.TokenIsElevated = 0): the privilege is filtered out.</summary>
        NotElevated,

        /// <summary>Elevated, but the token does not hold the privilege (the "Debug programs" user right was removed by policy).</summary>
        NotHeld,

        /// <summary>A call on the way failed (its error is in the reason).</summary>
        Failed,
    }

    /// <summary>
    /// SeDebugPrivilege for reading other processes' tokens. Without it, even an elevated process may
    /// open a service's or another user's process (PROCESS_QUERY_LIMITED_INFORMATION) but not its token
    /// (OpenProcessToken, TOKEN_QUERY: access denied), so UserName stays unknown. The privilege is in an
    /// elevated administrator's token but disabled ("Privilege Constants", "Enabling and Disabling
    /// Privileges in C++" in the Win32 documentation); it is enabled once per process, before the first
    /// process is opened, and only when the token is elevated and holds it. The buffer layouts
    /// (TOKEN_PRIVILEGES) are read and written by pure functions, apart from the calls, so they are
    /// tested on any OS.
    /// </summary>
    internal static class DebugPrivilege
    {
        internal const string PrivilegeName = "SeDebugPrivilege";
        internal const uint SE_PRIVILEGE_ENABLED_BY_DEFAULT = 0x00000001;
        internal const uint SE_PRIVILEGE_ENABLED = 0x00000002;

        /// <summary>sizeof(LUID_AND_ATTRIBUTES): LUID { DWORD LowPart; LONG HighPart; } then DWORD Attributes.</summary>
        internal const int LuidAndAttributesSize = 12;

        private static readonly object Gate = new object();
        private static DebugPrivilegeOutcome? s_outcome;
        private static string s_reason;

        /// <summary>
        /// Enables the privilege the first time it is called in this process (later calls return the
        /// first outcome). <paramref name="reason"/> is null when the privilege is enabled, else why
        /// not, worded for the user. Never throws.
        /// </summary>
        internal static DebugPrivilegeOutcome EnsureEnabled(out string reason)
        {
            lock (Gate)
            {
                if (s_outcome == null)
                {
                    string r;
                    DebugPrivilegeOutcome o;
                    try
                    {
                        o = EnableInThisProcess(out r);
                    }
                    catch (Exception ex) when (ex is DllNotFoundException || ex is EntryPointNotFoundException
                                               || ex is SEHException || ex is BadImageFormatException)
                    {
                        o = DebugPrivilegeOutcome.Failed;
                        r = "the token API could not be called (" + ex.GetType().Name + ")";
                    }
                    s_outcome = o;
                    s_reason = o == DebugPrivilegeOutcome.Enabled || o == DebugPrivilegeOutcome.AlreadyEnabled ? null : r;
                }
                reason = s_reason;
                return s_outcome.Value;
            }
        }

        /// <summary>
        /// The one warning that goes with an outcome: null when the privilege is enabled, else that
        /// UserName is null for services and other users' processes, and why.
        /// </summary>
        internal static string UserNameWarning(DebugPrivilegeOutcome outcome, string reason)
        {
            switch (outcome)
            {
                case DebugPrivilegeOutcome.Enabled:
                case DebugPrivilegeOutcome.AlreadyEnabled:
                    return null;
                case DebugPrivilegeOutcome.NotElevated:
                    return "UserName is null for services and other users' processes: their tokens can be read only " +
                           "from an elevated session (run PowerShell as Administrator).";
                case DebugPrivilegeOutcome.NotHeld:
                    return "UserName is null for services and other users' processes: this elevated session's token " +
                           "does not hold SeDebugPrivilege (the \"Debug programs\" user right), which reading their tokens needs.";
                default:
                    return "UserName is null for services and other users' processes: SeDebugPrivilege could not be enabled ("
                           + (reason ?? "unknown error") + ").";
            }
        }

        /// <summary>
        /// What to do given the token's elevation and the privilege's attributes in it (null: not held).
        /// Returns null when AdjustTokenPrivileges should be called.
        /// </summary>
        internal static DebugPrivilegeOutcome? Decide(bool elevated, uint? attributes)
        {
            if (!elevated) return DebugPrivilegeOutcome.NotElevated;
            if (attributes == null) return DebugPrivilegeOutcome.NotHeld;
            if ((attributes.Value & SE_PRIVILEGE_ENABLED) != 0) return DebugPrivilegeOutcome.AlreadyEnabled;
            return null;
        }

        /// <summary>
        /// Finds a privilege in a TOKEN_PRIVILEGES buffer (GetTokenInformation, TokenPrivileges):
        /// DWORD PrivilegeCount, then PrivilegeCount LUID_AND_ATTRIBUTES of 12 bytes each. Returns its
        /// attributes, or null when absent. A count that overruns the buffer is a format error.
        /// </summary>
        internal static uint? FindAttributes(ReadOnlySpan<byte> tokenPrivileges, long luid)
        {
            if (tokenPrivileges.Length < 4) throw new FormatException("TOKEN_PRIVILEGES is shorter than its count.");
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(tokenPrivileges);
            if ((ulong)count * LuidAndAttributesSize > (ulong)(tokenPrivileges.Length - 4))
                throw new FormatException(string.Format(CultureInfo.InvariantCulture,
                    "TOKEN_PRIVILEGES claims {0} privileges but holds room for {1}.", count, (tokenPrivileges.Length - 4) / LuidAndAttributesSize));
            for (int i = 0; i < count; i++)
            {
                var entry = tokenPrivileges.Slice(4 + i * LuidAndAttributesSize, LuidAndAttributesSize);
                long low = BinaryPrimitives.ReadUInt32LittleEndian(entry);
                long high = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice(4));
                if (((high << 32) | low) == luid) return BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(8));
            }
            return null;
        }

        /// <summary>The TOKEN_PRIVILEGES that AdjustTokenPrivileges takes to enable one privilege (16 bytes).</summary>
        internal static byte[] EnableRequest(long luid)
        {
            var buffer = new byte[4 + LuidAndAttributesSize];
            BinaryPrimitives.WriteUInt32LittleEndian(buffer, 1);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(4), (uint)(luid & 0xFFFFFFFF));
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(8), (int)(luid >> 32));
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(12), SE_PRIVILEGE_ENABLED);
            return buffer;
        }

        private static DebugPrivilegeOutcome EnableInThisProcess(out string reason)
        {
            reason = null;
            if (!Interop.Advapi32.OpenProcessToken(Interop.Kernel32.GetCurrentProcess(),
                    Interop.Advapi32.TOKEN_QUERY | Interop.Advapi32.TOKEN_ADJUST_PRIVILEGES, out SafeKernelHandle token))
            {
                int error = Marshal.GetLastWin32Error();
                token.Dispose();
                reason = "OpenProcessToken: " + Describe(error);
                return DebugPrivilegeOutcome.Failed;
            }

            using (token)
            {
                if (!TryReadElevation(token, out bool elevated, out reason)) return DebugPrivilegeOutcome.Failed;
                if (!Interop.Advapi32.LookupPrivilegeValueW(null, PrivilegeName, out long luid))
                {
                    reason = "LookupPrivilegeValue: " + Describe(Marshal.GetLastWin32Error());
                    return DebugPrivilegeOutcome.Failed;
                }
                if (!TryReadPrivileges(token, out byte[] privileges, out reason)) return DebugPrivilegeOutcome.Failed;

                uint? attributes;
                try
                {
                    attributes = FindAttributes(privileges, luid);
                }
                catch (FormatException ex)
                {
                    reason = ex.Message;
                    return DebugPrivilegeOutcome.Failed;
                }
                DebugPrivilegeOutcome? decided = Decide(elevated, attributes);
                if (decided != null) return decided.Value;

                byte[] request = EnableRequest(luid);
                bool ok = Interop.Advapi32.AdjustTokenPrivileges(token, false, request, 0, IntPtr.Zero, IntPtr.Zero);
                // AdjustTokenPrivileges succeeds even when it assigned nothing; only the last error tells.
                int adjustError = Marshal.GetLastWin32Error();
                if (!ok || adjustError == Interop.Errors.ERROR_NOT_ALL_ASSIGNED)
                {
                    reason = "AdjustTokenPrivileges: " + Describe(ok ? Interop.Errors.ERROR_NOT_ALL_ASSIGNED : adjustError);
                    return DebugPrivilegeOutcome.Failed;
                }
                return DebugPrivilegeOutcome.Enabled;
            }
        }

        private static bool TryReadElevation(SafeKernelHandle token, out bool elevated, out string reason)
        {
            elevated = false;
            reason = null;
            // TOKEN_ELEVATION is one DWORD, TokenIsElevated.
            if (!Interop.Advapi32.GetTokenInformation(token, Interop.Advapi32.TokenElevation, out int isElevated, sizeof(int), out _))
            {
                reason = "GetTokenInformation(TokenElevation): " + Describe(Marshal.GetLastWin32Error());
                return false;
            }
            elevated = isElevated != 0;
            return true;
        }

        private static bool TryReadPrivileges(SafeKernelHandle token, out byte[] privileges, out string reason)
        {
            privileges = null;
            reason = null;
            Interop.Advapi32.GetTokenInformation(token, Interop.Advapi32.TokenPrivileges, null, 0, out int needed);
            if (needed <= 0)
            {
                reason = "GetTokenInformation(TokenPrivileges): " + Describe(Marshal.GetLastWin32Error());
                return false;
            }
            privileges = new byte[needed];
            if (!Interop.Advapi32.GetTokenInformation(token, Interop.Advapi32.TokenPrivileges, privileges, needed, out _))
            {
                reason = "GetTokenInformation(TokenPrivileges): " + Describe(Marshal.GetLastWin32Error());
                return false;
            }
            return true;
        }

        private static string Describe(int error) =>
            string.Format(CultureInfo.InvariantCulture, "error {0}: {1}", error, new System.ComponentModel.Win32Exception(error).Message);
    }
}
