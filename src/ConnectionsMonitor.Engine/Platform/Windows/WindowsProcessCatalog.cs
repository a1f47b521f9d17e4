using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// Process names, paths, users and start times on Windows. Names for every PID come from one
    /// toolhelp snapshot per lookup; path and user cost a handle each, so they are cached per
    /// (PID, start time) and re-read only when the PID has been reused.
    /// </summary>
    /// <remarks>
    /// UserName comes from the process's token (OpenProcessToken, TOKEN_QUERY; GetTokenInformation,
    /// TokenUser; LookupAccountSid) as "DOMAIN\user". Reading the token of a service or of another user's
    /// process needs SeDebugPrivilege enabled, which this catalogue does once per process before it first
    /// opens a process, when the token is elevated and holds it (<see cref="DebugPrivilege"/>). Where the
    /// token cannot be read, UserName is null, and <see cref="UserNameLimitation"/> says why.
    /// </remarks>
    public sealed class WindowsProcessCatalog : IProcessCatalog
    {
        private readonly Func<string> _privilegeCheck;

        /// <summary>The catalogue of this machine's processes (enables SeDebugPrivilege where it can, once).</summary>
        public WindowsProcessCatalog() : this(CheckDebugPrivilege)
        {
        }

        /// <param name="privilegeCheck">Runs before the first process is opened; returns <see cref="UserNameLimitation"/>.</param>
        internal WindowsProcessCatalog(Func<string> privilegeCheck)
        {
            _privilegeCheck = privilegeCheck ?? throw new ArgumentNullException(nameof(privilegeCheck));
        }

        private static string CheckDebugPrivilege()
        {
            var outcome = DebugPrivilege.EnsureEnabled(out string reason);
            return DebugPrivilege.UserNameWarning(outcome, reason);
        }

        private readonly object _privilegeGate = new object();
        private bool _privilegeChecked;
        private string _userNameLimitation;

        /// <summary>
        /// Null when the tokens of services and other users' processes can be read (SeDebugPrivilege is
        /// enabled); otherwise one sentence saying that their UserName is null and why (not elevated, the
        /// privilege not held, or the call that failed). The first use enables the privilege if it can.
        /// </summary>
        public string UserNameLimitation
        {
            get
            {
                lock (_privilegeGate)
                {
                    if (!_privilegeChecked)
                    {
                        _userNameLimitation = _privilegeCheck();
                        _privilegeChecked = true;
                    }
                    return _userNameLimitation;
                }
            }
        }

        private const int IdlePid = 0;
        private const int SystemPid = 4;

        private readonly object _gate = new object();
        private readonly Dictionary<int, ProcessInfo> _cache = new Dictionary<int, ProcessInfo>();

        public IReadOnlyDictionary<int, ProcessInfo> Lookup(IReadOnlyCollection<int> processIds)
        {
            if (processIds == null) throw new ArgumentNullException(nameof(processIds));
            var result = new Dictionary<int, ProcessInfo>();
            if (processIds.Count == 0) return result;

            // Before any process is opened: the privilege decides whose tokens can be read.
            _ = UserNameLimitation;
            Dictionary<int, string> names = ReadProcessNames();
            lock (_gate)
            {
                // Forget processes that are gone, so the cache does not outgrow the live process list.
                var gone = new List<int>();
                foreach (int pid in _cache.Keys)
                    if (!names.ContainsKey(pid)) gone.Add(pid);
                foreach (int pid in gone) _cache.Remove(pid);

                foreach (int pid in processIds)
                {
                    if (result.ContainsKey(pid) || !names.TryGetValue(pid, out string name)) continue;
                    ProcessInfo info = Describe(pid, name);
                    if (info != null) result[pid] = info;
                }
            }
            return result;
        }

        /// <summary>
        /// Every running process's name in one pass, as Get-Process shows it ("notepad", not "notepad.exe";
        /// PID 0 "Idle", PID 4 "System"). A snapshot that cannot be taken yields an empty map.
        /// </summary>
        internal static Dictionary<int, string> ReadProcessNames()
        {
            var names = new Dictionary<int, string>();
            using (SafeKernelHandle snapshot = Interop.Kernel32.CreateToolhelp32Snapshot(Interop.Kernel32.TH32CS_SNAPPROCESS, 0))
            {
                if (!snapshot.IsInvalid)
                {
                    var entry = new Interop.Kernel32.PROCESSENTRY32W { dwSize = Marshal.SizeOf<Interop.Kernel32.PROCESSENTRY32W>() };
                    for (bool ok = Interop.Kernel32.Process32FirstW(snapshot, ref entry); ok; ok = Interop.Kernel32.Process32NextW(snapshot, ref entry))
                        names[entry.th32ProcessID] = DisplayName(entry.szExeFile);
                }
            }
            // Toolhelp calls PID 0 "[System Process]"; Get-Process calls it Idle. (PID 4 is already "System".)
            if (names.ContainsKey(IdlePid)) names[IdlePid] = "Idle";
            return names;
        }

        internal static string DisplayName(string exeFile)
        {
            if (string.IsNullOrEmpty(exeFile)) return exeFile;
            return exeFile.EndsWith(".exe", StringComparison.OrdinalIgnoreCase)
                ? exeFile.Substring(0, exeFile.Length - 4)
                : exeFile;
        }

        /// <summary>What we can learn about one listed process; null when it exited after the snapshot.</summary>
        private ProcessInfo Describe(int pid, string name)
        {
            if (pid == IdlePid || pid == SystemPid)
                return new ProcessInfo(pid, name, null, null, null);

            using (SafeKernelHandle process = Interop.Kernel32.OpenProcess(Interop.Kernel32.PROCESS_QUERY_LIMITED_INFORMATION, false, pid))
            {
                if (process.IsInvalid)
                {
                    // ERROR_INVALID_PARAMETER: no such process any more. Otherwise (access denied to protected
                    // or other users' processes without elevation) the name is all we know.
                    return Marshal.GetLastWin32Error() == Interop.Errors.ERROR_INVALID_PARAMETER
                        ? null
                        : new ProcessInfo(pid, name, null, null, null);
                }

                if (!Interop.Kernel32.GetProcessTimes(process, out long creation, out long exit, out _, out _))
                    return new ProcessInfo(pid, name, null, null, null);
                // A handle keeps an exited process's object alive; its exit time gives it away.
                if (exit != 0) return null;
                DateTime? started = creation > 0 ? DateTime.FromFileTimeUtc(creation) : (DateTime?)null;
                // A reused PID shows a different start time (or, without one, a different name).
                if (_cache.TryGetValue(pid, out ProcessInfo cached) && cached.StartTime == started && cached.Name == name)
                    return cached;

                var info = new ProcessInfo(pid, name, ReadImagePath(process), ReadUserName(process), started);
                _cache[pid] = info;
                return info;
            }
        }

        private static string ReadImagePath(SafeKernelHandle process)
        {
            // Paths may exceed MAX_PATH; the \\?\ limit of 32767 characters is the true ceiling.
            for (int capacity = Interop.Kernel32.MAX_PATH; capacity <= 32768; capacity *= 4)
            {
                var buffer = new StringBuilder(capacity);
                int size = capacity;
                if (Interop.Kernel32.QueryFullProcessImageNameW(process, 0, buffer, ref size))
                    return buffer.ToString(0, size);
                if (Marshal.GetLastWin32Error() != Interop.Errors.ERROR_INSUFFICIENT_BUFFER) return null;
            }
            return null;
        }

        private static string ReadUserName(SafeKernelHandle process)
        {
            if (!Interop.Advapi32.OpenProcessToken(process, Interop.Advapi32.TOKEN_QUERY, out SafeKernelHandle token))
            {
                token.Dispose();
                return null;
            }

            using (token)
            {
                Interop.Advapi32.GetTokenInformation(token, Interop.Advapi32.TokenUser, IntPtr.Zero, 0, out int needed);
                if (needed <= 0) return null;
                IntPtr tokenUser = Marshal.AllocHGlobal(needed);
                try
                {
                    if (!Interop.Advapi32.GetTokenInformation(token, Interop.Advapi32.TokenUser, tokenUser, needed, out _))
                        return null;
                    // TOKEN_USER starts with SID_AND_ATTRIBUTES, whose first member is the PSID.
                    IntPtr sid = Marshal.ReadIntPtr(tokenUser);
                    return LookupAccount(sid);
                }
                finally
                {
                    Marshal.FreeHGlobal(tokenUser);
                }
            }
        }

        private static string LookupAccount(IntPtr sid)
        {
            int nameLength = 256, domainLength = 256;
            for (int attempt = 0; attempt < 2; attempt++)
            {
                var name = new StringBuilder(nameLength);
                var domain = new StringBuilder(domainLength);
                if (Interop.Advapi32.LookupAccountSidW(null, sid, name, ref nameLength, domain, ref domainLength, out _))
                    return domain.Length == 0 ? name.ToString() : domain + "\\" + name;
                // On ERROR_INSUFFICIENT_BUFFER the lengths now hold what is needed; anything else is final.
                if (Marshal.GetLastWin32Error() != Interop.Errors.ERROR_INSUFFICIENT_BUFFER) return null;
            }
            return null;
        }
    }
}
