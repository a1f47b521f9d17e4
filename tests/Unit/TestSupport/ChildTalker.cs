using System;
using System.Diagnostics;
using System.IO;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// A real child process (python3 under a name of our choosing, through a symlink, so the kernel's
    /// comm is that name) that connects to a TCP port and sends exactly what it is told, when told:
    /// commands on stdin are "send N", "pace BYTES_PER_SECOND SECONDS", "close", "quit"; it answers
    /// "ok" on stdout after each.
    /// </summary>
    public sealed class ChildTalker : IDisposable
    {
        private const string Script = @"
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print('ok', s.getsockname()[1], flush=True)
for line in sys.stdin:
    cmd = line.split()
    if not cmd: continue
    if cmd[0] == 'send':
        n = int(cmd[1]); chunk = b'x' * 65536
        while n > 0:
            k = min(n, len(chunk)); s.sendall(chunk[:k]); n -= k
    elif cmd[0] == 'pace':
        rate = int(cmd[1]); seconds = float(cmd[2]); step = 0.01; size = int(rate * step)
        start = time.monotonic(); i = 0
        while (i + 1) * step <= seconds:
            target = start + i * step
            delay = target - time.monotonic()
            if delay > 0: time.sleep(delay)
            s.sendall(b'p' * size); i += 1
    elif cmd[0] == 'close':
        s.close()
    elif cmd[0] == 'quit':
        break
    print('ok', flush=True)
";

        private readonly Process _process;
        private readonly string _link;

        public ChildTalker(string name, int port)
        {
            _link = Path.Combine(Path.GetTempPath(), "cm-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            Directory.CreateDirectory(_link);
            string exe = Path.Combine(_link, name);
            File.CreateSymbolicLink(exe, "/usr/bin/python3");
            var psi = new ProcessStartInfo(exe) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(Script);
            psi.ArgumentList.Add(port.ToString());
            _process = Process.Start(psi);
            var hello = _process.StandardOutput.ReadLine()?.Split(' ');
            if (hello == null || hello[0] != "ok") throw new InvalidOperationException("the child talker did not connect");
            LocalPort = int.Parse(hello[1]);
        }

        public int ProcessId => _process.Id;
        public int LocalPort { get; }

        /// <summary>Sends a command and waits for it to finish.</summary>
        public void Do(string command)
        {
            _process.StandardInput.WriteLine(command);
            _process.StandardInput.Flush();
            if (_process.StandardOutput.ReadLine() != "ok") throw new InvalidOperationException("the child talker failed: " + command);
        }

        /// <summary>Ends the child (its socket closes as it exits) and waits until it has.</summary>
        public void Quit()
        {
            _process.StandardInput.WriteLine("quit");
            _process.StandardInput.Flush();
            if (!_process.WaitForExit(10000)) throw new InvalidOperationException("the child talker did not quit");
        }

        public void Dispose()
        {
            try { if (!_process.HasExited) _process.Kill(); } catch (InvalidOperationException) { }
            _process.WaitForExit();
            _process.Dispose();
            Directory.Delete(_link, true);
        }
    }
}
