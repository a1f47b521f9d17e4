using System;
using System.Management.Automation;
using System.Security;
using System.Threading;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// <para type="synopsis">Downloads current GeoIP databases (DB-IP Lite, MaxMind GeoLite2, IPinfo Lite or any URL), checks them and installs them where the module looks them up.</para>
    /// </summary>
    [Cmdlet(VerbsData.Update, "ConnectionGeoDatabase", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(GeoDatabaseInfo))]
    public sealed class UpdateConnectionGeoDatabaseCommand : PSCmdlet
    {
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();

        /// <summary>DbIpLite (no account), MaxMind, IpInfo or Url. Url is assumed when only -Uri is given.</summary>
        [Parameter(Position = 0)]
        [ValidateSet("DbIpLite", "MaxMind", "IpInfo", "Url", IgnoreCase = true)]
        public string Source { get; set; } = "DbIpLite";

        [Parameter]
        [ValidateSet("Country", "Asn", "City", IgnoreCase = true)]
        [ValidateNotNullOrEmpty]
        public string[] Database { get; set; }

        /// <summary>A SecureString (Get-Secret, Read-Host -AsSecureString) or plain text.</summary>
        [Parameter]
        [SecureStringTransformation]
        [ValidateNotNull]
        public SecureString LicenseKey { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string AccountId { get; set; }

        /// <summary>A SecureString (Get-Secret, Read-Host -AsSecureString) or plain text.</summary>
        [Parameter]
        [SecureStringTransformation]
        [ValidateNotNull]
        public SecureString Token { get; set; }

        [Parameter(Position = 1)]
        [ValidateNotNull]
        public Uri Uri { get; set; }

        [Parameter]
        [ValidatePattern("^[0-9A-Fa-f]{64}$")]
        public string Sha256 { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string DestinationPath { get; set; }

        [Parameter]
        public string ConfigPath { get; set; }

        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void EndProcessing()
        {
            bool sourceGiven = MyInvocation.BoundParameters.ContainsKey(nameof(Source));
            var arguments = new GeoUpdateArguments
            {
                Source = !sourceGiven && Uri != null ? "Url" : Source,
                Databases = Database,
                LicenseKey = Unprotect(LicenseKey),
                AccountId = AccountId,
                Token = Unprotect(Token),
                Uri = Uri,
                Sha256 = Sha256,
                DestinationPath = DestinationPath,
                ConfigPath = ConfigPath,
                Force = Force.IsPresent,
            };
            GeoUpdateSupport.Update(this, arguments, _stop.Token);
        }

        protected override void StopProcessing() => _stop.Cancel();

        private static string Unprotect(SecureString secret) =>
            secret == null ? null : new System.Net.NetworkCredential(string.Empty, secret).Password;
    }

    /// <summary>The cmdlet's parameters in plain types, for GeoUpdateSupport.</summary>
    internal sealed class GeoUpdateArguments
    {
        public string Source;
        public string[] Databases;
        public string LicenseKey;
        public string AccountId;
        public string Token;
        public Uri Uri;
        public string Sha256;
        public string DestinationPath;
        public string ConfigPath;
        public bool Force;
    }

    /// <summary>
    /// Lets a secret parameter typed SecureString also take plain text, so both
    /// <c>-LicenseKey (Get-Secret MaxMind)</c> and <c>-LicenseKey $env:MAXMIND_KEY</c> work.
    /// </summary>
    internal sealed class SecureStringTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            if (!(value is string text)) return inputData;
            var secure = new SecureString();
            foreach (char c in text) secure.AppendChar(c);
            secure.MakeReadOnly();
            return secure;
        }
    }
}
