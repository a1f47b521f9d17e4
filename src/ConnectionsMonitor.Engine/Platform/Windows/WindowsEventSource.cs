using System;
using System.Runtime.InteropServices;
using System.Text;
using ConnectionsMonitor.Engine.Alerts.Delivery;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// An event source of the Windows Event Log: its registration in the registry (<see cref="WindowsEventLogRegistration"/>;
    /// writing it needs an administrator) and the writing of entries (RegisterEventSourceW, ReportEventW,
    /// DeregisterEventSource in advapi32). Windows only: every call throws <see cref="PlatformNotSupportedException"/>
    /// elsewhere. Failures are <see cref="InvalidOperationException"/>s whose message gives the Win32 error and what it means.
    /// </summary>
    public static class WindowsEventSource
    {
        private static void RequireWindows()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                throw new PlatformNotSupportedException("The Windows Event Log exists only on Windows.");
        }

        /// <summary>True when <paramref name="source"/> is registered under <paramref name="logName"/> (its key exists; reading needs no administrator).</summary>
        public static bool IsRegistered(string logName, string source)
        {
            RequireWindows();
            int rc = Interop.EventLogApi.RegOpenKeyExW(Interop.EventLogApi.HKEY_LOCAL_MACHINE, WindowsEventLogRegistration.SourceKey(logName, source), 0, Interop.EventLogApi.KEY_READ, out IntPtr key);
            if (rc != 0) return false;
            Interop.EventLogApi.RegCloseKey(key);
            return true;
        }

        /// <summary>The EventMessageFile value of a registered source; null when the source or the value is missing.</summary>
        public static string MessageFile(string logName, string source)
        {
            RequireWindows();
            int rc = Interop.EventLogApi.RegOpenKeyExW(Interop.EventLogApi.HKEY_LOCAL_MACHINE, WindowsEventLogRegistration.SourceKey(logName, source), 0, Interop.EventLogApi.KEY_READ, out IntPtr key);
            if (rc != 0) return null;
            try
            {
                int size = 0;
                if (Interop.EventLogApi.RegQueryValueExW(key, "EventMessageFile", IntPtr.Zero, out _, null, ref size) != 0 || size <= 0) return null;
                var data = new byte[size];
                if (Interop.EventLogApi.RegQueryValueExW(key, "EventMessageFile", IntPtr.Zero, out int type, data, ref size) != 0) return null;
                if (type != Interop.EventLogApi.REG_EXPAND_SZ && type != 1) return null;
                return Encoding.Unicode.GetString(data, 0, size).TrimEnd('\0');
            }
            finally { Interop.EventLogApi.RegCloseKey(key); }
        }

        /// <summary>
        /// Registers <paramref name="source"/> under the existing log <paramref name="logName"/> (creating or updating its key);
        /// returns false when it was registered already (the values are set again either way). Needs an administrator.
        /// </summary>
        public static bool Register(string logName, string source)
        {
            RequireWindows();
            int rc = Interop.EventLogApi.RegOpenKeyExW(Interop.EventLogApi.HKEY_LOCAL_MACHINE, WindowsEventLogRegistration.LogKey(logName), 0, Interop.EventLogApi.KEY_READ, out IntPtr log);
            if (rc == Interop.EventLogApi.ERROR_FILE_NOT_FOUND)
                throw new InvalidOperationException("The event log '" + logName + "' does not exist; expected an existing log such as Application.");
            if (rc != 0) throw Failure("read the event log '" + logName + "'", rc);
            Interop.EventLogApi.RegCloseKey(log);
            rc = Interop.EventLogApi.RegCreateKeyExW(Interop.EventLogApi.HKEY_LOCAL_MACHINE, WindowsEventLogRegistration.SourceKey(logName, source), 0, null, 0,
                Interop.EventLogApi.KEY_ALL_ACCESS, IntPtr.Zero, out IntPtr key, out int disposition);
            if (rc != 0) throw Failure("register the event source '" + source + "' under the log '" + logName + "'", rc);
            try
            {
                byte[] file = Encoding.Unicode.GetBytes(WindowsEventLogRegistration.MessageFile(Environment.Is64BitOperatingSystem) + "\0");
                rc = Interop.EventLogApi.RegSetValueExW(key, "EventMessageFile", 0, Interop.EventLogApi.REG_EXPAND_SZ, file, file.Length);
                if (rc != 0) throw Failure("set EventMessageFile of the event source '" + source + "'", rc);
                byte[] types = BitConverter.GetBytes(WindowsEventLogRegistration.TypesSupported);
                rc = Interop.EventLogApi.RegSetValueExW(key, "TypesSupported", 0, Interop.EventLogApi.REG_DWORD, types, types.Length);
                if (rc != 0) throw Failure("set TypesSupported of the event source '" + source + "'", rc);
            }
            finally { Interop.EventLogApi.RegCloseKey(key); }
            return disposition == 1; // REG_CREATED_NEW_KEY
        }

        /// <summary>Removes the registration; false when there was none. Entries already written stay in the log. Needs an administrator.</summary>
        public static bool Unregister(string logName, string source)
        {
            RequireWindows();
            int rc = Interop.EventLogApi.RegDeleteKeyW(Interop.EventLogApi.HKEY_LOCAL_MACHINE, WindowsEventLogRegistration.SourceKey(logName, source));
            if (rc == Interop.EventLogApi.ERROR_FILE_NOT_FOUND) return false;
            if (rc != 0) throw Failure("remove the event source '" + source + "' from the log '" + logName + "'", rc);
            return true;
        }

        private static InvalidOperationException Failure(string what, int error) =>
            new InvalidOperationException("Could not " + what + ": " + new System.ComponentModel.Win32Exception(error).Message + " (Win32 error " + error + ")" +
                (error == Interop.EventLogApi.ERROR_ACCESS_DENIED ? "; this needs an administrator." : "."));

        /// <summary>Opens a handle for writing entries under <paramref name="source"/> (RegisterEventSourceW); an unregistered source writes to the Application log.</summary>
        internal static IntPtr Open(string source)
        {
            RequireWindows();
            IntPtr h = Interop.EventLogApi.RegisterEventSourceW(null, source);
            if (h == IntPtr.Zero)
            {
                int error = Marshal.GetLastWin32Error();
                throw Failure("open the event source '" + source + "'", error);
            }
            return h;
        }

        /// <summary>Writes one entry (ReportEventW): its type, category 0, event ID and insertion strings.</summary>
        internal static void Report(IntPtr handle, WindowsEventLogEntry entry)
        {
            var strings = new string[entry.Strings.Count];
            for (int i = 0; i < strings.Length; i++) strings[i] = entry.Strings[i];
            if (!Interop.EventLogApi.ReportEventW(handle, (ushort)entry.Type, 0, (uint)entry.EventId, IntPtr.Zero, (ushort)strings.Length, 0, strings, IntPtr.Zero))
            {
                int error = Marshal.GetLastWin32Error();
                throw Failure("write event " + entry.EventId + " to the event log", error);
            }
        }

        /// <summary>Closes a handle from <see cref="Open"/>.</summary>
        internal static void Close(IntPtr handle)
        {
            if (handle != IntPtr.Zero) Interop.EventLogApi.DeregisterEventSource(handle);
        }
    }
}
