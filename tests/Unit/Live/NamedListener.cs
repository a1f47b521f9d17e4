using System;
using System.Diagnostics;
using System.IO;

namespace ConnectionsMonitor.Tests.Live
{
    /// <summary>
    /// A real process with a chosen name listening on a loopback TCP port: /usr/bin/python3 started through a
    /// symlink of that name (the kernel names a process after the file it executed), so the module reads the
    /// name from /proc as it would any other.
    /// </summary>
    internal sealed class NamedListener : IDisposable
    {
        private readonly Process _process;
        private readonly string _dir;

        private NamedListener(Process process, string dir)
        {
            _process = process;
            _dir = dir;
        }

        public int Port { get; private set; }
        public int ProcessId => _process.Id;

        public static NamedListener Start(string name)
        {
            string dir = Path.Combine(Path.GetTempPath(), "cmon-named-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string exe = Path.Combine(dir, name);
            File.CreateSymbolicLink(exe, "/usr/bin/python3");
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(1)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()");
            var listener = new NamedListener(Process.Start(psi), dir);
            listener.Port = int.Parse(listener._process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("python3 printed no port"));
            return listener;
        }

        public void Dispose()
        {
            try { _process.StandardInput.Close(); if (!_process.WaitForExit(3000)) _process.Kill(); } catch (InvalidOperationException) { }
            _process.Dispose();
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }
    }
}
