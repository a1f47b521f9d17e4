using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using ConnectionsMonitor.Tests.TestSupport;

namespace ConnectionsMonitor.Tests.Live
{
    /// <summary>
    /// A real terminal for tests: a detached tmux session of fixed size on a private server socket,
    /// running bash. Keys go in with send-keys; the screen comes out with capture-pane (-e keeps the colours).
    /// </summary>
    internal sealed class TmuxTerminal : IDisposable
    {
        private readonly string _socket = "cmon-live-" + Guid.NewGuid().ToString("N").Substring(0, 12);
        private const string Target = "t";

        public static bool Available => File.Exists("/usr/bin/tmux") || File.Exists("/usr/local/bin/tmux");

        public TmuxTerminal(int width, int height)
        {
            Tmux("-f", "/dev/null", "new-session", "-d", "-s", Target, "-x", width.ToString(), "-y", height.ToString(),
                "env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=" + (Environment.GetEnvironmentVariable("HOME") ?? "/root") +
                " XDG_CONFIG_HOME=" + TestEnvironment.ConfigHome + " XDG_DATA_HOME=" + TestEnvironment.DataHome + " PS1='$ ' bash --norc --noprofile");
        }

        /// <summary>Types a command line and presses Enter.</summary>
        public void Run(string commandLine)
        {
            Tmux("send-keys", "-t", Target, "-l", commandLine);
            Tmux("send-keys", "-t", Target, "Enter");
        }

        public void SendKeys(params string[] keys)
        {
            var args = new string[keys.Length + 3];
            args[0] = "send-keys"; args[1] = "-t"; args[2] = Target;
            Array.Copy(keys, 0, args, 3, keys.Length);
            Tmux(args);
        }

        /// <summary>The visible screen; with escapes (colours) when <paramref name="escapes"/> is set.</summary>
        public string Capture(bool escapes = false) =>
            escapes ? Tmux("capture-pane", "-p", "-e", "-t", Target) : Tmux("capture-pane", "-p", "-t", Target);

        /// <summary>A tmux format value of the pane, e.g. #{alternate_on}.</summary>
        public string Query(string format) => Tmux("display-message", "-p", "-t", Target, format).Trim();

        public string WaitFor(Func<string, bool> condition, string what, int timeoutMs = 60000, bool escapes = false)
        {
            var clock = Stopwatch.StartNew();
            string screen = "";
            while (clock.ElapsedMilliseconds < timeoutMs)
            {
                screen = Capture(escapes);
                if (condition(screen)) return screen;
                Thread.Sleep(200);
            }
            throw new TimeoutException("Timed out waiting for " + what + ". Screen:\n" + screen);
        }

        private string Tmux(params string[] args)
        {
            var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-L");
            psi.ArgumentList.Add(_socket);
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi);
            string output = p.StandardOutput.ReadToEnd();
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException("tmux " + string.Join(" ", args) + " failed: " + error);
            return output;
        }

        public void Dispose()
        {
            try { Tmux("kill-server"); } catch (InvalidOperationException) { }
        }
    }
}
