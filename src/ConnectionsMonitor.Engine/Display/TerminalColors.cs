using System;
using System.Globalization;
using ConnectionsMonitor.Engine.Configuration;

namespace ConnectionsMonitor.Engine.Display
{
    /// <summary>How many colours the terminal shows; config colours are degraded to fit.</summary>
    public enum ColorDepth
    {
        /// <summary>No colour at all (NO_COLOR, TERM=dumb, output not a terminal).</summary>
        None,
        /// <summary>The sixteen ANSI colours (SGR 30–37, 90–97).</summary>
        Standard16,
        /// <summary>xterm's 256-colour palette (SGR 38;5;n).</summary>
        Palette256,
        /// <summary>24-bit colour (SGR 38;2;r;g;b).</summary>
        TrueColor,
    }

    /// <summary>Colour-depth detection from the environment, and config colours as SGR sequences for a depth.</summary>
    public static class TerminalColors
    {
        public const string Reset = "\u001b[0m";

        /// <summary>
        /// The colour depth the environment asks for: NO_COLOR (any non-empty value, no-color.org) wins;
        /// COLORTERM=truecolor/24bit (what terminals set for 24-bit support), Windows Terminal or a
        /// *-direct TERM → 24-bit; a *256color* TERM → 256; TERM=dumb → none; other terminals → 16.
        /// </summary>
        public static ColorDepth Detect(Func<string, string> environment, bool isWindows)
        {
            if (!string.IsNullOrEmpty(environment("NO_COLOR"))) return ColorDepth.None;
            string term = environment("TERM") ?? "";
            if (term == "dumb") return ColorDepth.None;
            string colorTerm = environment("COLORTERM") ?? "";
            if (colorTerm.Equals("truecolor", StringComparison.OrdinalIgnoreCase) || colorTerm.Equals("24bit", StringComparison.OrdinalIgnoreCase)
                || term.EndsWith("-direct", StringComparison.Ordinal) || !string.IsNullOrEmpty(environment("WT_SESSION")))
                return ColorDepth.TrueColor;
            if (term.IndexOf("256color", StringComparison.Ordinal) >= 0) return ColorDepth.Palette256;
            // The Windows console has rendered the 16 ANSI colours since Windows 10 without setting TERM.
            if (term.Length == 0 && !isWindows) return ColorDepth.None;
            return ColorDepth.Standard16;
        }

        /// <summary>
        /// The SGR sequence that sets <paramref name="color"/> as the foreground at <paramref name="depth"/>;
        /// empty for <see cref="ColorDepth.None"/>. Named colours stay ANSI colours at every depth so the
        /// terminal's own palette applies; hex colours use 24-bit, else the nearest 256-palette entry,
        /// else the nearest of the sixteen.
        /// </summary>
        public static string Foreground(ConfigColor color, ColorDepth depth)
        {
            if (depth == ColorDepth.None) return "";
            if (color.AnsiIndex != null) return Sgr(AnsiCode(color.AnsiIndex.Value));
            switch (depth)
            {
                case ColorDepth.TrueColor:
                    return Sgr("38;2;" + color.R.ToString(CultureInfo.InvariantCulture) + ";" + color.G.ToString(CultureInfo.InvariantCulture) + ";" + color.B.ToString(CultureInfo.InvariantCulture));
                case ColorDepth.Palette256:
                    return Sgr("38;5;" + Nearest256(color.R, color.G, color.B).ToString(CultureInfo.InvariantCulture));
                default:
                    return Sgr(AnsiCode(Nearest16(color.R, color.G, color.B)));
            }
        }

        private static string Sgr(string parameters) => "\u001b[" + parameters + "m";

        private static string AnsiCode(int index) => (index < 8 ? 30 + index : 90 + index - 8).ToString(CultureInfo.InvariantCulture);

        // RGB of the sixteen named colours, taken from ConfigColor's palette (xterm's defaults).
        private static readonly ConfigColor[] Sixteen = BuildSixteen();

        private static ConfigColor[] BuildSixteen()
        {
            string[] names = { "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
                "blackBright", "redBright", "greenBright", "yellowBright", "blueBright", "magentaBright", "cyanBright", "whiteBright" };
            var result = new ConfigColor[names.Length];
            for (int i = 0; i < names.Length; i++) result[i] = ConfigColor.Parse(names[i]);
            return result;
        }

        /// <summary>Index 0–15 of the named colour nearest to an RGB value.</summary>
        public static int Nearest16(byte r, byte g, byte b)
        {
            int best = 0;
            long bestDistance = long.MaxValue;
            for (int i = 0; i < Sixteen.Length; i++)
            {
                long d = Distance(r, g, b, Sixteen[i].R, Sixteen[i].G, Sixteen[i].B);
                if (d < bestDistance) { bestDistance = d; best = i; }
            }
            return best;
        }

        private static readonly int[] CubeLevels = { 0, 95, 135, 175, 215, 255 };

        /// <summary>Index 16–255 of xterm's palette nearest to an RGB value: the 6×6×6 cube or the grey ramp.</summary>
        public static int Nearest256(byte r, byte g, byte b)
        {
            int ri = NearestLevel(r), gi = NearestLevel(g), bi = NearestLevel(b);
            int cube = 16 + 36 * ri + 6 * gi + bi;
            long cubeDistance = Distance(r, g, b, CubeLevels[ri], CubeLevels[gi], CubeLevels[bi]);
            // Grey ramp 232–255: 8, 18, …, 238.
            int average = (r + g + b) / 3;
            int grey = Math.Max(0, Math.Min(23, (int)Math.Round((average - 8) / 10.0)));
            int level = 8 + 10 * grey;
            long greyDistance = Distance(r, g, b, level, level, level);
            return greyDistance < cubeDistance ? 232 + grey : cube;
        }

        private static int NearestLevel(int value)
        {
            int best = 0;
            for (int i = 1; i < CubeLevels.Length; i++)
                if (Math.Abs(CubeLevels[i] - value) < Math.Abs(CubeLevels[best] - value)) best = i;
            return best;
        }

        private static long Distance(int r1, int g1, int b1, int r2, int g2, int b2) =>
            (long)(r1 - r2) * (r1 - r2) + (long)(g1 - g2) * (g1 - g2) + (long)(b1 - b2) * (b1 - b2);
    }
}
