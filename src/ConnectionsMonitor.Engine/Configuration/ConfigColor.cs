using System;
using System.Collections.Generic;
using System.Globalization;

namespace ConnectionsMonitor.Engine.Configuration
{
    /// <summary>
    /// A colour from config.yml: one of chalk's sixteen terminal colour names (what the seed used) or
    /// a hex colour. Named colours keep their ANSI index so a terminal can use its own palette for
    /// them; the RGB value (xterm's default palette) serves places that need a real colour (HTML).
    /// </summary>
    public struct ConfigColor : IEquatable<ConfigColor>
    {
        private ConfigColor(string name, byte r, byte g, byte b, int? ansiIndex)
        {
            Name = name;
            R = r;
            G = g;
            B = b;
            AnsiIndex = ansiIndex;
        }

        /// <summary>The text as written in the file ('green', '#FFA500').</summary>
        public string Name { get; }
        public byte R { get; }
        public byte G { get; }
        public byte B { get; }

        /// <summary>0–15 for a named terminal colour (0–7 normal, 8–15 bright); null for a hex colour.</summary>
        public int? AnsiIndex { get; }

        public string Hex => "#" + R.ToString("X2", CultureInfo.InvariantCulture) + G.ToString("X2", CultureInfo.InvariantCulture) + B.ToString("X2", CultureInfo.InvariantCulture);

        public const string ExpectedForms =
            "a colour name (black, red, green, yellow, blue, magenta, cyan, white, gray, or a bright variant such as redBright or brightred) or a hex colour (#RRGGBB or #RGB)";

        // Index = ANSI colour number; RGB from xterm's default palette.
        private static readonly (string Name, byte R, byte G, byte B)[] Palette =
        {
            ("black", 0, 0, 0), ("red", 205, 0, 0), ("green", 0, 205, 0), ("yellow", 205, 205, 0),
            ("blue", 0, 0, 238), ("magenta", 205, 0, 205), ("cyan", 0, 205, 205), ("white", 229, 229, 229),
            ("blackbright", 127, 127, 127), ("redbright", 255, 0, 0), ("greenbright", 0, 255, 0), ("yellowbright", 255, 255, 0),
            ("bluebright", 92, 92, 255), ("magentabright", 255, 0, 255), ("cyanbright", 0, 255, 255), ("whitebright", 255, 255, 255),
        };

        private static readonly Dictionary<string, int> NameToIndex = BuildNameTable();

        private static Dictionary<string, int> BuildNameTable()
        {
            var table = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            for (int i = 0; i < Palette.Length; i++)
            {
                string name = Palette[i].Name;
                table[name] = i;
                if (i >= 8) table["bright" + name.Substring(0, name.Length - "bright".Length)] = i;
            }
            // chalk's aliases for bright black.
            table["gray"] = 8;
            table["grey"] = 8;
            return table;
        }

        public static bool TryParse(string text, out ConfigColor color, out string error)
        {
            color = default(ConfigColor);
            error = null;
            string trimmed = (text ?? "").Trim();
            if (trimmed.StartsWith("#", StringComparison.Ordinal))
            {
                string digits = trimmed.Substring(1);
                if ((digits.Length == 6 || digits.Length == 3) && IsHex(digits))
                {
                    if (digits.Length == 3)
                        digits = new string(new[] { digits[0], digits[0], digits[1], digits[1], digits[2], digits[2] });
                    color = new ConfigColor(trimmed, HexByte(digits, 0), HexByte(digits, 2), HexByte(digits, 4), null);
                    return true;
                }
            }
            else
            {
                // 'bright-red', 'bright_red' and 'Bright Red' all mean brightred.
                string key = trimmed.Replace("-", "").Replace("_", "").Replace(" ", "");
                if (NameToIndex.TryGetValue(key, out int index))
                {
                    var p = Palette[index];
                    color = new ConfigColor(trimmed, p.R, p.G, p.B, index);
                    return true;
                }
            }
            error = "'" + trimmed + "' is not a colour: expected " + ExpectedForms + ".";
            return false;
        }

        public static ConfigColor Parse(string text)
        {
            if (!TryParse(text, out var color, out var error)) throw new FormatException(error);
            return color;
        }

        private static bool IsHex(string s)
        {
            foreach (char c in s)
                if (!Uri.IsHexDigit(c)) return false;
            return true;
        }

        private static byte HexByte(string s, int at) => byte.Parse(s.Substring(at, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

        /// <summary>Same colour: same RGB and same kind (a named colour differs from its hex twin, because terminals render them differently).</summary>
        public bool Equals(ConfigColor other) => R == other.R && G == other.G && B == other.B && AnsiIndex == other.AnsiIndex;
        public override bool Equals(object obj) => obj is ConfigColor c && Equals(c);
        public override int GetHashCode() => (R << 16 | G << 8 | B) ^ (AnsiIndex ?? -1) << 24;
        public static bool operator ==(ConfigColor a, ConfigColor b) => a.Equals(b);
        public static bool operator !=(ConfigColor a, ConfigColor b) => !a.Equals(b);

        public override string ToString() => Name ?? Hex;
    }
}
