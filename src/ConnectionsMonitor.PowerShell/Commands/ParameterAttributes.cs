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
                case sbyte _: case byte _: case short _: case ushort _: case int _: case uint _: case long _: case ulong _:
                case float _: case double _: case decimal _:
                    seconds = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                    break;
                case System.Numerics.BigInteger b:
                    seconds = (double)b;
                    break;
                case string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double plain):
                    seconds = plain;
                    break;
                case string s when WithUnit.Match(s) is var m && m.Success:
                    double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                    switch (m.Groups[2].Value.ToLowerInvariant())
                    {
                        case "ms": seconds = n / 1000; break;
                        case "s": seconds = n; break;
                        case "m": seconds = n * 60; break;
                        default: seconds = n * 3600; break;
                    }
                    break;
                case string s when !TimeSpan.TryParse(s.Trim(), CultureInfo.InvariantCulture, out _):
                    // Neither seconds, a number with a unit nor a time span PowerShell could convert: say what is expected here
                    // rather than leave it to the generic "cannot convert to System.TimeSpan".
                    throw new ArgumentTransformationMetadataException("'" + DisplayFormat.Safe(s) + "' is not a time span: expected seconds (5, 0.5), " +
                        "a number with a unit (500ms, 5s, 2m, 1h; there is no unit for days: 24h) or hh:mm:ss (00:00:05).");
            }
            // Out of TimeSpan's range (or NaN): left as given, for the validation to refuse with the range expected.
            if (seconds == null || double.IsNaN(seconds.Value) || Math.Abs(seconds.Value) >= TimeSpan.MaxValue.TotalSeconds) return inputData;
            return TimeSpan.FromSeconds(seconds.Value);
        }
    }
}

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// Lets -State take the names other tools print as well as Get-NetTCPConnection's: netstat's
    /// LISTENING, ESTABLISHED, TIME_WAIT, ss's ESTAB, SYN-RECV, FIN-WAIT-1 …, in any case, with or
    /// without '_' and '-'. Anything else is left for PowerShell to reject with the list of valid names.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class TcpStateNameTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object value = inputData is PSObject pso ? pso.BaseObject : inputData;
            if (value is string one) return Map(one) is Engine.Model.TcpState s ? new[] { s } : inputData;
            if (!(value is System.Collections.IEnumerable many)) return inputData;
            var result = new System.Collections.Generic.List<object>();
            foreach (object item in many)
            {
                object v = item is PSObject p ? p.BaseObject : item;
                result.Add(v is string text && Map(text) is Engine.Model.TcpState mapped ? mapped : item);
            }
            return result.ToArray();
        }

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
