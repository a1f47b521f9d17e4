using System;
using System.Diagnostics;
using System.Runtime.Versioning;
using System.ServiceProcess;
using System.Threading;
using ConnectionsMonitor.Engine.Service;

namespace ConnectionsMonitor.Host
{
    /// <summary>
    /// cmon --service started by the Windows service manager: ServiceBase (System.ServiceProcess.ServiceController, which
    /// PowerShell's SDK brings already) answers the manager, OnStart runs the <see cref="ServiceRunner"/> on a thread of
    /// its own and OnStop stops it cleanly. Its log is the Application event log, source "ConnectionsMonitor".
    /// Compiled on every build; it runs only on Windows and is not exercised by the Linux tests.
    /// </summary>
    [SupportedOSPlatform("windows")]
    internal sealed class WindowsServiceHost : ServiceBase
    {
        private readonly ServiceMode.Arguments _arguments;
        private readonly ManualResetEventSlim _stop = new ManualResetEventSlim(false);
        private Thread _thread;
        private int _exitCode;

        private WindowsServiceHost(ServiceMode.Arguments arguments)
        {
            _arguments = arguments;
            ServiceName = WindowsServiceSetup.DefaultName;
            CanStop = true;
            CanShutdown = true;
            AutoLog = false; // our own entries say more than "service started"
        }

        /// <summary>Hands the process to the service manager until the service stops; returns the exit status.</summary>
        internal static int RunAsService(ServiceMode.Arguments arguments)
        {
            using var service = new WindowsServiceHost(arguments);
            Run(service);
            return service._exitCode;
        }

        protected override void OnStart(string[] args)
        {
            var log = new EventLogServiceLog(EventLog);
            _thread = new Thread(() =>
            {
                _exitCode = ServiceMode.RunUntil(_arguments, log, _stop.WaitHandle);
                if (_exitCode != 0)
                {
                    ExitCode = _exitCode; // the manager's failure actions (sc.exe failure) restart it
                    base.Stop();
                }
            }) { Name = "cmon-winsvc" };
            _thread.Start();
        }

        protected override void OnStop() => StopRunner();

        protected override void OnShutdown() => StopRunner();

        private void StopRunner()
        {
            _stop.Set();
            if (_thread != null && _thread != Thread.CurrentThread) _thread.Join(TimeSpan.FromSeconds(25));
        }

        /// <summary>Writes the service's log to the Application event log (creating the source when the account may).</summary>
        private sealed class EventLogServiceLog : IServiceLog
        {
            private readonly EventLog _log;

            public EventLogServiceLog(EventLog log) { _log = log; }

            public void Write(ServiceLogLevel level, string message)
            {
                var type = level == ServiceLogLevel.Error ? EventLogEntryType.Error
                    : level == ServiceLogLevel.Warning ? EventLogEntryType.Warning : EventLogEntryType.Information;
                try { _log.WriteEntry(message, type); }
                catch (Exception) { } // no event log to write to: nothing else to tell
            }
        }
    }
}
