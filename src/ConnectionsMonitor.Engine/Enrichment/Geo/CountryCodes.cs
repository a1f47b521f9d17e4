namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>
    /// Country codes as the geolocation databases give them: ISO 3166-1 alpha-2, two letters A–Z (MaxMind GeoLite2 and
    /// DB-IP write the registered code, e.g. GB for the United Kingdom). One place that says whether a text a user gives
    /// (a filter, a configuration value) can ever match a connection's country.
    /// </summary>
    public static class CountryCodes
    {
        /// <summary>
        /// The code in upper case when <paramref name="text"/> (surrounding spaces ignored, any case) is two letters A–Z;
        /// otherwise null. Says nothing of whether the code is assigned (see <see cref="ReservedFor"/>).
        /// </summary>
        public static string Normalize(string text)
        {
            string t = text?.Trim();
            // ASCII first: upper-casing would turn the dotless 'ı' into 'I' and the long 'ſ' into 'S'.
            if (t == null || t.Length != 2 || t[0] > 127 || t[1] > 127) return null;
            char a = char.ToUpperInvariant(t[0]), b = char.ToUpperInvariant(t[1]);
            return a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z' ? new string(new[] { a, b }) : null;
        }

        /// <summary>
        /// For a code ISO 3166-1 keeps "exceptionally reserved" for a country that has another code — UK (the United
        /// Kingdom, GB) and EL (Greece, GR), both common in everyday and EU use — the code the databases give that
        /// country; otherwise null. A filter on UK matches nothing, so it is better refused with the code to use.
        /// </summary>
        public static string ReservedFor(string code)
        {
            switch (code)
            {
                case "UK": return "GB";
                case "EL": return "GR";
                default: return null;
            }
        }

        /// <summary>Why <paramref name="code"/> (normalized) can match no connection, naming the code to use; null when it can.</summary>
        public static string Problem(string code)
        {
            string use = ReservedFor(code);
            return use == null ? null
                : code + " is reserved in ISO 3166-1 and no geolocation database gives it; that country's code is " + use + ".";
        }
    }
}
