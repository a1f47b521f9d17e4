using System;
using System.Globalization;
using System.Management.Automation;

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
            string range = Minimum == TimeSpan.Zero ? "from 00:00:00" : "longer than zero";
            string message = string.Format(CultureInfo.InvariantCulture,
                "{0} is not a valid time span here: expected {1} up to {2}, for example {3}{4}.",
                span.ToString("c", CultureInfo.InvariantCulture), range, Maximum.ToString("c", CultureInfo.InvariantCulture),
                Example ?? "00:00:05", string.IsNullOrEmpty(ZeroAdvice) ? "" : " (" + ZeroAdvice + ")");
            throw new ValidationMetadataException(message);
        }
    }
}
