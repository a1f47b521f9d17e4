using System;
using System.Diagnostics;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>Runs iproute2's <c>ip</c> for tests that make their own interfaces, namespaces and routes (root only).</summary>
    public static class IpCommand
    {
        /// <summary>Runs <c>ip ARGS</c>; returns its exit code and standard error.</summary>
        public static (int ExitCode, string Error) Try(string args)
        {
            var psi = new ProcessStartInfo("ip", args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            p.StandardOutput.ReadToEnd();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, err);
        }

        /// <summary>Runs <c>ip ARGS</c> and throws with iproute2's own words when it fails.</summary>
        public static void Run(string args)
        {
            var (rc, err) = Try(args);
            if (rc != 0)
                throw new InvalidOperationException(
                    "'ip " + args + "' failed (exit " + rc + "): " + err.Trim() +
                    (Environment.UserName != "root" ? " — these tests make real interfaces and routes and must run as root" : ""));
        }
    }
}
