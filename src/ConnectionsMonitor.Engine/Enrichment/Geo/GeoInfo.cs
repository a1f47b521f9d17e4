using System.Globalization;
using System.Collections.Concurrent;

namespace ConnectionsMonitor.Engine.Enrichment.Geo
{
    /// <summary>What the GeoIP databases say about one address; a field no database answers stays null.</summary>
    public sealed class GeoInfo
    {
        /// <summary>Nothing known.</summary>
        public static readonly GeoInfo Empty = new GeoInfo(null, null, null, null, null, null, null);

        /// <summary>An answer; null for each field the database does not know.</summary>
        public GeoInfo(string country, string countryName, string city, double? latitude, double? longitude, long? asn, string asnOrganization)
        {
            Country = country;
            CountryName = countryName;
            City = city;
            Latitude = latitude;
            Longitude = longitude;
            Asn = asn;
            AsnOrganization = asnOrganization;
        }

        /// <summary>ISO 3166-1 alpha-2 code, upper case.</summary>
        public string Country { get; }
        /// <summary>The country's English name.</summary>
        public string CountryName { get; }
        /// <summary>The city's English name (City databases only).</summary>
        public string City { get; }
        /// <summary>Approximate latitude, degrees (City databases only).</summary>
        public double? Latitude { get; }
        /// <summary>Approximate longitude, degrees (City databases only).</summary>
        public double? Longitude { get; }
        /// <summary>Autonomous system number.</summary>
        public long? Asn { get; }
        /// <summary>The autonomous system's organisation.</summary>
        public string AsnOrganization { get; }

        internal bool IsEmpty => Country == null && City == null && Asn == null;

        /// <summary>This answer with the blanks filled from <paramref name="other"/> (this one wins where both answer).</summary>
        internal GeoInfo Merge(GeoInfo other)
        {
            if (other == null || other.IsEmpty) return this;
            if (IsEmpty) return other;
            bool ownCountry = Country != null;
            bool ownPlace = City != null || Latitude != null;
            return new GeoInfo(
                ownCountry ? Country : other.Country,
                ownCountry ? CountryName : other.CountryName,
                ownPlace ? City : other.City,
                ownPlace ? Latitude : other.Latitude,
                ownPlace ? Longitude : other.Longitude,
                Asn ?? other.Asn,
                Asn != null ? AsnOrganization : other.AsnOrganization);
        }
    }

    /// <summary>English country names for databases that store only the code (DB-IP Lite's country_code layout).</summary>
    internal static class CountryNames
    {
        private static readonly ConcurrentDictionary<string, string> Names = new ConcurrentDictionary<string, string>();

        /// <summary>The English name from the platform's region data, or null for a code it does not know (or without ICU).</summary>
        public static string Of(string code)
        {
            if (string.IsNullOrEmpty(code)) return null;
            return Names.GetOrAdd(code, c =>
            {
                try
                {
                    var region = new RegionInfo(c);
                    // RegionInfo answers codes it does not know with a culture's region in some modes: keep only exact matches.
                    return string.Equals(region.TwoLetterISORegionName, c, System.StringComparison.OrdinalIgnoreCase) ? region.EnglishName : null;
                }
                catch (System.ArgumentException)
                {
                    return null;
                }
            });
        }
    }
}
