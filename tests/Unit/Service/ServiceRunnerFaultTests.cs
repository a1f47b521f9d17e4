using System;
using System.Collections.Generic;
using System.IO;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Service;
using ConnectionsMonitor.Engine.Session;
using ConnectionsMonitor.Tests.Session;
using Xunit;

namespace ConnectionsMonitor.Tests.Service
{
    public class ServiceRunnerFaultTests
    {
        private sealed class ListLog : IServiceLog
        {
            public readonly List<(ServiceLogLevel, string)> Lines = new List<(ServiceLogLevel, string)>();
            public void Write(ServiceLogLevel level, string message) { lock (Lines) Lines.Add((level, message)); }
        }

        /// <summary>
        /// A fault in the service's loop after a read (a bug of the module's own, or one the firewall's COM calls raise on
        /// Windows) stops the service with its reason in the log, as a failed read does, so the host exits 1 and the service
        /// manager restarts it. Left unhandled on the service's thread the exception would end the test host here, and the
        /// service without a word in its log.
        /// </summary>
        [Fact]
        public void AFaultInTheServiceLoopStopsItWithAReasonNotTheProcess()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svcfault-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                File.WriteAllText(Path.Combine(dir, "config.yml"), "refreshInterval: 200\n");
                var log = new ListLog();
                var session = new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => ReplayPlatform.Parse(ReplayScripts.Traffic) });
                using var runner = new ServiceRunner(session, new ServiceSettings
                {
                    ConfigPath = Path.Combine(dir, "config.yml"), HistoryPath = Path.Combine(dir, "history.db"), CurrentDirectory = dir,
                }, log);
                runner.AfterSample = () => throw new InvalidCastException("a test's fault");
                runner.Start();
                Assert.True(runner.Failed.WaitOne(TimeSpan.FromSeconds(30)), "the service did not stop");
                const string Reason = "The service stopped after a fault (InvalidCastException: a test's fault).";
                Assert.Equal(Reason, runner.FailureReason);
                lock (log.Lines) Assert.Contains((ServiceLogLevel.Error, Reason), log.Lines);
                runner.Stop();
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
