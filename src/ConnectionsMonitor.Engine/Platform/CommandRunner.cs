using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text;

namespace ConnectionsMonitor.Engine.Platform
{
    /// <summary>What a finished command left: its exit status and what it wrote.</summary>
    public sealed class CommandResult
    {
        /// <summary>A finished command's result.</summary>
        public CommandResult(int exitCode, string output, string error)
        {
            ExitCode = exitCode;
            Output = output ?? "";
            Error = error ?? "";
        }

        /// <summary>The exit status (0: success).</summary>
        public int ExitCode { get; }

        /// <summary>Standard output, UTF-8.</summary>
        public string Output { get; }

        /// <summary>Standard error, UTF-8.</summary>
        public string Error { get; }
    }

    /// <summary>Where a program is found, as a shell finds it.</summary>
    public static class ProgramSearch
    {
        /// <summary>
        /// The full path of <paramref name="fileName"/> in the first directory of <paramref name="path"/> (directories joined by
        /// <paramref name="separator"/>, as the PATH variable joins them; empty entries and malformed ones skipped) for which
        /// <paramref name="exists"/> holds; null when none does.
        /// </summary>
        public static string OnPath(string fileName, string path, char separator, Func<string, bool> exists)
        {
            if (string.IsNullOrEmpty(path)) return null;
            foreach (var dir in path.Split(separator))
            {
                if (dir.Length == 0) continue;
                string candidate;
                try { candidate = System.IO.Path.Combine(dir, fileName); } catch (ArgumentException) { continue; }
                if (exists(candidate)) return candidate;
            }
            return null;
        }
    }

    /// <summary>Runs a system tool (nft) and waits for it; tests give one that runs it elsewhere (inside a network namespace).</summary>
    public interface ICommandRunner
    {
        /// <summary>
        /// Runs <paramref name="file"/> with <paramref name="arguments"/> (each passed as one argument, no shell), writes
        /// <paramref name="input"/> (or nothing) to its standard input and waits for it to end.
        /// </summary>
        /// <exception cref="System.ComponentModel.Win32Exception">The program cannot be started (not installed, not executable).</exception>
        CommandResult Run(string file, IReadOnlyList<string> arguments, string input);
    }

    /// <summary>
    /// Runs commands as child processes. With a prefix, "nft -f -" becomes "PREFIX... nft -f -" (tests use
    /// "ip netns exec NAME" so every change lands in a namespace they made).
    /// </summary>
    public sealed class ProcessCommandRunner : ICommandRunner
    {
        private readonly string[] _prefix;

        /// <summary>A runner; <paramref name="prefix"/> (may be null) is put in front of every command.</summary>
        public ProcessCommandRunner(IReadOnlyList<string> prefix = null)
        {
            _prefix = prefix == null ? new string[0] : new List<string>(prefix).ToArray();
        }

        /// <summary>How long a command may take before it is killed and reported as failed.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <inheritdoc/>
        public CommandResult Run(string file, IReadOnlyList<string> arguments, string input)
        {
            var all = new List<string>(_prefix) { file };
            all.AddRange(arguments);
            var psi = new ProcessStartInfo(all[0])
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                CreateNoWindow = true,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            var sb = new StringBuilder();
            for (int i = 1; i < all.Count; i++)
            {
                if (sb.Length > 0) sb.Append(' ');
                sb.Append(Quote(all[i]));
            }
            psi.Arguments = sb.ToString();
            using (var p = Process.Start(psi))
            {
                var output = p.StandardOutput.ReadToEndAsync();
                var error = p.StandardError.ReadToEndAsync();
                if (input != null)
                {
                    var bytes = new UTF8Encoding(false).GetBytes(input);
                    p.StandardInput.BaseStream.Write(bytes, 0, bytes.Length);
                }
                p.StandardInput.Close();
                if (!p.WaitForExit((int)Timeout.TotalMilliseconds))
                {
                    try { p.Kill(); } catch (InvalidOperationException) { }
                    return new CommandResult(-1, output.Result, "did not finish within " + Timeout.TotalSeconds + " s and was stopped. " + error.Result);
                }
                p.WaitForExit();
                return new CommandResult(p.ExitCode, output.Result, error.Result);
            }
        }

        /// <summary>One argument in the quoting both .NET's Unix argument splitting and the Windows C runtime read back as given.</summary>
        internal static string Quote(string arg)
        {
            if (arg.Length > 0 && arg.IndexOfAny(new[] { ' ', '\t', '"', '\\', '\'' }) < 0) return arg;
            var sb = new StringBuilder("\"");
            int backslashes = 0;
            foreach (char c in arg)
            {
                if (c == '\\') { backslashes++; continue; }
                if (c == '"') { sb.Append('\\', backslashes * 2 + 1); sb.Append('"'); backslashes = 0; continue; }
                sb.Append('\\', backslashes);
                backslashes = 0;
                sb.Append(c);
            }
            sb.Append('\\', backslashes * 2);
            sb.Append('"');
            return sb.ToString();
        }
    }
}
