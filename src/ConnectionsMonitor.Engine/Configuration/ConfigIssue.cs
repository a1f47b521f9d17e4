using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>
    /// Something the loader has to say about one place in a configuration file. Line and Column are
    /// 1-based (0 when the problem is the file as a whole); Key is the dotted path to the value,
    /// e.g. monitoring.topTalkersCount, highlightedPorts.'22', alerts.webhooks[0].url (list indexes
    /// count from 0). Detail never contains a secret value. The file path, the key and the detail (which quotes the
    /// value found) are outside text: the detail is kept, and the path and key are put into <see cref="Message"/>, as
    /// <see cref="Display.UntrustedText.Clean"/> makes them, so an escape sequence in a key or value reaches no terminal,
    /// log or error view (ESC is shown as ␛); FilePath and Key stay as they are, for scripts (an error's TargetObject).
    /// </summary>
    public abstract class ConfigIssue
    {
        protected ConfigIssue(string filePath, int line, int column, string key, string detail)
        {
            FilePath = filePath;
            Line = line;
            Column = column;
            Key = key;
            Detail = detail == null ? null : Display.UntrustedText.Clean(detail);
        }

        public string FilePath { get; }
        public int Line { get; }
        public int Column { get; }
        public string Key { get; }

        /// <summary>What is wrong, without the location.</summary>
        public string Detail { get; }

        /// <summary>"config.yml, line 14, key 'refreshInterval': expected …, found '…'."</summary>
        public string Message
        {
            get
            {
                string where = FilePath != null ? Display.UntrustedText.Clean(FilePath) : "configuration";
                if (Line > 0) where += ", line " + Line.ToString(CultureInfo.InvariantCulture);
                if (!string.IsNullOrEmpty(Key)) where += ", key '" + Display.UntrustedText.Clean(Key) + "'";
                return where + ": " + Detail;
            }
        }

        public override string ToString() => Message;
    }

    /// <summary>A value the loader cannot accept; the file does not load.</summary>
    public sealed class ConfigError : ConfigIssue
    {
        public ConfigError(string filePath, int line, int column, string key, string detail)
            : base(filePath, line, column, key, detail) { }
    }

    /// <summary>Something the loader ignored (an unknown key); the file still loads.</summary>
    public sealed class ConfigWarning : ConfigIssue
    {
        public ConfigWarning(string filePath, int line, int column, string key, string detail, string suggestion)
            : base(filePath, line, column, key, detail)
        {
            Suggestion = suggestion;
        }

        /// <summary>The known key the author probably meant, or null.</summary>
        public string Suggestion { get; }
    }

    /// <summary>
    /// A configuration that cannot be used. Carries every error found in the file (Errors); the
    /// location properties are those of the first. The message lists each error on its own line (see Compose).
    /// </summary>
    public sealed class ConfigException : Exception
    {
        public ConfigException(IReadOnlyList<ConfigError> errors)
            : base(Compose(errors))
        {
            Errors = errors;
        }

        public ConfigException(string filePath, string detail)
            : this(new[] { new ConfigError(filePath, 0, 0, null, detail) }) { }

        /// <summary>The configuration file <paramref name="filePath"/> that was named does not exist (<see cref="FileMissing"/>).</summary>
        public static ConfigException Missing(string filePath, string detail) => new ConfigException(filePath, detail) { FileMissing = true };

        /// <summary>
        /// True when the file named does not exist at all (nothing at the path: not a folder, not an unreadable file); the
        /// cmdlets report it as ErrorCategory.ObjectNotFound (ConfigNotFound), every other configuration error as InvalidData.
        /// </summary>
        public bool FileMissing { get; private set; }

        public IReadOnlyList<ConfigError> Errors { get; }
        public string FilePath => Errors[0].FilePath;
        public int Line => Errors[0].Line;
        public int Column => Errors[0].Column;
        public string Key => Errors[0].Key;

        /// <summary>
        /// One error: its <see cref="ConfigIssue.Message"/>. Several: a line naming the file and the count, then one
        /// line per error, numbered "[1]", "[2]" …, each with its own file, line, key and what was expected. The
        /// numbers keep the errors apart where PowerShell's concise error view joins the lines into one paragraph
        /// (it does so for commands run from a script file).
        /// </summary>
        private static string Compose(IReadOnlyList<ConfigError> errors)
        {
            if (errors == null || errors.Count == 0) throw new ArgumentException("A ConfigException needs at least one error.", nameof(errors));
            if (errors.Count == 1) return errors[0].Message;
            return (errors[0].FilePath != null ? Display.UntrustedText.Clean(errors[0].FilePath) : "The configuration") + " has " + errors.Count.ToString(CultureInfo.InvariantCulture) + " errors:" + Environment.NewLine
                + string.Join(Environment.NewLine, errors.Select((e, i) => "[" + (i + 1).ToString(CultureInfo.InvariantCulture) + "] " + e.Message));
        }
    }
}
