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
        /// Webhook messages still being retried when the service stops go to the dead-letter file before its last line, and the
        /// log says how many and where: they were written after "Stopped" (by the session's end), and the log never said so.
        /// </summary>
        [Fact]
        public void UndeliveredAlertsAreFlushedAndSaidBeforeTheStoppedLine()
        {
            string dir = Path.Combine(Path.GetTempPath(), "cm-svcfault-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            using var refusing = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            refusing.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)); // bound, never listening: connections are refused
            int port = ((System.Net.IPEndPoint)refusing.LocalEndPoint).Port;
            string deadLetters = Path.Combine(dir, "dead.jsonl");
            try
            {
                File.WriteAllText(Path.Combine(dir, "config.yml"),
                    "refreshInterval: 200\nalerts:\n  enabled: true\n  deadLetterPath: '" + deadLetters + "'\n" +
                    "  webhooks:\n    - url: 'http://127.0.0.1:" + port + "/hook/secret-token'\n" +
                    "  conditions:\n    suspiciousPorts: []\n    newForeignConnections: false\n    maxConnections: 1\n    maxBandwidth: 0\n");
                var log = new ListLog();
                // Three connections in every sample (the last one repeats): config.maxConnections (more than 1) fires at once.
                const string Busy = @"
processes:
  - { pid: 100, name: web, path: /usr/sbin/web, user: www }
samples:
  - t: 0
    rows:
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50002, state: Established, pid: 100, inode: 12 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50003, state: Established, pid: 100, inode: 13 }
";
                var session = new MonitorSession(new MonitorSessionOptions { PlatformFactory = () => ReplayPlatform.Parse(Busy) });
                using var runner = new ServiceRunner(session, new ServiceSettings
                {
                    ConfigPath = Path.Combine(dir, "config.yml"), HistoryPath = Path.Combine(dir, "history.db"), CurrentDirectory = dir,
                }, log);
                runner.Start();
                bool Fired() { lock (log.Lines) return log.Lines.Exists(l => l.Item1 == ServiceLogLevel.Notice && l.Item2.StartsWith("Alert config.maxConnections (Firing)", StringComparison.Ordinal)); }
                Assert.True(System.Threading.SpinWait.SpinUntil(Fired, TimeSpan.FromSeconds(30)), "no alert fired; the log: " + string.Join(" | ", log.Lines.ConvertAll(l => l.Item1 + " " + l.Item2)));
                runner.Stop();
                List<(ServiceLogLevel Level, string Text)> lines;
                lock (log.Lines) lines = new List<(ServiceLogLevel, string)>(log.Lines);
                int stopped = lines.FindIndex(l => l.Text.StartsWith("Stopped", StringComparison.Ordinal));
                Assert.Equal(lines.Count - 1, stopped);
                int written = File.ReadAllLines(deadLetters).Length;
                Assert.True(written > 0, "nothing in the dead-letter file");
                Assert.Equal((ServiceLogLevel.Warning, written + " alert message(s) could not be delivered before the service stopped; they are in " + deadLetters + " (one JSON line each)."),
                    lines[stopped - 1]);
                Assert.DoesNotContain(lines, l => l.Text.Contains("secret-token"));
                session.Dispose();
                Assert.Equal(written, File.ReadAllLines(deadLetters).Length); // nothing more after the Stopped line
            }
            finally
            {
                Directory.Delete(dir, true);
            }
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
