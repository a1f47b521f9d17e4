using System;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Reflection;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Display;

namespace ConnectionsMonitor.Session
{
    /// <summary>
    /// The live view's terminal in a PowerShell host: the host's raw UI when the command's output goes
    /// to the screen of an interactive terminal; otherwise (a pipeline, a variable, a file, a hosted
    /// runspace, remoting) plain-text frames written as strings to the pipeline. Everything goes
    /// through the host (Host.UI, RawUI.ReadKey), never System.Console, because hosts differ. Used
    /// only on the pipeline thread.
    /// </summary>
    internal sealed class PowerShellTerminal : ILiveTerminal, IDisposable
    {
        private readonly PSCmdlet _cmdlet;
        private readonly PSHostRawUserInterface _raw;
        private readonly OutputRendering _rendering;

        internal PowerShellTerminal(PSCmdlet cmdlet)
        {
            _cmdlet = cmdlet;
            _raw = OutputGoesToHost(cmdlet) ? TerminalOf(cmdlet.Host) : null;
            if (_raw != null)
            {
                // PowerShell 7 hosts strip every escape sequence, cursor moves included, while
                // $PSStyle.OutputRendering is PlainText (NO_COLOR sets it). The view needs its cursor
                // moves, so it lifts PlainText for its own duration and draws without colour instead.
                _rendering = OutputRendering.Lift(cmdlet);
                ColorDepth = _rendering?.WasPlainText ?? false
                    ? ColorDepth.None
                    : TerminalColors.Detect(Environment.GetEnvironmentVariable, RuntimeInformation.IsOSPlatform(OSPlatform.Windows));
            }
        }

        public bool IsInteractive => _raw != null;
        public ColorDepth ColorDepth { get; } = ColorDepth.None;
        public int Width => _raw.WindowSize.Width;
        public int Height => _raw.WindowSize.Height;
        public bool KeyAvailable => _raw.KeyAvailable;

        public LiveKey ReadKey()
        {
            var key = _raw.ReadKey(ReadKeyOptions.NoEcho | ReadKeyOptions.IncludeKeyDown);
            bool control = (key.ControlKeyState & (ControlKeyStates.LeftCtrlPressed | ControlKeyStates.RightCtrlPressed)) != 0;
            return new LiveKey((ConsoleKey)key.VirtualKeyCode, key.Character, control);
        }

        public void Write(string text) => _cmdlet.Host.UI.Write(text);

        public void WriteFrame(string frame) => _cmdlet.WriteObject(frame);

        public void Warn(string message) => _cmdlet.WriteWarning(message);

        public void Dispose() => _rendering?.Restore();

        /// <summary>
        /// True when what the command writes goes straight to the host's screen (Out-Default or
        /// Out-Host is next), false when it is captured ($x = …), redirected (&gt; file) or piped on.
        /// PowerShell has no public way to ask; its output pipe says it (the same internals in 5.1 and
        /// 7.x). When they cannot be read the answer is yes, as before this check existed.
        /// </summary>
        private static bool OutputGoesToHost(PSCmdlet cmdlet)
        {
            try
            {
                const BindingFlags all = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;
                object runtime = cmdlet.CommandRuntime;
                object pipe = runtime.GetType().GetProperty("OutputPipe", all)?.GetValue(runtime);
                if (pipe == null) return true;
                var type = pipe.GetType();
                if (type.GetField("_isRedirected", all)?.GetValue(pipe) is bool redirected && redirected) return false;
                if (type.GetField("_resultList", all)?.GetValue(pipe) != null) return false;
                object downstream = type.GetField("_downstreamCmdlet", all)?.GetValue(pipe);
                if (downstream == null) return false; // an object queue (a hosted pipeline's output) or a discarded pipe
                string name = (downstream.GetType().GetProperty("CommandInfo", all)?.GetValue(downstream) as CommandInfo)?.Name ?? downstream.ToString();
                return string.Equals(name, "Out-Default", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "Out-Host", StringComparison.OrdinalIgnoreCase);
            }
            catch (Exception ex) when (ex is TargetInvocationException || ex is MemberAccessException || ex is InvalidCastException)
            {
                return true;
            }
        }

        /// <summary>
        /// The host's raw UI when it is an interactive terminal that takes escape sequences and gives
        /// keys and a window size; null otherwise, and the view then writes plain frames.
        /// </summary>
        private static PSHostRawUserInterface TerminalOf(PSHost host)
        {
            var ui = host?.UI;
            if (ui == null || !ui.SupportsVirtualTerminal) return null;
            // pwsh's own console host keeps VT support on when stdout goes to a file.
            if (host.Name == "ConsoleHost" && (Console.IsOutputRedirected || Console.IsInputRedirected)) return null;
            try
            {
                var raw = ui.RawUI;
                if (raw == null) return null;
                var size = raw.WindowSize;
                _ = raw.KeyAvailable;
                return size.Width > 0 && size.Height > 0 ? raw : null;
            }
            catch (Exception ex) when (ex is NotSupportedException || ex is NotImplementedException || ex is InvalidOperationException || ex is System.IO.IOException || ex is HostException)
            {
                return null;
            }
        }

        /// <summary>Temporarily switches $PSStyle.OutputRendering from PlainText to Ansi (PowerShell 7.2+; nothing to do on 5.1).</summary>
        private sealed class OutputRendering
        {
            private readonly object _style;
            private readonly PropertyInfo _property;
            private readonly object _saved;

            private OutputRendering(object style, PropertyInfo property, object saved)
            {
                _style = style;
                _property = property;
                _saved = saved;
            }

            internal bool WasPlainText => _saved != null && _saved.ToString() == "PlainText";

            internal static OutputRendering Lift(PSCmdlet cmdlet)
            {
                object style = cmdlet.SessionState.PSVariable.GetValue("PSStyle");
                if (style is PSObject wrapped) style = wrapped.BaseObject;
                var property = style?.GetType().GetProperty("OutputRendering");
                if (property == null || !property.CanWrite) return null;
                var result = new OutputRendering(style, property, property.GetValue(style));
                if (result.WasPlainText) property.SetValue(style, Enum.Parse(property.PropertyType, "Ansi"));
                return result;
            }

            internal void Restore()
            {
                if (WasPlainText) _property.SetValue(_style, _saved);
            }
        }
    }
}
