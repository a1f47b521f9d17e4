using System;

namespace ConnectionsMonitor.Engine.Model
{
    /// <summary>What the process catalogue knows about one process. Unknown values are null.</summary>
    public sealed class ProcessInfo
    {
        public ProcessInfo(int processId, string name, string path, string userName, DateTime? startTime)
        {
            ProcessId = processId;
            Name = name;
            Path = path;
            UserName = userName;
            StartTime = startTime;
        }

        public int ProcessId { get; }

        /// <summary>Process name as Get-Process shows it (no ".exe" on Windows).</summary>
        public string Name { get; }

        /// <summary>Full path of the executable, null when it cannot be read (privilege, kernel thread).</summary>
        public string Path { get; }

        public string UserName { get; }

        /// <summary>Process start time (UTC), used to tell a reused PID from the process we cached.</summary>
        public DateTime? StartTime { get; }
    }
}
