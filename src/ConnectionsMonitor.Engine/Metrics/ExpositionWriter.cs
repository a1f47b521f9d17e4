using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ConnectionsMonitor.Engine.Metrics
{
    /// <summary>The two text formats a Prometheus server scrapes.</summary>
    public enum ExpositionFormat
    {
        /// <summary>Prometheus text format 0.0.4 (<c>text/plain; version=0.0.4</c>): what promtool and most scrapers read.</summary>
        PrometheusText,
        /// <summary>OpenMetrics 1.0.0 text (<c>application/openmetrics-text; version=1.0.0</c>): what Prometheus asks for first; ends with <c># EOF</c>.</summary>
        OpenMetrics,
    }

    /// <summary>The kind of a metric family, as its TYPE line says.</summary>
    public enum MetricType
    {
        /// <summary>A value that goes up and down (connections open now).</summary>
        Gauge,
        /// <summary>A total that only goes up (bytes moved since the endpoint started); its samples end in <c>_total</c>.</summary>
        Counter,
    }

    /// <summary>
    /// Writes metric families in the Prometheus text format 0.0.4 or OpenMetrics 1.0.0, with the escaping both define:
    /// label values escape backslash, double quote and line feed; HELP text escapes backslash and line feed (and, in
    /// OpenMetrics, double quote). A counter family is named without <c>_total</c> on its OpenMetrics TYPE line and
    /// with it in the 0.0.4 format; its samples always end in <c>_total</c>. Values are written in invariant culture,
    /// whole numbers without a decimal point, others round-trippable. Not thread-safe; one writer per rendering.
    /// </summary>
    public sealed class ExpositionWriter
    {
        private readonly StringBuilder _text = new StringBuilder(4096);
        private readonly ExpositionFormat _format;
        private string _family;
        private MetricType _type;

        /// <summary>A writer of one exposition in <paramref name="format"/>.</summary>
        public ExpositionWriter(ExpositionFormat format) { _format = format; }

        /// <summary>
        /// Starts a family: <paramref name="name"/> is the sample name (a counter's ends in <c>_total</c>), <paramref name="help"/> one line of text.
        /// </summary>
        public void Family(string name, MetricType type, string help)
        {
            if (type == MetricType.Counter && !name.EndsWith("_total", StringComparison.Ordinal))
                throw new ArgumentException("A counter's samples end in _total: " + name, nameof(name));
            _family = name;
            _type = type;
            string familyName = type == MetricType.Counter && _format == ExpositionFormat.OpenMetrics ? name.Substring(0, name.Length - "_total".Length) : name;
            _text.Append("# HELP ").Append(familyName).Append(' ').Append(EscapeHelp(help, _format)).Append('\n');
            _text.Append("# TYPE ").Append(familyName).Append(' ').Append(type == MetricType.Counter ? "counter" : "gauge").Append('\n');
        }

        /// <summary>One sample of the current family, labels in the order given (names are the caller's constants; values are escaped here).</summary>
        public void Sample(double value, params KeyValuePair<string, string>[] labels)
        {
            if (_family == null) throw new InvalidOperationException("Family first.");
            _text.Append(_family);
            if (labels.Length > 0)
            {
                _text.Append('{');
                for (int i = 0; i < labels.Length; i++)
                {
                    if (i > 0) _text.Append(',');
                    _text.Append(labels[i].Key).Append("=\"");
                    EscapeLabelValue(_text, labels[i].Value ?? "");
                    _text.Append('"');
                }
                _text.Append('}');
            }
            _text.Append(' ').Append(FormatValue(value)).Append('\n');
        }

        /// <summary>One sample with a single label.</summary>
        public void Sample(double value, string label, string labelValue) => Sample(value, new KeyValuePair<string, string>(label, labelValue));

        /// <summary>One sample with two labels.</summary>
        public void Sample(double value, string label1, string value1, string label2, string value2) =>
            Sample(value, new KeyValuePair<string, string>(label1, value1), new KeyValuePair<string, string>(label2, value2));

        /// <summary>The whole exposition (OpenMetrics: with its closing <c># EOF</c> line).</summary>
        public string Finish()
        {
            if (_format == ExpositionFormat.OpenMetrics) _text.Append("# EOF\n");
            return _text.ToString();
        }

        /// <summary>The Content-Type of a response in <paramref name="format"/>.</summary>
        public static string ContentType(ExpositionFormat format) => format == ExpositionFormat.OpenMetrics
            ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
            : "text/plain; version=0.0.4; charset=utf-8";

        /// <summary>
        /// The format an HTTP Accept header asks for: OpenMetrics when it names <c>application/openmetrics-text</c> with
        /// a q above 0 (Prometheus asks for it first), else the 0.0.4 text format (browsers, curl, promtool).
        /// </summary>
        public static ExpositionFormat Negotiate(string accept)
        {
            if (string.IsNullOrEmpty(accept)) return ExpositionFormat.PrometheusText;
            foreach (var part in accept.Split(','))
            {
                var pieces = part.Split(';');
                if (!string.Equals(pieces[0].Trim(), "application/openmetrics-text", StringComparison.OrdinalIgnoreCase)) continue;
                double q = 1;
                for (int i = 1; i < pieces.Length; i++)
                {
                    var kv = pieces[i].Split(new[] { '=' }, 2);
                    if (kv.Length == 2 && kv[0].Trim().Equals("q", StringComparison.OrdinalIgnoreCase))
                        double.TryParse(kv[1].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out q);
                }
                if (q > 0) return ExpositionFormat.OpenMetrics;
            }
            return ExpositionFormat.PrometheusText;
        }

        internal static string FormatValue(double value)
        {
            if (double.IsNaN(value)) return "NaN";
            if (double.IsInfinity(value)) return (value > 0 ? '+' : '-') + "Inf";
            if (value == Math.Floor(value) && Math.Abs(value) < 1e15) return ((long)value).ToString(CultureInfo.InvariantCulture);
            return value.ToString("R", CultureInfo.InvariantCulture);
        }

        internal static void EscapeLabelValue(StringBuilder to, string value)
        {
            foreach (char ch in value)
            {
                switch (ch)
                {
                    case '\\': to.Append("\\\\"); break;
                    case '"': to.Append("\\\""); break;
                    case '\n': to.Append("\\n"); break;
                    default: to.Append(ch); break;
                }
            }
        }

        private static string EscapeHelp(string help, ExpositionFormat format)
        {
            var b = new StringBuilder(help.Length + 8);
            foreach (char ch in help)
            {
                if (ch == '\\') b.Append("\\\\");
                else if (ch == '\n') b.Append("\\n");
                else if (ch == '"' && format == ExpositionFormat.OpenMetrics) b.Append("\\\"");
                else b.Append(ch);
            }
            return b.ToString();
        }
    }
}
