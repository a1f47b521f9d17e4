// The parameter checks and conversions the connection cmdlets share (TimeSpan ranges, seconds for a
// bare -Duration number, netstat/ss state names). The address and country validators and the
// completers are in Completers.cs.
using System;
using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// Process ids of 0 or more, as [ValidateRange(0, int.MaxValue)], but a $null that comes from the pipeline passes: a row
    /// piped by property name whose ProcessId is $null (a TIME_WAIT socket, a socket with no known owner) names no process
    /// and is skipped, where ValidateRange rejected it even with [AllowNull] ("The argument is null, empty, or an element of
    /// the argument collection contains a null value", once per row). The cmdlet tells a $null typed on the command line apart.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidateProcessIdAttribute : ValidateArgumentsAttribute
    {
        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            object value = arguments is PSObject pso ? pso.BaseObject : arguments;
            if (value == null) return;
            foreach (object element in value as System.Collections.IEnumerable ?? new[] { value })
            {
                object id = element is PSObject e ? e.BaseObject : element;
                if (id is int n && n >= 0) continue;
                throw new ValidationMetadataException(DisplayFormat.Safe(Convert.ToString(id, CultureInfo.InvariantCulture)) +
                    " is not a process id: expected a whole number of 0 or more, such as $PID or (Get-Process pwsh).Id.");
            }
        }
    }

    /// <summary>
    /// Rejects a TimeSpan parameter outside [minimum, maximum] seconds at binding, with a message that
    /// says what was given, the range, an example and what zero means — instead of .NET's
    /// "(Parameter 'Duration') Actual value was …".
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidateTimeSpanRangeAttribute : ValidateArgumentsAttribute
    {
        public ValidateTimeSpanRangeAttribute(double minimumSeconds, double maximumSeconds)
        {
            Minimum = TimeSpan.FromSeconds(minimumSeconds);
            Maximum = TimeSpan.FromSeconds(maximumSeconds);
        }

        public TimeSpan Minimum { get; }
        public TimeSpan Maximum { get; }

        /// <summary>A valid value to show, e.g. "00:00:05".</summary>
        public string Example { get; set; }

        /// <summary>What to say about zero or the lower end (optional).</summary>
        public string ZeroAdvice { get; set; }

        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            object value = arguments is PSObject pso ? pso.BaseObject : arguments;
            if (!(value is TimeSpan span)) return; // the binder already converted or rejected it
            if (span >= Minimum && span <= Maximum) return;
            // A minimum of a millisecond or less stands for "anything above zero"; a real floor is said as it is.
            string range = Minimum == TimeSpan.Zero ? "from 00:00:00"
                : Minimum <= TimeSpan.FromMilliseconds(1) ? "longer than zero"
                : "from " + Minimum.ToString("c", CultureInfo.InvariantCulture);
            string message = string.Format(CultureInfo.InvariantCulture,
                "{0} is not a valid time span here: expected {1} up to {2}, for example {3}{4}. A plain number is read as seconds; 500ms, 5s, 2m and 1h work too.",
                span.ToString("c", CultureInfo.InvariantCulture), range, Maximum.ToString("c", CultureInfo.InvariantCulture),
                Example ?? "00:00:05", string.IsNullOrEmpty(ZeroAdvice) ? "" : " (" + ZeroAdvice + ")");
            throw new ValidationMetadataException(message);
        }
    }
}

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// Reads a bare number given to a TimeSpan parameter as seconds (<c>-Duration 5</c> is five
    /// seconds), where PowerShell's own conversion would read it as ticks of 100 ns and sample for
    /// half a microsecond: every numeric type PowerShell's literals make, so <c>5s</c> (which PowerShell
    /// reads as the short 5), <c>5u</c>, <c>5y</c> and <c>5n</c> are five seconds too. Text with a unit,
    /// as ss, systemd and Prometheus write durations, is read in that unit: <c>500ms</c>, <c>5s</c>,
    /// <c>2m</c>, <c>1h</c> (a decimal point allowed: <c>1.5h</c>). No day unit: PowerShell reads
    /// <c>1d</c> as the decimal 1 before any transformation sees it. TimeSpan text
    /// ("00:00:05") and TimeSpan values pass unchanged; anything else is left for PowerShell's
    /// conversion and the parameter's validation to refuse in their words.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class SecondsTransformationAttribute : ArgumentTransformationAttribute
    {
        private static readonly Regex WithUnit = new Regex(@"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object value = inputData is PSObject pso ? pso.BaseObject : inputData;
            double? seconds = null;
            switch (value)
            {
                case object _ when BareNumber(value) is double plain:
                    seconds = plain;
                    break;
                case string s when SecondsWithUnit(s) is double withUnit:
                    seconds = withUnit;
                    break;
                case string s when !TimeSpan.TryParse(s.Trim(), CultureInfo.InvariantCulture, out _):
                    // Neither seconds, a number with a unit nor a time span PowerShell could convert: say what is expected here
                    // rather than leave it to the generic "cannot convert to System.TimeSpan".
                    throw NotATimeSpan(s, "seconds (5, 0.5)", "00:00:05");
            }
            // Out of TimeSpan's range (or NaN): left as given, for the validation to refuse with the range expected.
            if (seconds == null || double.IsNaN(seconds.Value) || Math.Abs(seconds.Value) >= TimeSpan.MaxValue.TotalSeconds) return inputData;
            return TimeSpan.FromSeconds(seconds.Value);
        }

        /// <summary>
        /// The error for text that is no time span, the same for every interval parameter: the text (made safe) and the forms
        /// accepted, <paramref name="bareNumber"/> saying what a plain number is ("seconds (5, 0.5)") and
        /// <paramref name="example"/> a time span that fits the parameter ("00:00:05").
        /// </summary>
        internal static ArgumentTransformationMetadataException NotATimeSpan(string given, string bareNumber, string example) =>
            new ArgumentTransformationMetadataException("'" + DisplayFormat.Safe(given) + "' is not a time span: expected " + bareNumber + ", " +
                "a number with a unit (500ms, 5s, 2m, 1h; there is no unit for days: 24h) or hh:mm:ss (" + example + ").");

        /// <summary>A number without a unit: any numeric type PowerShell's literals make, or text that is one ("5", "0.5"); else null.</summary>
        internal static double? BareNumber(object value)
        {
            switch (value)
            {
                case sbyte _: case byte _: case short _: case ushort _: case int _: case uint _: case long _: case ulong _:
                case float _: case double _: case decimal _:
                    return Convert.ToDouble(value, CultureInfo.InvariantCulture);
                case System.Numerics.BigInteger b:
                    return (double)b;
                case string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double plain):
                    return plain;
                default:
                    return null;
            }
        }

        /// <summary>Seconds in text with a unit (500ms, 5s, 2m, 1.5h), or null when the text is not a number with one of them.</summary>
        internal static double? SecondsWithUnit(string text)
        {
            var m = WithUnit.Match(text);
            if (!m.Success) return null;
            double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            switch (m.Groups[2].Value.ToLowerInvariant())
            {
                case "ms": return n / 1000;
                case "s": return n;
                case "m": return n * 60;
                default: return n * 3600;
            }
        }
    }

    /// <summary>
    /// For a parameter in whole milliseconds (-RefreshInterval, as config.yml's refreshInterval), from
    /// <see cref="Minimum"/> to <see cref="Maximum"/>: a bare number stays milliseconds, except the short that PowerShell
    /// makes of <c>2s</c>, which is two seconds; text with a unit (500ms, 2s, 1m) and a time span (00:00:02, or a TimeSpan
    /// value) are converted to milliseconds, so <c>-RefreshInterval 2s</c> is 2000 like every other interval of the module.
    /// A value out of range is refused here, in the words it was given ("99ms is 99 ms: …"), with what a bare number too
    /// small probably meant (<c>2</c>: did you mean 2s?). Text that is none of these is refused here too, with the forms
    /// accepted (as <see cref="SecondsTransformationAttribute"/> refuses it), rather than by PowerShell's "Cannot convert value
    /// to type System.Int32". Anything else (not text) is left for PowerShell's conversion to int.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class MillisecondsTransformationAttribute : ArgumentTransformationAttribute
    {
        public MillisecondsTransformationAttribute(int minimum, int maximum)
        {
            Minimum = minimum;
            Maximum = maximum;
        }

        public int Minimum { get; }
        public int Maximum { get; }

        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object value = inputData is PSObject pso ? pso.BaseObject : inputData;
            double? ms = null;
            bool bare = false;
            switch (value)
            {
                case TimeSpan span:
                    ms = span.TotalMilliseconds;
                    break;
                case short seconds: // what PowerShell makes of 2s: the short 2, meant as two seconds
                    ms = seconds * 1000.0;
                    break;
                case object _ when SecondsTransformationAttribute.BareNumber(value) is double plain:
                    ms = plain;
                    bare = true;
                    break;
                case string s when SecondsTransformationAttribute.SecondsWithUnit(s) is double seconds:
                    ms = seconds * 1000;
                    break;
                case string s when s.IndexOf(':') >= 0 && TimeSpan.TryParse(s.Trim(), CultureInfo.InvariantCulture, out var parsed):
                    ms = parsed.TotalMilliseconds;
                    break;
                case string s:
                    throw SecondsTransformationAttribute.NotATimeSpan(s, "milliseconds (2000)", "00:00:02");
            }
            if (ms == null || double.IsNaN(ms.Value)) return inputData;
            if (ms.Value < Minimum || ms.Value > Maximum)
            {
                string given = DisplayFormat.Safe(Convert.ToString(value, CultureInfo.InvariantCulture).Trim());
                string inMs = ms.Value.ToString("0.###", CultureInfo.InvariantCulture);
                string shown = bare ? given + " ms" : given + " (" + inMs + " ms)";
                string hint = bare && ms.Value > 0 && ms.Value < Minimum && ms.Value * 1000 <= Maximum
                    ? " Did you mean " + given + "s (" + (ms.Value * 1000).ToString("0.###", CultureInfo.InvariantCulture) + " ms)?"
                    : "";
                throw new ArgumentTransformationMetadataException(string.Format(CultureInfo.InvariantCulture,
                    "{0} is out of range: expected milliseconds from {1} ({2} s) to {3} ({4} s); 500ms, 2s and 00:00:02 work too.{5}",
                    shown, Minimum, Minimum / 1000.0, Maximum, Maximum / 1000.0, hint));
            }
            return (int)Math.Round(ms.Value);
        }
    }
}

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// Lets -State take the names other tools print as well as Get-NetTCPConnection's: netstat's
    /// LISTENING, ESTABLISHED, TIME_WAIT, ss's ESTAB, SYN-RECV, FIN-WAIT-1 …, in any case, with or
    /// without '_' and '-'; and the MIB_TCP_STATE numbers 1–12 (what Get-NetTCPConnection's State holds).
    /// Anything else is refused here, with the names expected and the nearest one when a letter or two is
    /// off (<c>Establised</c>: did you mean Established?), rather than by PowerShell's conversion, whose
    /// message names the engine's enum type.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class TcpStateNameTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object value = inputData is PSObject pso ? pso.BaseObject : inputData;
            if (value is string || value is Engine.Model.TcpState || !(value is System.Collections.IEnumerable many))
                return new[] { One(value) };
            var result = new System.Collections.Generic.List<Engine.Model.TcpState>();
            foreach (object item in many) result.Add(One(item is PSObject p ? p.BaseObject : item));
            return result.ToArray();
        }

        private static Engine.Model.TcpState One(object value)
        {
            switch (value)
            {
                case Engine.Model.TcpState state:
                    return state;
                case string text:
                    if (Map(text) is Engine.Model.TcpState named) return named;
                    string suggestion = Engine.Configuration.NameSuggestion.Nearest(
                        text.Trim().Replace("_", "").Replace("-", ""), Enum.GetNames(typeof(Engine.Model.TcpState)));
                    throw new ArgumentTransformationMetadataException("'" + Engine.Display.UntrustedText.ForTerminal(text) + "' is not a TCP state"
                        + (suggestion != null ? "; did you mean " + suggestion + "?" : ".") + " " + Expected);
                case null:
                    throw new ArgumentTransformationMetadataException("A TCP state is expected, not $null. " + Expected);
            }
            if (value is sbyte || value is byte || value is short || value is ushort || value is int || value is uint || value is long || value is ulong)
            {
                decimal number = Convert.ToDecimal(value, CultureInfo.InvariantCulture); // any size of whole number, no overflow
                if (number >= 1 && number <= 12) return (Engine.Model.TcpState)(int)number;
                throw new ArgumentTransformationMetadataException(number.ToString(CultureInfo.InvariantCulture)
                    + " is not a TCP state number: MIB_TCP_STATE numbers run from 1 (Closed) to 12 (DeleteTcb). " + Expected);
            }
            throw new ArgumentTransformationMetadataException("A TCP state is expected, not a " + value.GetType().Name + ". " + Expected);
        }

        private const string Expected = "Expected one of Listen, SynSent, SynReceived, Established, FinWait1, FinWait2, CloseWait, Closing, "
            + "LastAck, TimeWait, Closed, DeleteTcb (Get-NetTCPConnection's names; netstat's and ss's such as LISTENING, ESTAB, TIME_WAIT and SYN-RECV work too).";

        private static Engine.Model.TcpState? Map(string text)
        {
            string key = text.Trim().Replace("_", "").Replace("-", "").ToLowerInvariant();
            switch (key)
            {
                case "listening": return Engine.Model.TcpState.Listen;
                case "estab": return Engine.Model.TcpState.Established;
                case "synrecv": case "synrcvd": return Engine.Model.TcpState.SynReceived;
            }
            foreach (Engine.Model.TcpState s in Enum.GetValues(typeof(Engine.Model.TcpState)))
                if (string.Equals(s.ToString(), key, StringComparison.OrdinalIgnoreCase)) return s;
            return null;
        }
    }
}
