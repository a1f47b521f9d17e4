using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace ConnectionsMonitor.Host
{
    /// <summary>A non-interactive PowerShell host writing to text writers (the console, or a test's buffer).</summary>
    public sealed class MonitorHost : PSHost
    {
        private readonly MonitorHostUI _ui;

        public MonitorHost(TextWriter output, TextWriter error, int width, bool ansi = false)
        {
            _ui = new MonitorHostUI(output, error, width, ansi);
        }

        public override string Name => "ConnectionsMonitor.Host";
        public override Version Version => typeof(MonitorHost).Assembly.GetName().Version;
        public override Guid InstanceId { get; } = Guid.NewGuid();
        public override PSHostUserInterface UI => _ui;
        public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
        public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
        public int ExitCode { get; private set; }
        public override void SetShouldExit(int exitCode) => ExitCode = exitCode;
        public override void EnterNestedPrompt() => throw new NotSupportedException("This host has no interactive prompt.");
        public override void ExitNestedPrompt() => throw new NotSupportedException("This host has no interactive prompt.");
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    internal sealed class MonitorHostUI : PSHostUserInterface
    {
        private readonly TextWriter _out;
        private readonly TextWriter _err;
        private readonly MonitorRawUI _raw;
        private readonly bool _ansi;

        public MonitorHostUI(TextWriter output, TextWriter error, int width, bool ansi)
        {
            _out = output;
            _err = error;
            _raw = new MonitorRawUI(width);
            _ansi = ansi;
        }

        public override PSHostRawUserInterface RawUI => _raw;

        /// <summary>Whether the output accepts ANSI sequences; PowerShell styles its output only then.</summary>
        public override bool SupportsVirtualTerminal => _ansi;

        // PowerShell leaves removing its own styling (table headers, error colours) to the host.
        private string Plain(string text) => GetOutputString(text, _ansi);

        public override void Write(string value) => _out.Write(Plain(value));
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => _out.Write(Plain(value));
        public override void WriteLine(string value) => _out.WriteLine(Plain(value));
        public override void WriteErrorLine(string value) => _err.WriteLine(Plain(value));
        public override void WriteDebugLine(string message) => _err.WriteLine(Plain("DEBUG: " + message));
        public override void WriteVerboseLine(string message) => _err.WriteLine(Plain("VERBOSE: " + message));
        public override void WriteWarningLine(string message) => _err.WriteLine(Plain("WARNING: " + message));
        public override void WriteProgress(long sourceId, ProgressRecord record) { }

        public override string ReadLine() => Console.In.ReadLine();
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("This host cannot read secrets.");
        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) =>
            throw new NotSupportedException("This host is not interactive; pass every parameter on the command line.");
        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => defaultChoice;
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
            throw new NotSupportedException("This host cannot prompt for credentials.");
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
            PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
            throw new NotSupportedException("This host cannot prompt for credentials.");
    }

    internal sealed class MonitorRawUI : PSHostRawUserInterface
    {
        private readonly int _width;

        public MonitorRawUI(int width) { _width = width; }

        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
        public override Size BufferSize { get => new Size(_width, 9999); set { } }
        public override Coordinates CursorPosition { get; set; }
        public override int CursorSize { get; set; }
        public override Size MaxPhysicalWindowSize => new Size(_width, 9999);
        public override Size MaxWindowSize => new Size(_width, 9999);
        public override Coordinates WindowPosition { get; set; }
        public override Size WindowSize { get => new Size(_width, 50); set { } }
        public override string WindowTitle { get; set; } = "ConnectionsMonitor";
        public override bool KeyAvailable => false;
        public override void FlushInputBuffer() { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
        public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException("This host does not read keys.");
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) => throw new NotSupportedException();
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) => throw new NotSupportedException();
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) => throw new NotSupportedException();
    }
}
