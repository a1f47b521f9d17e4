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
            // Only a real terminal gives keys and a live window size (Show-ConnectionMonitor needs both).
            _raw = new MonitorRawUI(width, ansi && ReferenceEquals(output, Console.Out) && !Console.IsInputRedirected);
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

    /// <summary>
    /// The host's window: a fixed width for text output; on a terminal, the live window size and the
    /// keyboard through System.Console (so Show-ConnectionMonitor can scroll, sort and quit).
    /// </summary>
    internal sealed class MonitorRawUI : PSHostRawUserInterface
    {
        private readonly int _width;
        private readonly bool _terminal;

        public MonitorRawUI(int width, bool terminal = false)
        {
            _width = width;
            _terminal = terminal;
        }

        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
        public override Size BufferSize { get => new Size(Width, 9999); set { } }
        public override Coordinates CursorPosition { get; set; }
        public override int CursorSize { get; set; }
        public override Size MaxPhysicalWindowSize => new Size(Width, 9999);
        public override Size MaxWindowSize => new Size(Width, 9999);
        public override Coordinates WindowPosition { get; set; }
        public override Size WindowSize { get => new Size(Width, Height); set { } }
        public override string WindowTitle { get; set; } = "ConnectionsMonitor";

        // Read on every call: the user may resize the terminal while a command runs.
        private int Width => LiveSize(() => Console.WindowWidth, _width);
        private int Height => LiveSize(() => Console.WindowHeight, 50);

        private int LiveSize(Func<int> read, int fallback)
        {
            if (!_terminal) return fallback;
            try
            {
                int value = read();
                return value > 0 ? value : fallback;
            }
            catch (IOException)
            {
                return fallback;
            }
        }

        // PowerShell's table formatting pads and cuts by these: terminal cells, not UTF-16 units (the base class
        // counts units, so a Chinese name would push the rest of its row right).
        public override int LengthInBufferCells(string source) => ConnectionsMonitor.Engine.Display.CellWidth.Of(source);
        public override int LengthInBufferCells(string source, int offset) => ConnectionsMonitor.Engine.Display.CellWidth.Of(source?.Substring(offset));
        public override int LengthInBufferCells(char source) => ConnectionsMonitor.Engine.Display.CellWidth.Of(source.ToString());

        public override bool KeyAvailable => _terminal && Console.KeyAvailable;

        public override void FlushInputBuffer()
        {
            while (_terminal && Console.KeyAvailable) Console.ReadKey(intercept: true);
        }

        public override KeyInfo ReadKey(ReadKeyOptions options)
        {
            if (!_terminal) throw new NotSupportedException("This host reads keys only from a terminal.");
            var key = Console.ReadKey(intercept: (options & ReadKeyOptions.NoEcho) != 0);
            var state = default(ControlKeyStates);
            if ((key.Modifiers & ConsoleModifiers.Control) != 0) state |= ControlKeyStates.LeftCtrlPressed;
            if ((key.Modifiers & ConsoleModifiers.Alt) != 0) state |= ControlKeyStates.LeftAltPressed;
            if ((key.Modifiers & ConsoleModifiers.Shift) != 0) state |= ControlKeyStates.ShiftPressed;
            // ConsoleKey values are Windows virtual-key codes, which is what KeyInfo carries.
            return new KeyInfo((int)key.Key, key.KeyChar, state, keyDown: true);
        }

        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) => throw new NotSupportedException();
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) => throw new NotSupportedException();
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) => throw new NotSupportedException();
    }
}
