using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using ConnectionsMonitor.Engine.Platform.Linux;

namespace ConnectionsMonitor.Tests.TestSupport
{
    /// <summary>
    /// A real python3 child running a script given on its command line, talked to line by line over stdin and stdout (the
    /// owner tests' servers and socket holders). Dispose kills it, and any worker PIDs it reported (<see cref="Adopt"/>), and
    /// reaps it.
    /// </summary>
    public sealed class PythonChild : IDisposable
    {
        private readonly Process _process;
        private readonly List<int> _workers = new List<int>();

        public PythonChild(string script, params string[] args)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(script);
            foreach (string a in args) psi.ArgumentList.Add(a);
            _process = Process.Start(psi);
        }

        public int Id => _process.Id;
        public bool HasExited => _process.HasExited;

        /// <summary>The next line the script printed (null at its end).</summary>
        public string ReadLine() => _process.StandardOutput.ReadLine();

        /// <summary>Writes a line to the script's stdin.</summary>
        public void Say(string line)
        {
            _process.StandardInput.WriteLine(line);
            _process.StandardInput.Flush();
        }

        /// <summary>A child the script forked, killed with it.</summary>
        public int Adopt(int pid)
        {
            _workers.Add(pid);
            return pid;
        }

        /// <summary>The inode of the socket that a process holds as the fd (its /proc/PID/fd link "socket:[N]", parsed as the resolver parses it).</summary>
        public static ulong SocketInode(int pid, int fd)
        {
            string target = new FileInfo($"/proc/{pid}/fd/{fd}").LinkTarget;
            if (target == null || !ProcFs.TryParseSocketLink(Encoding.ASCII.GetBytes(target), out ulong inode))
                throw new InvalidOperationException($"fd {fd} of process {pid} is not a socket: {target}");
            return inode;
        }

        public void Dispose()
        {
            foreach (int pid in _workers)
                try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } // gone already
            try
            {
                if (!_process.HasExited) _process.Kill();
                _process.WaitForExit();
            }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }
}
