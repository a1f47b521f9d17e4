using System;
using System.IO;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Enrichment.Geo;
using Xunit;

namespace ConnectionsMonitor.Tests.Geo
{
    /// <summary>The policy of an update request: source, credentials from input else configuration, destination, notes.</summary>
    public class GeoUpdateResolverTests
    {
        private static readonly string Folder = Path.Combine(Path.GetTempPath(), "cm-resolver");

        private static GeoIpConfig Config(string account = null, string key = null, string directory = null) =>
            new GeoIpConfig { MaxMindAccountId = account, MaxMindLicenseKey = key, Directory = directory };

        [Fact]
        public void TheSourceIsUrlWhenOnlyAnAddressIsGivenElseDbIpLite()
        {
            var r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Uri = new Uri("https://x.example/a.mmdb"), DestinationDirectory = Folder }, Config(), null);
            Assert.Equal(GeoDownloadSource.Url, r.Request.Source);
            r = GeoUpdateResolver.Resolve(new GeoUpdateInput { DestinationDirectory = Folder }, Config(), null);
            Assert.Equal(GeoDownloadSource.DbIpLite, r.Request.Source);
            r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.DbIpLite, Uri = new Uri("https://mirror.example/"), DestinationDirectory = Folder }, Config(), null);
            Assert.Equal(GeoDownloadSource.DbIpLite, r.Request.Source);
        }

        [Fact]
        public void GivenCredentialsWinOverConfiguredOnes()
        {
            var r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.MaxMind, AccountId = "1", LicenseKey = "given", DestinationDirectory = Folder },
                Config("2", "configured"), null);
            Assert.True(r.IsComplete);
            Assert.Equal(("1", "given"), (r.Request.AccountId, r.Request.LicenseKey));

            r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.MaxMind, AccountId = " ", DestinationDirectory = Folder }, Config("2", "configured"), null);
            Assert.Equal(("2", "configured"), (r.Request.AccountId, r.Request.LicenseKey));

            r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.IpInfo, DestinationDirectory = Folder }, Config(), "cfg-token");
            Assert.Equal("cfg-token", r.Request.Token);
            r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.IpInfo, Token = "given", DestinationDirectory = Folder }, Config(), "cfg-token");
            Assert.Equal("given", r.Request.Token);
        }

        [Fact]
        public void MissingCredentialsAreListedAndNoRequestIsMade()
        {
            var r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.MaxMind, DestinationDirectory = Folder }, Config(), null);
            Assert.False(r.IsComplete);
            Assert.Null(r.Request);
            Assert.Equal(new[] { GeoCredential.MaxMindAccountId, GeoCredential.MaxMindLicenseKey }, r.MissingCredentials);
            Assert.Equal(GeoDownloadSource.MaxMind, r.Source);

            r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.MaxMind, AccountId = "42", DestinationDirectory = Folder }, Config(), null);
            Assert.Equal(new[] { GeoCredential.MaxMindLicenseKey }, r.MissingCredentials);

            r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.IpInfo, DestinationDirectory = Folder }, Config(), "  ");
            Assert.Equal(new[] { GeoCredential.IpInfoToken }, r.MissingCredentials);
        }

        [Fact]
        public void TheDestinationDefaultsToTheConfiguredFolder()
        {
            var r = GeoUpdateResolver.Resolve(new GeoUpdateInput(), Config(directory: Folder), null);
            Assert.Equal(Path.GetFullPath(Folder), r.Request.DestinationDirectory);
            r = GeoUpdateResolver.Resolve(new GeoUpdateInput { DestinationDirectory = "/given" }, Config(directory: Folder), null);
            Assert.Equal("/given", r.Request.DestinationDirectory);
        }

        [Fact]
        public void AskingIpInfoForAsnNotesWhereItsFileGoes()
        {
            var r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.IpInfo, Token = "t", Databases = new[] { GeoDownloadKind.Asn }, DestinationDirectory = Folder }, Config(), null);
            Assert.Equal("IPinfo Lite is one file holding both country and ASN data; it is installed as country.mmdb, not as asn.mmdb.", Assert.Single(r.Notes));
            r = GeoUpdateResolver.Resolve(new GeoUpdateInput { Source = GeoDownloadSource.IpInfo, Token = "t", DestinationDirectory = Folder }, Config(), null);
            Assert.Empty(r.Notes);
        }
    }
}
