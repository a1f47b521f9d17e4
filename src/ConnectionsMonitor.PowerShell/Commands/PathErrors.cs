using System;
using System.Management.Automation;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// The one way the cmdlets report a file or folder that does not exist: ErrorCategory.ObjectNotFound (as Get-Item and
    /// Get-Content report a path that is not there), the full path as the target object, and an error id that names what is
    /// missing and is the same in every cmdlet. Other failures to use a file (it cannot be read, it is not valid, it is a
    /// folder where a file is expected) keep their own categories.
    /// </summary>
    internal static class PathErrors
    {
        /// <summary>The configuration file named by -ConfigPath or $env:CONNECTIONSMONITOR_CONFIG does not exist.</summary>
        internal const string ConfigNotFound = "ConfigNotFound";

        /// <summary>The baseline file named by -Path or -DifferencePath of Compare-ConnectionBaseline does not exist.</summary>
        internal const string BaselineFileNotFound = "BaselineFileNotFound";

        /// <summary>The folder Export-ConnectionBaseline is to write its file into does not exist.</summary>
        internal const string BaselineFolderNotFound = "BaselineFolderNotFound";

        /// <summary>The history file Get-ConnectionHistory is to read does not exist.</summary>
        internal const string HistoryFileNotFound = "HistoryFileNotFound";

        /// <summary>The error record of a file or folder that does not exist: <paramref name="errorId"/>, ObjectNotFound, the path as target.</summary>
        internal static ErrorRecord NotFound(Exception exception, string errorId, string path) =>
            new ErrorRecord(exception, errorId, ErrorCategory.ObjectNotFound, path);
    }
}
