using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace ConnectionsMonitor.GeoDataBuilder
{
    /// <summary>
    /// Command line: <c>build-asn --ipv4 FILE --ipv6 FILE --out FILE [--build-epoch N]</c>.
    /// </summary>
    internal static class Program
    {
        private const string Usage =
            "usage: GeoDataBuilder build-asn --ipv4 asn-ipv4.csv --ipv6 asn-ipv6.csv --out FILE.mmdb [--build-epoch SECONDS]\n" +
            "  Converts the @ip-location-db/asn CSVs into a GeoLite2-ASN-layout MaxMind DB.\n" +
            "  --build-epoch  metadata build time (Unix seconds); default $SOURCE_DATE_EPOCH, else the newest input file's\n" +
            "                 modification time. The same inputs and epoch always give the same bytes.";

        private static int Main(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                Console.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }
            try
            {
                if (args[0] != "build-asn") throw new ArgumentException($"unknown command '{args[0]}'");
                Dictionary<string, string> options = ParseOptions(args, 1, "--ipv4", "--ipv6", "--out", "--build-epoch");
                string ipv4 = Required(options, "--ipv4");
                string ipv6 = Required(options, "--ipv6");
                string output = Required(options, "--out");
                ulong buildEpoch = options.TryGetValue("--build-epoch", out string epochText)
                    ? ParseEpoch(epochText, "--build-epoch")
                    : DefaultBuildEpoch(ipv4, ipv6);
                AsnDatabaseBuilder.Build(ipv4, ipv6, output, buildEpoch, Console.Out);
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine("GeoDataBuilder: " + e.Message);
                if (e is ArgumentException) Console.Error.WriteLine(Usage);
                return 1;
            }
        }

        private static Dictionary<string, string> ParseOptions(string[] args, int start, params string[] known)
        {
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = start; i < args.Length; i += 2)
            {
                if (Array.IndexOf(known, args[i]) < 0) throw new ArgumentException($"unknown option '{args[i]}'");
                if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value");
                if (!options.TryAdd(args[i], args[i + 1])) throw new ArgumentException($"{args[i]} is given twice");
            }
            return options;
        }

        private static string Required(Dictionary<string, string> options, string name) =>
            options.TryGetValue(name, out string value) ? value : throw new ArgumentException($"{name} is required");

        private static ulong ParseEpoch(string text, string source) =>
            ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong epoch)
                ? epoch
                : throw new ArgumentException($"{source} must be whole seconds since 1970, not '{text}'");

        private static ulong DefaultBuildEpoch(params string[] inputs)
        {
            string fromEnvironment = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
            if (!string.IsNullOrEmpty(fromEnvironment)) return ParseEpoch(fromEnvironment, "SOURCE_DATE_EPOCH");
            DateTimeOffset newest = DateTimeOffset.MinValue;
            foreach (string input in inputs)
            {
                var written = new DateTimeOffset(File.GetLastWriteTimeUtc(input));
                if (written > newest) newest = written;
            }
            return (ulong)Math.Max(0, newest.ToUnixTimeSeconds());
        }
    }
}
