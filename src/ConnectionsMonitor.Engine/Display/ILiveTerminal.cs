using System;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>One key press as the live view needs it.</summary>
    public readonly struct LiveKey
    {
        /// <summary>A key as the host reports it: its virtual key, the character it types ('\0' for none), and whether Ctrl was held.</summary>
        public LiveKey(ConsoleKey key, char character, bool control)
        {
            Key = key;
            Character = character;
            Control = control;
        }

        /// <summary>The virtual key (arrows, PgUp, Enter …).</summary>
        public ConsoleKey Key { get; }

        /// <summary>The character typed, '\0' for keys that type none.</summary>
        public char Character { get; }

        /// <summary>Ctrl was held.</summary>
        public bool Control { get; }
    }

    /// <summary>
    /// What the live view draws on: a real terminal (escape sequences, keys, a window size) or, when
    /// <see cref="IsInteractive"/> is false, a sink for plain-text frames (a pipeline, a variable, a
    /// file). The PowerShell host implements it; tests give a double. Called only on the thread that
    /// runs <see cref="Session.MonitorSession.RunLiveView"/>.
    /// </summary>
    public interface ILiveTerminal
    {
        /// <summary>True for a terminal that takes escape sequences and gives keys; false for plain frames.</summary>
        bool IsInteractive { get; }

        /// <summary>Colours the terminal shows (None for plain frames or NO_COLOR).</summary>
        ColorDepth ColorDepth { get; }

        /// <summary>Window width in cells (interactive only).</summary>
        int Width { get; }

        /// <summary>Window height in lines (interactive only).</summary>
        int Height { get; }

        /// <summary>A key press is waiting (interactive only).</summary>
        bool KeyAvailable { get; }

        /// <summary>Reads one waiting key without echo (interactive only).</summary>
        LiveKey ReadKey();

        /// <summary>Writes text with escape sequences to the screen (interactive only).</summary>
        void Write(string text);

        /// <summary>Writes one whole plain-text frame, lines joined with newlines (non-interactive only).</summary>
        void WriteFrame(string frame);

        /// <summary>Tells the user of a partial-data condition (non-interactive only; the interactive view shows it on its bottom line).</summary>
        void Warn(string message);
    }
}
