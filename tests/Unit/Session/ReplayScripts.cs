using System.IO;

namespace ConnectionsMonitor.Tests.Session
{
    /// <summary>Scripted sequences of connection tables for the replay platform, shared by the engine and cmdlet tests.</summary>
    internal static class ReplayScripts
    {
        /// <summary>
        /// Four samples two seconds apart. web (pid 100) serves one client whose connection moves
        /// 2,000 bytes out and 500 in per interval; at t=4 a second client opens; at t=6 the first
        /// one is in CloseWait and the second is gone. A listener and a UDP endpoint stay throughout.
        /// </summary>
        internal const string Traffic = @"
processes:
  - { pid: 100, name: web, path: /usr/sbin/web, user: www }
  - { pid: 200, name: resolver, path: /usr/bin/resolver, user: root }
samples:
  - t: 0
    rows:
      - { protocol: TCP, local: 0.0.0.0, localPort: 8080, remote: 0.0.0.0, remotePort: 0, state: Listen, pid: 100, inode: 10 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 1000, received: 100 }
      - { protocol: UDP, local: 127.0.0.1, localPort: 53, pid: 200, inode: 20 }
  - t: 2
    rows:
      - { protocol: TCP, local: 0.0.0.0, localPort: 8080, remote: 0.0.0.0, remotePort: 0, state: Listen, pid: 100, inode: 10 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 5000, received: 1100 }
      - { protocol: UDP, local: 127.0.0.1, localPort: 53, pid: 200, inode: 20 }
  - t: 4
    rows:
      - { protocol: TCP, local: 0.0.0.0, localPort: 8080, remote: 0.0.0.0, remotePort: 0, state: Listen, pid: 100, inode: 10 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 9000, received: 2100 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50002, state: Established, pid: 100, inode: 12, sent: 300, received: 40 }
      - { protocol: UDP, local: 127.0.0.1, localPort: 53, pid: 200, inode: 20 }
  - t: 6
    rows:
      - { protocol: TCP, local: 0.0.0.0, localPort: 8080, remote: 0.0.0.0, remotePort: 0, state: Listen, pid: 100, inode: 10 }
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: CloseWait, pid: 100, inode: 11, sent: 9000, received: 2100 }
      - { protocol: UDP, local: 127.0.0.1, localPort: 53, pid: 200, inode: 20 }
";

        /// <summary>
        /// Three samples two seconds apart: web's connection sends 10,000 bytes between t=0 and t=2 and
        /// nothing after, so a rate since t=2 (0) and a rate since t=0 (2,500/s) tell apart which
        /// earlier read a rate counts from. resolver's UDP endpoint is there throughout.
        /// </summary>
        internal const string Burst = @"
processes:
  - { pid: 100, name: web, path: /usr/sbin/web, user: www }
  - { pid: 200, name: resolver, path: /usr/bin/resolver, user: root }
samples:
  - t: 0
    rows:
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 0, received: 0 }
      - { protocol: UDP, local: 127.0.0.1, localPort: 53, pid: 200, inode: 20 }
  - t: 2
    rows:
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 10000, received: 0 }
      - { protocol: UDP, local: 127.0.0.1, localPort: 53, pid: 200, inode: 20 }
  - t: 4
    rows:
      - { protocol: TCP, local: 127.0.0.1, localPort: 8080, remote: 127.0.0.1, remotePort: 50001, state: Established, pid: 100, inode: 11, sent: 10000, received: 0 }
      - { protocol: UDP, local: 127.0.0.1, localPort: 53, pid: 200, inode: 20 }
";

        /// <summary>Writes a script to a temporary file; the caller deletes it.</summary>
        internal static string ToFile(string script)
        {
            string path = Path.Combine(Path.GetTempPath(), "cmon-replay-" + System.Guid.NewGuid().ToString("N") + ".yml");
            File.WriteAllText(path, script);
            return path;
        }
    }
}
